// Categorical sampling and the backward passes of every estimator (docs/math.md §2), one thread per row of n logits,
// with the formulas and the order of operations of asm/estimators.ts, and its exp and log (exp_f32 and log_f32 of
// shaders/math.wgsl, docs/math.md §4.12). Backward kernels write dLogits.
//! use rng

//! include math.row_max

// Helpers that read the `logits` binding, which every kernel of this file has: row_max (shaders/math.wgsl)
// takes the maximum of a row of logits.
fn row_value(i: u32) -> f32 {
  return logits[i];
}

fn row_log_sum_exp(base: u32, n: u32, m: f32) -> f32 {
  var z = 0.0;
  for (var i = 0u; i < n; i++) {
    z += exp_f32(logits[base + i] - m);
  }
  return log_f32(z);
}

//! snippet soft_gradient
// Adds π⊙(h − ⟨π,h⟩) (the softmax backward of the soft output) to dLogits of the row at `base`.
fn add_soft_gradient(base: u32, n: u32) {
  let m = row_max(base, n);
  var z = 0.0;
  var ph = 0.0;
  for (var i = 0u; i < n; i++) {
    let e = exp_f32(logits[base + i] - m);
    z += e;
    ph += e * gSoft[base + i];
  }
  let inv_z = 1.0 / z;
  let ph_mean = ph * inv_z;
  for (var i = 0u; i < n; i++) {
    let pi = exp_f32(logits[base + i] - m) * inv_z;
    dLogits[base + i] = dLogits[base + i] + pi * (gSoft[base + i] - ph_mean);
  }
}

//! snippet conditional_perturbed
// Writes the j-th conditional perturbed logits ℓ = θ + G_j of the row at `base` into perturbed[dst..],
// shifted by −max θ: with w_i = exp_f32(θ_i), Z = Σ w_i and E ~ Exp(1) from words 1 + j·n + i of the row's
// stream, ℓ_s = −log(E_s/Z), ℓ_i = −log(E_i/w_i + E_s/Z) for i ≠ s, so argmax ℓ = s.
fn conditional_perturbed(
  dst: u32, base: u32, s: u32, n: u32, m: f32, log_z: f32, j: u32, stream: ptr<function, Stream>,
) {
  let first = 1u + j * n;
  let es = exponential_from_word(stream_word(stream, first + s));
  let es_over_z = es * exp_f32(-log_z);
  for (var i = 0u; i < n; i++) {
    if (i == s) {
      perturbed[dst + i] = log_z - log_f32(es);
    } else {
      let e = exponential_from_word(stream_word(stream, first + i));
      perturbed[dst + i] = -log_f32(e * exp_f32(-(logits[base + i] - m)) + es_over_z);
    }
  }
}

//! kernel categorical_sample
// The first k with u·Z < Σ_{i≤k} exp_f32(θ_i − max θ), u from word 0 of the row's stream: unnormalised partial
// sums, so every backend makes the same comparisons on the same word.
@compute @workgroup_size(WORKGROUP_SIZE)
fn categorical_sample(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  let m = row_max(base, n);
  var z = 0.0;
  for (var i = 0u; i < n; i++) {
    z += exp_f32(logits[base + i] - m);
  }
  var stream = make_stream(params.key0, params.key1, r, params.stream, params.tag);
  let threshold = uniform_from_word(stream_word(&stream, 0u)) * z;
  var s = i32(n) - 1;
  var cumulative = 0.0;
  for (var i = 0u; i + 1u < n; i++) {
    cumulative += exp_f32(logits[base + i] - m);
    if (threshold < cumulative) {
      s = i32(i);
      break;
    }
  }
  sample[r] = s;
}

//! kernel onehot_softmax
@compute @workgroup_size(WORKGROUP_SIZE)
fn onehot_softmax(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  let m = row_max(base, n);
  var z = 0.0;
  for (var i = 0u; i < n; i++) {
    let e = exp_f32(logits[base + i] - m);
    ySoft[base + i] = e;
    z += e;
  }
  let inv = 1.0 / z;
  let s = sample[r];
  for (var i = 0u; i < n; i++) {
    ySoft[base + i] = ySoft[base + i] * inv;
    yHard[base + i] = select(0.0, 1.0, i32(i) == s);
  }
}

