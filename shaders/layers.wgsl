// The layers of the VAEs (docs/math.md §4, §6.2, §6.3), as asm/layers.ts: forward kernels write, backward kernels
// accumulate (+=). Elementwise kernels run one thread per element, row kernels one per row. The vector maths
// (sigmoid_v, tanh_v, softplus_tail, exp_f32, log_f32, log1p_v; docs/math.md §4.12) is in shaders/math.wgsl; the
// softmax family and kl_categorical_forward/backward use WGSL's exp and log where WASM uses the scalar exp and
// log of asm/vmath.ts, while the Gaussian NLL, the cross-entropy and the learned-prior KL use the shared ones.
//! use common
//! use gemm
//! use math

//! kernel transpose
// out[c·rows + r] = x[r·cols + c], one thread per element of out.
@compute @workgroup_size(WORKGROUP_SIZE)
fn transpose(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  if (t >= params.rows * params.cols) {
    return;
  }
  let c = t / params.rows;
  let r = t % params.rows;
  out[t] = x[r * params.cols + c];
}

//! kernel linear_forward
// out[i, j] = b[j] + Σ_k x[i, k]·w[k, j], one workgroup per TM×TN tile of out (b first, then the K blocks).
//! include gemm.tile
fn a_at(sel: u32, i: u32, k: u32) -> f32 {
  return x[i * params.inDim + k];
}

fn b_at(sel: u32, k: u32, j: u32) -> f32 {
  return w[k * params.outDim + j];
}

@compute @workgroup_size(GEMM_THREADS)
fn linear_forward(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let tile = workgroup_index(wid, groups);
  let M = params.batch;
  let K = params.inDim;
  let N = params.outDim;
  if (tile >= tile_count(M, N)) {
    return;
  }
  let tiles_n = (N + TN - 1u) / TN;
  let row0 = (tile / tiles_n) * TM;
  let col0 = (tile % tiles_n) * TN;
  var init: array<f32, 16>;
  for (var e = 0u; e < 16u; e++) {
    let j = col0 + micro_col(lid, e);
    init[e] = 0.0;
    if (row0 + micro_row(lid, e) < M && j < N) {
      init[e] = b[j];
    }
  }
  let total = gemm_tile(0u, lid, row0, col0, M, N, K, true, false, init, false);
  for (var e = 0u; e < 16u; e++) {
    let i = row0 + micro_row(lid, e);
    let j = col0 + micro_col(lid, e);
    if (i < M && j < N) {
      out[i * N + j] = total[e];
    }
  }
}

//! kernel linear_backward
// dw += xᵀ·dy, db += Σ_rows dy and, when needDx = 1, dx += dy·wᵀ. One launch, three workgroup ranges: the
// TM×TN tiles of dw (inDim×outDim), GEMM_THREADS-wide groups of db, then the tiles of dx (batch×inDim).
//! include gemm.tile
// sel 0: dw, A(p, k) = x[k, p]; sel 1: dx, A(i, k) = dy[i, k].
fn a_at(sel: u32, i: u32, k: u32) -> f32 {
  if (sel == 0u) {
    return x[k * params.inDim + i];
  }
  return dy[i * params.outDim + k];
}

// sel 0: dw, B(k, j) = dy[k, j]; sel 1: dx, B(k, p) = w[p, k].
fn b_at(sel: u32, k: u32, j: u32) -> f32 {
  if (sel == 0u) {
    return dy[k * params.outDim + j];
  }
  return w[j * params.outDim + k];
}

