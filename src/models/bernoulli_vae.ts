/**
 * The Bernoulli VAE "2×200" (docs/math.md §6.3), as a declaration of layers: 200 binary latents, each a
 * two-category variable whose logit pair is (a, 1 − a) for one encoder output a, so P(z = 1) = σ(2a − 1); a
 * learned Bernoulli prior of 200 logits (initialised at 0); LeakyReLU(0.3) MLPs 784 → 200 → 200 → 200 and back;
 * binarised images (pixel = 1[u < x], drawn once from the seed or afresh each step); and K evaluations per image
 * — K codes drawn for each image and their losses averaged before the step. A step is one submit on WebGPU.
 * @module
 */
import type { Backend } from "../backend.ts";
import { ReinmaxInputError } from "../errors.ts";
import { checkEvaluations, type Estimator, modelEstimator } from "../estimators.ts";
import type { DenseActivation } from "../layers/layer.ts";
import { layers } from "../layers/declarations.ts";
import { adam, type Optimizer, radam } from "../optim.ts";
import { describe, requireInteger, requirePositive } from "../validate.ts";
import { type Binarization, BINARIZATIONS } from "./discrete_model.ts";
import { type ModelDescription, requireOptions } from "./model.ts";
import { requireLayerWidths, Vae } from "./vae.ts";

export { type Binarization, BINARIZATIONS };

/**
 * Options of {@link BernoulliVae}.
 *
 * @example
 * ```ts
 * import { BernoulliVae, type BernoulliVaeOptions, estimator, selectBackend } from "@reinmax/reinmax";
 * const options: BernoulliVaeOptions = { evaluations: 3, binarize: "dynamic", estimator: estimator("st", { tau: 1.1 }) };
 * const model = new BernoulliVae(await selectBackend(), options);
 * ```
 */
export interface BernoulliVaeOptions {
  /** Binary latent variables. Default 200. */
  readonly latents?: number;
  /** Widths of the encoder's hidden layers (the decoder mirrors them). Default [200, 200]. */
  readonly hidden?: readonly number[];
  /** Pixels per image. Default 784 (28×28). */
  readonly inputSize?: number;
  /** K: codes drawn per image, their losses averaged before a step. Default 1. */
  readonly evaluations?: number;
  /** How images become binary. Default "dynamic". */
  readonly binarize?: Binarization;
  /** The slope of LeakyReLU for negative inputs. Default 0.3. */
  readonly slope?: number;
  /** The gradient estimator. Default ReinMax at τ 1.1. */
  readonly estimator?: Estimator;
  /** The optimiser. Default RAdam, lr 3e-4. */
  readonly optimizer?: Optimizer;
  /** Images per step. Default 100. */
  readonly batch?: number;
  /** Seed of every random draw. Default 0. */
  readonly seed?: number;
  /** Losses are read back from the backend once every this many steps. Default 50. */
  readonly readEvery?: number;
}

/**
 * The paper's settings of the 2×200 model with ReinMax (docs/math.md §6.3): its optimiser, learning rate and
 * τ, the defaults of {@link BernoulliVae}.
 *
 * @example
 * ```ts
 * import { BERNOULLI_VAE_SETTINGS } from "@reinmax/reinmax";
 * console.log(BERNOULLI_VAE_SETTINGS); // { optimizer: "radam", lr: 0.0003, tau: 1.1 }
 * ```
 */
export const BERNOULLI_VAE_SETTINGS: {
  readonly optimizer: "adam" | "radam";
  readonly lr: number;
  readonly tau: number;
} = { optimizer: "radam", lr: 3e-4, tau: 1.1 };

/**
 * The Bernoulli VAE; see the module comment.
 *
 * @example
 * ```ts
 * import { BernoulliVae, FIXTURES_URL, loadFixture, selectBackend, trainVae } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new BernoulliVae(await selectBackend(), { evaluations: 3 }); // 2×200, ReinMax τ 1.1, RAdam 3e-4
 * for await (const e of trainVae(model, data.train, { epochs: 2, test: data.test })) {
 *   console.log(e.epoch, e.trainElbo, e.testElbo);
 * }
 * ```
 */
export class BernoulliVae extends Vae {
  /** Binary latent variables, L. */
  readonly latents: number;
  /** K, codes drawn per image. */
  readonly evaluations: number;
  /** LeakyReLU's negative slope. */
  readonly slope: number;

