// The vector maths (asm/vmath.ts, shaders/math.wgsl; docs/math.md §4.12) against float64 over the whole f32 range
// each function is used on, through the vmath_apply kernel on every backend: the error bounds the docs state,
// the special values, and (WASM against WebGPU) every function bit for bit, exp above all, on which the samplers'
// agreement rests.
import { assert, assertEquals } from "@std/assert";
import { BACKENDS, forEachBackend } from "./backends.ts";
import { testRandom } from "./util.ts";
import type { Backend } from "../mod.ts";
import { readF32 } from "./internals.ts";

const EXP = 0, LOG = 1, LOG1P = 2, SIGMOID = 3, TANH = 4;

async function apply(backend: Backend, which: number, x: Float32Array): Promise<Float32Array> {
  const [inBuf, outBuf] = [backend.alloc(x.length, "x"), backend.alloc(x.length, "out")];
  try {
    backend.write(inBuf, x);
    backend.run("vmath_apply", [outBuf, inBuf], [x.length, which]);
    backend.submit();
    return await readF32(backend, outBuf);
  } finally {
    backend.free(inBuf);
    backend.free(outBuf);
  }
}

/** The spacing of f32 values at |y| (2^−149 in the subnormal range). */
function ulp(y: number): number {
  const a = Math.abs(y);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** The largest error in ulps of the exact value over finite exact values; returns it and where. */
function maxUlpError(x: Float32Array, got: Float32Array, exact: (x: number) => number): [number, number] {
  let worst = 0, at = NaN;
  for (let i = 0; i < x.length; i++) {
    const want = exact(x[i]);
    if (!Number.isFinite(want) || Math.abs(want) > 3.4028234663852886e38) continue;
    const e = Math.abs(got[i] - want) / ulp(want);
    if (!(e <= worst)) [worst, at] = [e, x[i]];
  }
  return [worst, at];
}

/** n values spread evenly in [low, high] and n more uniformly at random, as f32. */
function grid(low: number, high: number, n: number, seed: number): Float32Array {
  const random = testRandom(seed);
  return Float32Array.from(
    { length: 2 * n },
    (_, i) => i < n ? low + (high - low) * i / (n - 1) : low + (high - low) * random(),
  );
}

/** Every binade of positive f32 (subnormals included), n random mantissas in each. */
function binades(n: number, seed: number): Float32Array {
  const random = testRandom(seed);
  const bits = new Uint32Array(254 * n);
  for (let e = 0; e < 254; e++) {
    for (let j = 0; j < n; j++) bits[e * n + j] = (e << 23) | Math.floor(random() * 0x800000);
  }
  return new Float32Array(bits.buffer);
}

const sigmoid = (x: number) => x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));

forEachBackend(
  "vmath exp: within 1.5 ulp of float64 on [−87.3, 88.7], subnormal results to 2^−149",
  async (backend) => {
    const x = grid(-87.33, 88.72, 40000, 1);
    const [err, at] = maxUlpError(x, await apply(backend, EXP, x), Math.exp);
    assert(err <= 1.5, `exp: ${err.toFixed(2)} ulp at ${at}`);
    // Results below 2^−126 are subnormal: an absolute error of one subnormal spacing.
    const tiny = grid(-103.9, -87.34, 4000, 2);
    const [tinyErr, tinyAt] = maxUlpError(tiny, await apply(backend, EXP, tiny), Math.exp);
    assert(tinyErr <= 1, `exp: ${tinyErr.toFixed(2)} × 2^−149 at ${tinyAt}`);
    // The overflow threshold (e^88.7228 ≈ 3.4e38 is finite), 0 below −104, NaN through.
    const special = Float32Array.from([0, -0, 88.7228, 88.73, 200, Infinity, -104.5, -1e30, -Infinity, NaN]);
    const got = await apply(backend, EXP, special);
    assertEquals([...got.subarray(0, 2)], [1, 1]);
    assert(
      Math.abs(got[2] - Math.exp(special[2])) <= 2 * ulp(Math.exp(special[2])),
      `exp(88.7228) = ${got[2]}`,
    );
    assertEquals([...got.subarray(3)], [Infinity, Infinity, Infinity, 0, 0, 0, NaN]);
  },
);

forEachBackend(
  "vmath log: within 1.5 ulp of float64 in every binade, subnormals included",
  async (backend) => {
    const x = binades(64, 3);
    const [err, at] = maxUlpError(x, await apply(backend, LOG, x), Math.log);
    assert(err <= 1.5, `log: ${err.toFixed(2)} ulp at ${at}`);
    // Near 1, where log x is small, the error is still relative.
    const near1 = grid(0.9, 1.1, 20000, 4);
    const [err1, at1] = maxUlpError(near1, await apply(backend, LOG, near1), Math.log);
    assert(err1 <= 1.5, `log near 1: ${err1.toFixed(2)} ulp at ${at1}`);
    const special = Float32Array.from([1, 0, -0, Infinity, -1, -Infinity, NaN]);
    assertEquals([...await apply(backend, LOG, special)], [0, -Infinity, -Infinity, Infinity, NaN, NaN, NaN]);
  },
);

