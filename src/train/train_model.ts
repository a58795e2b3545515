/**
 * Training a declared model through the trainer: epochs over a data set (images or vectors, with labels for a
 * classifier) in a fresh order each epoch (the seed's own Philox stream), the train loss as the mean over the
 * epoch's batches of the per-example loss, and the test loss (and a classifier's accuracy) over the whole test
 * set after each epoch.
 * @module
 */
import { shuffledIndices } from "../data/shuffle.ts";
import { ReinmaxInputError } from "../errors.ts";
import type { DiscreteModel } from "../models/discrete_model.ts";
import type { ModelState } from "../models/model.ts";
import { describe } from "../validate.ts";
import { type StepProgress, train } from "./trainer.ts";

/**
 * Examples a model trains on: an `ImageSet` or a `VectorSet` (or any object with these members).
 *
 * @example
 * ```ts
 * import { type ExampleSet, VectorSet } from "@reinmax/reinmax";
 * const set: ExampleSet = new VectorSet({ name: "pairs", count: 2, width: 3, values: new Float32Array(6) });
 * ```
 */
export interface ExampleSet {
  /** Names the set in messages. */
  readonly name: string;
  /** Examples in the set. */
  readonly count: number;
  /** Values per example. */
  readonly size: number;
  /** One label per example, if the set has labels. */
  readonly labels?: Uint8Array;
  /** Writes examples `indices[start…start + count)` one after another into `out` (count × size values). */
  gather(indices: ArrayLike<number>, out: Float32Array, start?: number, count?: number): void;
}

/**
 * The record of one epoch of {@link trainModel}.
 *
 * @example
 * ```ts
 * import type { ModelEpoch } from "@reinmax/reinmax";
 * const report = (e: ModelEpoch) => `${e.epoch}: ${e.trainLoss.toFixed(3)} / ${e.testLoss.toFixed(3)} (${e.testAccuracy})`;
 * ```
 */
export interface ModelEpoch {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Training steps taken in total. */
  readonly step: number;
  /** The mean over this epoch's batches of the batch-mean loss (for a VAE, −ELBO per example). */
  readonly trainLoss: number;
  /** Each loss channel of the train loss, by name. */
  readonly trainTerms: Readonly<Record<string, number>>;
  /** The loss over the whole test set after the epoch (NaN without a test set). */
  readonly testLoss: number;
  /** Each loss channel of the test loss. */
  readonly testTerms: Readonly<Record<string, number>>;
  /** A classifier's accuracy on the test set (NaN without one, or for other likelihoods). */
  readonly testAccuracy: number;
  /** Wall-clock milliseconds per training step in this run so far (read-backs included, evaluation not). */
  readonly msPerStep: number;
  /** Milliseconds the test evaluation took. */
  readonly evaluationMs: number;
}

/**
 * Options of {@link trainModel}.
 *
 * @example
 * ```ts
 * import type { TrainModelOptions } from "@reinmax/reinmax";
 * const options: TrainModelOptions = { epochs: 10, divergenceFactor: 1000 };
 * ```
 */
export interface TrainModelOptions {
  /** Train until the model has completed this many epochs in total. Default 1. */
  readonly epochs?: number;
  /** Or until it has taken this many steps in total, when smaller. */
  readonly steps?: number;
  /** Examples for the test loss after each epoch; omit to skip it. */
  readonly test?: ExampleSet;
  /** Stops training before the next step; the iterator then throws the signal's reason. */
  readonly signal?: AbortSignal;
  /** See `TrainOptions.divergenceFactor`. Default 100. */
  readonly divergenceFactor?: number;
  /** Called at every read-back with the per-step loss it brought. */
  readonly onProgress?: (progress: StepProgress) => void;
  /** Called with a host copy of the model's state at the end of every epoch (see `TrainOptions`). */
  readonly onCheckpoint?: (state: ModelState) => void | Promise<void>;
}

/**
 * Trains `model` on `trainSet` and yields one {@link ModelEpoch} per epoch; see the module comment. A set that
 * does not fit the model (its width, labels a classifier needs, a batch larger than it) is refused before any
 * step, naming the argument.
 *
 * @example
 * ```ts
 * import { DiscreteModel, layers, selectBackend, trainModel, VectorSet } from "@reinmax/reinmax";
 * const { linear, tanh, bernoulli, gaussianLikelihood } = layers;
 * const values = Float32Array.from({ length: 400 * 8 }, (_, i) => Math.sin(i));
 * const data = new VectorSet({ name: "waves", count: 400, width: 8, values });
 * const model = new DiscreteModel(await selectBackend(), {
 *   inputSize: 8,
 *   layers: [linear(32), tanh(), bernoulli({ latents: 6 }), linear(32), tanh(), linear(8)],
 *   likelihood: gaussianLikelihood({ sigma: 0.5 }),
 *   batch: 50,
 * });
 * for await (const e of trainModel(model, data, { epochs: 3 })) console.log(e.epoch, e.trainLoss);
 * ```
 */
