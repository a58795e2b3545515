/**
 * Typed errors. Every error names the argument (or backend) at fault and what was expected, so a caller can
 * branch on the class and a person can act on the message.
 * @module
 */

/**
 * An argument had the wrong shape, type or value. `argument` names it.
 *
 * @example
 * ```ts
 * import { estimator, ReinmaxInputError } from "@reinmax/reinmax";
 * try {
 *   estimator("reinmax", { tau: 0.5 });
 * } catch (e) {
 *   if (!(e instanceof ReinmaxInputError)) throw e;
 *   console.log(e.argument); // "tau": the option at fault
 * }
 * ```
 */
export class ReinmaxInputError extends Error {
  /** The class name, for logs. */
  override name = "ReinmaxInputError";
  /** The name of the offending argument, e.g. `"logits"` or `"tau"`. */
  readonly argument: string;
  /** Creates the error for `argument`; `message` says what was expected and what was given. */
  constructor(argument: string, message: string, options?: ErrorOptions) {
    super(`${argument}: ${message}`, options);
    this.argument = argument;
  }
}

/**
 * A backend was asked for explicitly (or required) and could not be provided.
 *
 * @example
 * ```ts
 * import { BackendUnavailableError, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "webgpu" }).catch(async (e) => {
 *   if (!(e instanceof BackendUnavailableError)) throw e;
 *   console.log(`${e.backend}: ${e.message}`); // e.g. no adapter
 *   return await selectBackend({ prefer: "wasm" });
 * });
 * ```
 */
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

/**
 * A backend failed while running (e.g. a lost GPU device). `step` is the training step, when known.
 *
 * @example
 * ```ts
 * import { BackendFailureError, PolyProgramming, selectBackend, trainPoly } from "@reinmax/reinmax";
 * const backend = await selectBackend();
 * try {
 *   for await (const e of trainPoly(backend, { steps: 1000 })) console.log(e.step, e.exactLoss);
 * } catch (e) {
 *   if (!(e instanceof BackendFailureError)) throw e;
 *   console.log(`${e.backend} failed at step ${e.step}: ${e.detail}`); // e.g. the GPU was lost
 * }
 * ```
 */
export class BackendFailureError extends Error {
  /** The class name, for logs. */
  override name = "BackendFailureError";
  /** The backend that failed. */
  readonly backend: string;
  /** The training step during which the failure surfaced, or -1 outside training. */
  readonly step: number;
  /** What happened, without the backend and step prefix. */
  readonly detail: string;
  /**
   * Creates the error for `backend`; `detail` says what happened, `step` when (−1: outside training);
   * `options.cause` keeps the error that revealed it.
   */
  constructor(backend: string, detail: string, step = -1, options?: ErrorOptions) {
    super(`backend "${backend}"${step >= 0 ? ` at step ${step}` : ""}: ${detail}`, options);
    this.backend = backend;
    this.step = step;
    this.detail = detail;
  }

  /** The same failure, attributed to training step `step`; this error becomes its cause. */
  atStep(step: number): BackendFailureError {
    return new BackendFailureError(this.backend, this.detail, step, { cause: this });
  }
}

/**
 * A backend could not provide memory that its limits allow (the WebAssembly memory could not grow, the system
 * refused). Nothing was allocated by the failed call, and the backend keeps working.
 *
 * @example
 * ```ts
 * import { BackendMemoryError, CategoricalVae, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend();
 * try {
 *   new CategoricalVae(backend, { config: "10x30", batch: 20_000 }); // fits the limits, maybe not the memory
 * } catch (e) {
 *   if (!(e instanceof BackendMemoryError)) throw e;
 *   console.log(`${e.requestedBytes} bytes: ${e.message}`); // nothing was allocated; the backend stays usable
 * }
 * ```
 */
export class BackendMemoryError extends Error {
  /** The class name, for logs. */
  override name = "BackendMemoryError";
  /** The backend that ran out. */
  readonly backend: string;
  /** Bytes that were asked for. */
  readonly requestedBytes: number;
  /** Creates the error; `message` says what was asked for and what the backend holds. */
  constructor(backend: string, requestedBytes: number, message: string, options?: ErrorOptions) {
    super(`backend "${backend}": ${message}`, options);
    this.backend = backend;
    this.requestedBytes = requestedBytes;
  }
}

/**
 * Bytes that should hold a dataset or fixture are missing, truncated or malformed. `source` names the file or
 * URL; the message says what was expected and what was found.
 *
 * @example
 * ```ts
 * import { DatasetError, loadFixture } from "@reinmax/reinmax";
 * try {
 *   await loadFixture("digits", () => Promise.resolve(undefined)); // a reader that finds nothing
 * } catch (e) {
 *   if (!(e instanceof DatasetError)) throw e;
 *   console.log(e.source); // "manifest.json": the file at fault
 * }
 * ```
 */
export class DatasetError extends Error {
  /** The class name, for logs. */
  override name = "DatasetError";
  /** The file name or URL the bytes came from. */
  readonly source: string;
  /** Creates the error for `source`; `message` says what was expected; `options.cause` keeps the cause. */
  constructor(source: string, message: string, options?: ErrorOptions) {
    super(`${source}: ${message}`, options);
    this.source = source;
  }
}

