/**
 * The one training loop every task uses: steps grouped into epochs, losses read back every `readEvery` steps
 * (never per step on WebGPU), progress as an async iterator, an AbortSignal, and non-finite and divergence
 * detection that costs no extra round trip.
 *
 * Safety (the run guard, src/train/run_guard.ts): every read-back also brings a count of non-finite values
 * in each parameter. When everything read is finite and no loss has run away, the trained state is copied
 * into the model's snapshot buffers on the backend. When something is not finite, the model returns to that
 * snapshot and the steps since are run again one at a time, checking the loss, every gradient and every
 * updated parameter after each, which names the first step and the first quantity that went non-finite; the
 * model is left at the state just before that step and a {@link NonFiniteError} says so. When a step's loss
 * is finite but more than `divergenceFactor` times the loss of the run's first step, the run has diverged:
 * the model is put back to the state before that step and a {@link DivergenceError} names it. Steps are
 * deterministic (data order and samples are functions of the seed and the step), so a replay meets the same
 * values. A model trains in one loop at a time.
 * @module
 */
import { BackendFailureError, DivergenceError, NonFiniteError, ReinmaxInputError } from "../errors.ts";
import { type ModelState, TrainableModel } from "../models/model.ts";
import { describe, requireInteger } from "../validate.ts";
import { RunGuard } from "./run_guard.ts";

/**
 * What the trainer drives: a model and how to run each step of an epoch on it.
 *
 * @example
 * ```ts
 * import { PolyProgramming, selectBackend, train, type TrainingTask } from "@reinmax/reinmax";
 * const model = new PolyProgramming(await selectBackend(), { p: 2 });
 * const task: TrainingTask = { model, stepsPerEpoch: 200, forwardBackward: () => model.forwardBackward() };
 * for await (const e of train(task, { epochs: 5 })) console.log(e.epoch, e.loss);
 * ```
 */
export interface TrainingTask {
  /** The model being trained. */
  readonly model: TrainableModel;
  /** Steps in one epoch (e.g. batches per pass over the training set). */
  readonly stepsPerEpoch: number;
  /**
   * Enqueues the forward and backward pass of step `index` (0-based) of epoch `epoch` (1-based) — its batch,
   * its loss channels recorded in the model's log — but not the optimiser update.
   */
  forwardBackward(epoch: number, index: number): void;
  /**
   * Names of metrics the task computes on the backend at the end of every epoch, into the slots of these
   * names in the model's log, so they ride the epoch's last read-back (e.g. the polynomial task's exact loss).
   */
  readonly epochMetrics?: readonly string[];
  /** Enqueues the {@link TrainingTask.epochMetrics} kernels. */
  enqueueEpochMetrics?(): void;
  /** Runs after each epoch's last step and read-back, outside the timed training (e.g. test −ELBO). */
  evaluate?(epoch: number): Promise<Readonly<Record<string, number>>>;
}

/**
 * Losses read back during training.
 *
 * @example
 * ```ts
 * import { CategoricalVae, FIXTURES_URL, loadFixture, selectBackend, type StepProgress, trainVae } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", inputSize: 64, readEvery: 5 });
 * const onProgress = (p: StepProgress) => console.log(`step ${p.firstStep + p.losses.length - 1}/${p.lastStep}`);
 * for await (const _ of trainVae(model, data.train, { epochs: 1, onProgress })) {}
 * ```
 */
export interface StepProgress {
  /** The epoch the steps belong to (1-based). */
  readonly epoch: number;
  /** The 1-based training step of `losses[0]`. */
  readonly firstStep: number;
  /** The loss of each step read (the sum of the model's loss channels), oldest first. */
  readonly losses: Float32Array;
  /** The step the run ends at. */
  readonly lastStep: number;
}

/**
 * The record of one finished epoch.
 *
 * @example
 * ```ts
 * import { type EpochReport, PolyProgramming, selectBackend, train } from "@reinmax/reinmax";
 * const model = new PolyProgramming(await selectBackend());
 * const epochs = train({ model, stepsPerEpoch: 100, forwardBackward: () => model.forwardBackward() }, { epochs: 3 });
 * for await (const e of epochs) {
 *   const report: EpochReport = e;
 *   console.log(report.epoch, report.step, report.loss, report.channels, report.msPerStep);
 * }
 * ```
 */
