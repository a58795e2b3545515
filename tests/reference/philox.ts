// Philox4x32-10 in plain TypeScript: the test oracle for asm/philox.ts and shaders/philox.wgsl.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** 32×32 → 64-bit product as [hi, lo], exact in doubles by splitting into 16-bit halves. */
function mulhilo(a: number, b: number): [number, number] {
  const aHi = a >>> 16, aLo = a & 0xffff;
  const bHi = b >>> 16, bLo = b & 0xffff;
  const lolo = aLo * bLo;
  const mid1 = aHi * bLo;
  const mid2 = aLo * bHi;
  const hihi = aHi * bHi;
  const midSum = (lolo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff);
  const lo = ((midSum & 0xffff) * 0x10000 + (lolo & 0xffff)) >>> 0;
  const hi = (hihi + (mid1 >>> 16) + (mid2 >>> 16) + Math.floor(midSum / 0x10000)) >>> 0;
  return [hi, lo];
}

/** One Philox4x32-10 block: four u32 words for counter `ctr` and key `key`. */
export function philox4x32(ctr: readonly number[], key: readonly number[]): [number, number, number, number] {
  let [c0, c1, c2, c3] = ctr.map((x) => x >>> 0);
  let [k0, k1] = key.map((x) => x >>> 0);
  for (let round = 0; round < 10; round++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** Word `w` of a row's stream, as the kernels address it: counter (w/4, row, stream, tag), lane w%4. */
export function streamWord(
  w: number,
  row: number,
  key: readonly number[],
  stream: number,
  tag: number,
): number {
  return philox4x32([Math.floor(w / 4), row, stream, tag], key)[w % 4];
}

/** The uniform in [0, 1) the kernels derive from a word. */
export function uniformFromWord(w: number): number {
  return (w >>> 8) * 2 ** -24;
}

/** The standard exponential the kernels derive from a word (computed in float64 here). */
export function exponentialFromWord(w: number): number {
  return -Math.log(((w >>> 9) + 0.5) * 2 ** -23);
}
