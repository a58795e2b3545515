// Float64 oracle for the estimators of docs/math.md §2, written from the formulas (J(p)v = p⊙(v − ⟨p,v⟩)), not from
// the kernels' fused passes. Rows are plain number arrays.
import { exponentialFromWord, streamWord, uniformFromWord } from "./philox.ts";

export function softmax(x: readonly number[], tau = 1): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp((v - m) / tau));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** J(p)v = p⊙(v − ⟨p, v⟩). */
export function jvp(p: readonly number[], v: readonly number[]): number[] {
  const dot = p.reduce((acc, pi, i) => acc + pi * v[i], 0);
  return p.map((pi, i) => pi * (v[i] - dot));
}

const add = (a: readonly number[], b: readonly number[]) => a.map((x, i) => x + b[i]);
const scale = (a: readonly number[], s: number) => a.map((x) => x * s);
export const onehot = (s: number, n: number) => Array.from({ length: n }, (_, i) => (i === s ? 1 : 0));

export function reinmaxBackward(theta: number[], s: number, g: number[], h: number[], tau: number): number[] {
  const pi = softmax(theta);
  const pi1 = scale(add(softmax(theta, tau), onehot(s, theta.length)), 0.5);
  return add(add(scale(jvp(pi1, g), 2), scale(jvp(pi, g), -0.5)), jvp(pi, h));
}

export function stBackward(theta: number[], _s: number, g: number[], h: number[], tau: number): number[] {
  return add(scale(jvp(softmax(theta, tau), g), 1 / tau), jvp(softmax(theta), h));
}

/** θ' of Gapped ST: θ'_s = max θ, θ'_i = min(θ_i, max θ − gap) otherwise. */
export function gappedLogits(theta: number[], s: number, gap: number): number[] {
  const m = Math.max(...theta);
  return theta.map((t, i) => (i === s ? m : Math.min(t, m - gap)));
}

export function gstBackward(theta: number[], s: number, g: number[], h: number[], tau: number, gap = 1) {
  return add(scale(jvp(softmax(gappedLogits(theta, s, gap), tau), g), 1 / tau), jvp(softmax(theta), h));
}

/** Conditional perturbed logits θ + G given argmax = s, from exponentials E (docs/math.md §2.5), shifted by −max θ. */
export function conditionalPerturbed(theta: number[], s: number, e: readonly number[]): number[] {
  const m = Math.max(...theta);
  const w = theta.map((t) => Math.exp(t - m));
  const z = w.reduce((a, b) => a + b, 0);
  return theta.map((_, i) => (i === s ? -Math.log(e[s] / z) : -Math.log(e[i] / w[i] + e[s] / z)));
}

/** The exponentials of draw j of a row, from the same Philox words the kernels use (words 1 + j·n + i). */
export function streamExponentials(
  n: number,
  j: number,
  row: number,
  key: readonly number[],
  stream: number,
  tag: number,
): number[] {
  return Array.from(
    { length: n },
    (_, i) => exponentialFromWord(streamWord(1 + j * n + i, row, key, stream, tag)),
  );
}

export function gumbelBackward(
  theta: number[],
  _s: number,
  g: number[],
  h: number[],
  tau: number,
  perturbedDraws: readonly number[][],
): number[] {
  let out = jvp(softmax(theta), h);
  for (const z of perturbedDraws) {
    out = add(out, scale(jvp(softmax(z, tau), g), 1 / tau / perturbedDraws.length));
  }
  return out;
}

export function reinforceBackward(theta: number[], s: number, advantage: number, h: number[]): number[] {
  const pi = softmax(theta);
  return add(scale(add(onehot(s, theta.length), scale(pi, -1)), advantage), jvp(pi, h));
}

/** The category of a row by inverse CDF: the first i with u·Z < Σ_{j≤i} e^{θ_j − max θ} (else the last). */
export function inverseCdfSample(theta: readonly number[], u: number): number {
  const m = Math.max(...theta);
  const e = theta.map((t) => Math.exp(t - m));
  const target = u * e.reduce((a, b) => a + b, 0);
  let cumulative = 0;
  for (let i = 0; i < theta.length - 1; i++) {
    cumulative += e[i];
    if (target < cumulative) return i;
  }
  return theta.length - 1;
}

// ---- The score-function estimators of Bernoulli latents (docs/math.md §2.9), in float64 ----------------

