/**
 * VAE training in the paper's terms: {@link trainModel}'s epochs over images, its losses named −ELBO — the train
 * −ELBO the mean over the epoch's batches of the per-image −ELBO, the test −ELBO over the whole test set after
 * each epoch (docs/math.md §6.2).
 * @module
 */
import { ImageSet } from "../data/images.ts";
import { ReinmaxInputError } from "../errors.ts";
import { Vae } from "../models/vae.ts";
import type { ModelState } from "../models/model.ts";
import { describe } from "../validate.ts";
import { trainModel } from "./train_model.ts";
import type { StepProgress } from "./trainer.ts";

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
  /** See `TrainOptions.divergenceFactor`. Default 100. */
  readonly divergenceFactor?: number;
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
  for await (const e of trainModel(model, trainSet, options)) {
    yield {
      epoch: e.epoch,
      step: e.step,
      trainElbo: e.trainLoss,
      trainReconstruction: e.trainTerms.reconstruction,
      trainKl: e.trainTerms.kl,
      testElbo: e.testLoss,
      testReconstruction: e.testTerms.reconstruction,
      testKl: e.testTerms.kl,
      msPerStep: e.msPerStep,
      evaluationMs: e.evaluationMs,
    };
  }
}
