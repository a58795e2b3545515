/**
 * What the built-in VAEs share, on top of the declared model they are: one stochastic layer between an MLP
 * encoder and an MLP decoder, Bernoulli pixels, and the paper's vocabulary — −ELBO and its two terms
 * (reconstruction and KL), reconstructions, samples from the prior, forced codes for tests.
 * @module
 */
import { type Backend, readF32, readI32 } from "../backend.ts";
import { ReinmaxInputError } from "../errors.ts";
import { checkEstimator, type Estimator } from "../estimators.ts";
import { layers } from "../layers/declarations.ts";
import { TAG } from "../random.ts";
import type { Optimizer } from "../optim.ts";
import { describe, requireInteger } from "../validate.ts";
import {
  type Binarization,
  DiscreteModel,
  type Evaluation,
  type InputBatches,
  type StepOptions,
} from "./discrete_model.ts";

/**
 * −ELBO and its two terms, in nats per image.
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, type ElboTerms, FIXTURES_URL, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", inputSize: 64 });
 * const terms: ElboTerms = await model.evaluate(allImages(data.test), data.test.count);
 * console.log(terms.elbo === terms.reconstruction + terms.kl); // up to rounding
 * ```
 */
export interface ElboTerms extends Evaluation {
  /** −ELBO = reconstruction + kl. */
  readonly elbo: number;
  /** Σ_pixels BCE, the negative log-likelihood of the image under the decoder's Bernoulli pixels. */
  readonly reconstruction: number;
  /** KL(q(z|x) ‖ prior). */
  readonly kl: number;
}

/**
 * Writes images `start`, …, `start + count − 1` of a collection into `out[0 .. count·inputSize)` as values in
 * [0, 1]: how {@link Vae.evaluate} reads a collection a batch at a time (`count` is at most the model's
 * batch).
 *
 * @example
 * ```ts
 * import { CategoricalVae, FIXTURES_URL, type ImageBatches, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("digits", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", inputSize: 64 });
 * const order = Uint32Array.from({ length: data.test.count }, (_, i) => i);
 * const batches: ImageBatches = (start, count, out) => data.test.gather(order, out, start, count);
 * console.log((await model.evaluate(batches, data.test.count)).elbo);
 * ```
 */
export type ImageBatches = InputBatches;

/**
 * Options of {@link Vae.forwardBackward}.
 *
 * @example
 * ```ts
 * import { CategoricalVae, selectBackend, type StepInputOptions } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend({ prefer: "wasm" }), { config: "8x4", inputSize: 4, batch: 2 });
 * const forced: StepInputOptions = { sample: new Int32Array([0, 1, 2, 3, 4, 5, 6, 7]) }; // 2 images × 4 latents
 * model.forwardBackward(new Float32Array(8).fill(0.5), 2, forced);
 * ```
 */
export interface StepInputOptions {
  /** Forces the category of every latent row instead of sampling; for tests. */
  readonly sample?: Int32Array;
  /**
   * The images' indices in their data set (count of them), so that a static binarisation gives an image the
   * same bits whenever it is seen. Without them, an image's position in the batch stands in.
   */
  readonly indices?: ArrayLike<number>;
}

/** What a VAE's constructor hands the declared model. */
export interface VaeDeclaration {
  readonly inputSize: number;
  readonly hidden: readonly number[];
  readonly activation: () => ReturnType<typeof layers.relu>;
  readonly latent: ReturnType<typeof layers.categorical> | ReturnType<typeof layers.bernoulli>;
  readonly optimizer: Optimizer;
  readonly batch: number;
  readonly seed: number;
  readonly readEvery: number;
  readonly binarize: Binarization;
}

/** Checks a list of hidden-layer widths from the caller (option `argument`). */
export function requireLayerWidths(argument: string, widths: unknown): readonly number[] {
  if (!Array.isArray(widths) || widths.length === 0) {
    throw new ReinmaxInputError(
      argument,
      `expected a non-empty array of layer widths, got ${describe(widths)}`,
    );
  }
  return widths.map((width, i) => requireInteger(`${argument}[${i}]`, width, 1, 1 << 16));
}

