// Matrix products for the linear layers: C (=, or +=) A·B and A·Bᵀ on row-major f32 matrices.
//
// The shape of the code follows the GotoBLAS/BLIS recipe, cut down to what a 128-bit SIMD engine wants:
//   for each block of KC rows of B (K blocking keeps the packed panel in L1):
//     for each panel of NR = 8 columns of B: copy it into PACK (contiguous, zero-padded past N, and
//       transposed on the way when B is given as Bᵀ, so dx = dy·Wᵀ needs no transposed copy of W);
//       for each tile of MR rows of A: the micro-kernel keeps an MR×8 tile of C in MR·2 f32x4 registers and
//         per k does 2 vector loads of the panel, MR broadcast loads of A and MR·2 multiply-adds.
// A is read in place through (row stride, column stride), so Aᵀ products (dW = xᵀ·dy) need no copy either.
// MR is 6 with relaxed SIMD (12 accumulators + 2 B vectors + 1 broadcast = 15 registers, which is what V8
// leaves allocatable on x64) and 5 without it, where each multiply-add needs one temporary register.
// Row tails re-read the last valid row of A (rows are clamped) and store only the valid rows; column tails
// compute on the zero padding and store only the valid columns.

// @ts-ignore: decorator
@inline const RELAXED: bool = RELAXED_SIMD != 0;
// @ts-ignore: decorator
@inline const MR: u32 = RELAXED ? 6 : 5;
// @ts-ignore: decorator
@inline const NR: u32 = 8;
// @ts-ignore: decorator
@inline const KC: u32 = 512;

// The packed KC×NR panel of B and the spill tile for partial stores (static data, below the heap).
const PACK: usize = memory.data(KC * NR * 4, 64);
const TILE: usize = memory.data(6 * NR * 4, 16);

// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (RELAXED) return f32x4.relaxed_madd(a, b, c);
  else return f32x4.add(f32x4.mul(a, b), c);
}

/** Writes the 4×4 transpose of the block at src (row stride ld bytes) to dst, rows 32 bytes apart. */
// @ts-ignore: decorator
@inline function transpose4x4(dst: usize, src: usize, ld: usize): void {
  const v0 = v128.load(src);
  const v1 = v128.load(src + ld);
  const v2 = v128.load(src + 2 * ld);
  const v3 = v128.load(src + 3 * ld);
  const a0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5);
  const a1 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
  const a2 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
  const a3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(a0, a2, 0, 1, 4, 5));
  v128.store(dst, v128.shuffle<f32>(a0, a2, 2, 3, 6, 7), NR * 4);
  v128.store(dst, v128.shuffle<f32>(a1, a3, 0, 1, 4, 5), NR * 8);
  v128.store(dst, v128.shuffle<f32>(a1, a3, 2, 3, 6, 7), NR * 12);
}

/**
 * PACK[k·NR + c] = B(k0 + k, j0 + c) for k < kc, c < w, and 0 for w ≤ c < NR. B(k, j) is B[k·N + j], or
 * B[j·K + k] when bTrans.
 */
function packPanel(B: usize, K: u32, N: u32, k0: u32, kc: u32, j0: u32, w: u32, bTrans: bool): void {
  let dst = PACK;
  if (!bTrans) {
    let src = B + ((<usize>k0 * N + j0) << 2);
    const ld = <usize>N << 2;
    if (w == NR) {
      for (let k: u32 = 0; k < kc; k++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += NR * 4;
        src += ld;
      }
    } else {
      for (let k: u32 = 0; k < kc; k++) {
        for (let c: u32 = 0; c < NR; c++) {
          store<f32>(dst + (<usize>c << 2), c < w ? load<f32>(src + (<usize>c << 2)) : 0);
        }
        dst += NR * 4;
        src += ld;
      }
    }
  } else {
    const src = B + ((<usize>j0 * K + k0) << 2);
    const ld = <usize>K << 2;
    let k: u32 = 0;
    if (w == NR) {
      for (; k + 4 <= kc; k += 4) {
        const s = src + (<usize>k << 2);
        const d = dst + <usize>k * (NR * 4);
        transpose4x4(d, s, ld);
        transpose4x4(d + 16, s + 4 * ld, ld);
      }
    }
    for (; k < kc; k++) {
      const s = src + (<usize>k << 2);
      const d = dst + <usize>k * (NR * 4);
      for (let c: u32 = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), c < w ? load<f32>(s + <usize>c * ld) : 0);
    }
  }
}

/**
 * The MR×NR micro-kernel: C tile at pc (row stride ldc bytes) (=, or += when add) Σ_k A(row r, k)·PACK[k, :],
 * where A(row r, k) is at pa + min(r, rows − 1)·rsB + k·csB. Stores rows < rows and columns < w only.
 */
