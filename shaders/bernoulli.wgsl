// The kernels of the Bernoulli VAE 2×200 (docs/math.md §4.10), as asm/bernoulli.ts: one thread per element
// (of a, or of the first entries of the pairs), and for binarize one thread per row and block of four words,
// which is one Philox block. Every formula is a copy, one subtraction, or a subtraction and an addition in
// the order of the WASM kernels; binarize makes the same exact comparison, so both backends write the same
// bits.
//! use rng

//! kernel bernoulli_logits
@compute @workgroup_size(WORKGROUP_SIZE)
fn bernoulli_logits(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= params.count) {
    return;
  }
  let v = a[i];
  logits[2u * i] = v;
  logits[2u * i + 1u] = 1.0 - v;
}

//! kernel bernoulli_logits_backward
@compute @workgroup_size(WORKGROUP_SIZE)
fn bernoulli_logits_backward(
  @builtin(global_invocation_id) id: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = thread_index(id, groups);
  if (i >= params.count) {
    return;
  }
  dA[i] = dA[i] + (dLogits[2u * i] - dLogits[2u * i + 1u]);
}

//! kernel first_of_pairs
@compute @workgroup_size(WORKGROUP_SIZE)
fn first_of_pairs(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    out[i] = pairs[2u * i];
  }
}

//! kernel first_of_pairs_backward
@compute @workgroup_size(WORKGROUP_SIZE)
fn first_of_pairs_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= params.count) {
    return;
  }
  dPairs[2u * i] = dOut[i];
  dPairs[2u * i + 1u] = 0.0;
}

//! kernel binarize
// Thread t is block b = t mod ⌈dim/4⌉ of row r = t / ⌈dim/4⌉: pixels 4b … 4b + 3 of the row, words
// 4b … 4b + 3 of its stream, which are the four lanes of the block with counter (b, rowIds[r], stream, tag).
@compute @workgroup_size(WORKGROUP_SIZE)
fn binarize(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  let blocks = (params.dim + 3u) >> 2u;
  if (t >= params.rows * blocks) {
    return;
  }
  let r = t / blocks;
  let b = t % blocks;
  // The id's bits are the counter word, as on WASM (u32 of an i32 reinterprets).
  let words = philox_block(
    vec4u(b, u32(rowIds[r]), params.stream, params.tag),
    vec2u(params.key0, params.key1),
  );
  for (var lane = 0u; lane < 4u; lane++) {
    let j = (b << 2u) + lane;
    if (j < params.dim) {
      let k = r * params.dim + j;
      out[k] = select(0.0, 1.0, uniform_from_word(words[lane]) < x[k]);
    }
  }
}

// --- The score-function estimators (docs/math.md §2.9), as asm/bernoulli.ts: copy t of latent i of
// `count` is at t·count + i, the loss of copy t of row r at t·rows + r; BERNOULLI_SCORE_* are the estimator
// table's codes.

//! snippet score_helpers
// θ = 2a − 1 formed as (a + a) − 1, as on WASM.
fn logit_of(a: f32) -> f32 {
  return (a + a) - 1.0;
}

fn sigmoid_f32(x: f32) -> f32 {
  return sigmoid_v(vec4f(x)).x;
}

//! kernel bernoulli_coupled_sample
//! include score_helpers
// One thread per latent: the antithetic pair for two copies, the Dirichlet copula for more.
@compute @workgroup_size(WORKGROUP_SIZE)
fn bernoulli_coupled_sample(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= params.count) {
    return;
  }
  let copies = params.copies;
  let p = sigmoid_f32(logit_of(a[i]));
  let low = p < 0.5;
  var stream = make_stream(params.key0, params.key1, i, params.stream, params.tag);
  if (copies == 2u) {
    let u = uniform_from_word(stream_word(&stream, 0u));
    let u0 = select(1.0 - u, u, low);
    sample[i] = select(1, 0, u0 < p);
    sample[params.count + i] = select(1, 0, 1.0 - u0 < p);
    return;
  }
  var total = 0.0;
  for (var t = 0u; t < copies; t++) {
    total += exponential_from_word(stream_word(&stream, t));
  }
  let q = select(1.0 - p, p, low);
  let c = 1.0 / f32(copies - 1u);
  let threshold = total * (1.0 - exp_f32(c * log_f32(q)));
  for (var t = 0u; t < copies; t++) {
    let e = exponential_from_word(stream_word(&stream, t));
    let one = select((e < threshold), (e > threshold), low);
    sample[t * params.count + i] = select(1, 0, one);
  }
}

