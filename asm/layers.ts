// The layers of the VAEs (docs/math.md §4, §6.2, §6.3) as paired kernels, llm.c style: `*_forward(out…, in…, dims…)`
// writes its outputs; `*_backward(dIn…, dOut/saved…, dims…)` ACCUMULATES (+=) into its gradient outputs.
// Linear weights are W[in×out] row-major, so the forward is the plain product x[B×in]·W[in×out].
//
// Elementwise kernels run on f32x4 with the tail (count % 4) computed by the same vector code on a splat,
// so every element gets bit-identical arithmetic. exp, log, log1p, σ and tanh come from asm/vmath.ts (docs/math.md
// §4.12), in the row-wise kernels (softmax family, cross-entropy, categorical KL) too.
import { gemmSparseA, matmul, matmul_bt, zeroCount } from "./matmul";
import { expShiftedRow, log1pV, logf, ROW_CHUNK, ROW_EXP, sigmoidV, softplusTailV, tanhV } from "./vmath";

// @ts-ignore: decorator
@inline function at(p: usize, i: u32): usize {
  return p + (<usize>i << 2);
}

// ---------------------------------------------------------------------------------------------------------
// Linear layers and transposition.

/** out[c·rows + r] = x[r·cols + c]: out (cols×rows) is the transpose of x (rows×cols). */
export function transpose(out: usize, x: usize, rows: u32, cols: u32): void {
  const BLOCK: u32 = 32; // 32×32 f32 tiles: 4 KiB in, 4 KiB out
  const ldx = <usize>cols << 2;
  const ldo = <usize>rows << 2;
  for (let r0: u32 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = min<u32>(r0 + BLOCK, rows);
    for (let c0: u32 = 0; c0 < cols; c0 += BLOCK) {
      const c1 = min<u32>(c0 + BLOCK, cols);
      let r = r0;
      for (; r + 4 <= r1; r += 4) {
        let c = c0;
        for (; c + 4 <= c1; c += 4) {
          const s = x + <usize>r * ldx + (<usize>c << 2);
          const v0 = v128.load(s);
          const v1 = v128.load(s + ldx);
          const v2 = v128.load(s + 2 * ldx);
          const v3 = v128.load(s + 3 * ldx);
          const a0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5);
          const a1 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
          const a2 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
          const a3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
          const d = out + <usize>c * ldo + (<usize>r << 2);
          v128.store(d, v128.shuffle<f32>(a0, a2, 0, 1, 4, 5));
          v128.store(d + ldo, v128.shuffle<f32>(a0, a2, 2, 3, 6, 7));
          v128.store(d + 2 * ldo, v128.shuffle<f32>(a1, a3, 0, 1, 4, 5));
          v128.store(d + 3 * ldo, v128.shuffle<f32>(a1, a3, 2, 3, 6, 7));
        }
        for (; c < c1; c++) {
          for (let k: u32 = 0; k < 4; k++) {
            store<f32>(out + <usize>c * ldo + (<usize>(r + k) << 2), load<f32>(x + <usize>(r + k) * ldx + (<usize>c << 2)));
          }
        }
      }
      for (; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          store<f32>(out + <usize>c * ldo + (<usize>r << 2), load<f32>(x + <usize>r * ldx + (<usize>c << 2)));
        }
      }
    }
  }
}

/**
 * Whether the products with x (batch×inDim) as their left factor should skip its zeros. A multiply-add of
 * the sparse product costs about 1.5 of the dense kernel's, plus its lists: it wins once more than about half
 * of x is zero (binarised images are about 70% zeros), so it is taken from 9/16 on.
 */
function sparseInput(x: usize, batch: u32, inDim: u32): bool {
  const count = batch * inDim;
  return <u64>zeroCount(x, count) * 16 >= <u64>count * 9;
}

/** out[batch×outDim] = x[batch×inDim]·w[inDim×outDim] + b[outDim] (written). */
export function linear_forward(out: usize, x: usize, w: usize, b: usize, batch: u32, inDim: u32, outDim: u32): void {
  const row = <usize>outDim << 2;
  for (let i: u32 = 0; i < batch; i++) memory.copy(out + <usize>i * row, b, row);
  if (sparseInput(x, batch, inDim)) gemmSparseA(out, x, w, batch, inDim, outDim, inDim, 1);
  else matmul(out, x, w, batch, inDim, outDim, inDim, 1, 1);
}

/**
 * Backward of linear_forward, accumulating: dw += xᵀ·dy, db += Σ_rows dy, and when needDx = 1, dx += dy·wᵀ
 * (dx is not touched when needDx = 0, e.g. for the first layer).
 */
