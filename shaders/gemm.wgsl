// The workgroup-tiled matrix product shared by shaders/matmul.wgsl and shaders/layers.wgsl. Files that
// `//! use gemm` get the constants and index helpers; a kernel that `//! include gemm.tile`s gets gemm_tile,
// which reads its operands through the kernel's own a_at(sel, i, k) and b_at(sel, k, j).

const KC: u32 = 512u;

// The length of the equal K blocks the WASM kernel uses (784 is 2 × 392, not 512 + 272).
fn k_block(k: u32) -> u32 {
  let blocks = (k + KC - 1u) / KC;
  return (k + blocks - 1u) / blocks;
}

// The tiling: each workgroup of GEMM_THREADS threads owns a TM×TN tile of C, each thread a 4×4 micro-tile of it (rows
// ty + 16r, columns tx + 16c). The K range is walked block by block (k_block), each block in slices of TK
// whose A and B tiles the whole workgroup stages in workgroup memory; every thread still sums its elements in
// k order, a block from zero, then adds the block to its total, so the rounding is that of one thread per
// element. Threads whose elements fall outside C load tiles and take every barrier all the same.
const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;
const GEMM_THREADS: u32 = 256u;
const TILE_STRIDE: u32 = 65u; // TM + 1 = TN + 1: staging rows padded against bank conflicts

var<workgroup> a_tile: array<f32, 1040>; // TK × TILE_STRIDE, a_tile[kk·TILE_STRIDE + r] = A(row0 + r, k + kk)
var<workgroup> b_tile: array<f32, 1040>; // TK × TILE_STRIDE, b_tile[kk·TILE_STRIDE + c] = B(k + kk, col0 + c)

// The linear index of this workgroup in the (possibly folded) grid of tiles.
fn workgroup_index(wid: vec3u, groups: vec3u) -> u32 {
  return wid.x + wid.y * groups.x;
}

// The tiles of an M×N product.
fn tile_count(M: u32, N: u32) -> u32 {
  return ((M + TM - 1u) / TM) * ((N + TN - 1u) / TN);
}

// Row and column of element e (0..16) of thread lid's micro-tile, relative to the tile.
fn micro_row(lid: u32, e: u32) -> u32 {
  return lid / 16u + 16u * (e / 4u);
}
fn micro_col(lid: u32, e: u32) -> u32 {
  return lid % 16u + 16u * (e % 4u);
}

//! snippet tile
// Thread lid's 16 totals of the tile at (row0, col0) of the M×N product over K, from `init`: Σ_k
// a_at(sel, i, k)·b_at(sel, k, j) block by block, each block added to the total, or replacing it for the first
// block when replace_first (so C = A·B keeps the sign of a zero block). a_k_contig / b_k_contig say whether
// consecutive k are adjacent in memory, to pick the coalesced load order. All arguments but lid and init must
// be uniform over the workgroup.
fn gemm_tile(
  sel: u32,
  lid: u32,
  row0: u32,
  col0: u32,
  M: u32,
  N: u32,
  K: u32,
  a_k_contig: bool,
  b_k_contig: bool,
  init: array<f32, 16>,
  replace_first: bool,
) -> array<f32, 16> {
  var total = init;
  if (K == 0u) {
    return total;
  }
  let kc = k_block(K);
  let ty = lid / 16u;
  let tx = lid % 16u;
  for (var k0 = 0u; k0 < K; k0 += kc) {
    let k1 = min(k0 + kc, K);
    var block: array<f32, 16>;
    for (var e = 0u; e < 16u; e++) {
      block[e] = 0.0;
    }
    for (var kt = k0; kt < k1; kt += TK) {
      let kl = min(TK, k1 - kt);
      for (var q = 0u; q < TM * TK / GEMM_THREADS; q++) {
        let l = lid + q * GEMM_THREADS;
        var r = l / TK;
        var kk = l % TK;
        if (!a_k_contig) {
          r = l % TM;
          kk = l / TM;
        }
        var v = 0.0;
        if (row0 + r < M && kk < kl) {
          v = a_at(sel, row0 + r, kt + kk);
        }
        a_tile[kk * TILE_STRIDE + r] = v;
      }
      for (var q = 0u; q < TN * TK / GEMM_THREADS; q++) {
        let l = lid + q * GEMM_THREADS;
        var c = l / TK;
        var kk = l % TK;
        if (!b_k_contig) {
          c = l % TN;
          kk = l / TN;
        }
        var v = 0.0;
        if (col0 + c < N && kk < kl) {
          v = b_at(sel, kt + kk, col0 + c);
        }
        b_tile[kk * TILE_STRIDE + c] = v;
      }
      workgroupBarrier();
      for (var kk = 0u; kk < kl; kk++) {
        let base = kk * TILE_STRIDE;
        let a = vec4f(
          a_tile[base + ty],
          a_tile[base + ty + 16u],
          a_tile[base + ty + 32u],
          a_tile[base + ty + 48u],
        );
        let b = vec4f(
          b_tile[base + tx],
          b_tile[base + tx + 16u],
          b_tile[base + tx + 32u],
          b_tile[base + tx + 48u],
        );
        for (var e = 0u; e < 16u; e++) {
          block[e] += a[e / 4u] * b[e % 4u];
        }
      }
      workgroupBarrier();
    }
    for (var e = 0u; e < 16u; e++) {
      if (k0 == 0u && replace_first) {
        total[e] = block[e];
      } else {
        total[e] += block[e];
      }
    }
  }
  return total;
}
