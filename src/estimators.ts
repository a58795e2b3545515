/**
 * The gradient estimators for categorical samples (docs/math.md §2), as one table: {@link ESTIMATORS} holds,
 * for each estimator, its τ domain and default, its other hyper-parameters, the kernels its backward
 * launches and how their parameters are formed, its code in the fused polynomial step, and its documentation
 * line. Everything else reads the table: `estimator(name, options)` checks options against it, the models
 * enqueue a backward through it, the command line and the studio take their defaults from it. Adding an
 * estimator is a row here plus its kernels (asm/, shaders/, src/kernels.ts) and its float64 oracle.
 * @module
 */
import type { DeviceBuffer } from "./backend.ts";
import { ReinmaxInputError } from "./errors.ts";
import type { Launcher } from "./launcher.ts";
import type { RandomStream } from "./random.ts";
import { describe, requireFiniteNumber, requireInteger } from "./validate.ts";

/**
 * The buffers an estimator's backward reads and writes: all rows·n, but `sample` (one category per row).
 *
 * @example
 * ```ts
 * import type { DeviceBuffer, EstimatorBuffers } from "@reinmax/reinmax";
 * declare const buffer: (label: string) => DeviceBuffer;
 * const buffers: EstimatorBuffers = {
 *   dLogits: buffer("dLogits"), scratch: buffer("scratch"), logits: buffer("logits"),
 *   sample: buffer("sample"), gHard: buffer("gHard"), gSoft: buffer("gSoft"),
 * };
 * ```
 */
export interface EstimatorBuffers {
  /** ∂loss/∂logits, written. */
  readonly dLogits: DeviceBuffer;
  /** rows·n scratch (the Gumbel family's perturbed logits). */
  readonly scratch: DeviceBuffer;
  /** The logits θ. */
  readonly logits: DeviceBuffer;
  /** The drawn category of each row (i32). */
  readonly sample: DeviceBuffer;
  /** ∂loss/∂yHard, the gradient at the one-hot sample. */
  readonly gHard: DeviceBuffer;
  /** ∂loss/∂ySoft, the gradient at the softmax output. */
  readonly gSoft: DeviceBuffer;
}

/**
 * Where τ may lie for an estimator, and its default.
 *
 * @example
 * ```ts
 * import { ESTIMATORS, type TauDomain } from "@reinmax/reinmax";
 * const domain: TauDomain = ESTIMATORS.reinmax.tau;
 * console.log(domain.min, domain.default); // 1 "model": at least 1, by default the model's own τ
 * ```
 */
export interface TauDomain {
  /** The smallest τ the estimator is defined for (inclusive), beyond the float32 bounds {@link TAU_RANGE}. */
  readonly min: number;
  /** Why τ cannot be lower, when `min` is above the float32 bound. */
  readonly why?: string;
  /** The default: a number, or "model" for the τ the model is tuned for (e.g. 1.3 for the 10×30 VAE). */
  readonly default: number | "model";
  /** The range the paper tunes it in, for documentation. */
  readonly tuned: string;
}

/**
 * One row of the estimator table.
 *
 * @example
 * ```ts
 * import { ESTIMATORS, type EstimatorRow } from "@reinmax/reinmax";
 * const row: EstimatorRow = ESTIMATORS.grmck;
 * console.log(row.title, row.summary, row.k); // "GR-MCK" "…" { default: 10, max: 1048576 }
 * ```
 */
export interface EstimatorRow {
  /** Its name in the paper's tables, e.g. "ReinMax". */
  readonly title: string;
  /** What its backward computes, in one line (documentation, `--help`, the studio). */
  readonly summary: string;
  /** Where it comes from. */
  readonly reference: string;
  /** Its temperature. */
  readonly tau: TauDomain;
  /** The number of draws K per backward and its bound, for estimators that average K draws. */
  readonly k?: { readonly default: number; readonly max: number };
  /** The margin of the gapped logits, for the gapped estimator. */
  readonly gap?: { readonly default: number };
  /**
   * Enqueues the backward of `rows` rows of `n` categories: dLogits (written) from gHard and gSoft. `rng` is
   * the stream of the step, whose word 0 of each row drew the sample; later words are the estimator's. Null
   * for the score-function estimators, which run on Bernoulli latents from the losses of their K codes.
   */
  readonly enqueueBackward: PathwiseBackward | null;
  /** What a score-function estimator of Bernoulli latents needs; absent for the others. */
  readonly scoreFunction?: ScoreFunction;
  /**
   * Its code in the fused polynomial-programming step (the `estimator` parameter of poly_step), or null when
   * the step has no fused form of it and the task runs the unfused kernels instead.
   */
  readonly polyStep: number | null;
}