export function linear_backward(
  dx: usize, dw: usize, db: usize, dy: usize, x: usize, w: usize, batch: u32, inDim: u32, outDim: u32, needDx: u32,
): void {
  if (sparseInput(x, batch, inDim)) gemmSparseA(dw, x, dy, inDim, batch, outDim, 1, inDim);
  else matmul(dw, x, dy, inDim, batch, outDim, 1, inDim, 1);
  const n4 = outDim & ~3;
  for (let i: u32 = 0; i < batch; i++) {
    const src = dy + ((<usize>i * outDim) << 2);
    let j: u32 = 0;
    for (; j < n4; j += 4) v128.store(at(db, j), f32x4.add(v128.load(at(db, j)), v128.load(at(src, j))));
    for (; j < outDim; j++) store<f32>(at(db, j), load<f32>(at(db, j)) + load<f32>(at(src, j)));
  }
  if (needDx != 0) matmul_bt(dx, dy, w, batch, outDim, inDim, outDim, 1, 1);
}

// ---------------------------------------------------------------------------------------------------------
// One-hot inputs: the decoder's first layer reads latents one-hot codes, so its product with W is a sum of
// `latents` rows of W and its weight gradient a scatter-add of dy into those rows.

/** dst[0..n) += src[0..n) (f32x4 body, scalar tail). */
// @ts-ignore: decorator
@inline function addRow(dst: usize, src: usize, n: u32): void {
  let j: u32 = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(dst, j), f32x4.add(v128.load(at(dst, j)), v128.load(at(src, j))));
  for (; j < n; j++) store<f32>(at(dst, j), load<f32>(at(dst, j)) + load<f32>(at(src, j)));
}

/** out[i, :] = b + Σ_l w[l·categories + sample[i·latents + l], :] (written), summed in order of l. */
export function onehot_linear_forward(
  out: usize, w: usize, b: usize, sample: usize, batch: u32, latents: u32, categories: u32, outDim: u32,
): void {
  const row = <usize>outDim << 2;
  for (let i: u32 = 0; i < batch; i++) {
    const o = out + <usize>i * row;
    memory.copy(o, b, row);
    const s = sample + ((<usize>i * latents) << 2);
    for (let l: u32 = 0; l < latents; l++) {
      addRow(o, w + <usize>(l * categories + load<u32>(at(s, l))) * row, outDim);
    }
  }
}

/** dw[l·categories + sample[i·latents + l], :] += dy[i, :] and db += dy[i, :], in order of i. */
export function onehot_linear_backward(
  dw: usize, db: usize, dy: usize, sample: usize, batch: u32, latents: u32, categories: u32, outDim: u32,
): void {
  const row = <usize>outDim << 2;
  for (let i: u32 = 0; i < batch; i++) {
    const g = dy + <usize>i * row;
    addRow(db, g, outDim);
    const s = sample + ((<usize>i * latents) << 2);
    for (let l: u32 = 0; l < latents; l++) {
      addRow(dw + <usize>(l * categories + load<u32>(at(s, l))) * row, g, outDim);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Activations. Each vector body is also run on a splat for the tail elements.

// @ts-ignore: decorator
@inline function reluV(x: v128): v128 {
  return f32x4.pmax(x, f32x4.splat(0));
}

/** out = max(x, 0). */
export function relu_forward(out: usize, x: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(out, i), reluV(v128.load(at(x, i))));
  for (; i < count; i++) store<f32>(at(out, i), f32x4.extract_lane(reluV(f32x4.splat(load<f32>(at(x, i)))), 0));
}

// @ts-ignore: decorator
@inline function reluBackV(dx: v128, dy: v128, x: v128): v128 {
  return f32x4.add(dx, v128.and(dy, f32x4.gt(x, f32x4.splat(0))));
}

/** dx += x > 0 ? dy : 0. */
export function relu_backward(dx: usize, dy: usize, x: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(at(dx, i), reluBackV(v128.load(at(dx, i)), v128.load(at(dy, i)), v128.load(at(x, i))));
  }
  for (; i < count; i++) {
    const v = reluBackV(
      f32x4.splat(load<f32>(at(dx, i))), f32x4.splat(load<f32>(at(dy, i))), f32x4.splat(load<f32>(at(x, i))),
    );
    store<f32>(at(dx, i), f32x4.extract_lane(v, 0));
  }
}

// @ts-ignore: decorator
@inline function leakyV(x: v128, slope: v128): v128 {
  return v128.bitselect(x, f32x4.mul(x, slope), f32x4.gt(x, f32x4.splat(0)));
}

/** out = x > 0 ? x : slope·x. */
export function leaky_relu_forward(out: usize, x: usize, count: u32, slope: f32): void {
  const s = f32x4.splat(slope);
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(out, i), leakyV(v128.load(at(x, i)), s));
  for (; i < count; i++) store<f32>(at(out, i), f32x4.extract_lane(leakyV(f32x4.splat(load<f32>(at(x, i))), s), 0));
}

// @ts-ignore: decorator
@inline function leakyBackV(dx: v128, dy: v128, x: v128, slope: v128): v128 {
  return f32x4.add(dx, v128.bitselect(dy, f32x4.mul(dy, slope), f32x4.gt(x, f32x4.splat(0))));
}

