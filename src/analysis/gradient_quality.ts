/**
 * How good an estimator's gradient is (docs/math.md §6.4). A VAE small enough to enumerate its codes — the
 * categorical 8×4 has 8⁴ = 4,096, a Bernoulli VAE of 12 latents 2¹² — has an exact gradient of the expected
 * reconstruction term with respect to the encoder's outputs; M draws of an estimator are judged against it by
 * the relative error of their mean, their spread relative to their mean, the cosine between mean and exact
 * gradient, and a χ² statistic that says whether the error is what the spread of M unbiased draws explains.
 * @module
 */
import { ReinmaxInputError } from "../errors.ts";
import { type Estimator, estimator as makeEstimator } from "../estimators.ts";
import { describe, requireInteger } from "../validate.ts";
import { BernoulliVae } from "../models/bernoulli_vae.ts";
import { CategoricalVae } from "../models/categorical_vae.ts";

/**
 * The most codes an enumeration visits: C^L of the model.
 *
 * @example
 * ```ts
 * import { CATEGORICAL_CONFIGS, MAX_CODES } from "@reinmax/reinmax";
 * const { categories, latents } = CATEGORICAL_CONFIGS["8x4"];
 * console.log(categories ** latents <= MAX_CODES); // true: 4,096 codes to enumerate
 * ```
 */
export const MAX_CODES = 1 << 16;

/** The per-latent softmax of the encoder's logits, in float64. */
function posteriors(logits: Float32Array, categories: number): Float64Array {
  const q = new Float64Array(logits.length);
  for (let r = 0; r < logits.length; r += categories) {
    let max = -Infinity, total = 0;
    for (let c = 0; c < categories; c++) max = Math.max(max, logits[r + c]);
    for (let c = 0; c < categories; c++) total += q[r + c] = Math.exp(logits[r + c] - max);
    for (let c = 0; c < categories; c++) q[r + c] /= total;
  }
  return q;
}

/** A VAE whose estimators the analysis judges. */
export type AnalysedVae = CategoricalVae | BernoulliVae;

function checkModel(model: AnalysedVae, images: unknown, count: number): void {
  if (typeof model !== "object" || model === null || typeof model.reconstructionLoss !== "function") {
    throw new ReinmaxInputError(
      "model",
      `expected a CategoricalVae or a BernoulliVae, got ${describe(model)}`,
    );
  }
  if (model instanceof BernoulliVae && model.binarize !== "none") {
    // A binarising model's encoder sees freshly drawn bits each pass, the exact gradient one draw of them.
    throw new ReinmaxInputError(
      "model",
      `the analysis compares draws on the same inputs: give a BernoulliVae with binarize: "none" (and binary ` +
        `images, if the model should see bits), not "${model.binarize}"`,
    );
  }
  requireInteger("count", count, 1, model.batch);
  if (!(images instanceof Float32Array) || images.length < count * model.inputSize) {
    throw new ReinmaxInputError(
      "images",
      `expected ${count} images of ${model.inputSize} pixels, got ${describe(images)}`,
    );
  }
}

/**
 * The exact gradient of Σ_i E_{z∼q(z|x_i)}[R(x_i, z)] with respect to the encoder's outputs for `count` images,
 * R the reconstruction term: every code's R, weighted by its probability P(z) = Π_l q_l(z_l), times its score.
 * Categorical: the logits (count × latents × categories), ∂log P(z)/∂θ_lc = 1[z_l = c] − q_lc. Bernoulli: the
 * values a (count × latents), P(z_l = 1) = p_l = σ(2a_l − 1), ∂log P(z)/∂a_l = 2(z_l − p_l). Needs at most
 * MAX_CODES codes (categories^latents, or 2^latents).
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, exactReconstructionGradient, FIXTURES_URL, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const images = allImages(data.test).subarray(0, 10 * 784);
 * const exact = await exactReconstructionGradient(model, images, 10); // 10 × 4 × 8 values, float64
 * ```
 */
export async function exactReconstructionGradient(
  model: AnalysedVae,
  images: Float32Array,
  count: number,
): Promise<Float64Array> {
  checkModel(model, images, count);
  if (model instanceof CategoricalVae) {
    const C = model.categories, q = posteriors(await model.encode(images, count), C);
    return await enumeratedGradient(
      model,
      images,
      count,
      C,
      q,
      (x, codes, n) => model.reconstructionLoss(x, codes, n),
    );
  }
  // A Bernoulli latent is the category pair of logits (a, 1 − a), category 0 the bit 1 (docs/math.md §4.10):
  // its gradient in a is the pair's ∂/∂θ₀ − ∂/∂θ₁.
  const p = await model.latentLogits(images, count);
  const q = new Float64Array(2 * p.length);
  p.forEach((a, j) => {
    q[2 * j] = 1 / (1 + Math.exp(-(2 * a - 1)));
    q[2 * j + 1] = 1 - q[2 * j];
  });
  const pairs = await enumeratedGradient(
    model,
    images,
    count,
    2,
    q,
    (x, codes, n) => model.reconstructionLoss(x, codes.map((c) => 1 - c), n),
  );
  return Float64Array.from(p, (_, j) => pairs[2 * j] - pairs[2 * j + 1]);
}