/** The backward of an estimator that carries the gradient at the sample to the logits. */
export type PathwiseBackward = (
  k: Launcher,
  buffers: EstimatorBuffers,
  shape: { readonly rows: number; readonly n: number },
  est: Estimator,
  rng: RandomStream,
) => void;

/**
 * A score-function estimator of Bernoulli latents (docs/math.md §2.9): unbiased, it weighs the scores
 * z − σ(θ) of a latent's codes by their losses f, so it runs on a `bernoulli` layer that draws the K codes per
 * example its `evaluations` allow (RELAX: one, scored also at two relaxations of it) and is the model's last
 * stochastic layer (every loss its codes change is the likelihood's).
 *
 * @example
 * ```ts
 * import { ESTIMATORS, type ScoreFunction } from "@reinmax/reinmax";
 * const disarm: ScoreFunction = ESTIMATORS.disarm.scoreFunction!;
 * console.log(disarm.coupled, disarm.evaluations); // true { min: 2, max: 2 }: one antithetic pair
 * ```
 */
export interface ScoreFunction {
  /**
   * Its code in `bernoulli_score_backward` (the BERNOULLI_SCORE_<NAME> constant of both backends), or null for
   * RODEO and RELAX, which run kernels of their own around their control networks.
   */
  readonly code: number | null;
  /** Whether its K codes are drawn jointly, negatively correlated (`bernoulli_coupled_sample`). */
  readonly coupled: boolean;
  /** The evaluations K it is defined for. */
  readonly evaluations: { readonly min: number; readonly max: number };
  /**
   * What it learns alongside the model, to lower its variance: nothing; the weight α of a control variate
   * (Double CV); RODEO's weights α, β and the network of its Stein control variates; or RELAX's scale s and
   * the network of its relaxed control variate. They are parameters of the layer, trained on the gradient of
   * the estimate's mean square.
   */
  readonly learns: "nothing" | "weight" | "stein network" | "relaxation network";
}

/** The backward of the Gumbel family: K conditional perturbations (K = 1 is STGS). */
const gumbelBackward: PathwiseBackward = (k, b, { rows, n }, est, rng) =>
  k.gumbel_backward(
    {
      dLogits: b.dLogits,
      perturbed: b.scratch,
      logits: b.logits,
      sample: b.sample,
      gHard: b.gHard,
      gSoft: b.gSoft,
    },
    { rows, n, tau: est.tau, k: est.k, key0: rng.key0, key1: rng.key1, stream: rng.stream, tag: rng.tag },
  );

/** The backward of ReinMax (docs/math.md §2.1). */
const reinmaxBackward: PathwiseBackward = (k, b, { rows, n }, est) =>
  k.reinmax_backward({ ...estimatorInputs(b), dLogits: b.dLogits }, { rows, n, tau: est.tau });

/** The backward of straight-through (docs/math.md §2.2). */
const stBackward: PathwiseBackward = (k, b, { rows, n }, est) =>
  k.st_backward({ ...estimatorInputs(b), dLogits: b.dLogits }, { rows, n, tau: est.tau });

/** The backward of gapped straight-through (docs/math.md §2.4). */
const gstBackward: PathwiseBackward = (k, b, { rows, n }, est) =>
  k.gst_backward({ ...estimatorInputs(b), dLogits: b.dLogits }, { rows, n, tau: est.tau, gap: est.gap });

/** The score-function estimators have no temperature; τ is accepted and unused. */
const SCORE_TAU: TauDomain = { min: 0, default: 1, tuned: "none (no relaxation)" };

