// reinmax (WebAssembly, one thread) against PyTorch (CPU, torch.set_num_threads(1)) on the same training
// steps, in one invocation: the poly task (L = 128, batch 512 and 64), the categorical VAE 10×30 and 8×4 and
// the Bernoulli VAE 2×200 (batch 100), each with ReinMax, ST and GR-MCK (K = 10). PyTorch runs in one child
// process (bench/torch/server.py) kept warm for the whole run; the two sides alternate in rounds and each
// figure is the median over the rounds, so drift in machine speed hits both alike. Before timing, both sides
// take the same first step from the same parameters, batch and draws and must agree (bench/torch/verify.ts).
// Then the peak resident memory of one epoch of 10×30 on the full Fashion-MNIST, examples/vae.ts against
// bench/torch/train_vae.py.
//
//   deno task bench:torch [--quick] [--verify] [--no-memory] [--python PATH] [--data DIR]
//
// --quick: fewer rounds; --verify: only the first-step check; --no-memory: skip the two full-data epochs.
// Without PyTorch it says how to install it and exits with status 1.
import type { Backend } from "../../src/backend.ts";
import { estimator, type EstimatorName } from "../../src/estimators.ts";
import { BernoulliVae } from "../../src/models/bernoulli_vae.ts";
import { type CategoricalConfig, CategoricalVae } from "../../src/models/categorical_vae.ts";
import { PolyProgramming } from "../../src/models/poly.ts";
import { selectBackend } from "../../src/registry.ts";
import { INSTALL_HINT, peakResident, pythonEnv, torchMissing, TorchProcess } from "./torch_process.ts";
import { syntheticImages, verifyFirstSteps } from "./verify.ts";

const USAGE = "usage: deno task bench:torch [--quick] [--verify] [--no-memory] [--python PATH] [--data DIR]";

function parseArgs(args: string[]) {
  const flags = {
    quick: false,
    verify: false,
    memory: true,
    python: "/usr/bin/python3",
    data: "/usr/share/datasets/fashion-mnist",
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--quick") flags.quick = true;
    else if (a === "--verify") flags.verify = true;
    else if (a === "--no-memory") flags.memory = false;
    else if ((a === "--python" || a === "--data") && i + 1 < args.length) {
      flags[a.slice(2) as "data"] = args[++i];
    } else {
      console.error(`unknown or incomplete flag ${JSON.stringify(a)}\n${USAGE}`);
      Deno.exit(2);
    }
  }
  return flags;
}

/** A model size to compare, built on our side for an estimator; `torch` is its PyTorch request. */
interface Workload {
  readonly title: string;
  readonly task: "poly" | "categorical" | "bernoulli";
  readonly torch: Record<string, unknown>;
  /** Steps per timed run on each side (aiming at a few hundred ms). */
  readonly steps: number;
  /** ReinMax against PyTorch, the target. */
  readonly target?: number;
  readonly build: (backend: Backend, est: EstimatorName) => { step: (steps: number) => Promise<void> };
}

const ESTIMATORS: EstimatorName[] = ["reinmax", "st", "grmck"];
const TAU: Record<Workload["task"], Record<string, number>> = {
  poly: { reinmax: 1, st: 1, grmck: 0.5 },
  categorical: { reinmax: 1.3, st: 1.3, grmck: 0.5 },
  bernoulli: { reinmax: 1.1, st: 1.1, grmck: 0.5 },
};

function poly(batch: number, steps: number, target: number): Workload {
  return {
    title: `poly L=128, batch ${batch}`,
    task: "poly",
    torch: { batch },
    steps,
    target,
    build: (backend, name) => {
      const task = new PolyProgramming(backend, {
        batch,
        estimator: estimator(name, { tau: TAU.poly[name], k: 10 }),
      });
      return {
        step: async (n) => {
          for (let s = 0; s < n; s++) {
            task.step();
            if (task.pendingLosses === task.readEvery) await task.readLosses();
          }
          await task.readLosses();
        },
      };
    },
  };
}