/**
 * The enumeration behind {@link exactReconstructionGradient}: the gradient with respect to the logits of every
 * latent of `categories` categories whose probabilities are `q` (count × latents × categories), R of each code
 * from `losses` (the images replicated once per code; `codes` holds latents categories per code).
 */
async function enumeratedGradient(
  model: AnalysedVae,
  images: Float32Array,
  count: number,
  C: number,
  q: Float64Array,
  losses: (replicated: Float32Array, codes: Int32Array, n: number) => Promise<Float32Array>,
): Promise<Float64Array> {
  const { latents: L, inputSize: D } = model;
  const codes = C ** L;
  if (codes > MAX_CODES) {
    throw new ReinmaxInputError(
      "model",
      `${C}^${L} = ${codes} codes are too many to enumerate (at most ${MAX_CODES})`,
    );
  }
  const all = new Int32Array(codes * L);
  for (let k = 0; k < codes; k++) {
    for (let l = 0, rest = k; l < L; l++, rest = Math.floor(rest / C)) all[k * L + l] = rest % C;
  }
  const gradient = new Float64Array(count * L * C);
  const replicated = new Float32Array(codes * D);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < codes; k++) replicated.set(images.subarray(i * D, (i + 1) * D), k * D);
    const R = await losses(replicated, all, codes);
    const offset = i * L * C;
    // E = Σ P·R; the gradient at (l, c) is Σ_{z: z_l = c} P·R − q_lc·E.
    let expected = 0;
    for (let k = 0; k < codes; k++) {
      let p = 1;
      for (let l = 0; l < L; l++) p *= q[offset + l * C + all[k * L + l]];
      const weighted = p * R[k];
      expected += weighted;
      for (let l = 0; l < L; l++) gradient[offset + l * C + all[k * L + l]] += weighted;
    }
    for (let j = 0; j < L * C; j++) gradient[offset + j] -= q[offset + j] * expected;
  }
  return gradient;
}

/**
 * The mean and standard deviation, per logit, of M draws of a gradient.
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, estimator, estimatorGradientDraws, FIXTURES_URL, type GradientDraws, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const images = allImages(data.test).subarray(0, 10 * 784);
 * const draws: GradientDraws = await estimatorGradientDraws(model, images, 10, estimator("st", { tau: 1 }), 256);
 * console.log(draws.draws, draws.mean.length, draws.std.length); // 256 320 320
 * ```
 */
export interface GradientDraws {
  /** The mean of the draws, per logit. */
  readonly mean: Float64Array;
  /** Their sample standard deviation, per logit. */
  readonly std: Float64Array;
  /** How many draws, M. */
  readonly draws: number;
}

/**
 * M draws of an estimator's gradient of the reconstruction term (see `CategoricalVae.reconstructionGradient`
 * and `BernoulliVae.reconstructionGradient`), from streams of the analysis tag; for a categorical VAE,
 * "reinforce" is the score function R(x, z)·(e_z − q) with no baseline, which is unbiased. A Bernoulli VAE
 * runs every estimator of the table at its K evaluations, the unbiased score-function ones included.
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, estimator, estimatorGradientDraws, FIXTURES_URL, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const images = allImages(data.test).subarray(0, 10 * 784);
 * const reinmaxDraws = await estimatorGradientDraws(model, images, 10, estimator("reinmax", { tau: 1.3 }), 1024);
 * const reinforceDraws = await estimatorGradientDraws(model, images, 10, "reinforce", 1024); // unbiased
 * ```
 */
