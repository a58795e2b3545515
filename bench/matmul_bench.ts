// The matmul kernel on both WASM builds (plain SIMD is each group's baseline, relaxed SIMD uses fused
// multiply-add). At load it also prints GFLOP/s for the two bench shapes and for the products a linear
// layer's backward runs (A read as Aᵀ for dW = xᵀ·dy, matmul_bt for dx = dy·Wᵀ), best of interleaved rounds;
// then, for inputs with 50% and 70% zeros (pixels; binarised images), the time of linear_forward and of
// linear_backward's dW (which skip zeros from 9/16 on) over the dense matmul of the same product.
//
//   deno bench --allow-env bench/matmul_bench.ts
import type { DeviceBuffer } from "../src/backend.ts";
import type { KernelName } from "../src/kernels.ts";
import { WasmBackend } from "../src/wasm/backend.ts";

const VARIANTS = ["simd", "relaxed-simd"] as const;
const backends = {
  "simd": await WasmBackend.create("simd"),
  "relaxed-simd": await WasmBackend.create("relaxed-simd"),
};

interface Case {
  readonly label: string;
  readonly kernel: KernelName;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** A stored as Aᵀ (aRowStride 1, aColStride M). */
  readonly aTransposed?: boolean;
}

const BENCHED: Case[] = [
  { label: "matmul 512x784x100", kernel: "matmul", M: 512, K: 784, N: 100 },
  { label: "matmul 100x784x512", kernel: "matmul", M: 100, K: 784, N: 512 },
];
const REPORTED: Case[] = [
  ...BENCHED,
  {
    label: "matmul Aᵀ 784x100x512 (dW = xᵀ·dy)",
    kernel: "matmul",
    M: 784,
    K: 100,
    N: 512,
    aTransposed: true,
  },
  { label: "matmul_bt 100x512x784 (dx = dy·Wᵀ)", kernel: "matmul_bt", M: 100, K: 512, N: 784 },
];

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

/** Allocates C, A, B for a case on a backend and returns the launch. */
function prepare(backend: WasmBackend, c: Case): () => void {
  const next = random(c.M * 7 + c.K * 13 + c.N);
  const fill = (n: number, label: string): DeviceBuffer => {
    const buf = backend.alloc(n, label);
    backend.write(buf, Float32Array.from({ length: n }, next));
    return buf;
  };
  const buffers = [fill(c.M * c.N, "C"), fill(c.M * c.K, "A"), fill(c.K * c.N, "B")];
  const params = [c.M, c.K, c.N, c.aTransposed ? 1 : c.K, c.aTransposed ? c.M : 1, 0];
  return () => backend.run(c.kernel, buffers, params);
}

const launches = new Map<string, () => void>();
for (const c of REPORTED) for (const v of VARIANTS) launches.set(`${c.label} ${v}`, prepare(backends[v], c));

// GFLOP/s: rounds alternate the variants so that both see the same machine state; the best round counts.
for (const c of REPORTED) {
  const flops = 2 * c.M * c.K * c.N;
  const best: Record<string, number> = {};
  for (const v of VARIANTS) {
    const run = launches.get(`${c.label} ${v}`)!;
    for (let i = 0; i < 5; i++) run(); // warm-up (tier-up, caches)
    best[v] = Infinity;
  }
  for (let round = 0; round < 12; round++) {
    for (const v of VARIANTS) {
      const run = launches.get(`${c.label} ${v}`)!;
      const reps = 10;
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) run();
      best[v] = Math.min(best[v], (performance.now() - t0) / reps);
    }
  }
  for (const v of VARIANTS) console.log(`${c.label} ${v}: ${(flops / best[v] / 1e6).toFixed(1)} GFLOP/s`);
  console.log(`${c.label} relaxed-simd / simd: ${(best["simd"] / best["relaxed-simd"]).toFixed(2)}x`);
}

// Sparse inputs: linear_forward (x·W + b) and linear_backward with needDx = 0 (dW += xᵀ·dy, db) against
// the dense matmul of the same product on the same x, relaxed SIMD, best of interleaved rounds.
{
  const backend = backends["relaxed-simd"];
  const [batch, inDim, outDim] = [100, 784, 512];
  for (const zeros of [0.5, 0.7]) {
    const next = random(Math.round(zeros * 1000));
    const fill = (n: number, label: string, zeroFraction = 0): DeviceBuffer => {
      const buf = backend.alloc(n, label);
      backend.write(buf, Float32Array.from({ length: n }, () => (next() + 0.5 < zeroFraction ? 0 : next())));
      return buf;
    };
    const x = fill(batch * inDim, "x", zeros), w = fill(inDim * outDim, "w"), b = fill(outDim, "b");
    const out = fill(batch * outDim, "out"), dy = fill(batch * outDim, "dy"), dw = fill(inDim * outDim, "dw");
    const runs: Record<string, () => void> = {
      "dense x·W": () => backend.run("matmul", [out, x, w], [batch, inDim, outDim, inDim, 1, 0]),
      "linear_forward": () => backend.run("linear_forward", [out, x, w, b], [batch, inDim, outDim]),
      "dense xᵀ·dy": () => backend.run("matmul", [dw, x, dy], [inDim, batch, outDim, 1, inDim, 1]),
      "linear_backward dW": () =>
        backend.run("linear_backward", [x, dw, b, dy, x, w], [batch, inDim, outDim, 0]),
    };
    const best: Record<string, number> = {};
    for (const [name, run] of Object.entries(runs)) {
      for (let i = 0; i < 5; i++) run();
      best[name] = Infinity;
    }
    for (let round = 0; round < 12; round++) {
      for (const [name, run] of Object.entries(runs)) {
        const t0 = performance.now();
        for (let i = 0; i < 5; i++) run();
        best[name] = Math.min(best[name], (performance.now() - t0) / 5);
      }
    }
    const shape = `${batch}x${inDim}x${outDim}, x ${zeros * 100}% zeros`;
    console.log(
      `linear_forward / dense, ${shape}: ${(best["linear_forward"] / best["dense x·W"]).toFixed(2)}`,
    );
    console.log(
      `linear_backward dW / dense, ${shape}: ${
        (best["linear_backward dW"] / best["dense xᵀ·dy"]).toFixed(2)
      }`,
    );
    for (const buf of [x, w, b, out, dy, dw]) backend.free(buf);
  }
}

for (const c of BENCHED) {
  for (const v of VARIANTS) {
    Deno.bench({
      name: `${c.label} ${v}`,
      group: c.label,
      baseline: v === "simd",
      fn: launches.get(`${c.label} ${v}`)!,
    });
  }
}
