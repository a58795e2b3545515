// Polynomial programming (docs/math.md §6.1), as asm/poly.ts: one thread per sample b.
//! use common
//! use reduce
//! use rng
//! use math

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

// One row of two logits t with sample s, gHard (g0, 0) and gSoft 0: each estimator's gradient with the operations
// of its kernel in shaders/estimators.wgsl (for poly_step, which computes it once per latent and sample).
fn reinmax_row2(t: vec2f, s: u32, g0: f32, inv_tau: f32) -> vec2f {
  let g = vec2f(g0, 0.0);
  let m = max(t.x, t.y);
  var za = 0.0;
  var zp = 0.0;
  var ag = 0.0;
  var pq = 0.0;
  var ea: vec2f;
  for (var i = 0u; i < 2u; i++) {
    let x = t[i] - m;
    ea[i] = exp_f32(x * inv_tau);
    let ep = exp_f32(x);
    za += ea[i];
    zp += ep;
    ag += ea[i] * g[i];
    pq += ep * (0.0 - 0.5 * g[i]);
  }
  let inv_za = 1.0 / za;
  let inv_zp = 1.0 / zp;
  let pi1g = 0.5 * (ag * inv_za + g[s]);
  let piq = pq * inv_zp;
  var out: vec2f;
  for (var i = 0u; i < 2u; i++) {
    let pi1 = 0.5 * (ea[i] * inv_za + select(0.0, 1.0, i == s));
    let pi = exp_f32(t[i] - m) * inv_zp;
    out[i] = 2.0 * pi1 * (g[i] - pi1g) + pi * (0.0 - 0.5 * g[i] - piq);
  }
  return out;
}

fn st_row2(t: vec2f, g0: f32, inv_tau: f32) -> vec2f {
  let g = vec2f(g0, 0.0);
  let m = max(t.x, t.y);
  var za = 0.0;
  var zp = 0.0;
  var ag = 0.0;
  var ea: vec2f;
  for (var i = 0u; i < 2u; i++) {
    let x = t[i] - m;
    ea[i] = exp_f32(x * inv_tau);
    za += ea[i];
    zp += exp_f32(x);
    ag += ea[i] * g[i];
  }
  let inv_za = 1.0 / za;
  let inv_zp = 1.0 / zp;
  let ag_mean = ag * inv_za;
  var out: vec2f;
  for (var i = 0u; i < 2u; i++) {
    let pi = exp_f32(t[i] - m) * inv_zp;
    out[i] = inv_tau * (ea[i] * inv_za) * (g[i] - ag_mean) + pi * (0.0 - 0.0);
  }
  return out;
}

fn gst_row2(t: vec2f, s: u32, g0: f32, inv_tau: f32, gap: f32) -> vec2f {
  let g = vec2f(g0, 0.0);
  let m = max(t.x, t.y);
  var gapped: vec2f;
  for (var i = 0u; i < 2u; i++) {
    gapped[i] = select(min(t[i], m - gap), m, i == s);
  }
  var sum = 0.0;
  var yg = 0.0;
  for (var i = 0u; i < 2u; i++) {
    let e = exp_f32((gapped[i] - m) * inv_tau);
    sum += e;
    yg += e * g[i];
  }
  let inv = 1.0 / sum;
  let yg_mean = yg * inv;
  var out: vec2f;
  for (var i = 0u; i < 2u; i++) {
    out[i] = inv_tau * (exp_f32((gapped[i] - m) * inv_tau) * inv) * (g[i] - yg_mean);
  }
  return out; // the soft output's gradient is 0 (gSoft = 0)
}

