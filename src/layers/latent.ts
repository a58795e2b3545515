/**
 * The stochastic layers. Each projects its input linearly to the logits of its variables, draws one category
 * per variable (K per example with `evaluations: K`, the K copies sharing the logits), and passes the codes on;
 * its backward runs its estimator's kernels (src/estimators.ts) from the gradient at the codes, adds the
 * gradient of its KL term (to a uniform or a learned prior), and continues through the projection.
 *
 * - categorical: the codes stay categories (a following linear layer gathers rows of its weight); the KL to
 *   the uniform prior is docs/math.md §4.7, to a learned prior softmax(ρ) §4.7 with log p for −log C.
 * - Bernoulli: one value a per variable, the logit pair (a, 1 − a) of §4.10, so P(z = 1) = σ(2a − 1); the codes
 *   go on as the bits z; the KL to a Bernoulli prior σ(ρ) is §4.8 (ρ = 0 for the uniform prior). With K ≥ 2 it
 *   also runs the score-function estimators (§2.9), which weigh the scores of its K codes by the losses
 *   the likelihood gives them: it must then be the model's last stochastic layer.
 * @module
 */
import { readF32 } from "../backend.ts";
import { ReinmaxInputError } from "../errors.ts";
import {
  checkEvaluations,
  enqueueBackward,
  enqueueSample,
  type Estimator,
  ESTIMATORS,
  type ScoreFunction,
} from "../estimators.ts";
import type { Parameter, PlannedBuffer } from "../memory_plan.ts";
import { layerStream } from "../random.ts";
import { type BernoulliLayer, type CategoricalLayer, layerArgument } from "./declarations.ts";
import type { Likelihood } from "./likelihoods.ts";
import {
  type Activation,
  type CodesActivation,
  type DenseActivation,
  type LayerPlanner,
  type Pass,
  type PlannedLayer,
  rowsOf,
} from "./layer.ts";
import { Activation as Elementwise } from "./activations.ts";
import { Linear } from "./linear.ts";

/** The control networks as their references build them: a hidden layer of LeakyReLU(0.3) units, 100 in
 * RODEO's, 137 in RELAX's r(x, z). */
const RODEO_HIDDEN = 100;
const RELAX_HIDDEN = 137;
const CONTROL_SLOPE = 0.3;

/** RELAX's parameter s, its control network and the buffers of its kernels (docs/math.md §2.9.6). */
interface RelaxParts {
  readonly s: Parameter;
  /** Width of the model's input, the first part of the network's input rows. */
  readonly inSize: number;
  /** The network's input rows [x, z] then [x, z̃], and their gradient. */
  readonly inputs: DenseActivation;
  readonly layers: readonly [Linear, Elementwise, Linear];
  /** [z | z̃ | ∂z̃/∂θ] (relax_sample). */
  readonly draws: PlannedBuffer;
  /** [f′ at σ(z/τ) | f′ at σ(z̃/τ) | f at σ(z/τ) | f at σ(z̃/τ)] (relax_keep). */
  readonly relaxed: PlannedBuffer;
  /** [b − p | path | ∂z̃/∂θ] (relax_signal). */
  readonly perLatent: PlannedBuffer;
  /** [2ĝ·∂ĝ/∂s | gradOut | mixed weights at z | at z̃] (relax_backward). */
  readonly terms: PlannedBuffer;
}

/** The layers above a model's last stochastic layer, and the likelihood: what its codes are scored by. */
export interface LayersAbove {
  readonly layers: readonly PlannedLayer[];
  readonly likelihood: Likelihood;
  /** What the first layer of the model reads (its input, or its bits), which the likelihood may score. */
  readonly input: DenseActivation;
}

/** What a pass may ask of a stochastic layer beyond {@link Pass}. */
export interface LatentPass extends Pass {
  /** Another estimator for this pass's backward (the gradient-quality analysis draws each one). */
  readonly estimators?: ReadonlyMap<number, Estimator>;
  /** Leave the KL term's gradient out of the backward (the analysis judges the likelihood's alone). */
  readonly withoutKl?: boolean;
  /**
   * The factor s by which the likelihood's backward scaled the gradient of its per-row scores f (the loss is
   * s·Σ f): a score-function estimator weighs f itself and reads ∂f/∂z as gradZ/s.
   */
  readonly lossScale?: number;
}

/** The buffers and steps both stochastic layers share. */
abstract class Latent implements PlannedLayer {
  abstract readonly output: Activation;
  /** The projection to the variables' logits (its output is the logits, its gradient theirs). */
  readonly projection: Linear;
  /** A learned prior's logits, or null for the uniform prior. */
  readonly prior: Parameter | null;
  /** The KL term of each example row (batch × the factor before the layer), or null with kl: false. */
  readonly kl: PlannedBuffer | null;
  readonly declaration: CategoricalLayer | BernoulliLayer;
  readonly latents: number;
  /** Rows per example at the layer's input. */
  readonly factor: number;
  /** The drawn category of each row (i32): one per variable and code. */
  readonly sample: PlannedBuffer;
  protected readonly scratch: PlannedBuffer;
  /** ∂loss/∂softmax, zero: a KL term's gradient goes to the logits directly. */
  protected readonly zeroSoftGrad: PlannedBuffer;

