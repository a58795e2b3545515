// The kernels of the Bernoulli VAE 2×200 (docs/math.md §4.10, §6.3): a binary latent's scalar a becomes a row
// of two logits (a, 1 − a) so that the categorical estimators run on it unchanged, the first entry of each
// sampled row is the latent the decoder sees, and grey images are binarised by Philox uniforms.
//
// Elementwise kernels run on f32x4 with the tail computed by the same vector code on a splat (as
// asm/layers.ts), so every element gets the same arithmetic. Pairs are (de)interleaved by shuffles: four
// elements are two vectors of pairs.
import {
  exponentialFromWord, openUniformFromWord, philoxBlock, streamWord, uniformFromWord, word0, word1, word2, word3,
} from "./philox";
import { expf, logf, sigmoidV } from "./vmath";

// @ts-ignore: decorator
@inline function at(p: usize, i: u32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function complementV(a: v128): v128 {
  return f32x4.sub(f32x4.splat(1), a);
}

/** logits[2i] = a[i], logits[2i + 1] = 1 − a[i] for i < count (written). */
export function bernoulli_logits(logits: usize, a: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(at(a, i));
    const w = complementV(v);
    v128.store(at(logits, 2 * i), v128.shuffle<f32>(v, w, 0, 4, 1, 5));
    v128.store(at(logits, 2 * i + 4), v128.shuffle<f32>(v, w, 2, 6, 3, 7));
  }
  for (; i < count; i++) {
    const v = f32x4.splat(load<f32>(at(a, i)));
    store<f32>(at(logits, 2 * i), f32x4.extract_lane(v, 0));
    store<f32>(at(logits, 2 * i + 1), f32x4.extract_lane(complementV(v), 0));
  }
}

// @ts-ignore: decorator
@inline function pairDifferenceBackV(dA: v128, first: v128, second: v128): v128 {
  return f32x4.add(dA, f32x4.sub(first, second));
}

/** dA[i] += dLogits[2i] − dLogits[2i + 1] for i < count (accumulating). */
export function bernoulli_logits_backward(dA: usize, dLogits: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const v0 = v128.load(at(dLogits, 2 * i));
    const v1 = v128.load(at(dLogits, 2 * i + 4));
    const first = v128.shuffle<f32>(v0, v1, 0, 2, 4, 6);
    const second = v128.shuffle<f32>(v0, v1, 1, 3, 5, 7);
    v128.store(at(dA, i), pairDifferenceBackV(v128.load(at(dA, i)), first, second));
  }
  for (; i < count; i++) {
    const v = pairDifferenceBackV(
      f32x4.splat(load<f32>(at(dA, i))), f32x4.splat(load<f32>(at(dLogits, 2 * i))),
      f32x4.splat(load<f32>(at(dLogits, 2 * i + 1))),
    );
    store<f32>(at(dA, i), f32x4.extract_lane(v, 0));
  }
}

/** out[i] = pairs[2i] for i < count (written). */
export function first_of_pairs(out: usize, pairs: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const v0 = v128.load(at(pairs, 2 * i));
    const v1 = v128.load(at(pairs, 2 * i + 4));
    v128.store(at(out, i), v128.shuffle<f32>(v0, v1, 0, 2, 4, 6));
  }
  // A copy, no arithmetic: the tail moves the bits as the shuffle does.
  for (; i < count; i++) store<u32>(at(out, i), load<u32>(at(pairs, 2 * i)));
}

/** dPairs[2i] = dOut[i], dPairs[2i + 1] = 0 for i < count (written). */
export function first_of_pairs_backward(dPairs: usize, dOut: usize, count: u32): void {
  const zero = f32x4.splat(0);
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(at(dOut, i));
    v128.store(at(dPairs, 2 * i), v128.shuffle<f32>(v, zero, 0, 4, 1, 5));
    v128.store(at(dPairs, 2 * i + 4), v128.shuffle<f32>(v, zero, 2, 6, 3, 7));
  }
  for (; i < count; i++) {
    store<u32>(at(dPairs, 2 * i), load<u32>(at(dOut, i)));
    store<f32>(at(dPairs, 2 * i + 1), 0);
  }
}