//! kernel bernoulli_double_cv_projections
//! include score_helpers
// One thread per copy and row.
@compute @workgroup_size(WORKGROUP_SIZE)
fn bernoulli_double_cv_projections(
  @builtin(global_invocation_id) id: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let k = thread_index(id, groups);
  if (k >= params.copies * params.rows) {
    return;
  }
  let t = k / params.rows;
  let r = k % params.rows;
  let count = params.rows * params.latents;
  let others = params.gradScale / f32(params.copies - 1u);
  var c = 0.0;
  for (var l = 0u; l < params.latents; l++) {
    let i = r * params.latents + l;
    var sum = 0.0;
    for (var j = 0u; j < params.copies; j++) {
      if (j != t) {
        sum += gradZ[j * count + i];
      }
    }
    let p = sigmoid_f32(logit_of(a[i]));
    c += (select(0.0, 1.0, sample[t * count + i] == 0) - p) * (sum * others);
  }
  projections[k] = c;
}

//! kernel bernoulli_score_backward
//! include score_helpers
// One thread per latent.
fn bit_of(t: u32, count: u32, i: u32) -> f32 {
  return select(0.0, 1.0, sample[t * count + i] == 0);
}

// 1/(1 − ρ) of ARMS from q = min(p, 1 − p).
fn arms_debias(q: f32, copies: u32) -> f32 {
  let root = exp_f32(log_f32(q) / f32(copies - 1u)) * 2.0 - 1.0;
  var joint = 0.0;
  if (root > 0.0) {
    joint = exp_f32(f32(copies - 1u) * log_f32(root));
  }
  let gap = q - joint;
  return select(0.0, (q * (1.0 - q)) / gap, gap > 0.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn bernoulli_score_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  let count = params.rows * params.latents;
  if (i >= count) {
    return;
  }
  let rows = params.rows;
  let copies = params.copies;
  let r = i / params.latents;
  let K = f32(copies);
  let al = alpha[0];
  var total = 0.0;
  var c_total = 0.0;
  for (var t = 0u; t < copies; t++) {
    total += reward[t * rows + r];
    c_total += projections[t * rows + r];
  }
  let theta = logit_of(a[i]);
  let p = sigmoid_f32(theta);
  var g = 0.0;
  var dg = 0.0;
  if (params.estimator == BERNOULLI_SCORE_DISARM) {
    let z0 = bit_of(0u, count, i);
    let z1 = bit_of(1u, count, i);
    if (z0 != z1) {
      let w = 0.5 * (reward[r] - reward[rows + r]) * sigmoid_f32(abs(theta));
      g = select(w, -w, z1 == 1.0);
    }
  } else if (params.estimator == BERNOULLI_SCORE_ARMS) {
    let mean = total / K;
    for (var t = 0u; t < copies; t++) {
      g += (reward[t * rows + r] - mean) * (bit_of(t, count, i) - p);
    }
    g *= arms_debias(select(1.0 - p, p, p < 0.5), copies) / (K - 1.0);
  } else if (params.estimator == BERNOULLI_SCORE_DOUBLECV) {
    var mean_grad = 0.0;
    for (var t = 0u; t < copies; t++) {
      let f = reward[t * rows + r];
      let c = projections[t * rows + r];
      let v = f + al * c;
      let others = (total + al * c_total - v) / (K - 1.0);
      let d = bit_of(t, count, i) - p;
      g += (f - others + al * c) * d;
      dg += (c - (c_total - c) / (K - 1.0)) * d;
      mean_grad += gradZ[t * count + i];
    }
    let global = (mean_grad * params.gradScale / K) * (p * (1.0 - p));
    g = g / K - al * global;
    dg = dg / K - global;
  } else {
    for (var t = 0u; t < copies; t++) {
      let f = reward[t * rows + r];
      g += (f - (total - f) / (K - 1.0)) * (bit_of(t, count, i) - p);
    }
    g /= K;
  }
  dA[i] = params.scale * 2.0 * g;
  alphaTerms[i] = 2.0 * g * dg;
}

// --- RODEO (docs/math.md §2.9.5), as asm/bernoulli.ts.

//! snippet rodeo_helpers
fn control_row(k: u32, jj: u32, r: u32, i: u32) -> u32 {
  return ((k * (params.copies - 1u) + jj) * params.rows + r) * (params.latents + 1u) + i;
}

fn other_copy(k: u32, jj: u32) -> u32 {
  return select(jj + 1u, jj, jj < k);
}

fn flip_weight(p: f32, x: f32) -> f32 {
  return p * (1.0 - x) + (1.0 - p) * x;
}

fn code_bit(t: u32, i: u32) -> f32 {
  return select(0.0, 1.0, sample[t * params.rows * params.latents + i] == 0);
}

//! kernel rodeo_control_inputs
//! include score_helpers
//! include rodeo_helpers
// One thread per copy k, other copy jj and row r: its latents + 1 input rows.
@compute @workgroup_size(WORKGROUP_SIZE)
fn rodeo_control_inputs(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  let rows = params.rows;
  if (t >= params.copies * (params.copies - 1u) * rows) {
    return;
  }
  let r = t % rows;
  let k = (t / rows) / (params.copies - 1u);
  let jj = (t / rows) % (params.copies - 1u);
  let j = other_copy(k, jj);
  let count = rows * params.latents;
  var base = 0.0;
  for (var l = 0u; l < params.latents; l++) {
    let i = r * params.latents + l;
    let g = params.gradScale * gradZ[j * count + i];
    base += g * (code_bit(k, i) - code_bit(j, i));
  }
  let f = reward[j * rows + r];
  let row0 = control_row(k, jj, r, 0u);
  inputs[2u * row0] = base;
  inputs[2u * row0 + 1u] = f;
  for (var l = 0u; l < params.latents; l++) {
    let i = r * params.latents + l;
    let g = params.gradScale * gradZ[j * count + i];
    inputs[2u * (row0 + 1u + l)] = base + g * (1.0 - 2.0 * code_bit(k, i));
    inputs[2u * (row0 + 1u + l) + 1u] = f;
  }
}

//! snippet control_mean
fn control_mean(channel: u32, k: u32, r: u32, i: u32) -> f32 {
  var sum = 0.0;
  for (var jj = 0u; jj + 1u < params.copies; jj++) {
    sum += control[2u * control_row(k, jj, r, i) + channel];
  }
  return sum / f32(params.copies - 1u);
}

//! kernel rodeo_stein_terms
//! include score_helpers
//! include rodeo_helpers
//! include control_mean
// One thread per copy and row.
@compute @workgroup_size(WORKGROUP_SIZE)
fn rodeo_stein_terms(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= params.copies * params.rows) {
    return;
  }
  let k = t / params.rows;
  let r = t % params.rows;
  let hx = control_mean(0u, k, r, 0u);
  let gx = control_mean(1u, k, r, 0u);
  var h = 0.0;
  var g = 0.0;
  var w = 0.0;
  for (var l = 0u; l < params.latents; l++) {
    let i = r * params.latents + l;
    let flip = flip_weight(sigmoid_f32(logit_of(a[i])), code_bit(k, i));
    h += flip * (control_mean(0u, k, r, 1u + l) - hx);
    g += flip * (control_mean(1u, k, r, 1u + l) - gx);
    w += flip;
  }
  terms[3u * t] = h / f32(params.latents);
  terms[3u * t + 1u] = g / f32(params.latents);
  terms[3u * t + 2u] = w;
}

