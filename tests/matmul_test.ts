// matmul (C = or += A·B with a strided A) and matmul_bt (A·Bᵀ) on every backend and on both WASM builds,
// against the float64 oracle: shapes with row, column and K-block tails, row-major / transposed / strided A,
// accumulate on and off. Also: the layouts of the same product agree bit for bit, and nothing outside C is
// written.
import { assertEquals } from "@std/assert";
import { forEachBackend } from "./backends.ts";
import * as ref from "./reference/layers.ts";
import { assertClose, runKernel, testRandom, uniformArray } from "./util.ts";
import type { Backend } from "../mod.ts";
import { WasmBackend } from "./internals.ts";

type Product = "matmul" | "matmul_bt";

/** Runs one product; returns C. runKernel asserts that A, B and a sentinel allocated after them are unchanged. */
async function product(
  backend: Backend,
  kernel: Product,
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  params: readonly number[],
): Promise<Float32Array> {
  return (await runKernel(backend, kernel, [c, a, b], params))[0];
}

/** A laid out for an M×K operand: its storage and (aRowStride, aColStride). */
function layoutA(
  random: () => number,
  layout: "row-major" | "transposed" | "strided",
  M: number,
  K: number,
): { a: Float32Array; rs: number; cs: number } {
  switch (layout) {
    case "row-major":
      return { a: uniformArray(random, M * K), rs: K, cs: 1 };
    case "transposed": // A stored as Aᵀ (K×M), as in dW = xᵀ·dy
      return { a: uniformArray(random, K * M), rs: 1, cs: M };
    case "strided": { // every other column of a wider matrix with padded rows
      const rs = 2 * K + 3, cs = 2;
      return { a: uniformArray(random, (M - 1) * rs + (K - 1) * cs + 1), rs, cs };
    }
  }
}

// Row tails (MR is 6 or 5), column tails (N % 8, N % 4), K blocks (KC = 512), and the benchmark shapes.
const SHAPES = [
  [1, 1, 1],
  [2, 3, 5],
  [5, 7, 3],
  [6, 8, 8],
  [7, 9, 13],
  [11, 4, 16],
  [13, 17, 30],
  [12, 33, 12],
  [31, 600, 9],
  [17, 1100, 21],
  [64, 784, 100],
  [30, 100, 64],
];
const LAYOUTS = ["row-major", "transposed", "strided"] as const;

// The build the registry did not pick (the plain SIMD build, which has a different micro-kernel, where
// relaxed SIMD is available) runs every test too.
let otherVariant: Promise<WasmBackend> | undefined;
function forEachBuild(name: string, body: (backend: Backend) => Promise<void>): void {
  forEachBackend(name, body);
  Deno.test(`${name} [wasm simd build]`, async () => {
    otherVariant ??= WasmBackend.create("simd");
    await body(await otherVariant);
  });
}

for (const kernel of ["matmul", "matmul_bt"] as const) {
  forEachBuild(
    `${kernel} matches the oracle for every shape, A layout and accumulate mode`,
    async (backend) => {
      const random = testRandom(kernel === "matmul" ? 1 : 2);
      for (const [M, K, N] of SHAPES) {
        for (const layout of LAYOUTS) {
          const { a, rs, cs } = layoutA(random, layout, M, K);
          const b = uniformArray(random, K * N); // K×N for matmul, N×K for matmul_bt
          for (const accumulate of [0, 1]) {
            const c0 = uniformArray(random, M * N);
            const params = [M, K, N, rs, cs, accumulate];
            const got = await product(backend, kernel, c0, a, b, params);
            const want = Float64Array.from(c0);
            ref[kernel](want, Float64Array.from(a), Float64Array.from(b), M, K, N, rs, cs, accumulate);
            // Entries are sums of K products of size ≤ 1 (+ C): f32 rounding grows with K.
            assertClose(got, want, {
              atol: 2e-7 * (K + 1),
              rtol: 1e-6,
              label: `${kernel} ${M}x${K}x${N} ${layout} accumulate=${accumulate}`,
            });
          }
        }
      }
    },
  );
}

forEachBuild("matmul layouts of the same product agree bit for bit", async (backend) => {
  const random = testRandom(3);
  for (const [M, K, N] of [[7, 9, 13], [13, 600, 30], [64, 784, 100]]) {
    const a = uniformArray(random, M * K);
    const aT = new Float32Array(K * M);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) aT[k * M + i] = a[i * K + k];
    const b = uniformArray(random, K * N);
    const bT = new Float32Array(N * K);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) bT[j * K + k] = b[k * N + j];
    const c = new Float32Array(M * N);
    const plain = await product(backend, "matmul", c, a, b, [M, K, N, K, 1, 0]);
    assertEquals(await product(backend, "matmul", c, aT, b, [M, K, N, 1, M, 0]), plain, "A given as Aᵀ");
    assertEquals(await product(backend, "matmul_bt", c, a, bT, [M, K, N, K, 1, 0]), plain, "B given as Bᵀ");
    // Accumulating onto C0 equals C0 + (A·B) rounded once more per K block, so compare with a tolerance.
    const c0 = uniformArray(random, M * N);
    const acc = await product(backend, "matmul", c0, a, b, [M, K, N, K, 1, 1]);
    assertClose(acc, plain.map((v, i) => v + c0[i]), { atol: 1e-6 * (K + 1), rtol: 1e-6, label: "C0 + A·B" });
  }
});

forEachBuild("matmul with K = 0 writes zeros, or leaves C when accumulating", async (backend) => {
  for (const kernel of ["matmul", "matmul_bt"] as const) {
    const c0 = Float32Array.from({ length: 15 }, (_, i) => i + 1);
    const a = new Float32Array(1), b = new Float32Array(1);
    assertEquals(await product(backend, kernel, c0, a, b, [3, 0, 5, 0, 1, 0]), new Float32Array(15));
    assertEquals(await product(backend, kernel, c0, a, b, [3, 0, 5, 0, 1, 1]), c0);
  }
});
