// Polynomial programming (docs/math.md §6.1), as asm/poly.ts: one thread per sample b.
//! use common
//! use reduce

// |d|^e for e ≥ 0. The exponents the tasks use (p ∈ {1.5, 2, 3}, so e ∈ {0.5, 1, 2}) are computed exactly
// as the WASM kernel's Mathf.pow rounds them; WGSL's pow is exp2(e·log2 x), a few ulp off and undefined at 0.
fn power(x: f32, e: f32) -> f32 {
  if (e == 0.0) {
    return 1.0;
  }
  if (e == 1.0) {
    return x;
  }
  if (e == 2.0) {
    return x * x;
  }
  if (e == 0.5) {
    return sqrt(x);
  }
  if (x == 0.0) {
    return select(0.0, 1.0 / x, e < 0.0); // +inf for a negative exponent
  }
  return pow(x, e);
}

//! kernel poly_loss
// loss[b] = (1/L)·Σ_i |yHard[b,i,0] − c[i]|^p; gHard (batch, L, 2) = ∂loss[b]/∂yHard (written).
@compute @workgroup_size(WORKGROUP_SIZE)
fn poly_loss(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let b = thread_index(id, groups);
  if (b >= params.batch) {
    return;
  }
  let inv_l = 1.0 / f32(params.latents);
  let p = params.p;
  var total = 0.0;
  for (var i = 0u; i < params.latents; i++) {
    let at = (b * params.latents + i) * 2u;
    let d = yHard[at] - c[i];
    let ad = abs(d);
    let ad_p1 = power(ad, p - 1.0);
    total += ad_p1 * ad;
    gHard[at] = inv_l * p * ad_p1 * select(1.0, -1.0, d < 0.0);
    gHard[at + 1u] = 0.0;
  }
  loss[b] = total * inv_l;
}

//! kernel poly_expected_loss
// out[index] = (1/L)·Σ_i [q_i·|1 − c_i|^p + (1 − q_i)·|c_i|^p], q_i = σ(θ_i0 − θ_i1): one workgroup, each
// thread a strided slice, then a tree reduction in workgroup memory.
@compute @workgroup_size(REDUCE_SIZE)
fn poly_expected_loss(@builtin(local_invocation_index) lane: u32) {
  var sum = 0.0;
  for (var i = lane; i < params.latents; i += REDUCE_SIZE) {
    let q = 1.0 / (1.0 + exp(theta[2u * i + 1u] - theta[2u * i]));
    sum += q * power(abs(1.0 - c[i]), params.p) + (1.0 - q) * power(abs(c[i]), params.p);
  }
  let total = workgroup_sum(lane, sum);
  if (lane == 0u) {
    out[params.index] = total / f32(params.latents);
  }
}