// C += A·B over one tile, C = dw (sel 0, M×N = inDim×outDim, K = batch) or dx (sel 1, batch×inDim, outDim).
fn backward_tile(sel: u32, tile: u32, lid: u32, M: u32, N: u32, K: u32) {
  let tiles_n = (N + TN - 1u) / TN;
  let row0 = (tile / tiles_n) * TM;
  let col0 = (tile % tiles_n) * TN;
  var init: array<f32, 16>;
  for (var e = 0u; e < 16u; e++) {
    let i = row0 + micro_row(lid, e);
    let j = col0 + micro_col(lid, e);
    init[e] = 0.0;
    if (i < M && j < N) {
      if (sel == 0u) {
        init[e] = dw[i * N + j];
      } else {
        init[e] = dx[i * N + j];
      }
    }
  }
  let total = gemm_tile(sel, lid, row0, col0, M, N, K, sel == 1u, sel == 1u, init, false);
  for (var e = 0u; e < 16u; e++) {
    let i = row0 + micro_row(lid, e);
    let j = col0 + micro_col(lid, e);
    if (i < M && j < N) {
      if (sel == 0u) {
        dw[i * N + j] = total[e];
      } else {
        dx[i * N + j] = total[e];
      }
    }
  }
}

@compute @workgroup_size(GEMM_THREADS)
fn linear_backward(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let g = workgroup_index(wid, groups);
  let batch = params.batch;
  let inDim = params.inDim;
  let outDim = params.outDim;
  let dw_tiles = tile_count(inDim, outDim);
  let db_groups = (outDim + GEMM_THREADS - 1u) / GEMM_THREADS;
  if (g < dw_tiles) {
    // dw[p, j] += Σ_b x[b, p]·dy[b, j]
    backward_tile(0u, g, lid, inDim, outDim, batch);
    return;
  }
  if (g < dw_tiles + db_groups) {
    // db[j] += dy[0, j], dy[1, j], … in row order.
    let j = (g - dw_tiles) * GEMM_THREADS + lid;
    if (j < outDim) {
      var total = db[j];
      for (var i = 0u; i < batch; i++) {
        total += dy[i * outDim + j];
      }
      db[j] = total;
    }
    return;
  }
  let tile = g - dw_tiles - db_groups;
  if (params.needDx == 0u || tile >= tile_count(batch, inDim)) {
    return;
  }
  // dx[i, p] += Σ_j dy[i, j]·w[p, j]
  backward_tile(1u, tile, lid, batch, inDim, outDim);
}

//! kernel relu_forward
@compute @workgroup_size(WORKGROUP_SIZE)
fn relu_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    out[i] = max(x[i], 0.0);
  }
}

//! kernel relu_backward
@compute @workgroup_size(WORKGROUP_SIZE)
fn relu_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    dx[i] = dx[i] + select(0.0, dy[i], x[i] > 0.0);
  }
}

//! kernel leaky_relu_forward
@compute @workgroup_size(WORKGROUP_SIZE)
fn leaky_relu_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    let v = x[i];
    out[i] = select(v * params.slope, v, v > 0.0);
  }
}

//! kernel leaky_relu_backward
@compute @workgroup_size(WORKGROUP_SIZE)
fn leaky_relu_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    let g = dy[i];
    dx[i] = dx[i] + select(g * params.slope, g, x[i] > 0.0);
  }
}

//! kernel sigmoid_forward
@compute @workgroup_size(WORKGROUP_SIZE)
fn sigmoid_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    out[i] = sigmoid_v(vec4f(x[i])).x;
  }
}

//! kernel sigmoid_backward
@compute @workgroup_size(WORKGROUP_SIZE)
fn sigmoid_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    let v = y[i];
    dx[i] = dx[i] + dy[i] * (v * (1.0 - v));
  }
}

//! kernel tanh_forward
@compute @workgroup_size(WORKGROUP_SIZE)
fn tanh_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    out[i] = tanh_v(vec4f(x[i])).x;
  }
}

//! kernel tanh_backward
// 1 − y² as (1 − y)(1 + y), whose 1 − y is exact for |y| ≥ ½ (asm/layers.ts says why).
@compute @workgroup_size(WORKGROUP_SIZE)
fn tanh_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    let v = y[i];
    dx[i] = dx[i] + dy[i] * ((1.0 - v) * (1.0 + v));
  }
}

