// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based
// generator, so any word of any stream is computed directly from (key, counter) with no state. The same
// arithmetic is in shaders/ and tests/reference/, bit for bit.

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
  return -Mathf.log((<f32>(w >>> 9) + 0.5) * 1.1920928955078125e-7);
}
