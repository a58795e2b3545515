// Elementwise fills and the reductions a training step needs between kernels, as asm/tensor.ts.
//! use common
//! use reduce

//! kernel fill
@compute @workgroup_size(WORKGROUP_SIZE)
fn fill(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i < params.count) {
    out[i] = params.value;
  }
}

//! kernel tile
// One thread per output element out[t·count + i] = x[i].
@compute @workgroup_size(WORKGROUP_SIZE)
fn tile(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = thread_index(id, groups);
  if (params.count == 0u || e / params.count >= params.times) {
    return;
  }
  out[e] = x[e % params.count];
}

//! kernel sum_tiles
// One thread per column i, summing the tiles in order t = 0, 1, … as the WASM kernel does, so the result is
// bit-identical.
@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_tiles(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = thread_index(id, groups);
  if (i >= params.count) {
    return;
  }
  var acc = 0.0;
  for (var t = 0u; t < params.times; t++) {
    acc += x[t * params.count + i];
  }
  out[i] = acc * params.scale;
}

//! kernel mean
// A single workgroup: each thread sums a strided slice with compensated (Kahan) summation, standing in
// for the f64 accumulator of the WASM kernel, then a tree reduction in workgroup memory. A shader compiler
// allowed to reassociate would simplify the compensation (sum + y) − sum − y to 0; passing t through an
// XOR with a value it cannot know is 0 (the top bit of a count, which is below 2^31) keeps it.
@compute @workgroup_size(REDUCE_SIZE)
fn mean(@builtin(local_invocation_index) lane: u32) {
  let opaque_zero = params.count >> 31u;
  var sum = 0.0;
  var compensation = 0.0;
  for (var i = lane; i < params.count; i += REDUCE_SIZE) {
    let y = x[i] - compensation;
    let t = bitcast<f32>(bitcast<u32>(sum + y) ^ opaque_zero);
    compensation = (t - sum) - y;
    sum = t;
  }
  let total = workgroup_sum(lane, sum);
  if (lane == 0u) {
    out[params.index] = select(0.0, total / f32(params.count), params.count > 0u);
  }
}

//! kernel count_nonfinite
// A single workgroup, like mean: an f32 is NaN or ±∞ exactly when its exponent bits are all ones (WGSL has no
// isnan, and a compiler may assume finite floats, so the test is on the bits).
@compute @workgroup_size(REDUCE_SIZE)
fn count_nonfinite(@builtin(local_invocation_index) lane: u32) {
  var n = 0u;
  for (var i = lane; i < params.count; i += REDUCE_SIZE) {
    if ((bitcast<u32>(x[i]) & 0x7f800000u) == 0x7f800000u) {
      n += 1u;
    }
  }
  // Partial counts and their sum stay below 2^24, where f32 holds integers exactly.
  let total = workgroup_sum(lane, f32(n));
  if (lane == 0u) {
    out[params.index] = total;
  }
}