//! kernel bce_logits_forward
// loss[b] = Σ_j max(z, 0) − z·t + log(1 + e^{−|z|}), one thread per row, summed in four lanes then
// (l0 + l1) + (l2 + l3) then the tail in order, as the WASM kernel does.
fn bce(z: vec4f, t: vec4f) -> vec4f {
  return (max(z, vec4f(0.0)) - z * t) + softplus_tail(z);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn bce_logits_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let b = thread_index(id, groups);
  if (b >= params.batch) {
    return;
  }
  let dim = params.dim;
  let base = b * dim;
  var acc = vec4f(0.0);
  var j = 0u;
  for (; j + 4u <= dim; j += 4u) {
    let o = base + j;
    acc += bce(
      vec4f(logits[o], logits[o + 1u], logits[o + 2u], logits[o + 3u]),
      vec4f(target_[o], target_[o + 1u], target_[o + 2u], target_[o + 3u]),
    );
  }
  var s = (acc.x + acc.y) + (acc.z + acc.w);
  for (; j < dim; j++) {
    s += bce(vec4f(logits[base + j]), vec4f(target_[base + j])).x;
  }
  loss[b] = s;
}

//! kernel bce_logits_backward
@compute @workgroup_size(WORKGROUP_SIZE)
fn bce_logits_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    dLogits[i] = dLogits[i] + params.scale * (sigmoid_v(vec4f(logits[i])).x - target_[i]);
  }
}

//! kernel gaussian_nll_forward
// loss[b] = ½·Σ_j ((mean − target)/σ)² + dim·(log σ + ½·log 2π), one thread per row, through 1/σ (no σ² to
// overflow), summed in four lanes then (l0 + l1) + (l2 + l3) then the tail, as the WASM kernel does.
const HALF_LOG_2PI: f32 = 0.918938533204672742;

@compute @workgroup_size(WORKGROUP_SIZE)
fn gaussian_nll_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let b = thread_index(id, groups);
  if (b >= params.batch) {
    return;
  }
  let dim = params.dim;
  let inv = 1.0 / params.sigma;
  let base = b * dim;
  var acc = vec4f(0.0);
  var j = 0u;
  for (; j + 4u <= dim; j += 4u) {
    let o = base + j;
    let r = (vec4f(mean[o], mean[o + 1u], mean[o + 2u], mean[o + 3u]) -
      vec4f(target_[o], target_[o + 1u], target_[o + 2u], target_[o + 3u])) * inv;
    acc += r * r;
  }
  var s = (acc.x + acc.y) + (acc.z + acc.w);
  for (; j < dim; j++) {
    let r = (mean[base + j] - target_[base + j]) * inv;
    s += r * r;
  }
  loss[b] = 0.5 * s + f32(dim) * (log_f32(params.sigma) + HALF_LOG_2PI);
}

//! kernel gaussian_nll_backward
// dMean += scale·(mean − target)/σ² as ((mean − target)·(1/σ))·(scale/σ): no σ², as in the forward.
@compute @workgroup_size(WORKGROUP_SIZE)
fn gaussian_nll_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    let inv = 1.0 / params.sigma;
    dMean[i] = dMean[i] + ((mean[i] - target_[i]) * inv) * (params.scale * inv);
  }
}

//! kernel softmax_forward
//! include math.row_max
fn row_value(i: u32) -> f32 {
  return x[i];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  let n = params.n;
  if (r >= params.rows || n == 0u) {
    return;
  }
  let base = r * n;
  let m = row_max(base, n);
  var s = 0.0;
  for (var j = 0u; j < n; j++) {
    let e = exp(x[base + j] - m);
    out[base + j] = e;
    s += e;
  }
  let inv = 1.0 / s;
  for (var j = 0u; j < n; j++) {
    out[base + j] = out[base + j] * inv;
  }
}

//! kernel softmax_backward
@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  var inner = 0.0; // ⟨y, dy⟩
  for (var j = 0u; j < n; j++) {
    inner += y[base + j] * dy[base + j];
  }
  for (var j = 0u; j < n; j++) {
    dx[base + j] = dx[base + j] + y[base + j] * (dy[base + j] - inner);
  }
}