forEachBackend("vmath log1p: within 2 ulp of float64 for u > −1, u itself for tiny u", async (backend) => {
  const x = Float32Array.from([
    ...grid(-0.999, 1, 20000, 5),
    ...grid(1, 1e6, 2000, 6),
    ...binades(8, 7).filter((v) => v < 1e-3),
    ...binades(8, 8).filter((v) => v < 0.5).map((v) => -v),
  ]);
  const [err, at] = maxUlpError(x, await apply(backend, LOG1P, x), Math.log1p);
  assert(err <= 2, `log1p: ${err.toFixed(2)} ulp at ${at}`);
  const special = Float32Array.from([0, -1, -2, Infinity, NaN]);
  assertEquals([...await apply(backend, LOG1P, special)], [0, -Infinity, NaN, Infinity, NaN]);
});

forEachBackend("vmath sigmoid: within 3 ulp of float64 for every finite x, never NaN", async (backend) => {
  const x = Float32Array.from([...grid(-100, 100, 40000, 9), ...grid(-1e-3, 1e-3, 2000, 10)]);
  const got = await apply(backend, SIGMOID, x);
  const [err, at] = maxUlpError(x, got, sigmoid);
  assert(err <= 3, `sigmoid: ${err.toFixed(2)} ulp at ${at}`);
  const special = Float32Array.from([0, 1e30, -1e30, Infinity, -Infinity]);
  assertEquals([...await apply(backend, SIGMOID, special)], [0.5, 1, 0, 1, 0]);
});

forEachBackend(
  "vmath tanh: within 1.5 ulp of float64 for every x, odd, ±1 when saturated, never NaN",
  async (backend) => {
    // Everywhere up to saturation, densely around the switch to exp at 0.75, and every binade of small |x|
    // (subnormals included), where tanh x ≈ x must keep its relative accuracy.
    const positive = [
      ...grid(0, 10, 40000, 17),
      ...grid(0.7, 0.8, 10000, 18),
      ...binades(16, 19).filter((v) => v < 1),
    ];
    const x = Float32Array.from([...positive, ...positive.map((v) => -v)]);
    const got = await apply(backend, TANH, x);
    const [err, at] = maxUlpError(x, got, Math.tanh);
    assert(err <= 1.5, `tanh: ${err.toFixed(2)} ulp at ${at}`);
    got.forEach((v, i) => {
      if (i < positive.length) {
        assert(Object.is(got[i + positive.length], -v), `tanh(−${x[i]}) = −tanh(${x[i]})`);
      }
    });
    const special = Float32Array.from([0, -0, 9.1, 44.4, 89, 1e30, -1e30, Infinity, -Infinity, NaN]);
    assertEquals([...await apply(backend, TANH, special)], [0, -0, 1, 1, 1, 1, -1, 1, -1, NaN]);
  },
);

const wasm = BACKENDS.get("wasm"), gpu = BACKENDS.get("webgpu");
Deno.test({
  name: "vmath on WASM: the scalar exp and log (a kernel's tail, the row kernels) equal the vector lanes",
  ignore: typeof wasm !== "object",
  fn: async () => {
    const backend = wasm as Backend;
    const special = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1, 88.73, -104.5];
    for (const [which, x] of [[EXP, grid(-110, 90, 1500, 15)], [LOG, binades(6, 16)]] as const) {
      const values = Float32Array.from(
        [...x, ...special, 0, 0, 0].slice(0, 3 * Math.floor((x.length + 9) / 3)),
      );
      const vector = await apply(backend, which, values.subarray(0, values.length & ~3));
      for (let i = 0; i + 3 <= vector.length; i += 3) {
        // Three elements: no full vector, so all three go through the scalar twin.
        const scalar = await apply(backend, which, values.slice(i, i + 3));
        for (let j = 0; j < 3; j++) {
          assert(Object.is(scalar[j], vector[i + j]), `${which === EXP ? "exp" : "log"}(${values[i + j]})`);
        }
      }
    }
  },
});
Deno.test({
  name:
    "vmath: WASM and WebGPU give the same bits for exp (the samplers compare its sums), log, log1p, σ, tanh",
  ignore: typeof wasm !== "object" || typeof gpu !== "object",
  fn: async () => {
    const cases: [number, string, Float32Array][] = [
      [EXP, "exp", grid(-104, 89, 50000, 11)],
      [LOG, "log", binades(64, 12)],
      [LOG1P, "log1p", grid(-0.999, 10, 20000, 13)],
      [SIGMOID, "sigmoid", grid(-60, 60, 20000, 14)],
      [
        TANH,
        "tanh",
        Float32Array.from([...grid(-12, 12, 20000, 20), ...binades(8, 21).map((v, i) => i % 2 ? -v : v)]),
      ],
    ];
    for (const [which, name, x] of cases) {
      const a = await apply(wasm as Backend, which, x), b = await apply(gpu as Backend, which, x);
      const differ = x.filter((_, i) => !Object.is(a[i], b[i])).length;
      assertEquals(differ, 0, `${name}: ${differ} of ${x.length} values differ`);
    }
  },
});
