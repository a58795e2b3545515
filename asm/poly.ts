// Polynomial programming (docs/math.md §6.1): the per-sample loss (1/L)·Σ_i |X_i − c_i|^p with X_i = D_i[0].

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
    const q: f32 = <f32>1 / (<f32>1 + Mathf.exp(load<f32>(t, 4) - load<f32>(t)));
    const ci = load<f32>(c + (<usize>i << 2));
    total += <f64>(q * Mathf.pow(Mathf.abs(1 - ci), p) + (1 - q) * Mathf.pow(Mathf.abs(ci), p));
  }
  store<f32>(out + (<usize>index << 2), <f32>(total / <f64>latents));
}