/** dx += dy·(x > 0 ? 1 : slope). */
export function leaky_relu_backward(dx: usize, dy: usize, x: usize, count: u32, slope: f32): void {
  const s = f32x4.splat(slope);
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(at(dx, i), leakyBackV(v128.load(at(dx, i)), v128.load(at(dy, i)), v128.load(at(x, i)), s));
  }
  for (; i < count; i++) {
    const v = leakyBackV(
      f32x4.splat(load<f32>(at(dx, i))), f32x4.splat(load<f32>(at(dy, i))), f32x4.splat(load<f32>(at(x, i))), s,
    );
    store<f32>(at(dx, i), f32x4.extract_lane(v, 0));
  }
}

/** out = σ(x) = 1/(1 + e^{−x}). */
export function sigmoid_forward(out: usize, x: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(out, i), sigmoidV(v128.load(at(x, i))));
  for (; i < count; i++) store<f32>(at(out, i), f32x4.extract_lane(sigmoidV(f32x4.splat(load<f32>(at(x, i)))), 0));
}

// @ts-ignore: decorator
@inline function sigmoidBackV(dx: v128, dy: v128, y: v128): v128 {
  return f32x4.add(dx, f32x4.mul(dy, f32x4.mul(y, f32x4.sub(f32x4.splat(1), y))));
}

/** dx += dy·y·(1 − y), y = σ(x) the forward output. */
export function sigmoid_backward(dx: usize, dy: usize, y: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(at(dx, i), sigmoidBackV(v128.load(at(dx, i)), v128.load(at(dy, i)), v128.load(at(y, i))));
  }
  for (; i < count; i++) {
    const v = sigmoidBackV(
      f32x4.splat(load<f32>(at(dx, i))), f32x4.splat(load<f32>(at(dy, i))), f32x4.splat(load<f32>(at(y, i))),
    );
    store<f32>(at(dx, i), f32x4.extract_lane(v, 0));
  }
}

/** out = tanh(x). */
export function tanh_forward(out: usize, x: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(out, i), tanhV(v128.load(at(x, i))));
  for (; i < count; i++) store<f32>(at(out, i), f32x4.extract_lane(tanhV(f32x4.splat(load<f32>(at(x, i)))), 0));
}

// 1 − y² as (1 − y)(1 + y): for |y| ≥ ½, 1 − |y| is exact (Sterbenz), so a saturated unit keeps the relative
// accuracy of its small derivative, which y·y, rounded near 1, would lose.
// @ts-ignore: decorator
@inline function tanhBackV(dx: v128, dy: v128, y: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.add(dx, f32x4.mul(dy, f32x4.mul(f32x4.sub(one, y), f32x4.add(one, y))));
}