// Scratch for the partial last block of a row in binarize: the pixels in, the bits out.
const LANES: usize = memory.data(16, 16);

/**
 * The four bits of Philox block `block` of row `row` for pixels xv: 1 where u < x. u = (w >> 8)·2⁻²⁴ is a
 * 24-bit integer times a power of two, exact in f32 (as uniformFromWord), so the comparison is exact.
 */
function binarizeBlockV(
  xv: v128, block: u32, row: u32, key0: u32, key1: u32, stream: u32, tag: u32,
): v128 {
  philoxBlock(block, row, stream, tag, key0, key1);
  let w = i32x4.splat(word0);
  w = i32x4.replace_lane(w, 1, word1);
  w = i32x4.replace_lane(w, 2, word2);
  w = i32x4.replace_lane(w, 3, word3);
  const u = f32x4.mul(f32x4.convert_i32x4_u(i32x4.shr_u(w, 8)), f32x4.splat(5.9604644775390625e-8));
  return v128.and(f32x4.lt(u, xv), f32x4.splat(1));
}

/**
 * out[r·dim + j] = (u < x[r·dim + j]) ? 1 : 0, u the uniform of word j of row rowIds[r] of the stream
 * (key0, key1, stream, tag): counter (⌊j/4⌋, rowIds[r], stream, tag), lane j mod 4, as streamWord.
 */
export function binarize(
  out: usize, x: usize, rowIds: usize, rows: u32, dim: u32, key0: u32, key1: u32, stream: u32, tag: u32,
): void {
  const d4 = dim & ~3;
  for (let r: u32 = 0; r < rows; r++) {
    const row = load<u32>(at(rowIds, r));
    const po = out + ((<usize>r * dim) << 2);
    const px = x + ((<usize>r * dim) << 2);
    let j: u32 = 0;
    for (; j < d4; j += 4) {
      v128.store(at(po, j), binarizeBlockV(v128.load(at(px, j)), j >> 2, row, key0, key1, stream, tag));
    }
    if (j < dim) {
      const rest = dim - j;
      memory.fill(LANES, 0, 16);
      for (let k: u32 = 0; k < rest; k++) store<f32>(at(LANES, k), load<f32>(at(px, j + k)));
      v128.store(LANES, binarizeBlockV(v128.load(LANES), j >> 2, row, key0, key1, stream, tag));
      for (let k: u32 = 0; k < rest; k++) store<f32>(at(po, j + k), load<f32>(at(LANES, k)));
    }
  }
}

// --- The score-function estimators (docs/math.md §2.9) -------------------------------------------------
// The codes BERNOULLI_SCORE_RLOO, _DISARM, _ARMS and _DOUBLECV are defined by the build from the estimator table
// (src/estimators.ts), as the WGSL assembly defines them. K copies of a latent are copy-major: copy t of
// latent i of `count` is at t·count + i, and the loss of copy t of row r at t·rows + r.

/** P(z = 1) = σ(θ) with θ = 2a − 1 formed as (a + a) − 1, which no backend can fuse differently. */
// @ts-ignore: decorator
@inline function logitOf(a: f32): f32 {
  return (a + a) - 1;
}

// @ts-ignore: decorator
@inline function sigmoidf(x: f32): f32 {
  return f32x4.extract_lane(sigmoidV(f32x4.splat(x)), 0);
}

/** Whether copy t of latent i is z = 1 (category 0 of its logit pair). */
// @ts-ignore: decorator
@inline function bitOf(sample: usize, t: u32, count: u32, i: u32): f32 {
  return load<i32>(at(sample, t * count + i)) == 0 ? 1 : 0;
}