  /** Plans the model on `backend` and initialises every layer from the seed (the prior at 0). */
  constructor(backend: Backend, options: BernoulliVaeOptions = {}) {
    const o = requireOptions(options) as BernoulliVaeOptions;
    const defaults = BERNOULLI_VAE_SETTINGS;
    const optimizer = o.optimizer ?? (defaults.optimizer === "adam" ? adam : radam)({ lr: defaults.lr });
    const estimator = modelEstimator(o.estimator, defaults.tau);
    const latents = requireInteger("latents", o.latents ?? 200, 1, 1 << 16);
    const evaluations = checkEvaluations(
      estimator,
      requireInteger("evaluations", o.evaluations ?? 1, 1, 64),
      "evaluations",
    );
    const binarize = o.binarize ?? "dynamic";
    if (!BINARIZATIONS.includes(binarize)) {
      throw new ReinmaxInputError(
        "binarize",
        `expected one of ${BINARIZATIONS.join(", ")}, got ${describe(binarize)}`,
      );
    }
    const slope = requirePositive("slope", o.slope ?? 0.3);
    super(backend, {
      inputSize: requireInteger("inputSize", o.inputSize ?? 784, 1, 1 << 24),
      hidden: requireLayerWidths("hidden", o.hidden ?? [200, 200]),
      activation: () => layers.leakyRelu(slope),
      latent: layers.bernoulli({
        latents,
        estimator,
        prior: "learned",
        kl: true,
        evaluations,
        parameterNames: {
          prior: "prior.logits",
          alpha: "estimator.alpha",
          weights: "estimator.weights",
          scale: "estimator.scale",
          control: "estimator.control",
        },
      }),
      optimizer,
      batch: requireInteger("batch", o.batch ?? 100, 1, 1 << 20),
      seed: o.seed ?? 0,
      readEvery: requireInteger("readEvery", o.readEvery ?? 50, 1, 1 << 16),
      binarize,
    });
    this.latents = latents;
    this.evaluations = evaluations;
    this.slope = slope;
  }

  /** The kind and options that rebuild this model (for checkpoints). */
  override describe(): ModelDescription {
    return {
      model: "bernoulli",
      options: {
        latents: this.latents,
        hidden: [...this.hidden],
        inputSize: this.inputSize,
        evaluations: this.evaluations,
        binarize: this.binarize,
        slope: this.slope,
        batch: this.batch,
        seed: this.seed,
        readEvery: this.log.capacity,
      },
      estimator: this.estimator,
    };
  }

  /**
   * The reconstruction term R = Σ_pixels BCE of each of `count` images when the decoder is given its bits:
   * `bits` holds `latents` values 0 or 1 per image. Exact, with no sampling: what an enumeration of codes
   * needs (docs/math.md §6.4).
   */
  async reconstructionLoss(images: Float32Array, bits: Int32Array, count: number): Promise<Float32Array> {
    requireInteger("count", count, 1);
    this.checkInputs(images, count, "images");
    const L = this.latents;
    if (!(bits instanceof Int32Array) || bits.length !== count * L || bits.some((b) => b !== 0 && b !== 1)) {
      throw new ReinmaxInputError(
        "bits",
        `expected an Int32Array of ${count * L} bits (0 or 1), got ${describe(bits)}`,
      );
    }
    const z = this.stack.latents[0].output as DenseActivation;
    return await this.decodedLoss(images, count, (start, n) => {
      this.backend.write(z.value.buffer, Float32Array.from(bits.subarray(start * L, (start + n) * L)));
    });
  }

  /** The analysis runs any estimator of the table at the model's K codes per image. */
  protected analysedEstimator(est: Estimator): Estimator {
    checkEvaluations(est, this.evaluations, "evaluations");
    return est;
  }

  /** Checks forced categories for `count` images. */
  protected checkSample(sample: unknown, count: number): Int32Array {
    const rows = count * this.evaluations * this.latents;
    if (!(sample instanceof Int32Array) || sample.length !== rows) {
      throw new ReinmaxInputError(
        "sample",
        `expected an Int32Array of ${rows} categories, got ${describe(sample)}`,
      );
    }
    for (let r = 0; r < rows; r++) {
      if (sample[r] !== 0 && sample[r] !== 1) {
        throw new ReinmaxInputError("sample", `category ${sample[r]} at row ${r} is not 0 or 1`);
      }
    }
    return sample;
  }
}