//! kernel log_softmax_forward
//! include math.row_max
fn row_value(i: u32) -> f32 {
  return x[i];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn log_softmax_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  let n = params.n;
  if (r >= params.rows || n == 0u) {
    return;
  }
  let base = r * n;
  let m = row_max(base, n);
  var s = 0.0;
  for (var j = 0u; j < n; j++) {
    s += exp(x[base + j] - m);
  }
  let ls = log(s);
  for (var j = 0u; j < n; j++) {
    out[base + j] = (x[base + j] - m) - ls;
  }
}

//! kernel log_softmax_backward
@compute @workgroup_size(WORKGROUP_SIZE)
fn log_softmax_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.n;
  let base = r * n;
  var sum = 0.0;
  for (var j = 0u; j < n; j++) {
    sum += dy[base + j];
  }
  for (var j = 0u; j < n; j++) {
    dx[base + j] = dx[base + j] + (dy[base + j] - exp(y[base + j]) * sum);
  }
}

//! snippet first_argmax
// The index of the first largest logit of row (base, n), n ≥ 1: a later equal logit does not replace it.
fn first_argmax(base: u32, n: u32) -> u32 {
  var k = 0u;
  var best = logits[base];
  for (var j = 1u; j < n; j++) {
    let v = logits[base + j];
    if (v > best) {
      best = v;
      k = j;
    }
  }
  return k;
}

// Σ_{j ≠ k} e^{z_j − z_k}, k the first argmax: the softmax denominator less the 1 of the maximum, kept apart so
// that a confident row's loss log1p(rest) and label gradient −rest/(1 + rest) stay relative to rest.
fn rest_of_row(base: u32, n: u32, k: u32) -> f32 {
  let m = logits[base + k];
  var rest = 0.0;
  for (var j = 0u; j < n; j++) {
    if (j != k) {
      rest += exp_f32(logits[base + j] - m);
    }
  }
  return rest;
}

//! kernel softmax_cross_entropy_forward
// loss[b] = (max z_b − z_b,label) + log1p(rest), one thread per row.
//! include first_argmax
@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax_cross_entropy_forward(
  @builtin(global_invocation_id) id: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let b = thread_index(id, groups);
  if (b >= params.batch) {
    return;
  }
  let n = params.classes;
  let base = b * n;
  let k = first_argmax(base, n);
  let rest = rest_of_row(base, n, k);
  let margin = logits[base + k] - logits[base + u32(labels[b])];
  loss[b] = margin + log1p_v(vec4f(rest)).x;
}

//! kernel softmax_cross_entropy_backward
// dLogits[b, j] += scale·(q_j − [j = label]), one thread per row; at the label −rest/(1 + rest) when it is the
// first argmax, else q − 1 (q ≤ ½ there), as on WASM.
//! include first_argmax
@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax_cross_entropy_backward(
  @builtin(global_invocation_id) id: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let b = thread_index(id, groups);
  if (b >= params.batch) {
    return;
  }
  let n = params.classes;
  let base = b * n;
  let k = first_argmax(base, n);
  let m = logits[base + k];
  let rest = rest_of_row(base, n, k);
  let inv = 1.0 / (1.0 + rest);
  let label = u32(labels[b]);
  for (var j = 0u; j < n; j++) {
    var g = exp_f32(logits[base + j] - m) * inv;
    if (j == label) {
      g = select(g - 1.0, -rest * inv, label == k);
    }
    dLogits[base + j] = dLogits[base + j] + params.scale * g;
  }
}

//! kernel argmax_equals
// out[b] = 1 when the first largest logit of row b is at labels[b], else 0; one thread per row.
//! include first_argmax
@compute @workgroup_size(WORKGROUP_SIZE)
fn argmax_equals(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let b = thread_index(id, groups);
  if (b >= params.batch) {
    return;
  }
  let n = params.classes;
  var hit = false;
  if (n > 0u) {
    hit = first_argmax(b * n, n) == u32(labels[b]);
  }
  out[b] = select(0.0, 1.0, hit);
}

