// Float64 oracle for the estimators of docs/math.md §2, written from the formulas (J(p)v = p⊙(v − ⟨p,v⟩)), not from
// the kernels' fused passes. Rows are plain number arrays.
import { exponentialFromWord, streamWord } from "./philox.ts";

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