/**
 * Training produced a non-finite value (NaN or ±∞). `step` is the training step whose computation first went
 * non-finite and `quantity` what did (the loss, a named gradient, or a named parameter after its update). The
 * model is left at the last good state, after step `lastGoodStep`.
 *
 * @example
 * ```ts
 * import { adam, CategoricalVae, FIXTURES_URL, loadFixture, NonFiniteError, selectBackend, trainVae } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const backend = await selectBackend();
 * const model = new CategoricalVae(backend, { config: "8x4", inputSize: 64, optimizer: adam({ lr: 1e9 }) });
 * try {
 *   for await (const _ of trainVae(model, data.train, { epochs: 5 })) {}
 * } catch (e) {
 *   if (!(e instanceof NonFiniteError)) throw e;
 *   console.log(e.step, e.quantity, e.lastGoodStep); // the model is back at lastGoodStep
 * }
 * ```
 */
export class NonFiniteError extends Error {
  /** The class name, for logs. */
  override name = "NonFiniteError";
  /** The 1-based training step whose computation went non-finite. */
  readonly step: number;
  /** What went non-finite, e.g. `"loss"` or `"gradient of encoder.fc1.weight"`. */
  readonly quantity: string;
  /** The step whose state the model holds now (0: the initial state). */
  readonly lastGoodStep: number;
  /** Creates the error; `detail` adds what was seen (e.g. the values or how many elements). */
  constructor(step: number, quantity: string, lastGoodStep: number, detail = "") {
    super(
      `${quantity} became non-finite at step ${step}${detail ? ` (${detail})` : ""}; ` +
        `the model holds the state after step ${lastGoodStep}`,
    );
    this.step = step;
    this.quantity = quantity;
    this.lastGoodStep = lastGoodStep;
  }
}

/**
 * Training ran away: a step's loss, though finite, exceeded `limit` (the trainer's `divergenceFactor` times
 * the run's first loss). `step` is the first such step and `loss` its value; the model is left at the state
 * before it, after step `lastGoodStep`. A smaller learning rate usually cures it.
 *
 * @example
 * ```ts
 * import { adam, CategoricalVae, DivergenceError, FIXTURES_URL, loadFixture, selectBackend, trainVae } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", inputSize: 64, optimizer: adam({ lr: 1e6 }) });
 * try {
 *   for await (const _ of trainVae(model, data.train, { epochs: 1 })) {}
 * } catch (e) {
 *   if (!(e instanceof DivergenceError)) throw e;
 *   console.log(e.step, e.loss, e.limit, e.lastGoodStep);
 * }
 * ```
 */
export class DivergenceError extends Error {
  /** The class name, for logs. */
  override name = "DivergenceError";
  /** The 1-based training step whose loss ran away. */
  readonly step: number;
  /** Its loss. */
  readonly loss: number;
  /** The bound it exceeded. */
  readonly limit: number;
  /** The step whose state the model holds now. */
  readonly lastGoodStep: number;
  /** Creates the error for the first step whose `loss` exceeded `limit`. */
  constructor(step: number, loss: number, limit: number, lastGoodStep: number) {
    super(
      `training diverged at step ${step}: its loss ${loss.toPrecision(4)} exceeds ${limit.toPrecision(4)} ` +
        `(divergenceFactor × the run's first loss); the model holds the state after step ${lastGoodStep}; ` +
        `try a smaller learning rate`,
    );
    this.step = step;
    this.loss = loss;
    this.limit = limit;
    this.lastGoodStep = lastGoodStep;
  }
}

/**
 * Runs `cleanup` (freeing memory, destroying a task) on the way out of a block. When the block failed with
 * `failure`, an error of the cleanup itself is dropped so that it never replaces the error that explains what
 * went wrong; without a failure, the cleanup's error is the one to report.
 */
export function cleanUp(failure: { error: unknown } | null, cleanup: () => void): void {
  try {
    cleanup();
  } catch (e) {
    if (failure === null) throw e;
  }
}

/**
 * A checkpoint that cannot be used: truncated, corrupt (its checksum does not match), malformed, or made by
 * another model or configuration. `source` names the file; a model it was being loaded into is untouched.
 *
 * @example
 * ```ts
 * import { CheckpointError, loadCheckpoint, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend();
 * try {
 *   loadCheckpoint(new Uint8Array(16), backend, "run.safetensors");
 * } catch (e) {
 *   if (!(e instanceof CheckpointError)) throw e;
 *   console.log(e.source, e.message); // names the file and what is wrong with it
 * }
 * ```
 */
export class CheckpointError extends Error {
  /** The class name, for logs. */
  override name = "CheckpointError";
  /** The file name or URL the bytes came from. */
  readonly source: string;
  /** Creates the error for `source`; `message` says what was expected; `options.cause` keeps the cause. */
  constructor(source: string, message: string, options?: ErrorOptions) {
    super(`${source}: ${message}`, options);
    this.source = source;
  }
}