export interface EpochReport {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Training steps taken in total. */
  readonly step: number;
  /** Steps of this epoch run in this call (fewer than an epoch when the run started or stopped mid-epoch). */
  readonly steps: number;
  /** Mean over the epoch's steps of the step loss (the sum of the loss channels). */
  readonly loss: number;
  /** Mean over the epoch's steps of each loss channel. */
  readonly channels: Readonly<Record<string, number>>;
  /** The task's epoch metrics and evaluation results. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Wall-clock milliseconds per training step in this call so far, read-backs included, evaluation not. */
  readonly msPerStep: number;
  /** Milliseconds this epoch's evaluation took. */
  readonly evaluationMs: number;
}

/**
 * Options of {@link train}.
 *
 * @example
 * ```ts
 * import { PolyProgramming, selectBackend, train, type TrainOptions } from "@reinmax/reinmax";
 * const model = new PolyProgramming(await selectBackend());
 * const stop = new AbortController();
 * const options: TrainOptions = { epochs: 40, signal: stop.signal, onProgress: (p) => console.log(p.losses.at(-1)) };
 * setTimeout(() => stop.abort(new Error("time is up")), 1000);
 * try {
 *   for await (const e of train({ model, stepsPerEpoch: 200, forwardBackward: () => model.forwardBackward() }, options)) {
 *     console.log(e.epoch);
 *   }
 * } catch (e) {
 *   console.log((e as Error).message); // "time is up": the model keeps its last state
 * }
 * ```
 */
export interface TrainOptions {
  /** Train until the model has completed this many epochs in total. Default 1. */
  readonly epochs?: number;
  /** Or until it has taken this many steps in total, when smaller (the last epoch is then partial). */
  readonly steps?: number;
  /** Stops training before the next step; the iterator then throws the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * A step whose loss exceeds this many times the magnitude of the run's first loss (at least 1) ends the run
   * with a DivergenceError. Default 100; Infinity turns the check off.
   */
  readonly divergenceFactor?: number;
  /** Called at every read-back with the losses it brought. */
  readonly onProgress?: (progress: StepProgress) => void;
  /**
   * Called at the end of every epoch with a host copy of the model's state (parameters, moments, step),
   * after the epoch's read-back found everything finite: what to continue from if the backend is lost (a
   * GPU reset), on this backend or another. Awaited, so it may write the state somewhere.
   */
  readonly onCheckpoint?: (state: ModelState) => void | Promise<void>;
}

/**
 * How often a run gives the event loop a turn. On WASM every read resolves at once, so without this a long run
 * would never let a timer, a message or an abort (AbortSignal.timeout, a Stop button) in; a turn costs at most
 * a few milliseconds, a few percent of this period.
 */
const YIELD_EVERY_MS = 100;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Where global step `step` (1-based) falls: its epoch (1-based) and index in the epoch (0-based). */
function position(step: number, stepsPerEpoch: number): { epoch: number; index: number } {
  return { epoch: Math.floor((step - 1) / stepsPerEpoch) + 1, index: (step - 1) % stepsPerEpoch };
}

/**
 * Trains `task.model` from where it is up to `epochs` epochs (or `steps` steps) in total, yielding one
 * {@link EpochReport} per epoch. A backend failure ends the run with a {@link BackendFailureError} naming the
 * step; a non-finite value with a {@link NonFiniteError} (see the module comment).
 *
 * @example
 * ```ts
 * import { PolyProgramming, selectBackend, train } from "@reinmax/reinmax";
 * const model = new PolyProgramming(await selectBackend(), { p: 3 });
 * const task = {
 *   model,
 *   stepsPerEpoch: 200,
 *   forwardBackward: () => model.forwardBackward(),
 *   epochMetrics: ["exactLoss"],
 *   enqueueEpochMetrics: () => model.enqueueExactLoss(),
 * };
 * for await (const e of train(task, { epochs: 10 })) console.log(e.epoch, e.loss, e.metrics.exactLoss);
 * ```
 */