export async function estimatorGradientDraws(
  model: AnalysedVae,
  images: Float32Array,
  count: number,
  estimator: Estimator | "reinforce",
  draws: number,
): Promise<GradientDraws> {
  checkModel(model, images, count);
  requireInteger("draws", draws, 2);
  if (model instanceof BernoulliVae) {
    if (estimator === "reinforce") {
      throw new ReinmaxInputError(
        "estimator",
        `"reinforce" is the categorical analysis's baseline-free score function; for Bernoulli latents use ` +
          `estimator("rloo") or another score-function estimator of the table`,
      );
    }
    return await bernoulliDraws(model, images, count, estimator, draws);
  }
  const { categories: C, latents: L } = model;
  const size = count * L * C;
  const q = estimator === "reinforce" ? posteriors(await model.encode(images, count), C) : null;
  // Any estimator draws the codes; REINFORCE then needs only their R.
  const sampler = estimator === "reinforce" ? makeEstimator("st") : estimator;
  const moments = new Moments(size), g = new Float64Array(size);
  for (let m = 0; m < draws; m++) {
    const { gradient, sample } = await model.reconstructionGradient(images, count, {
      estimator: sampler,
      stream: m,
    });
    if (q) {
      const losses = await model.reconstructionLoss(images, sample, count);
      for (let i = 0; i < count; i++) {
        for (let l = 0; l < L; l++) {
          const row = (i * L + l) * C;
          for (let c = 0; c < C; c++) {
            g[row + c] = losses[i] * ((sample[i * L + l] === c ? 1 : 0) - q[row + c]);
          }
        }
      }
    } else g.set(gradient);
    moments.add(g);
  }
  return moments.draws();
}

/**
 * M draws for a Bernoulli VAE, as many per pass as copies of the `count` images fit in the model's batch: every
 * row of a pass draws its own codes (its own Philox rows), so each copy's gradient is an independent draw.
 */
async function bernoulliDraws(
  model: BernoulliVae,
  images: Float32Array,
  count: number,
  est: Estimator,
  draws: number,
): Promise<GradientDraws> {
  const size = count * model.latents, D = model.inputSize;
  const copies = Math.floor(model.batch / count);
  const replicated = new Float32Array(copies * count * D);
  for (let c = 0; c < copies; c++) replicated.set(images.subarray(0, count * D), c * count * D);
  const moments = new Moments(size);
  for (let pass = 0; moments.count < draws; pass++) {
    const { gradient } = await model.reconstructionGradient(replicated, copies * count, {
      estimator: est,
      stream: pass,
    });
    for (let c = 0; c < copies && moments.count < draws; c++) {
      moments.add(gradient.subarray(c * size, (c + 1) * size));
    }
  }
  return moments.draws();
}

/** Welford's running mean and sum of squared deviations of draws of a vector. */
class Moments {
  readonly #mean: Float64Array;
  readonly #m2: Float64Array;
  count = 0;

  constructor(size: number) {
    this.#mean = new Float64Array(size);
    this.#m2 = new Float64Array(size);
  }

  add(g: ArrayLike<number>): void {
    this.count++;
    for (let j = 0; j < this.#mean.length; j++) {
      const delta = g[j] - this.#mean[j];
      this.#mean[j] += delta / this.count;
      this.#m2[j] += delta * (g[j] - this.#mean[j]);
    }
  }