/** P(z = 1) = σ(θ) of a Bernoulli latent whose logit pair is (a, 1 − a): θ = 2a − 1. */
export function bernoulliLogit(a: number): number {
  return 2 * a - 1;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * The K coupled bits of one latent with P(z = 1) = p, from words 0 … K − 1 of its stream (`word(t)`): for K = 2
 * the antithetic pair u, 1 − u; for K ≥ 3, u_t = (1 − d_t)^{K−1} with d the Dirichlet(1, …, 1) point E/ΣE.
 * Where p ≥ ½ the uniforms are mirrored (z = 1 ⟺ 1 − u_t < p). Also returns the smallest |u − p| (or its
 * mirror) over the copies: how close the draw came to the other code, which float32 may round across.
 */
export function coupledBits(
  p: number,
  K: number,
  word: (t: number) => number,
): { bits: number[]; margin: number } {
  let v: number[];
  if (K === 2) {
    const u = uniformFromWord(word(0));
    v = [u, 1 - u];
  } else {
    const e = Array.from({ length: K }, (_, t) => exponentialFromWord(word(t)));
    const total = e.reduce((x, y) => x + y, 0);
    v = e.map((et) => (1 - et / total) ** (K - 1));
  }
  const u = p < 0.5 ? v : v.map((x) => 1 - x);
  return { bits: u.map((x) => (x < p ? 1 : 0)), margin: Math.min(...u.map((x) => Math.abs(x - p))) };
}

/** 1/(1 − ρ) of ARMS for K coupled copies with P(z = 1) = p: ρ the correlation of two copies' bits. */
export function armsDebias(p: number, K: number): number {
  const q = Math.min(p, 1 - p);
  const joint = Math.max(0, 2 * q ** (1 / (K - 1)) - 1) ** (K - 1); // P(both copies rarer-valued)
  return q > 0 ? (q * (1 - q)) / (q - joint) : 0;
}

/**
 * One latent's estimate g of ∂E[f]/∂θ from its K codes z (bits) and their losses f, and for Double CV ∂g/∂α.
 * Double CV also takes, per copy, its projection c_t = Σ_l (z_tl − p_l)·ḡ_{−t,l}, the mean over copies of
 * ∂f_t/∂z_t at this latent (gradMean), and α.
 */
export function scoreGradient(
  name: "rloo" | "disarm" | "arms" | "doublecv",
  theta: number,
  z: readonly number[],
  f: readonly number[],
  doubleCv: { c: readonly number[]; gradMean: number; alpha: number } = { c: [], gradMean: 0, alpha: 0 },
): { g: number; dg: number } {
  const K = z.length, p = sigmoid(theta), F = f.reduce((x, y) => x + y, 0);
  switch (name) {
    case "rloo":
      return { g: z.reduce((g, zt, t) => g + (f[t] - (F - f[t]) / (K - 1)) * (zt - p), 0) / K, dg: 0 };
    case "disarm": {
      if (z[0] === z[1]) return { g: 0, dg: 0 };
      const g = 0.5 * (f[0] - f[1]) * (z[1] === 1 ? -1 : 1) * sigmoid(Math.abs(theta));
      return { g, dg: 0 };
    }
    case "arms":
      return {
        g: (armsDebias(p, K) / (K - 1)) * z.reduce((g, zt, t) => g + (f[t] - F / K) * (zt - p), 0),
        dg: 0,
      };
    case "doublecv": {
      const { c, gradMean, alpha } = doubleCv, C = c.reduce((x, y) => x + y, 0);
      let g = 0, dg = 0;
      for (let t = 0; t < K; t++) {
        const others = (F + alpha * C - (f[t] + alpha * c[t])) / (K - 1);
        g += (f[t] - others + alpha * c[t]) * (z[t] - p);
        dg += (c[t] - (C - c[t]) / (K - 1)) * (z[t] - p);
      }
      const global = gradMean * p * (1 - p);
      return { g: g / K - alpha * global, dg: dg / K - global };
    }
  }
}

/**
 * RODEO's estimate of ∂E[f]/∂θ for one example (docs/math.md §2.9.5), written the way its reference code
 * computes it: K codes x (bits), their losses f, the control network's outputs [H, G] at point i (0: x_k,
 * 1 + l: x_k with bit l flipped) for copy k and the jj-th other copy (`control(k, jj, i)`), and α, β.
 */
export function rodeoEstimate(
  x: readonly (readonly number[])[],
  p: readonly number[],
  f: readonly number[],
  control: (k: number, jj: number, i: number) => readonly [number, number],
  alpha: number,
  beta: number,
): number[] {
  const K = x.length, L = p.length;
  const mean = (k: number, i: number, channel: 0 | 1) => {
    let sum = 0;
    for (let jj = 0; jj < K - 1; jj++) sum += control(k, jj, i)[channel];
    return sum / (K - 1);
  };
  const steins: number[] = [], cvs: number[][] = [];
  for (let k = 0; k < K; k++) {
    const w = p.map((pl, l) => pl * (1 - x[k][l]) + (1 - pl) * x[k][l]);
    let stein = 0;
    const cv = new Array(L).fill(0);
    for (let i = 0; i < L; i++) {
      stein += w[i] * (mean(k, 1 + i, 0) - mean(k, 0, 0)) / L;
      for (let d = 0; d < L; d++) {
        const y = d === i ? 1 - x[k][d] : x[k][d];
        cv[d] += w[i] * (mean(k, 1 + i, 1) * (y - p[d]) - mean(k, 0, 1) * (x[k][d] - p[d])) / L;
      }
    }
    steins.push(stein);
    cvs.push(cv);
  }
  const tilde = f.map((fk, k) => fk + alpha * steins[k]);
  const total = tilde.reduce((s, v) => s + v, 0);
  return p.map((pd, d) => {
    let g = 0;
    for (let k = 0; k < K; k++) {
      g += (f[k] - (total - tilde[k]) / (K - 1)) * (x[k][d] - pd) + beta * cvs[k][d];
    }
    return g / K;
  });
}

/** RODEO's network input at point i of copy k for other copy j: (⟨g_j, y − x_j⟩, f_j). */
export function rodeoInput(
  x: readonly (readonly number[])[],
  f: readonly number[],
  g: readonly (readonly number[])[],
  k: number,
  j: number,
  i: number,
): [number, number] {
  let s = 0;
  for (let d = 0; d < x[k].length; d++) {
    const y = i === 1 + d ? 1 - x[k][d] : x[k][d];
    s += g[j][d] * (y - x[j][d]);
  }
  return [s, f[j]];
}