/** See src/kernels.ts: the antithetic pair for two copies, the Dirichlet copula for more. */
export function bernoulli_coupled_sample(
  sample: usize, a: usize, count: u32, copies: u32, key0: u32, key1: u32, stream: u32, tag: u32,
): void {
  const c: f32 = <f32>1 / <f32>(copies - 1);
  for (let i: u32 = 0; i < count; i++) {
    const p = sigmoidf(logitOf(load<f32>(at(a, i))));
    const low = p < 0.5;
    if (copies == 2) {
      const u = uniformFromWord(streamWord(0, i, key0, key1, stream, tag));
      const u0 = low ? u : 1 - u;
      store<i32>(at(sample, i), u0 < p ? 0 : 1);
      store<i32>(at(sample, count + i), 1 - u0 < p ? 0 : 1);
      continue;
    }
    // d_t = E_t/ΣE is Dirichlet(1, …, 1); u_t = (1 − d_t)^{K−1} is uniform. For p < ½, z = 1 ⟺ u_t < p ⟺
    // d_t > 1 − p^{1/(K−1)}; mirrored (1 − u_t < p) for p ≥ ½, d_t < 1 − (1 − p)^{1/(K−1)}.
    let total: f32 = 0;
    for (let t: u32 = 0; t < copies; t++) total += exponentialFromWord(streamWord(t, i, key0, key1, stream, tag));
    const q = low ? p : 1 - p;
    const threshold = total * (1 - expf(c * logf(q)));
    for (let t: u32 = 0; t < copies; t++) {
      const e = exponentialFromWord(streamWord(t, i, key0, key1, stream, tag));
      const one = low ? e > threshold : e < threshold;
      store<i32>(at(sample, t * count + i), one ? 0 : 1);
    }
  }
}

/** See src/kernels.ts. */
export function bernoulli_double_cv_projections(
  projections: usize, a: usize, sample: usize, gradZ: usize, rows: u32, latents: u32, copies: u32, gradScale: f32,
): void {
  const count = rows * latents;
  const others = gradScale / <f32>(copies - 1);
  for (let t: u32 = 0; t < copies; t++) {
    for (let r: u32 = 0; r < rows; r++) {
      let c: f32 = 0;
      for (let l: u32 = 0; l < latents; l++) {
        const i = r * latents + l;
        let sum: f32 = 0;
        for (let j: u32 = 0; j < copies; j++) if (j != t) sum += load<f32>(at(gradZ, j * count + i));
        const p = sigmoidf(logitOf(load<f32>(at(a, i))));
        c += (bitOf(sample, t, count, i) - p) * (sum * others);
      }
      store<f32>(at(projections, t * rows + r), c);
    }
  }
}

/** 1/(1 − ρ) of ARMS: ρ the correlation of two copies' bits under the copula, from q = min(p, 1 − p). */
function armsDebias(q: f32, copies: u32): f32 {
  const root = expf(logf(q) / <f32>(copies - 1)) * 2 - 1; // 2q^{1/(K−1)} − 1
  const joint = root > 0 ? expf(<f32>(copies - 1) * logf(root)) : <f32>0;
  const gap = q - joint;
  return gap > 0 ? (q * (1 - q)) / gap : 0;
}

