// The elementwise kernels and the reductions between kernels (fill, tile, sum_tiles, mean, count_nonfinite)
// on every backend, against float64 oracles and values the test places itself.
import { assertEquals } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import { assertClose, testRandom, uniformArray } from "./util.ts";
import type { Backend, DeviceBuffer } from "../mod.ts";
import { readF32 } from "./internals.ts";

forEachBackend("count_nonfinite counts NaN and ±∞ only, in the vector body and the tail", async (backend) => {
  const random = testRandom(41);
  // Finite values at the edges of the format must not count: the largest float, subnormals, ±0.
  const edge = [3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45, 0, -0];
  const special = [NaN, Infinity, -Infinity];
  const out = backend.alloc(8, "out");
  try {
    for (const length of [1, 3, 4, 7, 255, 256, 257, 1000, 4099]) {
      const x = uniformArray(random, length, -1e6, 1e6);
      for (let i = 0; i < Math.min(length, edge.length); i++) x[(i * 37) % length] = edge[i];
      let placed = 0;
      for (let i = 0; i < length; i += 1 + Math.floor(random() * 97)) {
        if (Number.isFinite(x[i])) placed++;
        x[i] = special[placed % 3];
      }
      if (length > 3) { // the last element lies in the scalar tail for lengths that are not multiples of 4
        if (Number.isFinite(x[length - 1])) placed++;
        x[length - 1] = NaN;
      }
      const buffer = backend.alloc(length, "x");
      backend.write(buffer, x);
      backend.run("count_nonfinite", [out, buffer], [length, 5]);
      backend.submit();
      const counts = await readF32(backend, out);
      assertEquals(counts[5], placed, `length ${length}`);
      assertEquals([...counts.subarray(0, 5), ...counts.subarray(6)], [0, 0, 0, 0, 0, 0, 0], "other slots");
      backend.free(buffer);
    }
  } finally {
    backend.free(out);
  }
});

/** A buffer of `length` elements holding `init`; the caller frees it. */
function buffer(backend: Backend, init: Float32Array, label: string): DeviceBuffer {
  const b = backend.alloc(init.length, label);
  backend.write(b, init);
  return b;
}

// Lengths around the 4-wide SIMD body of the WASM kernels: empty, tail only, body only, body and tail.
const LENGTHS = [0, 1, 3, 4, 7, 37, 1029];
// Every output buffer is longer than the kernel's extent by GUARD elements that must keep their value.
const GUARD = 5;

forEachBackend("fill writes the value into exactly count elements", async (backend) => {
  for (const count of LENGTHS) {
    const before = new Float32Array(count + GUARD).fill(123);
    const out = buffer(backend, before, "out");
    backend.run("fill", [out], [count, -2.75]);
    backend.submit();
    const expected = before.map((v, i) => (i < count ? -2.75 : v));
    assertEquals(await readF32(backend, out), expected, `count ${count}`);
    backend.free(out);
  }
});

forEachBackend("tile repeats x times times, and nothing past it", async (backend) => {
  const random = testRandom(42);
  for (const count of LENGTHS.filter((n) => n > 0)) {
    for (const times of [1, 3]) {
      const x = uniformArray(random, count);
      const before = uniformArray(random, count * times + GUARD, 10, 20);
      const [out, xb] = [buffer(backend, before, "out"), buffer(backend, x, "x")];
      backend.run("tile", [out, xb], [count, times]);
      backend.submit();
      const expected = before.map((v, e) => (e < count * times ? x[e % count] : v));
      assertEquals(await readF32(backend, out), expected, `count ${count} times ${times}`);
      assertEquals(await readF32(backend, xb), x, "x is an input");
      for (const b of [out, xb]) backend.free(b);
    }
  }
});