//! kernel reinmax_backward
// With a = softmax(θ/τ), π = softmax(θ), π₁ = (a + D)/2, q = h − g/2:
// ∇θ = 2·π₁⊙(g − ⟨π₁,g⟩) + π⊙(q − ⟨π,q⟩); a's exponentials wait in dLogits until the last pass.
@compute @workgroup_size(WORKGROUP_SIZE)
fn reinmax_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  let inv_tau = 1.0 / params.tau;
  let s = u32(sample[r]);
  let m = row_max(base, n);
  var za = 0.0;
  var zp = 0.0;
  var ag = 0.0;
  var pq = 0.0;
  for (var i = 0u; i < n; i++) {
    let x = logits[base + i] - m;
    let ea = exp_f32(x * inv_tau);
    let ep = exp_f32(x);
    let gi = gHard[base + i];
    za += ea;
    zp += ep;
    ag += ea * gi;
    pq += ep * (gSoft[base + i] - 0.5 * gi);
    dLogits[base + i] = ea;
  }
  let inv_za = 1.0 / za;
  let inv_zp = 1.0 / zp;
  let gs = gHard[base + s];
  let pi1g = 0.5 * (ag * inv_za + gs); // ⟨π₁, g⟩
  let piq = pq * inv_zp; // ⟨π, q⟩
  for (var i = 0u; i < n; i++) {
    let gi = gHard[base + i];
    let pi1 = 0.5 * (dLogits[base + i] * inv_za + select(0.0, 1.0, i == s));
    let pi = exp_f32(logits[base + i] - m) * inv_zp;
    dLogits[base + i] = 2.0 * pi1 * (gi - pi1g) + pi * (gSoft[base + i] - 0.5 * gi - piq);
  }
}

//! kernel st_backward
// (1/τ)·a⊙(g − ⟨a,g⟩) + π⊙(h − ⟨π,h⟩), a = softmax(θ/τ), π = softmax(θ).
@compute @workgroup_size(WORKGROUP_SIZE)
fn st_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  let inv_tau = 1.0 / params.tau;
  let m = row_max(base, n);
  var za = 0.0;
  var zp = 0.0;
  var ag = 0.0;
  var ph = 0.0;
  for (var i = 0u; i < n; i++) {
    let x = logits[base + i] - m;
    let ea = exp_f32(x * inv_tau);
    let ep = exp_f32(x);
    za += ea;
    zp += ep;
    ag += ea * gHard[base + i];
    ph += ep * gSoft[base + i];
    dLogits[base + i] = ea;
  }
  let inv_za = 1.0 / za;
  let inv_zp = 1.0 / zp;
  let ag_mean = ag * inv_za;
  let ph_mean = ph * inv_zp;
  for (var i = 0u; i < n; i++) {
    let a = dLogits[base + i] * inv_za;
    let pi = exp_f32(logits[base + i] - m) * inv_zp;
    dLogits[base + i] = inv_tau * a * (gHard[base + i] - ag_mean) + pi * (gSoft[base + i] - ph_mean);
  }
}

//! kernel gst_backward
// θ' lifts θ_s to max θ and caps every other logit at max θ − gap (staged in dLogits);
// ∇θ = (1/τ)·J(softmax(θ'/τ))g + J(π)h.
//! include soft_gradient
@compute @workgroup_size(WORKGROUP_SIZE)
fn gst_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  let inv_tau = 1.0 / params.tau;
  let s = u32(sample[r]);
  let m = row_max(base, n);
  for (var i = 0u; i < n; i++) {
    dLogits[base + i] = select(min(logits[base + i], m - params.gap), m, i == s);
  }
  var sum = 0.0;
  var yg = 0.0;
  for (var i = 0u; i < n; i++) {
    let e = exp_f32((dLogits[base + i] - m) * inv_tau);
    sum += e;
    yg += e * gHard[base + i];
  }
  let inv = 1.0 / sum;
  let yg_mean = yg * inv;
  for (var i = 0u; i < n; i++) {
    let y = exp_f32((dLogits[base + i] - m) * inv_tau) * inv;
    dLogits[base + i] = inv_tau * y * (gHard[base + i] - yg_mean);
  }
  add_soft_gradient(base, n);
}

