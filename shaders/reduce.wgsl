// One-workgroup sums for the reductions (mean, the poly expected loss): every thread accumulates a strided
// slice of the input, then the partial sums are added in a tree in workgroup memory. The backend requires
// maxComputeInvocationsPerWorkgroup ≥ REDUCE_SIZE (src/webgpu/backend.ts).

const REDUCE_SIZE: u32 = 256u;

var<workgroup> partial: array<f32, REDUCE_SIZE>;

// The sum of `value` over the workgroup's threads, returned to every thread. Call from uniform control flow.
fn workgroup_sum(lane: u32, value: f32) -> f32 {
  partial[lane] = value;
  workgroupBarrier();
  for (var width = REDUCE_SIZE / 2u; width > 0u; width = width / 2u) {
    if (lane < width) {
      partial[lane] = partial[lane] + partial[lane + width];
    }
    workgroupBarrier();
  }
  return partial[0];
}
