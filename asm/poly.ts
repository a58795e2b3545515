// Polynomial programming (docs/math.md §6.1): the per-sample loss (1/L)·Σ_i |X_i − c_i|^p with X_i = D_i[0].
import { gstRow, reinmaxRow, stRow } from "./estimators";
import {
  blockWord0, blockWord1, blockWord2, blockWord3, firstWords4, philoxBlock4, uniformsFromWords,
} from "./philox";
import { expf, expV, logV } from "./vmath";

/** loss[b] = (1/L)·Σ_i |yHard[b,i,0] − c[i]|^p; gHard (batch, L, 2) = ∂loss[b]/∂yHard (written). */
export function poly_loss(loss: usize, gHard: usize, yHard: usize, c: usize, batch: u32, latents: u32, p: f32): void {
  const invL: f32 = 1 / <f32>latents;
  for (let b: u32 = 0; b < batch; b++) {
    let total: f32 = 0;
    for (let i: u32 = 0; i < latents; i++) {
      const at = (<usize>(b * latents + i) << 3);
      const d = load<f32>(yHard + at) - load<f32>(c + (<usize>i << 2));
      const ad = Mathf.abs(d);
      const adP1 = Mathf.pow(ad, p - 1);
      total += adP1 * ad;
      store<f32>(gHard + at, invL * p * adP1 * (d < 0 ? <f32>-1 : <f32>1));
      store<f32>(gHard + at, 0, 4);
    }
    store<f32>(loss + (<usize>b << 2), total * invL);
  }
}

/** out[index] = (1/L)·Σ_i [q_i·|1 − c_i|^p + (1 − q_i)·|c_i|^p] with q_i = softmax(θ_i)[0] = σ(θ_i0 − θ_i1). */
export function poly_expected_loss(out: usize, theta: usize, c: usize, latents: u32, p: f32, index: u32): void {
  let total: f64 = 0;
  for (let i: u32 = 0; i < latents; i++) {
    const t = theta + (<usize>i << 3);
    const q: f32 = <f32>1 / (<f32>1 + expf(load<f32>(t, 4) - load<f32>(t)));
    const ci = load<f32>(c + (<usize>i << 2));
    total += <f64>(q * Mathf.pow(Mathf.abs(1 - ci), p) + (1 - q) * Mathf.pow(Mathf.abs(ci), p));
  }
  store<f32>(out + (<usize>index << 2), <f32>(total / <f64>latents));
}

// ---------------------------------------------------------------------------------------------------------
// The fused step (docs/math.md §6.1, "one pass"): every row of latent i has the logits θ_i, so the
// exponentials of the sampler and the gradient of each possible sample are computed once per latent; a row then
// costs its Philox word, one comparison and a select. Four latents are one vector.

// The estimator codes POLY_STEP_REINMAX, POLY_STEP_ST, POLY_STEP_GST, POLY_STEP_STGS and POLY_STEP_GRMCK are
// defined by the build from the estimator table (src/estimators.ts), as the WGSL assembly defines them.

// Scratch of one row of two categories as the estimators' row functions read it: logits, gHard, gSoft (kept
// zero: the loss ignores the soft output), the gradient, and the Gumbel family's perturbed logits.
const ROW: usize = memory.data(40, 16);
// @ts-ignore: decorator
@inline const ROW_G: usize = 8;
// @ts-ignore: decorator
@inline const ROW_H: usize = 16;
// @ts-ignore: decorator
@inline const ROW_OUT: usize = 24;
// @ts-ignore: decorator
@inline const ROW_Z: usize = 32;
// Per lane of a group of four latents: θ_0, θ_1, then the gradient's two entries for sample 0 and for
// sample 1, the loss for each sample, the Gumbel family's running sums, and gHard[0] for each sample.
const GROUP: usize = memory.data(192, 16);
// @ts-ignore: decorator
@inline const G_THETA0: usize = 0;
// @ts-ignore: decorator
@inline const G_THETA1: usize = 16;
// @ts-ignore: decorator
@inline const G_D0_S0: usize = 32;
// @ts-ignore: decorator
@inline const G_D1_S0: usize = 48;
// @ts-ignore: decorator
@inline const G_D0_S1: usize = 64;
// @ts-ignore: decorator
@inline const G_D1_S1: usize = 80;
// @ts-ignore: decorator
@inline const G_LOSS_S0: usize = 96;
// @ts-ignore: decorator
@inline const G_LOSS_S1: usize = 112;
// @ts-ignore: decorator
@inline const G_SUM0: usize = 128;
// @ts-ignore: decorator
@inline const G_SUM1: usize = 144;
// @ts-ignore: decorator
@inline const G_GRAD_S0: usize = 160;
// @ts-ignore: decorator
@inline const G_GRAD_S1: usize = 176;

