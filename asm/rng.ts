import { philoxBlock, streamWord, uniformFromWord, word0, word1, word2, word3 } from "./philox";

/** out[4b + l] = word l of Philox4x32-10(counter (ctr0 + b, ctr1, ctr2, ctr3), key (key0, key1)). */
export function philox_fill(
  out: usize, count: u32, key0: u32, key1: u32, ctr0: u32, ctr1: u32, ctr2: u32, ctr3: u32,
): void {
  for (let b: u32 = 0; (b << 2) < count; b++) {
    philoxBlock(ctr0 + b, ctr1, ctr2, ctr3, key0, key1);
    const i = b << 2;
    const p = out + (<usize>i << 2);
    store<u32>(p, word0);
    if (i + 1 < count) store<u32>(p, word1, 4);
    if (i + 2 < count) store<u32>(p, word2, 8);
    if (i + 3 < count) store<u32>(p, word3, 12);
  }
}

/** out[i] = low + (high − low)·u_i with u_i from word i of row 0 of stream (key0, key1, stream, tag). */
export function uniform_fill(
  out: usize, count: u32, low: f32, high: f32, key0: u32, key1: u32, stream: u32, tag: u32,
): void {
  const width = high - low;
  for (let i: u32 = 0; i < count; i++) {
    store<f32>(out + (<usize>i << 2), low + width * uniformFromWord(streamWord(i, 0, key0, key1, stream, tag)));
  }
}
