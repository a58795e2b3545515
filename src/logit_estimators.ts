/**
 * The estimators on raw logits, mirroring the PyPI `reinmax(logits, tau) -> (y_hard, y_soft)`:
 * `reinmax(backend, logits, { n, tau })` and friends draw one sample per row on the backend and return the
 * one-hot samples, the softmax and a `backward` closure that runs the estimator's kernels (src/estimators.ts
 * says which). REINFORCE takes a loss value per row instead of a gradient.
 * @module
 */
import { allocateAll, type BufferRequest, checkCapacity } from "./allocation.ts";
import { type Backend, readF32, readI32 } from "./backend.ts";
import { cleanUp, ReinmaxInputError } from "./errors.ts";
import {
  enqueueBackward,
  enqueueSample,
  estimator,
  type EstimatorBuffers,
  type EstimatorName,
  type EstimatorOptions,
  requirePathwise,
} from "./estimators.ts";
import { launcher } from "./launcher.ts";
import { type RandomStream, randomStream, TAG } from "./random.ts";
import {
  describe,
  requireAllFinite,
  requireBackend,
  requireFloat32Array,
  requireInteger,
  requireObject,
} from "./validate.ts";

/**
 * Options of the low-level estimator functions.
 *
 * @example
 * ```ts
 * import { type SampleOptions, selectBackend, st } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const options: SampleOptions = { n: 4, tau: 1.4, seed: 7, stream: 3 }; // rows of 4 categories
 * const r = await st(backend, new Float32Array(8), options); // 2 rows
 * ```
 */
export interface SampleOptions extends EstimatorOptions {
  /** Categories per row (n ≥ 2); `logits.length` must be a multiple of it. */
  readonly n: number;
  /** Seed of the random stream (integer in [0, 2^53)). Default 0. */
  readonly seed?: number;
  /** Stream index (e.g. the step), so one seed gives many independent draws. Default 0. */
  readonly stream?: number;
  /** Forces the drawn category of every row instead of sampling (one index in [0, n) per row). */
  readonly sample?: Int32Array;
}

/**
 * One draw: the one-hot sample, the softmax, the indices, and the estimator's backward.
 *
 * @example
 * ```ts
 * import { type EstimatorResult, reinmax, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const r: EstimatorResult = await reinmax(backend, new Float32Array([0, 1, 2]), { n: 3, tau: 1.3 });
 * const onehot = r.yHard; // [0, 0, 1] when category 2 was drawn (r.sample[0] === 2)
 * const dLogits = await r.backward(new Float32Array([1, 0, -1])); // ∂L/∂yHard → ∂L/∂logits
 * ```
 */
export interface EstimatorResult {
  /** One-hot samples, rows·n. */
  readonly yHard: Float32Array;
  /** softmax(logits), rows·n. */
  readonly ySoft: Float32Array;
  /** The sampled category of each row. */
  readonly sample: Int32Array;
  /**
   * The estimated gradient w.r.t. the logits (rows·n), given ∂L/∂yHard and optionally ∂L/∂ySoft. Calling it
   * again with the same arguments gives the same result (the Gumbel draws are part of the stream).
   */
  backward(gHard: Float32Array, gSoft?: Float32Array): Promise<Float32Array>;
}

interface Checked {
  rows: number;
  n: number;
  rng: RandomStream;
}

function checkRows(logits: unknown, options: SampleOptions): Checked {
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError(
      "options",
      `expected an object with at least { n }, got ${describe(options)}`,
    );
  }
  const n = requireInteger("n", options.n, 2);
  const values = requireFloat32Array("logits", logits);
  if (values.length === 0 || values.length % n !== 0) {
    throw new ReinmaxInputError(
      "logits",
      `expected a non-zero multiple of n = ${n} values, got ${values.length}`,
    );
  }
  const rng = randomStream(options.seed ?? 0, options.stream ?? 0, TAG.estimator);
  return { rows: values.length / n, n, rng };
}

function checkSample(sample: unknown, rows: number, n: number): Int32Array {
  if (!(sample instanceof Int32Array) || sample.length !== rows) {
    throw new ReinmaxInputError(
      "sample",
      `expected an Int32Array of ${rows} indices, got ${describe(sample)}`,
    );
  }
  for (let r = 0; r < rows; r++) {
    if (sample[r] < 0 || sample[r] >= n) {
      throw new ReinmaxInputError("sample", `index ${sample[r]} at row ${r} is outside [0, ${n})`);
    }
  }
  return sample;
}

