// Float64 oracle for the layer kernels (asm/matmul.ts, asm/layers.ts, asm/bernoulli.ts): one function per
// kernel, with the kernel's name and argument order (outputs first, then inputs, then dims/params) on
// Float64Arrays. Written from the definitions, not from the kernels' fused formulas: backward passes are
// chain rules through the forward definitions, and tests check them against central differences of the
// forwards.
import { streamWord, uniformFromWord } from "./philox.ts";

type F64 = Float64Array;

/** C[M×N] (=, or += when accumulate = 1) A·B, A(i, k) = A[i·aRowStride + k·aColStride], B K×N. */
export function matmul(
  C: F64,
  A: F64,
  B: F64,
  M: number,
  K: number,
  N: number,
  aRowStride: number,
  aColStride: number,
  accumulate: number,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[i * aRowStride + k * aColStride] * B[k * N + j];
      C[i * N + j] = accumulate ? C[i * N + j] + s : s;
    }
  }
}

/** C[M×N] (=, or += when accumulate = 1) A·Bᵀ, B stored N×K. */
export function matmul_bt(
  C: F64,
  A: F64,
  B: F64,
  M: number,
  K: number,
  N: number,
  aRowStride: number,
  aColStride: number,
  accumulate: number,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[i * aRowStride + k * aColStride] * B[j * K + k];
      C[i * N + j] = accumulate ? C[i * N + j] + s : s;
    }
  }
}

export function transpose(out: F64, x: F64, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
}

export function linear_forward(
  out: F64,
  x: F64,
  w: F64,
  b: F64,
  batch: number,
  inDim: number,
  outDim: number,
): void {
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let i = 0; i < inDim; i++) s += x[n * inDim + i] * w[i * outDim + o];
      out[n * outDim + o] = s;
    }
  }
}

/** out[n, o] = b[o] + Σ_i x[n, i]·w[i, o], so ∂/∂w[i, o] = Σ_n x[n, i]·dy[n, o], ∂/∂x[n, i] = Σ_o dy·w[i, o]. */
export function linear_backward(
  dx: F64,
  dw: F64,
  db: F64,
  dy: F64,
  x: F64,
  w: F64,
  batch: number,
  inDim: number,
  outDim: number,
  needDx: number,
): void {
  for (let i = 0; i < inDim; i++) {
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let n = 0; n < batch; n++) s += x[n * inDim + i] * dy[n * outDim + o];
      dw[i * outDim + o] += s;
    }
  }
  for (let o = 0; o < outDim; o++) {
    let s = 0;
    for (let n = 0; n < batch; n++) s += dy[n * outDim + o];
    db[o] += s;
  }
  if (!needDx) return;
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < inDim; i++) {
      let s = 0;
      for (let o = 0; o < outDim; o++) s += dy[n * outDim + o] * w[i * outDim + o];
      dx[n * inDim + i] += s;
    }
  }
}

export function relu_forward(out: F64, x: F64, count: number): void {
  for (let i = 0; i < count; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

export function relu_backward(dx: F64, dy: F64, x: F64, count: number): void {
  for (let i = 0; i < count; i++) dx[i] += x[i] > 0 ? dy[i] : 0;
}

export function leaky_relu_forward(out: F64, x: F64, count: number, slope: number): void {
  for (let i = 0; i < count; i++) out[i] = x[i] > 0 ? x[i] : slope * x[i];
}

export function leaky_relu_backward(dx: F64, dy: F64, x: F64, count: number, slope: number): void {
  for (let i = 0; i < count; i++) dx[i] += x[i] > 0 ? dy[i] : slope * dy[i];
}

/** σ(z), evaluated so that neither branch overflows. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log σ(z) without cancellation. */
export function logSigmoid(z: number): number {
  return z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
}

export function sigmoid_forward(out: F64, x: F64, count: number): void {
  for (let i = 0; i < count; i++) out[i] = sigmoid(x[i]);
}

export function sigmoid_backward(dx: F64, dy: F64, y: F64, count: number): void {
  for (let i = 0; i < count; i++) dx[i] += dy[i] * y[i] * (1 - y[i]);
}

export function tanh_forward(out: F64, x: F64, count: number): void {
  for (let i = 0; i < count; i++) out[i] = Math.tanh(x[i]);
}

/** tanh′ = 1 − tanh², from the forward output y. */
export function tanh_backward(dx: F64, dy: F64, y: F64, count: number): void {
  for (let i = 0; i < count; i++) dx[i] += dy[i] * (1 - y[i] * y[i]);
}

/** loss[b] = Σ_j −t log σ(z) − (1 − t) log(1 − σ(z)), with 1 − σ(z) = σ(−z). */
export function bce_logits_forward(loss: F64, logits: F64, target: F64, batch: number, dim: number): void {
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const z = logits[b * dim + j], t = target[b * dim + j];
      s += -t * logSigmoid(z) - (1 - t) * logSigmoid(-z);
    }
    loss[b] = s;
  }
}

