/**
 * The paper's figures in one command: the polynomial-programming sweep (every estimator the task supports,
 * a τ grid, p ∈ {1.5, 2, 3}) and a short categorical-VAE comparison (8×4, ReinMax against straight-through),
 * written as a Markdown table and SVG plots.
 *
 *   deno task reproduce --quick                      # a few minutes on one core → reproduce-out/
 *   deno task reproduce --out sweep                  # the full grid
 *   deno task reproduce --shard 3/8 --out sweep      # every 8th job from the 4th; writes sweep/shard-3-of-8.json
 *   deno task reproduce --shards 8 --out sweep       # the same, the index taken from JOB_COMPLETION_INDEX
 *                                                    # (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID
 *   deno task reproduce --merge sweep                # table and plots from the shards
 *
 * Every job is seeded and runs on the WebAssembly backend by default, so a job computes the same numbers
 * whichever shard runs it, and merging the shards gives the same files as one unsharded run. All flags are
 * checked before any job starts; a mistake is an error naming the flag (exit code 2).
 * @module
 */
import {
  adam,
  type Backend,
  CategoricalVae,
  estimator,
  ESTIMATOR_NAMES,
  type EstimatorName,
  ESTIMATORS,
  polyOptimum,
  polyTargets,
  ReinmaxInputError,
  selectBackend,
  trainPoly,
  trainVae,
} from "../mod.ts";
import { openDataset } from "../examples/data_source.ts";
import { type FlagSpec, parseFlags, runCli } from "../examples/flags.ts";
import { lineChart, PALETTE, type Series } from "./svg_chart.ts";

const FLAGS = {
  quick: { type: "boolean", help: "the short grid: fewer steps, τ values and epochs", default: false },
  out: { type: "string", help: "output directory", default: "reproduce-out" },
  shard: {
    type: "string",
    help: "run shard i of n (0 ≤ i < n): every n-th job from the i-th",
    optional: true,
  },
  shards: {
    type: "number",
    help: "shard count n; i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID",
    optional: true,
  },
  merge: {
    type: "string",
    help: "build the table and plots from the shard files in this directory",
    optional: true,
  },
  backend: { type: "string", help: "compute backend", default: "wasm", choices: ["wasm", "webgpu", "auto"] },
  estimators: { type: "string", help: "poly estimators, comma-separated [default: all]", optional: true },
  tau: {
    type: "string",
    help: "poly τ grid, comma-separated [default: 0.3…3, --quick 0.5,1,1.5,2]",
    optional: true,
  },
  p: { type: "string", help: "poly exponents, comma-separated", default: "1.5,2,3" },
  steps: { type: "number", help: "poly training steps [default: 8000, --quick 1000]", optional: true },
  "vae-data": { type: "string", help: "VAE data: fixture, digits, a directory or URL", default: "fixture" },
  "vae-epochs": { type: "number", help: "VAE epochs, 0 to skip [default: 10, --quick 3]", optional: true },
  seed: { type: "number", help: "seed of every job", default: 0 },
} as const satisfies Record<string, FlagSpec>;

const USAGE = "usage: deno task reproduce [--quick] [--out DIR] [--shard i/n | --shards n] | --merge DIR";
const FULL = { steps: 8000, taus: [0.3, 0.5, 0.7, 1, 1.2, 1.5, 2, 3], vaeEpochs: 10 };
const QUICK = { steps: 1000, taus: [0.5, 1, 1.5, 2], vaeEpochs: 3 };
/** Exact-loss points per poly curve (the run is cut into this many epochs). */
const CURVE_POINTS = 40;
/** The VAE comparison: the 8×4 model with its paper settings (Adam 5e-4), ReinMax against ST. */
const VAE_RUNS = [{ estimator: "reinmax", tau: 1.3 }, { estimator: "st", tau: 1.4 }] as const;
/** Train −ELBO points per VAE curve are means over windows of this many steps. */
const VAE_WINDOW = 20;

/** Everything that decides the jobs and their results; shards must agree on it to be merged. */
interface Settings {
  readonly backend: "wasm" | "webgpu" | "auto";
  readonly seed: number;
  readonly poly: {
    readonly estimators: readonly EstimatorName[];
    readonly taus: readonly number[];
    readonly ps: readonly number[];
    readonly steps: number;
    readonly latents: number;
    readonly batch: number;
    readonly target: "const";
    readonly lr: number;
  };
  readonly vae: {
    readonly data: string;
    readonly config: "8x4";
    readonly epochs: number;
    readonly runs: readonly { readonly estimator: EstimatorName; readonly tau: number }[];
  };
}