/** dx += dy·(1 − y²), y = tanh(x) the forward output. */
export function tanh_backward(dx: usize, dy: usize, y: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(at(dx, i), tanhBackV(v128.load(at(dx, i)), v128.load(at(dy, i)), v128.load(at(y, i))));
  }
  for (; i < count; i++) {
    const v = tanhBackV(
      f32x4.splat(load<f32>(at(dx, i))), f32x4.splat(load<f32>(at(dy, i))), f32x4.splat(load<f32>(at(y, i))),
    );
    store<f32>(at(dx, i), f32x4.extract_lane(v, 0));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Bernoulli reconstruction loss on logits.

// @ts-ignore: decorator
@inline function bceV(z: v128, t: v128): v128 {
  // max(z, 0) − z·t + log(1 + e^{−|z|})
  return f32x4.add(f32x4.sub(f32x4.pmax(z, f32x4.splat(0)), f32x4.mul(z, t)), softplusTailV(z));
}

/** loss[b] = Σ_j max(z, 0) − z·t + log(1 + e^{−|z|}) over row b (z = logits, t = target in [0, 1]); written. */
export function bce_logits_forward(loss: usize, logits: usize, target: usize, batch: u32, dim: u32): void {
  for (let b: u32 = 0; b < batch; b++) {
    const z = logits + ((<usize>b * dim) << 2);
    const t = target + ((<usize>b * dim) << 2);
    let acc = f32x4.splat(0);
    let j: u32 = 0;
    for (; j + 4 <= dim; j += 4) acc = f32x4.add(acc, bceV(v128.load(at(z, j)), v128.load(at(t, j))));
    let s: f32 = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
      (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (; j < dim; j++) {
      s += f32x4.extract_lane(bceV(f32x4.splat(load<f32>(at(z, j))), f32x4.splat(load<f32>(at(t, j)))), 0);
    }
    store<f32>(at(loss, b), s);
  }
}

// @ts-ignore: decorator
@inline function bceBackV(d: v128, z: v128, t: v128, scale: v128): v128 {
  return f32x4.add(d, f32x4.mul(scale, f32x4.sub(sigmoidV(z), t)));
}

/** dLogits += scale·(σ(z) − t), the gradient of scale·BCE-with-logits. */
export function bce_logits_backward(dLogits: usize, logits: usize, target: usize, count: u32, scale: f32): void {
  const s = f32x4.splat(scale);
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(at(dLogits, i), bceBackV(v128.load(at(dLogits, i)), v128.load(at(logits, i)), v128.load(at(target, i)), s));
  }
  for (; i < count; i++) {
    const v = bceBackV(
      f32x4.splat(load<f32>(at(dLogits, i))), f32x4.splat(load<f32>(at(logits, i))),
      f32x4.splat(load<f32>(at(target, i))), s,
    );
    store<f32>(at(dLogits, i), f32x4.extract_lane(v, 0));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Gaussian negative log-likelihood with a fixed σ.

// ½·log 2π.
// @ts-ignore: decorator
@inline const HALF_LOG_2PI: f32 = 0.918938533204672742;

// ((mean − target)/σ)², through 1/σ so that no σ² is formed: it would overflow or underflow for |log σ| > 44.
// @ts-ignore: decorator
@inline function squaredResidualV(m: v128, t: v128, invSigma: v128): v128 {
  const r = f32x4.mul(f32x4.sub(m, t), invSigma);
  return f32x4.mul(r, r);
}

/** loss[b] = ½·Σ_j ((mean − target)/σ)² + dim·(log σ + ½·log 2π) over row b; written. */
export function gaussian_nll_forward(loss: usize, mean: usize, target: usize, batch: u32, dim: u32, sigma: f32): void {
  const inv: f32 = 1 / sigma;
  const iv = f32x4.splat(inv);
  const constant: f32 = <f32>dim * (logf(sigma) + HALF_LOG_2PI);
  for (let b: u32 = 0; b < batch; b++) {
    const m = mean + ((<usize>b * dim) << 2);
    const t = target + ((<usize>b * dim) << 2);
    let acc = f32x4.splat(0);
    let j: u32 = 0;
    for (; j + 4 <= dim; j += 4) acc = f32x4.add(acc, squaredResidualV(v128.load(at(m, j)), v128.load(at(t, j)), iv));
    let s: f32 = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
      (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (; j < dim; j++) {
      s += f32x4.extract_lane(
        squaredResidualV(f32x4.splat(load<f32>(at(m, j))), f32x4.splat(load<f32>(at(t, j))), iv), 0,
      );
    }
    store<f32>(at(loss, b), <f32>0.5 * s + constant);
  }
}

// scale·(mean − target)/σ² as ((mean − target)·(1/σ))·(scale/σ), again with no σ² to overflow or underflow.
// @ts-ignore: decorator
@inline function gaussianBackV(d: v128, m: v128, t: v128, invSigma: v128, scaleOverSigma: v128): v128 {
  return f32x4.add(d, f32x4.mul(f32x4.mul(f32x4.sub(m, t), invSigma), scaleOverSigma));
}

/** dMean += scale·(mean − target)/σ². */
export function gaussian_nll_backward(
  dMean: usize, mean: usize, target: usize, count: u32, scale: f32, sigma: f32,
): void {
  const inv: f32 = 1 / sigma;
  const iv = f32x4.splat(inv);
  const k = f32x4.splat(scale * inv);
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(
      at(dMean, i), gaussianBackV(v128.load(at(dMean, i)), v128.load(at(mean, i)), v128.load(at(target, i)), iv, k),
    );
  }
  for (; i < count; i++) {
    const v = gaussianBackV(
      f32x4.splat(load<f32>(at(dMean, i))), f32x4.splat(load<f32>(at(mean, i))),
      f32x4.splat(load<f32>(at(target, i))), iv, k,
    );
    store<f32>(at(dMean, i), f32x4.extract_lane(v, 0));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Softmax family, row-wise over n.

// @ts-ignore: decorator
@inline function rowMax(p: usize, n: u32): f32 {
  let m: f32 = -Infinity;
  for (let j: u32 = 0; j < n; j++) m = max<f32>(m, load<f32>(at(p, j)));
  return m;
}

/** out[r, :] = softmax(x[r, :]) for each of rows rows of n. */
export function softmax_forward(out: usize, x: usize, rows: u32, n: u32): void {
  for (let r: u32 = 0; r < rows; r++) {
    const px = x + ((<usize>r * n) << 2);
    const po = out + ((<usize>r * n) << 2);
    const m = rowMax(px, n);
    expShiftedRow(po, px, <i32>n, m, 1);
    let s: f32 = 0;
    for (let j: u32 = 0; j < n; j++) s += load<f32>(at(po, j));
    const inv: f32 = 1 / s;
    for (let j: u32 = 0; j < n; j++) store<f32>(at(po, j), load<f32>(at(po, j)) * inv);
  }
}

/** dx += y ⊙ (dy − ⟨y, dy⟩) row-wise, y = softmax_forward's output. */
export function softmax_backward(dx: usize, dy: usize, y: usize, rows: u32, n: u32): void {
  for (let r: u32 = 0; r < rows; r++) {
    const o = (<usize>r * n) << 2;
    let dot: f32 = 0;
    for (let j: u32 = 0; j < n; j++) dot += load<f32>(at(y + o, j)) * load<f32>(at(dy + o, j));
    for (let j: u32 = 0; j < n; j++) {
      const p = at(dx + o, j);
      store<f32>(p, load<f32>(p) + load<f32>(at(y + o, j)) * (load<f32>(at(dy + o, j)) - dot));
    }
  }
}

/** out[r, :] = log softmax(x[r, :]) = x − max − log Σ e^{x − max}. */
export function log_softmax_forward(out: usize, x: usize, rows: u32, n: u32): void {
  for (let r: u32 = 0; r < rows; r++) {
    const px = x + ((<usize>r * n) << 2);
    const po = out + ((<usize>r * n) << 2);
    const m = rowMax(px, n);
    let s: f32 = 0;
    for (let c0: u32 = 0; c0 < n; c0 += <u32>ROW_CHUNK) {
      const len = min<u32>(<u32>ROW_CHUNK, n - c0);
      expShiftedRow(ROW_EXP, at(px, c0), <i32>len, m, 1);
      for (let k: u32 = 0; k < len; k++) s += load<f32>(at(ROW_EXP, k));
    }
    const ls = logf(s);
    for (let j: u32 = 0; j < n; j++) store<f32>(at(po, j), (load<f32>(at(px, j)) - m) - ls);
  }
}

/** dx += dy − softmax·Σ dy row-wise, y = log_softmax_forward's output (softmax = e^y). */
export function log_softmax_backward(dx: usize, dy: usize, y: usize, rows: u32, n: u32): void {
  for (let r: u32 = 0; r < rows; r++) {
    const o = (<usize>r * n) << 2;
    let sum: f32 = 0;
    for (let j: u32 = 0; j < n; j++) sum += load<f32>(at(dy + o, j));
    for (let c0: u32 = 0; c0 < n; c0 += <u32>ROW_CHUNK) {
      const len = min<u32>(<u32>ROW_CHUNK, n - c0);
      expShiftedRow(ROW_EXP, at(y + o, c0), <i32>len, 0, 1);
      for (let k: u32 = 0; k < len; k++) {
        const j = c0 + k;
        const p = at(dx + o, j);
        store<f32>(p, load<f32>(p) + (load<f32>(at(dy + o, j)) - load<f32>(at(ROW_EXP, k)) * sum));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Softmax cross-entropy with integer labels, and accuracy.

/** The index of the first largest entry of a row (n ≥ 1): a later equal entry does not replace it. */
function rowArgmax(p: usize, n: u32): u32 {
  let k: u32 = 0;
  let best = load<f32>(p);
  for (let j: u32 = 1; j < n; j++) {
    const v = load<f32>(at(p, j));
    if (v > best) {
      best = v;
      k = j;
    }
  }
  return k;
}

/**
 * Σ_{j ≠ k} e^{x_j − x_k} over a row, k = its first argmax: the softmax denominator less the 1 of the maximum,
 * kept apart so that a confident row's loss log(1 + rest) and its label gradient −rest/(1 + rest) are relative
 * to rest, not rounded against 1.
 */
function rowRest(p: usize, n: u32, k: u32): f32 {
  const m = load<f32>(at(p, k));
  let rest: f32 = 0;
  for (let c0: u32 = 0; c0 < n; c0 += <u32>ROW_CHUNK) {
    const len = min<u32>(<u32>ROW_CHUNK, n - c0);
    expShiftedRow(ROW_EXP, at(p, c0), <i32>len, m, 1);
    for (let i: u32 = 0; i < len; i++) {
      if (c0 + i != k) rest += load<f32>(at(ROW_EXP, i));
    }
  }
  return rest;
}

/** loss[b] = log Σ_j e^{z_bj} − z_b,labels[b] = (max z_b − z_b,label) + log1p(rest); written. */
export function softmax_cross_entropy_forward(loss: usize, logits: usize, labels: usize, batch: u32, classes: u32): void {
  for (let b: u32 = 0; b < batch; b++) {
    const p = logits + ((<usize>b * classes) << 2);
    const k = rowArgmax(p, classes);
    const rest = rowRest(p, classes, k);
    const margin = load<f32>(at(p, k)) - load<f32>(at(p, load<u32>(at(labels, b))));
    store<f32>(at(loss, b), margin + f32x4.extract_lane(log1pV(f32x4.splat(rest)), 0));
  }
}

/**
 * dLogits[b, j] += scale·(softmax(z_b)_j − [j = labels[b]]) row-wise. At j = label the difference is −(1 − q),
 * taken as −rest/(1 + rest) when the label is the row's first argmax (q near 1), else as q − 1 (q ≤ ½ there).
 */
export function softmax_cross_entropy_backward(
  dLogits: usize, logits: usize, labels: usize, batch: u32, classes: u32, scale: f32,
): void {
  for (let b: u32 = 0; b < batch; b++) {
    const o = (<usize>b * classes) << 2;
    const p = logits + o;
    const k = rowArgmax(p, classes);
    const m = load<f32>(at(p, k));
    const rest = rowRest(p, classes, k);
    const inv: f32 = 1 / (1 + rest);
    const label = load<u32>(at(labels, b));
    for (let c0: u32 = 0; c0 < classes; c0 += <u32>ROW_CHUNK) {
      const len = min<u32>(<u32>ROW_CHUNK, classes - c0);
      expShiftedRow(ROW_EXP, at(p, c0), <i32>len, m, 1);
      for (let i: u32 = 0; i < len; i++) {
        const j = c0 + i;
        let g = load<f32>(at(ROW_EXP, i)) * inv;
        if (j == label) g = label == k ? -rest * inv : g - 1;
        const d = at(dLogits + o, j);
        store<f32>(d, load<f32>(d) + scale * g);
      }
    }
  }
}

/** out[b] = 1 when the first largest logit of row b is at labels[b], else 0; written. */
export function argmax_equals(out: usize, logits: usize, labels: usize, batch: u32, classes: u32): void {
  for (let b: u32 = 0; b < batch; b++) {
    const hit = classes > 0 && rowArgmax(logits + ((<usize>b * classes) << 2), classes) == load<u32>(at(labels, b));
    store<f32>(at(out, b), hit ? 1 : 0);
  }
}

// ---------------------------------------------------------------------------------------------------------
// KL terms.

// Row statistics of softmax(x[0..n)): max, log Σ e^{x − max} and H = Σ q log q (q·log q = 0 where q = 0).
let statMax: f32 = 0;
let statLogSum: f32 = 0;
let statNegEntropy: f32 = 0;

function rowEntropyStats(p: usize, n: u32): void {
  const m = rowMax(p, n);
  let s: f32 = 0;
  let sd: f32 = 0; // Σ e^{x−m}·(x − m), over the entries with e^{x−m} > 0
  for (let c0: u32 = 0; c0 < n; c0 += <u32>ROW_CHUNK) {
    const len = min<u32>(<u32>ROW_CHUNK, n - c0);
    expShiftedRow(ROW_EXP, at(p, c0), <i32>len, m, 1);
    for (let k: u32 = 0; k < len; k++) {
      const d = load<f32>(at(p, c0 + k)) - m;
      const e = load<f32>(at(ROW_EXP, k));
      s += e;
      if (e > 0) sd += e * d;
    }
  }
  const ls = logf(s);
  statMax = m;
  statLogSum = ls;
  statNegEntropy = sd / s - ls; // Σ q (x − m − ls) with Σ q = 1
}

/**
 * kl[b] = Σ_l (Σ_c q log q + log C), q = softmax of logits row (b, l) of C categories: KL(q ‖ uniform) summed
 * over the latents of sample b (logits is batch×latents×categories). Written.
 */
export function kl_categorical_forward(kl: usize, logits: usize, batch: u32, latents: u32, categories: u32): void {
  const logC = logf(<f32>categories);
  for (let b: u32 = 0; b < batch; b++) {
    let total: f32 = 0;
    for (let l: u32 = 0; l < latents; l++) {
      rowEntropyStats(logits + ((<usize>(b * latents + l) * categories) << 2), categories);
      total += statNegEntropy + logC;
    }
    store<f32>(at(kl, b), total);
  }
}

/** dLogits += scale·q ⊙ (log q − Σ q log q) row-wise: scale × the gradient of kl_categorical_forward. */
export function kl_categorical_backward(dLogits: usize, logits: usize, rows: u32, categories: u32, scale: f32): void {
  for (let r: u32 = 0; r < rows; r++) {
    const o = (<usize>r * categories) << 2;
    rowEntropyStats(logits + o, categories);
    for (let c0: u32 = 0; c0 < categories; c0 += <u32>ROW_CHUNK) {
      const len = min<u32>(<u32>ROW_CHUNK, categories - c0);
      // log q first, then q = e^{log q} in place (the shift 0 and scale 1 leave the argument exact).
      for (let k: u32 = 0; k < len; k++) {
        store<f32>(at(ROW_EXP, k), (load<f32>(at(logits + o, c0 + k)) - statMax) - statLogSum);
      }
      expShiftedRow(ROW_EXP, ROW_EXP, <i32>len, 0, 1);
      for (let k: u32 = 0; k < len; k++) {
        const j = c0 + k;
        const lq = (load<f32>(at(logits + o, j)) - statMax) - statLogSum;
        const q = load<f32>(at(ROW_EXP, k));
        if (q > 0) {
          const p = at(dLogits + o, j);
          store<f32>(p, load<f32>(p) + scale * q * (lq - statNegEntropy));
        }
      }
    }
  }
}

// KL to a learned categorical prior: q = softmax of a posterior row, p = softmax of the latent's prior row, both
// from (x − max) − log Σ e^{x − max}. The terms are q·(log q − log p) taken one by one, not Σ q log q − Σ q log p,
// so q = p gives exactly 0 and a small KL is not the difference of two large sums.

// Scratch for a chunk of p, beside ROW_EXP's chunk of q.
const PRIOR_EXP: usize = memory.data(ROW_CHUNK << 2, 16);

/** log Σ_j e^{x_j − m} over a row of n, m its maximum. */
function rowLogSum(p: usize, n: u32, m: f32): f32 {
  let s: f32 = 0;
  for (let c0: u32 = 0; c0 < n; c0 += <u32>ROW_CHUNK) {
    const len = min<u32>(<u32>ROW_CHUNK, n - c0);
    expShiftedRow(ROW_EXP, at(p, c0), <i32>len, m, 1);
    for (let k: u32 = 0; k < len; k++) s += load<f32>(at(ROW_EXP, k));
  }
  return logf(s);
}

// log q = (x − qMax) − qLogSum into ROW_EXP[0..len), then q in place.
// @ts-ignore: decorator
@inline function chunkOfQ(pq: usize, c0: u32, len: u32, qMax: f32, qLogSum: f32): void {
  for (let k: u32 = 0; k < len; k++) store<f32>(at(ROW_EXP, k), (load<f32>(at(pq, c0 + k)) - qMax) - qLogSum);
  expShiftedRow(ROW_EXP, ROW_EXP, <i32>len, 0, 1);
}

/** Σ_c q_c·(log q_c − log p_c) over one row; terms with q_c = 0 are 0 (also where log p_c = −∞). */
function rowPriorKl(pq: usize, pp: usize, n: u32, qMax: f32, qLogSum: f32, pMax: f32, pLogSum: f32): f32 {
  let kl: f32 = 0;
  for (let c0: u32 = 0; c0 < n; c0 += <u32>ROW_CHUNK) {
    const len = min<u32>(<u32>ROW_CHUNK, n - c0);
    chunkOfQ(pq, c0, len, qMax, qLogSum);
    for (let k: u32 = 0; k < len; k++) {
      const q = load<f32>(at(ROW_EXP, k));
      if (q > 0) {
        const lq = (load<f32>(at(pq, c0 + k)) - qMax) - qLogSum;
        const lp = (load<f32>(at(pp, c0 + k)) - pMax) - pLogSum;
        kl += q * (lq - lp);
      }
    }
  }
  return kl;
}

/**
 * kl[b] = Σ_l Σ_c q (log q − log p), q = softmax of logits row (b, l), p = softmax of priorLogits row l. Written;
 * latent by latent, so each prior row's statistics are computed once, and each kl[b] still adds its latents in
 * order of l.
 */
export function kl_categorical_prior_forward(
  kl: usize, logits: usize, priorLogits: usize, batch: u32, latents: u32, categories: u32,
): void {
  memory.fill(kl, 0, <usize>batch << 2);
  for (let l: u32 = 0; l < latents; l++) {
    const pp = priorLogits + ((<usize>l * categories) << 2);
    const pMax = rowMax(pp, categories);
    const pLogSum = rowLogSum(pp, categories, pMax);
    for (let b: u32 = 0; b < batch; b++) {
      const pq = logits + ((<usize>(b * latents + l) * categories) << 2);
      const qMax = rowMax(pq, categories);
      const term = rowPriorKl(pq, pp, categories, qMax, rowLogSum(pq, categories, qMax), pMax, pLogSum);
      store<f32>(at(kl, b), load<f32>(at(kl, b)) + term);
    }
  }
}

/**
 * Backward of kl_categorical_prior_forward times scale, accumulating: dLogits[b, l] += scale·q ⊙ (d − ⟨q, d⟩)
 * with d = log q − log p (nothing where q = 0), and dPrior[l, c] += scale·(p_c − q_c) for b = 0, 1, … in order.
 */
export function kl_categorical_prior_backward(
  dLogits: usize, dPrior: usize, logits: usize, priorLogits: usize, batch: u32, latents: u32, categories: u32,
  scale: f32,
): void {
  for (let l: u32 = 0; l < latents; l++) {
    const pp = priorLogits + ((<usize>l * categories) << 2);
    const dp = dPrior + ((<usize>l * categories) << 2);
    const pMax = rowMax(pp, categories);
    const pLogSum = rowLogSum(pp, categories, pMax);
    for (let b: u32 = 0; b < batch; b++) {
      const o = (<usize>(b * latents + l) * categories) << 2;
      const pq = logits + o;
      const qMax = rowMax(pq, categories);
      const qLogSum = rowLogSum(pq, categories, qMax);
      const mean = rowPriorKl(pq, pp, categories, qMax, qLogSum, pMax, pLogSum); // ⟨q, d⟩
      for (let c0: u32 = 0; c0 < categories; c0 += <u32>ROW_CHUNK) {
        const len = min<u32>(<u32>ROW_CHUNK, categories - c0);
        chunkOfQ(pq, c0, len, qMax, qLogSum);
        for (let k: u32 = 0; k < len; k++) {
          store<f32>(at(PRIOR_EXP, k), (load<f32>(at(pp, c0 + k)) - pMax) - pLogSum);
        }
        expShiftedRow(PRIOR_EXP, PRIOR_EXP, <i32>len, 0, 1);
        for (let k: u32 = 0; k < len; k++) {
          const j = c0 + k;
          const q = load<f32>(at(ROW_EXP, k));
          if (q > 0) {
            const lq = (load<f32>(at(pq, j)) - qMax) - qLogSum;
            const lp = (load<f32>(at(pp, j)) - pMax) - pLogSum;
            const d = at(dLogits + o, j);
            store<f32>(d, load<f32>(d) + scale * q * ((lq - lp) - mean));
          }
          const g = at(dp, j);
          store<f32>(g, load<f32>(g) + scale * (load<f32>(at(PRIOR_EXP, k)) - q));
        }
      }
    }
  }
}

// The Bernoulli latent l of sample b has logit pair (a, 1 − a), so q = σ(z) with z = 2a − 1; the prior is
// p = σ(ρ_l). With s(x) = log(1 + e^{−|x|}): log σ(x) = min(x, 0) − s(x) and log σ(−x) = min(−x, 0) − s(x).
// @ts-ignore: decorator
@inline function klBernoulliV(a: v128, rho: v128): v128 {
  const zero = f32x4.splat(0);
  const z = f32x4.sub(f32x4.add(a, a), f32x4.splat(1));
  const sz = softplusTailV(z);
  const sr = softplusTailV(rho);
  const lq = f32x4.sub(f32x4.pmin(z, zero), sz);
  const l1q = f32x4.sub(f32x4.pmin(f32x4.neg(z), zero), sz);
  const lp = f32x4.sub(f32x4.pmin(rho, zero), sr);
  const l1p = f32x4.sub(f32x4.pmin(f32x4.neg(rho), zero), sr);
  const q = sigmoidV(z);
  const q1 = sigmoidV(f32x4.neg(z));
  return f32x4.add(f32x4.mul(q, f32x4.sub(lq, lp)), f32x4.mul(q1, f32x4.sub(l1q, l1p)));
}

/**
 * kl[b] = Σ_l q log(q/p) + (1 − q) log((1 − q)/(1 − p)), q = σ(2a[b, l] − 1), p = σ(priorLogits[l]). Written.
 */
export function kl_bernoulli_forward(kl: usize, a: usize, priorLogits: usize, batch: u32, latents: u32): void {
  for (let b: u32 = 0; b < batch; b++) {
    const pa = a + ((<usize>b * latents) << 2);
    let acc = f32x4.splat(0);
    let l: u32 = 0;
    for (; l + 4 <= latents; l += 4) acc = f32x4.add(acc, klBernoulliV(v128.load(at(pa, l)), v128.load(at(priorLogits, l))));
    let s: f32 = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
      (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (; l < latents; l++) {
      s += f32x4.extract_lane(
        klBernoulliV(f32x4.splat(load<f32>(at(pa, l))), f32x4.splat(load<f32>(at(priorLogits, l)))), 0,
      );
    }
    store<f32>(at(kl, b), s);
  }
}

// Scratch for the partial last group of kl_bernoulli_backward: four vectors a, ρ, dA, dPrior.
const LANES: usize = memory.data(64, 16);

// @ts-ignore: decorator
@inline function klBernoulliBack(pa: usize, pr: usize, pda: usize, pdp: usize, s: v128): void {
  const av = v128.load(pa);
  const rv = v128.load(pr);
  const z = f32x4.sub(f32x4.add(av, av), f32x4.splat(1));
  const q = sigmoidV(z);
  const dz = f32x4.mul(f32x4.mul(q, sigmoidV(f32x4.neg(z))), f32x4.sub(z, rv)); // q(1 − q)(z − ρ)
  v128.store(pda, f32x4.add(v128.load(pda), f32x4.mul(s, f32x4.add(dz, dz))));
  v128.store(pdp, f32x4.add(v128.load(pdp), f32x4.mul(s, f32x4.sub(sigmoidV(rv), q))));
}

/**
 * Backward of kl_bernoulli_forward (times scale), accumulating: dA[b, l] += scale·2q(1 − q)(z − ρ_l) and
 * dPrior[l] += scale·Σ_b (p_l − q[b, l]).
 */
export function kl_bernoulli_backward(
  dA: usize, dPrior: usize, a: usize, priorLogits: usize, batch: u32, latents: u32, scale: f32,
): void {
  const s = f32x4.splat(scale);
  const l4 = latents & ~3;
  for (let b: u32 = 0; b < batch; b++) {
    const o = (<usize>b * latents) << 2;
    for (let l: u32 = 0; l < l4; l += 4) klBernoulliBack(at(a + o, l), at(priorLogits, l), at(dA + o, l), at(dPrior, l), s);
    if (l4 < latents) {
      const rest = latents - l4;
      memory.fill(LANES, 0, 64);
      for (let k: u32 = 0; k < rest; k++) {
        store<f32>(at(LANES, k), load<f32>(at(a + o, l4 + k)));
        store<f32>(at(LANES + 16, k), load<f32>(at(priorLogits, l4 + k)));
        store<f32>(at(LANES + 32, k), load<f32>(at(dA + o, l4 + k)));
        store<f32>(at(LANES + 48, k), load<f32>(at(dPrior, l4 + k)));
      }
      klBernoulliBack(LANES, LANES + 16, LANES + 32, LANES + 48, s);
      for (let k: u32 = 0; k < rest; k++) {
        store<f32>(at(dA + o, l4 + k), load<f32>(at(LANES + 32, k)));
        store<f32>(at(dPrior, l4 + k), load<f32>(at(LANES + 48, k)));
      }
    }
  }
}
