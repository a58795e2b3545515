/**
 * What the VAEs share: the batch of images written into the model each step, the loss log of the two −ELBO
 * terms (reconstruction and KL), the training step, evaluation of −ELBO over many images, reconstructions and
 * samples from the prior. A VAE supplies its forward and backward passes and its decoding.
 * @module
 */
import { type Backend, readF32 } from "../backend.ts";
import { ReinmaxInputError } from "../errors.ts";
import { type Estimator, modelEstimator } from "../estimators.ts";
import type { Optimizer } from "../optim.ts";
import { type RandomStream, TAG } from "../random.ts";
import { LossLog } from "./loss_log.ts";
import { describe, requireInteger } from "../validate.ts";
import type { MlpDeclarer } from "./mlp.ts";
import { TrainableModel } from "./model.ts";
import type { PlannedBuffer } from "./plan.ts";

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
export interface ElboTerms {
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
export type ImageBatches = (start: number, count: number, out: Float32Array) => void;

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

/**
 * What one forward pass is for.
 *
 * @example
 * ```ts
 * import type { ForwardContext } from "@reinmax/reinmax";
 * // What a VAE's forward pass of an evaluation is given: 100 images, no forced samples.
 * const context: ForwardContext = {
 *   count: 100,
 *   rng: { key0: 0, key1: 0, stream: 0, tag: 6 },
 *   training: false,
 *   draw: 0,
 * };
 * ```
 */
export interface ForwardContext {
  /** Images in the pass. */
  readonly count: number;
  /** The stream of its samples (and Gumbel draws). */
  readonly rng: RandomStream;
  /** Whether it is a training step (else evaluation: the binarisation draws differ). */
  readonly training: boolean;
  /** Draws outside training so far (evaluation passes). */
  readonly draw: number;
  /** Forced categories (training steps from tests). */
  readonly forced?: Int32Array;
  /** The images' indices in their set. */
  readonly indices?: ArrayLike<number>;
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
export abstract class Vae extends TrainableModel {
  /** Pixels per image. */
  readonly inputSize: number;
  /** Images per step (the most a forward pass takes). */
  readonly batch: number;
  /** The gradient estimator. */
  readonly estimator: Estimator;
  /** The batch of images in [0, 1], batch × inputSize. */
  protected readonly input: PlannedBuffer;
  #evaluationLog: LossLog | null = null;
  /** Streams of the draws made outside training (evaluation, reconstructions, prior samples). */
  #draws = 0;

  /**
   * Checks the options every VAE shares (the estimator defaults to ReinMax at `defaultTau`) and declares the
   * input; the subclass declares its layers, then calls {@link Vae.allocateVae}.
   */
  protected constructor(
    backend: Backend,
    optimizer: Optimizer,
    seed: number,
    options: { readonly inputSize?: number; readonly batch?: number; readonly estimator?: Estimator },
    defaultTau: number,
  ) {
    const inputSize = requireInteger("inputSize", options.inputSize ?? 784, 1, 1 << 24);
    const batch = requireInteger("batch", options.batch ?? 100, 1, 1 << 20);
    const chosen = modelEstimator(options.estimator, defaultTau);
    super(backend, optimizer, seed);
    this.inputSize = inputSize;
    this.batch = batch;
    this.estimator = chosen;
    this.input = this.plan.declare("input", this.batch * this.inputSize, "input", {
      formula: "batch × inputSize",
      argument: "batch",
    });
  }

  /** The draws made outside training: their streams continue after a checkpoint is loaded. */
  protected override counters(): Record<string, number> {
    return { draws: this.#draws };
  }

  /** Restores the draws counter of {@link counters}. */
  protected override setCounters(counters: Readonly<Record<string, number>>): void {
    this.#draws = counters.draws ?? 0;
  }

  /** How the model's MLPs add their parameters and buffers to its plan. */
  protected mlpDeclarer(): MlpDeclarer {
    return {
      parameter: (label, shape, bound, size) => this.declareParameter(label, shape, bound, size),
      buffer: (label, length, role, size) => this.plan.declare(label, length, role, size),
    };
  }

  /** Declares the loss logs (training, evaluation) and allocates the plan; `initialise` as in `allocate`. */
  protected allocateVae(readEvery: number, initialise?: () => void): void {
    this.declareLog(["reconstruction", "kl"], readEvery);
    this.#evaluationLog = new LossLog(
      this.backend,
      this.plan,
      "evaluationLog",
      ["reconstruction", "kl"],
      readEvery,
    );
    this.allocate(initialise);
  }

