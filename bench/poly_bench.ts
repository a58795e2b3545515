// Poly step time (L = 128, docs/math.md §6.1 settings) per estimator at batch 64 and 512 on the WASM backend,
// and each estimator's ratio to ST measured in this process, the estimators interleaved round by round so that
// drift in machine speed hits all alike. Run: deno task bench, or only the ratios:
//   deno bench --allow-env --filter NONE bench/poly_bench.ts
import { estimator, type EstimatorName } from "../src/estimators.ts";
import { PolyProgramming } from "../src/models/poly.ts";
import { WasmBackend } from "../src/wasm/backend.ts";

const backend = await WasmBackend.create();
const ESTIMATORS: [EstimatorName, number][] = [["st", 1], ["reinmax", 1], ["stgs", 0.5], ["gst", 0.5], [
  "grmck",
  0.5,
]];
const BATCHES = [64, 512];

function task(name: EstimatorName, tau: number, batch: number) {
  return new PolyProgramming(backend, {
    latents: 128,
    estimator: estimator(name, { tau, k: 10 }),
    batch,
    readEvery: 1 << 16,
  });
}

for (const batch of BATCHES) {
  for (const [name, tau] of ESTIMATORS) {
    const t = task(name, tau, batch);
    Deno.bench({
      name: `poly step ${name} batch ${batch}`,
      group: `poly batch ${batch}`,
      baseline: name === "st",
      fn: () => {
        t.step();
        if (t.pendingLosses === t.readEvery) t.readLosses();
      },
    });
  }
}

function msPerStep(t: PolyProgramming, steps: number): number {
  const start = performance.now();
  for (let i = 0; i < steps; i++) t.step();
  void t.readLosses();
  return (performance.now() - start) / steps;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fastest = (xs: number[]) => Math.min(...xs);

// Medians, and the fastest round (the least disturbed by other work on a shared machine), with their ratios.
for (const batch of BATCHES) {
  const tasks = ESTIMATORS.map(([name, tau]) => ({ name, t: task(name, tau, batch), times: [] as number[] }));
  const steps = batch === 64 ? 400 : 60;
  for (const x of tasks) msPerStep(x.t, steps); // warm-up
  for (let round = 0; round < 15; round++) for (const x of tasks) x.times.push(msPerStep(x.t, steps));
  const st = tasks[0];
  for (const x of tasks) {
    const [med, min] = [median(x.times), fastest(x.times)];
    console.log(
      `poly L=128 batch ${batch} ${x.name.padEnd(7)} median ${med.toFixed(4)} ms/step ` +
        `(${(med / median(st.times)).toFixed(3)} × st), fastest ${min.toFixed(4)} ms/step ` +
        `(${(min / fastest(st.times)).toFixed(3)} × st)`,
    );
    x.t.destroy();
  }
}