forEachBackend("sum_tiles writes scale·Σ_t x[t·count + i], summed in order t = 0, 1, …", async (backend) => {
  const random = testRandom(43);
  for (const count of LENGTHS.filter((n) => n > 0)) {
    for (const [times, scale] of [[1, 2.5], [3, 0.3], [8, -1 / 8]]) {
      const x = uniformArray(random, count * times);
      // The output starts non-zero: the sum is written, not accumulated.
      const before = uniformArray(random, count + GUARD, 10, 20);
      const [out, xb] = [buffer(backend, before, "out"), buffer(backend, x, "x")];
      backend.run("sum_tiles", [out, xb], [count, times, scale]);
      backend.submit();
      const got = await readF32(backend, out);
      const label = `count ${count} times ${times} scale ${scale}`;
      // Float64 oracle of the definition; docs/math.md §4.9 also fixes the order of the f32 additions, so the
      // same sums rounded to f32 step by step must agree to the bit (what makes the backends agree).
      const exact = new Float64Array(count), rounded = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        let acc = 0, acc32 = 0;
        for (let t = 0; t < times; t++) {
          acc += x[t * count + i];
          acc32 = Math.fround(acc32 + x[t * count + i]);
        }
        exact[i] = scale * acc;
        rounded[i] = acc32 * Math.fround(scale);
      }
      assertClose(got.subarray(0, count), exact, { atol: 1e-6, rtol: 1e-5, label });
      assertEquals(got.subarray(0, count), rounded, `${label}: f32 additions in order`);
      assertEquals(got.subarray(count), before.subarray(count), `${label}: past count`);
      for (const b of [out, xb]) backend.free(b);
    }
  }
});

forEachBackend("mean writes the mean of x[0..count) into slot index only", async (backend) => {
  const random = testRandom(44);
  const slots = 6;
  for (const count of [...LENGTHS, 4099]) {
    for (const offset of [0, 1000]) {
      // An offset of 1000 with ±1 spread needs an accumulator better than plain f32 (WASM sums in f64, WebGPU
      // with Kahan sums): 4,099 f32 additions near 4·10⁶ would lose digits the tolerance keeps.
      const x = uniformArray(random, count, offset - 1, offset + 1);
      const before = uniformArray(random, slots, 10, 20);
      const [out, xb] = [buffer(backend, before, "out"), buffer(backend, x, "x")];
      const index = count % slots;
      backend.run("mean", [out, xb], [count, index]);
      backend.submit();
      const got = await readF32(backend, out);
      const want = count === 0 ? 0 : x.reduce((a, b) => a + b, 0) / count;
      const label = `count ${count} offset ${offset}`;
      assertClose([got[index]], [want], { atol: 1e-7, rtol: 2e-7, label });
      assertEquals(
        got.filter((_, i) => i !== index),
        before.filter((_, i) => i !== index),
        `${label}: others`,
      );
      for (const b of [out, xb]) backend.free(b);
    }
  }
});

// Ill-conditioned: 2²⁵ then 19,999 ones. In f32, 2²⁵ + 1 rounds back to 2²⁵, so a plain f32 running sum (in
// any slice that starts with the large value) drops the ones that follow it; the f64 (WASM) and compensated
// (WebGPU) accumulators of docs/math.md §4.9 keep them, to within the rounding of the result. A shader compiler
// that reassociates would delete the compensation (it did on llvmpipe until the WGSL hid it behind an opaque
// zero); this test is what notices.
forEachBackend("mean keeps the ones after 2²⁵ (compensated or f64 accumulation)", async (b) => {
  const count = 20000;
  const x = new Float32Array(count).fill(1);
  x[0] = 2 ** 25;
  const [out, xb] = [buffer(b, new Float32Array(1), "out"), buffer(b, x, "x")];
  b.run("mean", [out, xb], [count, 0]);
  b.submit();
  assertClose(await readF32(b, out), [(2 ** 25 + count - 1) / count], { atol: 0, rtol: 2e-7, label: "mean" });
  for (const buf of [out, xb]) b.free(buf);
});