//! snippet entropy_stats
// Row statistics of softmax(logits[base..base + n)): max, log Σ e^{x − max} and Σ q log q (q·log q = 0
// where q = 0, so masked −∞ logits drop out). A kernel that includes it includes math.row_max too.
struct EntropyStats {
  maximum: f32,
  log_sum: f32,
  neg_entropy: f32,
}

fn row_value(i: u32) -> f32 {
  return logits[i];
}

fn entropy_stats(base: u32, n: u32) -> EntropyStats {
  let m = row_max(base, n);
  var s = 0.0;
  var sd = 0.0; // Σ e^{x−m}·(x − m) over the entries with e^{x−m} > 0
  for (var j = 0u; j < n; j++) {
    let d = logits[base + j] - m;
    let e = exp(d);
    s += e;
    if (e > 0.0) {
      sd += e * d;
    }
  }
  let ls = log(s);
  return EntropyStats(m, ls, sd / s - ls);
}

//! kernel kl_categorical_forward
// kl[b] = Σ_l (Σ_c q log q + log C), one thread per sample b.
//! include math.row_max
//! include entropy_stats
@compute @workgroup_size(WORKGROUP_SIZE)
fn kl_categorical_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let b = thread_index(id, groups);
  if (b >= params.batch) {
    return;
  }
  let categories = params.categories;
  let log_c = log(f32(categories));
  var total = 0.0;
  for (var l = 0u; l < params.latents; l++) {
    total += entropy_stats((b * params.latents + l) * categories, categories).neg_entropy + log_c;
  }
  kl[b] = total;
}

//! kernel kl_categorical_backward
// dLogits += scale·q ⊙ (log q − Σ q log q), one thread per row.
//! include math.row_max
//! include entropy_stats
@compute @workgroup_size(WORKGROUP_SIZE)
fn kl_categorical_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = thread_index(id, groups);
  if (r >= params.rows) {
    return;
  }
  let n = params.categories;
  let base = r * n;
  let stats = entropy_stats(base, n);
  for (var j = 0u; j < n; j++) {
    let lq = (logits[base + j] - stats.maximum) - stats.log_sum;
    let q = exp(lq);
    if (q > 0.0) {
      dLogits[base + j] = dLogits[base + j] + params.scale * q * (lq - stats.neg_entropy);
    }
  }
}

//! snippet categorical_prior
// The rows of kl_categorical_prior_*: posterior rows of logits and prior rows of priorLogits, each reduced to
// its maximum and log Σ e^{x − max}, so log q = (θ − max) − log_sum and log p likewise. The KL is summed term by
// term, q·(log q − log p), as on WASM: exactly 0 where q = p, and no difference of two large sums.
struct SoftmaxStats {
  maximum: f32,
  log_sum: f32,
}

fn logits_stats(base: u32, n: u32) -> SoftmaxStats {
  var m = logits[base];
  for (var j = 1u; j < n; j++) {
    m = max(m, logits[base + j]);
  }
  var s = 0.0;
  for (var j = 0u; j < n; j++) {
    s += exp_f32(logits[base + j] - m);
  }
  return SoftmaxStats(m, log_f32(s));
}

fn prior_stats(base: u32, n: u32) -> SoftmaxStats {
  var m = priorLogits[base];
  for (var j = 1u; j < n; j++) {
    m = max(m, priorLogits[base + j]);
  }
  var s = 0.0;
  for (var j = 0u; j < n; j++) {
    s += exp_f32(priorLogits[base + j] - m);
  }
  return SoftmaxStats(m, log_f32(s));
}

