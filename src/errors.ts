/**
 * Typed errors. Every error names the argument (or backend) at fault and what was expected, so a caller can
 * branch on the class and a person can act on the message.
 * @module
 */

/** An argument had the wrong shape, type or value. `argument` names it. */
export class ReinmaxInputError extends Error {
  /** The class name, for logs. */
  override name = "ReinmaxInputError";
  /** The name of the offending argument, e.g. `"logits"` or `"tau"`. */
  readonly argument: string;
  /** Creates the error for `argument`; `message` says what was expected and what was given. */
  constructor(argument: string, message: string) {
    super(`${argument}: ${message}`);
    this.argument = argument;
  }
}

/** A backend was asked for explicitly (or required) and could not be provided. */
export class BackendUnavailableError extends Error {
  /** The class name, for logs. */
  override name = "BackendUnavailableError";
  /** The backend that was asked for. */
  readonly backend: string;
  /** Creates the error for `backend`; `message` says why it cannot be had. */
  constructor(backend: string, message: string) {
    super(`backend "${backend}": ${message}`);
    this.backend = backend;
  }
}

/** A backend failed while running (e.g. a lost GPU device). `step` is the training step, when known. */
export class BackendFailureError extends Error {
  /** The class name, for logs. */
  override name = "BackendFailureError";
  /** The backend that failed. */
  readonly backend: string;
  /** The training step during which the failure surfaced, or -1 outside training. */
  readonly step: number;
  /** What happened, without the backend and step prefix. */
  readonly detail: string;
  /** Creates the error for `backend`; `detail` says what happened, `step` when (−1: outside training). */
  constructor(backend: string, detail: string, step = -1) {
    super(`backend "${backend}"${step >= 0 ? ` at step ${step}` : ""}: ${detail}`);
    this.backend = backend;
    this.step = step;
    this.detail = detail;
  }

  /** The same failure, attributed to training step `step`. */
  atStep(step: number): BackendFailureError {
    return new BackendFailureError(this.backend, this.detail, step);
  }
}
