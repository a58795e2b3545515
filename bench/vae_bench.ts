// The efficiency table (the paper's, for this SDK): the categorical VAE's training step (batch 100) for 10×30
// and 8×4, per backend present and per estimator — ms per step (median of interleaved rounds, so drift in
// machine speed hits every estimator alike), the ratio to ST measured in the same run, the time of one
// Fashion-MNIST epoch and the memory training needs. Prints a Markdown table and what each column means.
// Images are synthetic: a step's cost does not depend on the pixels.
//
//   deno bench --allow-env bench/vae_bench.ts      (part of `deno task bench`)
import type { Backend } from "../src/backend.ts";
import {
  estimator,
  PATHWISE_ESTIMATOR_NAMES as ESTIMATOR_NAMES,
  type PathwiseEstimatorName as EstimatorName,
} from "../src/estimators.ts";
import { type CategoricalConfig, CategoricalVae } from "../src/models/categorical_vae.ts";
import { WasmBackend } from "../src/wasm/backend.ts";
import { WebGpuBackend } from "../src/webgpu/backend.ts";

const BATCH = 100, STEPS_PER_EPOCH = 600, TEST_IMAGES = 10_000;
const TAU: Record<EstimatorName, number> = { reinmax: 1.3, st: 1.3, stgs: 0.5, gst: 0.7, grmck: 0.5 };

const backends: Backend[] = [await WasmBackend.create()];
try {
  backends.push(await WebGpuBackend.create());
} catch (e) {
  console.log(`webgpu: not measured (${(e as Error).message})`);
}

const images = Float32Array.from({ length: BATCH * 784 }, (_, i) => ((i * 7919) % 256) / 255);

async function stepMs(model: CategoricalVae, steps: number): Promise<number> {
  const start = performance.now();
  for (let s = 0; s < steps; s++) {
    model.step(images);
    if (model.log.pending === model.log.capacity) await model.readLosses();
  }
  await model.readLosses(); // the timing covers all submitted work
  return (performance.now() - start) / steps;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

const rows: string[] = [];
const highestRss: string[] = [];
for (const backend of backends) {
  let rss = Deno.memoryUsage().rss;
  // A software GPU is ~30× slower than WASM here: fewer steps keep the bench short.
  const slow = backend.name === "webgpu" && /fallback|llvmpipe|swiftshader/i.test(backend.details);
  const [rounds, steps] = backend.name === "wasm" ? [7, 10] : slow ? [3, 2] : [7, 20];
  for (const config of ["10x30", "8x4"] as CategoricalConfig[]) {
    const models = new Map<EstimatorName, CategoricalVae>();
    for (const name of ESTIMATOR_NAMES) {
      // On WASM each estimator's model gets a linear memory of its own, so that memory is its own peak.
      const own = backend instanceof WasmBackend ? await WasmBackend.create() : backend;
      models.set(name, new CategoricalVae(own, { config, estimator: estimator(name, { tau: TAU[name] }) }));
    }
    const times = new Map<EstimatorName, number[]>(ESTIMATOR_NAMES.map((n) => [n, []]));
    for (const model of models.values()) await stepMs(model, 2); // warm-up: pipelines, staging, JIT
    for (let round = 0; round < rounds; round++) {
      for (const [name, model] of models) times.get(name)!.push(await stepMs(model, steps));
    }
    // The test −ELBO pass, timed once per configuration on a tenth of the test set.
    const evalImages = new Float32Array(TEST_IMAGES / 10 * 784).map((_, i) => images[i % images.length]);
    const model = models.get("reinmax")!;
    const evalStart = performance.now();
    await model.evaluate(evalImages, TEST_IMAGES / 10);
    const evalSeconds = (performance.now() - evalStart) / 1000 * 10;
    const st = median(times.get("st")!);
    for (const name of ESTIMATOR_NAMES) {
      const ms = median(times.get(name)!);
      const epoch = ms * STEPS_PER_EPOCH / 1000 + evalSeconds;
      const model = models.get(name)!;
      const own = model.backend instanceof WasmBackend ? mib(model.backend.memoryBytes) : "—";
      rows.push(
        `| ${config} | ${backend.name} | ${name} | ${ms.toFixed(2)} | ${(ms / st).toFixed(2)} | ` +
          `${epoch.toFixed(1)} | ${mib(model.bytesAllocated)} | ${own} |`,
      );
    }
    rss = Math.max(rss, Deno.memoryUsage().rss);
    for (const m of models.values()) {
      m.destroy();
      if (m.backend !== backend) m.backend.destroy();
    }
  }
  highestRss.push(`${mib(rss)} MiB after the ${backend.name} rows`);
}
console.log(
  [
    "| config | backend | estimator | ms/step | ÷ ST | epoch s | plan MiB | WASM memory MiB |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `ms/step: median over interleaved rounds, batch 100. epoch s: ${STEPS_PER_EPOCH} such steps plus the ` +
    `test −ELBO over ${TEST_IMAGES} images (timed on a tenth of them, ReinMax). plan MiB: the model's memory ` +
    "plan, every buffer a step touches (parameters, gradients, optimiser moments, snapshot, activations), " +
    "allocated once; a step allocates nothing more. WASM memory MiB: the WebAssembly linear memory of a " +
    "backend holding only that model, which never shrinks, so it is the peak. Highest resident set of this " +
    `process (every backend loaded), sampled after each configuration: ${highestRss.join(", ")}.`,
  ].join("\n"),
);
for (const backend of backends) backend.destroy();
