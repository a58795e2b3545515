// The kernels of the Bernoulli VAE 2×200 (docs/math.md §4.10, §6.3): a binary latent's scalar a becomes a row
// of two logits (a, 1 − a) so that the categorical estimators run on it unchanged, the first entry of each
// sampled row is the latent the decoder sees, and grey images are binarised by Philox uniforms.
//
// Elementwise kernels run on f32x4 with the tail computed by the same vector code on a splat (as
// asm/layers.ts), so every element gets the same arithmetic. Pairs are (de)interleaved by shuffles: four
// elements are two vectors of pairs.
import { philoxBlock, word0, word1, word2, word3 } from "./philox";

// @ts-ignore: decorator
@inline function at(p: usize, i: u32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function complementV(a: v128): v128 {
  return f32x4.sub(f32x4.splat(1), a);
}

/** logits[2i] = a[i], logits[2i + 1] = 1 − a[i] for i < count (written). */
export function bernoulli_logits(logits: usize, a: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(at(a, i));
    const w = complementV(v);
    v128.store(at(logits, 2 * i), v128.shuffle<f32>(v, w, 0, 4, 1, 5));
    v128.store(at(logits, 2 * i + 4), v128.shuffle<f32>(v, w, 2, 6, 3, 7));
  }
  for (; i < count; i++) {
    const v = f32x4.splat(load<f32>(at(a, i)));
    store<f32>(at(logits, 2 * i), f32x4.extract_lane(v, 0));
    store<f32>(at(logits, 2 * i + 1), f32x4.extract_lane(complementV(v), 0));
  }
}

// @ts-ignore: decorator
@inline function pairDifferenceBackV(dA: v128, first: v128, second: v128): v128 {
  return f32x4.add(dA, f32x4.sub(first, second));
}

/** dA[i] += dLogits[2i] − dLogits[2i + 1] for i < count (accumulating). */
export function bernoulli_logits_backward(dA: usize, dLogits: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const v0 = v128.load(at(dLogits, 2 * i));
    const v1 = v128.load(at(dLogits, 2 * i + 4));
    const first = v128.shuffle<f32>(v0, v1, 0, 2, 4, 6);
    const second = v128.shuffle<f32>(v0, v1, 1, 3, 5, 7);
    v128.store(at(dA, i), pairDifferenceBackV(v128.load(at(dA, i)), first, second));
  }
  for (; i < count; i++) {
    const v = pairDifferenceBackV(
      f32x4.splat(load<f32>(at(dA, i))), f32x4.splat(load<f32>(at(dLogits, 2 * i))),
      f32x4.splat(load<f32>(at(dLogits, 2 * i + 1))),
    );
    store<f32>(at(dA, i), f32x4.extract_lane(v, 0));
  }
}

/** out[i] = pairs[2i] for i < count (written). */
export function first_of_pairs(out: usize, pairs: usize, count: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const v0 = v128.load(at(pairs, 2 * i));
    const v1 = v128.load(at(pairs, 2 * i + 4));
    v128.store(at(out, i), v128.shuffle<f32>(v0, v1, 0, 2, 4, 6));
  }
  // A copy, no arithmetic: the tail moves the bits as the shuffle does.
  for (; i < count; i++) store<u32>(at(out, i), load<u32>(at(pairs, 2 * i)));
}

/** dPairs[2i] = dOut[i], dPairs[2i + 1] = 0 for i < count (written). */
export function first_of_pairs_backward(dPairs: usize, dOut: usize, count: u32): void {
  const zero = f32x4.splat(0);
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(at(dOut, i));
    v128.store(at(dPairs, 2 * i), v128.shuffle<f32>(v, zero, 0, 4, 1, 5));
    v128.store(at(dPairs, 2 * i + 4), v128.shuffle<f32>(v, zero, 2, 6, 3, 7));
  }
  for (; i < count; i++) {
    store<u32>(at(dPairs, 2 * i), load<u32>(at(dOut, i)));
    store<f32>(at(dPairs, 2 * i + 1), 0);
  }
}

// Scratch for the partial last block of a row in binarize: the pixels in, the bits out.
const LANES: usize = memory.data(16, 16);

/**
 * The four bits of Philox block `block` of row `row` for pixels xv: 1 where u < x. u = (w >> 8)·2⁻²⁴ is a
 * 24-bit integer times a power of two, exact in f32 (as uniformFromWord), so the comparison is exact.
 */
function binarizeBlockV(
  xv: v128, block: u32, row: u32, key0: u32, key1: u32, stream: u32, tag: u32,
): v128 {
  philoxBlock(block, row, stream, tag, key0, key1);
  let w = i32x4.splat(word0);
  w = i32x4.replace_lane(w, 1, word1);
  w = i32x4.replace_lane(w, 2, word2);
  w = i32x4.replace_lane(w, 3, word3);
  const u = f32x4.mul(f32x4.convert_i32x4_u(i32x4.shr_u(w, 8)), f32x4.splat(5.9604644775390625e-8));
  return v128.and(f32x4.lt(u, xv), f32x4.splat(1));
}

/**
 * out[r·dim + j] = (u < x[r·dim + j]) ? 1 : 0, u the uniform of word j of row rowIds[r] of the stream
 * (key0, key1, stream, tag): counter (⌊j/4⌋, rowIds[r], stream, tag), lane j mod 4, as streamWord.
 */
export function binarize(
  out: usize, x: usize, rowIds: usize, rows: u32, dim: u32, key0: u32, key1: u32, stream: u32, tag: u32,
): void {
  const d4 = dim & ~3;
  for (let r: u32 = 0; r < rows; r++) {
    const row = load<u32>(at(rowIds, r));
    const po = out + ((<usize>r * dim) << 2);
    const px = x + ((<usize>r * dim) << 2);
    let j: u32 = 0;
    for (; j < d4; j += 4) {
      v128.store(at(po, j), binarizeBlockV(v128.load(at(px, j)), j >> 2, row, key0, key1, stream, tag));
    }
    if (j < dim) {
      const rest = dim - j;
      memory.fill(LANES, 0, 16);
      for (let k: u32 = 0; k < rest; k++) store<f32>(at(LANES, k), load<f32>(at(px, j + k)));
      v128.store(LANES, binarizeBlockV(v128.load(LANES), j >> 2, row, key0, key1, stream, tag));
      for (let k: u32 = 0; k < rest; k++) store<f32>(at(po, j + k), load<f32>(at(LANES, k)));
    }
  }
}