const LIU_2023 =
  "Liu et al., Bridging Discrete and Backpropagation: Straight-Through and Beyond (NeurIPS 2023)";

// The rows; the type checker holds their keys to ESTIMATOR_NAMES, no more and no fewer.
const ROWS: Readonly<Record<EstimatorName, EstimatorRow>> = {
  reinmax: {
    title: "ReinMax",
    summary: "second-order accurate: 2·J(½(softmax(θ/τ) + D))g − ½·J(π)g, at the cost of ST",
    reference: LIU_2023,
    tau: {
      min: 1,
      why: "ReinMax is defined for τ ≥ 1, as in the reference package",
      default: "model",
      tuned: "1–2",
    },
    enqueueBackward: reinmaxBackward,
    polyStep: 0,
  },
  st: {
    title: "ST",
    summary: "straight-through, first order: (1/τ)·J(softmax(θ/τ))g",
    reference: "Bengio et al., Estimating or Propagating Gradients Through Stochastic Neurons (2013)",
    tau: { min: 0, default: "model", tuned: "1.3–1.5" },
    enqueueBackward: stBackward,
    polyStep: 1,
  },
  stgs: {
    title: "STGS",
    summary: "Gumbel-softmax straight-through: (1/τ)·J(softmax((θ + G)/τ))g, G the Gumbels behind the sample",
    reference: "Jang et al., Categorical Reparameterization with Gumbel-Softmax (ICLR 2017)",
    tau: { min: 0, default: 0.5, tuned: "0.3–0.7" },
    enqueueBackward: gumbelBackward,
    polyStep: 3,
  },
  gst: {
    title: "GST",
    summary: "gapped straight-through: (1/τ)·J(softmax(θ'/τ))g, θ' the sample lifted by `gap` above the rest",
    reference: "Fan et al., Training Discrete Deep Generative Models via Gapped Straight-Through (ICML 2022)",
    tau: { min: 0, default: 0.7, tuned: "0.5–1.0" },
    gap: { default: 1 },
    enqueueBackward: gstBackward,
    polyStep: 2,
  },
  grmck: {
    title: "GR-MCK",
    summary: "Gumbel-Rao: the mean of STGS over K Gumbel draws conditioned on the sample",
    reference:
      "Paulus et al., Rao-Blackwellizing the Straight-Through Gumbel-Softmax Gradient Estimator (ICLR 2021)",
    tau: { min: 0, default: 0.5, tuned: "0.3–0.7" },
    k: { default: 10, max: 1 << 20 },
    enqueueBackward: gumbelBackward,
    polyStep: 3,
  },
  rloo: {
    title: "RLOO",
    summary:
      "REINFORCE with each code's baseline the mean loss of the other K − 1: (1/K)·Σ_k (f_k − f̄_−k)(z_k − σ(θ))",
    reference: "Kool et al., Buy 4 REINFORCE Samples, Get a Baseline for Free! (ICLR workshop 2019)",
    tau: SCORE_TAU,
    enqueueBackward: null,
    polyStep: null,
    scoreFunction: { code: 0, coupled: false, evaluations: { min: 2, max: 64 }, learns: "nothing" },
  },
  disarm: {
    title: "DisARM",
    summary:
      "an antithetic pair, ½(f_1 − f_2)·(−1)^{z_2}·1[z_1 ≠ z_2]·σ(|θ|): ARM with the augmentation summed out",
    reference:
      "Dong, Mnih & Tucker, DisARM: An Antithetic Gradient Estimator for Binary Latent Variables (NeurIPS 2020)",
    tau: SCORE_TAU,
    enqueueBackward: null,
    polyStep: null,
    scoreFunction: { code: 1, coupled: true, evaluations: { min: 2, max: 2 }, learns: "nothing" },
  },
  arms: {
    title: "ARMS",
    summary:
      "K codes from a Dirichlet copula, REINFORCE with the mean baseline, unbiased by 1/((K − 1)(1 − ρ))",
    reference:
      "Dimitriev & Zhou, ARMS: Antithetic-REINFORCE-Multi-Sample Gradient for Binary Variables (ICML 2021)",
    tau: SCORE_TAU,
    enqueueBackward: null,
    polyStep: null,
    scoreFunction: { code: 2, coupled: true, evaluations: { min: 2, max: 64 }, learns: "nothing" },
  },
  doublecv: {
    title: "Double CV",
    summary: "RLOO plus a learned multiple α of a linear control variate from the other codes' ∂f/∂z",
    reference:
      "Titsias & Shi, Double Control Variates for Gradient Estimation in Discrete Latent Variable Models " +
      "(AISTATS 2022)",
    tau: SCORE_TAU,
    enqueueBackward: null,
    polyStep: null,
    scoreFunction: { code: 3, coupled: false, evaluations: { min: 2, max: 64 }, learns: "weight" },
  },
  rodeo: {
    title: "RODEO",
    summary:
      "RLOO plus Stein control variates from a small network trained alongside, at each code's bit flips",
    reference:
      "Shi, Zhou, Hwang, Titsias & Mackey, Gradient Estimation with Discrete Stein Operators (NeurIPS 2022)",
    tau: SCORE_TAU,
    enqueueBackward: null,
    polyStep: null,
    // The network runs at K(K − 1)(latents + 1) points per example: K beyond 8 outgrows the memory it is worth.
    scoreFunction: { code: null, coupled: false, evaluations: { min: 2, max: 8 }, learns: "stein network" },
  },
  relax: {
    title: "RELAX",
    summary:
      "REINFORCE with a learned relaxed control variate s·(f(σ(z/τ)) − r(x, z)): one code, three losses",
    reference:
      "Grathwohl, Choi, Wu, Roeder & Duvenaud, Backpropagation through the Void: Optimizing Control Variates " +
      "for Black-Box Gradient Estimation (ICLR 2018)",
    // The relaxation's temperature: the reference learns it from 0.1; here it stays where it is set.
    tau: { min: 0, default: 0.1, tuned: "0.1, where the reference starts learning it" },
    enqueueBackward: null,
    polyStep: null,
    // One code per example: f is evaluated at it and at its two relaxations σ(z/τ), σ(z̃/τ).
    scoreFunction: {
      code: null,
      coupled: false,
      evaluations: { min: 1, max: 1 },
      learns: "relaxation network",
    },
  },
};