type Job =
  | {
    readonly id: string;
    readonly kind: "poly";
    readonly estimator: EstimatorName;
    readonly tau: number;
    readonly p: number;
  }
  | { readonly id: string; readonly kind: "vae"; readonly estimator: EstimatorName; readonly tau: number };

interface PolyResult {
  readonly id: string;
  readonly kind: "poly";
  readonly estimator: EstimatorName;
  readonly tau: number;
  readonly p: number;
  /** Steps at the ends of the epochs, and the exact expected loss there. */
  readonly steps: number[];
  readonly exactLoss: number[];
  /** Mean sampled loss over each epoch. */
  readonly sampledLoss: number[];
  readonly optimum: number;
}

interface VaeResult {
  readonly id: string;
  readonly kind: "vae";
  readonly estimator: EstimatorName;
  readonly tau: number;
  /** Last step of each window and its mean train −ELBO. */
  readonly windowSteps: number[];
  readonly windowElbo: number[];
  /** Steps at the ends of the epochs, with the epoch's train −ELBO and the test −ELBO after it. */
  readonly epochSteps: number[];
  readonly trainElbo: number[];
  readonly testElbo: number[];
}

type JobResult = PolyResult | VaeResult;

/** One shard's file. */
interface ShardFile {
  readonly format: "reinmax-reproduce-shard/1";
  readonly shard: number;
  readonly shards: number;
  readonly settings: Settings;
  readonly results: JobResult[];
}

type Mode =
  | { readonly kind: "run"; readonly settings: Settings; readonly out: string }
  | {
    readonly kind: "shard";
    readonly settings: Settings;
    readonly out: string;
    readonly index: number;
    readonly count: number;
  }
  | { readonly kind: "merge"; readonly dir: string; readonly out: string };

// ---- flags -------------------------------------------------------------------------------------------------

function list(flag: string, value: string): string[] {
  const items = value.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) {
    throw new ReinmaxInputError(`--${flag}`, `expected a comma-separated list, got ${JSON.stringify(value)}`);
  }
  return items;
}

function positiveList(flag: string, value: string): number[] {
  const numbers = list(flag, value).map(Number);
  const bad = numbers.findIndex((v) => !(Number.isFinite(v) && v > 0));
  if (bad >= 0) {
    throw new ReinmaxInputError(`--${flag}`, `expected positive numbers, got ${JSON.stringify(value)}`);
  }
  if (new Set(numbers).size !== numbers.length) {
    throw new ReinmaxInputError(`--${flag}`, `a value is repeated in ${JSON.stringify(value)}`);
  }
  return numbers;
}