  protected constructor(
    readonly index: number,
    /** Which stochastic layer of the model this is, from 0: it picks the layer's random stream. */
    readonly stochasticIndex: number,
    readonly name: string,
    declaration: CategoricalLayer | BernoulliLayer,
    input: DenseActivation,
    planner: LayerPlanner,
    needsInputGrad: boolean,
    projectionWidth: number,
    rowWidth: number,
  ) {
    const { plan, batch } = planner;
    const names = declaration.parameterNames ?? {};
    this.declaration = declaration;
    this.latents = declaration.latents;
    this.factor = input.factor;
    this.projection = new Linear(
      index,
      name,
      { kind: "linear", outSize: projectionWidth },
      input,
      planner,
      needsInputGrad,
      names,
    );
    const priorShape = declaration.kind === "categorical" ? [declaration.latents, declaration.categories] : [
      declaration.latents,
    ];
    this.prior = declaration.prior === "learned"
      ? plan.declareParameter(
        names.prior ?? `${name}.prior`,
        priorShape,
        0,
        planner.size(`${name}'s latents`),
      )
      : null;
    const rows = batch * input.factor * declaration.evaluations * declaration.latents;
    const perRow = planner.size(`batch × ${name}'s evaluations × latents`);
    this.sample = plan.declare(`${name}.sample`, rows, "activation", perRow);
    this.scratch = plan.declare(`${name}.estimator.scratch`, rows * rowWidth, "activation", perRow);
    this.zeroSoftGrad = plan.declare(`${name}.softmax.grad`, rows * rowWidth, "activation", perRow);
    this.kl = declaration.kl
      ? plan.declare(`${name}.kl`, batch * input.factor, "activation", planner.size(`batch of ${name}`))
      : null;
  }

  /** K in this pass: the declared evaluations, or one code per example when decoding. */
  protected evaluationsIn(pass: Pass): number {
    return pass.evaluations ? this.declaration.evaluations : 1;
  }

  /** Draws the category of `rows` rows of `n` from `logits`, or writes the pass's forced categories. */
  protected enqueueSample(pass: Pass, logits: PlannedBuffer, rows: number, n: number): void {
    const forced = pass.forced?.get(this.index);
    if (forced) pass.backend.write(this.sample.buffer, forced);
    else {enqueueSample(
        pass.k,
        this.sample.buffer,
        logits.buffer,
        { rows, n },
        layerStream(pass.rng, this.stochasticIndex),
      );}
  }

  /** The estimator's backward into `dLogits` (written) from the gradient at the one-hot rows. */
  protected enqueueEstimator(
    pass: LatentPass,
    buffers: { dLogits: PlannedBuffer; logits: PlannedBuffer; gHard: PlannedBuffer },
    rows: number,
    n: number,
  ): void {
    const est = pass.estimators?.get(this.index) ?? this.declaration.estimator;
    enqueueBackward(
      pass.k,
      est,
      {
        dLogits: buffers.dLogits.buffer,
        scratch: this.scratch.buffer,
        logits: buffers.logits.buffer,
        sample: this.sample.buffer,
        gHard: buffers.gHard.buffer,
        gSoft: this.zeroSoftGrad.buffer,
      },
      { rows, n },
      layerStream(pass.rng, this.stochasticIndex),
    );
  }

  abstract forward(pass: Pass): void;

  /**
   * The backward down to the projection's output: the estimator's gradient of the logits from the gradient at
   * the codes, and the KL term's (unless the pass leaves it out).
   */
  abstract backwardToLogits(pass: LatentPass): void;

  backward(pass: LatentPass): void {
    this.backwardToLogits(pass);
    this.projection.backward(pass);
  }
  /** Enqueues codes drawn from the prior for `pass.count` examples (decoding), in place of a forward. */
  abstract enqueuePriorCodes(pass: Pass): Promise<void>;
  /**
   * The most likely code of each example from the logits the last forward left (on the host): the category
   * of each variable, or its bit.
   */
  abstract mostLikely(logits: Float32Array, count: number): Int32Array;
}

/** The categorical layer; see the module comment. */
export class CategoricalLatent extends Latent {
  readonly output: CodesActivation;
  readonly categories: number;
  /** K copies of the logits, when K > 1, and their gradient. */
  readonly #tiled: { logits: PlannedBuffer; grad: PlannedBuffer } | null;
  #oneHot: { hard: PlannedBuffer; soft: PlannedBuffer; activation: DenseActivation } | null = null;
  readonly #planner: LayerPlanner;

  constructor(
    index: number,
    stochasticIndex: number,
    name: string,
    declaration: CategoricalLayer,
    input: DenseActivation,
    planner: LayerPlanner,
    needsInputGrad: boolean,
  ) {
    const code = declaration.latents * declaration.categories;
    super(
      index,
      stochasticIndex,
      name,
      declaration,
      input,
      planner,
      needsInputGrad,
      code,
      declaration.categories,
    );
    this.categories = declaration.categories;
    this.#planner = planner;
    const K = declaration.evaluations, { plan, batch } = planner;
    const rows = batch * input.factor * K,
      size = planner.size(`batch × ${name}'s evaluations × latents × categories`);
    this.#tiled = K > 1
      ? {
        logits: plan.declare(`${name}.logits.tiled`, rows * code, "activation", size),
        grad: plan.declare(`${name}.logits.tiled.grad`, rows * code, "activation", size),
      }
      : null;
    const grad = plan.declare(`${name}.onehot.grad`, rows * code, "activation", size);
    this.output = {
      kind: "codes",
      width: code,
      factor: input.factor * K,
      latents: declaration.latents,
      categories: declaration.categories,
      sample: this.sample,
      grad,
      dense: () => this.#dense(),
    };
  }

