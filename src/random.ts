// Seeds and streams. Every random number the SDK draws is a Philox4x32-10 word addressed by
// key = seed (two u32 words), counter = (word/4, row, stream, tag): the same seed gives the same samples on
// every backend, and no generator state exists to save or restore.
import { ReinmaxInputError } from "./errors.ts";
import { describe } from "./validate.ts";

/** What a stream of random words is used for; the counter's last word, so purposes never share words. */
export const TAG = {
  estimator: 1,
  init: 2,
  /** The order of the training data in each epoch (stream = epoch). */
  data: 3,
  /** Samples drawn outside training: evaluation, reconstructions, prior samples. */
  evaluation: 4,
  /** Binarisation of grey images, pixel = 1[u < x] (row = the image's index in its set). */
  binarize: 5,
  /** Draws of analyses outside training, e.g. the estimator draws judged against an exact gradient. */
  analysis: 6,
} as const;

/**
 * The stream of a model's stochastic layer number `layer` (counting only stochastic layers, from 0): the pass's
 * own for the first, and for each later one the same stream under tag + 256·layer, so that no two layers
 * share a word (tags below 256 are the purposes of {@link TAG}; docs/math.md §3.2).
 */
export function layerStream(rng: RandomStream, layer: number): RandomStream {
  return layer === 0 ? rng : { ...rng, tag: rng.tag + 256 * layer };
}

/**
 * A Philox key and stream: the scalar arguments `key0 key1 stream tag` of the sampling kernels.
 *
 * @example
 * ```ts
 * import type { RandomStream } from "@reinmax/reinmax";
 * // Seed 7 (key words 7 and 0), stream 12 (e.g. the step), tag 1 (the purpose).
 * const stream: RandomStream = { key0: 7, key1: 0, stream: 12, tag: 1 };
 * ```
 */
export interface RandomStream {
  /** The seed's low 32 bits. */
  readonly key0: number;
  /** The seed's high bits. */
  readonly key1: number;
  /** Which stream of the purpose (a step, an epoch, a draw). */
  readonly stream: number;
  /** The purpose (see TAG). */
  readonly tag: number;
}

/** Splits a seed (an integer in [0, 2^53)) into the two key words. */
export function seedKey(seed: unknown, argument = "seed"): [number, number] {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
    throw new ReinmaxInputError(argument, `expected an integer in [0, 2^53), got ${describe(seed)}`);
  }
  return [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
}

/** The stream for `seed`, counter word `stream` (an integer in [0, 2^32)) and purpose `tag`. */
export function randomStream(seed: number, stream: number, tag: number): RandomStream {
  const [key0, key1] = seedKey(seed);
  if (!Number.isInteger(stream) || stream < 0 || stream >= 2 ** 32) {
    throw new ReinmaxInputError("stream", `expected an integer in [0, 2^32), got ${describe(stream)}`);
  }
  return { key0, key1, stream, tag };
}

const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;

/** The high 32 bits of the 64-bit product of two u32s (Math.imul gives the low bits). */
function mulHigh(a: number, b: number): number {
  const aLo = a & 0xffff, aHi = a >>> 16, bLo = b & 0xffff, bHi = b >>> 16;
  const cross = ((aLo * bLo) >>> 16) + (aHi * bLo & 0xffff) + aLo * bHi;
  return (aHi * bHi + ((aHi * bLo) >>> 16) + Math.floor(cross / 0x10000)) >>> 0;
}

/**
 * One Philox4x32-10 block on the host, for draws that steer training from TypeScript (the data order): the
 * kernels compute the same words (docs/math.md §3). Writes the four words of counter (c0, c1, c2, c3) under
 * key (k0, k1) into `out`.
 */
export function philoxBlock(
  out: Uint32Array,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
): void {
  for (let round = 0; round < 10; round++) {
    const hi0 = mulHigh(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulHigh(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}