/**
 * The name of an estimator: one of {@link ESTIMATOR_NAMES}, a key of {@link ESTIMATORS}.
 *
 * @example
 * ```ts
 * import { estimator, type EstimatorName } from "@reinmax/reinmax";
 * const name: EstimatorName = "stgs";
 * const est = estimator(name, { tau: 0.5 });
 * ```
 */
export type EstimatorName = (typeof ESTIMATOR_NAMES)[number];

/**
 * The estimators, in the order the paper compares them: one {@link EstimatorRow} each. See the module comment.
 *
 * @example
 * ```ts
 * import { ESTIMATORS } from "@reinmax/reinmax";
 * for (const [name, row] of Object.entries(ESTIMATORS)) {
 *   console.log(`${name} (${row.title}): τ ≥ ${row.tau.min}, tuned ${row.tau.tuned}; ${row.summary}`);
 * }
 * ```
 */
export const ESTIMATORS: Readonly<Record<EstimatorName, EstimatorRow>> = ROWS;

function estimatorInputs(
  b: EstimatorBuffers,
): { logits: DeviceBuffer; sample: DeviceBuffer; gHard: DeviceBuffer; gSoft: DeviceBuffer } {
  return { logits: b.logits, sample: b.sample, gHard: b.gHard, gSoft: b.gSoft };
}

/**
 * The estimators that carry the gradient at a sample back to its logits, on any stochastic layer and in
 * polynomial programming: every name of {@link ESTIMATOR_NAMES} but the score-function ones.
 *
 * @example
 * ```ts
 * import { PATHWISE_ESTIMATOR_NAMES } from "@reinmax/reinmax";
 * console.log(PATHWISE_ESTIMATOR_NAMES.join(" ")); // reinmax st stgs gst grmck
 * ```
 */
