// The order of the training data: a fresh permutation every epoch, drawn on the host from the seed's own
// Philox stream (tag `data`, stream = epoch), so a run's data order depends on nothing but (seed, epoch).
import { philoxBlock, seedKey, TAG } from "../random.ts";
import { requireInteger } from "../validate.ts";

/**
 * A permutation of 0..count−1 for `epoch` (an integer in [0, 2^32)) by Fisher–Yates, swap partner
 * j = ⌊w·(i + 1)/2^32⌋ from word w of the stream. (That map is uneven by at most count/2^32 — below 2·10⁻⁵ for
 * 60,000 images — which no training run can notice.)
 */
export function shuffledIndices(count: number, seed: number, epoch: number): Uint32Array {
  requireInteger("count", count, 0, 2 ** 32 - 1);
  requireInteger("epoch", epoch, 0, 2 ** 32 - 1);
  const [k0, k1] = seedKey(seed);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const words = new Uint32Array(4);
  for (let i = count - 1, w = 0; i > 0; i--, w++) {
    if ((w & 3) === 0) philoxBlock(words, w >>> 2, 0, epoch, TAG.data, k0, k1);
    const j = Math.floor((words[w & 3] * (i + 1)) / 2 ** 32);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