/** See src/kernels.ts. */
export function bernoulli_score_backward(
  dA: usize, alphaTerms: usize, a: usize, sample: usize, reward: usize, gradZ: usize, projections: usize,
  alpha: usize, rows: u32, latents: u32, copies: u32, estimator: u32, scale: f32, gradScale: f32,
): void {
  const count = rows * latents, K = <f32>copies, al = load<f32>(alpha);
  for (let r: u32 = 0; r < rows; r++) {
    let total: f32 = 0, cTotal: f32 = 0;
    for (let t: u32 = 0; t < copies; t++) {
      total += load<f32>(at(reward, t * rows + r));
      cTotal += load<f32>(at(projections, t * rows + r));
    }
    for (let l: u32 = 0; l < latents; l++) {
      const i = r * latents + l;
      const theta = logitOf(load<f32>(at(a, i)));
      const p = sigmoidf(theta);
      let g: f32 = 0, dg: f32 = 0;
      if (estimator == BERNOULLI_SCORE_DISARM) {
        const z0 = bitOf(sample, 0, count, i), z1 = bitOf(sample, 1, count, i);
        if (z0 != z1) {
          const w = <f32>0.5 * (load<f32>(at(reward, r)) - load<f32>(at(reward, rows + r))) * sigmoidf(abs(theta));
          g = z1 == 1 ? -w : w;
        }
      } else if (estimator == BERNOULLI_SCORE_ARMS) {
        const mean = total / K;
        for (let t: u32 = 0; t < copies; t++) {
          g += (load<f32>(at(reward, t * rows + r)) - mean) * (bitOf(sample, t, count, i) - p);
        }
        g *= armsDebias(p < 0.5 ? p : 1 - p, copies) / (K - 1);
      } else if (estimator == BERNOULLI_SCORE_DOUBLECV) {
        let meanGrad: f32 = 0;
        for (let t: u32 = 0; t < copies; t++) {
          const f = load<f32>(at(reward, t * rows + r)), c = load<f32>(at(projections, t * rows + r));
          const v = f + al * c;
          const others = (total + al * cTotal - v) / (K - 1);
          const d = bitOf(sample, t, count, i) - p;
          g += (f - others + al * c) * d;
          dg += (c - (cTotal - c) / (K - 1)) * d;
          meanGrad += load<f32>(at(gradZ, t * count + i));
        }
        const global = (meanGrad * gradScale / K) * (p * (1 - p));
        g = g / K - al * global;
        dg = dg / K - global;
      } else {
        // RLOO: each copy's baseline is the mean loss of the others.
        for (let t: u32 = 0; t < copies; t++) {
          const f = load<f32>(at(reward, t * rows + r));
          g += (f - (total - f) / (K - 1)) * (bitOf(sample, t, count, i) - p);
        }
        g /= K;
      }
      store<f32>(at(dA, i), scale * 2 * g);
      store<f32>(at(alphaTerms, i), 2 * g * dg);
    }
  }
}

// --- RODEO (docs/math.md §2.9.5): a control network's outputs (H, G) at each copy's code and its single-bit
// neighbours, averaged over the other copies, make Stein control variates of RLOO.

/** The control network's input row of copy k, other copy jj, example row r and point i (0: the code). */
// @ts-ignore: decorator
@inline function controlRow(k: u32, jj: u32, r: u32, i: u32, rows: u32, latents: u32, copies: u32): u32 {
  return ((k * (copies - 1) + jj) * rows + r) * (latents + 1) + i;
}

/** The jj-th copy other than k. */
// @ts-ignore: decorator
@inline function otherCopy(k: u32, jj: u32): u32 {
  return jj < k ? jj : jj + 1;
}

/** P(z_l flips) from its code x: p(1 − x) + (1 − p)x. */
// @ts-ignore: decorator
@inline function flipWeight(p: f32, x: f32): f32 {
  return p * (1 - x) + (1 - p) * x;
}

/** See src/kernels.ts. */
export function rodeo_control_inputs(
  inputs: usize, sample: usize, reward: usize, gradZ: usize, rows: u32, latents: u32, copies: u32, gradScale: f32,
): void {
  const count = rows * latents;
  for (let k: u32 = 0; k < copies; k++) {
    for (let jj: u32 = 0; jj + 1 < copies; jj++) {
      const j = otherCopy(k, jj);
      for (let r: u32 = 0; r < rows; r++) {
        let base: f32 = 0;
        for (let l: u32 = 0; l < latents; l++) {
          const i = r * latents + l;
          const g = gradScale * load<f32>(at(gradZ, j * count + i));
          base += g * (bitOf(sample, k, count, i) - bitOf(sample, j, count, i));
        }
        const f = load<f32>(at(reward, j * rows + r));
        const row0 = controlRow(k, jj, r, 0, rows, latents, copies);
        store<f32>(at(inputs, 2 * row0), base);
        store<f32>(at(inputs, 2 * row0 + 1), f);
        for (let l: u32 = 0; l < latents; l++) {
          const i = r * latents + l;
          const g = gradScale * load<f32>(at(gradZ, j * count + i));
          store<f32>(at(inputs, 2 * (row0 + 1 + l)), base + g * (1 - 2 * bitOf(sample, k, count, i)));
          store<f32>(at(inputs, 2 * (row0 + 1 + l) + 1), f);
        }
      }
    }
  }
}