// @ts-ignore: decorator
@inline function lane(field: usize, l: u32): usize {
  return GROUP + field + (<usize>l << 2);
}

/** |X − c|^p and its derivative (1/L)·p·|X − c|^{p−1}·sign(X − c), with the operations of poly_loss. */
// @ts-ignore: decorator
@inline function lossTerm(x: f32, ci: f32, p: f32, invL: f32, lossAt: usize, gradAt: usize): void {
  const d = x - ci;
  const ad = Mathf.abs(d);
  const adP1 = Mathf.pow(ad, p - 1);
  store<f32>(lossAt, adP1 * ad);
  store<f32>(gradAt, invL * p * adP1 * (d < 0 ? <f32>-1 : <f32>1));
}

/** The estimator's gradient of a row of latent `l`'s logits with sample s into ROW + ROW_OUT. */
function rowGradient(s: i32, estimator: u32, invTau: f32, gap: f32): void {
  if (estimator == POLY_STEP_REINMAX) reinmaxRow(ROW + ROW_OUT, ROW, s, ROW + ROW_G, ROW + ROW_H, 2, invTau);
  else if (estimator == POLY_STEP_ST) stRow(ROW + ROW_OUT, ROW, ROW + ROW_G, ROW + ROW_H, 2, invTau);
  else if (estimator == POLY_STEP_GST) gstRow(ROW + ROW_OUT, ROW, s, ROW + ROW_G, ROW + ROW_H, 2, invTau, gap);
}

// The Gumbel family on four rows of four latents at once (lane l: row r + l), lane for lane the arithmetic of
// gumbelRow in asm/estimators.ts for rows of two: the k conditional perturbations from words 1 + 2j + i of
// each row's stream, and the tempered softmax gradient of each; the soft output's gradient adds 0.
let gumbelOut0: v128 = f32x4.splat(0);
let gumbelOut1: v128 = f32x4.splat(0);
let cachedBlock: i32 = -1;

/** Word w of the streams of rows r..r + 3, one philoxBlock4 per four consecutive words (block 0 is the sampler's). */
// @ts-ignore: decorator
@inline function wordOfRows(w: u32, r: u32, key0: u32, key1: u32, stream: u32, tag: u32): v128 {
  const block = <i32>(w >> 2);
  if (block != cachedBlock) {
    const rows = i32x4.add(i32x4.splat(r), i32x4(0, 1, 2, 3));
    philoxBlock4(i32x4.splat(block), rows, i32x4.splat(stream), i32x4.splat(tag), key0, key1);
    cachedBlock = block;
  }
  const l = w & 3;
  return l == 0 ? blockWord0 : l == 1 ? blockWord1 : l == 2 ? blockWord2 : blockWord3;
}

/** Standard exponentials from four words, lane-wise as exponentialFromWord. */
// @ts-ignore: decorator
@inline function exponentials(w: v128): v128 {
  const u = f32x4.mul(
    f32x4.add(f32x4.convert_i32x4_u(i32x4.shr_u(w, 9)), f32x4.splat(0.5)), f32x4.splat(1.1920928955078125e-7),
  );
  return f32x4.neg(logV(u));
}