/** ∂/∂z of −t log σ(z) − (1 − t) log σ(−z) is −t(1 − σ(z)) + (1 − t)σ(z). */
export function bce_logits_backward(
  dLogits: F64,
  logits: F64,
  target: F64,
  count: number,
  scale: number,
): void {
  for (let i = 0; i < count; i++) {
    const s = sigmoid(logits[i]), t = target[i];
    dLogits[i] += scale * (-t * (1 - s) + (1 - t) * s);
  }
}

/**
 * loss[b] = Σ_j −log N(target | mean, σ²) over row b, the density of a Gaussian:
 * −log N(t | μ, σ²) = (t − μ)²/(2σ²) + log σ + ½·log 2π.
 */
export function gaussian_nll_forward(
  loss: F64,
  mean: F64,
  target: F64,
  batch: number,
  dim: number,
  sigma: number,
): void {
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const r = (target[b * dim + j] - mean[b * dim + j]) / sigma;
      s += 0.5 * r * r + Math.log(sigma) + 0.5 * Math.log(2 * Math.PI);
    }
    loss[b] = s;
  }
}

/** ∂/∂μ of (t − μ)²/(2σ²) is (μ − t)/σ². */
export function gaussian_nll_backward(
  dMean: F64,
  mean: F64,
  target: F64,
  count: number,
  scale: number,
  sigma: number,
): void {
  for (let i = 0; i < count; i++) dMean[i] += scale * (mean[i] - target[i]) / (sigma * sigma);
}

/**
 * −log softmax(z)_label = log Σ_j e^{z_j − z_label}. Where the label holds the maximum this is log1p of the other
 * terms, so a confident correct row keeps its relative accuracy; elsewhere it is computed from the row maximum.
 */
function crossEntropyRow(z: F64, o: number, n: number, label: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, z[o + j]);
  const zl = z[o + label];
  if (zl === m) {
    let others = 0;
    for (let j = 0; j < n; j++) if (j !== label) others += Math.exp(z[o + j] - zl);
    return Math.log1p(others);
  }
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(z[o + j] - m);
  return m - zl + Math.log(s);
}

export function softmax_cross_entropy_forward(
  loss: F64,
  logits: F64,
  labels: F64,
  batch: number,
  classes: number,
): void {
  for (let b = 0; b < batch; b++) loss[b] = crossEntropyRow(logits, b * classes, classes, labels[b]);
}

/**
 * ∂/∂z_j of log Σ_i e^{z_i} − z_label is softmax_j − [j = label]; at the label, −(1 − softmax_label) is taken as
 * −Σ_{i ≠ label} softmax_i, which does not cancel when softmax_label is near 1.
 */
export function softmax_cross_entropy_backward(
  dLogits: F64,
  logits: F64,
  labels: F64,
  batch: number,
  classes: number,
  scale: number,
): void {
  for (let b = 0; b < batch; b++) {
    const o = b * classes;
    const q = softmaxRow(logits, o, classes);
    const label = labels[b];
    for (let j = 0; j < classes; j++) {
      const g = j === label ? -q.reduce((s, v, i) => (i === label ? s : s + v), 0) : q[j];
      dLogits[o + j] += scale * g;
    }
  }
}

/** out[b] = 1 if the first index of the largest logit of row b is labels[b], else 0. */
export function argmax_equals(out: F64, logits: F64, labels: F64, batch: number, classes: number): void {
  for (let b = 0; b < batch; b++) {
    let k = 0;
    for (let j = 1; j < classes; j++) if (logits[b * classes + j] > logits[b * classes + k]) k = j;
    out[b] = classes > 0 && k === labels[b] ? 1 : 0;
  }
}

function softmaxRow(x: F64, offset: number, n: number): number[] {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, x[offset + j]);
  const e = Array.from({ length: n }, (_, j) => Math.exp(x[offset + j] - m));
  const z = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / z);
}

export function softmax_forward(out: F64, x: F64, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) softmaxRow(x, r * n, n).forEach((v, j) => (out[r * n + j] = v));
}

/** ∂y_i/∂x_j = y_i(δ_ij − y_j), so dx_j += Σ_i dy_i·y_i(δ_ij − y_j). */
export function softmax_backward(dx: F64, dy: F64, y: F64, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += dy[o + i] * y[o + i] * ((i === j ? 1 : 0) - y[o + j]);
      dx[o + j] += s;
    }
  }
}