//! snippet rodeo_estimate
// ĝ of latent l of row r, as asm/bernoulli.ts's rodeoEstimate.
fn rodeo_estimate(r: u32, l: u32, al: f32, be: f32) -> f32 {
  let rows = params.rows;
  let K = f32(params.copies);
  let i = r * params.latents + l;
  var f_tilde = 0.0;
  for (var k = 0u; k < params.copies; k++) {
    f_tilde += reward[k * rows + r] + al * terms[3u * (k * rows + r)];
  }
  let p = sigmoid_f32(logit_of(a[i]));
  var g = 0.0;
  for (var k = 0u; k < params.copies; k++) {
    let x = code_bit(k, i);
    let d = x - p;
    let f = reward[k * rows + r];
    let h = terms[3u * (k * rows + r)];
    let t = terms[3u * (k * rows + r) + 1u];
    let others = (f_tilde - (f + al * h)) / (K - 1.0);
    let gy = control_mean(1u, k, r, 1u + l);
    let cv = d * t + (flip_weight(p, x) * gy * (1.0 - 2.0 * x)) / f32(params.latents);
    g += (f - others) * d + be * cv;
  }
  return g / K;
}

//! kernel rodeo_backward
//! include score_helpers
//! include rodeo_helpers
//! include control_mean
//! include rodeo_estimate
// One thread per latent.
@compute @workgroup_size(WORKGROUP_SIZE)
fn rodeo_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  let count = params.rows * params.latents;
  if (i >= count) {
    return;
  }
  let g = rodeo_estimate(i / params.latents, i % params.latents, weights[0], weights[1]);
  dA[i] = params.scale * 2.0 * g;
  gradOut[i] = (2.0 * g) / f32(count);
}