function wholeNumber(flag: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ReinmaxInputError(`--${flag}`, `expected an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

/** i of n for a sharded run: from `--shard i/n`, or `--shards n` with i from the scheduler's environment. */
function shardOf(
  shard: string | undefined,
  shards: number | undefined,
): { index: number; count: number } | null {
  if (shard !== undefined && shards !== undefined) {
    throw new ReinmaxInputError("--shards", "give either --shard i/n or --shards n, not both");
  }
  if (shard !== undefined) {
    const match = /^(\d+)\/(\d+)$/.exec(shard);
    const [index, count] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
    if (!match || count < 1 || index >= count) {
      throw new ReinmaxInputError(
        "--shard",
        `expected i/n with 0 ≤ i < n (e.g. 0/4), got ${JSON.stringify(shard)}`,
      );
    }
    return { index, count };
  }
  const fromEnv = scheduledIndex();
  if (shards === undefined) {
    if (fromEnv === null) return null;
    const slurmCount = Deno.env.get("SLURM_ARRAY_TASK_COUNT");
    if (fromEnv.variable === "SLURM_ARRAY_TASK_ID" && slurmCount !== undefined) {
      const count = wholeNumber("SLURM_ARRAY_TASK_COUNT", Number(slurmCount), 1);
      return checkedIndex(fromEnv, count);
    }
    throw new ReinmaxInputError(
      "--shards",
      `${fromEnv.variable} is set, so this is one task of an array: give the task count with --shards n`,
    );
  }
  const count = wholeNumber("shards", shards, 1);
  if (fromEnv === null) {
    throw new ReinmaxInputError(
      "--shards",
      "needs JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID in the environment; or give --shard i/n",
    );
  }
  return checkedIndex(fromEnv, count);
}

function checkedIndex(
  fromEnv: { variable: string; index: number },
  count: number,
): { index: number; count: number } {
  if (fromEnv.index >= count) {
    throw new ReinmaxInputError(
      fromEnv.variable,
      `is ${fromEnv.index}, expected below the shard count ${count}`,
    );
  }
  return { index: fromEnv.index, count };
}

/** The array index a Kubernetes Indexed Job or a Slurm array gives this task, counted from 0. */
function scheduledIndex(): { variable: string; index: number } | null {
  for (const variable of ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"]) {
    const raw = Deno.env.get(variable);
    if (raw === undefined || raw === "") continue;
    const index = Number(raw);
    if (!/^\d+$/.test(raw)) {
      throw new ReinmaxInputError(variable, `expected an integer ≥ 0, got ${JSON.stringify(raw)}`);
    }
    // A Slurm array may start at any index (--array=1-8); shards count from its first.
    const min = variable === "SLURM_ARRAY_TASK_ID" ? Number(Deno.env.get("SLURM_ARRAY_TASK_MIN") ?? 0) : 0;
    if (!Number.isInteger(min) || min > index) {
      throw new ReinmaxInputError("SLURM_ARRAY_TASK_MIN", `expected an integer ≤ ${index}`);
    }
    return { variable, index: index - min };
  }
  return null;
}

/** Reads and checks every flag; nothing has run yet when this returns or throws. */
function parseMode(args: readonly string[]): Mode {
  const flags = parseFlags(args, FLAGS, USAGE);
  if (flags.merge !== undefined) {
    const given = new Set(args.map((a) => /^--([a-z-]+)/.exec(a)?.[1]).filter((n) => n !== undefined));
    for (const flag of Object.keys(FLAGS)) {
      if (flag !== "merge" && flag !== "out" && given.has(flag)) {
        throw new ReinmaxInputError(
          `--${flag}`,
          "the shards' own settings are used with --merge; leave it out",
        );
      }
    }
    if (flags.merge.trim() === "") throw new ReinmaxInputError("--merge", "expected a directory");
    return {
      kind: "merge",
      dir: flags.merge,
      out: args.some((a) => a.startsWith("--out")) ? flags.out : flags.merge,
    };
  }
  const grid = flags.quick ? QUICK : FULL;
  const estimators = flags.estimators === undefined
    ? [...ESTIMATOR_NAMES]
    : list("estimators", flags.estimators);
  for (const name of estimators) {
    if (!(ESTIMATOR_NAMES as readonly string[]).includes(name)) {
      throw new ReinmaxInputError(
        "--estimators",
        `expected names from ${ESTIMATOR_NAMES.join(", ")}, got ${name}`,
      );
    }
  }
  const taus = flags.tau === undefined ? grid.taus : positiveList("tau", flags.tau);
  const ps = positiveList("p", flags.p);
  const steps = wholeNumber("steps", flags.steps ?? grid.steps, 1);
  const vaeEpochs = wholeNumber("vae-epochs", flags["vae-epochs"] ?? grid.vaeEpochs, 0);
  const seed = wholeNumber("seed", flags.seed, 0);
  if (flags["vae-data"].trim() === "") {
    throw new ReinmaxInputError("--vae-data", "expected fixture, digits or a path");
  }
  if (flags.out.trim() === "") throw new ReinmaxInputError("--out", "expected a directory");
  const shard = shardOf(flags.shard, flags.shards);
  const settings: Settings = {
    backend: flags.backend as Settings["backend"],
    seed,
    poly: {
      estimators: estimators as EstimatorName[],
      taus,
      ps,
      steps,
      latents: 128,
      batch: 64,
      target: "const",
      lr: 1e-3,
    },
    vae: { data: flags["vae-data"], config: "8x4", epochs: vaeEpochs, runs: VAE_RUNS },
  };
  for (const name of estimators) {
    const row = ESTIMATORS[name as EstimatorName];
    if (!taus.some((t) => t >= row.tau.min)) {
      throw new ReinmaxInputError(
        "--tau",
        `${row.title} requires τ ≥ ${row.tau.min} and the grid has no such τ`,
      );
    }
  }
  return shard === null
    ? { kind: "run", settings, out: flags.out }
    : { kind: "shard", settings, out: flags.out, ...shard };
}

// ---- jobs --------------------------------------------------------------------------------------------------

/** Every job of the grid, in a fixed order (VAE runs first: the longest, so shards share them out). */
function jobsOf(s: Settings): Job[] {
  const jobs: Job[] = [];
  if (s.vae.epochs > 0) {
    for (const r of s.vae.runs) jobs.push({ id: `vae ${r.estimator} τ=${r.tau}`, kind: "vae", ...r });
  }
  for (const p of s.poly.ps) {
    for (const name of s.poly.estimators) {
      for (const tau of s.poly.taus) {
        if (tau < ESTIMATORS[name].tau.min) continue; // below the estimator's own domain (ReinMax: τ ≥ 1)
        jobs.push({ id: `poly p=${p} ${name} τ=${tau}`, kind: "poly", estimator: name, tau, p });
      }
    }
  }
  return jobs;
}

async function runPoly(
  backend: Backend,
  s: Settings,
  job: Extract<Job, { kind: "poly" }>,
): Promise<PolyResult> {
  const result: PolyResult = {
    ...job,
    steps: [],
    exactLoss: [],
    sampledLoss: [],
    optimum: polyOptimum(polyTargets(s.poly.latents, s.poly.target), job.p),
  };
  const epochs = trainPoly(backend, {
    latents: s.poly.latents,
    p: job.p,
    target: s.poly.target,
    estimator: estimator(job.estimator, { tau: job.tau }),
    optimizer: adam({ lr: s.poly.lr }),
    batch: s.poly.batch,
    steps: s.poly.steps,
    stepsPerEpoch: Math.max(1, Math.ceil(s.poly.steps / CURVE_POINTS)),
    seed: s.seed,
  });
  for await (const e of epochs) {
    result.steps.push(e.step);
    result.exactLoss.push(e.exactLoss);
    result.sampledLoss.push(e.loss);
  }
  return result;
}

async function runVae(backend: Backend, s: Settings, job: Extract<Job, { kind: "vae" }>): Promise<VaeResult> {
  const data = await openDataset(s.vae.data);
  const model = new CategoricalVae(backend, {
    config: s.vae.config,
    inputSize: data.train.size,
    estimator: estimator(job.estimator, { tau: job.tau }),
    seed: s.seed,
    readEvery: VAE_WINDOW,
  });
  const result: VaeResult = {
    ...job,
    windowSteps: [],
    windowElbo: [],
    epochSteps: [],
    trainElbo: [],
    testElbo: [],
  };
  try {
    const epochs = trainVae(model, data.train, {
      epochs: s.vae.epochs,
      test: data.test,
      onProgress: (p) => {
        result.windowSteps.push(p.firstStep + p.losses.length - 1);
        result.windowElbo.push(p.losses.reduce((a, b) => a + b, 0) / p.losses.length);
      },
    });
    for await (const e of epochs) {
      result.epochSteps.push(e.step);
      result.trainElbo.push(e.trainElbo);
      result.testElbo.push(e.testElbo);
    }
  } finally {
    model.destroy();
  }
  return result;
}

async function runJobs(settings: Settings, index: number, count: number): Promise<JobResult[]> {
  const jobs = jobsOf(settings).filter((_, k) => k % count === index);
  const backend = await selectBackend({ prefer: settings.backend });
  const results: JobResult[] = [];
  try {
    for (const [k, job] of jobs.entries()) {
      const started = performance.now();
      results.push(
        job.kind === "poly" ? await runPoly(backend, settings, job) : await runVae(backend, settings, job),
      );
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.error(`[${k + 1}/${jobs.length}] ${job.id} (${seconds} s)`);
    }
  } finally {
    backend.destroy();
  }
  return results;
}

// ---- merging -----------------------------------------------------------------------------------------------

async function readShards(dir: string): Promise<{ settings: Settings; results: JobResult[] }> {
  const files: ShardFile[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !/^shard-\d+-of-\d+\.json$/.test(entry.name)) continue;
      const text = await Deno.readTextFile(`${dir}/${entry.name}`);
      let file: ShardFile;
      try {
        file = JSON.parse(text);
      } catch (e) {
        throw new ReinmaxInputError(
          "--merge",
          `${entry.name} is not JSON: ${e instanceof Error ? e.message : e}`,
          {
            cause: e,
          },
        );
      }
      if (file.format !== "reinmax-reproduce-shard/1") {
        throw new ReinmaxInputError("--merge", `${entry.name} is not a shard file of this program`);
      }
      files.push(file);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ReinmaxInputError("--merge", `no directory ${JSON.stringify(dir)}`, { cause: e });
    }
    throw e;
  }
  if (files.length === 0) throw new ReinmaxInputError("--merge", `no shard-i-of-n.json files in ${dir}`);
  const { shards, settings } = files[0];
  const seen = new Set<number>();
  for (const f of files) {
    if (f.shards !== shards || JSON.stringify(f.settings) !== JSON.stringify(settings)) {
      throw new ReinmaxInputError(
        "--merge",
        `shard ${f.shard} of ${f.shards} was run with other settings than shard ${
          files[0].shard
        } of ${shards}`,
      );
    }
    seen.add(f.shard);
  }
  const missing = Array.from({ length: shards }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) {
    throw new ReinmaxInputError("--merge", `missing shard ${missing.join(", ")} of ${shards} in ${dir}`);
  }
  const byId = new Map(files.flatMap((f) => f.results).map((r) => [r.id, r]));
  const results = jobsOf(settings).map((job) => {
    const r = byId.get(job.id);
    if (!r) throw new ReinmaxInputError("--merge", `no result for the job "${job.id}" in the shards`);
    return r;
  });
  return { settings, results };
}

// ---- output ------------------------------------------------------------------------------------------------

function colorOf(name: EstimatorName): string {
  return PALETTE[ESTIMATOR_NAMES.indexOf(name) % PALETTE.length];
}

const last = (values: readonly number[]) => values[values.length - 1];
const slug = (p: number) => String(p).replace(".", "_");

/** For each estimator at exponent p, the τ whose run ended with the lowest exact loss. */
function bestRuns(polys: readonly PolyResult[], p: number, settings: Settings): PolyResult[] {
  const best: PolyResult[] = [];
  for (const name of settings.poly.estimators) {
    const runs = polys.filter((r) => r.p === p && r.estimator === name);
    if (runs.length > 0) best.push(runs.reduce((a, b) => (last(b.exactLoss) < last(a.exactLoss) ? b : a)));
  }
  return best;
}

/** The Markdown report and the SVG files, by file name. */
function render(settings: Settings, results: readonly JobResult[]): Map<string, string> {
  const files = new Map<string, string>();
  const polys = results.filter((r): r is PolyResult => r.kind === "poly");
  const vaes = results.filter((r): r is VaeResult => r.kind === "vae");
  const s = settings.poly;
  const md: string[] = [
    "# Reproduction",
    "",
    `Polynomial programming (docs/math.md §6.1): L = ${s.latents}, c = 0.45, Adam lr ${s.lr}, batch ${s.batch}, ` +
    `${s.steps} steps, seed ${settings.seed}, backend ${settings.backend}. Each cell is the exact expected ` +
    "loss at the end of training (lower is better; the optimum is the lowest any θ reaches); the best τ of " +
    "each estimator is in bold. ReinMax is defined for τ ≥ 1.",
    "",
  ];
  for (const p of s.ps) {
    const best = new Set(bestRuns(polys, p, settings));
    const optimum = polys.find((r) => r.p === p)?.optimum;
    md.push(`## p = ${p}${optimum === undefined ? "" : ` (optimum ${optimum.toFixed(4)})`}`, "");
    const rows = s.estimators.map((name) => [
      ESTIMATORS[name].title,
      ...s.taus.map((tau) => {
        const r = polys.find((x) => x.p === p && x.estimator === name && x.tau === tau);
        if (!r) return "—";
        const v = last(r.exactLoss).toFixed(4);
        return best.has(r) ? `**${v}**` : v;
      }),
    ]);
    md.push(...markdownTable(["estimator", ...s.taus.map((t) => `τ = ${t}`)], rows));
    md.push(
      "",
      `![loss curves, p = ${p}](poly-curves-p${slug(p)}.svg) ![final loss against τ, p = ${p}](poly-tau-p${
        slug(p)
      }.svg)`,
      "",
    );

    files.set(
      `poly-curves-p${slug(p)}.svg`,
      lineChart({
        title: `Polynomial programming, p = ${p}: each estimator at its best τ`,
        xLabel: "training step",
        yLabel: "exact expected loss",
        series: bestRuns(polys, p, settings).map((r) => ({
          label: `${ESTIMATORS[r.estimator].title} τ=${r.tau}`,
          color: colorOf(r.estimator),
          points: r.steps.map((step, k) => [step, r.exactLoss[k]] as const),
        })),
        references: optimum === undefined ? [] : [{ y: optimum, label: `optimum ${optimum.toFixed(4)}` }],
      }),
    );
    files.set(
      `poly-tau-p${slug(p)}.svg`,
      lineChart({
        title: `Polynomial programming, p = ${p}: final loss against τ`,
        xLabel: "temperature τ",
        yLabel: `exact expected loss after ${s.steps} steps`,
        series: s.estimators.map((name): Series => ({
          label: ESTIMATORS[name].title,
          color: colorOf(name),
          markers: true,
          points: polys.filter((r) => r.p === p && r.estimator === name).map((r) =>
            [r.tau, last(r.exactLoss)] as const
          ),
        })).filter((x) => x.points.length > 0),
        references: optimum === undefined ? [] : [{ y: optimum, label: `optimum ${optimum.toFixed(4)}` }],
      }),
    );
  }
  if (vaes.length > 0) {
    const v = settings.vae;
    md.push(
      `## Categorical VAE ${v.config}`,
      "",
      `${v.config} on \`${v.data}\`, Adam 5e-4, batch 100, ${v.epochs} epochs, seed ${settings.seed}. ` +
        "−ELBO in nats per image (lower is better): train is the mean over the last epoch's batches, test is " +
        "over the whole test set after it.",
      "",
      ...markdownTable(
        ["estimator", "τ", "train −ELBO", "test −ELBO"],
        vaes.map((
          r,
        ) => [
          ESTIMATORS[r.estimator].title,
          `${r.tau}`,
          last(r.trainElbo).toFixed(2),
          last(r.testElbo).toFixed(2),
        ]),
      ),
      "",
      "![VAE −ELBO curves](vae-curves.svg)",
      "",
    );
    files.set(
      "vae-curves.svg",
      lineChart({
        title: `Categorical VAE ${v.config} on ${v.data}: −ELBO`,
        xLabel: "training step",
        yLabel: "−ELBO (nats per image)",
        series: vaes.flatMap((r): Series[] => [
          {
            label: `${ESTIMATORS[r.estimator].title} train`,
            color: colorOf(r.estimator),
            points: r.windowSteps.map((step, k) => [step, r.windowElbo[k]] as const),
          },
          {
            label: `${ESTIMATORS[r.estimator].title} test`,
            color: colorOf(r.estimator),
            dashed: true,
            markers: true,
            points: r.epochSteps.map((step, k) => [step, r.testElbo[k]] as const),
          },
        ]),
      }),
    );
  }
  files.set("results.md", md.join("\n"));
  files.set("results.json", JSON.stringify({ settings, results }, null, 1) + "\n");
  return files;
}