export const PATHWISE_ESTIMATOR_NAMES = ["reinmax", "st", "stgs", "gst", "grmck"] as const;

/**
 * The unbiased score-function estimators of Bernoulli latents (see {@link ScoreFunction}).
 *
 * @example
 * ```ts
 * import { SCORE_ESTIMATOR_NAMES } from "@reinmax/reinmax";
 * console.log(SCORE_ESTIMATOR_NAMES.join(" ")); // rloo disarm arms doublecv rodeo relax
 * ```
 */
export const SCORE_ESTIMATOR_NAMES = ["rloo", "disarm", "arms", "doublecv", "rodeo", "relax"] as const;

/**
 * Every estimator name: the relaxed ones in the order the paper compares them, then the unbiased
 * score-function estimators of Bernoulli latents (its Table 6).
 *
 * @example
 * ```ts
 * import { estimator, ESTIMATOR_NAMES } from "@reinmax/reinmax";
 * // Every estimator a model accepts, each at its default τ.
 * const all = ESTIMATOR_NAMES.map((name) => estimator(name));
 * ```
 */
export const ESTIMATOR_NAMES = [...PATHWISE_ESTIMATOR_NAMES, ...SCORE_ESTIMATOR_NAMES] as const;

/**
 * The name of an estimator that runs on any stochastic layer: one of {@link PATHWISE_ESTIMATOR_NAMES}.
 *
 * @example
 * ```ts
 * import type { PathwiseEstimatorName } from "@reinmax/reinmax";
 * const name: PathwiseEstimatorName = "reinmax";
 * ```
 */
export type PathwiseEstimatorName = (typeof PATHWISE_ESTIMATOR_NAMES)[number];

/**
 * The float32 bounds on τ of every estimator. The kernels compute softmax(θ/τ) and scale by 1/τ in float32:
 * below 0.01, a logit gap of 1 already makes the tempered softmax exactly one-hot, so no gradient passes the
 * samples; above 100, the gradient is scaled by less than 1/100 and the Gumbel family's relaxation is
 * uniform to float32 precision, so training silently learns nothing through the samples.
 *
 * @example
 * ```ts
 * import { TAU_RANGE } from "@reinmax/reinmax";
 * console.log(TAU_RANGE.min, TAU_RANGE.max); // 0.01 100
 * ```
 */
export const TAU_RANGE: { readonly min: number; readonly max: number } = { min: 0.01, max: 100 };

/**
 * Hyper-parameters of an estimator.
 *
 * @example
 * ```ts
 * import { estimator, type EstimatorOptions } from "@reinmax/reinmax";
 * const options: EstimatorOptions = { tau: 0.5, k: 100 }; // k: Gumbel-Rao's draws per backward
 * const gr = estimator("grmck", options);
 * ```
 */
export interface EstimatorOptions {
  /**
   * Temperature τ, in {@link TAU_RANGE} and at least the estimator's own minimum (ReinMax requires τ ≥ 1).
   * Default: the estimator's ({@link defaultTau}).
   */
  readonly tau?: number;
  /** Gumbel-Rao: number of conditional Gumbel draws K ≥ 1. Default 10. */
  readonly k?: number;
  /** Gapped ST: the margin of the gapped logits (> 0). Default 1. */
  readonly gap?: number;
}

/**
 * A validated estimator description.
 *
 * @example
 * ```ts
 * import { CategoricalVae, type Estimator, estimator, selectBackend } from "@reinmax/reinmax";
 * const st: Estimator = estimator("st", { tau: 1.4 }); // { name: "st", tau: 1.4, k: 1, gap: 1 }
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4", estimator: st });
 * ```
 */
export interface Estimator {
  /** Which estimator. */
  readonly name: EstimatorName;
  /** Temperature τ. */
  readonly tau: number;
  /** Conditional Gumbel draws per backward (1 for STGS; unused by the others). */
  readonly k: number;
  /** Gapped-ST margin (unused by the others). */
  readonly gap: number;
}

