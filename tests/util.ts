// Small helpers shared by the tests: seeded inputs and tolerance checks that name the first mismatch.
import { AssertionError } from "@std/assert";

/** A seeded generator for test inputs (mulberry32): not the SDK's Philox, only test data. */
export function testRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [low, high). */
export function uniformArray(random: () => number, n: number, low = -1, high = 1): Float32Array {
  return Float32Array.from({ length: n }, () => low + (high - low) * random());
}

/** Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-6, rtol = 1e-5, label = "" }: { atol?: number; rtol?: number; label?: string } = {},
): void {
  if (actual.length !== expected.length) {
    throw new AssertionError(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const tolerance = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      throw new AssertionError(
        `${label}: index ${i}: ${actual[i]} vs expected ${expected[i]} (|diff| ${
          Math.abs(actual[i] - expected[i])
        } > ${tolerance})`,
      );
    }
  }
}

/** Row r (of width n) of a flat array, as numbers. */
export function row(values: ArrayLike<number>, r: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => values[r * n + i]);
}
