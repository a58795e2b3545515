/**
 * ReinMax and its baselines for TensorFlow.js models, as the paper's package offers them to PyTorch:
 * `const { yHard, ySoft } = reinmax(logits, tau)`. `logits` is a `tf.Tensor2D` (rows × categories); `yHard`
 * holds one-hot samples whose gradient with respect to the logits is the estimator's, `ySoft` is
 * softmax(logits) with its ordinary gradient. Everything runs on TF.js's own kernels through `tf.customGrad`,
 * so it works on any TF.js backend (cpu, wasm, webgl, webgpu); with a `seed`, the samples come from the SDK's
 * Philox streams and equal those of the SDK's WebAssembly and WebGPU backends (`sampleCategories` draws them
 * ahead, for GPU backends that should not read the logits back synchronously). The backward formulas are
 * docs/math.md §2.
 *
 * TF.js 4.22.0 is a peer: import `npm:@tensorflow/tfjs@4.22.0`, or `npm:@tensorflow/tfjs-core@4.22.0` and a
 * backend, in your program; both share the engine this module registers its gradients with. (Under Deno,
 * tfjs-core alone registers no gradients for TF.js's own ops, which a loss needs; the union package does.)
 *
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import { reinmax } from "./tfjs.ts";
 *
 * const logits = tf.variable(tf.tensor2d([[0.1, 2.0, -1.0], [0.5, 0.5, 0.5]]));
 * const target = tf.tensor2d([[1, 0, 0], [0, 0, 1]]);
 * const { value, grads } = tf.variableGrads(() => {
 *   const { yHard } = reinmax(logits, 1.3, { seed: 1 });
 *   return tf.sum(tf.mul(yHard, target)).neg() as tf.Scalar;
 * });
 * grads[logits.name].print(); // ReinMax's estimate of the loss's gradient: each row sums to 0
 * ```
 * @module
 */
// The full specifier, as src/data/fflate.ts imports fflate: users who import this module from a URL do not get
// this project's import map. The tests' union package depends on this same version, so both share one module.
// deno-lint-ignore no-import-prefix
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { estimator, type EstimatorName, type RandomStream, ReinmaxInputError } from "../mod.ts";
import { randomStream, TAG } from "../src/random.ts";
import { describe } from "../src/validate.ts";
import { categoricalSamples, gumbelExponentials } from "./host_sampling.ts";

/**
 * Options of the TF.js estimators: where the samples come from.
 *
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import { reinmax, type SampleSource } from "./tfjs.ts";
 * const logits = tf.randomNormal<tf.Rank.R2>([4, 8]);
 * const step = 17;
 * const seeded: SampleSource = { seed: 42, stream: step }; // the SDK's samples for seed 42 at this step
 * const forced: SampleSource = { sample: new Int32Array([0, 7, 3, 3]) }; // categories chosen by the caller
 * const a = reinmax(logits, 1.3, seeded);
 * const b = reinmax(logits, 1.3, forced);
 * ```
 */
export interface SampleSource {
  /**
   * Seed of the SDK's Philox streams, an integer in [0, 2^53): the samples are those the SDK's backends draw
   * for the same logits, seed and stream. Left out, every call draws from a fresh random seed, as the paper's
   * package draws from PyTorch's generator.
   */
  readonly seed?: number;
  /** The stream of the seed, an integer in [0, 2^32), e.g. the training step. Default 0. */
  readonly stream?: number;
  /**
   * The category of every row, one index in [0, categories) per row, instead of drawing: for callers who
   * sample themselves and for tests. The logits are then never read on the host.
   */
  readonly sample?: Int32Array;
}

/**
 * Options of {@link gst}: the sample source and the margin of the gapped logits.
 *
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import { gst, type GstOptions } from "./tfjs.ts";
 * const options: GstOptions = { gap: 2, seed: 3 };
 * const { yHard, sample } = gst(tf.randomNormal<tf.Rank.R2>([4, 8]), 0.7, options);
 * ```
 */
export interface GstOptions extends SampleSource {
  /** The margin by which the sampled category leads the other gapped logits (> 0). Default 1. */
  readonly gap?: number;
}

