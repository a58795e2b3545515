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
