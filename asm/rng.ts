import {
  blockWord0, blockWord1, blockWord2, blockWord3, philoxBlock, philoxBlock4, streamWord, uniformFromWord, word0, word1,
  word2, word3,
} from "./philox";

/** out[4b + l] = word l of Philox4x32-10(counter (ctr0 + b, ctr1, ctr2, ctr3), key (key0, key1)). */
export function philox_fill(
  out: usize, count: u32, key0: u32, key1: u32, ctr0: u32, ctr1: u32, ctr2: u32, ctr3: u32,
): void {
  const blocks = (count + 3) >> 2;
  let b: u32 = 0;
  // Four blocks per call of philoxBlock4 (lane l = block b + l), transposed to the blocks' word order.
  for (; b + 4 <= count >> 2; b += 4) {
    philoxBlock4(
      i32x4.add(i32x4.splat(ctr0 + b), i32x4(0, 1, 2, 3)), i32x4.splat(ctr1), i32x4.splat(ctr2), i32x4.splat(ctr3),
      key0, key1,
    );
    const w01lo = v128.shuffle<u32>(blockWord0, blockWord1, 0, 4, 1, 5); // block 0: words 0, 1; block 1: 0, 1
    const w23lo = v128.shuffle<u32>(blockWord2, blockWord3, 0, 4, 1, 5);
    const w01hi = v128.shuffle<u32>(blockWord0, blockWord1, 2, 6, 3, 7);
    const w23hi = v128.shuffle<u32>(blockWord2, blockWord3, 2, 6, 3, 7);
    const p = out + (<usize>b << 4);
    v128.store(p, v128.shuffle<u64>(w01lo, w23lo, 0, 2));
    v128.store(p, v128.shuffle<u64>(w01lo, w23lo, 1, 3), 16);
    v128.store(p, v128.shuffle<u64>(w01hi, w23hi, 0, 2), 32);
    v128.store(p, v128.shuffle<u64>(w01hi, w23hi, 1, 3), 48);
  }
  for (; b < blocks; b++) {
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