//! kernel rodeo_weight_terms
//! include score_helpers
//! include rodeo_helpers
//! include control_mean
// One thread per latent; ĝ is recovered from gradOut = 2ĝ/(rows·latents).
@compute @workgroup_size(WORKGROUP_SIZE)
fn rodeo_weight_terms(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  let rows = params.rows;
  let count = rows * params.latents;
  if (i >= count) {
    return;
  }
  let r = i / params.latents;
  let l = i % params.latents;
  let K = f32(params.copies);
  var steins = 0.0;
  for (var k = 0u; k < params.copies; k++) {
    steins += terms[3u * (k * rows + r)];
  }
  let p = sigmoid_f32(logit_of(a[i]));
  var d_alpha = 0.0;
  var d_beta = 0.0;
  for (var k = 0u; k < params.copies; k++) {
    let x = code_bit(k, i);
    let d = x - p;
    let h = terms[3u * (k * rows + r)];
    let t = terms[3u * (k * rows + r) + 1u];
    let gy = control_mean(1u, k, r, 1u + l);
    d_alpha -= ((steins - h) / (K - 1.0)) * d;
    d_beta += d * t + (flip_weight(p, x) * gy * (1.0 - 2.0 * x)) / f32(params.latents);
  }
  let two_g = gradOut[i] * f32(count);
  alphaTerms[i] = two_g * (d_alpha / K);
  betaTerms[i] = two_g * (d_beta / K);
}