/**
 * A Markdown table padded the way `deno fmt` lays one out (first column left, the others right-aligned), so
 * the committed report passes the format check as written.
 */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, c) => Math.max(3, h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join(" | ")} |`;
  const rule = `| ${widths.map((w, c) => (c === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)];
}

async function writeAll(out: string, files: Map<string, string>): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  for (const [name, content] of files) await Deno.writeTextFile(`${out}/${name}`, content);
  console.error(`wrote ${[...files.keys()].map((n) => `${out}/${n}`).join(", ")}`);
}

if (import.meta.main) {
  await runCli(FLAGS, async () => {
    const mode = parseMode(Deno.args);
    if (mode.kind === "merge") {
      const { settings, results } = await readShards(mode.dir);
      await writeAll(mode.out, render(settings, results));
    } else if (mode.kind === "shard") {
      const results = await runJobs(mode.settings, mode.index, mode.count);
      const file: ShardFile = {
        format: "reinmax-reproduce-shard/1",
        shard: mode.index,
        shards: mode.count,
        settings: mode.settings,
        results,
      };
      await writeAll(
        mode.out,
        new Map([[`shard-${mode.index}-of-${mode.count}.json`, JSON.stringify(file) + "\n"]]),
      );
    } else {
      await writeAll(mode.out, render(mode.settings, await runJobs(mode.settings, 0, 1)));
    }
  });
}
