// The training steps of this tree against another checkout of reinmax (an earlier commit), in one process:
// both trees' mod.ts are imported, each builds its own WASM backend and models, and their steps are timed in
// interleaved rounds, so drift in machine speed hits both alike. Prints each step's median per tree and the
// ratio this tree / baseline (below 1: faster now). The promise "never slower than before" is checked here.
//
//   git worktree add /tmp/baseline <commit>
//   deno run --allow-read --allow-env bench/against_baseline.ts /tmp/baseline [--rounds 9] [--filter Bernoulli]
//
// Steps: the categorical VAE 10×30 and 8×4 (batch 100) with ReinMax and ST, the Bernoulli VAE 2×200 with
// K = 1 and 3, and the poly step (L = 128) at batch 64 and 512, all on WASM with synthetic inputs (a step's
// cost does not depend on the pixels).

interface Tree {
  readonly label: string;
  // deno-lint-ignore no-explicit-any
  readonly sdk: any;
}

const args = Deno.args;
const baselineDir = args[0]?.startsWith("--") ? undefined : args[0];
if (!baselineDir) {
  console.error(
    "usage: deno run --allow-read --allow-env bench/against_baseline.ts BASELINE_DIR [--rounds N]",
  );
  Deno.exit(2);
}
const roundsFlag = args.indexOf("--rounds");
const ROUNDS = roundsFlag >= 0 ? Number(args[roundsFlag + 1]) : 9;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error(`--rounds: expected a positive integer, got ${args[roundsFlag + 1]}`);
  Deno.exit(2);
}

const filterFlag = args.indexOf("--filter");
const FILTER = filterFlag >= 0 ? args[filterFlag + 1] : "";

const baselineUrl = new URL(`${baselineDir.replace(/\/+$/, "")}/mod.ts`, `file://${Deno.cwd()}/`);
const trees: Tree[] = [
  { label: "baseline", sdk: await import(baselineUrl.href) },
  { label: "this tree", sdk: await import("../mod.ts") },
];

const BATCH = 100;
const images = Float32Array.from({ length: BATCH * 784 }, (_, i) => ((i * 7919) % 256) / 255);

/** One timed workload: builds its model on a tree and returns a function that runs `steps` steps. */
interface Workload {
  readonly name: string;
  readonly steps: number;
  // deno-lint-ignore no-explicit-any
  build(sdk: any, backend: unknown): { run(steps: number): Promise<void>; destroy(): void };
}

// deno-lint-ignore no-explicit-any
function vaeRunner(model: any) {
  return {
    async run(steps: number) {
      for (let s = 0; s < steps; s++) {
        model.step(images);
        if (model.log.pending === model.log.capacity) await model.readLosses();
      }
      await model.readLosses();
    },
    destroy: () => model.destroy(),
  };
}

const WORKLOADS: Workload[] = [
  ...["10x30", "8x4"].flatMap((config) =>
    [["reinmax", 1.3], ["st", 1.3]].map(([name, tau]): Workload => ({
      name: `categorical VAE ${config} ${name}`,
      steps: config === "10x30" ? 8 : 12,
      build: (sdk, backend) =>
        vaeRunner(new sdk.CategoricalVae(backend, { config, estimator: sdk.estimator(name, { tau }) })),
    }))
  ),
  ...[1, 3].map((evaluations): Workload => ({
    name: `Bernoulli VAE 2×200 K=${evaluations}`,
    steps: 8,
    build: (sdk, backend) => vaeRunner(new sdk.BernoulliVae(backend, { evaluations })),
  })),
  ...[64, 512].map((batch): Workload => ({
    name: `poly L=128 reinmax batch ${batch}`,
    steps: batch === 64 ? 400 : 100,
    build: (sdk, backend) => {
      const task = new sdk.PolyProgramming(backend, {
        latents: 128,
        estimator: sdk.estimator("reinmax", { tau: 1 }),
        batch,
        readEvery: 1 << 16,
      });
      return {
        async run(steps: number) {
          for (let s = 0; s < steps; s++) task.step();
          await task.readLosses();
        },
        destroy: () => task.destroy(),
      };
    },
  })),
];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

console.log(`baseline: ${baselineUrl.pathname}; ${ROUNDS} interleaved rounds per workload, WASM\n`);
console.log("| step | baseline ms | this tree ms | ratio |");
console.log("| ---- | ----------- | ------------ | ----- |");
const ratios: number[] = [];
for (const w of WORKLOADS.filter((w) => w.name.includes(FILTER))) {
  const runners = await Promise.all(trees.map(async (t) => {
    const backend = await t.sdk.selectBackend({ prefer: "wasm" });
    return { tree: t, backend, runner: w.build(t.sdk, backend), times: [] as number[] };
  }));
  for (const r of runners) await r.runner.run(2); // warm-up: JIT, first touch of memory
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which tree goes first, so neither always runs on a cache the other warmed.
    const order = round % 2 === 0 ? runners : [...runners].reverse();
    for (const r of order) {
      const start = performance.now();
      await r.runner.run(w.steps);
      r.times.push((performance.now() - start) / w.steps);
    }
  }
  const [before, after] = runners.map((r) => median(r.times));
  ratios.push(after / before);
  console.log(`| ${w.name} | ${before.toFixed(3)} | ${after.toFixed(3)} | ${(after / before).toFixed(3)} |`);
  for (const r of runners) {
    r.runner.destroy();
    r.backend.destroy();
  }
}
const geomean = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
console.log(`\ngeometric mean of the ratios (this tree / baseline): ${geomean.toFixed(3)}`);