/**
 * A TF.js tensor of rank 2 (rows × categories) as the estimators see it: every `tf.Tensor2D` of TF.js 4.22.0
 * is one, whether it comes from `@tensorflow/tfjs` or `@tensorflow/tfjs-core`. The functions are generic in
 * it and return tensors of the type they were given, as TF.js's own ops are typed, so this module's API
 * names no TF.js type. Shape, rank and dtype are checked when called.
 *
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import type { Tensor2DLike } from "./tfjs.ts";
 * const logits: Tensor2DLike = tf.zeros([8, 4]) as tf.Tensor2D;
 * console.log(logits.shape, logits.dtype); // [8, 4] "float32"
 * ```
 */
export interface Tensor2DLike {
  /** The number of dimensions: 2. */
  readonly rank: number;
  /** [rows, categories]. */
  readonly shape: readonly number[];
  /** "float32". */
  readonly dtype: string;
  /** Whether the tensor has been disposed (then it cannot be used). */
  readonly isDisposed: boolean;
}

/**
 * What every estimator returns: the one-hot samples, the softmax and the drawn categories. `T` is the type of
 * the logits, `tf.Tensor2D` in a TypeScript program.
 *
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import { type CategoricalSample, st } from "./tfjs.ts";
 * const r: CategoricalSample<tf.Tensor2D> = st(tf.tensor2d([[0, 1, 2]]), 1.4, { seed: 5 });
 * r.yHard.print(); // one row, a 1 at r.sample[0]
 * r.ySoft.print(); // softmax([0, 1, 2])
 * ```
 */
export interface CategoricalSample<T extends Tensor2DLike = Tensor2DLike> {
  /** One-hot samples (rows × categories, float32); their gradient is the estimator's. */
  readonly yHard: T;
  /** softmax(logits) (rows × categories), with the ordinary softmax gradient. */
  readonly ySoft: T;
  /** The category of each row: the index of the 1 in that row of `yHard`. */
  readonly sample: Int32Array;
}

/**
 * ReinMax (Liu et al., NeurIPS 2023; second-order accurate, τ ≥ 1). The gradient reaching the logits from an
 * upstream gradient g on `yHard` is 2·J(π₁)g − ½·J(π)g with π = softmax(θ), π₁ = ½(softmax(θ/τ) + D) and
 * J(p)v = p ⊙ (v − ⟨p, v⟩) (docs/math.md §2.1); `tau` left out is the SDK's default for ReinMax.
 *
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import { reinmax } from "./tfjs.ts";
 * const logits = tf.variable(tf.randomNormal<tf.Rank.R2>([16, 10]));
 * const target = tf.oneHot(tf.fill([16], 3, "int32") as tf.Tensor1D, 10).toFloat();
 * const { grads } = tf.variableGrads(() => {
 *   const { yHard, ySoft } = reinmax(logits, 1.3);
 *   // A loss on the samples and one on the probabilities: both reach the logits.
 *   return tf.add(tf.losses.meanSquaredError(target, yHard), tf.mul(0.01, tf.sum(tf.square(ySoft)))) as tf.Scalar;
 * });
 * ```
 */
export function reinmax<T extends Tensor2DLike>(
  logits: T,
  tau?: number,
  options: SampleSource = {},
): CategoricalSample<T> {
  return categoricalSample("reinmax", logits, tau, options);
}

/**
 * Straight-through: the gradient reaching the logits from g on `yHard` is (1/τ)·J(softmax(θ/τ))g
 * (docs/math.md §2.2).
 *
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import { st } from "./tfjs.ts";
 * const logits = tf.variable(tf.randomNormal<tf.Rank.R2>([16, 10]));
 * const payoff = tf.range(0, 10).reshape([1, 10]); // category k pays k
 * const { grads } = tf.variableGrads(() => tf.sum(tf.mul(st(logits, 1.4).yHard, payoff)).neg() as tf.Scalar);
 * ```
 */
export function st<T extends Tensor2DLike>(
  logits: T,
  tau?: number,
  options: SampleSource = {},
): CategoricalSample<T> {
  return categoricalSample("st", logits, tau, options);
}