function checkGradient(name: string, g: unknown, length: number): Float32Array {
  const values = requireFloat32Array(name, g, length);
  requireAllFinite(name, values);
  return values;
}

const PER_VALUE = { formula: "logits.length", argument: "logits" };
const PER_ROW = { formula: "logits.length / n", argument: "logits" };

/** The temporary buffers of a draw of `rows` rows of `n`. */
function drawBuffers(rows: number, n: number): BufferRequest[] {
  return [
    { label: "logits", length: rows * n, size: PER_VALUE },
    { label: "sample", length: rows, size: PER_ROW },
    { label: "yHard", length: rows * n, size: PER_VALUE },
    { label: "ySoft", length: rows * n, size: PER_VALUE },
  ];
}

/** The temporary buffers of a backward; `upstream` is rows·n for the estimators, rows for REINFORCE. */
function backwardBuffers(rows: number, n: number, upstream: number): BufferRequest[] {
  return [
    { label: "dLogits", length: rows * n, size: PER_VALUE },
    { label: "scratch", length: rows * n, size: PER_VALUE },
    { label: "logits", length: rows * n, size: PER_VALUE },
    { label: "sample", length: rows, size: PER_ROW },
    { label: "upstream", length: upstream, size: upstream === rows ? PER_ROW : PER_VALUE },
    { label: "gSoft", length: rows * n, size: PER_VALUE },
  ];
}

/** Draws samples and the soft output on the backend; shared by every low-level estimator function. */
async function draw(
  backend: Backend,
  logits: Float32Array,
  { rows, n, rng }: Checked,
  forced: Int32Array | undefined,
): Promise<{ yHard: Float32Array; ySoft: Float32Array; sample: Int32Array }> {
  const k = launcher(backend);
  const buffers = allocateAll(backend, drawBuffers(rows, n));
  const [logitsBuffer, sampleBuffer, yHardBuffer, ySoftBuffer] = buffers;
  let failure: { error: unknown } | null = null;
  try {
    backend.write(logitsBuffer, logits);
    if (forced) backend.write(sampleBuffer, forced);
    else enqueueSample(k, sampleBuffer, logitsBuffer, { rows, n }, rng);
    k.onehot_softmax(
      { yHard: yHardBuffer, ySoft: ySoftBuffer, logits: logitsBuffer, sample: sampleBuffer },
      { rows, n },
    );
    backend.submit();
    const [yHard, ySoft, sample] = await Promise.all([
      readF32(backend, yHardBuffer),
      readF32(backend, ySoftBuffer),
      readI32(backend, sampleBuffer),
    ]);
    return { yHard, ySoft, sample };
  } catch (error) {
    failure = { error };
    throw error;
  } finally {
    for (const b of buffers) cleanUp(failure, () => backend.free(b));
  }
}

/** Validates the arguments, keeps a private copy of the logits and draws (or takes the forced) samples. */
async function checkAndDraw(backend: Backend, logits: Float32Array, options: SampleOptions) {
  const checked = checkRows(logits, options);
  const forced = options.sample === undefined
    ? undefined
    : checkSample(options.sample, checked.rows, checked.n);
  // Both the draw and a later backward must fit, and that is known before anything is copied.
  checkCapacity(backend, drawBuffers(checked.rows, checked.n));
  checkCapacity(backend, backwardBuffers(checked.rows, checked.n, checked.rows * checked.n));
  requireAllFinite("logits", logits);
  const own = logits.slice();
  return { checked, own, drawn: await draw(backend, own, checked, forced) };
}

/**
 * Runs a backward on the backend with freshly uploaded inputs. `upstream` is ∂L/∂yHard for the estimators
 * (rows·n) or the rewards for REINFORCE (rows); it lands in the `gHard` buffer either way.
 */
async function runBackward(
  backend: Backend,
  logits: Float32Array,
  sample: Int32Array,
  upstream: Float32Array,
  gSoft: Float32Array | undefined,
  enqueue: (buffers: EstimatorBuffers) => void,
): Promise<Float32Array> {
  const [dLogits, scratch, logitsBuffer, sampleBuffer, gHard, gSoftBuffer] = allocateAll(
    backend,
    backwardBuffers(sample.length, logits.length / sample.length, upstream.length),
  );
  const buffers: EstimatorBuffers = {
    dLogits,
    scratch,
    logits: logitsBuffer,
    sample: sampleBuffer,
    gHard,
    gSoft: gSoftBuffer,
  };
  let failure: { error: unknown } | null = null;
  try {
    backend.write(buffers.logits, logits);
    backend.write(buffers.sample, sample);
    backend.write(buffers.gHard, upstream);
    if (gSoft) backend.write(buffers.gSoft, gSoft);
    enqueue(buffers);
    backend.submit();
    return await readF32(backend, buffers.dLogits);
  } catch (error) {
    failure = { error };
    throw error;
  } finally {
    for (const b of Object.values(buffers)) cleanUp(failure, () => backend.free(b));
  }
}