/** A VAE's steps on one synthetic batch (a step's cost does not depend on the pixels). */
function vaeSteps(model: CategoricalVae | BernoulliVae) {
  const images = syntheticImages(model.batch);
  return {
    step: async (n: number) => {
      for (let s = 0; s < n; s++) {
        model.step(images);
        if (model.log.pending === model.log.capacity) await model.readLosses();
      }
      await model.readLosses();
    },
  };
}

function categorical(config: CategoricalConfig, steps: number): Workload {
  return {
    title: `categorical VAE ${config}, batch 100`,
    task: "categorical",
    torch: { config, batch: 100 },
    steps,
    target: 0.6,
    build: (backend, name) =>
      vaeSteps(
        new CategoricalVae(backend, { config, estimator: estimator(name, { tau: TAU.categorical[name] }) }),
      ),
  };
}

const bernoulli: Workload = {
  title: "Bernoulli VAE 2×200, batch 100",
  task: "bernoulli",
  torch: { batch: 100 },
  steps: 10,
  build: (backend, name) =>
    vaeSteps(new BernoulliVae(backend, { estimator: estimator(name, { tau: TAU.bernoulli[name] }) })),
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Times every workload and estimator on both sides, interleaved; returns the Markdown rows. */
async function timeAll(backend: Backend, torch: TorchProcess, rounds: number): Promise<string[]> {
  const workloads = [poly(512, 10, 0.2), poly(64, 60, 0.3), categorical("10x30", 5), categorical("8x4", 6)];
  workloads.push(bernoulli);
  const rows: string[] = [];
  for (const w of workloads) {
    const ours = new Map(ESTIMATORS.map((name) => [name, w.build(backend, name)]));
    const times = new Map(ESTIMATORS.map((name) => [name, { ours: [] as number[], torch: [] as number[] }]));
    for (const name of ESTIMATORS) {
      const id = `${w.title} ${name}`;
      await torch.request({
        op: "create",
        id,
        task: w.task,
        estimator: name,
        tau: TAU[w.task][name],
        ...w.torch,
      });
      await torch.request({ op: "time", id, steps: Math.ceil(w.steps / 2) }); // warm-up
      await ours.get(name)!.step(Math.ceil(w.steps / 2));
    }
    for (let round = 0; round < rounds; round++) {
      for (const name of ESTIMATORS) {
        const start = performance.now();
        await ours.get(name)!.step(w.steps);
        times.get(name)!.ours.push((performance.now() - start) / w.steps);
        const { ms } = await torch.request<{ ms: number }>({
          op: "time",
          id: `${w.title} ${name}`,
          steps: w.steps,
        });
        times.get(name)!.torch.push(ms);
      }
    }
    // Ratios are medians of per-round ratios: the two figures of a round were measured back to back, so
    // slow drift in machine speed cancels in each.
    const paired = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]));
    const st = times.get("st")!;
    for (const name of ESTIMATORS) {
      const t = times.get(name)!;
      const goal = name === "reinmax" && w.target ? `≤ ${w.target}` : "";
      const ownGoal = name === "reinmax" ? "≤ 1.05" : name === "grmck" ? "≤ 3" : "";
      rows.push(
        `| ${w.title} | ${name === "grmck" ? "grmck K=10" : name} | ${median(t.ours).toFixed(2)} | ` +
          `${median(t.torch).toFixed(2)} | **${paired(t.ours, t.torch).toFixed(2)}** | ${goal} | ` +
          `${paired(t.ours, st.ours).toFixed(2)} | ${ownGoal} | ${paired(t.torch, st.torch).toFixed(2)} |`,
      );
    }
    console.error(`  measured ${w.title}`);
  }
  return rows;
}

interface Hello {
  readonly torch: string;
  readonly blas: string;
  readonly cpu: string;
  readonly cores: number;
  readonly load: number[];
}

