/**
 * VAE training through the trainer: epochs over a training set in a fresh order each epoch (the seed's own
 * Philox stream), the train −ELBO as the mean over the epoch's batches of the per-image −ELBO, and the test
 * −ELBO over the whole test set after each epoch (docs/math.md §6.2).
 * @module
 */
import { shuffledIndices } from "../data/shuffle.ts";
import { ImageSet } from "../data/images.ts";
import { ReinmaxInputError } from "../errors.ts";
import { type ElboTerms, Vae } from "../models/vae.ts";
import type { ModelState } from "../models/model.ts";
import { describe } from "../validate.ts";
import { type StepProgress, train } from "./trainer.ts";

/**
 * The record of one epoch of {@link trainVae}; −ELBO values are in nats per image, lower is better.
 *
 * @example
 * ```ts
 * import { CategoricalVae, FIXTURES_URL, loadFixture, selectBackend, trainVae, type VaeEpoch } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", inputSize: 64 });
 * let last: VaeEpoch | undefined;
 * for await (const e of trainVae(model, data.train, { epochs: 3, test: data.test })) last = e;
 * console.log(last?.trainElbo, last?.testReconstruction, last?.testKl);
 * ```
 */
export interface VaeEpoch {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Training steps taken in total. */
  readonly step: number;
  /** Train −ELBO: the mean over this epoch's batches of the batch-mean −ELBO, from the training steps. */
  readonly trainElbo: number;
  /** The reconstruction term of the train −ELBO (Σ_pixels BCE). */
  readonly trainReconstruction: number;
  /** The KL term of the train −ELBO. */
  readonly trainKl: number;
  /** Test −ELBO over the whole test set after the epoch (NaN when no test set was given). */
  readonly testElbo: number;
  /** The reconstruction term of the test −ELBO. */
  readonly testReconstruction: number;
  /** The KL term of the test −ELBO. */
  readonly testKl: number;
  /** Wall-clock milliseconds per training step in this run so far (read-backs included, evaluation not). */
  readonly msPerStep: number;
  /** Milliseconds the test evaluation took. */
  readonly evaluationMs: number;
}

/**
 * Options of {@link trainVae}.
 *
 * @example
 * ```ts
 * import { CategoricalVae, FIXTURES_URL, loadFixture, type ModelState, selectBackend, trainVae, type TrainVaeOptions } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", inputSize: 64 });
 * let saved: ModelState | undefined;
 * const options: TrainVaeOptions = { epochs: 5, test: data.test, onCheckpoint: (s) => void (saved = s) };
 * for await (const e of trainVae(model, data.train, options)) console.log(e.epoch, e.testElbo);
 * ```
 */
export interface TrainVaeOptions {
  /** Train until the model has completed this many epochs in total. Default 1. */
  readonly epochs?: number;
  /** Or until it has taken this many steps in total, when smaller. */
  readonly steps?: number;
  /** Images for the test −ELBO after each epoch; omit to skip it. */
  readonly test?: ImageSet;
  /** Stops training before the next step; the iterator then throws the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called at every read-back with the per-step −ELBO it brought. */
  readonly onProgress?: (progress: StepProgress) => void;
  /** Called with a host copy of the model's state at the end of every epoch (see `TrainOptions`). */
  readonly onCheckpoint?: (state: ModelState) => void | Promise<void>;
}

/**
 * The images of `set` scaled to [0, 1], in file order (for evaluation).
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, FIXTURES_URL, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const images = allImages(data.test); // 297 × 64 values in [0, 1]
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", inputSize: 64 });
 * console.log(await model.evaluate(images, data.test.count));
 * ```
 */
export function allImages(set: ImageSet): Float32Array {
  if (!(set instanceof ImageSet)) {
    throw new ReinmaxInputError("set", `expected an ImageSet, got ${describe(set)}`);
  }
  const out = new Float32Array(set.count * set.size);
  set.gather(Uint32Array.from({ length: set.count }, (_, i) => i), out);
  return out;
}

/**
 * Trains `model` on `trainSet` and yields one {@link VaeEpoch} per epoch. Non-finite values end the run with a
 * `NonFiniteError` naming the step and the quantity, the model left at its last good state.
 *
 * @example
 * ```ts
 * import { CategoricalVae, FIXTURES_URL, loadFixture, selectBackend, trainVae } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "10x30" });
 * for await (const e of trainVae(model, data.train, { epochs: 10, test: data.test })) {
 *   console.log(e.epoch, e.trainElbo.toFixed(2), e.testElbo.toFixed(2)); // −ELBO, nats per image
 * }
 * ```
 */
export async function* trainVae(
  model: Vae,
  trainSet: ImageSet,
  options: TrainVaeOptions = {},
): AsyncGenerator<VaeEpoch> {
  if (!(model instanceof Vae)) {
    throw new ReinmaxInputError("model", `expected a CategoricalVae or BernoulliVae, got ${describe(model)}`);
  }
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
  }
  for (const [argument, set] of [["trainSet", trainSet], ["test", options.test]] as const) {
    if (set === undefined && argument === "test") continue;
    // Any object that gathers images will do, so a set built by another copy of the module is accepted.
    if (typeof set !== "object" || set === null || typeof set.gather !== "function") {
      throw new ReinmaxInputError(argument, `expected an ImageSet, got ${describe(set)}`);
    }
    if (set.size !== model.inputSize) {
      throw new ReinmaxInputError(
        argument,
        `${set.name} has images of ${set.size} pixels; the model takes ${model.inputSize}`,
      );
    }
  }
  if (model.batch > trainSet.count) {
    throw new ReinmaxInputError(
      "batch",
      `the model takes ${model.batch} images per step, but ${trainSet.name} has ${trainSet.count}: its memory ` +
        `plan holds rows no step would fill; build it with batch <= ${trainSet.count}`,
    );
  }
  const batch = new Float32Array(model.batch * model.inputSize);
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
      // The indices keep a static binarisation per image.
      model.forwardBackward(batch, count, { indices: order.indices.subarray(start, start + count) });
    },
    evaluate: async (): Promise<Record<string, number>> => {
      if (!test || !testOrder) return {};
      const batches = (start: number, n: number, out: Float32Array) => test.gather(testOrder, out, start, n);
      const terms: ElboTerms = await model.evaluate(batches, test.count);
      return { testElbo: terms.elbo, testReconstruction: terms.reconstruction, testKl: terms.kl };
    },
  }, {
    epochs: options.epochs,
    steps: options.steps,
    signal: options.signal,
    onProgress: options.onProgress,
    onCheckpoint: options.onCheckpoint,
  });
  for await (const e of epochs) {
    yield {
      epoch: e.epoch,
      step: e.step,
      trainElbo: e.loss,
      trainReconstruction: e.channels.reconstruction,
      trainKl: e.channels.kl,
      testElbo: e.metrics.testElbo ?? NaN,
      testReconstruction: e.metrics.testReconstruction ?? NaN,
      testKl: e.metrics.testKl ?? NaN,
      msPerStep: e.msPerStep,
      evaluationMs: e.evaluationMs,
    };
  }
}