//! kernel gapped_logits
// θ'_s = max θ, θ'_i = min(θ_i, max θ − gap) otherwise.
@compute @workgroup_size(WORKGROUP_SIZE)
fn gapped_logits(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  let s = u32(sample[r]);
  let m = row_max(base, n);
  for (var i = 0u; i < n; i++) {
    out[base + i] = select(min(logits[base + i], m - params.gap), m, i == s);
  }
}

//! kernel gumbel_backward
// (1/τ)·(1/k)·Σ_j J(softmax(ℓ_j/τ))g + J(π)h with ℓ_j the conditional perturbed logits, staged in the
// `perturbed` scratch (it ends holding ℓ_k, as on WASM).
//! include soft_gradient
//! include conditional_perturbed
// Adds scale·y⊙(g − ⟨y,g⟩) to dLogits, y = softmax(z/τ) of the perturbed row z at `base`.
fn add_tempered_softmax_gradient(base: u32, n: u32, inv_tau: f32, scale: f32) {
  var m = perturbed[base];
  for (var i = 1u; i < n; i++) {
    m = max(m, perturbed[base + i]);
  }
  var sum = 0.0;
  var yg = 0.0;
  for (var i = 0u; i < n; i++) {
    let e = exp_f32((perturbed[base + i] - m) * inv_tau);
    sum += e;
    yg += e * gHard[base + i];
  }
  let inv = 1.0 / sum;
  let yg_mean = yg * inv;
  for (var i = 0u; i < n; i++) {
    let y = exp_f32((perturbed[base + i] - m) * inv_tau) * inv;
    dLogits[base + i] = dLogits[base + i] + scale * y * (gHard[base + i] - yg_mean);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn gumbel_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  let inv_tau = 1.0 / params.tau;
  let scale = inv_tau / f32(params.k);
  let s = u32(sample[r]);
  let m = row_max(base, n);
  let log_z = row_log_sum_exp(base, n, m);
  var stream = make_stream(params.key0, params.key1, r, params.stream, params.tag);
  for (var i = 0u; i < n; i++) {
    dLogits[base + i] = 0.0;
  }
  for (var j = 0u; j < params.k; j++) {
    conditional_perturbed(base, base, s, n, m, log_z, j, &stream);
    add_tempered_softmax_gradient(base, n, inv_tau, scale);
  }
  add_soft_gradient(base, n);
}

//! kernel gumbel_perturbations
// The conditional perturbed logits ℓ_j (k·n per row, shifted by −max θ) as gumbel_backward draws them; one
// thread per (row, draw).
//! include conditional_perturbed
@compute @workgroup_size(WORKGROUP_SIZE)
fn gumbel_perturbations(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (params.k == 0u || t / params.k >= params.rows) {
    return;
  }
  let r = t / params.k;
  let j = t % params.k;
  let n = params.n;
  let base = r * n;
  let s = u32(sample[r]);
  let m = row_max(base, n);
  let log_z = row_log_sum_exp(base, n, m);
  var stream = make_stream(params.key0, params.key1, r, params.stream, params.tag);
  conditional_perturbed(t * n, base, s, n, m, log_z, j, &stream);
}

//! kernel reinforce_backward
// (reward[r] − baseline[0])·(onehot(s) − π) + J(π)h.
//! include soft_gradient
@compute @workgroup_size(WORKGROUP_SIZE)
fn reinforce_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  let s = u32(sample[r]);
  let advantage = reward[r] - baseline[0];
  let m = row_max(base, n);
  var z = 0.0;
  for (var i = 0u; i < n; i++) {
    z += exp_f32(logits[base + i] - m);
  }
  let inv = 1.0 / z;
  for (var i = 0u; i < n; i++) {
    let pi = exp_f32(logits[base + i] - m) * inv;
    dLogits[base + i] = advantage * (select(0.0, 1.0, i == s) - pi);
  }
  add_soft_gradient(base, n);
}