/** The machine, as the Python side sees it (Deno may not read /proc without --allow-all). */
function machine(hello: Hello): string {
  return `${hello.cpu}, ${hello.cores} cores visible, load average ${
    hello.load.map((l) => l.toFixed(1)).join(" ")
  }` +
    `; Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); PyTorch ${hello.torch}, 1 thread, BLAS ${hello.blas}`;
}

async function measureMemory(python: string, data: string): Promise<string[]> {
  const root = new URL("../../", import.meta.url).pathname;
  const ours = await peakResident(python, [
    Deno.execPath(),
    "run",
    `--allow-read=${root},${data}`,
    "examples/vae.ts",
    "--config",
    "10x30",
    "--epochs",
    "1",
    "--backend",
    "wasm",
    "--data",
    data,
  ], root);
  const theirs = await peakResident(
    python,
    [python, "train_vae.py", data],
    new URL(".", import.meta.url).pathname,
    pythonEnv(),
  );
  for (const [side, r] of [["examples/vae.ts", ours], ["train_vae.py", theirs]] as const) {
    if (r.exitCode !== 0) throw new Error(`${side} failed (exit ${r.exitCode}):\n${r.log}`);
  }
  const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
  return [
    "| one epoch of 10×30 on Fashion-MNIST (60k + 10k test), ReinMax | peak RSS MB | wall s (load, train, test) |",
    "| --- | ---: | ---: |",
    `| reinmax, \`deno run examples/vae.ts --epochs 1 --backend wasm\` | **${
      mb(ours.peakBytes)
    }** (target ≤ 150) | ` +
    `${ours.seconds.toFixed(1)} |`,
    `| PyTorch, \`bench/torch/train_vae.py\` | **${mb(theirs.peakBytes)}** | ${theirs.seconds.toFixed(1)} |`,
    `| reinmax ÷ PyTorch | ${(ours.peakBytes / theirs.peakBytes).toFixed(2)} | ${
      (ours.seconds / theirs.seconds).toFixed(2)
    } |`,
  ];
}

const flags = parseArgs(Deno.args);
const missing = await torchMissing(flags.python);
if (missing) {
  console.error(`${flags.python} cannot import torch: ${missing}\n\n${INSTALL_HINT}`);
  Deno.exit(1);
}
const backend = await selectBackend({ prefer: "wasm" });
const torch = new TorchProcess(flags.python);
let failed = false;
try {
  const hello = await torch.request<Hello>({ op: "hello" });
  console.log(`Machine: ${machine(hello)}; reinmax on ${backend.name} (${backend.details}).\n`);
  failed = !(await verifyFirstSteps(backend, torch));
  if (failed) {
    console.log("\nThe two sides do not compute the same step: the timings below compare different work.");
  }
  if (!flags.verify) {
    const rounds = flags.quick ? 3 : 9;
    console.error(`\nTiming, ${rounds} interleaved rounds per figure (medians) …`);
    const rows = await timeAll(backend, torch, rounds);
    console.log(
      [
        "",
        `Training step, ms (median of ${rounds} interleaved rounds; ratios: median of the rounds' ratios; ` +
        "one thread each):",
        "",
        "| model | estimator | reinmax ms | PyTorch ms | reinmax ÷ PyTorch | target | ÷ ST (reinmax) | target | ÷ ST (PyTorch) |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | --- | ---: |",
        ...rows,
      ].join("\n"),
    );
    if (flags.memory) {
      console.error("\nPeak memory: one epoch of 10×30 on each side …");
      console.log(["", ...await measureMemory(flags.python, flags.data)].join("\n"));
    }
    const end = await torch.request<Hello>({ op: "hello" });
    console.log(`\nLoad average at the end: ${end.load.map((l) => l.toFixed(1)).join(" ")}.`);
  }
} finally {
  await torch.close();
  backend.destroy();
}
if (failed) Deno.exit(1);