/**
 * Draws one category per row of `logits` (rows·n, row-major) and returns (yHard, ySoft, sample) and the
 * backward of the estimator `name`. The low-level entry point behind {@link reinmax} and friends.
 */
export async function sampleWithEstimator(
  backend: Backend,
  name: EstimatorName,
  logits: Float32Array,
  options: SampleOptions,
): Promise<EstimatorResult> {
  requireBackend(backend);
  requireObject("options", options, "{ n }");
  const est = requirePathwise(estimator(name, options), "name", "sampleWithEstimator");
  const { checked, own, drawn } = await checkAndDraw(backend, logits, options);
  return {
    ...drawn,
    backward: async (gHard: Float32Array, gSoft?: Float32Array) => {
      const g = checkGradient("gHard", gHard, own.length);
      const h = gSoft === undefined ? undefined : checkGradient("gSoft", gSoft, own.length);
      return await runBackward(
        backend,
        own,
        drawn.sample,
        g,
        h,
        (b) => enqueueBackward(launcher(backend), est, b, checked, checked.rng),
      );
    },
  };
}

/**
 * ReinMax (second-order accurate, τ ≥ 1): `const r = await reinmax(backend, logits, { n, tau })`.
 *
 * @example
 * ```ts
 * import { reinmax, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const logits = new Float32Array([0.1, 2.0, -1.0, 0.5, 0.5, 0.5]); // two rows of three categories
 * const r = await reinmax(backend, logits, { n: 3, tau: 1.3, seed: 1 });
 * console.log(r.sample, r.yHard, r.ySoft); // the drawn categories, one-hot rows, softmax rows
 * const dLogits = await r.backward(new Float32Array(6).fill(1)); // sums to 0 over each row
 * ```
 */
export function reinmax(
  backend: Backend,
  logits: Float32Array,
  options: SampleOptions,
): Promise<EstimatorResult> {
  return sampleWithEstimator(backend, "reinmax", logits, options);
}

/**
 * Straight-through (first-order): backward (1/τ)·J(softmax(θ/τ))g + J(π)h.
 *
 * @example
 * ```ts
 * import { st, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const logits = new Float32Array([0.1, 2.0, -1.0, 0.5, 0.5, 0.5]); // two rows of three categories
 * const r = await st(backend, logits, { n: 3, tau: 1, seed: 1 });
 * console.log(r.sample, r.yHard, r.ySoft); // the drawn categories, one-hot rows, softmax rows
 * const dLogits = await r.backward(new Float32Array(6).fill(1)); // sums to 0 over each row
 * ```
 */
export function st(backend: Backend, logits: Float32Array, options: SampleOptions): Promise<EstimatorResult> {
  return sampleWithEstimator(backend, "st", logits, options);
}

/**
 * Gumbel-softmax straight-through: backward through softmax((θ + G)/τ) of the Gumbels behind the sample.
 *
 * @example
 * ```ts
 * import { stgs, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const logits = new Float32Array([0.1, 2.0, -1.0, 0.5, 0.5, 0.5]); // two rows of three categories
 * const r = await stgs(backend, logits, { n: 3, tau: 0.5, seed: 1 });
 * console.log(r.sample, r.yHard, r.ySoft); // the drawn categories, one-hot rows, softmax rows
 * const dLogits = await r.backward(new Float32Array(6).fill(1)); // sums to 0 over each row
 * ```
 */
export function stgs(
  backend: Backend,
  logits: Float32Array,
  options: SampleOptions,
): Promise<EstimatorResult> {
  return sampleWithEstimator(backend, "stgs", logits, options);
}

/**
 * Gapped straight-through (gap 1 by default).
 *
 * @example
 * ```ts
 * import { gst, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const logits = new Float32Array([0.1, 2.0, -1.0, 0.5, 0.5, 0.5]); // two rows of three categories
 * const r = await gst(backend, logits, { n: 3, tau: 0.7, gap: 1, seed: 1 });
 * console.log(r.sample, r.yHard, r.ySoft); // the drawn categories, one-hot rows, softmax rows
 * const dLogits = await r.backward(new Float32Array(6).fill(1)); // sums to 0 over each row
 * ```
 */