  /** The codes as one-hot rows, declared on first request; every forward then writes them. */
  #dense(): DenseActivation {
    if (!this.#oneHot) {
      const { plan } = this.#planner, length = this.output.grad.length;
      const size = this.#planner.size(`batch × ${this.name}'s evaluations × latents × categories`);
      const hard = plan.declare(`${this.name}.onehot`, length, "activation", size);
      const soft = plan.declare(`${this.name}.softmax`, length, "activation", size);
      this.#oneHot = {
        hard,
        soft,
        activation: {
          kind: "dense",
          width: this.output.width,
          factor: this.output.factor,
          value: hard,
          grad: this.output.grad,
        },
      };
    }
    return this.#oneHot.activation;
  }

  /** The logits the samples are drawn from in `pass`: K copies of the projection's when K > 1. */
  #sampledLogits(pass: Pass): PlannedBuffer {
    return this.#tiled && pass.evaluations ? this.#tiled.logits : this.projection.output.value;
  }

  forward(pass: Pass): void {
    this.projection.forward(pass);
    const logits = this.projection.output.value, k = pass.k, K = this.evaluationsIn(pass);
    const rows = rowsOf(pass, this.factor), code = this.latents * this.categories;
    if (K > 1) {
      k.tile({ out: this.#tiled!.logits.buffer, x: logits.buffer }, { count: rows * code, times: K });
    }
    this.#sampleAndExpand(pass, rows * K * this.latents);
    if (!this.kl) return;
    const shape = { batch: rows, latents: this.latents, categories: this.categories };
    if (this.prior) {
      k.kl_categorical_prior_forward({
        kl: this.kl.buffer,
        logits: logits.buffer,
        priorLogits: this.prior.value.buffer,
      }, shape);
    } else {
      k.kl_categorical_forward({ kl: this.kl.buffer, logits: logits.buffer }, shape);
    }
  }

  #sampleAndExpand(pass: Pass, rows: number): void {
    const logits = this.#sampledLogits(pass);
    this.enqueueSample(pass, logits, rows, this.categories);
    if (this.#oneHot) {
      pass.k.onehot_softmax(
        {
          yHard: this.#oneHot.hard.buffer,
          ySoft: this.#oneHot.soft.buffer,
          logits: logits.buffer,
          sample: this.sample.buffer,
        },
        { rows, n: this.categories },
      );
    }
  }

  backwardToLogits(pass: LatentPass): void {
    const k = pass.k, K = this.evaluationsIn(pass), rows = rowsOf(pass, this.factor);
    const code = this.latents * this.categories, dLogits = this.projection.output.grad!;
    const logits = this.projection.output.value;
    const tiled = K > 1 ? this.#tiled! : null;
    this.enqueueEstimator(
      pass,
      {
        dLogits: tiled ? tiled.grad : dLogits,
        logits: tiled ? tiled.logits : logits,
        gHard: this.output.grad,
      },
      rows * K * this.latents,
      this.categories,
    );
    if (tiled) {
      k.sum_tiles({ out: dLogits.buffer, x: tiled.grad.buffer }, { count: rows * code, times: K, scale: 1 });
    }
    if (this.kl && !pass.withoutKl) {
      // The KL's own gradient, scaled to the mean over the examples' rows, goes straight to the logits.
      const scale = 1 / rows;
      if (this.prior) {
        k.kl_categorical_prior_backward(
          {
            dLogits: dLogits.buffer,
            dPrior: this.prior.grad.buffer,
            logits: logits.buffer,
            priorLogits: this.prior.value.buffer,
          },
          { batch: rows, latents: this.latents, categories: this.categories, scale },
        );
      } else {
        k.kl_categorical_backward({ dLogits: dLogits.buffer, logits: logits.buffer }, {
          rows: rows * this.latents,
          categories: this.categories,
          scale,
        });
      }
    }
  }

  enqueuePriorCodes(pass: Pass): Promise<void> {
    const logits = this.projection.output.value, count = pass.count * this.latents * this.categories;
    // The projection's output is free outside a step: it holds the prior's logits for the draw.
    if (this.prior) {
      pass.k.tile({ out: logits.buffer, x: this.prior.value.buffer }, {
        count: this.latents * this.categories,
        times: pass.count,
      });
    } else pass.k.fill({ out: logits.buffer }, { count, value: 0 });
    this.#sampleAndExpand(pass, pass.count * this.latents);
    return Promise.resolve();
  }

  mostLikely(logits: Float32Array, count: number): Int32Array {
    const C = this.categories, codes = new Int32Array(count * this.latents);
    for (let r = 0; r < codes.length; r++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[r * C + c] > logits[r * C + best]) best = c;
      codes[r] = best;
    }
    return codes;
  }
}

