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

// ---------------------------------------------------------------------------------------------------------
// Products with a sparse left factor: C += A·B skipping the zeros of A. ReLU outputs and image pixels are
// about half zeros, so a linear layer's forward (x·W) and weight gradient (xᵀ·dy) can skip half the work.
// For each block of SPARSE_ROWS rows of C and SPARSE_DEPTH values of k, each row r gets a list of its nonzero
// A(r, k) with the byte offset of row k of B; then, per block of columns, the row of C is held in registers
// while the rows of B its list names are added in (B's block of rows stays in L1 across the rows of C).
// A multiply-add costs one load of B here instead of the dense kernel's 2/3, and the lists cost a pass over
// A: worth it once more than about half of A is zero (see sparseInput in layers.ts).

// @ts-ignore: decorator
@inline const SPARSE_ROWS: u32 = 128;
// @ts-ignore: decorator
@inline const SPARSE_DEPTH: u32 = 128;
// @ts-ignore: decorator
@inline const SPARSE_PANEL: u32 = 48 * 4; // bytes per packed row of B: the widest column block
// Entry e of row r's list at LISTS + (r·SPARSE_DEPTH + e)·8: the value A(r, k) (f32), then (k − k0)·SPARSE_PANEL
// (u32), the offset of row k in the packed block of B.
const LISTS: usize = memory.data(SPARSE_ROWS * SPARSE_DEPTH * 8, 16);
const COUNTS: usize = memory.data(SPARSE_ROWS * 4, 16);
// The block of B (SPARSE_DEPTH rows × up to 48 columns) a column block reads, packed: B's rows are N floats
// apart, a multiple of 4 KiB in the layers' shapes, and would fall into a few L1 sets unpacked.
const SPARSE_PACK: usize = memory.data(SPARSE_DEPTH * SPARSE_PANEL, 64);

/** SPARSE_PACK row k = B(k0 + k, j0 .. j0 + w) for k < kb (w a multiple of 4, or 1). */
function packSparse(B: usize, ld: usize, k0: u32, kb: u32, j0: u32, w: u32): void {
  let src = B + <usize>k0 * ld + (<usize>j0 << 2);
  let dst = SPARSE_PACK;
  // Vector copies: memory.copy of a few bytes is a call in V8.
  for (let k: u32 = 0; k < kb; k++) {
    if (w == 1) {
      store<f32>(dst, load<f32>(src));
    } else {
      for (let c: usize = 0; c < (<usize>w << 2); c += 16) v128.store(dst + c, v128.load(src + c));
    }
    src += ld;
    dst += SPARSE_PANEL;
  }
}

/** The number of zeros (±0) among x[0..count). */
export function zeroCount(x: usize, count: u32): u32 {
  let acc = i32x4.splat(0);
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) acc = i32x4.sub(acc, f32x4.eq(v128.load(x + (<usize>i << 2)), f32x4.splat(0)));
  let n = <u32>(i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3));
  for (; i < count; i++) if (load<f32>(x + (<usize>i << 2)) == 0) n++;
  return n;
}

// C row block (12 vectors = 48 columns) += Σ_e value_e · B row at b + offset_e.
// @ts-ignore: decorator
@inline function sparseRow48(c: usize, b: usize, list: usize, n: u32): void {
  let c0 = v128.load(c), c1 = v128.load(c, 16), c2 = v128.load(c, 32), c3 = v128.load(c, 48);
  let c4 = v128.load(c, 64), c5 = v128.load(c, 80), c6 = v128.load(c, 96), c7 = v128.load(c, 112);
  let c8 = v128.load(c, 128), c9 = v128.load(c, 144), c10 = v128.load(c, 160), c11 = v128.load(c, 176);
  for (let e: u32 = 0; e < n; e++) {
    const entry = list + (<usize>e << 3);
    const a = v128.load32_splat(entry);
    const p = b + <usize>load<u32>(entry, 4);
    c0 = madd(a, v128.load(p), c0);
    c1 = madd(a, v128.load(p, 16), c1);
    c2 = madd(a, v128.load(p, 32), c2);
    c3 = madd(a, v128.load(p, 48), c3);
    c4 = madd(a, v128.load(p, 64), c4);
    c5 = madd(a, v128.load(p, 80), c5);
    c6 = madd(a, v128.load(p, 96), c6);
    c7 = madd(a, v128.load(p, 112), c7);
    c8 = madd(a, v128.load(p, 128), c8);
    c9 = madd(a, v128.load(p, 144), c9);
    c10 = madd(a, v128.load(p, 160), c10);
    c11 = madd(a, v128.load(p, 176), c11);
  }
  v128.store(c, c0); v128.store(c, c1, 16); v128.store(c, c2, 32); v128.store(c, c3, 48);
  v128.store(c, c4, 64); v128.store(c, c5, 80); v128.store(c, c6, 96); v128.store(c, c7, 112);
  v128.store(c, c8, 128); v128.store(c, c9, 144); v128.store(c, c10, 160); v128.store(c, c11, 176);
}

// The same for 4 vectors (16 columns).
// @ts-ignore: decorator
@inline function sparseRow16(c: usize, b: usize, list: usize, n: u32): void {
  let c0 = v128.load(c), c1 = v128.load(c, 16), c2 = v128.load(c, 32), c3 = v128.load(c, 48);
  for (let e: u32 = 0; e < n; e++) {
    const entry = list + (<usize>e << 3);
    const a = v128.load32_splat(entry);
    const p = b + <usize>load<u32>(entry, 4);
    c0 = madd(a, v128.load(p), c0);
    c1 = madd(a, v128.load(p, 16), c1);
    c2 = madd(a, v128.load(p, 32), c2);
    c3 = madd(a, v128.load(p, 48), c3);
  }
  v128.store(c, c0); v128.store(c, c1, 16); v128.store(c, c2, 32); v128.store(c, c3, 48);
}

