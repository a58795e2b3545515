// Float64 oracle of polynomial programming (docs/math.md §6.1), written from the definitions there and in
// src/kernels.ts, not from src/models/poly.ts or the kernels.

/** The targets c_i: 0.45 for "const"; (i + ½)/L for "linear" (i = 0 … L − 1). */
export function polyTargets(latents: number, kind: "const" | "linear"): Float64Array {
  return Float64Array.from({ length: latents }, (_, i) => (kind === "const" ? 0.45 : (i + 0.5) / latents));
}

/**
 * `poly_loss`: for yHard of shape (batch, L, 2), with d_i = yHard[b, i, 0] − c_i,
 * loss[b] = (1/L)·Σ_i |d_i|^p and gHard[b, i] = ((p/L)·|d_i|^(p−1)·sign(d_i), 0), sign(0) = +1. Both written.
 */
export function poly_loss(
  loss: Float64Array,
  gHard: Float64Array,
  yHard: Float64Array,
  c: Float64Array,
  batch: number,
  latents: number,
  p: number,
): void {
  for (let b = 0; b < batch; b++) {
    let total = 0;
    for (let i = 0; i < latents; i++) {
      const at = 2 * (b * latents + i);
      const d = yHard[at] - c[i];
      total += Math.abs(d) ** p;
      gHard[at] = (p / latents) * Math.abs(d) ** (p - 1) * (d < 0 ? -1 : 1);
      gHard[at + 1] = 0;
    }
    loss[b] = total / latents;
  }
}