/** Output `channel` (0: H, 1: G) of the control network at point i of copy k, row r: the mean over jj. */
function controlMean(
  control: usize, channel: u32, k: u32, r: u32, i: u32, rows: u32, latents: u32, copies: u32,
): f32 {
  let sum: f32 = 0;
  for (let jj: u32 = 0; jj + 1 < copies; jj++) {
    sum += load<f32>(at(control, 2 * controlRow(k, jj, r, i, rows, latents, copies) + channel));
  }
  return sum / <f32>(copies - 1);
}

/** See src/kernels.ts. */
export function rodeo_stein_terms(
  terms: usize, a: usize, sample: usize, control: usize, rows: u32, latents: u32, copies: u32,
): void {
  const count = rows * latents;
  for (let k: u32 = 0; k < copies; k++) {
    for (let r: u32 = 0; r < rows; r++) {
      const hx = controlMean(control, 0, k, r, 0, rows, latents, copies);
      const gx = controlMean(control, 1, k, r, 0, rows, latents, copies);
      let h: f32 = 0, g: f32 = 0, w: f32 = 0;
      for (let l: u32 = 0; l < latents; l++) {
        const i = r * latents + l;
        const flip = flipWeight(sigmoidf(logitOf(load<f32>(at(a, i)))), bitOf(sample, k, count, i));
        h += flip * (controlMean(control, 0, k, r, 1 + l, rows, latents, copies) - hx);
        g += flip * (controlMean(control, 1, k, r, 1 + l, rows, latents, copies) - gx);
        w += flip;
      }
      const t = 3 * (k * rows + r);
      store<f32>(at(terms, t), h / <f32>latents);
      store<f32>(at(terms, t + 1), g / <f32>latents);
      store<f32>(at(terms, t + 2), w);
    }
  }
}

/** ĝ of latent l of row r (docs/math.md §2.9.5). */
function rodeoEstimate(
  a: usize, sample: usize, reward: usize, control: usize, terms: usize, r: u32, l: u32, rows: u32, latents: u32,
  copies: u32, al: f32, be: f32,
): f32 {
  const count = rows * latents, K = <f32>copies, i = r * latents + l;
  let fTilde: f32 = 0;
  for (let k: u32 = 0; k < copies; k++) {
    fTilde += load<f32>(at(reward, k * rows + r)) + al * load<f32>(at(terms, 3 * (k * rows + r)));
  }
  const p = sigmoidf(logitOf(load<f32>(at(a, i))));
  let g: f32 = 0;
  for (let k: u32 = 0; k < copies; k++) {
    const x = bitOf(sample, k, count, i), d = x - p;
    const f = load<f32>(at(reward, k * rows + r));
    const h = load<f32>(at(terms, 3 * (k * rows + r))), t = load<f32>(at(terms, 3 * (k * rows + r) + 1));
    const others = (fTilde - (f + al * h)) / (K - 1);
    const gy = controlMean(control, 1, k, r, 1 + l, rows, latents, copies);
    const cv = d * t + (flipWeight(p, x) * gy * (1 - 2 * x)) / <f32>latents;
    g += (f - others) * d + be * cv;
  }
  return g / K;
}

/** See src/kernels.ts. */
export function rodeo_backward(
  dA: usize, gradOut: usize, a: usize, sample: usize, reward: usize, control: usize, terms: usize, weights: usize,
  rows: u32, latents: u32, copies: u32, scale: f32,
): void {
  const count = rows * latents, al = load<f32>(weights), be = load<f32>(weights, 4);
  for (let r: u32 = 0; r < rows; r++) {
    for (let l: u32 = 0; l < latents; l++) {
      const i = r * latents + l;
      const g = rodeoEstimate(a, sample, reward, control, terms, r, l, rows, latents, copies, al, be);
      store<f32>(at(dA, i), scale * 2 * g);
      store<f32>(at(gradOut, i), (2 * g) / <f32>count);
    }
  }
}

