/**
 * The categorical VAE of the paper ("C×L": L latent variables of C categories each; docs/math.md §6.2), as a
 * declaration of layers: an MLP encoder of ReLU layers, a categorical layer of L variables of C categories
 * (its projection is the encoder's last layer), and an MLP decoder back to pixel logits, scored by Bernoulli
 * pixels. The loss per image is −ELBO = Σ_pixels BCE + KL(q ‖ uniform); the gradient reaches the encoder through
 * the chosen estimator plus the KL's own gradient. A training step is one submit on WebGPU and allocates
 * nothing: every buffer is in the memory plan.
 * @module
 */
import type { Backend } from "../backend.ts";
import { ReinmaxInputError } from "../errors.ts";
import { type Estimator, modelEstimator, requirePathwise } from "../estimators.ts";
import { layers } from "../layers/declarations.ts";
import type { CategoricalLatent } from "../layers/latent.ts";
import { adam, type Optimizer, radam } from "../optim.ts";
import { describe, requireInteger } from "../validate.ts";
import { type ModelDescription, requireOptions } from "./model.ts";
import { requireLayerWidths, Vae } from "./vae.ts";

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

  /** Plans the model on `backend` and initialises every layer from the seed. */
  constructor(backend: Backend, options: CategoricalVaeOptions = {}) {
    const o = requireOptions(options) as CategoricalVaeOptions;
    const settings = categoricalSettings(o);
    const optimizer = o.optimizer ?? (settings.optimizer === "adam" ? adam : radam)({ lr: settings.lr });
    const estimator = requirePathwise(
      modelEstimator(o.estimator, settings.tau),
      "estimator",
      "a categorical VAE",
    );
    super(backend, {
      inputSize: requireInteger("inputSize", o.inputSize ?? 784, 1, 1 << 24),
      hidden: requireLayerWidths("hidden", o.hidden ?? [512, 256]),
      activation: () => layers.relu(),
      latent: layers.categorical({
        categories: settings.categories,
        latents: settings.latents,
        estimator,
        prior: "uniform",
        kl: true,
      }),
      optimizer,
      batch: requireInteger("batch", o.batch ?? 100, 1, 1 << 20),
      seed: o.seed ?? 0,
      readEvery: requireInteger("readEvery", o.readEvery ?? 50, 1, 1 << 16),
      binarize: "none",
    });
    this.categories = settings.categories;
    this.latents = settings.latents;
  }

  /** The categorical layer. */
  get #latent(): CategoricalLatent {
    return this.stack.latents[0] as CategoricalLatent;
  }

  /** The kind and options that rebuild this model (for checkpoints). */
  override describe(): ModelDescription {
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

  /** The encoder's logits for `count` images: count × latents × categories; q(z|x) is their softmax per latent. */
  encode(images: Float32Array, count: number): Promise<Float32Array> {
    return this.latentLogits(images, count);
  }

  /**
   * The reconstruction term R = Σ_pixels BCE of each of `count` images when the decoder is given its code:
   * `codes` holds `latents` categories per image. Exact, with no sampling: what an enumeration of codes
   * needs (docs/math.md §6.4).
   */
  async reconstructionLoss(images: Float32Array, codes: Int32Array, count: number): Promise<Float32Array> {
    requireInteger("count", count, 1);
    this.checkInputs(images, count, "images");
    this.checkSample(codes, count, "codes");
    const L = this.latents;
    return await this.decodedLoss(images, count, (start, n) => {
      this.backend.write(this.#latent.output.sample.buffer, codes.subarray(start * L, (start + n) * L));
    });
  }

  /** The analysis runs the estimators that carry a gradient through a sample. */
  protected analysedEstimator(est: Estimator): Estimator {
    return requirePathwise(est, "options.estimator", "a categorical VAE");
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