export async function* train(task: TrainingTask, options: TrainOptions = {}): AsyncGenerator<EpochReport> {
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
  }
  if (typeof task !== "object" || task === null || !(task.model instanceof TrainableModel)) {
    throw new ReinmaxInputError(
      "task",
      `expected { model, stepsPerEpoch, forwardBackward }, got ${describe(task)}`,
    );
  }
  const callbacks: [string, unknown][] = [
    ["forwardBackward", task.forwardBackward],
    ["onProgress", options.onProgress ?? (() => {})],
    ["onCheckpoint", options.onCheckpoint ?? (() => {})],
  ];
  for (const [name, fn] of callbacks) {
    if (typeof fn !== "function") {
      throw new ReinmaxInputError(name, `expected a function, got ${describe(fn)}`);
    }
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new ReinmaxInputError("signal", `expected an AbortSignal, got ${describe(options.signal)}`);
  }
  const model = task.model;
  if (model.destroyed) {
    throw new ReinmaxInputError("model", "the model was destroyed (model.destroy()); create a new one");
  }
  const stepsPerEpoch = requireInteger("stepsPerEpoch", task.stepsPerEpoch, 1);
  const epochs = requireInteger("epochs", options.epochs ?? 1, 1);
  const stepLimit = options.steps === undefined ? Infinity : requireInteger("steps", options.steps, 1);
  const divergenceFactor = options.divergenceFactor ?? 100;
  if (typeof divergenceFactor !== "number" || !(divergenceFactor > 1)) {
    throw new ReinmaxInputError(
      "divergenceFactor",
      `expected a number > 1 (or Infinity to turn the check off), got ${describe(divergenceFactor)}`,
    );
  }
  if (IN_TRAINING.has(model)) {
    throw new ReinmaxInputError(
      "model",
      "is already being trained by another loop; a model trains in one loop at a time (finish or break " +
        "out of the other loop first)",
    );
  }
  const lastStep = Math.min(epochs * stepsPerEpoch, stepLimit);
  const channels = model.log.channels;
  const metricNames = task.epochMetrics ?? [];
  const signal = options.signal;
  const guard = new RunGuard(model);
  let step = model.steps;
  const startStep = step;
  // The step a failure is attributed to: the one being run, or whose read-back is being waited for.
  let current = step + 1;
  /** A step's loss above this has run away; set from the run's first step. */
  let divergenceLimit = Infinity;

  IN_TRAINING.add(model);
  try {
    // The state training starts from must be finite, or there is no good state to return to.
    if (model.log.pending > 0) await model.log.read();
    guard.enqueueHealthCheck("value");
    const bad = guard.unhealthy((await model.log.read()).slots);
    if (bad.length > 0) {
      throw new ReinmaxInputError(
        "model",
        `parameter ${bad[0].parameter.label} holds ${bad[0].count} non-finite values before training`,
      );
    }
    guard.snapshot();

    let trainMs = 0;
    let sums = new Float64Array(channels.length), epochSteps = 0;
    let lastYield = performance.now();
    while (step < lastStep) {
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      signal?.throwIfAborted();
      current = step + 1;
      const started = performance.now();
      const { epoch, index } = position(step + 1, stepsPerEpoch);
      task.forwardBackward(epoch, index);
      model.update();
      step++;
      const epochEnd = index === stepsPerEpoch - 1 || step === lastStep;
      if (epochEnd || model.log.pending === model.log.capacity) {
        const first = step - model.log.pending + 1;
        if (epochEnd) task.enqueueEpochMetrics?.();
        guard.enqueueHealthCheck("value");
        const read = await model.log.read();
        const losses = new Float32Array(read.channels[0].length);
        read.channels.forEach((values) => {
          for (let i = 0; i < values.length; i++) losses[i] += values[i];
        });
        const seen = firstNonFinite(
          model,
          guard,
          read.channels,
          epochEnd ? metricNames : [],
          read.slots,
          first,
        );
        if (seen) await replay(task, guard, seen, step);
        if (divergenceLimit === Infinity && first === startStep + 1 && losses.length > 0) {
          divergenceLimit = divergenceFactor * Math.max(1, Math.abs(losses[0]));
        }
        const runaway = losses.findIndex((loss) => loss > divergenceLimit);
        if (runaway >= 0) {
          await rerunUpTo(task, guard, first + runaway - 1);
          throw new DivergenceError(first + runaway, losses[runaway], divergenceLimit, model.steps);
        }
        guard.snapshot();
        read.channels.forEach((values, c) => {
          for (let i = 0; i < values.length; i++) sums[c] += values[i];
        });
        epochSteps += losses.length;
        trainMs += performance.now() - started;
        options.onProgress?.({ epoch, firstStep: first, losses, lastStep });
        if (epochEnd) {
          const metrics: Record<string, number> = {};
          for (const name of metricNames) metrics[name] = read.slots.get(name)!;
          const evaluationStart = performance.now();
          if (task.evaluate) Object.assign(metrics, await task.evaluate(epoch));
          const evaluationMs = performance.now() - evaluationStart;
          // After the evaluation, so that the state carries the positions of its draws too.
          if (options.onCheckpoint) await options.onCheckpoint(await model.readState());
          const channelMeans = Object.fromEntries(channels.map((c, i) => [c, sums[i] / epochSteps]));
          const report: EpochReport = {
            epoch,
            step,
            steps: epochSteps,
            loss: sums.reduce((a, b) => a + b, 0) / epochSteps,
            channels: channelMeans,
            metrics,
            msPerStep: trainMs / (step - startStep),
            evaluationMs,
          };
          sums = new Float64Array(channels.length);
          epochSteps = 0;
          yield report;
        }
      } else {
        trainMs += performance.now() - started;
      }
    }
  } catch (e) {
    throw e instanceof BackendFailureError && e.step < 0 ? e.atStep(current) : e;
  } finally {
    IN_TRAINING.delete(model);
  }
}