/** See src/kernels.ts: ĝ is recovered from gradOut = 2ĝ/(rows·latents). */
export function rodeo_weight_terms(
  alphaTerms: usize, betaTerms: usize, a: usize, sample: usize, control: usize, terms: usize, gradOut: usize,
  rows: u32, latents: u32, copies: u32,
): void {
  const count = rows * latents, K = <f32>copies;
  for (let r: u32 = 0; r < rows; r++) {
    let steins: f32 = 0;
    for (let k: u32 = 0; k < copies; k++) steins += load<f32>(at(terms, 3 * (k * rows + r)));
    for (let l: u32 = 0; l < latents; l++) {
      const i = r * latents + l;
      const p = sigmoidf(logitOf(load<f32>(at(a, i))));
      let dAlpha: f32 = 0, dBeta: f32 = 0;
      for (let k: u32 = 0; k < copies; k++) {
        const x = bitOf(sample, k, count, i), d = x - p;
        const h = load<f32>(at(terms, 3 * (k * rows + r))), t = load<f32>(at(terms, 3 * (k * rows + r) + 1));
        const gy = controlMean(control, 1, k, r, 1 + l, rows, latents, copies);
        dAlpha -= ((steins - h) / (K - 1)) * d;
        dBeta += d * t + (flipWeight(p, x) * gy * (1 - 2 * x)) / <f32>latents;
      }
      const twoG = load<f32>(at(gradOut, i)) * <f32>count;
      store<f32>(at(alphaTerms, i), twoG * (dAlpha / K));
      store<f32>(at(betaTerms, i), twoG * (dBeta / K));
    }
  }
}

/** See src/kernels.ts. */
export function rodeo_control_grad(
  dControl: usize, a: usize, sample: usize, terms: usize, gradOut: usize, weights: usize, rows: u32,
  latents: u32, copies: u32,
): void {
  const count = rows * latents, K = <f32>copies, al = load<f32>(weights), be = load<f32>(weights, 4);
  const inv = <f32>1 / (K - 1), invL = <f32>1 / <f32>latents;
  for (let k: u32 = 0; k < copies; k++) {
    for (let r: u32 = 0; r < rows; r++) {
      // ∂(mean ĝ²) through H (via each other copy's f̃) and through G (via cv_k), before the mean over jj.
      let viaH: f32 = 0, viaG: f32 = 0;
      for (let l: u32 = 0; l < latents; l++) {
        const i = r * latents + l;
        const p = sigmoidf(logitOf(load<f32>(at(a, i))));
        let others: f32 = 0;
        for (let j: u32 = 0; j < copies; j++) if (j != k) others += bitOf(sample, j, count, i) - p;
        const gamma = load<f32>(at(gradOut, i));
        viaH += gamma * others;
        viaG += gamma * (bitOf(sample, k, count, i) - p);
      }
      viaH *= -al / (K * (K - 1));
      viaG *= be / K;
      const w = load<f32>(at(terms, 3 * (k * rows + r) + 2));
      for (let jj: u32 = 0; jj + 1 < copies; jj++) {
        const row0 = controlRow(k, jj, r, 0, rows, latents, copies);
        store<f32>(at(dControl, 2 * row0), inv * (viaH * (-w * invL)));
        store<f32>(at(dControl, 2 * row0 + 1), inv * (viaG * (-w * invL)));
        for (let l: u32 = 0; l < latents; l++) {
          const i = r * latents + l;
          const x = bitOf(sample, k, count, i);
          const flip = flipWeight(sigmoidf(logitOf(load<f32>(at(a, i)))), x);
          const gamma = load<f32>(at(gradOut, i));
          store<f32>(at(dControl, 2 * (row0 + 1 + l)), inv * (viaH * flip * invL));
          store<f32>(at(dControl, 2 * (row0 + 1 + l) + 1), inv * (viaG * flip * invL + gamma * (be / K) * invL * flip * (1 - 2 * x)));
        }
      }
    }
  }
}

// --- RELAX (docs/math.md §2.9.6): a relaxed control variate c(z) = −s·f(σ(z/τ)) + s·r(x, z), its network r
// trained alongside. Per-latent quantities are packed in blocks of count = rows·latents: draws = [z | z̃ | dzt],
// relaxed = [f′ at σ(z/τ) | f′ at σ(z̃/τ) | f at σ(z/τ) (rows) | f at σ(z̃/τ) (rows)], perLatent = [b − p | path |
// dzt], terms = [2ĝ·∂ĝ/∂s | gradOut | the mixed weights at rows z | at rows z̃].