/**
 * Gumbel-softmax straight-through: (1/τ)·J(softmax((θ + G)/τ))g, with G one Gumbel vector drawn conditioned
 * on the sample, from the SDK's Philox stream exactly as its kernels draw it (docs/math.md §2.3, §2.5). The
 * Gumbels come from the seed even when `sample` is given, so give a seed to compare with the SDK.
 *
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import { stgs } from "./tfjs.ts";
 * const logits = tf.variable(tf.randomNormal<tf.Rank.R2>([16, 10]));
 * const payoff = tf.range(0, 10).reshape([1, 10]); // category k pays k
 * const { grads } = tf.variableGrads(() => tf.sum(tf.mul(stgs(logits, 0.5).yHard, payoff)).neg() as tf.Scalar);
 * ```
 */
export function stgs<T extends Tensor2DLike>(
  logits: T,
  tau?: number,
  options: SampleSource = {},
): CategoricalSample<T> {
  return categoricalSample("stgs", logits, tau, options);
}

/**
 * Gapped straight-through: (1/τ)·J(softmax(θ′/τ))g, θ′ the logits with the sampled category lifted to max θ
 * and every other capped at max θ − gap (docs/math.md §2.4).
 *
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import { gst } from "./tfjs.ts";
 * const logits = tf.variable(tf.randomNormal<tf.Rank.R2>([16, 10]));
 * const payoff = tf.range(0, 10).reshape([1, 10]); // category k pays k
 * const { grads } = tf.variableGrads(() => tf.sum(tf.mul(gst(logits, 0.7).yHard, payoff)).neg() as tf.Scalar);
 * ```
 */
export function gst<T extends Tensor2DLike>(
  logits: T,
  tau?: number,
  options: GstOptions = {},
): CategoricalSample<T> {
  return categoricalSample("gst", logits, tau, options);
}

/**
 * Draws the category of every row of `logits` exactly as the estimators draw it for the same seed and stream,
 * but reads the logits with `await logits.data()`. The estimators read them synchronously, which stalls a GPU
 * backend's queue (and which TF.js's WebGPU backend cannot do under Deno); draw first with this, then pass the
 * result as `sample`, with the same seed and stream for `stgs`'s Gumbels.
 *
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs@4.22.0";
 * import { reinmax, sampleCategories } from "./tfjs.ts";
 * const logits = tf.randomNormal<tf.Rank.R2>([16, 10]);
 * const step = 3;
 * const sample = await sampleCategories(logits, { seed: 1, stream: step });
 * const { yHard } = reinmax(logits, 1.3, { sample }); // the same categories as { seed: 1, stream: step }
 * ```
 */
export async function sampleCategories<T extends Tensor2DLike>(
  logits: T,
  options: Omit<SampleSource, "sample"> = {},
): Promise<Int32Array> {
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object or nothing, got ${describe(options)}`);
  }
  const theta = checkLogits(logits);
  const rng = randomStream(options.seed ?? freshSeed(), options.stream ?? 0, TAG.estimator);
  const n = theta.shape[1];
  return categoricalSamples(requireFinite(await theta.data() as Float32Array, n), n, rng);
}

/** The estimators this module offers: those whose backward needs only the logits and the sample. */
type LogitEstimator = Extract<EstimatorName, "reinmax" | "st" | "stgs" | "gst">;

function categoricalSample<T extends Tensor2DLike>(
  name: LogitEstimator,
  logits: T,
  tau: number | undefined,
  options: GstOptions,
): CategoricalSample<T> {
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object or nothing, got ${describe(options)}`);
  }
  // The SDK's own check, so τ has the same domain (and the same default) here as on its backends.
  const est = estimator(name, { tau, gap: options.gap });
  const theta = checkLogits(logits);
  const [rows, n] = theta.shape;
  // The Gumbel family needs the stream even for a given sample; without a seed, a fresh one per call.
  const rng = randomStream(options.seed ?? freshSeed(), options.stream ?? 0, TAG.estimator);
  const sample = options.sample === undefined
    ? categoricalSamples(readLogits(theta), n, rng)
    : checkSample(options.sample, rows, n);
  const backward = hardPathBackward(name, est.tau, est.gap, rows, n, rng);
  const yHard = straightThrough(theta, sample, backward);
  // The caller's tensor type, as TF.js's ops return theirs; both are tensors of the logits' shape.
  return { yHard: yHard as unknown as T, ySoft: softmaxWithGradient(theta) as unknown as T, sample };
}

