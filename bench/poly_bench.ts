// Poly step time per estimator (docs/math.md §6.1 settings) at batch 64 and 512 on the WASM backend, and the
// ReinMax/ST ratio measured in this process. Run: deno task bench
import { estimator, type EstimatorName } from "../src/estimators.ts";
import { PolyProgramming } from "../src/models/poly.ts";
import { WasmBackend } from "../src/wasm/backend.ts";

const backend = await WasmBackend.create();
const ESTIMATORS: [EstimatorName, number][] = [["st", 1], ["reinmax", 1], ["stgs", 0.5], ["gst", 0.5], [
  "grmck",
  0.5,
]];

function task(name: EstimatorName, tau: number, batch: number) {
  return new PolyProgramming(backend, {
    estimator: estimator(name, { tau, k: 10 }),
    batch,
    readEvery: 1 << 16,
  });
}

for (const batch of [64, 512]) {
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

// The ReinMax/ST ratio, interleaving the two so drift in machine speed hits both alike.
function msPerStep(t: PolyProgramming, steps: number): number {
  const start = performance.now();
  for (let i = 0; i < steps; i++) t.step();
  void t.readLosses();
  return (performance.now() - start) / steps;
}
for (const batch of [64, 512]) {
  const reinmax = task("reinmax", 1, batch), st = task("st", 1, batch);
  const steps = batch === 64 ? 200 : 40;
  msPerStep(reinmax, steps);
  msPerStep(st, steps);
  let r = 0, s = 0;
  for (let round = 0; round < 10; round++) {
    r += msPerStep(reinmax, steps);
    s += msPerStep(st, steps);
  }
  console.log(
    `poly batch ${batch}: reinmax ${(r / 10).toFixed(3)} ms/step, st ${(s / 10).toFixed(3)} ms/step, ` +
      `reinmax/st = ${(r / s).toFixed(3)}`,
  );
  reinmax.destroy();
  st.destroy();
}