// The reference's clip of a probability before its logarithm (its EPS): log(max(q, 10⁻⁶)).
// @ts-ignore: decorator
@inline const RELAX_CLIP: f32 = 1e-6;

/** See src/kernels.ts. */
export function relax_sample(
  sample: usize, draws: usize, a: usize, count: u32, key0: u32, key1: u32, stream: u32, tag: u32,
): void {
  for (let i: u32 = 0; i < count; i++) {
    const theta = logitOf(load<f32>(at(a, i)));
    const p = sigmoidf(theta);
    const u = openUniformFromWord(streamWord(0, i, key0, key1, stream, tag));
    const v = openUniformFromWord(streamWord(1, i, key0, key1, stream, tag));
    const zi = theta + (logf(u) - logf(<f32>1 - u));
    const one = zi > 0;
    // v′ makes z̃ = θ + logit v′ a draw of z given b.
    const vp: f32 = one ? v * p + (<f32>1 - p) : v * (<f32>1 - p);
    const rest: f32 = <f32>1 - vp;
    const lo = vp < RELAX_CLIP, hi = rest < RELAX_CLIP;
    const logit = logf(lo ? RELAX_CLIP : vp) - logf(hi ? RELAX_CLIP : rest);
    const slope: f32 = (lo ? <f32>0 : <f32>1 / vp) + (hi ? <f32>0 : <f32>1 / rest);
    const dv: f32 = one ? v - <f32>1 : -v;
    store<i32>(at(sample, i), one ? 0 : 1);
    store<f32>(at(draws, i), zi);
    store<f32>(at(draws, count + i), theta + logit);
    store<f32>(at(draws, 2 * count + i), <f32>1 + dv * (p * (<f32>1 - p)) * slope);
  }
}

/** See src/kernels.ts. */
export function relax_relaxed(out: usize, draws: usize, count: u32, which: u32, tau: f32): void {
  const inv = <f32>1 / tau;
  for (let i: u32 = 0; i < count; i++) store<f32>(at(out, i), sigmoidf(load<f32>(at(draws, which * count + i)) * inv));
}

/** See src/kernels.ts. */
export function relax_keep(relaxed: usize, loss: usize, gradZ: usize, rows: u32, latents: u32, which: u32): void {
  const count = rows * latents;
  memory.copy(at(relaxed, which * count), gradZ, <usize>count << 2);
  memory.copy(at(relaxed, 2 * count + which * rows), loss, <usize>rows << 2);
}

/** See src/kernels.ts. */
export function relax_control_inputs(inputs: usize, x: usize, draws: usize, rows: u32, inSize: u32, latents: u32): void {
  const width = inSize + latents, count = rows * latents;
  for (let r: u32 = 0; r < rows; r++) {
    const top = inputs + ((<usize>r * width) << 2), bottom = inputs + ((<usize>(rows + r) * width) << 2);
    memory.copy(top, x + ((<usize>r * inSize) << 2), <usize>inSize << 2);
    memory.copy(bottom, x + ((<usize>r * inSize) << 2), <usize>inSize << 2);
    memory.copy(top + (<usize>inSize << 2), at(draws, r * latents), <usize>latents << 2);
    memory.copy(bottom + (<usize>inSize << 2), at(draws, count + r * latents), <usize>latents << 2);
  }
}

