// Matrix products for the linear layers, as asm/matmul.ts: C (=, or +=) A·B and A·Bᵀ on row-major f32
// matrices, A read through (row stride, column stride). Workgroup-tiled (see gemm_tile), but each element of C
// is summed as by one thread: the sum over k is split into the same equal K blocks of at most 512 as the WASM
// kernel's packing, each block summed from zero in k order and added to C, so the rounding follows the WASM
// kernel's (up to its fused multiply-adds).
//! use common
//! use gemm

//! snippet gemm
// A(i, k) of the kernel's A; sel is unused (one product per kernel).
fn a_at(sel: u32, i: u32, k: u32) -> f32 {
  return A[i * params.aRowStride + k * params.aColStride];
}

// C(i, j) (=, or += when accumulate) Σ_k A(i, k)·op(B)(k, j) over the tile of workgroup `tile`, op(B) as
// b_at reads it. Reads the bindings A, B, C of the kernel.
fn gemm_kernel(tile: u32, lid: u32, b_trans: bool) {
  let M = params.M;
  let K = params.K;
  let N = params.N;
  if (tile >= tile_count(M, N)) {
    return;
  }
  let tiles_n = (N + TN - 1u) / TN;
  let row0 = (tile / tiles_n) * TM;
  let col0 = (tile % tiles_n) * TN;
  let accumulate = params.accumulate != 0u;
  var init: array<f32, 16>;
  for (var e = 0u; e < 16u; e++) {
    let i = row0 + micro_row(lid, e);
    let j = col0 + micro_col(lid, e);
    init[e] = 0.0;
    if (accumulate && i < M && j < N) {
      init[e] = C[i * N + j];
    }
  }
  let total = gemm_tile(0u, lid, row0, col0, M, N, K, params.aColStride == 1u, b_trans, init, !accumulate);
  for (var e = 0u; e < 16u; e++) {
    let i = row0 + micro_row(lid, e);
    let j = col0 + micro_col(lid, e);
    if (i < M && j < N) {
      C[i * N + j] = total[e];
    }
  }
}

//! kernel matmul
// C[M×N] = A·B (accumulate = 0) or C += A·B (accumulate = 1), B K×N row-major. One workgroup per TM×TN tile.
//! include gemm.tile
//! include gemm
fn b_at(sel: u32, k: u32, j: u32) -> f32 {
  return B[k * params.N + j];
}

@compute @workgroup_size(GEMM_THREADS)
fn matmul(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  gemm_kernel(workgroup_index(wid, groups), lid, false);
}

//! kernel matmul_bt
// C[M×N] = A·Bᵀ (or +=) for B stored N×K row-major. One workgroup per TM×TN tile.
//! include gemm.tile
//! include gemm
fn b_at(sel: u32, k: u32, j: u32) -> f32 {
  return B[j * params.K + k];
}

@compute @workgroup_size(GEMM_THREADS)
fn matmul_bt(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  gemm_kernel(workgroup_index(wid, groups), lid, true);
}