function rowOf(name: unknown): EstimatorRow {
  if (typeof name !== "string" || !Object.hasOwn(ESTIMATORS, name)) {
    throw new ReinmaxInputError(
      "estimator",
      `unknown estimator ${describe(name)}; expected one of ${ESTIMATOR_NAMES.join(", ")}`,
    );
  }
  return ESTIMATORS[name as EstimatorName];
}

/**
 * The τ an estimator uses when none is given: its row's default, or `modelTau` (the τ the model is tuned
 * for, default 1) where the row says "model".
 *
 * @example
 * ```ts
 * import { CATEGORICAL_CONFIGS, defaultTau } from "@reinmax/reinmax";
 * const modelTau = CATEGORICAL_CONFIGS["10x30"].tau;
 * console.log(defaultTau("reinmax", modelTau), defaultTau("stgs", modelTau)); // 1.3 0.5
 * ```
 */
export function defaultTau(name: EstimatorName, modelTau = 1): number {
  const tau = rowOf(name).tau.default;
  return tau === "model" ? modelTau : tau;
}

function checkTau(name: EstimatorName, row: EstimatorRow, value: unknown): number {
  const tau = requireFiniteNumber("tau", value);
  if (row.tau.min > TAU_RANGE.min && tau < row.tau.min) {
    throw new ReinmaxInputError(
      "tau",
      `${row.title} requires tau >= ${row.tau.min}${row.tau.why ? ` (${row.tau.why})` : ""}, got ${tau}`,
    );
  }
  if (!(tau >= TAU_RANGE.min && tau <= TAU_RANGE.max)) {
    const side = tau < TAU_RANGE.min
      ? `below ${TAU_RANGE.min} the float32 softmax(θ/τ) is one-hot for a logit gap of 1, so no gradient ` +
        `passes the samples`
      : `above ${TAU_RANGE.max} the gradient through the samples vanishes in float32`;
    throw new ReinmaxInputError(
      "tau",
      `expected a number in [${TAU_RANGE.min}, ${TAU_RANGE.max}] for ${name} (${side}), got ${tau}`,
    );
  }
  return tau;
}

/**
 * Validates and describes an estimator, e.g. `estimator("grmck", { tau: 0.5, k: 100 })`; options left out
 * take the table's defaults.
 *
 * @example
 * ```ts
 * import { BernoulliVae, estimator, selectBackend } from "@reinmax/reinmax";
 * const model = new BernoulliVae(await selectBackend(), { estimator: estimator("gst", { tau: 0.7, gap: 1 }) });
 * ```
 */
export function estimator(name: EstimatorName, options: EstimatorOptions = {}): Estimator {
  const row = rowOf(name);
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
  }
  const tau = checkTau(name, row, options.tau ?? defaultTau(name));
  const k = row.k ? requireInteger("k", options.k ?? row.k.default, 1, row.k.max) : 1;
  let gap = 1;
  if (row.gap) {
    gap = requireFiniteNumber("gap", options.gap ?? row.gap.default);
    if (!(gap > 0)) throw new ReinmaxInputError("gap", `expected a number > 0, got ${gap}`);
  }
  return Object.freeze({ name, tau, k, gap });
}

/**
 * An estimator description passed in by a caller, checked again: plain JavaScript (or a description that
 * crossed a worker boundary as a plain object) may hand over anything. Errors name `argument` and the field,
 * e.g. "estimator.tau".
 */
export function checkEstimator(value: unknown, argument = "estimator"): Estimator {
  if (typeof value !== "object" || value === null) {
    throw new ReinmaxInputError(
      argument,
      `expected a description made by estimator(…), got ${describe(value)}`,
    );
  }
  const v = value as Partial<Estimator>;
  try {
    return estimator(v.name as EstimatorName, { tau: v.tau, k: v.k, gap: v.gap });
  } catch (e) {
    if (!(e instanceof ReinmaxInputError)) throw e;
    const field = e.argument === "estimator" ? "name" : e.argument;
    throw new ReinmaxInputError(`${argument}.${field}`, e.message.slice(e.argument.length + 2), { cause: e });
  }
}

/**
 * The estimator a model uses: the one given (checked again), or ReinMax at the model's τ.
 */
