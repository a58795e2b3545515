// The cost of a training step of each score-function estimator relative to ReinMax at the same K: the
// built-in BernoulliVae 2×200 (784 pixels, 200 latents, batch 100, dynamic binarisation) with Table 6's Adam
// 3e-4, at K = 2 and K = 3 codes per image, on WASM and, where an adapter exists, WebGPU. Its prior is
// learned where Table 6's is fixed: 200 parameters more, beside matrix products of millions of multiply-adds.
// An estimator appears at a K only if its row allows that K (DisARM: K = 2 only). Images are synthetic: a
// step's cost does not depend on the pixels.
//
// Two measurements of the same models. First a Markdown table of interleaved rounds (every estimator of a
// group steps in turn, round after round, so drift in machine speed hits all alike): median ms per step, and
// the ratio to ReinMax of the medians and of the fastest rounds. Then Deno.bench's own table, one group per
// (backend, K) with ReinMax as its baseline, so its summary gives each estimator as "× slower/faster than
// ReinMax" (an iteration, "×5", is 5 steps and one read-back). Deno.bench runs the benchmarks one after
// another, so on a busy machine the interleaved ratios are the ones to trust.
//
//   deno bench --allow-env bench/score_estimators_bench.ts      (part of `deno task bench`)
//   deno bench --allow-env --filter NONE bench/score_estimators_bench.ts      (the interleaved table only)
import type { Backend } from "../src/backend.ts";
import {
  estimator,
  type EstimatorName,
  ESTIMATORS,
  SCORE_ESTIMATOR_NAMES,
  takesEvaluations,
} from "../src/estimators.ts";
import { BERNOULLI_VAE_SETTINGS, BernoulliVae } from "../src/models/bernoulli_vae.ts";
import { adam } from "../src/optim.ts";
import { WasmBackend } from "../src/wasm/backend.ts";
import { WebGpuBackend } from "../src/webgpu/backend.ts";

// K = 1 is RELAX's: one code per image, scored three times (at the code and at its two relaxations).
const BATCH = 100, PIXELS = 784, EVALUATIONS = [1, 2, 3];
/** ReinMax first: the baseline of every group. */
const NAMES: readonly EstimatorName[] = ["reinmax", ...SCORE_ESTIMATOR_NAMES];

const backends: Backend[] = [await WasmBackend.create()];
try {
  backends.push(await WebGpuBackend.create());
} catch (e) {
  console.log(`webgpu: not measured (${(e as Error).message})`);
}

const images = Float32Array.from({ length: BATCH * PIXELS }, (_, i) => ((i * 7919) % 256) / 255);

/** `steps` training steps and one awaited read-back, so a GPU's queue is drained inside the timing. */
async function steps(model: BernoulliVae, count: number): Promise<void> {
  for (let s = 0; s < count; s++) model.step(images);
  await model.readLosses();
}

async function msPerStep(model: BernoulliVae, count: number): Promise<number> {
  const start = performance.now();
  await steps(model, count);
  return (performance.now() - start) / count;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const rows: string[] = [];
for (const backend of backends) {
  // A software GPU (llvmpipe, SwiftShader) is far slower than WASM: fewer steps keep the bench short.
  const slow = backend.name === "webgpu" && /fallback|llvmpipe|swiftshader/i.test(backend.details);
  const [rounds, stepsPerRound] = slow ? [2, 1] : [9, 5];
  for (const evaluations of EVALUATIONS) {
    const group = NAMES.filter((name) => takesEvaluations(name, evaluations)).map((name) => ({
      name,
      model: new BernoulliVae(backend, {
        inputSize: PIXELS,
        batch: BATCH,
        evaluations,
        // ReinMax at the paper's τ for this model; the score-function estimators have no τ.
        estimator: estimator(name, name === "reinmax" ? { tau: BERNOULLI_VAE_SETTINGS.tau } : {}),
        optimizer: adam({ lr: 3e-4 }),
        readEvery: stepsPerRound,
      }),
      times: [] as number[],
    }));
    for (const g of group) await msPerStep(g.model, stepsPerRound); // warm-up: pipelines, staging, JIT
    for (let round = 0; round < rounds; round++) {
      for (const g of group) g.times.push(await msPerStep(g.model, stepsPerRound));
    }
    const reinmax = group[0];
    for (const g of group) {
      const ms = median(g.times), title = ESTIMATORS[g.name].title;
      const ratio = ms / median(reinmax.times), fastest = Math.min(...g.times) / Math.min(...reinmax.times);
      rows.push(
        `| ${backend.name} | ${evaluations} | ${title} | ${ms.toFixed(2)} | ${ratio.toFixed(2)} | ` +
          `${fastest.toFixed(2)} |`,
      );
      Deno.bench({
        name: `${title} K=${evaluations} [${backend.name}] ×${stepsPerRound}`,
        group: `Bernoulli 2×200 K=${evaluations} [${backend.name}]`,
        baseline: g.name === "reinmax",
        warmup: 1,
        n: rounds * 2,
        // Declared async: Deno.bench awaits only an async function, not any function that returns a promise.
        fn: async () => await steps(g.model, stepsPerRound),
      });
    }
  }
}
console.log(
  [
    "| backend | K | estimator | ms/step | ÷ ReinMax | ÷ ReinMax, fastest rounds |",
    "| --- | ---: | --- | ---: | ---: | ---: |",
    ...rows,
    "",
    "ms/step: median over interleaved rounds, batch 100, read-backs included. ÷ ReinMax: that median over " +
    "ReinMax's at the same backend and K; fastest rounds: the ratio of the two fastest rounds (those least " +
    "disturbed by other work on a shared machine).",
    `Backends: ${backends.map((b) => `${b.name} (${b.details})`).join(", ")}.`,
  ].join("\n"),
);