// The same for 1 vector (4 columns).
// @ts-ignore: decorator
@inline function sparseRow4(c: usize, b: usize, list: usize, n: u32): void {
  let c0 = v128.load(c);
  for (let e: u32 = 0; e < n; e++) {
    const entry = list + (<usize>e << 3);
    c0 = madd(v128.load32_splat(entry), v128.load(b + <usize>load<u32>(entry, 4)), c0);
  }
  v128.store(c, c0);
}

// The same for one column.
// @ts-ignore: decorator
@inline function sparseRow1(c: usize, b: usize, list: usize, n: u32): void {
  let c0 = load<f32>(c);
  for (let e: u32 = 0; e < n; e++) {
    const entry = list + (<usize>e << 3);
    c0 += load<f32>(entry) * load<f32>(b + <usize>load<u32>(entry, 4));
  }
  store<f32>(c, c0);
}

/**
 * C[M×N] += A·B skipping the zeros of A; B is K×N row-major, A(i, k) at A[i·rs + k·cs] as in `matmul`. Exact
 * zeros contribute nothing to a finite product, so the result is the dense one up to f32 rounding.
 */
export function gemmSparseA(C: usize, A: usize, B: usize, M: u32, K: u32, N: u32, rs: u32, cs: u32): void {
  const rsB = <usize>rs << 2;
  const csB = <usize>cs << 2;
  const ld = <usize>N << 2;
  for (let k0: u32 = 0; k0 < K; k0 += SPARSE_DEPTH) {
    const kb = min<u32>(SPARSE_DEPTH, K - k0);
    for (let r0: u32 = 0; r0 < M; r0 += SPARSE_ROWS) {
      const rb = min<u32>(SPARSE_ROWS, M - r0);
      // The lists, appended branch-free (an entry is written, and kept when its value is nonzero): half the
      // values are zero, in no pattern a branch predictor could learn. Row-major A is read along its rows.
      if (cs == 1) {
        for (let r: u32 = 0; r < rb; r++) {
          const src = A + <usize>(r0 + r) * rsB + <usize>k0 * csB;
          const list = LISTS + <usize>r * (SPARSE_DEPTH * 8);
          let n: u32 = 0;
          for (let k: u32 = 0; k < kb; k++) {
            const v = load<f32>(src + (<usize>k << 2));
            const entry = list + (<usize>n << 3);
            store<f32>(entry, v);
            store<u32>(entry, k * SPARSE_PANEL, 4);
            n += <u32>(v != 0);
          }
          store<u32>(COUNTS + (<usize>r << 2), n);
        }
      } else {
        memory.fill(COUNTS, 0, <usize>rb << 2);
        for (let k: u32 = 0; k < kb; k++) {
          const src = A + <usize>(k0 + k) * csB + <usize>r0 * rsB;
          const offset = k * SPARSE_PANEL;
          for (let r: u32 = 0; r < rb; r++) {
            const v = load<f32>(src + <usize>r * rsB);
            const count = COUNTS + (<usize>r << 2);
            const n = load<u32>(count);
            const entry = LISTS + <usize>r * (SPARSE_DEPTH * 8) + (<usize>n << 3);
            store<f32>(entry, v);
            store<u32>(entry, offset, 4);
            store<u32>(count, n + <u32>(v != 0));
          }
        }
      }
      let j: u32 = 0;
      for (; j + 48 <= N; j += 48) {
        packSparse(B, ld, k0, kb, j, 48);
        for (let r: u32 = 0; r < rb; r++) {
          const list = LISTS + <usize>r * (SPARSE_DEPTH * 8);
          sparseRow48(C + <usize>(r0 + r) * ld + (<usize>j << 2), SPARSE_PACK, list, load<u32>(COUNTS + (<usize>r << 2)));
        }
      }
      for (; j + 16 <= N; j += 16) {
        packSparse(B, ld, k0, kb, j, 16);
        for (let r: u32 = 0; r < rb; r++) {
          const list = LISTS + <usize>r * (SPARSE_DEPTH * 8);
          sparseRow16(C + <usize>(r0 + r) * ld + (<usize>j << 2), SPARSE_PACK, list, load<u32>(COUNTS + (<usize>r << 2)));
        }
      }
      for (; j + 4 <= N; j += 4) {
        packSparse(B, ld, k0, kb, j, 4);
        for (let r: u32 = 0; r < rb; r++) {
          const list = LISTS + <usize>r * (SPARSE_DEPTH * 8);
          sparseRow4(C + <usize>(r0 + r) * ld + (<usize>j << 2), SPARSE_PACK, list, load<u32>(COUNTS + (<usize>r << 2)));
        }
      }
      for (; j < N; j++) {
        packSparse(B, ld, k0, kb, j, 1);
        for (let r: u32 = 0; r < rb; r++) {
          const list = LISTS + <usize>r * (SPARSE_DEPTH * 8);
          sparseRow1(C + <usize>(r0 + r) * ld + (<usize>j << 2), SPARSE_PACK, list, load<u32>(COUNTS + (<usize>r << 2)));
        }
      }
    }
  }
}
