/**
 * The categorical VAE of the paper ("C×L": L latent variables of C categories each; docs/math.md §6.2). An
 * MLP encoder gives the logits of every latent, one category per latent is sampled, and an MLP decoder maps
 * the one-hot code to pixel logits. The loss per image is −ELBO = Σ_pixels BCE + KL(q ‖ uniform); the
 * gradient reaches the encoder through the chosen estimator (decoder path) plus the KL's own gradient. A
 * training step is one submit on WebGPU and allocates nothing: every buffer is in the memory plan.
 * @module
 */
import { type Backend, readF32, readI32 } from "../backend.ts";
import { ReinmaxInputError } from "../errors.ts";
import { checkEstimator, enqueueBackward, enqueueSample, type Estimator } from "../estimators.ts";
import { adam, type Optimizer, radam } from "../optim.ts";
import { type RandomStream, TAG } from "../random.ts";
import type { LossLog } from "./loss_log.ts";
import { describe, requireInteger } from "../validate.ts";
import { type ModelDescription, requireOptions } from "./model.ts";
import { Mlp, requireLayerWidths } from "./mlp.ts";
import type { PlannedBuffer } from "./plan.ts";
import { type ForwardContext, Vae } from "./vae.ts";

export type { ElboTerms, StepInputOptions } from "./vae.ts";

/**
 * The paper's configurations, named C×L (categories × latents).
 *
 * @example
 * ```ts
 * import { type CategoricalConfig, CategoricalVae, selectBackend } from "@reinmax/reinmax";
 * const config: CategoricalConfig = "8x4"; // 4 latent variables of 8 categories
 * const model = new CategoricalVae(await selectBackend(), { config });
 * ```
 */
export type CategoricalConfig = "8x4" | "4x24" | "8x16" | "16x12" | "64x8" | "10x30";

/**
 * A configuration's size and the paper's ReinMax settings for it.
 *
 * @example
 * ```ts
 * import { CATEGORICAL_CONFIGS, type CategoricalConfigSettings } from "@reinmax/reinmax";
 * const s: CategoricalConfigSettings = CATEGORICAL_CONFIGS["10x30"];
 * console.log(s.categories, s.latents, s.optimizer, s.lr, s.tau); // 10 30 "radam" 0.0005 1.3
 * ```
 */
export interface CategoricalConfigSettings {
  /** Categories per latent, C. */
  readonly categories: number;
  /** Latent variables, L. */
  readonly latents: number;
  /** The optimiser the paper uses with ReinMax. */
  readonly optimizer: "adam" | "radam";
  /** Its learning rate. */
  readonly lr: number;
  /** ReinMax's temperature. */
  readonly tau: number;
}

/**
 * The six configurations with the paper's ReinMax optimiser, learning rate and τ (docs/math.md §6.2).
 *
 * @example
 * ```ts
 * import { CATEGORICAL_CONFIGS } from "@reinmax/reinmax";
 * for (const [name, s] of Object.entries(CATEGORICAL_CONFIGS)) console.log(name, s.optimizer, s.lr, s.tau);
 * ```
 */
export const CATEGORICAL_CONFIGS: Readonly<Record<CategoricalConfig, CategoricalConfigSettings>> = {
  "8x4": { categories: 8, latents: 4, optimizer: "adam", lr: 5e-4, tau: 1.3 },
  "4x24": { categories: 4, latents: 24, optimizer: "radam", lr: 5e-4, tau: 1.5 },
  "8x16": { categories: 8, latents: 16, optimizer: "radam", lr: 7e-4, tau: 1.5 },
  "16x12": { categories: 16, latents: 12, optimizer: "radam", lr: 7e-4, tau: 1.5 },
  "64x8": { categories: 64, latents: 8, optimizer: "radam", lr: 5e-4, tau: 1.5 },
  "10x30": { categories: 10, latents: 30, optimizer: "radam", lr: 5e-4, tau: 1.3 },
};