  /** Enqueues the forward pass on the input buffer's first `ctx.count` images, through both loss terms. */
  protected abstract enqueueForward(ctx: ForwardContext): void;

  /** Enqueues `log.record` of both loss terms of the last forward pass of `count` images (not endStep). */
  protected abstract recordLosses(log: LossLog, count: number): void;

  /** Enqueues the backward pass of the last forward pass (gradients are already zeroed). */
  protected abstract enqueueBackward(ctx: ForwardContext): void;

  /**
   * Enqueues a code for each of `count` images — from q(z|x) of the input buffer's images, or from the prior —
   * decodes it, and returns the buffer that then holds the pixel means σ(decoder output). `draw` numbers
   * this pass among the draws outside training (its samples come from `rng`).
   */
  protected abstract enqueueDecode(
    count: number,
    fromPrior: boolean,
    rng: RandomStream,
    draw: number,
  ): PlannedBuffer | Promise<PlannedBuffer>;

  /** Checks forced categories for `count` images; returns them. */
  protected abstract checkSample(sample: unknown, count: number, argument?: string): Int32Array;

  /** `images` holds at least `count` images of `inputSize` pixels. */
  protected checkImages(images: unknown, count: number): asserts images is Float32Array {
    if (!(images instanceof Float32Array)) {
      throw new ReinmaxInputError("images", `expected a Float32Array of images, got ${describe(images)}`);
    }
    if (images.length < count * this.inputSize) {
      throw new ReinmaxInputError(
        "images",
        `expected at least ${count} images of ${this.inputSize} pixels (${count * this.inputSize} values), ` +
          `got ${images.length} values`,
      );
    }
  }

  /** Checks a batch of images from the caller and writes its first `count` images to the input buffer. */
  protected writeImages(images: Float32Array, count: number): void {
    this.checkImages(images, count);
    this.backend.write(this.input.buffer, images.subarray(0, count * this.inputSize));
  }

  #checkIndices(indices: unknown, count: number): ArrayLike<number> {
    const list = indices as ArrayLike<number>;
    if (typeof list !== "object" || list === null || typeof list.length !== "number" || list.length < count) {
      throw new ReinmaxInputError("indices", `expected ${count} image indices, got ${describe(indices)}`);
    }
    for (let i = 0; i < count; i++) requireInteger(`indices[${i}]`, list[i], 0, 2 ** 31 - 1);
    return list;
  }

  /**
   * Enqueues the forward and backward pass of the next training step on the first `count` images of `images`
   * (count·inputSize values in [0, 1]), leaving every parameter's gradient of the batch-mean −ELBO; the
   * step's loss terms go to the loss log. {@link TrainableModel.update} then applies the optimiser.
   */
  forwardBackward(images: Float32Array, count: number = this.batch, options: StepInputOptions = {}): void {
    requireInteger("count", count, 1, this.batch);
    if (typeof options !== "object" || options === null) {
      throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
    }
    const forced = options.sample === undefined ? undefined : this.checkSample(options.sample, count);
    const indices = options.indices === undefined ? undefined : this.#checkIndices(options.indices, count);
    this.writeImages(images, count);
    const rng = { key0: this.key[0], key1: this.key[1], stream: this.steps, tag: TAG.estimator };
    const ctx: ForwardContext = { count, rng, training: true, draw: 0, forced, indices };
    this.enqueueForward(ctx);
    this.recordLosses(this.log, count);
    this.log.endStep();
    this.zeroGradients();
    this.enqueueBackward(ctx);
  }

  /** One whole training step (forward, backward, optimiser update) as one submit. */
  step(images: Float32Array, count: number = this.batch, options: StepInputOptions = {}): void {
    this.forwardBackward(images, count, options);
    this.update();
  }