function gumbelRows4(
  first: v128, t0: v128, t1: v128, m: v128, logZ: v128, g: v128, invTau: f32, scale: f32, k: u32, r: u32, key0: u32,
  key1: u32, stream: u32, tag: u32,
): void {
  const zero = f32x4.splat(0);
  const tau = f32x4.splat(invTau), sc = f32x4.splat(scale);
  const esScale = expV(f32x4.neg(logZ));
  // e^{−(θ_o − max θ)} of the category o ≠ s of each row.
  const otherInv = expV(f32x4.neg(f32x4.sub(v128.bitselect(t1, t0, first), m)));
  let out0 = zero, out1 = zero;
  for (let j: u32 = 0; j < k; j++) {
    const e0 = exponentials(wordOfRows(1 + 2 * j, r, key0, key1, stream, tag));
    const e1 = exponentials(wordOfRows(2 + 2 * j, r, key0, key1, stream, tag));
    const es = v128.bitselect(e0, e1, first);
    const eo = v128.bitselect(e1, e0, first);
    const esOverZ = f32x4.mul(es, esScale);
    const ls = f32x4.sub(logZ, logV(es));
    const lo = f32x4.neg(logV(f32x4.add(f32x4.mul(eo, otherInv), esOverZ)));
    const l0 = v128.bitselect(ls, lo, first), l1 = v128.bitselect(lo, ls, first);
    const lm = f32x4.max(l0, l1);
    const x0 = expV(f32x4.mul(f32x4.sub(l0, lm), tau));
    const x1 = expV(f32x4.mul(f32x4.sub(l1, lm), tau));
    const sum = f32x4.add(f32x4.add(zero, x0), x1);
    const yg = f32x4.add(f32x4.add(zero, f32x4.mul(x0, g)), f32x4.mul(x1, zero));
    const inv = f32x4.div(f32x4.splat(1), sum);
    const ygMean = f32x4.mul(yg, inv);
    out0 = f32x4.add(out0, f32x4.mul(f32x4.mul(sc, f32x4.mul(x0, inv)), f32x4.sub(g, ygMean)));
    out1 = f32x4.add(out1, f32x4.mul(f32x4.mul(sc, f32x4.mul(x1, inv)), f32x4.sub(zero, ygMean)));
  }
  gumbelOut0 = f32x4.add(out0, zero);
  gumbelOut1 = f32x4.add(out1, zero);
}

/**
 * One whole step of the task for `batch` samples: sample[b·L + i] ~ Cat(softmax(θ_i)) exactly as
 * categorical_sample draws row b·L + i of the tiled logits; loss[i] = (1/B)·Σ_b |X_bi − c_i|^p (X = D[0]);
 * dTheta = (1/B)·Σ_b of the estimator's gradient of each row (written), as poly_loss, the estimator's backward
 * and sum_tiles compute it. estimator: a POLY_STEP_* code of the estimator table (the Gumbel family draws k).
 */