function microKernel(
  pa: usize, rsB: usize, csB: usize, kc: u32, pc: usize, ldc: usize, rows: u32, w: u32, add: bool,
): void {
  const last = rows - 1;
  let p0 = pa;
  let p1 = pa + <usize>min<u32>(1, last) * rsB;
  let p2 = pa + <usize>min<u32>(2, last) * rsB;
  let p3 = pa + <usize>min<u32>(3, last) * rsB;
  let p4 = pa + <usize>min<u32>(4, last) * rsB;
  let p5 = pa + <usize>min<u32>(5, last) * rsB;
  let pb = PACK;
  const zero = f32x4.splat(0);
  let c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero;
  let c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero;
  for (let k: u32 = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(p0);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(p1);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(p2);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(p3);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    a = v128.load32_splat(p4);
    c40 = madd(a, b0, c40);
    c41 = madd(a, b1, c41);
    if (MR > 5) {
      a = v128.load32_splat(p5);
      c50 = madd(a, b0, c50);
      c51 = madd(a, b1, c51);
      p5 += csB;
    }
    p0 += csB;
    p1 += csB;
    p2 += csB;
    p3 += csB;
    p4 += csB;
    pb += NR * 4;
  }
  if (rows == MR && w == NR) {
    if (add) {
      v128.store(pc, f32x4.add(v128.load(pc), c00));
      v128.store(pc, f32x4.add(v128.load(pc, 16), c01), 16);
      pc += ldc;
      v128.store(pc, f32x4.add(v128.load(pc), c10));
      v128.store(pc, f32x4.add(v128.load(pc, 16), c11), 16);
      pc += ldc;
      v128.store(pc, f32x4.add(v128.load(pc), c20));
      v128.store(pc, f32x4.add(v128.load(pc, 16), c21), 16);
      pc += ldc;
      v128.store(pc, f32x4.add(v128.load(pc), c30));
      v128.store(pc, f32x4.add(v128.load(pc, 16), c31), 16);
      pc += ldc;
      v128.store(pc, f32x4.add(v128.load(pc), c40));
      v128.store(pc, f32x4.add(v128.load(pc, 16), c41), 16);
      if (MR > 5) {
        pc += ldc;
        v128.store(pc, f32x4.add(v128.load(pc), c50));
        v128.store(pc, f32x4.add(v128.load(pc, 16), c51), 16);
      }
    } else {
      v128.store(pc, c00);
      v128.store(pc, c01, 16);
      pc += ldc;
      v128.store(pc, c10);
      v128.store(pc, c11, 16);
      pc += ldc;
      v128.store(pc, c20);
      v128.store(pc, c21, 16);
      pc += ldc;
      v128.store(pc, c30);
      v128.store(pc, c31, 16);
      pc += ldc;
      v128.store(pc, c40);
      v128.store(pc, c41, 16);
      if (MR > 5) {
        pc += ldc;
        v128.store(pc, c50);
        v128.store(pc, c51, 16);
      }
    }
    return;
  }
  v128.store(TILE, c00);
  v128.store(TILE, c01, 16);
  v128.store(TILE, c10, 32);
  v128.store(TILE, c11, 48);
  v128.store(TILE, c20, 64);
  v128.store(TILE, c21, 80);
  v128.store(TILE, c30, 96);
  v128.store(TILE, c31, 112);
  v128.store(TILE, c40, 128);
  v128.store(TILE, c41, 144);
  if (MR > 5) {
    v128.store(TILE, c50, 160);
    v128.store(TILE, c51, 176);
  }
  for (let r: u32 = 0; r < rows; r++) {
    const t = TILE + <usize>r * (NR * 4);
    const o = pc + <usize>r * ldc;
    for (let j: u32 = 0; j < w; j++) {
      const p = o + (<usize>j << 2);
      const v = load<f32>(t + (<usize>j << 2));
      store<f32>(p, add ? load<f32>(p) + v : v);
    }
  }
}

// C[M×N] (=, or += when accumulate) A·op(B), op(B) = B (K×N) or Bᵀ (B given N×K), A(i, k) at A[i·rs + k·cs].
function gemm(
  C: usize, A: usize, B: usize, M: u32, K: u32, N: u32, rs: u32, cs: u32, bTrans: bool, accumulate: bool,
): void {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) memory.fill(C, 0, (<usize>M * N) << 2);
    return;
  }
  const blocks = (K + KC - 1) / KC;
  const kcMax = (K + blocks - 1) / blocks; // equal blocks: 784 is 2 × 392, not 512 + 272
  const rsB = <usize>rs << 2;
  const csB = <usize>cs << 2;
  const ldc = <usize>N << 2;
  for (let k0: u32 = 0; k0 < K; k0 += kcMax) {
    const kc = min<u32>(kcMax, K - k0);
    const add = accumulate || k0 > 0;
    const a0 = A + <usize>k0 * csB;
    for (let j0: u32 = 0; j0 < N; j0 += NR) {
      const w = min<u32>(NR, N - j0);
      packPanel(B, K, N, k0, kc, j0, w, bTrans);
      const c0 = C + (<usize>j0 << 2);
      for (let i0: u32 = 0; i0 < M; i0 += MR) {
        microKernel(a0 + <usize>i0 * rsB, rsB, csB, kc, c0 + <usize>i0 * ldc, ldc, min<u32>(MR, M - i0), w, add);
      }
    }
  }
}

/**
 * C[M×N] = A·B, or C += A·B when accumulate = 1. B is K×N row-major; A(i, k) is A[i·aRowStride + k·aColStride]
 * (aRowStride = K, aColStride = 1 for a row-major A; aRowStride = 1, aColStride = M for A given as Aᵀ).
 * C must not overlap A or B.
 */
export function matmul(
  C: usize, A: usize, B: usize, M: u32, K: u32, N: u32, aRowStride: u32, aColStride: u32, accumulate: u32,
): void {
  gemm(C, A, B, M, K, N, aRowStride, aColStride, false, accumulate != 0);
}

/**
 * C[M×N] = A·Bᵀ, or C += A·Bᵀ when accumulate = 1, for B given N×K row-major (C(i, j) = Σ_k A(i, k)·B[j·K + k]).
 * A as in matmul. C must not overlap A or B.
 */
export function matmul_bt(
  C: usize, A: usize, B: usize, M: u32, K: u32, N: u32, aRowStride: u32, aColStride: u32, accumulate: u32,
): void {
  gemm(C, A, B, M, K, N, aRowStride, aColStride, true, accumulate != 0);
}
