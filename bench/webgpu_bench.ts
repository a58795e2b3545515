// WebGPU against WASM in one process: the poly training step (docs/math.md §6.1 settings) at batch 64, 512 and 4096,
// GPU round trips (awaited read-backs) per step, and a matmul sweep. Prints a table with the WebGPU/WASM
// ratio; without a WebGPU adapter it says so and measures nothing. On a software adapter (llvmpipe,
// SwiftShader) WebGPU is expected to be slower than WASM; the numbers that matter come from a real GPU.
//
//   deno bench --allow-env bench/webgpu_bench.ts      (part of `deno task bench`)
import type { Backend, DeviceBuffer } from "../src/backend.ts";
import { PolyProgramming } from "../src/models/poly.ts";
import { WasmBackend } from "../src/wasm/backend.ts";
import { WebGpuBackend } from "../src/webgpu/backend.ts";

const READ_EVERY = 50;

/** Wraps backend.read to count awaited read-backs, the only GPU round trips a training loop makes. */
function countReads(backend: Backend): { readonly count: number } {
  const counter = { count: 0 };
  const read = backend.read.bind(backend);
  backend.read = (buffer: DeviceBuffer) => {
    counter.count++;
    return read(buffer);
  };
  return counter;
}

/** ms per poly step over `steps` steps, reading the losses back every READ_EVERY steps as trainPoly does. */
async function polyStep(
  backend: Backend,
  batch: number,
  steps: number,
): Promise<{ ms: number; trips: number }> {
  const task = new PolyProgramming(backend, { batch, readEvery: READ_EVERY, seed: 1 });
  const run = async (n: number) => {
    for (let s = 0; s < n; s++) {
      task.step();
      if (task.pendingLosses === READ_EVERY) await task.readLosses();
    }
    await task.readLosses(); // drain, so the timing covers all the GPU work
  };
  await run(READ_EVERY); // warm-up: pipelines, staging buffers, JIT
  const reads = countReads(backend);
  const start = performance.now();
  await run(steps);
  const ms = (performance.now() - start) / steps;
  task.destroy();
  return { ms, trips: reads.count / steps };
}

/** GFLOP/s of C = A·B (M×K·K×N) over `repeats` launches and one read-back. */
async function matmul(backend: Backend, M: number, K: number, N: number, repeats: number): Promise<number> {
  const a = backend.alloc(M * K, "A"), b = backend.alloc(K * N, "B"), c = backend.alloc(M * N, "C");
  backend.write(a, Float32Array.from({ length: M * K }, (_, i) => ((i * 7) % 13) / 13 - 0.5));
  backend.write(b, Float32Array.from({ length: K * N }, (_, i) => ((i * 5) % 11) / 11 - 0.5));
  const launch = () => backend.run("matmul", [c, a, b], [M, K, N, K, 1, 0]);
  launch();
  await backend.read(c);
  const start = performance.now();
  for (let r = 0; r < repeats; r++) launch();
  backend.submit();
  await backend.read(c);
  const seconds = (performance.now() - start) / 1000;
  for (const x of [a, b, c]) backend.free(x);
  return (2 * M * K * N * repeats) / seconds / 1e9;
}

let gpu: WebGpuBackend | undefined;
try {
  gpu = await WebGpuBackend.create();
} catch (e) {
  console.log(`webgpu bench skipped: ${(e as Error).message}`);
}

if (gpu) {
  const wasm = await WasmBackend.create();
  console.log(`webgpu: ${gpu.details}`);
  console.log(`wasm:   ${wasm.details}`);
  console.log("poly step (L=128, reinmax, Adam), reads every 50 steps");
  console.log("  batch   wasm ms/step   webgpu ms/step   webgpu/wasm   GPU round trips/step");
  for (const batch of [64, 512, 4096]) {
    const steps = batch === 4096 ? 100 : 200;
    const w = await polyStep(wasm, batch, steps);
    const g = await polyStep(gpu, batch, steps);
    console.log(
      `  ${String(batch).padStart(5)}   ${w.ms.toFixed(3).padStart(12)}   ${
        g.ms.toFixed(3).padStart(14)
      }   ` +
        `${(g.ms / w.ms).toFixed(2).padStart(11)}   ${g.trips.toFixed(3).padStart(20)}`,
    );
  }
  console.log("matmul C = A·B, GFLOP/s");
  console.log("  M×K×N              wasm     webgpu   webgpu/wasm");
  for (const [M, K, N] of [[100, 784, 512], [512, 784, 100], [256, 256, 256], [1024, 1024, 1024]]) {
    const repeats = M * K * N > 1e8 ? 3 : 10;
    const w = await matmul(wasm, M, K, N, repeats);
    const g = await matmul(gpu, M, K, N, repeats);
    console.log(
      `  ${`${M}x${K}x${N}`.padEnd(16)} ${w.toFixed(1).padStart(7)} ${g.toFixed(1).padStart(10)} ` +
        `${(g / w).toFixed(2).padStart(13)}`,
    );
  }

  // Deno.bench's own table: one read-back window (50 steps, one read) per iteration at batch 512.
  for (const [name, backend] of [["wasm", wasm], ["webgpu", gpu]] as const) {
    const task = new PolyProgramming(backend, { batch: 512, readEvery: READ_EVERY, seed: 2 });
    Deno.bench({
      name: `poly 50 steps + 1 read, batch 512 [${name}]`,
      group: "poly read window",
      baseline: name === "wasm",
      fn: async () => {
        for (let s = 0; s < READ_EVERY; s++) task.step();
        await task.readLosses();
      },
    });
  }
} else {
  Deno.bench({ name: "webgpu bench skipped (no adapter)", ignore: true, fn: () => {} });
}