export function modelEstimator(given: Estimator | undefined, modelTau: number): Estimator {
  return given === undefined
    ? estimator("reinmax", { tau: defaultTau("reinmax", modelTau) })
    : checkEstimator(given);
}

/**
 * The estimators' kernel codes as named constants: `POLY_STEP_<NAME>` = the row's `polyStep`, for every
 * estimator that has one, and `BERNOULLI_SCORE_<NAME>` = its `scoreFunction.code`. The build hands them to the
 * AssemblyScript compiler and the shader assembly declares them in WGSL, so both backends' poly_step and
 * bernoulli_score_backward read their codes from this table.
 */
export function estimatorConstants(): Record<string, number> {
  const constants: Record<string, number> = {};
  for (const name of ESTIMATOR_NAMES) {
    const { polyStep, scoreFunction } = ESTIMATORS[name];
    if (polyStep !== null) constants[`POLY_STEP_${name.toUpperCase()}`] = polyStep;
    if (scoreFunction?.code != null) constants[`BERNOULLI_SCORE_${name.toUpperCase()}`] = scoreFunction.code;
  }
  return constants;
}

/**
 * `est` itself when it carries a gradient through a sample (every estimator but the score-function ones),
 * else a ReinmaxInputError naming `argument`: the score-function estimators need K losses per example and
 * run only on Bernoulli latents.
 */
export function requirePathwise(est: Estimator, argument: string, where: string): Estimator {
  if (ESTIMATORS[est.name].enqueueBackward === null) {
    throw new ReinmaxInputError(
      argument,
      `${est.name} is a score-function estimator of Bernoulli latents (bernoulli layers, --model bernoulli); ` +
        `${where} takes ${PATHWISE_ESTIMATOR_NAMES.join(", ")}`,
    );
  }
  return est;
}

/**
 * Whether an estimator runs on a layer that draws `evaluations` codes per example: every relaxed one does, a
 * score-function one within its row's range (DisARM: exactly one antithetic pair; RELAX: one code).
 *
 * @example
 * ```ts
 * import { takesEvaluations } from "@reinmax/reinmax";
 * console.log(takesEvaluations("disarm", 2), takesEvaluations("disarm", 3), takesEvaluations("st", 3)); // true false true
 * ```
 */
export function takesEvaluations(name: EstimatorName, evaluations: number): boolean {
  const range = ESTIMATORS[name].scoreFunction?.evaluations;
  return range === undefined || (evaluations >= range.min && evaluations <= range.max);
}

/**
 * Checks that a Bernoulli layer's evaluations K suit its estimator ({@link takesEvaluations}); returns K.
 */
export function checkEvaluations(est: Estimator, evaluations: number, argument: string): number {
  const score = ESTIMATORS[est.name].scoreFunction;
  if (score && !takesEvaluations(est.name, evaluations)) {
    const range = score.evaluations.min === score.evaluations.max
      ? `exactly ${score.evaluations.min}`
      : `${score.evaluations.min} to ${score.evaluations.max}`;
    throw new ReinmaxInputError(
      argument,
      `${ESTIMATORS[est.name].title} weighs the losses of K codes per example and needs K = ${range}, ` +
        `got ${evaluations}`,
    );
  }
  return evaluations;
}

/** Enqueues the categorical sample of every row (independent of τ). */
export function enqueueSample(
  k: Launcher,
  sample: DeviceBuffer,
  logits: DeviceBuffer,
  shape: { readonly rows: number; readonly n: number },
  rng: RandomStream,
): void {
  k.categorical_sample({ sample, logits }, { rows: shape.rows, n: shape.n, ...rng });
}

/** Enqueues the estimator's backward: dLogits (written) from gHard = ∂L/∂yHard and gSoft = ∂L/∂ySoft. */
export function enqueueBackward(
  k: Launcher,
  est: Estimator,
  buffers: EstimatorBuffers,
  shape: { readonly rows: number; readonly n: number },
  rng: RandomStream,
): void {
  const backward = ESTIMATORS[requirePathwise(est, "estimator", "this backward").name].enqueueBackward!;
  backward(k, buffers, shape, est, rng);
}
