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