// Σ_c q_c·(log q_c − log p_c) of posterior row `base` and prior row `prior_base`; terms with q_c = 0 are 0.
fn row_prior_kl(base: u32, prior_base: u32, n: u32, qs: SoftmaxStats, ps: SoftmaxStats) -> f32 {
  var kl = 0.0;
  for (var j = 0u; j < n; j++) {
    let lq = (logits[base + j] - qs.maximum) - qs.log_sum;
    let q = exp_f32(lq);
    if (q > 0.0) {
      let lp = (priorLogits[prior_base + j] - ps.maximum) - ps.log_sum;
      kl += q * (lq - lp);
    }
  }
  return kl;
}

//! kernel kl_categorical_prior_forward
// kl[b] = Σ_l Σ_c q (log q − log p), one thread per sample b, adding its latents in order of l.
//! include categorical_prior
@compute @workgroup_size(WORKGROUP_SIZE)
fn kl_categorical_prior_forward(
  @builtin(global_invocation_id) id: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let b = thread_index(id, groups);
  if (b >= params.batch) {
    return;
  }
  let n = params.categories;
  var total = 0.0;
  for (var l = 0u; l < params.latents; l++) {
    let base = (b * params.latents + l) * n;
    total += row_prior_kl(base, l * n, n, logits_stats(base, n), prior_stats(l * n, n));
  }
  kl[b] = total;
}

//! kernel kl_categorical_prior_backward
// dLogits[b, l] += scale·q ⊙ (d − ⟨q, d⟩), d = log q − log p: one thread per row (b, l). Then one thread per
// (latent l, category c), after the batch·latents row threads, owns dPrior[l, c] and adds scale·(p_c − q_c) for
// b = 0, 1, … in order (recomputing each row's statistics), so no two threads write one element.
//! include categorical_prior
@compute @workgroup_size(WORKGROUP_SIZE)
fn kl_categorical_prior_backward(
  @builtin(global_invocation_id) id: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let t = thread_index(id, groups);
  let n = params.categories;
  let latents = params.latents;
  let rows = params.batch * latents;
  if (t < rows) {
    let l = t % latents;
    let base = t * n;
    let qs = logits_stats(base, n);
    let ps = prior_stats(l * n, n);
    let mean = row_prior_kl(base, l * n, n, qs, ps); // ⟨q, d⟩
    for (var j = 0u; j < n; j++) {
      let lq = (logits[base + j] - qs.maximum) - qs.log_sum;
      let q = exp_f32(lq);
      if (q > 0.0) {
        let lp = (priorLogits[l * n + j] - ps.maximum) - ps.log_sum;
        dLogits[base + j] = dLogits[base + j] + params.scale * q * ((lq - lp) - mean);
      }
    }
    return;
  }
  let u = t - rows;
  if (u >= latents * n) {
    return;
  }
  let l = u / n;
  let c = u - l * n;
  let ps = prior_stats(l * n, n);
  let p = exp_f32((priorLogits[u] - ps.maximum) - ps.log_sum);
  var total = dPrior[u];
  for (var b = 0u; b < params.batch; b++) {
    let base = (b * latents + l) * n;
    let qs = logits_stats(base, n);
    total += params.scale * (p - exp_f32((logits[base + c] - qs.maximum) - qs.log_sum));
  }
  dPrior[u] = total;
}