/**
 * The base of the VAEs; see the module comment.
 *
 * @example
 * ```ts
 * import { allImages, BernoulliVae, CategoricalVae, FIXTURES_URL, loadFixture, selectBackend, type Vae } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const backend = await selectBackend();
 * const models: Vae[] = [new CategoricalVae(backend, { config: "8x4" }), new BernoulliVae(backend)];
 * for (const model of models) {
 *   const { elbo } = await model.evaluate(allImages(data.test), 500); // the same interface for both
 *   console.log(model.describe().model, elbo);
 * }
 * ```
 */
export abstract class Vae extends DiscreteModel {
  /** The gradient estimator of the stochastic layer. */
  readonly estimator: Estimator;
  /** Widths of the encoder's hidden layers (the decoder mirrors them). */
  readonly hidden: readonly number[];
  /** The index of the stochastic layer in the declaration. */
  protected readonly latentIndex: number;

  /**
   * Declares the VAE: `encoder.fc1…` with the activation after each hidden layer, the stochastic layer (whose
   * projection carries the encoder's last label), and `decoder.fc1…` mirroring the encoder.
   */
  protected constructor(backend: Backend, d: VaeDeclaration) {
    const { linear } = layers;
    const encoder = d.hidden.flatMap((width, i) => [
      linear(width, { name: `encoder.fc${i + 1}` }),
      { ...d.activation(), name: `encoder.act${i + 1}` },
    ]);
    // The stochastic layer's projection is the encoder's last linear layer, and keeps its label.
    const projection = `encoder.fc${d.hidden.length + 1}`;
    const latent = {
      ...d.latent,
      name: "latent",
      parameterNames: {
        weight: `${projection}.weight`,
        bias: `${projection}.bias`,
        ...d.latent.parameterNames,
      },
    };
    const reversed = [...d.hidden].reverse();
    const decoder = [
      ...reversed.flatMap((width, i) => [
        linear(width, { name: `decoder.fc${i + 1}` }),
        { ...d.activation(), name: `decoder.act${i + 1}` },
      ]),
      linear(d.inputSize, { name: `decoder.fc${d.hidden.length + 1}` }),
    ];
    super(backend, {
      inputSize: d.inputSize,
      layers: [...encoder, latent, ...decoder],
      likelihood: layers.bernoulliLikelihood(),
      optimizer: d.optimizer,
      batch: d.batch,
      seed: d.seed,
      readEvery: d.readEvery,
      binarize: d.binarize,
    });
    this.latentIndex = encoder.length;
    this.estimator = d.latent.estimator;
    this.hidden = d.hidden;
  }

  /** An estimator an analysis asks for, checked against what the model's stochastic layer takes. */
  protected abstract analysedEstimator(est: Estimator): Estimator;

  /** Checks forced categories for `count` images; returns them. */
  protected abstract checkSample(sample: unknown, count: number, argument?: string): Int32Array;

  /**
   * Enqueues the forward and backward pass of the next training step on the first `count` images of `images`
   * (count·inputSize values in [0, 1]), leaving every parameter's gradient of the batch-mean −ELBO; the
   * step's loss terms go to the loss log. {@link TrainableModel.update} then applies the optimiser.
   */
  override forwardBackward(
    images: Float32Array,
    count: number = this.batch,
    options: StepInputOptions & StepOptions = {},
  ): void {
    requireInteger("count", count, 1, this.batch);
    if (typeof options !== "object" || options === null) {
      throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
    }
    const sample = options.sample === undefined ? undefined : this.checkSample(options.sample, count);
    this.checkInputs(images, count, "images");
    super.forwardBackward(images, count, {
      indices: options.indices,
      samples: sample ? { [this.latentIndex]: sample } : options.samples,
    });
  }

  /** One whole training step (forward, backward, optimiser update) as one submit. */
  override step(
    images: Float32Array,
    count: number = this.batch,
    options: StepInputOptions & StepOptions = {},
  ): void {
    this.forwardBackward(images, count, options);
    this.update();
  }

  /** The loss terms of every step since the last read, oldest first (no read-back when none). */
  override async readLosses(): Promise<{ reconstruction: Float32Array; kl: Float32Array }> {
    const { reconstruction, kl } = await super.readLosses();
    return { reconstruction, kl };
  }