/**
 * softmax(θ) row-wise with its gradient J(π)h written out: a program that imports only tfjs-core and a backend
 * in Deno has no gradients registered for TF.js's own ops (they come with the union package, or from
 * tfjs-core's ES modules through a bundler), and both outputs' gradients must reach the logits there too.
 */
function softmaxWithGradient(logits: tf.Tensor2D): tf.Tensor2D {
  const soft = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [theta, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const pi = tf.softmax(theta);
    save([pi]);
    return {
      value: pi,
      gradFunc: (h: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => softmaxJvp(saved[0] as tf.Tensor2D, h as tf.Tensor2D)),
    };
  });
  return soft(logits) as tf.Tensor2D;
}

/** (θ, g, D) → the hard path's gradient with respect to θ; called inside a tidy. */
type HardPathBackward = (theta: tf.Tensor2D, g: tf.Tensor2D, onehot: tf.Tensor2D) => tf.Tensor2D;

/**
 * The one-hot rows of `sample` as a tensor whose gradient with respect to `logits` is `backward`'s. The
 * custom gradient reads nothing back from the backend (it only uploads the one-hot rows), so on a GPU backend
 * it stays in the queue of kernels.
 */
function straightThrough(logits: tf.Tensor2D, sample: Int32Array, backward: HardPathBackward): tf.Tensor2D {
  const n = logits.shape[1];
  // Built on the host, where the samples are, rather than by tf.oneHot: TF.js 4.22's wasm backend writes the
  // int32 bits of 1 for a float32 oneHot, and a cast from int32 keeps int32 storage on the cpu backend.
  const values = new Float32Array(sample.length * n);
  sample.forEach((s, r) => values[r * n + s] = 1);
  const onehot = () => tf.tensor2d(values, [sample.length, n]);
  const hard = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [theta, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([theta]);
    return {
      value: onehot(),
      gradFunc: (g: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => backward(saved[0] as tf.Tensor2D, g as tf.Tensor2D, onehot())),
    };
  });
  return hard(logits) as tf.Tensor2D;
}

/** J(p)v = p ⊙ (v − ⟨p, v⟩) row-wise: the softmax Jacobian at value p applied to v. */
function softmaxJvp(p: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(p, tf.sub(v, tf.sum(tf.mul(p, v), 1, true)));
}

function hardPathBackward(
  name: LogitEstimator,
  tau: number,
  gap: number,
  rows: number,
  n: number,
  rng: RandomStream,
): HardPathBackward {
  const tempered = (z: tf.Tensor2D) => tf.softmax(tf.div(z, tau)) as tf.Tensor2D;
  switch (name) {
    case "reinmax":
      // 2·J(π₁)g − ½·J(π)g with 2π₁ = a + D, and ⟨π₁, g⟩ = ½⟨a + D, g⟩ (docs/math.md §2.1): no 1/τ.
      return (theta, g, onehot) => {
        const twicePi1 = tf.add(tempered(theta), onehot);
        const pi1g = tf.mul(0.5, tf.sum(tf.mul(twicePi1, g), 1, true));
        return tf.sub(tf.mul(twicePi1, tf.sub(g, pi1g)), tf.mul(0.5, softmaxJvp(tf.softmax(theta), g)));
      };
    case "st":
      return (theta, g) => tf.div(softmaxJvp(tempered(theta), g), tau);
    case "gst":
      return (theta, g, onehot) => {
        const top = tf.max(theta, 1, true);
        const gapped = tf.where(
          tf.cast(onehot, "bool"),
          tf.broadcastTo(top, theta.shape),
          tf.minimum(theta, tf.sub(top, gap)),
        ) as tf.Tensor2D;
        return tf.div(softmaxJvp(tempered(gapped), g), tau);
      };
    case "stgs": {
      // Drawn now, so the backward reads no host state that a later call could change.
      const exponentials = gumbelExponentials(rows, n, rng);
      return (theta, g, onehot) => {
        const perturbed = conditionalPerturbed(theta, onehot, tf.tensor2d(exponentials, [rows, n]));
        return tf.div(softmaxJvp(tempered(perturbed), g), tau);
      };
    }
  }
}

