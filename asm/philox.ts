// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based
// generator, so any word of any stream is computed directly from (key, counter) with no state. The same
// arithmetic is in shaders/ and tests/reference/, bit for bit.

import { logf } from "./vmath";

// @ts-ignore: decorator
@inline const M0: u32 = 0xD2511F53;
// @ts-ignore: decorator
@inline const M1: u32 = 0xCD9E8D57;
// @ts-ignore: decorator
@inline const W0: u32 = 0x9E3779B9;
// @ts-ignore: decorator
@inline const W1: u32 = 0xBB67AE85;

// The four output words of the last block computed.
export let word0: u32 = 0;
export let word1: u32 = 0;
export let word2: u32 = 0;
export let word3: u32 = 0;

/** Computes the block for counter (c0, c1, c2, c3) and key (k0, k1) into word0..word3. */
export function philoxBlock(c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): void {
  for (let round = 0; round < 10; round++) {
    const p0 = <u64>M0 * <u64>c0;
    const p1 = <u64>M1 * <u64>c2;
    const hi0 = <u32>(p0 >> 32);
    const hi1 = <u32>(p1 >> 32);
    c0 = hi1 ^ c1 ^ k0;
    c1 = <u32>p1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = <u32>p0;
    k0 += W0;
    k1 += W1;
  }
  word0 = c0;
  word1 = c1;
  word2 = c2;
  word3 = c3;
}

// The four output vectors of the last four blocks computed by philoxBlock4: lane l of blockWord_k is word k
// of block l.
export let blockWord0: v128 = i32x4.splat(0);
export let blockWord1: v128 = i32x4.splat(0);
export let blockWord2: v128 = i32x4.splat(0);
export let blockWord3: v128 = i32x4.splat(0);

// @ts-ignore: decorator
@inline function mulHigh(a: v128, m: v128): v128 {
  // The 64-bit products of lanes 0, 1 and of lanes 2, 3; their odd 32-bit halves are the high words.
  return v128.shuffle<u32>(i64x2.extmul_low_i32x4_u(a, m), i64x2.extmul_high_i32x4_u(a, m), 1, 3, 5, 7);
}

/**
 * Four Philox blocks at once: lane l computes the block of counter (c0[l], c1[l], c2[l], c3[l]) and key
 * (k0, k1), bit for bit as philoxBlock, into blockWord0..3.
 */
export function philoxBlock4(c0: v128, c1: v128, c2: v128, c3: v128, k0: u32, k1: u32): void {
  const m0 = i32x4.splat(M0), m1 = i32x4.splat(M1);
  for (let round = 0; round < 10; round++) {
    const hi0 = mulHigh(c0, m0);
    const hi1 = mulHigh(c2, m1);
    const lo0 = i32x4.mul(c0, m0);
    const lo1 = i32x4.mul(c2, m1);
    c0 = v128.xor(v128.xor(hi1, c1), i32x4.splat(k0));
    c1 = lo1;
    c2 = v128.xor(v128.xor(hi0, c3), i32x4.splat(k1));
    c3 = lo0;
    k0 += W0;
    k1 += W1;
  }
  blockWord0 = c0;
  blockWord1 = c1;
  blockWord2 = c2;
  blockWord3 = c3;
}

/** Word 0 of the streams of rows row, row + 1, row + 2, row + 3 (counter (0, row + l, stream, tag)). */
// @ts-ignore: decorator
@inline export function firstWords4(row: u32, k0: u32, k1: u32, stream: u32, tag: u32): v128 {
  const rows = i32x4.add(i32x4.splat(row), i32x4(0, 1, 2, 3));
  philoxBlock4(i32x4.splat(0), rows, i32x4.splat(stream), i32x4.splat(tag), k0, k1);
  return blockWord0;
}

/** Uniforms in [0, 1) from the top 24 bits of four words, lane-wise as uniformFromWord. */
// @ts-ignore: decorator
@inline export function uniformsFromWords(w: v128): v128 {
  return f32x4.mul(f32x4.convert_i32x4_u(i32x4.shr_u(w, 8)), f32x4.splat(5.9604644775390625e-8));
}

/**
 * Word `w` of row `row`'s stream: block w/4 of counter (w/4, row, stream, tag), lane w%4. Consecutive words
 * reuse the cached block, so a sequential scan costs one block per four words.
 */
let cachedBlock: i64 = -1;
let cachedRow: u32 = 0;
let cachedStream: u32 = 0;
let cachedTag: u32 = 0;
let cachedK0: u32 = 0;
let cachedK1: u32 = 0;

export function streamWord(w: u32, row: u32, k0: u32, k1: u32, stream: u32, tag: u32): u32 {
  const block = <i64>(w >> 2);
  if (
    block != cachedBlock || row != cachedRow || stream != cachedStream || tag != cachedTag ||
    k0 != cachedK0 || k1 != cachedK1
  ) {
    philoxBlock(<u32>block, row, stream, tag, k0, k1);
    cachedBlock = block;
    cachedRow = row;
    cachedStream = stream;
    cachedTag = tag;
    cachedK0 = k0;
    cachedK1 = k1;
  }
  const lane = w & 3;
  return lane == 0 ? word0 : lane == 1 ? word1 : lane == 2 ? word2 : word3;
}

/** A uniform in [0, 1) from the top 24 bits of a word: exact in f32 on every backend. */
// @ts-ignore: decorator
@inline export function uniformFromWord(w: u32): f32 {
  return <f32>(w >>> 8) * 5.9604644775390625e-8;
}

/**
 * A standard exponential from a word, via the uniform (k + ½)·2⁻²³ of its top 23 bits k: exact in f32 and in
 * (0, 1), so the exponential is never 0 and never infinite. (With 24 bits, k + ½ would round to 2²⁴ for the
 * top word and the exponential would be 0.)
 */
// @ts-ignore: decorator
@inline export function exponentialFromWord(w: u32): f32 {
  return -logf(openUniformFromWord(w));
}

/** The uniform (k + ½)·2⁻²³ of a word's top 23 bits k: exact in f32 and strictly inside (0, 1). */
// @ts-ignore: decorator
@inline export function openUniformFromWord(w: u32): f32 {
  return (<f32>(w >>> 9) + 0.5) * 1.1920928955078125e-7;
}