  /**
   * −ELBO and its terms on `count` images, averaged per image, with sampled codes as in training
   * (docs/math.md §6.2). The images are either all given at once (count·inputSize values in [0, 1]) or written
   * a batch at a time by an {@link ImageBatches} function, so a large test set need not exist as floats.
   */
  override async evaluate(images: Float32Array | ImageBatches, count: number): Promise<ElboTerms> {
    if (typeof images !== "function") this.checkInputs(images, count, "images");
    const e = await super.evaluate(images, count);
    return { ...e, elbo: e.loss, reconstruction: e.terms.reconstruction, kl: e.terms.kl };
  }

  /**
   * The reconstruction term R = Σ_pixels BCE of each of `count` images when the decoder is given the codes
   * `writeCodes(start, n)` writes into the stochastic layer's output for images start … start + n − 1. Exact,
   * with no sampling: what an enumeration of codes needs (docs/math.md §6.4).
   */
  protected async decodedLoss(
    images: Float32Array,
    count: number,
    writeCodes: (start: number, n: number) => void,
  ): Promise<Float32Array> {
    const out = new Float32Array(count), likelihood = this.stack.likelihood;
    for (let start = 0; start < count; start += this.batch) {
      const n = Math.min(this.batch, count - start);
      this.writeInputs(images.subarray(start * this.inputSize), n, "images");
      const pass = this.pass(n, { key0: 0, key1: 0, stream: 0, tag: 0 }, false);
      writeCodes(start, n);
      for (const layer of this.stack.layers.slice(this.latentIndex + 1)) layer.forward(pass);
      likelihood.forward(pass, this.input);
      this.backend.submit();
      out.set((await readF32(this.backend, likelihood.loss.buffer)).subarray(0, n), start);
    }
    return out;
  }

  /**
   * One draw of an estimator's gradient of Σ_i R_i — the reconstruction term of each of `count` ≤ batch images,
   * averaged over its K codes — with respect to the stochastic layer's projection, and the codes drawn: for the
   * categorical VAE the encoder's logits (count × latents × categories) and one category per latent; for the
   * Bernoulli VAE the encoder's values a (count × latents, P(z = 1) = σ(2a − 1)) and K·count·latents
   * categories, copy-major, 0 for z = 1 (a score-function estimator runs on a model declared with one that
   * takes the same K; RODEO and RELAX, with themselves). The KL's gradient is left out: it is exact for every
   * estimator. `stream` numbers the draw (analysis tag); the parameters' gradient buffers are overwritten, the
   * parameters are not.
   */
  async reconstructionGradient(
    images: Float32Array,
    count: number,
    options: { readonly estimator?: Estimator; readonly stream?: number } = {},
  ): Promise<{ gradient: Float32Array; sample: Int32Array }> {
    requireInteger("count", count, 1, this.batch);
    const est = options.estimator === undefined
      ? this.estimator
      : this.analysedEstimator(checkEstimator(options.estimator, "options.estimator"));
    const stream = requireInteger("stream", options.stream ?? 0, 0, 2 ** 32 - 1);
    this.writeInputs(images, count, "images");
    const latent = this.stack.latents[0], K = latent.declaration.evaluations;
    const rng = { key0: this.key[0], key1: this.key[1], stream, tag: TAG.analysis };
    const pass = {
      ...this.pass(count, rng, true),
      estimators: new Map([[this.latentIndex, est]]),
      withoutKl: true,
      lossScale: 1 / K,
    };
    for (const layer of this.stack.layers) layer.forward(pass);
    this.stack.likelihood.forward(pass, this.input);
    this.zeroGradients();
    this.enqueueBackwardAbove(pass, this.latentIndex + 1);
    latent.backwardToLogits(pass);
    this.backend.submit();
    const [gradient, sample] = await Promise.all([
      readF32(this.backend, latent.projection.output.grad!.buffer),
      readI32(this.backend, latent.sample.buffer),
    ]);
    const width = latent.projection.output.width;
    return {
      gradient: gradient.subarray(0, count * width),
      sample: sample.subarray(0, count * K * latent.latents),
    };
  }

  /**
   * The decoder's pixel means σ(logits) for a code sampled from q(z|x) for each of `count` images: what the
   * model makes of them. Returns count·inputSize values in [0, 1].
   */
  reconstruct(images: Float32Array, count: number): Promise<Float32Array> {
    requireInteger("count", count, 1);
    this.checkInputs(images, count, "images");
    return this.predict(images, count);
  }
}
