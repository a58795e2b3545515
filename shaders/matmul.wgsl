// Matrix products for the linear layers, as asm/matmul.ts: C (=, or +=) A·B and A·Bᵀ on row-major f32
// matrices, A read through (row stride, column stride). One thread per element of C. The sum over k is split
// into the same equal K blocks of at most 512 as the WASM kernel's packing, each block summed from zero in k
// order and added to C, so the rounding follows the WASM kernel's (up to its fused multiply-adds).
//! use common

const KC: u32 = 512u;

// The length of the equal K blocks the WASM kernel uses (784 is 2 × 392, not 512 + 272).
fn k_block(k: u32) -> u32 {
  let blocks = (k + KC - 1u) / KC;
  return (k + blocks - 1u) / blocks;
}

//! snippet gemm
// C(i, j) (=, or += when accumulate) Σ_k A(i, k)·op(B)(k, j), op(B)(k, j) = B[k·N + j] or, when b_trans,
// B[j·K + k]. Reads the bindings A, B, C of the kernel.
fn gemm_element(t: u32, b_trans: bool) {
  let M = params.M;
  let K = params.K;
  let N = params.N;
  if (t >= M * N) {
    return;
  }
  let i = t / N;
  let j = t % N;
  if (K == 0u) {
    if (params.accumulate == 0u) {
      C[t] = 0.0;
    }
    return;
  }
  let kc = k_block(K);
  var total = 0.0;
  if (params.accumulate != 0u) {
    total = C[t];
  }
  for (var k0 = 0u; k0 < K; k0 += kc) {
    let k1 = min(k0 + kc, K);
    var block = 0.0;
    for (var k = k0; k < k1; k++) {
      let a = A[i * params.aRowStride + k * params.aColStride];
      var b = 0.0;
      if (b_trans) {
        b = B[j * K + k];
      } else {
        b = B[k * N + j];
      }
      block += a * b;
    }
    if (k0 == 0u && params.accumulate == 0u) {
      total = block;
    } else {
      total += block;
    }
  }
  C[t] = total;
}

//! kernel matmul
// C[M×N] = A·B (accumulate = 0) or C += A·B (accumulate = 1), B K×N row-major.
//! include gemm
struct Params {
  M: u32,
  K: u32,
  N: u32,
  aRowStride: u32,
  aColStride: u32,
  accumulate: u32,
}
@group(0) @binding(0) var<storage, read_write> C: array<f32>;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn matmul(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  gemm_element(thread_index(id, groups), false);
}

//! kernel matmul_bt
// C[M×N] = A·Bᵀ (or +=) for B stored N×K row-major.
//! include gemm
struct Params {
  M: u32,
  K: u32,
  N: u32,
  aRowStride: u32,
  aColStride: u32,
  accumulate: u32,
}
@group(0) @binding(0) var<storage, read_write> C: array<f32>;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn matmul_bt(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  gemm_element(thread_index(id, groups), true);
}