/** The Bernoulli layer; see the module comment. */
export class BernoulliLatent extends Latent {
  readonly output: DenseActivation;
  /** The prior's logits when it is not learned: zeros, P(z = 1) = ½. */
  readonly #uniformPrior: PlannedBuffer | null;
  /** Its gradient, which the KL kernel writes and nothing reads. */
  readonly #uniformPriorGrad: PlannedBuffer | null;
  readonly #aTiled: PlannedBuffer;
  readonly #aTiledGrad: PlannedBuffer;
  readonly #logits: PlannedBuffer;
  readonly #logitsGrad: PlannedBuffer;
  readonly #yHard: PlannedBuffer;
  readonly #ySoft: PlannedBuffer;
  readonly #yHardGrad: PlannedBuffer;
  /** What the score-function estimators use, with K ≥ 2; see {@link attachAbove}. */
  readonly #score: {
    /** Double CV's per-copy projections (examples × K). */
    readonly projections: PlannedBuffer;
    /** 2ĝ·∂ĝ/∂α per variable, whose mean is α's gradient. */
    readonly alphaTerms: PlannedBuffer;
    /** α = 0, for a Double CV the pass asks for on a layer that learns no α. */
    readonly zeroAlpha: PlannedBuffer;
  } | null;
  /** The learned weight α of Double CV's control variate, when the layer declares Double CV. */
  readonly alpha: Parameter | null;
  /** RODEO's control network and what its kernels keep, when the layer declares RODEO. */
  readonly #rodeo: {
    /** (α, β), the weights of its scalar and its vector control variate. */
    readonly weights: Parameter;
    /** The network's input rows (⟨g_j, y − x_j⟩, f_j). */
    readonly inputs: PlannedBuffer;
    readonly layers: readonly [Linear, Elementwise, Linear];
    /** dcv, T and Σ w of each copy of each example. */
    readonly terms: PlannedBuffer;
    readonly betaTerms: PlannedBuffer;
    /** ∂(mean ĝ²)/∂ĝ of each latent. */
    readonly gradOut: PlannedBuffer;
  } | null;
  /** The layers above and the likelihood, when this is the model's last stochastic layer. */
  #above: LayersAbove | null = null;
  /** RELAX's draws, relaxed evaluations and control network, when the layer declares RELAX. */
  readonly #relax: RelaxParts | null;

  constructor(
    index: number,
    stochasticIndex: number,
    name: string,
    declaration: BernoulliLayer,
    input: DenseActivation,
    planner: LayerPlanner,
    needsInputGrad: boolean,
  ) {
    super(index, stochasticIndex, name, declaration, input, planner, needsInputGrad, declaration.latents, 2);
    const { plan, batch } = planner, L = declaration.latents, K = declaration.evaluations;
    const rows = batch * input.factor * K * L;
    const perRow = planner.size(`batch × ${name}'s evaluations × latents`);
    const pairs = planner.size(`batch × ${name}'s evaluations × latents × 2`);
    this.#uniformPrior = declaration.prior === "uniform" && declaration.kl
      ? plan.declare(`${name}.prior.uniform`, L, "activation", planner.size(`${name}'s latents`))
      : null;
    this.#uniformPriorGrad = this.#uniformPrior
      ? plan.declare(`${name}.prior.uniform.grad`, L, "activation", planner.size(`${name}'s latents`))
      : null;
    this.#aTiled = plan.declare(`${name}.a`, rows, "activation", perRow);
    this.#aTiledGrad = plan.declare(`${name}.a.grad`, rows, "activation", perRow);
    this.#logits = plan.declare(`${name}.logits`, 2 * rows, "activation", pairs);
    this.#logitsGrad = plan.declare(`${name}.logits.grad`, 2 * rows, "activation", pairs);
    this.#yHard = plan.declare(`${name}.onehot`, 2 * rows, "activation", pairs);
    this.#ySoft = plan.declare(`${name}.softmax`, 2 * rows, "activation", pairs);
    this.#yHardGrad = plan.declare(`${name}.onehot.grad`, 2 * rows, "activation", pairs);
    this.output = {
      kind: "dense",
      width: L,
      factor: input.factor * K,
      value: plan.declare(`${name}.z`, rows, "activation", perRow),
      grad: plan.declare(`${name}.z.grad`, rows, "activation", perRow),
    };
    const examples = batch * input.factor;
    // Only a layer declared with a score-function estimator of K codes plans their buffers: a model that never
    // runs one keeps the memory plan it always had.
    const declaredScore = ESTIMATORS[declaration.estimator.name].scoreFunction;
    this.#score = declaredScore && K >= 2
      ? {
        projections: plan.declare(
          `${name}.score.projections`,
          examples * K,
          "activation",
          planner.size(`batch × ${name}'s evaluations`),
        ),
        alphaTerms: plan.declare(
          `${name}.score.alphaTerms`,
          examples * L,
          "activation",
          planner.size(`batch × ${name}'s latents`),
        ),
        zeroAlpha: plan.declare(`${name}.score.zeroAlpha`, 1, "activation"),
      }
      : null;
    const learns = declaredScore?.learns ?? "nothing";
    const names = declaration.parameterNames ?? {};
    this.alpha = learns === "weight" ? plan.declareParameter(names.alpha ?? `${name}.alpha`, [1], 0) : null;
    this.#relax = learns === "relaxation network"
      ? this.#planRelax(names.scale ?? `${name}.scale`, names.control ?? `${name}.control`, planner, examples)
      : null;
    this.#rodeo = learns === "stein network"
      ? this.#planRodeo(
        names.weights ?? `${name}.weights`,
        names.control ?? `${name}.control`,
        planner,
        examples,
        K,
      )
      : null;
  }

  /**
   * RODEO's weights (α, β) and its control network, as the reference builds it: two inputs, a hidden layer of
   * RODEO_HIDDEN LeakyReLU(CONTROL_SLOPE) units, two outputs (H, G), at K(K − 1)(latents + 1) points per example.
   */
  #planRodeo(weights: string, control: string, planner: LayerPlanner, examples: number, K: number) {
    const { plan } = planner, L = this.latents;
    const factor = this.factor * K * (K - 1) * (L + 1);
    const inputs = plan.declare(
      `${control}.inputs`,
      planner.batch * factor * 2,
      "activation",
      planner.size(`batch × ${this.name}'s evaluations² × latents`),
    );
    const input: DenseActivation = { kind: "dense", width: 2, factor, value: inputs, grad: null };
    const network = this.#controlNetwork(control, input, RODEO_HIDDEN, 2, planner);
    const perLatent = planner.size(`batch × ${this.name}'s latents`);
    return {
      weights: plan.declareParameter(weights, [2], 0),
      inputs,
      layers: network,
      terms: plan.declare(`${this.name}.rodeo.terms`, examples * K * 3, "activation", perLatent),
      betaTerms: plan.declare(`${this.name}.rodeo.betaTerms`, examples * L, "activation", perLatent),
      gradOut: plan.declare(`${this.name}.rodeo.gradOut`, examples * L, "activation", perLatent),
    };
  }

  /**
   * Gives the layer the layers above it and the likelihood, whose per-row scores a score-function estimator
   * weighs (copy t of example row r at t·rows + r) and which RELAX runs again at relaxed codes: called once
   * planned, when this is the model's last stochastic layer.
   */
  attachAbove(above: LayersAbove): void {
    this.#above = above;
  }

  /** The likelihood's score of each row below this layer. */
  get #losses(): PlannedBuffer | null {
    return this.#above?.likelihood.loss ?? null;
  }

  /**
   * RELAX's buffers, its scale s (starting at 1, as in the reference) and its control network r(x, z) as the
   * reference builds it: the model's input and the logistic variables in, RELAX_HIDDEN LeakyReLU(CONTROL_SLOPE)
   * units, one output; evaluated at [x, z] and [x, z̃] of each example.
   */
  #planRelax(scale: string, control: string, planner: LayerPlanner, examples: number): RelaxParts {
    const { plan } = planner, L = this.latents, inSize = planner.modelInput.width;
    const perLatent = planner.size(`batch × ${this.name}'s latents`);
    const latents = (what: string, times = 1) =>
      plan.declare(`${this.name}.relax.${what}`, times * examples * L, "activation", perLatent);
    const rows = 2 * examples,
      width = inSize + L,
      size = planner.size(`batch × (inputSize + ${this.name}'s latents)`);
    const input: DenseActivation = {
      kind: "dense",
      width,
      factor: 2 * this.factor,
      value: plan.declare(`${control}.inputs`, rows * width, "activation", size),
      grad: plan.declare(`${control}.inputs.grad`, rows * width, "activation", size),
    };
    const network = this.#controlNetwork(control, input, RELAX_HIDDEN, 1, planner);
    return {
      s: plan.declareParameter(scale, [1], 0, undefined, 1),
      inSize,
      inputs: input,
      layers: network,
      draws: latents("draws", 3),
      relaxed: plan.declare(`${this.name}.relax.relaxed`, 2 * examples * (L + 1), "activation", perLatent),
      perLatent: latents("perLatent", 3),
      terms: latents("terms", 4),
    };
  }

  /**
   * A control network as RODEO's and RELAX's references build theirs, from the SDK's own layers: `input` →
   * `hidden` LeakyReLU(CONTROL_SLOPE) units → `outputs`, labelled `<control>.fc1`, `.act`, `.fc2`. Its input needs
   * a gradient only where it has one (RELAX's ∂r/∂z).
   */
  #controlNetwork(
    control: string,
    input: DenseActivation,
    hidden: number,
    outputs: number,
    planner: LayerPlanner,
  ): readonly [Linear, Elementwise, Linear] {
    const at = this.index, needsInputGrad = input.grad !== null;
    const fc1 = new Linear(
      at,
      `${control}.fc1`,
      { kind: "linear", outSize: hidden },
      input,
      planner,
      needsInputGrad,
    );
    const leaky = { kind: "leakyRelu", slope: CONTROL_SLOPE } as const;
    const act = new Elementwise(at, `${control}.act`, leaky, fc1.output, planner);
    const fc2 = new Linear(
      at,
      `${control}.fc2`,
      { kind: "linear", outSize: outputs },
      act.output,
      planner,
      true,
    );
    return [fc1, act, fc2];
  }

  #requireRelax(est: Estimator) {
    if (!this.#relax || !this.#above || est.name !== this.declaration.estimator.name) {
      throw new ReinmaxInputError(
        `${layerArgument(this.index, "bernoulli")}.estimator`,
        `RELAX evaluates the layers above at relaxed codes and trains a control network of the layer's: ` +
          `declare the model's last stochastic layer with estimator("relax")`,
      );
    }
    return { relax: this.#relax, above: this.#above };
  }

  /**
   * Enqueues what must run before the step's backward: for RELAX, the layers above and the likelihood at the two
   * relaxed codes σ(z/τ) and σ(z̃/τ) — their scores and their gradients in the code — leaving the layers above
   * with their parameters' gradients as they were (zero) and their activations those of the drawn code again.
   */
  beforeBackward(pass: LatentPass): void {
    const est = this.#estimatorOf(pass);
    if (!pass.evaluations || ESTIMATORS[est.name].scoreFunction?.learns !== "relaxation network") return;
    const { relax, above } = this.#requireRelax(est);
    const k = pass.k, examples = rowsOf(pass, this.factor), count = examples * this.latents;
    const code = this.output.value.buffer, x = above.input.value;
    const evaluateAbove = () => {
      for (const layer of above.layers) layer.forward(pass);
      above.likelihood.forward(pass, x);
    };
    for (const which of [0, 1]) {
      k.relax_relaxed({ out: code, draws: relax.draws.buffer }, { count, which, tau: est.tau });
      evaluateAbove();
      above.likelihood.backward(pass, x, 1);
      for (const layer of [...above.layers].reverse()) layer.backward(pass);
      k.relax_keep(
        {
          relaxed: relax.relaxed.buffer,
          loss: above.likelihood.loss.buffer,
          gradZ: this.output.grad!.buffer,
        },
        { rows: examples, latents: this.latents, which },
      );
    }
    // The relaxed evaluations must not train the layers above.
    for (const layer of above.layers) {
      if (!(layer instanceof Linear)) continue;
      for (const p of [layer.weight, layer.bias]) {
        k.fill({ out: p.grad.buffer }, { count: p.length, value: 0 });
      }
    }
    k.first_of_pairs({ out: code, pairs: this.#yHard.buffer }, { count });
    evaluateAbove();
  }

  /**
   * RELAX (docs/math.md §2.9.6): the control network at [x, z] and [x, z̃] and its gradient in its input; the
   * estimate; then the gradient of the estimate's mean square into s and the network — through r(x, z̃) by the
   * network's backward, through ∂r/∂z by relax_mixed_grad.
   */
  #relaxBackward(pass: LatentPass, est: Estimator, rows: number, s: number): void {
    const { relax, above } = this.#requireRelax(est);
    const k = pass.k, L = this.latents, a = this.projection.output.value.buffer, sample = this.sample.buffer;
    const [fc1, act, fc2] = relax.layers, sValue = relax.s.value.buffer;
    k.relax_control_inputs(
      { inputs: relax.inputs.value.buffer, x: above.input.value.buffer, draws: relax.draws.buffer },
      { rows, inSize: relax.inSize, latents: L },
    );
    for (const layer of relax.layers) layer.forward(pass);
    // ∂r/∂input: the network's backward from 1 at every row. The gradients it leaves in ψ are not the
    // variance's, so they go back to zero.
    k.fill({ out: fc2.output.grad!.buffer }, { count: 2 * rows, value: 1 });
    for (const layer of [fc2, act, fc1]) layer.backward(pass);
    for (const p of [fc1.weight, fc1.bias, fc2.weight, fc2.bias]) {
      k.fill({ out: p.grad.buffer }, { count: p.length, value: 0 });
    }
    k.relax_signal(
      {
        perLatent: relax.perLatent.buffer,
        a,
        sample,
        draws: relax.draws.buffer,
        relaxed: relax.relaxed.buffer,
        dInputs: relax.inputs.grad!.buffer,
      },
      { rows, inSize: relax.inSize, latents: L, tau: est.tau },
    );
    k.relax_backward(
      {
        dA: this.projection.output.grad!.buffer,
        terms: relax.terms.buffer,
        perLatent: relax.perLatent.buffer,
        reward: above.likelihood.loss.buffer,
        relaxed: relax.relaxed.buffer,
        control: fc2.output.value.buffer,
        s: sValue,
      },
      { rows, latents: L, scale: s },
    );
    k.relax_control_grad(
      {
        dControl: fc2.output.grad!.buffer,
        perLatent: relax.perLatent.buffer,
        terms: relax.terms.buffer,
        s: sValue,
      },
      { rows, latents: L },
    );
    for (const layer of [fc2, act, fc1]) layer.backward(pass);
    k.relax_mixed_grad(
      {
        dW1: fc1.weight.grad.buffer,
        dW2: fc2.weight.grad.buffer,
        terms: relax.terms.buffer,
        h: fc1.output.value.buffer,
        W1: fc1.weight.value.buffer,
        W2: fc2.weight.value.buffer,
      },
      { rows: 2 * rows, inSize: relax.inSize, latents: L, hidden: RELAX_HIDDEN, slope: CONTROL_SLOPE },
    );
    // The first block of terms is 2ĝ·∂ĝ/∂s: its mean is s's gradient.
    k.mean({ out: relax.s.grad.buffer, x: relax.terms.buffer }, { count: rows * L, index: 0 });
  }

  /** The estimator of this pass: the pass's own for this layer, or the declared one. */
  #estimatorOf(pass: LatentPass): Estimator {
    return pass.estimators?.get(this.index) ?? this.declaration.estimator;
  }

  /** The prior's logits ρ: learned, or the zeros of the uniform prior. */
  #priorLogits(): PlannedBuffer {
    return this.prior ? this.prior.value : this.#uniformPrior!;
  }

  forward(pass: LatentPass): void {
    this.projection.forward(pass);
    const k = pass.k, K = this.evaluationsIn(pass), rows = rowsOf(pass, this.factor), L = this.latents;
    const a = this.projection.output.value.buffer;
    // The K copies of an example share its encoding; each draws its own code, or (DisARM, ARMS) all K are
    // drawn jointly.
    k.tile({ out: this.#aTiled.buffer, x: a }, { count: rows * L, times: K });
    const score = ESTIMATORS[this.#estimatorOf(pass).name].scoreFunction;
    const draw = !pass.evaluations || pass.forced?.has(this.index)
      ? "independent"
      : score?.learns === "relaxation network"
      ? "relax"
      : K > 1 && score?.coupled
      ? "coupled"
      : "independent";
    this.#drawBits(pass, rows * K * L, draw, K);
    if (this.kl) {
      k.kl_bernoulli_forward({ kl: this.kl.buffer, a, priorLogits: this.#priorLogits().buffer }, {
        batch: rows,
        latents: L,
      });
    }
  }

  /**
   * From the values a in `#aTiled`: the logit pairs, a code for each row — drawn independently, the K copies
   * of each latent jointly (DisARM, ARMS), or with RELAX's logistic variables z, z̃ — and the bits z = D[0].
   */
  #drawBits(
    pass: Pass,
    rows: number,
    draw: "independent" | "coupled" | "relax" = "independent",
    K = 1,
  ): void {
    const k = pass.k,
      a = this.projection.output.value.buffer,
      stream = layerStream(pass.rng, this.stochasticIndex);
    k.bernoulli_logits({ logits: this.#logits.buffer, a: this.#aTiled.buffer }, { count: rows });
    if (draw === "coupled") {
      k.bernoulli_coupled_sample({ sample: this.sample.buffer, a }, {
        count: rows / K,
        copies: K,
        ...stream,
      });
    } else if (draw === "relax") {
      const r = this.#relax!;
      k.relax_sample({ sample: this.sample.buffer, draws: r.draws.buffer, a }, { count: rows, ...stream });
    } else this.enqueueSample(pass, this.#logits, rows, 2);
    k.onehot_softmax(
      {
        yHard: this.#yHard.buffer,
        ySoft: this.#ySoft.buffer,
        logits: this.#logits.buffer,
        sample: this.sample.buffer,
      },
      { rows, n: 2 },
    );
    k.first_of_pairs({ out: this.output.value.buffer, pairs: this.#yHard.buffer }, { count: rows });
  }

  backwardToLogits(pass: LatentPass): void {
    const k = pass.k, K = this.evaluationsIn(pass), rows = rowsOf(pass, this.factor), L = this.latents;
    const est = this.#estimatorOf(pass), score = ESTIMATORS[est.name].scoreFunction;
    if (score) this.#scoreBackward(pass, est, score, rows, K);
    else this.#pathwiseBackward(pass, rows, K);
    const dA = this.projection.output.grad!.buffer, a = this.projection.output.value.buffer;
    if (this.kl && !pass.withoutKl) {
      // The KL to the prior trains a learned prior too (docs/math.md §4.8).
      const dPrior = this.prior ? this.prior.grad : this.#uniformPriorGrad!;
      k.kl_bernoulli_backward(
        { dA, dPrior: dPrior.buffer, a, priorLogits: this.#priorLogits().buffer },
        { batch: rows, latents: L, scale: 1 / rows },
      );
    }
  }

  /** The gradient of a from the gradient at the bits, through the estimator of the logit pairs. */
  #pathwiseBackward(pass: LatentPass, rows: number, K: number): void {
    const k = pass.k, L = this.latents, pairRows = rows * K * L;
    k.first_of_pairs_backward({ dPairs: this.#yHardGrad.buffer, dOut: this.output.grad!.buffer }, {
      count: pairRows,
    });
    this.enqueueEstimator(
      pass,
      { dLogits: this.#logitsGrad, logits: this.#logits, gHard: this.#yHardGrad },
      pairRows,
      2,
    );
    k.fill({ out: this.#aTiledGrad.buffer }, { count: pairRows, value: 0 });
    k.bernoulli_logits_backward({ dA: this.#aTiledGrad.buffer, dLogits: this.#logitsGrad.buffer }, {
      count: pairRows,
    });
    const dA = this.projection.output.grad!.buffer;
    k.sum_tiles({ out: dA, x: this.#aTiledGrad.buffer }, { count: rows * L, times: K, scale: 1 });
  }

  /**
   * The gradient of a from the losses of the K codes of each example (docs/math.md §2.9): the loss is
   * s·Σ f over the rows below, so its gradient in a is s·K times the estimate of ∂E[f]/∂a of each example.
   */
  #scoreBackward(pass: LatentPass, est: Estimator, score: ScoreFunction, rows: number, K: number): void {
    const at = `${layerArgument(this.index, "bernoulli")}.estimator`;
    checkEvaluations(est, K, `${layerArgument(this.index, "bernoulli")}.evaluations`);
    const s = pass.lossScale;
    if (s === undefined) {
      throw new Error(`${this.name}: a score-function backward needs the pass's lossScale`);
    }
    if (score.learns === "relaxation network") {
      this.#relaxBackward(pass, est, rows, s);
      return;
    }
    if (!this.#losses || !this.#score) {
      throw new ReinmaxInputError(
        at,
        `${est.name} weighs the losses of the layer's K codes: declare the model's last stochastic layer with a ` +
          `score-function estimator and K ≥ 2 codes per example to run one`,
      );
    }
    const k = pass.k, L = this.latents, a = this.projection.output.value.buffer;
    const { projections, alphaTerms, zeroAlpha } = this.#score;
    const gradZ = this.output.grad!.buffer, shape = { rows, latents: L, copies: K, gradScale: 1 / s };
    const alpha = this.alpha && est.name === this.declaration.estimator.name ? this.alpha : null;
    if (score.learns === "stein network") {
      this.#rodeoBackward(pass, est, rows, K, s);
      return;
    }
    if (score.learns === "weight") {
      k.bernoulli_double_cv_projections(
        { projections: projections.buffer, a, sample: this.sample.buffer, gradZ },
        shape,
      );
    }
    k.bernoulli_score_backward(
      {
        dA: this.projection.output.grad!.buffer,
        alphaTerms: alphaTerms.buffer,
        a,
        sample: this.sample.buffer,
        reward: this.#losses.buffer,
        gradZ,
        projections: projections.buffer,
        alpha: (alpha ? alpha.value : zeroAlpha).buffer,
      },
      { ...shape, estimator: score.code!, scale: s * K },
    );
    // α follows the gradient of the estimate's mean square, as its reference trains it.
    if (alpha) k.mean({ out: alpha.grad.buffer, x: alphaTerms.buffer }, { count: rows * L, index: 0 });
  }

  /**
   * RODEO (docs/math.md §2.9.5): the network's outputs at every code and its bit flips, the Stein terms, the
   * estimate; then the gradient of the estimate's mean square back through the network into ψ and (α, β).
   */
  #rodeoBackward(pass: LatentPass, est: Estimator, rows: number, K: number, s: number): void {
    const rodeo = this.#rodeo;
    if (!rodeo || est.name !== this.declaration.estimator.name) {
      throw new ReinmaxInputError(
        `${layerArgument(this.index, "bernoulli")}.estimator`,
        `RODEO trains a control network of the layer's: declare the layer with estimator("rodeo")`,
      );
    }
    const k = pass.k, L = this.latents, a = this.projection.output.value.buffer, sample = this.sample.buffer;
    const reward = this.#losses!.buffer, shape = { rows, latents: L, copies: K };
    const [fc1, act, fc2] = rodeo.layers, weights = rodeo.weights.value.buffer;
    const control = fc2.output.value.buffer, terms = rodeo.terms.buffer, gradOut = rodeo.gradOut.buffer;
    const alphaTerms = this.#score!.alphaTerms.buffer, betaTerms = rodeo.betaTerms.buffer;
    k.rodeo_control_inputs(
      { inputs: rodeo.inputs.buffer, sample, reward, gradZ: this.output.grad!.buffer },
      { ...shape, gradScale: 1 / s },
    );
    for (const layer of rodeo.layers) layer.forward(pass);
    k.rodeo_stein_terms({ terms, a, sample, control }, shape);
    k.rodeo_backward(
      { dA: this.projection.output.grad!.buffer, gradOut, a, sample, reward, control, terms, weights },
      { ...shape, scale: s * K },
    );
    k.rodeo_weight_terms({ alphaTerms, betaTerms, a, sample, control, terms, gradOut }, shape);
    k.rodeo_control_grad({ dControl: fc2.output.grad!.buffer, a, sample, terms, gradOut, weights }, shape);
    fc2.backward(pass);
    act.backward(pass);
    fc1.backward(pass);
    const count = rows * L;
    k.mean({ out: rodeo.weights.grad.buffer, x: alphaTerms }, { count, index: 0 });
    k.mean({ out: rodeo.weights.grad.buffer, x: betaTerms }, { count, index: 1 });
  }

  async enqueuePriorCodes(pass: Pass): Promise<void> {
    const L = this.latents, rows = pass.count * L;
    // The pair (a, 1 − a) with a = (ρ + 1)/2 gives P(z = 1) = σ(2a − 1) = σ(ρ), the prior's.
    const rho = this.prior ? await readF32(pass.backend, this.prior.value.buffer) : new Float32Array(L);
    const a = new Float32Array(rows);
    for (let i = 0; i < rows; i++) a[i] = (rho[i % L] + 1) / 2;
    pass.backend.write(this.#aTiled.buffer, a);
    this.#drawBits(pass, rows);
  }

  mostLikely(a: Float32Array, count: number): Int32Array {
    // P(z = 1) = σ(2a − 1) > ½ exactly when a > ½.
    return Int32Array.from(a.subarray(0, count * this.latents), (v) => (v > 0.5 ? 1 : 0));
  }
}
