/**
 * The Bernoulli VAE "2×200" (docs/math.md §6.3): 200 binary latents, each a two-category variable whose logit
 * pair is (a, 1 − a) for one encoder output a, so P(z = 1) = σ(2a − 1); a learned Bernoulli prior of 200
 * logits (initialised at 0); LeakyReLU(0.3) MLPs 784 → 200 → 200 → 200 and back; binarised images (pixel =
 * 1[u < x], drawn once from the seed or afresh each step); and K evaluations per image — K codes drawn for
 * each image and their losses averaged before the step. A step is one submit on WebGPU.
 * @module
 */
import { type Backend, readF32 } from "../backend.ts";
import { ReinmaxInputError } from "../errors.ts";
import { enqueueBackward, enqueueSample, type Estimator } from "../estimators.ts";
import { adam, type Optimizer, radam } from "../optim.ts";
import { type RandomStream, TAG } from "../random.ts";
import type { LossLog } from "./loss_log.ts";
import { describe, requireInteger, requirePositive } from "../validate.ts";
import { type ModelDescription, type Parameter, requireOptions } from "./model.ts";
import { type LayerWidth, Mlp, requireLayerWidths } from "./mlp.ts";
import type { BufferSize, PlannedBuffer } from "./plan.ts";
import { type ForwardContext, Vae } from "./vae.ts";

/**
 * How images become binary: not at all, once per image (from the seed), or afresh every step.
 *
 * @example
 * ```ts
 * import { BernoulliVae, type Binarization, selectBackend } from "@reinmax/reinmax";
 * const binarize: Binarization = "static"; // each image keeps one set of bits, drawn from the seed
 * const model = new BernoulliVae(await selectBackend(), { binarize });
 * ```
 */
export type Binarization = "none" | "static" | "dynamic";

/**
 * The binarisations, in the order the CLI lists them.
 *
 * @example
 * ```ts
 * import { BINARIZATIONS } from "@reinmax/reinmax";
 * console.log(BINARIZATIONS.join("|")); // "none|static|dynamic"
 * ```
 */
export const BINARIZATIONS: readonly Binarization[] = ["none", "static", "dynamic"];

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