/** The models a loop is training now: a second loop on one of them would interleave its steps. */
const IN_TRAINING = new WeakSet<TrainableModel>();

/** What a read-back showed first. */
interface Sighting {
  readonly step: number;
  readonly quantity: string;
  readonly detail: string;
}

function lossName(model: TrainableModel, channel: number): string {
  return model.log.channels.length > 1 ? `loss (${model.log.channels[channel]})` : "loss";
}

/** The earliest non-finite loss of the read, else a non-finite metric or parameter at its last step. */
function firstNonFinite(
  model: TrainableModel,
  guard: RunGuard,
  channels: readonly Float32Array[],
  metricNames: readonly string[],
  slots: ReadonlyMap<string, number>,
  firstStep: number,
): Sighting | null {
  const count = channels[0].length;
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < channels.length; c++) {
      const value = channels[c][i];
      if (!Number.isFinite(value)) {
        return { step: firstStep + i, quantity: lossName(model, c), detail: `${value}` };
      }
    }
  }
  const lastStep = firstStep + count - 1;
  for (const name of metricNames) {
    const value = slots.get(name)!;
    if (!Number.isFinite(value)) return { step: lastStep, quantity: name, detail: `${value}` };
  }
  const bad = guard.unhealthy(slots);
  if (bad.length > 0) {
    return {
      step: lastStep,
      quantity: `parameter ${bad[0].parameter.label}`,
      detail: `${bad[0].count} of ${bad[0].parameter.length} values`,
    };
  }
  return null;
}

/**
 * Returns the model to its last snapshot and runs the steps up to `lastStep` again one at a time, checking
 * the loss, the gradients and the updated parameters after each; throws the NonFiniteError of the first
 * failure with the model at the state before it.
 */
async function replay(task: TrainingTask, guard: RunGuard, seen: Sighting, lastStep: number): Promise<never> {
  const model = task.model;
  guard.restore();
  for (let k = model.steps + 1; k <= lastStep; k++) {
    const { epoch, index } = position(k, task.stepsPerEpoch);
    task.forwardBackward(epoch, index);
    guard.enqueueHealthCheck("grad");
    const read = await model.log.read();
    for (let c = 0; c < read.channels.length; c++) {
      const value = read.channels[c][0];
      if (!Number.isFinite(value)) throw new NonFiniteError(k, lossName(model, c), k - 1, `${value}`);
    }
    const grads = guard.unhealthy(read.slots);
    if (grads.length > 0) {
      throw new NonFiniteError(
        k,
        `gradient of ${grads[0].parameter.label}`,
        k - 1,
        grads.map((g) => `${g.count} of ${g.parameter.length} values of ${g.parameter.label}.grad`).join(
          ", ",
        ),
      );
    }
    model.update();
    guard.enqueueHealthCheck("value");
    const values = guard.unhealthy((await model.log.read()).slots);
    if (values.length > 0) {
      guard.restore();
      throw new NonFiniteError(
        k,
        `parameter ${values[0].parameter.label} after its update`,
        k - 1,
        values.map((v) => `${v.count} of ${v.parameter.length} values of ${v.parameter.label}`).join(", "),
      );
    }
    guard.snapshot();
  }
  throw new NonFiniteError(
    seen.step,
    seen.quantity,
    lastStep,
    `${seen.detail}; running the steps since the last good read-back again gave finite values, so the ` +
      `model's memory was changed outside training or the backend is not deterministic`,
  );
}

/** Returns the model to its last snapshot and runs the steps after it again, up to and including `step`. */
async function rerunUpTo(task: TrainingTask, guard: RunGuard, step: number): Promise<void> {
  const model = task.model;
  guard.restore();
  while (model.steps < step) {
    const { epoch, index } = position(model.steps + 1, task.stepsPerEpoch);
    task.forwardBackward(epoch, index);
    model.update();
    if (model.log.pending === model.log.capacity) await model.log.read();
  }
  model.log.discardPending();
  guard.snapshot();
}
