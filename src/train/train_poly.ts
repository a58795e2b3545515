/**
 * Polynomial programming through the trainer: an "epoch" is a fixed number of steps, and the exact expected
 * loss, computed on the backend at each epoch's end, rides that epoch's last read-back.
 * @module
 */
import type { ModelState } from "../models/model.ts";
import { type PolyOptions, PolyProgramming } from "../models/poly.ts";
import { cleanUp, ReinmaxInputError } from "../errors.ts";
import { describe, requireInteger, requireObject } from "../validate.ts";
import { train } from "./trainer.ts";

/**
 * Progress of {@link trainPoly} at the end of an epoch.
 *
 * @example
 * ```ts
 * import { type PolyEpoch, selectBackend, trainPoly } from "@reinmax/reinmax";
 * const epochs: PolyEpoch[] = [];
 * for await (const e of trainPoly(await selectBackend(), { steps: 1000 })) epochs.push(e);
 * console.log(epochs.at(-1)?.exactLoss, epochs.at(-1)?.msPerStep);
 * ```
 */
export interface PolyEpoch {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Steps taken so far. */
  readonly step: number;
  /** Mean sampled loss over this epoch's steps. */
  readonly loss: number;
  /** Exact expected loss at the end of the epoch. */
  readonly exactLoss: number;
  /** Wall-clock milliseconds per step over the run so far (read-backs included). */
  readonly msPerStep: number;
  /** Backend memory the task holds, planned once before the first step (bytes). */
  readonly bytesAllocated: number;
}

/**
 * Options of {@link trainPoly}.
 *
 * @example
 * ```ts
 * import { estimator, selectBackend, trainPoly, type TrainPolyOptions } from "@reinmax/reinmax";
 * const options: TrainPolyOptions = {
 *   p: 1.5,
 *   estimator: estimator("st", { tau: 1 }),
 *   steps: 8000,
 *   stepsPerEpoch: 200,
 *   onLosses: (first, losses) => console.log(first, losses.length),
 * };
 * for await (const e of trainPoly(await selectBackend(), options)) console.log(e.epoch, e.exactLoss);
 * ```
 */
export interface TrainPolyOptions extends PolyOptions {
  /** Total steps. Default 8000. */
  readonly steps?: number;
  /** Steps per reported epoch. Default 200. */
  readonly stepsPerEpoch?: number;
  /** Called with each step's sampled loss as it is read back (every `readEvery` steps). */
  readonly onLosses?: (firstStep: number, losses: Float32Array) => void;
  /** Stops training before the next step; the iterator then throws the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called with a host copy of the task's state at the end of every epoch (see `TrainOptions`). */
  readonly onCheckpoint?: (state: ModelState) => void | Promise<void>;
  /** Continue from this state (from `onCheckpoint` or `readState`) instead of a fresh θ. */
  readonly state?: ModelState;
}

/**
 * Trains the task and yields one record per epoch. A backend failure (e.g. a lost GPU) ends the run with a
 * `BackendFailureError` naming the step, a diverging run with a `NonFiniteError` naming the step and the
 * quantity; the epochs already yielded are intact.
 *
 * @example
 * ```ts
 * import { selectBackend, trainPoly } from "@reinmax/reinmax";
 * const backend = await selectBackend();
 * for await (const e of trainPoly(backend, { p: 2, steps: 2000 })) {
 *   console.log(e.step, e.loss.toFixed(4), e.exactLoss.toFixed(4)); // sampled and exact expected loss
 * }
 * ```
 */
export async function* trainPoly(
  backend: ConstructorParameters<typeof PolyProgramming>[0],
  options: TrainPolyOptions = {},
): AsyncGenerator<PolyEpoch> {
  requireObject("options", options);
  const steps = requireInteger("steps", options.steps ?? 8000, 1);
  const stepsPerEpoch = requireInteger("stepsPerEpoch", options.stepsPerEpoch ?? 200, 1);
  if (options.onLosses !== undefined && typeof options.onLosses !== "function") {
    throw new ReinmaxInputError("onLosses", `expected a function, got ${describe(options.onLosses)}`);
  }
  const task = new PolyProgramming(backend, options);
  if (options.state !== undefined) {
    try {
      task.writeState(options.state);
    } catch (error) {
      cleanUp({ error }, () => task.destroy());
      throw error;
    }
  }
  let failure: { error: unknown } | null = null;
  try {
    const epochs = train({
      model: task,
      stepsPerEpoch,
      forwardBackward: () => task.forwardBackward(),
      epochMetrics: ["exactLoss"],
      enqueueEpochMetrics: () => task.enqueueExactLoss(),
    }, {
      epochs: Math.ceil(steps / stepsPerEpoch),
      steps,
      signal: options.signal,
      onCheckpoint: options.onCheckpoint,
      onProgress: options.onLosses && ((p) => options.onLosses!(p.firstStep - 1, p.losses)),
    });
    for await (const e of epochs) {
      yield {
        epoch: e.epoch,
        step: e.step,
        loss: e.loss,
        exactLoss: e.metrics.exactLoss,
        msPerStep: e.msPerStep,
        bytesAllocated: task.bytesAllocated,
      };
    }
  } catch (error) {
    failure = { error };
    throw error;
  } finally {
    cleanUp(failure, () => task.destroy());
  }
}