/** See src/kernels.ts. */
export function relax_signal(
  perLatent: usize, a: usize, sample: usize, draws: usize, relaxed: usize, dInputs: usize, rows: u32, inSize: u32,
  latents: u32, tau: f32,
): void {
  const count = rows * latents, width = inSize + latents, inv = <f32>1 / tau;
  for (let r: u32 = 0; r < rows; r++) {
    for (let l: u32 = 0; l < latents; l++) {
      const i = r * latents + l;
      const sz = sigmoidf(load<f32>(at(draws, i)) * inv), szt = sigmoidf(load<f32>(at(draws, count + i)) * inv);
      // ∂c/∂z and ∂c/∂z̃ over s: the decoder's gradient at the relaxed code through σ(·/τ), and the network's.
      const cz = -load<f32>(at(relaxed, i)) * (sz * (1 - sz)) * inv + load<f32>(at(dInputs, r * width + inSize + l));
      const czt = -load<f32>(at(relaxed, count + i)) * (szt * (1 - szt)) * inv +
        load<f32>(at(dInputs, (rows + r) * width + inSize + l));
      const slope = load<f32>(at(draws, 2 * count + i));
      store<f32>(at(perLatent, i), bitOf(sample, 0, count, i) - sigmoidf(logitOf(load<f32>(at(a, i)))));
      store<f32>(at(perLatent, count + i), czt * slope - cz);
      store<f32>(at(perLatent, 2 * count + i), slope);
    }
  }
}

/** See src/kernels.ts. */
export function relax_backward(
  dA: usize, terms: usize, perLatent: usize, reward: usize, relaxed: usize, control: usize, s: usize, rows: u32,
  latents: u32, scale: f32,
): void {
  const count = rows * latents, sc = load<f32>(s);
  for (let r: u32 = 0; r < rows; r++) {
    const f = load<f32>(at(reward, r));
    const signal = load<f32>(at(control, rows + r)) - load<f32>(at(relaxed, 2 * count + rows + r));
    for (let l: u32 = 0; l < latents; l++) {
      const i = r * latents + l;
      const d = load<f32>(at(perLatent, i));
      const bySigma = signal * d + load<f32>(at(perLatent, count + i));
      const g = f * d + sc * bySigma;
      const gamma: f32 = (<f32>2 * g) / <f32>count;
      store<f32>(at(dA, i), scale * 2 * g);
      store<f32>(at(terms, i), 2 * g * bySigma);
      store<f32>(at(terms, count + i), gamma);
      store<f32>(at(terms, 2 * count + i), -sc * gamma);
      store<f32>(at(terms, 3 * count + i), sc * gamma * load<f32>(at(perLatent, 2 * count + i)));
    }
  }
}

/** See src/kernels.ts. */
export function relax_control_grad(dControl: usize, perLatent: usize, terms: usize, s: usize, rows: u32, latents: u32): void {
  const count = rows * latents, sc = load<f32>(s);
  for (let r: u32 = 0; r < rows; r++) {
    let sum: f32 = 0;
    for (let l: u32 = 0; l < latents; l++) {
      const i = r * latents + l;
      sum += load<f32>(at(terms, count + i)) * load<f32>(at(perLatent, i));
    }
    store<f32>(at(dControl, r), 0);
    store<f32>(at(dControl, rows + r), sc * sum);
  }
}

/** See src/kernels.ts. */
export function relax_mixed_grad(
  dW1: usize, dW2: usize, terms: usize, h: usize, W1: usize, W2: usize, rows: u32, inSize: u32, latents: u32,
  hidden: u32, slope: f32,
): void {
  const mixed = at(terms, rows * latents);
  for (let j: u32 = 0; j < hidden; j++) {
    const w2 = load<f32>(at(W2, j));
    let dw2: f32 = 0;
    for (let r: u32 = 0; r < rows; r++) {
      const leak = load<f32>(at(h, r * hidden + j)) > 0 ? <f32>1 : slope;
      let u: f32 = 0;
      for (let l: u32 = 0; l < latents; l++) {
        u += load<f32>(at(W1, (inSize + l) * hidden + j)) * load<f32>(at(mixed, r * latents + l));
      }
      dw2 += u * leak;
    }
    store<f32>(at(dW2, j), load<f32>(at(dW2, j)) + dw2);
    for (let l: u32 = 0; l < latents; l++) {
      let dw1: f32 = 0;
      for (let r: u32 = 0; r < rows; r++) {
        const leak = load<f32>(at(h, r * hidden + j)) > 0 ? <f32>1 : slope;
        dw1 += load<f32>(at(mixed, r * latents + l)) * leak * w2;
      }
      const k = (inSize + l) * hidden + j;
      store<f32>(at(dW1, k), load<f32>(at(dW1, k)) + dw1);
    }
  }
}
