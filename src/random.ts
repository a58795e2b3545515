// Seeds and streams. Every random number the SDK draws is a Philox4x32-10 word addressed by
// key = seed (two u32 words), counter = (word/4, row, stream, tag): the same seed gives the same samples on
// every backend, and no generator state exists to save or restore.
import { ReinmaxInputError } from "./errors.ts";
import { describe } from "./validate.ts";

/** What a stream of random words is used for; the counter's last word, so purposes never share words. */
export const TAG = {
  estimator: 1,
  init: 2,
  data: 3,
} as const;

/** A Philox key and stream: the scalar arguments `key0 key1 stream tag` of the sampling kernels. */
export interface RandomStream {
  readonly key0: number;
  readonly key1: number;
  readonly stream: number;
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