/**
 * Options of {@link CategoricalVae}.
 *
 * @example
 * ```ts
 * import { CategoricalVae, type CategoricalVaeOptions, estimator, selectBackend } from "@reinmax/reinmax";
 * const options: CategoricalVaeOptions = {
 *   categories: 8,
 *   latents: 4,
 *   inputSize: 64, // the 8×8 digits
 *   hidden: [128, 64],
 *   estimator: estimator("reinmax", { tau: 1.3 }),
 *   batch: 50,
 *   seed: 1,
 * };
 * const model = new CategoricalVae(await selectBackend(), options);
 * ```
 */
export interface CategoricalVaeOptions {
  /**
   * One of the paper's configurations; it sets `categories` and `latents`, and the default optimiser and
   * ReinMax τ from {@link CATEGORICAL_CONFIGS}. Default "10x30" unless `categories` and `latents` are given.
   */
  readonly config?: CategoricalConfig;
  /** Categories per latent C ≥ 2 (instead of `config`). */
  readonly categories?: number;
  /** Latent variables L ≥ 1 (instead of `config`). */
  readonly latents?: number;
  /** Pixels per image. Default 784 (28×28). */
  readonly inputSize?: number;
  /** Widths of the encoder's hidden layers (the decoder mirrors them). Default [512, 256]. */
  readonly hidden?: readonly number[];
  /** The gradient estimator. Default ReinMax at the configuration's τ (1.3 without one). */
  readonly estimator?: Estimator;
  /** The optimiser. Default the configuration's (RAdam 5e-4 without one). */
  readonly optimizer?: Optimizer;
  /** Images per step. Default 100. */
  readonly batch?: number;
  /** Seed of every random draw (initialisation, samples, data order). Default 0. */
  readonly seed?: number;
  /** Losses are read back from the backend once every this many steps. Default 50. */
  readonly readEvery?: number;
}

/**
 * The categorical VAE; see the module comment.
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, FIXTURES_URL, loadFixture, selectBackend, trainVae } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "10x30" }); // ReinMax τ 1.3, RAdam 5e-4
 * for await (const e of trainVae(model, data.train, { epochs: 2, test: data.test })) {
 *   console.log(e.epoch, e.trainElbo, e.testElbo);
 * }
 * const pictures = await model.reconstruct(allImages(data.test), 16); // 16 × 784 pixel means
 * const samples = await model.samplePrior(16);
 * ```
 */
export class CategoricalVae extends Vae {
  /** Categories per latent, C. */
  readonly categories: number;
  /** Latent variables, L. */
  readonly latents: number;
  /** Widths of the encoder's hidden layers. */
  readonly hidden: readonly number[];
  readonly #encoder: Mlp;
  readonly #decoder: Mlp;
  readonly #sample: PlannedBuffer;
  readonly #yHardGrad: PlannedBuffer;
  readonly #ySoftGrad: PlannedBuffer;
  readonly #scratch: PlannedBuffer;
  readonly #reconstructionLoss: PlannedBuffer;
  readonly #klLoss: PlannedBuffer;
  readonly #mean: PlannedBuffer;