//! kernel rodeo_control_grad
//! include score_helpers
//! include rodeo_helpers
// One thread per copy and row: the (K − 1)·(latents + 1) rows of its network outputs.
@compute @workgroup_size(WORKGROUP_SIZE)
fn rodeo_control_grad(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= params.copies * params.rows) {
    return;
  }
  let k = t / params.rows;
  let r = t % params.rows;
  let K = f32(params.copies);
  let al = weights[0];
  let be = weights[1];
  let inv = 1.0 / (K - 1.0);
  let inv_l = 1.0 / f32(params.latents);
  var via_h = 0.0;
  var via_g = 0.0;
  for (var l = 0u; l < params.latents; l++) {
    let i = r * params.latents + l;
    let p = sigmoid_f32(logit_of(a[i]));
    var others = 0.0;
    for (var j = 0u; j < params.copies; j++) {
      if (j != k) {
        others += code_bit(j, i) - p;
      }
    }
    let gamma = gradOut[i];
    via_h += gamma * others;
    via_g += gamma * (code_bit(k, i) - p);
  }
  via_h *= -al / (K * (K - 1.0));
  via_g *= be / K;
  let w = terms[3u * t + 2u];
  for (var jj = 0u; jj + 1u < params.copies; jj++) {
    let row0 = control_row(k, jj, r, 0u);
    dControl[2u * row0] = inv * (via_h * (-w * inv_l));
    dControl[2u * row0 + 1u] = inv * (via_g * (-w * inv_l));
    for (var l = 0u; l < params.latents; l++) {
      let i = r * params.latents + l;
      let x = code_bit(k, i);
      let flip = flip_weight(sigmoid_f32(logit_of(a[i])), x);
      let gamma = gradOut[i];
      dControl[2u * (row0 + 1u + l)] = inv * (via_h * flip * inv_l);
      dControl[2u * (row0 + 1u + l) + 1u] = inv * (via_g * flip * inv_l + gamma * (be / K) * inv_l * flip * (1.0 - 2.0 * x));
    }
  }
}

// --- RELAX (docs/math.md §2.9.6), as asm/bernoulli.ts, with its blocks of count = rows·latents values.

//! kernel relax_sample
//! include score_helpers
// One thread per latent; RELAX_CLIP is the reference's clip before a logarithm.
const RELAX_CLIP: f32 = 1e-6;

@compute @workgroup_size(WORKGROUP_SIZE)
fn relax_sample(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  let count = params.count;
  if (i >= count) {
    return;
  }
  let theta = logit_of(a[i]);
  let p = sigmoid_f32(theta);
  var stream = make_stream(params.key0, params.key1, i, params.stream, params.tag);
  let u = open_uniform_from_word(stream_word(&stream, 0u));
  let v = open_uniform_from_word(stream_word(&stream, 1u));
  let zi = theta + (log_f32(u) - log_f32(1.0 - u));
  let one = zi > 0.0;
  let vp = select(v * (1.0 - p), v * p + (1.0 - p), one);
  let rest = 1.0 - vp;
  let lo = vp < RELAX_CLIP;
  let hi = rest < RELAX_CLIP;
  let logit = log_f32(select(vp, RELAX_CLIP, lo)) - log_f32(select(rest, RELAX_CLIP, hi));
  let slope = select(1.0 / vp, 0.0, lo) + select(1.0 / rest, 0.0, hi);
  let dv = select(-v, v - 1.0, one);
  sample[i] = select(1, 0, one);
  draws[i] = zi;
  draws[count + i] = theta + logit;
  draws[2u * count + i] = 1.0 + dv * (p * (1.0 - p)) * slope;
}

//! kernel relax_relaxed
//! include score_helpers
@compute @workgroup_size(WORKGROUP_SIZE)
fn relax_relaxed(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    out[i] = sigmoid_f32(draws[params.which * params.count + i] * (1.0 / params.tau));
  }
}

//! kernel relax_keep
// One thread per latent; the first `rows` also keep their row's loss.
@compute @workgroup_size(WORKGROUP_SIZE)
fn relax_keep(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  let count = params.rows * params.latents;
  if (i >= count) {
    return;
  }
  relaxed[params.which * count + i] = gradZ[i];
  if (i < params.rows) {
    relaxed[2u * count + params.which * params.rows + i] = loss[i];
  }
}

//! kernel relax_control_inputs
// One thread per value of the 2·rows rows.
@compute @workgroup_size(WORKGROUP_SIZE)
fn relax_control_inputs(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  let width = params.inSize + params.latents;
  if (t >= 2u * params.rows * width) {
    return;
  }
  let row = t / width;
  let c = t % width;
  let r = row % params.rows;
  if (c < params.inSize) {
    inputs[t] = x[r * params.inSize + c];
  } else {
    let block = select(params.rows * params.latents, 0u, row < params.rows);
    inputs[t] = draws[block + r * params.latents + c - params.inSize];
  }
}