// The Gumbel family's gradient of one row from its stream: the k conditional perturbations of
// conditional_perturbed and the tempered softmax gradient of add_tempered_softmax_gradient (shaders/estimators.wgsl).
fn gumbel_row2(t: vec2f, s: u32, g0: f32, inv_tau: f32, k: u32, stream: ptr<function, Stream>) -> vec2f {
  let g = vec2f(g0, 0.0);
  let scale = inv_tau / f32(k);
  let m = max(t.x, t.y);
  let log_z = log_f32(exp_f32(t.x - m) + exp_f32(t.y - m));
  var out = vec2f(0.0);
  for (var j = 0u; j < k; j++) {
    let first = 1u + j * 2u;
    let es = exponential_from_word(stream_word(stream, first + s));
    let es_over_z = es * exp_f32(-log_z);
    var l: vec2f;
    for (var i = 0u; i < 2u; i++) {
      if (i == s) {
        l[i] = log_z - log_f32(es);
      } else {
        let e = exponential_from_word(stream_word(stream, first + i));
        l[i] = -log_f32(e * exp_f32(-(t[i] - m)) + es_over_z);
      }
    }
    let lm = max(l.x, l.y);
    var sum = 0.0;
    var yg = 0.0;
    for (var i = 0u; i < 2u; i++) {
      let e = exp_f32((l[i] - lm) * inv_tau);
      sum += e;
      yg += e * g[i];
    }
    let inv = 1.0 / sum;
    let yg_mean = yg * inv;
    for (var i = 0u; i < 2u; i++) {
      out[i] = out[i] + scale * (exp_f32((l[i] - lm) * inv_tau) * inv) * (g[i] - yg_mean);
    }
  }
  return out;
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
    let q = 1.0 / (1.0 + exp_f32(theta[2u * i + 1u] - theta[2u * i]));
    sum += q * power(abs(1.0 - c[i]), params.p) + (1.0 - q) * power(abs(c[i]), params.p);
  }
  let total = workgroup_sum(lane, sum);
  if (lane == 0u) {
    out[params.index] = total / f32(params.latents);
  }
}

//! kernel poly_step
// One whole step, one thread per latent i looping over the batch: the row b·L + i is drawn as categorical_sample
// draws it, its loss and gHard are poly_loss's, its gradient the estimator's (computed once per possible sample
// but for the Gumbel family), added in b order as sum_tiles adds them. estimator: a POLY_STEP_* code.

@compute @workgroup_size(WORKGROUP_SIZE)
fn poly_step(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= params.latents) {
    return;
  }
  let inv_l = 1.0 / f32(params.latents);
  let inv_tau = 1.0 / params.tau;
  let p = params.p;
  let t = vec2f(theta[2u * i], theta[2u * i + 1u]);
  // Loss and gHard[0] for sample 0 (X = 1) and sample 1 (X = 0), as poly_loss.
  var term_loss: vec2f;
  var term_grad: vec2f;
  for (var s = 0u; s < 2u; s++) {
    let d = select(0.0, 1.0, s == 0u) - c[i];
    let ad = abs(d);
    let ad_p1 = power(ad, p - 1.0);
    term_loss[s] = ad_p1 * ad;
    term_grad[s] = inv_l * p * ad_p1 * select(1.0, -1.0, d < 0.0);
  }
  var grad0: vec2f;
  var grad1: vec2f;
  // The POLY_STEP_* codes are declared by the shader assembly from the estimator table (src/estimators.ts).
  let gumbel = params.estimator == POLY_STEP_STGS || params.estimator == POLY_STEP_GRMCK;
  switch params.estimator {
    case POLY_STEP_REINMAX: {
      grad0 = reinmax_row2(t, 0u, term_grad[0], inv_tau);
      grad1 = reinmax_row2(t, 1u, term_grad[1], inv_tau);
    }
    case POLY_STEP_ST: {
      grad0 = st_row2(t, term_grad[0], inv_tau);
      grad1 = st_row2(t, term_grad[1], inv_tau);
    }
    case POLY_STEP_GST: {
      grad0 = gst_row2(t, 0u, term_grad[0], inv_tau, params.gap);
      grad1 = gst_row2(t, 1u, term_grad[1], inv_tau, params.gap);
    }
    default: {}
  }
  // The sampler's exponentials, as categorical_sample computes them for every row of this latent.
  let m = max(t.x, t.y);
  let e0 = exp_f32(t.x - m);
  let z = (0.0 + e0) + exp_f32(t.y - m);
  var sum = vec2f(0.0);
  var loss_sum = 0.0;
  for (var b = 0u; b < params.batch; b++) {
    let r = b * params.latents + i;
    var stream = make_stream(params.key0, params.key1, r, params.stream, params.tag);
    let first = uniform_from_word(stream_word(&stream, 0u)) * z < 0.0 + e0;
    let s = select(1u, 0u, first);
    sample[r] = i32(s);
    loss_sum += term_loss[s];
    if (gumbel) {
      sum += gumbel_row2(t, s, term_grad[s], inv_tau, params.k, &stream);
    } else {
      sum += select(grad1, grad0, first);
    }
  }
  let inv_b = 1.0 / f32(params.batch);
  dTheta[2u * i] = sum.x * inv_b;
  dTheta[2u * i + 1u] = sum.y * inv_b;
  loss[i] = loss_sum * inv_b;
}