export function poly_step(
  sample: usize, loss: usize, dTheta: usize, theta: usize, c: usize, batch: u32, latents: u32, p: f32,
  estimator: u32, tau: f32, gap: f32, k: u32, key0: u32, key1: u32, stream: u32, tag: u32,
): void {
  const invL: f32 = 1 / <f32>latents;
  const invB: f32 = 1 / <f32>batch;
  const invTau: f32 = 1 / tau;
  const gumbel = estimator == POLY_STEP_STGS || estimator == POLY_STEP_GRMCK;
  const scale: f32 = invTau / <f32>k;
  memory.fill(ROW, 0, 40);
  for (let i0: u32 = 0; i0 < latents; i0 += 4) {
    const width = min<u32>(4, latents - i0);
    memory.fill(GROUP, 0, 192);
    // Per latent: the loss and gHard of each possible sample, and (but for the Gumbel family, whose rows each
    // draw their own perturbations) the gradient of each possible sample.
    for (let l: u32 = 0; l < width; l++) {
      const t = theta + (<usize>(i0 + l) << 3);
      const ci = load<f32>(c + (<usize>(i0 + l) << 2));
      store<f32>(lane(G_THETA0, l), load<f32>(t));
      store<f32>(lane(G_THETA1, l), load<f32>(t, 4));
      lossTerm(1, ci, p, invL, lane(G_LOSS_S0, l), lane(G_GRAD_S0, l));
      lossTerm(0, ci, p, invL, lane(G_LOSS_S1, l), lane(G_GRAD_S1, l));
      if (gumbel) continue;
      store<f32>(ROW, load<f32>(t));
      store<f32>(ROW, load<f32>(t, 4), 4);
      for (let s = 0; s < 2; s++) {
        store<f32>(ROW + ROW_G, load<f32>(lane(s == 0 ? G_GRAD_S0 : G_GRAD_S1, l)));
        rowGradient(s, estimator, invTau, gap);
        store<f32>(lane(s == 0 ? G_D0_S0 : G_D0_S1, l), load<f32>(ROW + ROW_OUT));
        store<f32>(lane(s == 0 ? G_D1_S0 : G_D1_S1, l), load<f32>(ROW + ROW_OUT, 4));
      }
    }
    // The sampler's exponentials, lane for lane those of categorical_sample (m = max θ, z = e₀ + e₁).
    const t0 = v128.load(GROUP + G_THETA0), t1 = v128.load(GROUP + G_THETA1);
    const m = f32x4.max(t0, t1);
    const e0 = expV(f32x4.sub(t0, m));
    const z = f32x4.add(f32x4.add(f32x4.splat(0), e0), expV(f32x4.sub(t1, m)));
    const d0s0 = v128.load(GROUP + G_D0_S0), d1s0 = v128.load(GROUP + G_D1_S0);
    const d0s1 = v128.load(GROUP + G_D0_S1), d1s1 = v128.load(GROUP + G_D1_S1);
    const ls0 = v128.load(GROUP + G_LOSS_S0), ls1 = v128.load(GROUP + G_LOSS_S1);
    const g0s0 = v128.load(GROUP + G_GRAD_S0), g0s1 = v128.load(GROUP + G_GRAD_S1);
    const logZ = logV(z); // as rowLogSumExp
    let sum0 = f32x4.splat(0), sum1 = f32x4.splat(0), lossSum = f32x4.splat(0);
    for (let b: u32 = 0; b < batch; b++) {
      const r = b * latents + i0;
      const u = uniformsFromWords(firstWords4(r, key0, key1, stream, tag));
      cachedBlock = 0; // firstWords4 left block 0 of these rows in blockWord0..3
      const first = f32x4.lt(f32x4.mul(u, z), e0); // sample 0 where true
      const s = i32x4.add(first, i32x4.splat(1));
      const at = sample + (<usize>r << 2);
      if (width == 4) v128.store(at, s);
      else {
        store<i32>(at, i32x4.extract_lane(s, 0));
        if (width > 1) store<i32>(at, i32x4.extract_lane(s, 1), 4);
        if (width > 2) store<i32>(at, i32x4.extract_lane(s, 2), 8);
      }
      lossSum = f32x4.add(lossSum, v128.bitselect(ls0, ls1, first));
      // In b order, as sum_tiles adds the rows.
      if (gumbel) {
        gumbelRows4(
          first, t0, t1, m, logZ, v128.bitselect(g0s0, g0s1, first), invTau, scale, k, r, key0, key1, stream, tag,
        );
        sum0 = f32x4.add(sum0, gumbelOut0);
        sum1 = f32x4.add(sum1, gumbelOut1);
      } else {
        sum0 = f32x4.add(sum0, v128.bitselect(d0s0, d0s1, first));
        sum1 = f32x4.add(sum1, v128.bitselect(d1s0, d1s1, first));
      }
    }
    v128.store(GROUP + G_SUM0, f32x4.mul(sum0, f32x4.splat(invB)));
    v128.store(GROUP + G_SUM1, f32x4.mul(sum1, f32x4.splat(invB)));
    v128.store(GROUP + G_LOSS_S0, f32x4.mul(lossSum, f32x4.splat(invB)));
    for (let l: u32 = 0; l < width; l++) {
      const i = i0 + l;
      store<f32>(dTheta + (<usize>i << 3), load<f32>(lane(G_SUM0, l)));
      store<f32>(dTheta + (<usize>i << 3), load<f32>(lane(G_SUM1, l)), 4);
      store<f32>(loss + (<usize>i << 2), load<f32>(lane(G_LOSS_S0, l)));
    }
  }
}