/**
 * θ + G given argmax(θ + G) = s, shifted by −max θ (docs/math.md §2.5): with w = exp(θ − m), Z = Σ w,
 * ℓ_s = log Z − log E_s and ℓ_i = −log(E_i/w_i + E_s/Z) otherwise, in the kernels' form.
 */
function conditionalPerturbed(theta: tf.Tensor2D, onehot: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
  const shifted = tf.sub(theta, tf.max(theta, 1, true));
  const logZ = tf.logSumExp(shifted, 1, true);
  const eSample = tf.sum(tf.mul(e, onehot), 1, true);
  const others = tf.neg(
    tf.log(tf.add(tf.mul(e, tf.exp(tf.neg(shifted))), tf.mul(eSample, tf.exp(tf.neg(logZ))))),
  );
  const atSample = tf.broadcastTo(tf.sub(logZ, tf.log(eSample)), theta.shape);
  return tf.where(tf.cast(onehot, "bool"), atSample, others) as tf.Tensor2D;
}

function checkLogits(logits: unknown): tf.Tensor2D {
  if (!(logits instanceof tf.Tensor)) {
    throw new ReinmaxInputError(
      "logits",
      `expected a tf.Tensor2D (rows × categories), got ${describe(logits)}`,
    );
  }
  if (logits.isDisposed) throw new ReinmaxInputError("logits", "the tensor has been disposed");
  if (logits.rank !== 2) {
    throw new ReinmaxInputError(
      "logits",
      `expected a rank-2 tensor (rows × categories), got shape [${logits.shape.join(", ")}]`,
    );
  }
  if (logits.dtype !== "float32") {
    throw new ReinmaxInputError("logits", `expected a float32 tensor, got ${logits.dtype}`);
  }
  const [rows, n] = logits.shape;
  if (rows < 1 || n < 2) {
    throw new ReinmaxInputError(
      "logits",
      `expected at least one row of at least 2 categories, got shape [${rows}, ${n}]`,
    );
  }
  return logits as tf.Tensor2D;
}

/**
 * The logits on the host: the one read the forward pass makes. A backend that cannot read synchronously fails
 * here, and the error says how to sample without that read.
 */
function readLogits(logits: tf.Tensor2D): Float32Array {
  let values: Float32Array;
  try {
    values = logits.dataSync() as Float32Array;
  } catch (cause) {
    throw new Error(
      `reading the logits back to draw the samples failed on TF.js's "${tf.getBackend()}" backend; draw them ` +
        `with \`await sampleCategories(logits, { seed, stream })\` and pass them as \`sample\``,
      { cause },
    );
  }
  return requireFinite(values, logits.shape[1]);
}

/** `values` (rows of n logits), rejected where a value is not finite: no category can be drawn there. */
function requireFinite(values: Float32Array, n: number): Float32Array {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new ReinmaxInputError(
      "logits",
      `expected finite values to sample from, got ${values[bad]} at row ${Math.floor(bad / n)}, ` +
        `category ${bad % n}`,
    );
  }
  return values;
}

function checkSample(sample: unknown, rows: number, n: number): Int32Array {
  if (!(sample instanceof Int32Array) || sample.length !== rows) {
    const given = sample instanceof Int32Array ? `${sample.length}` : describe(sample);
    throw new ReinmaxInputError(
      "sample",
      `expected an Int32Array of ${rows} indices (one per row), got ${given}`,
    );
  }
  const bad = sample.findIndex((s) => s < 0 || s >= n);
  if (bad >= 0) {
    throw new ReinmaxInputError("sample", `index ${sample[bad]} at row ${bad} is outside [0, ${n})`);
  }
  return sample.slice();
}

/** A random seed in [0, 2^53) for a call that gave none. */
function freshSeed(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1];
}