export function log_softmax_forward(out: F64, x: F64, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) softmaxRow(x, r * n, n).forEach((v, j) => (out[r * n + j] = Math.log(v)));
}

/** ∂y_i/∂x_j = δ_ij − softmax_j with softmax = e^y. */
export function log_softmax_backward(dx: F64, dy: F64, y: F64, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += dy[o + i] * ((i === j ? 1 : 0) - Math.exp(y[o + j]));
      dx[o + j] += s;
    }
  }
}

const qLogQ = (q: number) => (q > 0 ? q * Math.log(q) : 0);

/** kl[b] = Σ_{l,c} q log q + L·log C, the KL of softmax(logits row (b, l)) from uniform, summed over l. */
export function kl_categorical_forward(
  kl: F64,
  logits: F64,
  batch: number,
  latents: number,
  categories: number,
): void {
  for (let b = 0; b < batch; b++) {
    let s = latents * Math.log(categories);
    for (let l = 0; l < latents; l++) {
      for (const q of softmaxRow(logits, (b * latents + l) * categories, categories)) s += qLogQ(q);
    }
    kl[b] = s;
  }
}

/** ∂(Σ_c q_c log q_c)/∂θ_j = Σ_c (log q_c + 1)·q_c(δ_cj − q_j). */
export function kl_categorical_backward(
  dLogits: F64,
  logits: F64,
  rows: number,
  categories: number,
  scale: number,
): void {
  for (let r = 0; r < rows; r++) {
    const q = softmaxRow(logits, r * categories, categories);
    for (let j = 0; j < categories; j++) {
      let s = 0;
      for (let c = 0; c < categories; c++) {
        if (q[c] > 0) s += (Math.log(q[c]) + 1) * q[c] * ((c === j ? 1 : 0) - q[j]);
      }
      dLogits[r * categories + j] += scale * s;
    }
  }
}

/** log softmax of a row, x − max − log Σ e^{x − max}. */
function logSoftmaxRow(x: F64, offset: number, n: number): number[] {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, x[offset + j]);
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(x[offset + j] - m);
  const ls = Math.log(s);
  return Array.from({ length: n }, (_, j) => x[offset + j] - m - ls);
}

/** kl[b] = Σ_l KL(softmax(logits row (b, l)) ‖ softmax(priorLogits row l)) = Σ_l Σ_c q_c (log q_c − log p_c). */
export function kl_categorical_prior_forward(
  kl: F64,
  logits: F64,
  priorLogits: F64,
  batch: number,
  latents: number,
  categories: number,
): void {
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let l = 0; l < latents; l++) {
      const lq = logSoftmaxRow(logits, (b * latents + l) * categories, categories);
      const lp = logSoftmaxRow(priorLogits, l * categories, categories);
      for (let c = 0; c < categories; c++) {
        const q = Math.exp(lq[c]);
        if (q > 0) s += q * (lq[c] - lp[c]);
      }
    }
    kl[b] = s;
  }
}

/**
 * Chain rule through q = softmax(θ) and p = softmax(ρ): ∂KL/∂q_c = log q_c − log p_c + 1 with
 * ∂q_c/∂θ_j = q_c(δ_cj − q_j), and ∂KL/∂log p_c = −q_c with ∂log p_c/∂ρ_j = δ_cj − p_j, summed over the batch.
 */
export function kl_categorical_prior_backward(
  dLogits: F64,
  dPrior: F64,
  logits: F64,
  priorLogits: F64,
  batch: number,
  latents: number,
  categories: number,
  scale: number,
): void {
  for (let b = 0; b < batch; b++) {
    for (let l = 0; l < latents; l++) {
      const o = (b * latents + l) * categories;
      const lq = logSoftmaxRow(logits, o, categories);
      const lp = logSoftmaxRow(priorLogits, l * categories, categories);
      const q = lq.map(Math.exp), p = lp.map(Math.exp);
      for (let j = 0; j < categories; j++) {
        let dTheta = 0, dRho = 0;
        for (let c = 0; c < categories; c++) {
          const delta = c === j ? 1 : 0;
          if (q[c] > 0) dTheta += (lq[c] - lp[c] + 1) * q[c] * (delta - q[j]);
          dRho += -q[c] * (delta - p[j]);
        }
        dLogits[o + j] += scale * dTheta;
        dPrior[l * categories + j] += scale * dRho;
      }
    }
  }
}

/** q = softmax((a, 1 − a))[0] (docs/math.md §4.8) and its log, log(1 − q). */
function bernoulliPosterior(a: number): { q: number; lq: number; l1q: number } {
  const lse = Math.max(a, 1 - a) + Math.log1p(Math.exp(-Math.abs(a - (1 - a))));
  return { q: Math.exp(a - lse), lq: a - lse, l1q: 1 - a - lse };
}