/** Streams of the binarisation: fixed per image when static, fresh per step or evaluation pass when dynamic. */
const EVALUATION_BINARIZATION = 2 ** 31;

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
  /** Widths of the encoder's hidden layers. */
  readonly hidden: readonly number[];
  /** K, codes drawn per image. */
  readonly evaluations: number;
  /** How images become binary. */
  readonly binarize: Binarization;
  /** LeakyReLU's negative slope. */
  readonly slope: number;
  readonly #encoder: Mlp;
  readonly #decoder: Mlp;
  readonly #prior: Parameter;
  readonly #indices: PlannedBuffer;
  readonly #binary: PlannedBuffer;
  readonly #target: PlannedBuffer;
  readonly #aTiled: PlannedBuffer;
  readonly #aTiledGrad: PlannedBuffer;
  readonly #logits: PlannedBuffer;
  readonly #logitsGrad: PlannedBuffer;
  readonly #sample: PlannedBuffer;
  readonly #yHard: PlannedBuffer;
  readonly #ySoft: PlannedBuffer;
  readonly #yHardGrad: PlannedBuffer;
  readonly #ySoftGrad: PlannedBuffer;
  readonly #scratch: PlannedBuffer;
  readonly #z: PlannedBuffer;
  readonly #zGrad: PlannedBuffer;
  readonly #reconstructionLoss: PlannedBuffer;
  readonly #klLoss: PlannedBuffer;
  readonly #mean: PlannedBuffer;
  /** The images' indices as the next pass writes them; kept to avoid an allocation per step. */
  readonly #hostIndices: Int32Array;

  /** Plans the model on `backend` and initialises every layer from the seed (the prior at 0). */
  constructor(backend: Backend, options: BernoulliVaeOptions = {}) {
    const o = requireOptions(options) as BernoulliVaeOptions;
    const defaults = BERNOULLI_VAE_SETTINGS;
    const optimizer = o.optimizer ?? (defaults.optimizer === "adam" ? adam : radam)({ lr: defaults.lr });
    super(backend, optimizer, o.seed ?? 0, o, defaults.tau);
    this.latents = requireInteger("latents", o.latents ?? 200, 1, 1 << 16);
    this.hidden = requireLayerWidths("hidden", o.hidden ?? [200, 200]);
    this.evaluations = requireInteger("evaluations", o.evaluations ?? 1, 1, 64);
    const binarize = o.binarize ?? "dynamic";
    if (!BINARIZATIONS.includes(binarize)) {
      throw new ReinmaxInputError(
        "binarize",
        `expected one of ${BINARIZATIONS.join(", ")}, got ${describe(binarize)}`,
      );
    }
    this.binarize = binarize;
    this.slope = requirePositive("slope", o.slope ?? 0.3);
    const readEvery = requireInteger("readEvery", o.readEvery ?? 50, 1, 1 << 16);

    const plan = this.plan, batch = this.batch, K = this.evaluations, L = this.latents, D = this.inputSize;
    const sized = (formula: string, argument = "batch"): BufferSize => ({ formula, argument });
    const declare = this.mlpDeclarer();
    const leaky = { kind: "leaky_relu", slope: this.slope } as const;
    const widths: Record<string, LayerWidth> = {
      input: { width: D, name: "inputSize" },
      code: { width: L, name: "latents" },
    };
    const hidden = this.hidden.map((width, i) => ({ width, name: `hidden[${i}]` }));
    plan.defaultSize = sized("batch × evaluations × latents × 2");
    this.#indices = plan.declare("input.indices", batch, "input", sized("batch"));
    this.#binary = plan.declare("input.binary", batch * D, "activation", sized("batch × inputSize"));
    this.#target = plan.declare(
      "target",
      batch * K * D,
      "activation",
      sized("batch × evaluations × inputSize"),
    );
    this.#encoder = new Mlp(declare, "encoder", [widths.input, ...hidden, widths.code], batch, leaky);
    this.#prior = this.declareParameter("prior.logits", [L], 0, sized("latents", "latents"));
    const perRow = sized("batch × evaluations × latents");
    this.#aTiled = plan.declare("latent.a", batch * K * L, "activation", perRow);
    this.#aTiledGrad = plan.declare("latent.a.grad", batch * K * L, "activation", perRow);
    const pairs = batch * K * L * 2;
    this.#logits = plan.declare("latent.logits", pairs, "activation");
    this.#logitsGrad = plan.declare("latent.logits.grad", pairs, "activation");
    this.#sample = plan.declare("latent.sample", batch * K * L, "activation", perRow);
    this.#yHard = plan.declare("latent.onehot", pairs, "activation");
    this.#ySoft = plan.declare("latent.softmax", pairs, "activation");
    this.#yHardGrad = plan.declare("latent.onehot.grad", pairs, "activation");
    // ∂loss/∂softmax stays zero: the KL's gradient is added to a's gradient directly.
    this.#ySoftGrad = plan.declare("latent.softmax.grad", pairs, "activation");
    this.#scratch = plan.declare("estimator.scratch", pairs, "activation");
    this.#z = plan.declare("latent.z", batch * K * L, "activation", perRow);
    this.#zGrad = plan.declare("latent.z.grad", batch * K * L, "activation", perRow);
    const decoderWidths = [widths.code, ...[...hidden].reverse(), widths.input];
    this.#decoder = new Mlp(declare, "decoder", decoderWidths, batch * K, leaky);
    this.#reconstructionLoss = plan.declare(
      "loss.reconstruction",
      batch * K,
      "activation",
      sized("batch × evaluations"),
    );
    this.#klLoss = plan.declare("loss.kl", batch, "activation", sized("batch"));
    this.#mean = plan.declare(
      "output.mean",
      batch * K * D,
      "activation",
      sized("batch × evaluations × inputSize"),
    );
    this.#hostIndices = new Int32Array(batch);
    this.allocateVae(readEvery);
  }

  /** The kind and options that rebuild this model (for checkpoints). */
  describe(): ModelDescription {
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

  /** Writes the images' indices and enqueues their binarisation; returns the buffer the encoder reads. */
  #enqueueBinary(count: number, indices: ArrayLike<number> | undefined, stream: number): PlannedBuffer {
    if (this.binarize === "none") return this.input;
    for (let i = 0; i < count; i++) this.#hostIndices[i] = indices ? indices[i] : i;
    this.backend.write(this.#indices.buffer, this.#hostIndices.subarray(0, count));
    this.k.binarize(
      { out: this.#binary.buffer, x: this.input.buffer, rowIds: this.#indices.buffer },
      { rows: count, dim: this.inputSize, key0: this.key[0], key1: this.key[1], stream, tag: TAG.binarize },
    );
    return this.#binary;
  }

  /** Static: one draw for training, one for everything else; dynamic: the step, or the evaluation draw. */
  #binarizationStream(training: boolean, draw: number): number {
    if (this.binarize === "static") return training ? 0 : 1;
    return training ? this.steps : EVALUATION_BINARIZATION + draw;
  }

  /**
   * The pairs (a, 1 − a) of the `rows` values in latent.a, their codes (drawn, or `forced`), and z = D[0]
   * through the decoder for `images` rows: the decoder's output then holds pixel logits.
   */
  #decodeCodes(rows: number, images: number, rng: RandomStream, forced?: Int32Array): void {
    const k = this.k;
    k.bernoulli_logits({ logits: this.#logits.buffer, a: this.#aTiled.buffer }, { count: rows });
    if (forced) this.backend.write(this.#sample.buffer, forced);
    else enqueueSample(k, this.#sample.buffer, this.#logits.buffer, { rows, n: 2 }, rng);
    k.onehot_softmax(
      {
        yHard: this.#yHard.buffer,
        ySoft: this.#ySoft.buffer,
        logits: this.#logits.buffer,
        sample: this.#sample.buffer,
      },
      { rows, n: 2 },
    );
    k.first_of_pairs({ out: this.#z.buffer, pairs: this.#yHard.buffer }, { count: rows });
    this.#decoder.forward(k, this.#z, images);
  }

  /** Encoder, the code (sampled or forced), decoder and both loss terms, as the base class asks. */
  protected enqueueForward(ctx: ForwardContext): void {
    const { k, latents: L, inputSize: D } = this;
    const count = ctx.count, K = this.evaluations, rows = count * K * L;
    const x = this.#enqueueBinary(count, ctx.indices, this.#binarizationStream(ctx.training, ctx.draw));
    k.tile({ out: this.#target.buffer, x: x.buffer }, { count: count * D, times: K });
    this.#encoder.forward(k, x, count);
    const a = this.#encoder.output.buffer;
    // The K copies of an image share its encoding; each draws its own code.
    k.tile({ out: this.#aTiled.buffer, x: a }, { count: count * L, times: K });
    this.#decodeCodes(rows, count * K, ctx.rng, ctx.forced);
    k.bce_logits_forward(
      {
        loss: this.#reconstructionLoss.buffer,
        logits: this.#decoder.output.buffer,
        target: this.#target.buffer,
      },
      { batch: count * K, dim: D },
    );
    k.kl_bernoulli_forward(
      { kl: this.#klLoss.buffer, a, priorLogits: this.#prior.value.buffer },
      { batch: count, latents: L },
    );
  }

  /** Both −ELBO terms of the last forward pass into `log`. */
  protected recordLosses(log: LossLog, count: number): void {
    // The mean over the K·count codes is the mean over images of each image's average over its K codes.
    log.record(0, this.#reconstructionLoss, count * this.evaluations);
    log.record(1, this.#klLoss, count);
  }

  /** The backward pass of the last forward pass: every parameter's gradient of the batch-mean −ELBO. */
  protected enqueueBackward(ctx: ForwardContext): void {
    const { k, latents: L, inputSize: D } = this;
    const count = ctx.count, K = this.evaluations, rows = count * K * L;
    const x = this.binarize === "none" ? this.input : this.#binary;
    const dOut = this.#decoder.outputGrad.buffer;
    k.fill({ out: dOut }, { count: count * K * D, value: 0 });
    k.bce_logits_backward(
      { dLogits: dOut, logits: this.#decoder.output.buffer, target: this.#target.buffer },
      { count: count * K * D, scale: 1 / (count * K) },
    );
    k.fill({ out: this.#zGrad.buffer }, { count: rows, value: 0 });
    this.#decoder.backward(k, this.#z, count * K, this.#zGrad);
    k.first_of_pairs_backward({ dPairs: this.#yHardGrad.buffer, dOut: this.#zGrad.buffer }, { count: rows });
    enqueueBackward(
      k,
      this.estimator,
      {
        dLogits: this.#logitsGrad.buffer,
        scratch: this.#scratch.buffer,
        logits: this.#logits.buffer,
        sample: this.#sample.buffer,
        gHard: this.#yHardGrad.buffer,
        gSoft: this.#ySoftGrad.buffer,
      },
      { rows, n: 2 },
      ctx.rng,
    );
    k.fill({ out: this.#aTiledGrad.buffer }, { count: rows, value: 0 });
    k.bernoulli_logits_backward({ dA: this.#aTiledGrad.buffer, dLogits: this.#logitsGrad.buffer }, {
      count: rows,
    });
    const dA = this.#encoder.outputGrad.buffer, a = this.#encoder.output.buffer;
    k.sum_tiles({ out: dA, x: this.#aTiledGrad.buffer }, { count: count * L, times: K, scale: 1 });
    // The KL to the learned prior trains the prior too (docs/math.md §4.8).
    k.kl_bernoulli_backward(
      { dA, dPrior: this.#prior.grad.buffer, a, priorLogits: this.#prior.value.buffer },
      { batch: count, latents: L, scale: 1 / count },
    );
    this.#encoder.backward(k, x, count, null);
  }

  /** A code per image (from q(z|x) or the learned prior), decoded into pixel means. */
  protected async enqueueDecode(
    count: number,
    fromPrior: boolean,
    rng: RandomStream,
    draw: number,
  ): Promise<PlannedBuffer> {
    const { backend, k, latents: L } = this;
    const rows = count * L;
    if (fromPrior) {
      // The pair (a, 1 − a) with a = (ρ + 1)/2 gives P(z = 1) = σ(2a − 1) = σ(ρ), the prior's.
      const rho = await readF32(backend, this.#prior.value.buffer);
      const a = new Float32Array(rows);
      for (let i = 0; i < rows; i++) a[i] = (rho[i % L] + 1) / 2;
      backend.write(this.#aTiled.buffer, a);
    } else {
      const x = this.#enqueueBinary(count, undefined, this.#binarizationStream(false, draw));
      this.#encoder.forward(k, x, count);
      k.tile({ out: this.#aTiled.buffer, x: this.#encoder.output.buffer }, { count: rows, times: 1 });
    }
    this.#decodeCodes(rows, count, rng);
    k.sigmoid_forward({ out: this.#mean.buffer, x: this.#decoder.output.buffer }, {
      count: count * this.inputSize,
    });
    return this.#mean;
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