  draws(): GradientDraws {
    const std = this.#m2.map((s) => Math.sqrt(s / (this.count - 1)));
    return { mean: this.#mean, std, draws: this.count };
  }
}

/**
 * The three measures of the paper's analysis.
 *
 * @example
 * ```ts
 * import { compareGradients, type GradientComparison } from "@reinmax/reinmax";
 * const exact = Float64Array.of(1, 0);
 * const c: GradientComparison = compareGradients(exact, {
 *   mean: Float64Array.of(1, 1),
 *   std: Float64Array.of(0, 0),
 *   draws: 1,
 * });
 * console.log(c.relativeError, c.cosine, c.degrees); // 1 0.7071… 0: draws that never vary count for no χ²
 * ```
 */
export interface GradientComparison {
  /** ‖exact − mean‖ / ‖exact‖: the bias of the estimator, relative. */
  readonly relativeError: number;
  /** ‖std‖ / ‖mean‖: the spread of one draw, relative to the signal. */
  readonly relativeStd: number;
  /** cos(exact, mean). */
  readonly cosine: number;
  /**
   * M·Σ_j ((mean_j − exact_j)/std_j)²: for an unbiased estimator about χ² with {@link degrees} degrees of
   * freedom (the error is what the spread of M draws explains); a biased one grows with M. Coordinates whose
   * spread is below CHI_SQUARE_FLOOR of the largest are left out: a latent that is all but certain has a
   * score of almost 0, and there float32 rounding, not sampling, sets the error.
   */
  readonly chiSquare: number;
  /** The coordinates in {@link chiSquare}. */
  readonly degrees: number;
}

/** The smallest spread, relative to the largest, of a coordinate that counts in the χ² statistic. */
const CHI_SQUARE_FLOOR = 1e-3;

/**
 * The value that a χ² variable of `degrees` degrees of freedom exceeds with probability 0.001, by Wilson and
 * Hilferty's cube-root normal approximation (within 1% from 10 degrees on): the bound an unbiased
 * estimator's {@link GradientComparison.chiSquare} stays under but once in a thousand seeds.
 *
 * @example
 * ```ts
 * import { chiSquareBound } from "@reinmax/reinmax";
 * console.log(chiSquareBound(24).toFixed(1)); // 51.2
 * ```
 */
export function chiSquareBound(degrees: number): number {
  const z = 3.090232306167813; // the standard normal's 0.999 quantile
  const v = 2 / (9 * degrees);
  return degrees * (1 - v + z * Math.sqrt(v)) ** 3;
}

/**
 * Compares M draws with the exact gradient.
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, compareGradients, estimator, estimatorGradientDraws, exactReconstructionGradient, FIXTURES_URL, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const images = allImages(data.test).subarray(0, 10 * 784);
 * const exact = await exactReconstructionGradient(model, images, 10);
 * const draws = await estimatorGradientDraws(model, images, 10, estimator("reinmax", { tau: 1.3 }), 1024);
 * const { relativeError, relativeStd, cosine } = compareGradients(exact, draws);
 * ```
 */
export function compareGradients(exact: Float64Array, draws: GradientDraws): GradientComparison {
  let diff = 0, e2 = 0, m2 = 0, s2 = 0, dot = 0, chiSquare = 0, degrees = 0;
  const floor = CHI_SQUARE_FLOOR * draws.std.reduce((m, s) => Math.max(m, s), 0);
  for (let j = 0; j < exact.length; j++) {
    const error = exact[j] - draws.mean[j];
    diff += error ** 2;
    e2 += exact[j] ** 2;
    m2 += draws.mean[j] ** 2;
    s2 += draws.std[j] ** 2;
    dot += exact[j] * draws.mean[j];
    if (draws.std[j] > floor) {
      chiSquare += draws.draws * (error / draws.std[j]) ** 2;
      degrees++;
    }
  }
  return {
    relativeError: Math.sqrt(diff / e2),
    relativeStd: Math.sqrt(s2 / m2),
    cosine: dot / Math.sqrt(e2 * m2),
    chiSquare,
    degrees,
  };
}

/**
 * One row of the gradient-quality table.
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, estimator, FIXTURES_URL, type GradientQuality, gradientQuality, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const images = allImages(data.test).subarray(0, 10 * 784);
 * const rows: GradientQuality[] = await gradientQuality(model, images, 10, [estimator("st", { tau: 1 })], 256);
 * for (const r of rows) console.log(r.estimator, r.tau, r.draws, r.relativeError, r.relativeStd, r.cosine);
 * ```
 */
export interface GradientQuality extends GradientComparison {
  /** The estimator's name. */
  readonly estimator: string;
  /** Its temperature (NaN for REINFORCE). */
  readonly tau: number;
  /** M. */
  readonly draws: number;
}

/**
 * The table: each estimator's M draws against the exact gradient of the same images. `onRow` is called as
 * each row is done (the analysis takes minutes: M backward passes per estimator).
 *
 * @example
 * ```ts
 * import { allImages, CategoricalVae, estimator, FIXTURES_URL, gradientQuality, loadFixture, selectBackend } from "@reinmax/reinmax";
 * const data = await loadFixture("fashion-mnist-10k", (name) => fetch(new URL(name, FIXTURES_URL)));
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const images = allImages(data.test).subarray(0, 10 * 784);
 * const table = await gradientQuality(model, images, 10, [
 *   estimator("reinmax", { tau: 1.3 }),
 *   estimator("st", { tau: 1.3 }),
 *   estimator("stgs", { tau: 0.5 }),
 *   "reinforce",
 * ], 1024, (row, done, of) => console.log(`${done}/${of}: ${row.estimator} τ=${row.tau}`));
 * console.table(table); // estimator, τ, relative error, relative std, cosine
 * ```
 */
export async function gradientQuality(
  model: AnalysedVae,
  images: Float32Array,
  count: number,
  estimators: readonly (Estimator | "reinforce")[],
  draws: number,
  onRow?: (row: GradientQuality, done: number, of: number) => void,
): Promise<GradientQuality[]> {
  if (onRow !== undefined && typeof onRow !== "function") {
    throw new ReinmaxInputError("onRow", `expected a function, got ${describe(onRow)}`);
  }
  const exact = await exactReconstructionGradient(model, images, count);
  const rows: GradientQuality[] = [];
  for (const est of estimators) {
    const comparison = compareGradients(
      exact,
      await estimatorGradientDraws(model, images, count, est, draws),
    );
    const row = {
      estimator: est === "reinforce" ? "reinforce" : est.name,
      tau: est === "reinforce" ? NaN : est.tau,
      draws,
      ...comparison,
    };
    rows.push(row);
    onRow?.(row, rows.length, estimators.length);
  }
  return rows;
}