  /** Plans the model on `backend` and initialises every layer from the seed. */
  constructor(backend: Backend, options: CategoricalVaeOptions = {}) {
    const o = requireOptions(options) as CategoricalVaeOptions;
    const settings = categoricalSettings(o);
    const optimizer = o.optimizer ?? (settings.optimizer === "adam" ? adam : radam)({ lr: settings.lr });
    super(backend, optimizer, o.seed ?? 0, o, settings.tau);
    this.categories = settings.categories;
    this.latents = settings.latents;
    this.hidden = requireLayerWidths("hidden", o.hidden ?? [512, 256]);
    const readEvery = requireInteger("readEvery", o.readEvery ?? 50, 1, 1 << 16);

    const plan = this.plan, batch = this.batch, code = this.latents * this.categories;
    const declare = this.mlpDeclarer();
    const relu = { kind: "relu" } as const;
    const sized = (formula: string, argument = "batch") => ({ formula, argument });
    plan.defaultSize = sized("batch × latents × categories");
    const widths = {
      input: { width: this.inputSize, name: "inputSize" },
      hidden: this.hidden.map((width, i) => ({ width, name: `hidden[${i}]` })),
      code: { width: code, name: "latents × categories" },
    };
    this.#encoder = new Mlp(declare, "encoder", [widths.input, ...widths.hidden, widths.code], batch, relu);
    this.#sample = plan.declare(
      "latent.sample",
      batch * this.latents,
      "activation",
      sized("batch × latents"),
    );
    this.#yHardGrad = plan.declare("latent.onehot.grad", batch * code, "activation");
    // ∂loss/∂softmax stays zero: the KL's gradient is added to the logits' gradient directly.
    this.#ySoftGrad = plan.declare("latent.softmax.grad", batch * code, "activation");
    this.#scratch = plan.declare("estimator.scratch", batch * code, "activation");
    const decoderWidths = [widths.code, ...[...widths.hidden].reverse(), widths.input];
    // The decoder reads the codes as categories: its first layer gathers rows of W (docs/math.md §4.11).
    this.#decoder = new Mlp(declare, "decoder", decoderWidths, batch, relu, {
      latents: this.latents,
      categories: this.categories,
    });
    this.#reconstructionLoss = plan.declare("loss.reconstruction", batch, "activation", sized("batch"));
    this.#klLoss = plan.declare("loss.kl", batch, "activation", sized("batch"));
    this.#mean = plan.declare(
      "output.mean",
      batch * this.inputSize,
      "activation",
      sized("batch × inputSize"),
    );
    this.allocateVae(readEvery);
  }

  /** The kind and options that rebuild this model (for checkpoints). */
  describe(): ModelDescription {
    return {
      model: "categorical",
      options: {
        categories: this.categories,
        latents: this.latents,
        inputSize: this.inputSize,
        hidden: [...this.hidden],
        batch: this.batch,
        seed: this.seed,
        readEvery: this.log.capacity,
      },
      estimator: this.estimator,
    };
  }

  /** Encoder, the code (sampled or forced), decoder and both loss terms, as the base class asks. */
  protected enqueueForward(ctx: ForwardContext): void {
    const { backend, k, latents, categories } = this;
    const count = ctx.count, rows = count * latents;
    const logits = this.#encoder.output.buffer;
    this.#encoder.forward(k, this.input, count);
    if (ctx.forced) backend.write(this.#sample.buffer, ctx.forced);
    else enqueueSample(k, this.#sample.buffer, logits, { rows, n: categories }, ctx.rng);
    this.#decodeSample(count);
    k.bce_logits_forward(
      {
        loss: this.#reconstructionLoss.buffer,
        logits: this.#decoder.output.buffer,
        target: this.input.buffer,
      },
      { batch: count, dim: this.inputSize },
    );
    k.kl_categorical_forward({ kl: this.#klLoss.buffer, logits }, { batch: count, latents, categories });
  }

  /** Both −ELBO terms of the last forward pass into `log`. */
  protected recordLosses(log: LossLog, count: number): void {
    log.record(0, this.#reconstructionLoss, count);
    log.record(1, this.#klLoss, count);
  }

  /** The backward pass of the last forward pass: every parameter's gradient of the batch-mean −ELBO. */
  protected enqueueBackward(ctx: ForwardContext): void {
    const { k, latents, categories } = this;
    const count = ctx.count, rows = count * latents;
    this.#reconstructionBackward(count, 1 / count);
    const dLogits = this.#encoder.outputGrad.buffer, logits = this.#encoder.output.buffer;
    this.#estimatorBackward(this.estimator, rows, ctx.rng);
    // The KL's own gradient, J(q)(log q + 1)/B, goes straight to the logits (docs/math.md §6.2).
    k.kl_categorical_backward({ dLogits, logits }, { rows, categories, scale: 1 / count });
    this.#encoder.backward(k, this.input, count, null);
  }

  /** The codes in the sample buffer through the decoder, for `count` images: its output then holds pixel logits. */
  #decodeSample(count: number): void {
    this.#decoder.forward(this.k, this.#sample, count);
  }

  /**
   * The gradient of scale·Σ_images R, R the reconstruction term, back through the decoder to the one-hot codes
   * (the decoder's parameter gradients accumulate).
   */
  #reconstructionBackward(count: number, scale: number): void {
    const k = this.k, decoderOut = this.#decoder.outputGrad.buffer;
    k.fill({ out: decoderOut }, { count: count * this.inputSize, value: 0 });
    k.bce_logits_backward(
      { dLogits: decoderOut, logits: this.#decoder.output.buffer, target: this.input.buffer },
      { count: count * this.inputSize, scale },
    );
    k.fill({ out: this.#yHardGrad.buffer }, { count: count * this.latents * this.categories, value: 0 });
    this.#decoder.backward(k, this.#sample, count, this.#yHardGrad);
  }

  /** The estimator's backward from ∂R/∂(one-hot) into the logits' gradient, for `rows` latent rows. */
  #estimatorBackward(est: Estimator, rows: number, rng: RandomStream): void {
    enqueueBackward(
      this.k,
      est,
      {
        dLogits: this.#encoder.outputGrad.buffer,
        scratch: this.#scratch.buffer,
        logits: this.#encoder.output.buffer,
        sample: this.#sample.buffer,
        gHard: this.#yHardGrad.buffer,
        gSoft: this.#ySoftGrad.buffer,
      },
      { rows, n: this.categories },
      rng,
    );
  }

  /** A code per image (from q(z|x) or the prior), decoded into pixel means. */
  protected enqueueDecode(count: number, fromPrior: boolean, rng: RandomStream): PlannedBuffer {
    const k = this.k, rows = count * this.latents;
    const logits = this.#encoder.output.buffer;
    // Zero logits are the uniform prior; the encoder's output buffer is free outside a step.
    if (fromPrior) k.fill({ out: logits }, { count: rows * this.categories, value: 0 });
    else this.#encoder.forward(k, this.input, count);
    enqueueSample(k, this.#sample.buffer, logits, { rows, n: this.categories }, rng);
    this.#decodeSample(count);
    k.sigmoid_forward({ out: this.#mean.buffer, x: this.#decoder.output.buffer }, {
      count: count * this.inputSize,
    });
    return this.#mean;
  }

  /** The encoder's logits for `count` images: count × latents × categories; q(z|x) is their softmax per latent. */
  async encode(images: Float32Array, count: number): Promise<Float32Array> {
    requireInteger("count", count, 1);
    this.checkImages(images, count);
    const code = this.latents * this.categories, out = new Float32Array(count * code);
    for (let start = 0; start < count; start += this.batch) {
      const n = Math.min(this.batch, count - start);
      this.writeImages(images.subarray(start * this.inputSize), n);
      this.#encoder.forward(this.k, this.input, n);
      this.backend.submit();
      out.set((await readF32(this.backend, this.#encoder.output.buffer)).subarray(0, n * code), start * code);
    }
    return out;
  }

  /**
   * The reconstruction term R = Σ_pixels BCE of each of `count` images when the decoder is given its code:
   * `codes` holds `latents` categories per image. Exact, with no sampling: what an enumeration of codes
   * needs (docs/math.md §6.4).
   */
  async reconstructionLoss(images: Float32Array, codes: Int32Array, count: number): Promise<Float32Array> {
    requireInteger("count", count, 1);
    this.checkImages(images, count);
    this.checkSample(codes, count, "codes");
    const backend = this.backend, L = this.latents, out = new Float32Array(count);
    for (let start = 0; start < count; start += this.batch) {
      const n = Math.min(this.batch, count - start), rows = n * L;
      this.writeImages(images.subarray(start * this.inputSize), n);
      backend.write(this.#sample.buffer, codes.subarray(start * L, start * L + rows));
      this.#decodeSample(n);
      this.k.bce_logits_forward(
        {
          loss: this.#reconstructionLoss.buffer,
          logits: this.#decoder.output.buffer,
          target: this.input.buffer,
        },
        { batch: n, dim: this.inputSize },
      );
      backend.submit();
      out.set((await readF32(backend, this.#reconstructionLoss.buffer)).subarray(0, n), start);
    }
    return out;
  }

  /**
   * One draw of an estimator's gradient of Σ_i R_i — the reconstruction term summed over `count` ≤ batch
   * images — with respect to the encoder's logits (count × latents × categories), and the codes drawn. The
   * KL's gradient is left out: it is exact for every estimator. `stream` numbers the draw (analysis tag); the
   * parameters' gradient buffers are overwritten, the parameters are not.
   */
  async reconstructionGradient(
    images: Float32Array,
    count: number,
    options: { readonly estimator?: Estimator; readonly stream?: number } = {},
  ): Promise<{ gradient: Float32Array; sample: Int32Array }> {
    requireInteger("count", count, 1, this.batch);
    const est = options.estimator === undefined ? this.estimator : checkEstimator(options.estimator);
    const stream = requireInteger("stream", options.stream ?? 0, 0, 2 ** 32 - 1);
    this.writeImages(images, count);
    const { backend, latents, categories } = this;
    const rows = count * latents, code = latents * categories;
    const rng = { key0: this.key[0], key1: this.key[1], stream, tag: TAG.analysis };
    this.#encoder.forward(this.k, this.input, count);
    enqueueSample(this.k, this.#sample.buffer, this.#encoder.output.buffer, { rows, n: categories }, rng);
    this.#decodeSample(count);
    this.zeroGradients();
    this.#reconstructionBackward(count, 1);
    this.#estimatorBackward(est, rows, rng);
    backend.submit();
    const [gradient, sample] = await Promise.all([
      readF32(backend, this.#encoder.outputGrad.buffer),
      readI32(backend, this.#sample.buffer),
    ]);
    return { gradient: gradient.subarray(0, count * code), sample: sample.subarray(0, rows) };
  }

  /** Checks forced categories for `count` images. */
  protected checkSample(sample: unknown, count: number, argument = "sample"): Int32Array {
    const rows = count * this.latents;
    if (!(sample instanceof Int32Array) || sample.length !== rows) {
      throw new ReinmaxInputError(
        argument,
        `expected an Int32Array of ${rows} categories, got ${describe(sample)}`,
      );
    }
    for (let r = 0; r < rows; r++) {
      if (!(sample[r] >= 0 && sample[r] < this.categories)) {
        throw new ReinmaxInputError(
          argument,
          `category ${sample[r]} at row ${r} is outside [0, ${this.categories})`,
        );
      }
    }
    return sample;
  }
}

/** The configuration's settings, or those of explicit categories and latents. */
function categoricalSettings(o: CategoricalVaeOptions): CategoricalConfigSettings {
  if (o.config !== undefined) {
    const settings = CATEGORICAL_CONFIGS[o.config];
    if (!Object.hasOwn(CATEGORICAL_CONFIGS, o.config as string) || !settings) {
      throw new ReinmaxInputError(
        "config",
        `expected one of ${Object.keys(CATEGORICAL_CONFIGS).join(", ")}, got ${describe(o.config)}`,
      );
    }
    for (const key of ["categories", "latents"] as const) {
      if (o[key] !== undefined && o[key] !== settings[key]) {
        throw new ReinmaxInputError(key, `config ${o.config} has ${key} ${settings[key]}, got ${o[key]}`);
      }
    }
    return settings;
  }
  if (o.categories === undefined && o.latents === undefined) return CATEGORICAL_CONFIGS["10x30"];
  return {
    categories: requireInteger("categories", o.categories, 2, 1 << 16),
    latents: requireInteger("latents", o.latents, 1, 1 << 16),
    optimizer: "radam",
    lr: 5e-4,
    tau: 1.3,
  };
}
