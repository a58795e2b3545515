// Categorical sampling and the backward passes of every estimator (docs/math.md §2), one row of n logits at a time.
// Rows are independent; the forward sample never depends on τ. Backward kernels write dLogits (no +=)
// because the estimator's gradient is the first thing written for those logits in a step.
import { exponentialFromWord, firstWords4, streamWord, uniformsFromWords } from "./philox";
import { expf, expShiftedRow, logf, ROW_CHUNK, ROW_EXP } from "./vmath";

// @ts-ignore: decorator
@inline function at(base: usize, i: i32): f32 {
  return load<f32>(base + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function put(base: usize, i: i32, v: f32): void {
  store<f32>(base + (<usize>i << 2), v);
}

function rowMax(row: usize, n: i32): f32 {
  let m = at(row, 0);
  for (let i = 1; i < n; i++) m = max(m, at(row, i));
  return m;
}

// The uniforms of the four rows of one categorical_sample group.
const UNIFORMS: usize = memory.data(16, 16);

/** The category of one row of logits for the uniform u: the inverse-CDF rule above. */
// @ts-ignore: decorator
@inline export function sampleRow(row: usize, cols: i32, u: f32): i32 {
  const m = rowMax(row, cols);
  let z: f32 = 0;
  for (let c0 = 0; c0 < cols; c0 += ROW_CHUNK) {
    const len = min(ROW_CHUNK, cols - c0);
    expShiftedRow(ROW_EXP, row + (<usize>c0 << 2), len, m, 1);
    for (let i = 0; i < len; i++) z += at(ROW_EXP, i);
  }
  const target = u * z;
  let cumulative: f32 = 0;
  for (let c0 = 0; c0 < cols - 1; c0 += ROW_CHUNK) {
    const len = min(ROW_CHUNK, cols - 1 - c0);
    expShiftedRow(ROW_EXP, row + (<usize>c0 << 2), len, m, 1);
    for (let i = 0; i < len; i++) {
      cumulative += at(ROW_EXP, i);
      if (target < cumulative) return c0 + i;
    }
  }
  return cols - 1;
}

/**
 * s ~ Cat(softmax(θ)) by inverse CDF: the first k with u·Z < Σ_{i≤k} exp(θ_i − max θ), u from word 0 of the
 * row's stream. Comparing unnormalised partial sums avoids a division, so every backend makes the same
 * comparisons on the same u32 word.
 */
export function categorical_sample(
  sample: usize, logits: usize, rows: u32, n: u32, key0: u32, key1: u32, stream: u32, tag: u32,
): void {
  const cols = <i32>n;
  for (let r: u32 = 0; r < rows; r += 4) {
    // Word 0 of four rows' streams from one 4-lane Philox evaluation.
    v128.store(UNIFORMS, uniformsFromWords(firstWords4(r, key0, key1, stream, tag)));
    const last = min(rows, r + 4);
    for (let q = r; q < last; q++) {
      const row = logits + (<usize>q * cols << 2);
      store<i32>(sample + (<usize>q << 2), sampleRow(row, cols, load<f32>(UNIFORMS + (<usize>(q - r) << 2))));
    }
  }
}

/** yHard = onehot(sample) and ySoft = softmax(logits), row-wise. */
export function onehot_softmax(yHard: usize, ySoft: usize, logits: usize, sample: usize, rows: u32, n: u32): void {
  const cols = <i32>n;
  for (let r: u32 = 0; r < rows; r++) {
    const offset = <usize>r * cols << 2;
    const row = logits + offset;
    const m = rowMax(row, cols);
    expShiftedRow(ySoft + offset, row, cols, m, 1);
    let z: f32 = 0;
    for (let i = 0; i < cols; i++) z += at(ySoft + offset, i);
    const inv: f32 = 1 / z;
    const s = load<i32>(sample + (<usize>r << 2));
    for (let i = 0; i < cols; i++) {
      put(ySoft + offset, i, at(ySoft + offset, i) * inv);
      put(yHard + offset, i, i == s ? 1 : 0);
    }
  }
}

/**
 * ReinMax: with a = softmax(θ/τ), π = softmax(θ), π₁ = (a + D)/2, q = h − g/2:
 * ∇θ = 2·π₁⊙(g − ⟨π₁,g⟩) + π⊙(q − ⟨π,q⟩). The inner products are accumulated unnormalised in the pass that
 * computes the exponentials; a's exponentials are kept in dLogits until the last pass.
 */
export function reinmax_backward(
  dLogits: usize, logits: usize, sample: usize, gHard: usize, gSoft: usize, rows: u32, n: u32, tau: f32,
): void {
  const cols = <i32>n;
  const invTau: f32 = 1 / tau;
  for (let r: u32 = 0; r < rows; r++) {
    const offset = <usize>r * cols << 2;
    reinmaxRow(
      dLogits + offset, logits + offset, load<i32>(sample + (<usize>r << 2)), gHard + offset, gSoft + offset, cols,
      invTau,
    );
  }
}

/** ReinMax's gradient of one row (logits `row`, sample s, gHard g, gSoft h) into `out`. */
export function reinmaxRow(out: usize, row: usize, s: i32, g: usize, h: usize, cols: i32, invTau: f32): void {
  const m = rowMax(row, cols);
  // a's exponentials wait in `out`; π's are taken a chunk at a time.
  expShiftedRow(out, row, cols, m, invTau);
  let za: f32 = 0, zp: f32 = 0, ag: f32 = 0, pq: f32 = 0;
  for (let c0 = 0; c0 < cols; c0 += ROW_CHUNK) {
    const len = min(ROW_CHUNK, cols - c0);
    expShiftedRow(ROW_EXP, row + (<usize>c0 << 2), len, m, 1);
    for (let k = 0; k < len; k++) {
      const i = c0 + k;
      const ea = at(out, i);
      const ep = at(ROW_EXP, k);
      const gi = at(g, i);
      za += ea;
      zp += ep;
      ag += ea * gi;
      pq += ep * (at(h, i) - 0.5 * gi);
    }
  }
  const invZa: f32 = 1 / za, invZp: f32 = 1 / zp;
  const gs = at(g, s);
  const pi1g: f32 = 0.5 * (ag * invZa + gs); // ⟨π₁, g⟩
  const piq: f32 = pq * invZp; // ⟨π, q⟩
  // 2·π₁ = a + D, with D_i = (i == s) converted arithmetically: no branch on the sample.
  for (let c0 = 0; c0 < cols; c0 += ROW_CHUNK) {
    const len = min(ROW_CHUNK, cols - c0);
    expShiftedRow(ROW_EXP, row + (<usize>c0 << 2), len, m, 1);
    for (let k = 0; k < len; k++) {
      const i = c0 + k;
      const gi = at(g, i);
      const pi = at(ROW_EXP, k) * invZp;
      const pi1Twice = at(out, i) * invZa + <f32>(i == s);
      put(out, i, pi1Twice * (gi - pi1g) + pi * (at(h, i) - 0.5 * gi - piq));
    }
  }
}

/** Straight-through: (1/τ)·a⊙(g − ⟨a,g⟩) + π⊙(h − ⟨π,h⟩), a = softmax(θ/τ), π = softmax(θ). */
export function st_backward(
  dLogits: usize, logits: usize, sample: usize, gHard: usize, gSoft: usize, rows: u32, n: u32, tau: f32,
): void {
  const cols = <i32>n;
  const invTau: f32 = 1 / tau;
  for (let r: u32 = 0; r < rows; r++) {
    const offset = <usize>r * cols << 2;
    stRow(dLogits + offset, logits + offset, gHard + offset, gSoft + offset, cols, invTau);
  }
}

/** Straight-through's gradient of one row (it does not depend on the sample) into `out`. */
export function stRow(out: usize, row: usize, g: usize, h: usize, cols: i32, invTau: f32): void {
  const m = rowMax(row, cols);
  expShiftedRow(out, row, cols, m, invTau);
  let za: f32 = 0, zp: f32 = 0, ag: f32 = 0, ph: f32 = 0;
  for (let c0 = 0; c0 < cols; c0 += ROW_CHUNK) {
    const len = min(ROW_CHUNK, cols - c0);
    expShiftedRow(ROW_EXP, row + (<usize>c0 << 2), len, m, 1);
    for (let k = 0; k < len; k++) {
      const i = c0 + k;
      const ea = at(out, i);
      const ep = at(ROW_EXP, k);
      za += ea;
      zp += ep;
      ag += ea * at(g, i);
      ph += ep * at(h, i);
    }
  }
  const invZa: f32 = 1 / za, invZp: f32 = 1 / zp;
  const agMean = ag * invZa, phMean = ph * invZp;
  for (let c0 = 0; c0 < cols; c0 += ROW_CHUNK) {
    const len = min(ROW_CHUNK, cols - c0);
    expShiftedRow(ROW_EXP, row + (<usize>c0 << 2), len, m, 1);
    for (let k = 0; k < len; k++) {
      const i = c0 + k;
      const a = at(out, i) * invZa;
      const pi = at(ROW_EXP, k) * invZp;
      put(out, i, invTau * a * (at(g, i) - agMean) + pi * (at(h, i) - phMean));
    }
  }
}

/** Adds π⊙(h − ⟨π,h⟩) (the softmax backward of the soft output) to dLogits of one row. */
function addSoftGradient(out: usize, row: usize, h: usize, cols: i32): void {
  const m = rowMax(row, cols);
  let z: f32 = 0, ph: f32 = 0;
  for (let i = 0; i < cols; i++) {
    const e = expf(at(row, i) - m);
    z += e;
    ph += e * at(h, i);
  }
  const invZ: f32 = 1 / z;
  const phMean = ph * invZ;
  for (let i = 0; i < cols; i++) {
    const pi = expf(at(row, i) - m) * invZ;
    put(out, i, at(out, i) + pi * (at(h, i) - phMean));
  }
}

/**
 * Adds scale·y⊙(g − ⟨y,g⟩) to out, y = softmax(z/τ) of the row z (z's exponentials are recomputed rather
 * than stored so the kernel needs no scratch beyond its arguments).
 */
function addTemperedSoftmaxGradient(out: usize, z: usize, g: usize, cols: i32, invTau: f32, scale: f32): void {
  const m = rowMax(z, cols);
  let sum: f32 = 0, yg: f32 = 0;
  for (let i = 0; i < cols; i++) {
    const e = expf((at(z, i) - m) * invTau);
    sum += e;
    yg += e * at(g, i);
  }
  const inv: f32 = 1 / sum;
  const ygMean = yg * inv;
  for (let i = 0; i < cols; i++) {
    const y = expf((at(z, i) - m) * invTau) * inv;
    put(out, i, at(out, i) + scale * y * (at(g, i) - ygMean));
  }
}

function gapRow(dst: usize, row: usize, s: i32, cols: i32, m: f32, gap: f32): void {
  for (let i = 0; i < cols; i++) put(dst, i, i == s ? m : min(at(row, i), m - gap));
}

/** θ' of Gapped ST for every row: θ'_s = max θ, θ'_i = min(θ_i, max θ − gap) otherwise. */
export function gapped_logits(out: usize, logits: usize, sample: usize, rows: u32, n: u32, gap: f32): void {
  const cols = <i32>n;
  for (let r: u32 = 0; r < rows; r++) {
    const offset = <usize>r * cols << 2;
    gapRow(out + offset, logits + offset, load<i32>(sample + (<usize>r << 2)), cols, rowMax(logits + offset, cols), gap);
  }
}

/**
 * Gapped ST: θ' lifts θ_s to max θ and caps every other logit at max θ − gap, so argmax θ' = s with a margin
 * of at least `gap`; ∇θ = (1/τ)·J(softmax(θ'/τ))g + J(π)h. θ' is built in dLogits, then overwritten.
 */
export function gst_backward(
  dLogits: usize, logits: usize, sample: usize, gHard: usize, gSoft: usize, rows: u32, n: u32, tau: f32,
  gap: f32,
): void {
  const cols = <i32>n;
  const invTau: f32 = 1 / tau;
  for (let r: u32 = 0; r < rows; r++) {
    const offset = <usize>r * cols << 2;
    gstRow(
      dLogits + offset, logits + offset, load<i32>(sample + (<usize>r << 2)), gHard + offset, gSoft + offset, cols,
      invTau, gap,
    );
  }
}

/** Gapped ST's gradient of one row into `out`. */
export function gstRow(out: usize, row: usize, s: i32, g: usize, h: usize, cols: i32, invTau: f32, gap: f32): void {
  const m = rowMax(row, cols);
  // θ' is needed whole before its softmax, so it is staged in `out`.
  gapRow(out, row, s, cols, m, gap);
  let sum: f32 = 0, yg: f32 = 0;
  for (let i = 0; i < cols; i++) {
    const e = expf((at(out, i) - m) * invTau);
    sum += e;
    yg += e * at(g, i);
  }
  const inv: f32 = 1 / sum;
  const ygMean = yg * inv;
  for (let i = 0; i < cols; i++) {
    const y = expf((at(out, i) - m) * invTau) * inv;
    put(out, i, invTau * y * (at(g, i) - ygMean));
  }
  addSoftGradient(out, row, h, cols);
}

/**
 * Writes the j-th conditional perturbed logits ℓ = θ + G_j of one row into `dst` (shifted by −max θ, which
 * leaves every softmax unchanged): with w_i = exp(θ_i), Z = Σ w_i, E ~ Exp(1) from the row's stream,
 * ℓ_s = −log(E_s/Z), ℓ_i = −log(E_i/w_i + E_s/Z) for i ≠ s, so argmax ℓ = s (docs/math.md §2.5, exponential trick).
 * Words 1 + j·n + i of the stream feed draw j; word 0 is the categorical sample's.
 */
function conditionalPerturbed(
  dst: usize, row: usize, s: i32, cols: i32, m: f32, logZ: f32, j: u32, r: u32, key0: u32, key1: u32,
  stream: u32, tag: u32,
): void {
  const base = 1 + j * <u32>cols;
  const es = exponentialFromWord(streamWord(base + <u32>s, r, key0, key1, stream, tag));
  const esOverZ = es * expf(-logZ);
  for (let i = 0; i < cols; i++) {
    if (i == s) {
      put(dst, i, logZ - logf(es));
    } else {
      const e = exponentialFromWord(streamWord(base + <u32>i, r, key0, key1, stream, tag));
      put(dst, i, -logf(e * expf(-(at(row, i) - m)) + esOverZ));
    }
  }
}

function rowLogSumExp(row: usize, cols: i32, m: f32): f32 {
  let z: f32 = 0;
  for (let i = 0; i < cols; i++) z += expf(at(row, i) - m);
  return logf(z);
}

/**
 * Gumbel family: (1/τ)·(1/k)·Σ_j J(softmax(ℓ_j/τ))g + J(π)h with ℓ_j the conditional perturbed logits;
 * k = 1 is Gumbel-softmax ST, k > 1 Gumbel-Rao. `perturbed` (rows·n) is scratch; it ends holding ℓ_k.
 */
export function gumbel_backward(
  dLogits: usize, perturbed: usize, logits: usize, sample: usize, gHard: usize, gSoft: usize, rows: u32, n: u32,
  tau: f32, k: u32, key0: u32, key1: u32, stream: u32, tag: u32,
): void {
  const cols = <i32>n;
  for (let r: u32 = 0; r < rows; r++) {
    const offset = <usize>r * cols << 2;
    gumbelRow(
      dLogits + offset, perturbed + offset, logits + offset, load<i32>(sample + (<usize>r << 2)), gHard + offset,
      gSoft + offset, cols, tau, k, r, key0, key1, stream, tag,
    );
  }
}

/** The Gumbel family's gradient of row r (its stream's row index) into `out`; `z` (cols) is scratch. */
export function gumbelRow(
  out: usize, z: usize, row: usize, s: i32, g: usize, h: usize, cols: i32, tau: f32, k: u32, r: u32, key0: u32,
  key1: u32, stream: u32, tag: u32,
): void {
  const invTau: f32 = 1 / tau;
  const scale: f32 = invTau / <f32>k;
  const m = rowMax(row, cols);
  const logZ = rowLogSumExp(row, cols, m);
  for (let i = 0; i < cols; i++) put(out, i, 0);
  for (let j: u32 = 0; j < k; j++) {
    conditionalPerturbed(z, row, s, cols, m, logZ, j, r, key0, key1, stream, tag);
    addTemperedSoftmaxGradient(out, z, g, cols, invTau, scale);
  }
  addSoftGradient(out, row, h, cols);
}

/** The conditional perturbed logits ℓ_j (k·n per row, shifted by −max θ), as gumbel_backward draws them. */
export function gumbel_perturbations(
  perturbed: usize, logits: usize, sample: usize, rows: u32, n: u32, k: u32, key0: u32, key1: u32, stream: u32,
  tag: u32,
): void {
  const cols = <i32>n;
  for (let r: u32 = 0; r < rows; r++) {
    const row = logits + (<usize>r * cols << 2);
    const s = load<i32>(sample + (<usize>r << 2));
    const m = rowMax(row, cols);
    const logZ = rowLogSumExp(row, cols, m);
    for (let j: u32 = 0; j < k; j++) {
      const dst = perturbed + ((<usize>r * k + j) * cols << 2);
      conditionalPerturbed(dst, row, s, cols, m, logZ, j, r, key0, key1, stream, tag);
    }
  }
}

/** REINFORCE: (reward[r] − baseline[0])·(onehot(s) − π) + J(π)h. */
export function reinforce_backward(
  dLogits: usize, logits: usize, sample: usize, reward: usize, baseline: usize, gSoft: usize, rows: u32, n: u32,
): void {
  const cols = <i32>n;
  const b = load<f32>(baseline);
  for (let r: u32 = 0; r < rows; r++) {
    const offset = <usize>r * cols << 2;
    const row = logits + offset, out = dLogits + offset;
    const s = load<i32>(sample + (<usize>r << 2));
    const advantage = load<f32>(reward + (<usize>r << 2)) - b;
    const m = rowMax(row, cols);
    let z: f32 = 0;
    for (let i = 0; i < cols; i++) z += expf(at(row, i) - m);
    const inv: f32 = 1 / z;
    for (let i = 0; i < cols; i++) {
      const pi = expf(at(row, i) - m) * inv;
      put(out, i, advantage * ((i == s ? <f32>1 : <f32>0) - pi));
    }
    addSoftGradient(out, row, gSoft + offset, cols);
  }
}