//! kernel kl_bernoulli_forward
// kl[b] = Σ_l q log(q/p) + (1 − q) log((1 − q)/(1 − p)), q = σ(2a − 1), p = σ(ρ_l); one thread per sample,
// summed in four lanes as the WASM kernel does. With s(x) = log(1 + e^{−|x|}): log σ(x) = min(x, 0) − s(x).
fn kl_bernoulli(av: vec4f, rho: vec4f) -> vec4f {
  let zero = vec4f(0.0);
  let z = (av + av) - 1.0;
  let sz = softplus_tail(z);
  let sr = softplus_tail(rho);
  let lq = min(z, zero) - sz;
  let l1q = min(-z, zero) - sz;
  let lp = min(rho, zero) - sr;
  let l1p = min(-rho, zero) - sr;
  let q = sigmoid_v(z);
  let q1 = sigmoid_v(-z);
  return q * (lq - lp) + q1 * (l1q - l1p);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn kl_bernoulli_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let b = thread_index(id, groups);
  if (b >= params.batch) {
    return;
  }
  let latents = params.latents;
  let base = b * latents;
  var acc = vec4f(0.0);
  var l = 0u;
  for (; l + 4u <= latents; l += 4u) {
    let o = base + l;
    acc += kl_bernoulli(
      vec4f(a[o], a[o + 1u], a[o + 2u], a[o + 3u]),
      vec4f(priorLogits[l], priorLogits[l + 1u], priorLogits[l + 2u], priorLogits[l + 3u]),
    );
  }
  var s = (acc.x + acc.y) + (acc.z + acc.w);
  for (; l < latents; l++) {
    s += kl_bernoulli(vec4f(a[base + l]), vec4f(priorLogits[l])).x;
  }
  kl[b] = s;
}

//! kernel kl_bernoulli_backward
// dA[b, l] += scale·2q(1 − q)(z − ρ_l) (one thread per element), then dPrior[l] += scale·(p_l − q[b, l]) for
// b = 0, 1, … in order (one thread per latent, after the batch·latents threads of dA).
fn q_of(av: f32) -> vec4f {
  let z = vec4f((av + av) - 1.0);
  return sigmoid_v(z);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn kl_bernoulli_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  let latents = params.latents;
  let elements = params.batch * latents;
  if (t < elements) {
    let l = t % latents;
    let av = a[t];
    let z = vec4f((av + av) - 1.0);
    let q = sigmoid_v(z);
    let dz = (q * sigmoid_v(-z)) * (z - priorLogits[l]); // q(1 − q)(z − ρ)
    dA[t] = dA[t] + (params.scale * (dz + dz)).x;
    return;
  }
  let l = t - elements;
  if (l >= latents) {
    return;
  }
  let p = sigmoid_v(vec4f(priorLogits[l]));
  var total = dPrior[l];
  for (var b = 0u; b < params.batch; b++) {
    total += (params.scale * (p - q_of(a[b * latents + l]))).x;
  }
  dPrior[l] = total;
}

//! kernel onehot_linear_forward
// out[i, j] = b[j] + Σ_l w[(l·categories + sample[i·latents + l])·outDim + j], one thread per element of out,
// summed in order of l as on WASM.
@compute @workgroup_size(WORKGROUP_SIZE)
fn onehot_linear_forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  let outDim = params.outDim;
  if (t >= params.batch * outDim) {
    return;
  }
  let i = t / outDim;
  let j = t - i * outDim;
  var acc = b[j];
  for (var l = 0u; l < params.latents; l++) {
    let r = l * params.categories + u32(sample[i * params.latents + l]);
    acc = acc + w[r * outDim + j];
  }
  out[t] = acc;
}

//! kernel onehot_linear_backward
// dw[(l·categories + sample[i·latents + l])·outDim + j] += dy[i, j]: one thread per (latent l, column j) owns
// column j of latent l's rows of w, so no two threads write one element; it adds in order of i as WASM does.
// Then one thread per column j: db[j] += Σ_i dy[i, j], in order of i.
@compute @workgroup_size(WORKGROUP_SIZE)
fn onehot_linear_backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let t = thread_index(id, groups);
  let outDim = params.outDim;
  let columns = params.latents * outDim;
  if (t < columns) {
    let l = t / outDim;
    let j = t - l * outDim;
    for (var i = 0u; i < params.batch; i++) {
      let cell = (l * params.categories + u32(sample[i * params.latents + l])) * outDim + j;
      dw[cell] = dw[cell] + dy[i * outDim + j];
    }
    return;
  }
  let j = t - columns;
  if (j >= outDim) {
    return;
  }
  var total = db[j];
  for (var i = 0u; i < params.batch; i++) {
    total = total + dy[i * outDim + j];
  }
  db[j] = total;
}