/** kl[b] = Σ_l q log(q/p) + (1 − q) log((1 − q)/(1 − p)), p = σ(priorLogits[l]). */
export function kl_bernoulli_forward(
  kl: F64,
  a: F64,
  priorLogits: F64,
  batch: number,
  latents: number,
): void {
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let l = 0; l < latents; l++) {
      const { q, lq, l1q } = bernoulliPosterior(a[b * latents + l]);
      const rho = priorLogits[l];
      s += q * (lq - logSigmoid(rho)) + (1 - q) * (l1q - logSigmoid(-rho));
    }
    kl[b] = s;
  }
}

/**
 * Chain rule: ∂KL/∂q = log(q/p) − log((1 − q)/(1 − p)), ∂q/∂a = 2q(1 − q);
 * ∂KL/∂p = −q/p + (1 − q)/(1 − p), ∂p/∂ρ = p(1 − p).
 */
export function kl_bernoulli_backward(
  dA: F64,
  dPrior: F64,
  a: F64,
  priorLogits: F64,
  batch: number,
  latents: number,
  scale: number,
): void {
  for (let b = 0; b < batch; b++) {
    for (let l = 0; l < latents; l++) {
      const { q, lq, l1q } = bernoulliPosterior(a[b * latents + l]);
      const rho = priorLogits[l];
      const p = sigmoid(rho);
      const dq = (lq - logSigmoid(rho)) - (l1q - logSigmoid(-rho));
      dA[b * latents + l] += scale * dq * 2 * q * (1 - q);
      dPrior[l] += scale * (-q / p + (1 - q) / (1 - p)) * p * (1 - p);
    }
  }
}

// --- Bernoulli VAE (docs/math.md §4.10) -------------------------------------------------------------------

/** The logit pair (a, 1 − a) of each binary latent. */
export function bernoulli_logits(logits: F64, a: F64, count: number): void {
  for (let i = 0; i < count; i++) {
    logits[2 * i] = a[i];
    logits[2 * i + 1] = 1 - a[i];
  }
}

/** ∂logits[2i]/∂a[i] = 1 and ∂logits[2i + 1]/∂a[i] = −1. */
export function bernoulli_logits_backward(dA: F64, dLogits: F64, count: number): void {
  for (let i = 0; i < count; i++) dA[i] += dLogits[2 * i] - dLogits[2 * i + 1];
}

export function first_of_pairs(out: F64, pairs: F64, count: number): void {
  for (let i = 0; i < count; i++) out[i] = pairs[2 * i];
}

/** ∂out[i]/∂pairs[2i] = 1, and nothing depends on pairs[2i + 1]; written. */
export function first_of_pairs_backward(dPairs: F64, dOut: F64, count: number): void {
  for (let i = 0; i < count; i++) {
    dPairs[2 * i] = dOut[i];
    dPairs[2 * i + 1] = 0;
  }
}

/** out = 1[u < x], u the uniform of word j of row rowIds[r] of the (key, stream, tag) stream. */
export function binarize(
  out: F64,
  x: F64,
  rowIds: F64,
  rows: number,
  dim: number,
  key0: number,
  key1: number,
  stream: number,
  tag: number,
): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) {
      const u = uniformFromWord(streamWord(j, rowIds[r] >>> 0, [key0, key1], stream, tag));
      out[r * dim + j] = u < x[r * dim + j] ? 1 : 0;
    }
  }
}

/** out[i, :] = b + Σ_l w[l·categories + sample[i·latents + l], :]: linear_forward of the one-hot codes. */
export function onehot_linear_forward(
  out: F64,
  w: F64,
  b: F64,
  sample: F64,
  batch: number,
  latents: number,
  categories: number,
  outDim: number,
): void {
  const x = onehotMatrix(sample, batch, latents, categories);
  linear_forward(out, x, w, b, batch, latents * categories, outDim);
}

/** The weight and bias gradients of linear_backward on the one-hot codes (their own gradient is not asked). */
export function onehot_linear_backward(
  dw: F64,
  db: F64,
  dy: F64,
  sample: F64,
  batch: number,
  latents: number,
  categories: number,
  outDim: number,
): void {
  const x = onehotMatrix(sample, batch, latents, categories);
  linear_backward(
    new Float64Array(0),
    dw,
    db,
    dy,
    x,
    new Float64Array(0),
    batch,
    latents * categories,
    outDim,
    0,
  );
}

/** The batch × (latents·categories) matrix of one-hot rows of `sample`. */
export function onehotMatrix(sample: F64, batch: number, latents: number, categories: number): F64 {
  const x = new Float64Array(batch * latents * categories);
  for (let r = 0; r < batch * latents; r++) x[r * categories + sample[r]] = 1;
  return x;
}