  /** The loss terms of every step since the last read, oldest first (no read-back when none). */
  async readLosses(): Promise<{ reconstruction: Float32Array; kl: Float32Array }> {
    if (this.log.pending === 0) return { reconstruction: new Float32Array(0), kl: new Float32Array(0) };
    const { channels } = await this.log.read();
    return { reconstruction: channels[0], kl: channels[1] };
  }

  /** The stream of the next draw outside training. */
  #evaluationStream(): RandomStream {
    return { key0: this.key[0], key1: this.key[1], stream: this.#draws++, tag: TAG.evaluation };
  }

  /**
   * −ELBO and its terms on `count` images, averaged per image, with sampled codes as in training
   * (docs/math.md §6.2). Reads back once per `readEvery` batches. The images are either all given at once
   * (count·inputSize values in [0, 1]) or written a batch at a time by an {@link ImageBatches} function, so
   * a large test set need not exist as floats.
   */
  async evaluate(images: Float32Array | ImageBatches, count: number): Promise<ElboTerms> {
    requireInteger("count", count, 1);
    let batchOf: (start: number, n: number) => Float32Array;
    if (typeof images === "function") {
      const scratch = new Float32Array(this.batch * this.inputSize);
      batchOf = (start, n) => {
        images(start, n, scratch);
        return scratch;
      };
    } else {
      this.checkImages(images, count);
      batchOf = (start, n) => images.subarray(start * this.inputSize, (start + n) * this.inputSize);
    }
    const log = this.#evaluationLog!;
    const sizes: number[] = [];
    let reconstruction = 0, kl = 0;
    const drain = async () => {
      const { channels } = await log.read();
      channels[0].forEach((mean, i) => reconstruction += mean * sizes[i]);
      channels[1].forEach((mean, i) => kl += mean * sizes[i]);
      sizes.length = 0;
    };
    for (let start = 0; start < count; start += this.batch) {
      const n = Math.min(this.batch, count - start);
      this.writeImages(batchOf(start, n), n);
      const draw = this.#draws;
      const indices = Array.from({ length: n }, (_, i) => start + i);
      this.enqueueForward({ count: n, rng: this.#evaluationStream(), training: false, draw, indices });
      this.recordLosses(log, n);
      log.endStep();
      sizes.push(n);
      this.backend.submit();
      if (log.pending === log.capacity) await drain();
    }
    if (log.pending > 0) await drain();
    return { elbo: (reconstruction + kl) / count, reconstruction: reconstruction / count, kl: kl / count };
  }

  /**
   * The decoder's pixel means σ(logits) for a code sampled from q(z|x) for each of `count` images: what the
   * model makes of them. Returns count·inputSize values in [0, 1].
   */
  reconstruct(images: Float32Array, count: number): Promise<Float32Array> {
    requireInteger("count", count, 1);
    this.checkImages(images, count);
    return this.#decodeChunks(count, false, (start, n) => {
      this.writeImages(images.subarray(start * this.inputSize), n);
    });
  }

  /**
   * Decodes `count` codes drawn from the prior: count·inputSize pixel means in [0, 1] (at most 2^28 values
   * per call).
   */
  samplePrior(count: number): Promise<Float32Array> {
    // The answer is one Float32Array on the host: at most 2^28 values (1 GiB) per call.
    requireInteger("count", count, 1, Math.floor(2 ** 28 / this.inputSize));
    return this.#decodeChunks(count, true, () => {});
  }

  async #decodeChunks(count: number, fromPrior: boolean, prepare: (start: number, n: number) => void) {
    const out = new Float32Array(count * this.inputSize);
    for (let start = 0; start < count; start += this.batch) {
      const n = Math.min(this.batch, count - start);
      prepare(start, n);
      const draw = this.#draws;
      const means = await this.enqueueDecode(n, fromPrior, this.#evaluationStream(), draw);
      this.backend.submit();
      out.set(
        (await readF32(this.backend, means.buffer)).subarray(0, n * this.inputSize),
        start * this.inputSize,
      );
    }
    return out;
  }
}