export async function* trainModel(
  model: DiscreteModel,
  trainSet: ExampleSet,
  options: TrainModelOptions = {},
): AsyncGenerator<ModelEpoch> {
  if (typeof model !== "object" || model === null || typeof model.checkData !== "function") {
    throw new ReinmaxInputError("model", `expected a DiscreteModel, got ${describe(model)}`);
  }
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
  }
  for (const [argument, set] of [["trainSet", trainSet], ["test", options.test]] as const) {
    if (set === undefined && argument === "test") continue;
    // Any object that gathers examples will do, so a set built by another copy of the module is accepted.
    if (typeof set !== "object" || set === null || typeof set.gather !== "function") {
      throw new ReinmaxInputError(argument, `expected an ImageSet or VectorSet, got ${describe(set)}`);
    }
    model.checkData(argument, set);
  }
  if (model.batch > trainSet.count) {
    throw new ReinmaxInputError(
      "batch",
      `the model takes ${model.batch} examples per step, but ${trainSet.name} has ${trainSet.count}: its ` +
        `memory plan holds rows no step would fill; build it with batch <= ${trainSet.count}`,
    );
  }
  const batch = new Float32Array(model.batch * model.inputSize);
  const labels = model.needsLabels ? new Int32Array(model.batch) : undefined;
  const gatherLabels = (
    set: ExampleSet,
    order: ArrayLike<number>,
    start: number,
    count: number,
    out: Int32Array,
  ) => {
    for (let i = 0; i < count; i++) out[i] = set.labels![order[start + i]];
  };
  // The test set is converted a batch at a time, like the training set: as floats it would be four times
  // its bytes (31 MB for Fashion-MNIST's 10,000 test images).
  const test = options.test;
  const testOrder = test ? Uint32Array.from({ length: test.count }, (_, i) => i) : undefined;
  let order: { epoch: number; indices: Uint32Array } | null = null;
  const epochs = train({
    model,
    stepsPerEpoch: Math.ceil(trainSet.count / model.batch),
    forwardBackward: (epoch, index) => {
      if (order?.epoch !== epoch) {
        order = { epoch, indices: shuffledIndices(trainSet.count, model.seed, epoch) };
      }
      const start = index * model.batch, count = Math.min(model.batch, trainSet.count - start);
      trainSet.gather(order.indices, batch, start, count);
      if (labels) gatherLabels(trainSet, order.indices, start, count, labels);
      // The indices keep a static binarisation per example.
      model.forwardBackward(batch, count, { labels, indices: order.indices.subarray(start, start + count) });
    },
    evaluate: async (): Promise<Record<string, number>> => {
      if (!test || !testOrder) return {};
      const e = await model.evaluate((start, n, out, outLabels) => {
        test.gather(testOrder, out, start, n);
        if (outLabels) gatherLabels(test, testOrder, start, n, outLabels);
      }, test.count);
      const metrics: Record<string, number> = { testLoss: e.loss };
      for (const [name, value] of Object.entries(e.terms)) metrics[`test.${name}`] = value;
      if (e.accuracy !== undefined) metrics.testAccuracy = e.accuracy;
      return metrics;
    },
  }, {
    epochs: options.epochs,
    steps: options.steps,
    signal: options.signal,
    divergenceFactor: options.divergenceFactor,
    onProgress: options.onProgress,
    onCheckpoint: options.onCheckpoint,
  });
  for await (const e of epochs) {
    const testTerms: Record<string, number> = {};
    for (const channel of Object.keys(e.channels)) testTerms[channel] = e.metrics[`test.${channel}`] ?? NaN;
    yield {
      epoch: e.epoch,
      step: e.step,
      trainLoss: e.loss,
      trainTerms: e.channels,
      testLoss: e.metrics.testLoss ?? NaN,
      testTerms,
      testAccuracy: e.metrics.testAccuracy ?? NaN,
      msPerStep: e.msPerStep,
      evaluationMs: e.evaluationMs,
    };
  }
}