export function gst(
  backend: Backend,
  logits: Float32Array,
  options: SampleOptions,
): Promise<EstimatorResult> {
  return sampleWithEstimator(backend, "gst", logits, options);
}

/**
 * Gumbel-Rao with K conditional Gumbel draws (`{ k }`, default 10).
 *
 * @example
 * ```ts
 * import { grmck, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const logits = new Float32Array([0.1, 2.0, -1.0, 0.5, 0.5, 0.5]); // two rows of three categories
 * const r = await grmck(backend, logits, { n: 3, tau: 0.5, k: 10, seed: 1 });
 * console.log(r.sample, r.yHard, r.ySoft); // the drawn categories, one-hot rows, softmax rows
 * const dLogits = await r.backward(new Float32Array(6).fill(1)); // sums to 0 over each row
 * ```
 */
export function grmck(
  backend: Backend,
  logits: Float32Array,
  options: SampleOptions,
): Promise<EstimatorResult> {
  return sampleWithEstimator(backend, "grmck", logits, options);
}

/**
 * Options of {@link reinforce}.
 *
 * @example
 * ```ts
 * import { reinforce, type ReinforceOptions, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const options: ReinforceOptions = { n: 2, seed: 3, baseline: true };
 * const r = await reinforce(backend, new Float32Array(2 * 64), options);
 * ```
 */
export interface ReinforceOptions extends Omit<SampleOptions, "tau" | "k" | "gap"> {
  /** Subtract the mean reward over the rows (a variance-reducing baseline). Default false. */
  readonly baseline?: boolean;
}

/**
 * A REINFORCE draw: like {@link EstimatorResult}, but the backward takes one reward per row.
 *
 * @example
 * ```ts
 * import { reinforce, type ReinforceResult, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const r: ReinforceResult = await reinforce(backend, new Float32Array(6), { n: 3 });
 * const loss = Float32Array.from(r.sample, (s) => (s === 0 ? 1 : 0)); // one loss value per row
 * const dLogits = await r.backward(loss);
 * ```
 */
export interface ReinforceResult {
  /** One-hot samples, rows·n. */
  readonly yHard: Float32Array;
  /** softmax(logits), rows·n. */
  readonly ySoft: Float32Array;
  /** The sampled category of each row. */
  readonly sample: Int32Array;
  /** The score-function gradient (reward − baseline)·(onehot − π) (+ J(π)·gSoft), rows·n. */
  backward(reward: Float32Array, gSoft?: Float32Array): Promise<Float32Array>;
}

/**
 * REINFORCE (score function), optionally with a mean baseline.
 *
 * @example
 * ```ts
 * import { reinforce, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * // 64 rows of 2 categories; the loss of a row is 1 when it drew category 1.
 * const r = await reinforce(backend, new Float32Array(128), { n: 2, seed: 1, baseline: true });
 * const dLogits = await r.backward(Float32Array.from(r.sample, (s) => s));
 * ```
 */
export async function reinforce(
  backend: Backend,
  logits: Float32Array,
  options: ReinforceOptions,
): Promise<ReinforceResult> {
  requireBackend(backend);
  requireObject("options", options, "{ n }");
  if (options.baseline !== undefined && typeof options.baseline !== "boolean") {
    throw new ReinmaxInputError("baseline", `expected true or false, got ${describe(options.baseline)}`);
  }
  const { checked, own, drawn } = await checkAndDraw(backend, logits, options);
  return {
    ...drawn,
    backward: async (reward: Float32Array, gSoft?: Float32Array) => {
      const f = checkGradient("reward", reward, checked.rows);
      const h = gSoft === undefined ? undefined : checkGradient("gSoft", gSoft, own.length);
      return await runBackward(backend, own, drawn.sample, f, h, (b) => {
        // The baseline is computed on the backend into the (zeroed) scratch: no read-back mid-step.
        const reward = b.gHard, baseline = b.scratch;
        const k = launcher(backend);
        if (options.baseline) k.mean({ out: baseline, x: reward }, { count: checked.rows, index: 0 });
        k.reinforce_backward(
          { dLogits: b.dLogits, logits: b.logits, sample: b.sample, reward, baseline, gSoft: b.gSoft },
          { rows: checked.rows, n: checked.n },
        );
      });
    },
  };
}