//! kernel relax_signal
//! include score_helpers
// One thread per latent.
@compute @workgroup_size(WORKGROUP_SIZE)
fn relax_signal(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  let rows = params.rows;
  let count = rows * params.latents;
  if (i >= count) {
    return;
  }
  let r = i / params.latents;
  let l = i % params.latents;
  let width = params.inSize + params.latents;
  let inv = 1.0 / params.tau;
  let sz = sigmoid_f32(draws[i] * inv);
  let szt = sigmoid_f32(draws[count + i] * inv);
  let cz = -relaxed[i] * (sz * (1.0 - sz)) * inv + dInputs[r * width + params.inSize + l];
  let czt = -relaxed[count + i] * (szt * (1.0 - szt)) * inv + dInputs[(rows + r) * width + params.inSize + l];
  let slope = draws[2u * count + i];
  perLatent[i] = select(0.0, 1.0, sample[i] == 0) - sigmoid_f32(logit_of(a[i]));
  perLatent[count + i] = czt * slope - cz;
  perLatent[2u * count + i] = slope;
}

//! kernel relax_backward
// One thread per latent.
@compute @workgroup_size(WORKGROUP_SIZE)
fn relax_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  let rows = params.rows;
  let count = rows * params.latents;
  if (i >= count) {
    return;
  }
  let r = i / params.latents;
  let sc = s[0];
  let f = reward[r];
  let signal = control[rows + r] - relaxed[2u * count + rows + r];
  let d = perLatent[i];
  let by_sigma = signal * d + perLatent[count + i];
  let g = f * d + sc * by_sigma;
  let gamma = (2.0 * g) / f32(count);
  dA[i] = params.scale * 2.0 * g;
  terms[i] = 2.0 * g * by_sigma;
  terms[count + i] = gamma;
  terms[2u * count + i] = -sc * gamma;
  terms[3u * count + i] = sc * gamma * perLatent[2u * count + i];
}

//! kernel relax_control_grad
// One thread per example row.
@compute @workgroup_size(WORKGROUP_SIZE)
fn relax_control_grad(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let count = params.rows * params.latents;
  var sum = 0.0;
  for (var l = 0u; l < params.latents; l++) {
    let i = r * params.latents + l;
    sum += terms[count + i] * perLatent[i];
  }
  dControl[r] = 0.0;
  dControl[params.rows + r] = s[0] * sum;
}

//! kernel relax_mixed_grad
// One thread per (l, j): l < latents accumulates dW1[inSize + l, j], l = latents accumulates dW2[j]; the mixed
// weights start at terms[rows·latents].
@compute @workgroup_size(WORKGROUP_SIZE)
fn relax_mixed_grad(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  let hidden = params.hidden;
  if (t >= (params.latents + 1u) * hidden) {
    return;
  }
  let mixed = params.rows * params.latents;
  let l = t / hidden;
  let j = t % hidden;
  let w2 = W2[j];
  if (l == params.latents) {
    var dw2 = 0.0;
    for (var r = 0u; r < params.rows; r++) {
      let leak = select(params.slope, 1.0, h[r * hidden + j] > 0.0);
      var u = 0.0;
      for (var k = 0u; k < params.latents; k++) {
        u += W1[(params.inSize + k) * hidden + j] * terms[mixed + r * params.latents + k];
      }
      dw2 += u * leak;
    }
    dW2[j] = dW2[j] + dw2;
    return;
  }
  var dw1 = 0.0;
  for (var r = 0u; r < params.rows; r++) {
    let leak = select(params.slope, 1.0, h[r * hidden + j] > 0.0);
    dw1 += terms[mixed + r * params.latents + l] * leak * w2;
  }
  let k = (params.inSize + l) * hidden + j;
  dW1[k] = dW1[k] + dw1;
}
