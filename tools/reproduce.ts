/**
 * The paper's figures in one command: the polynomial-programming sweep (every estimator the task supports,
 * a τ grid, p ∈ {1.5, 2, 3}) and a short categorical-VAE comparison (8×4, ReinMax against straight-through),
 * written as a Markdown table and SVG plots; and with `--table6`, the paper's Table 6: the Bernoulli VAE
 * 2×200 on Fashion-MNIST trained with ReinMax and every score-function estimator at K = 2 and 3 under the
 * protocol of Shi et al. (2022), its train −ELBO next to the paper's quoted figures.
 *
 *   deno task reproduce --quick                      # a few minutes on one core → reproduce-out/
 *   deno task reproduce --out sweep                  # the full grid
 *   deno task reproduce --table6 --quick             # Table 6, 500 steps per run on the bundled 10k images
 *   deno task reproduce --table6 --vae-data DIR --shards N --out table6   # the protocol: N runs of 10^6 steps
 *   deno task reproduce --shard 3/8 --out sweep      # every 8th job from the 4th; writes sweep/shard-3-of-8.json
 *   deno task reproduce --shards 8 --out sweep       # the same, the index taken from JOB_COMPLETION_INDEX
 *                                                    # (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID
 *   deno task reproduce --merge sweep                # table and plots from the shards (of either experiment)
 *
 * Every job is seeded and runs on the WebAssembly backend by default, so a job computes the same numbers
 * whichever shard runs it, and merging the shards gives the same files as one unsharded run. All flags are
 * checked before any job starts; a mistake is an error naming the flag (exit code 2).
 * @module
 */
import {
  adam,
  type Backend,
  BERNOULLI_VAE_SETTINGS,
  CategoricalVae,
  DiscreteModel,
  estimator,
  ESTIMATOR_NAMES,
  type EstimatorName,
  ESTIMATORS,
  type ImageSet,
  type LayerDeclaration,
  layers,
  PATHWISE_ESTIMATOR_NAMES,
  polyOptimum,
  polyTargets,
  ReinmaxInputError,
  SCORE_ESTIMATOR_NAMES,
  selectBackend,
  takesEvaluations,
  trainModel,
  trainPoly,
  trainVae,
} from "../mod.ts";
import { openDataset } from "../examples/data_source.ts";
import { type Flags, type FlagSpec, givenFlags, parseFlags, runCli } from "../examples/flags.ts";
import { lineChart, PALETTE, type Series } from "./svg_chart.ts";

const FLAGS = {
  table6: {
    type: "boolean",
    help: "Table 6 instead of the sweep: the Bernoulli VAE, ReinMax and the score-function estimators",
    default: false,
  },
  quick: {
    type: "boolean",
    help: "the short grid: fewer steps, τ values and epochs (--table6: 500 steps, the bundled 10k images)",
    default: false,
  },
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
  estimators: {
    type: "string",
    help: "poly (or --table6) estimators, comma-separated [default: all the experiment runs]",
    optional: true,
  },
  tau: {
    type: "string",
    help: "poly τ grid, comma-separated [default: 0.3…3, --quick 0.5,1,1.5,2]",
    optional: true,
  },
  p: { type: "string", help: "poly exponents, comma-separated", default: "1.5,2,3" },
  steps: {
    type: "number",
    help:
      "training steps per poly (or --table6) run [default: 8000, --quick 1000; --table6 10^6, --quick 500]",
    optional: true,
  },
  "vae-data": {
    type: "string",
    help:
      "VAE data: fixture, digits, a directory or URL (--table6 without --quick: ≥ 50,000 training images)",
    default: "fixture",
  },
  "vae-epochs": { type: "number", help: "VAE epochs, 0 to skip [default: 10, --quick 3]", optional: true },
  seed: { type: "number", help: "seed of every job", default: 0 },
} as const satisfies Record<string, FlagSpec>;

const USAGE =
  "usage: deno task reproduce [--table6] [--quick] [--out DIR] [--shard i/n | --shards n] | --merge DIR";
const FULL = { steps: 8000, taus: [0.3, 0.5, 0.7, 1, 1.2, 1.5, 2, 3], vaeEpochs: 10 };
const QUICK = { steps: 1000, taus: [0.5, 1, 1.5, 2], vaeEpochs: 3 };
/** Exact-loss points per poly curve (the run is cut into this many epochs). */
const CURVE_POINTS = 40;
/** The VAE comparison: the 8×4 model with its paper settings (Adam 5e-4), ReinMax against ST. */
const VAE_RUNS = [{ estimator: "reinmax", tau: 1.3 }, { estimator: "st", tau: 1.4 }] as const;
/** Train −ELBO points per VAE curve are means over windows of this many steps. */
const VAE_WINDOW = 20;

/** Table 6's rows: ReinMax against every unbiased score-function estimator of the estimator table. */
const TABLE6_ESTIMATORS: readonly EstimatorName[] = ["reinmax", ...SCORE_ESTIMATOR_NAMES];
/**
 * The protocol of Shi et al. (2022) for the binary VAE on Fashion-MNIST (their public code, thjashin/rodeo),
 * which Liu et al. (2023) quote in Table 6: 784–200–200–(200 Bernoulli latents)–200–200–784 with LeakyReLU
 * 0.3, a fixed uniform prior, batch 100, Adam at 3e-4, 10^6 steps, dynamic binarisation, the first 50,000
 * training images. ReinMax runs under it too (τ 1.1, the paper's for this model), not under its own paper's
 * RAdam and learned prior, so that only the estimator differs between rows.
 */
const TABLE6_PROTOCOL = {
  trainImages: 50_000,
  steps: 1_000_000,
  batch: 100,
  optimizer: "adam",
  lr: 3e-4,
  hidden: [200, 200],
  latents: 200,
  slope: 0.3,
  prior: "uniform",
  binarize: "dynamic",
  reinmaxTau: BERNOULLI_VAE_SETTINGS.tau,
  evaluations: [2, 3],
} as const;
/** `--table6 --quick`: the protocol cut to what one core runs in minutes (the bundled 10k images). */
const TABLE6_QUICK = { trainImages: 10_000, steps: 500 } as const;
/** Train −ELBO points per Table 6 curve: means over this many equal windows of steps. */
const TABLE6_CURVE_POINTS = 40;
/**
 * The paper's figures: the train −ELBO of Liu et al. (2023), Table 6, which quotes Shi et al. (2022), by
 * estimator and K. They could not be transcribed where this tool was written, so every entry is null and
 * prints as "not transcribed"; fill them in from the paper only, never from a run. A row or K missing here
 * reads as null.
 */
const PAPER_TABLE6: Readonly<Record<string, Readonly<Record<number, number | null>>>> = {
  reinmax: { 2: null, 3: null },
  rloo: { 2: null, 3: null },
  disarm: { 2: null },
  arms: { 2: null, 3: null },
  doublecv: { 2: null, 3: null },
  rodeo: { 2: null, 3: null },
};
const PAPER_SOURCE = "Liu et al. (2023), Table 6, quoting Shi et al. (2022)";

/** Everything that decides the sweep's jobs and their results; shards must agree on it to be merged. */
interface SweepSettings {
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

/** Everything that decides Table 6's jobs and their results. */
interface Table6Settings {
  readonly backend: "wasm" | "webgpu" | "auto";
  readonly seed: number;
  readonly table6: {
    /** A `--quick` run: fewer steps and images than the protocol, labelled so in every output. */
    readonly quick: boolean;
    readonly data: string;
    /** The first this many training images are the training set (all of them, if fewer, in a quick run). */
    readonly trainImages: number;
    readonly steps: number;
    readonly batch: number;
    readonly optimizer: "adam";
    readonly lr: number;
    readonly hidden: readonly number[];
    readonly latents: number;
    readonly slope: number;
    readonly prior: "uniform";
    readonly binarize: "dynamic";
    readonly reinmaxTau: number;
    readonly estimators: readonly EstimatorName[];
    readonly evaluations: readonly number[];
  };
}

type Settings = SweepSettings | Table6Settings;
type Experiment = "sweep" | "table6";

const experimentOf = (s: Settings): Experiment => ("table6" in s ? "table6" : "sweep");

type Job =
  | {
    readonly id: string;
    readonly kind: "table6";
    readonly estimator: EstimatorName;
    /** K, the codes drawn per image. */
    readonly evaluations: number;
  }
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

interface Table6Result {
  readonly id: string;
  readonly kind: "table6";
  readonly estimator: EstimatorName;
  readonly evaluations: number;
  /** The images trained on and evaluated: the first this many of the training set. */
  readonly trainImages: number;
  /** Pixels per image (784 for Fashion-MNIST): the encoder's input and the decoder's output. */
  readonly inputSize: number;
  /** Last step of each window and the mean −ELBO of its training steps. */
  readonly windowSteps: number[];
  readonly windowElbo: number[];
  /**
   * The table's figure after the last step: the single-sample −ELBO averaged over the K codes and over the
   * training set (freshly binarised), in nats per image, and its two terms.
   */
  readonly trainElbo: number;
  readonly reconstruction: number;
  readonly kl: number;
  /** Wall-clock seconds per training step, read-backs included: the one field that differs between runs. */
  readonly secondsPerStep: number;
}

type JobResult = PolyResult | VaeResult | Table6Result;

/** One shard's file. */
interface ShardFile {
  readonly format: "reinmax-reproduce-shard/1";
  readonly shard: number;
  readonly shards: number;
  readonly settings: Settings;
  readonly results: JobResult[];
}

/** How a shard file's name starts (`<prefix>-i-of-n.json`): each experiment's own, so both share a folder. */
const SHARD_PREFIX: Readonly<Record<Experiment, string>> = { sweep: "shard", table6: "table6-shard" };

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
  const given = givenFlags(args);
  if (flags.merge !== undefined) {
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
  if (flags.table6) {
    const settings = table6Settings(flags, given);
    const shard = shardOf(flags.shard, flags.shards);
    return shard === null
      ? { kind: "run", settings, out: flags.out }
      : { kind: "shard", settings, out: flags.out, ...shard };
  }
  const grid = flags.quick ? QUICK : FULL;
  // Polynomial programming takes the pathwise estimators only; the score-function ones are Table 6's.
  const estimators = estimatorList(flags.estimators, PATHWISE_ESTIMATOR_NAMES, "--table6");
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
  const settings: SweepSettings = {
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

/**
 * The estimators `--estimators` names, each one of `allowed`, in the order given (all of `allowed` when the
 * flag is left out). A name of the table that this experiment does not run points to the one that does.
 */
function estimatorList(
  value: string | undefined,
  allowed: readonly EstimatorName[],
  elsewhere: string,
): EstimatorName[] {
  if (value === undefined) return [...allowed];
  const names = list("estimators", value);
  for (const name of names) {
    if (!(allowed as readonly string[]).includes(name)) {
      const known = (ESTIMATOR_NAMES as readonly string[]).includes(name)
        ? `; ${ESTIMATORS[name as EstimatorName].title} runs with ${elsewhere}`
        : "";
      throw new ReinmaxInputError(
        "--estimators",
        `expected names from ${allowed.join(", ")}, got ${name}${known}`,
      );
    }
  }
  if (new Set(names).size !== names.length) {
    throw new ReinmaxInputError("--estimators", `a name is repeated in ${JSON.stringify(value)}`);
  }
  return names as EstimatorName[];
}

/** The sweep's flags that Table 6 has no use for, and why. */
const SWEEP_ONLY: Readonly<Record<string, string>> = {
  tau: `is the poly sweep's τ grid; --table6 runs ReinMax at τ ${TABLE6_PROTOCOL.reinmaxTau} and the ` +
    "score-function estimators have no τ",
  p: "is the poly sweep's exponents; --table6 trains the Bernoulli VAE only",
  "vae-epochs": "is the 8×4 VAE's epochs; --table6 counts training steps (--steps)",
};

/** Table 6's settings from the flags: the protocol of Shi et al. (2022), or its `--quick` cut. */
function table6Settings(flags: Flags<typeof FLAGS>, given: ReadonlySet<string>): Table6Settings {
  for (const [flag, why] of Object.entries(SWEEP_ONLY)) {
    if (given.has(flag)) throw new ReinmaxInputError(`--${flag}`, `${why}; leave it out`);
  }
  const estimators = estimatorList(flags.estimators, TABLE6_ESTIMATORS, "the poly sweep (without --table6)");
  if (!estimators.some((name) => TABLE6_PROTOCOL.evaluations.some((k) => allowsEvaluations(name, k)))) {
    throw new ReinmaxInputError(
      "--estimators",
      `none of ${estimators.join(", ")} runs at K = ${
        TABLE6_PROTOCOL.evaluations.join(" or ")
      }: no run to do`,
    );
  }
  const steps = wholeNumber("steps", flags.steps ?? (flags.quick ? TABLE6_QUICK : TABLE6_PROTOCOL).steps, 1);
  const seed = wholeNumber("seed", flags.seed, 0);
  const data = flags["vae-data"];
  if (data.trim() === "") throw new ReinmaxInputError("--vae-data", "expected fixture, digits or a path");
  if (!flags.quick && (data === "fixture" || data === "digits")) {
    // The bundled sets are smaller than the protocol's training set; a directory is checked when loaded.
    throw new ReinmaxInputError(
      "--vae-data",
      `the protocol trains on the first ${TABLE6_PROTOCOL.trainImages.toLocaleString("en")} Fashion-MNIST ` +
        `training images and "${data}" has fewer: give the directory (or URL) of the four IDX files, ` +
        "or add --quick for the short run on the bundled images",
    );
  }
  if (flags.out.trim() === "") throw new ReinmaxInputError("--out", "expected a directory");
  const p = TABLE6_PROTOCOL;
  return {
    backend: flags.backend as Settings["backend"],
    seed,
    table6: {
      quick: flags.quick,
      data,
      trainImages: (flags.quick ? TABLE6_QUICK : p).trainImages,
      steps,
      batch: p.batch,
      optimizer: p.optimizer,
      lr: p.lr,
      hidden: p.hidden,
      latents: p.latents,
      slope: p.slope,
      prior: p.prior,
      binarize: p.binarize,
      reinmaxTau: p.reinmaxTau,
      estimators,
      evaluations: p.evaluations,
    },
  };
}

// ---- jobs --------------------------------------------------------------------------------------------------

/** Every job of the grid, in a fixed order (VAE runs first: the longest, so shards share them out). */
function jobsOf(s: Settings): Job[] {
  if ("table6" in s) return table6Jobs(s);
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

/**
 * Evaluations of the loss per image for each code: 1, but RELAX scores its one code three times (at the code
 * and at its two relaxations), which is how the paper counts it.
 */
function lossesPerCode(name: EstimatorName): number {
  return ESTIMATORS[name].scoreFunction?.learns === "relaxation network" ? 3 : 1;
}

/**
 * The codes per image that make K evaluations of the loss per image, Table 6's K, or null where the estimator's
 * row allows no such number of codes (DisARM: exactly one antithetic pair; RELAX: one code, K = 3).
 */
function codesFor(name: EstimatorName, K: number): number | null {
  const codes = K / lossesPerCode(name);
  return Number.isInteger(codes) && takesEvaluations(name, codes) ? codes : null;
}

/** Whether an estimator runs at Table 6's K (evaluations of the loss per image). */
function allowsEvaluations(name: EstimatorName, K: number): boolean {
  return codesFor(name, K) !== null;
}

/** Table 6's jobs: each estimator at each K its row allows, one training run each. */
function table6Jobs(s: Table6Settings): Job[] {
  return s.table6.estimators.flatMap((name) =>
    s.table6.evaluations.filter((k) => allowsEvaluations(name, k)).map((evaluations): Job => ({
      id: `table6 ${name} K=${evaluations}`,
      kind: "table6",
      estimator: name,
      evaluations,
    }))
  );
}

async function runPoly(
  backend: Backend,
  s: SweepSettings,
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

/** The data set `--vae-data` names; a value that names none is an error about that flag. */
async function openVaeData(spec: string) {
  try {
    return await openDataset(spec);
  } catch (e) {
    if (e instanceof ReinmaxInputError && e.argument === "--data") {
      throw new ReinmaxInputError("--vae-data", e.message.slice(e.argument.length + 2), { cause: e });
    }
    throw e;
  }
}

async function runVae(
  backend: Backend,
  s: SweepSettings,
  job: Extract<Job, { kind: "vae" }>,
): Promise<VaeResult> {
  const data = await openVaeData(s.vae.data);
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

/**
 * Table 6's training set: the first `trainImages` images of the data's training set. Loaded and checked once,
 * before any job runs, so a data set too small for the protocol fails before hours are spent on it.
 */
async function table6TrainingSet(s: Table6Settings): Promise<ImageSet> {
  const { train } = await openVaeData(s.table6.data);
  const wanted = s.table6.trainImages;
  if (train.count < wanted && !s.table6.quick) {
    throw new ReinmaxInputError(
      "--vae-data",
      `${train.name} has ${train.count.toLocaleString("en")} training images; the protocol trains on the ` +
        `first ${wanted.toLocaleString("en")} of Fashion-MNIST's 60,000 (or add --quick)`,
    );
  }
  return train.slice(0, Math.min(train.count, wanted));
}

/**
 * One Table 6 run: the 2×200 Bernoulli VAE declared layer by layer as the built-in BernoulliVae is
 * (src/models/vae.ts), but with the protocol's fixed uniform prior and Adam, trained for the protocol's steps
 * with K codes per image; then the −ELBO over the whole training set.
 */
async function runTable6(
  backend: Backend,
  s: Table6Settings,
  job: Extract<Job, { kind: "table6" }>,
  trainSet: ImageSet,
): Promise<Table6Result> {
  const t = s.table6;
  const { linear, leakyRelu, bernoulli, bernoulliLikelihood } = layers;
  const mlp = (part: string, widths: readonly number[]) =>
    widths.flatMap((width, i): LayerDeclaration[] => [
      linear(width, { name: `${part}.fc${i + 1}` }),
      leakyRelu(t.slope, { name: `${part}.act${i + 1}` }),
    ]);
  const model = new DiscreteModel(backend, {
    inputSize: trainSet.size,
    layers: [
      ...mlp("encoder", t.hidden),
      // Its projection is the encoder's last linear layer: 200 values a, P(z = 1) = σ(2a − 1).
      bernoulli({
        name: "latent",
        latents: t.latents,
        estimator: estimator(job.estimator, job.estimator === "reinmax" ? { tau: t.reinmaxTau } : {}),
        evaluations: codesFor(job.estimator, job.evaluations)!,
        prior: t.prior,
        kl: true,
      }),
      ...mlp("decoder", [...t.hidden].reverse()),
      linear(trainSet.size, { name: `decoder.fc${t.hidden.length + 1}` }),
    ],
    likelihood: bernoulliLikelihood(),
    optimizer: adam({ lr: t.lr }),
    batch: t.batch,
    seed: s.seed,
    binarize: t.binarize,
  });
  // The curve: the mean step −ELBO over each of TABLE6_CURVE_POINTS equal windows of the run.
  const window = Math.ceil(t.steps / TABLE6_CURVE_POINTS);
  const sums = new Float64Array(Math.ceil(t.steps / window)), counts = new Float64Array(sums.length);
  try {
    let msPerStep = NaN;
    const epochs = trainModel(model, trainSet, {
      epochs: Math.ceil(t.steps / Math.ceil(trainSet.count / t.batch)),
      steps: t.steps,
      onProgress: (p) => {
        p.losses.forEach((loss, i) => {
          const w = Math.floor((p.firstStep + i - 1) / window);
          sums[w] += loss;
          counts[w]++;
        });
      },
    });
    for await (const e of epochs) msPerStep = e.msPerStep;
    const order = Uint32Array.from({ length: trainSet.count }, (_, i) => i);
    const final = await model.evaluate(
      (start, n, out) => trainSet.gather(order, out, start, n),
      trainSet.count,
    );
    return {
      ...job,
      trainImages: trainSet.count,
      inputSize: trainSet.size,
      windowSteps: Array.from(sums, (_, w) => Math.min((w + 1) * window, t.steps)),
      windowElbo: Array.from(sums, (sum, w) => sum / counts[w]),
      trainElbo: final.loss,
      reconstruction: final.terms.reconstruction,
      kl: final.terms.kl,
      secondsPerStep: msPerStep / 1000,
    };
  } finally {
    model.destroy();
  }
}

function runJob(
  backend: Backend,
  settings: Settings,
  job: Job,
  table6Set: ImageSet | null,
): Promise<JobResult> {
  if (job.kind === "table6") return runTable6(backend, settings as Table6Settings, job, table6Set!);
  const sweep = settings as SweepSettings;
  return job.kind === "poly" ? runPoly(backend, sweep, job) : runVae(backend, sweep, job);
}

async function runJobs(settings: Settings, index: number, count: number): Promise<JobResult[]> {
  const jobs = jobsOf(settings).filter((_, k) => k % count === index);
  const table6Set = "table6" in settings ? await table6TrainingSet(settings) : null;
  const backend = await selectBackend({ prefer: settings.backend });
  const results: JobResult[] = [];
  try {
    for (const [k, job] of jobs.entries()) {
      const started = performance.now();
      results.push(await runJob(backend, settings, job, table6Set));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.error(`[${k + 1}/${jobs.length}] ${job.id} (${seconds} s)`);
    }
  } finally {
    backend.destroy();
  }
  return results;
}

// ---- merging -----------------------------------------------------------------------------------------------

/**
 * The shards of one experiment in `dir`, checked for one set of settings and none missing, and their results
 * in job order; null when `dir` holds no shard of that experiment.
 */
async function readShards(
  dir: string,
  experiment: Experiment,
): Promise<{ settings: Settings; results: JobResult[] } | null> {
  const files: ShardFile[] = [];
  const name = new RegExp(`^${SHARD_PREFIX[experiment]}-\\d+-of-\\d+\\.json$`);
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !name.test(entry.name)) continue;
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
      if (file.format !== "reinmax-reproduce-shard/1" || experimentOf(file.settings) !== experiment) {
        throw new ReinmaxInputError(
          "--merge",
          `${entry.name} is not a ${experiment} shard file of this program`,
        );
      }
      files.push(file);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ReinmaxInputError("--merge", `no directory ${JSON.stringify(dir)}`, { cause: e });
    }
    throw e;
  }
  if (files.length === 0) return null;
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
function bestRuns(polys: readonly PolyResult[], p: number, settings: SweepSettings): PolyResult[] {
  const best: PolyResult[] = [];
  for (const name of settings.poly.estimators) {
    const runs = polys.filter((r) => r.p === p && r.estimator === name);
    if (runs.length > 0) best.push(runs.reduce((a, b) => (last(b.exactLoss) < last(a.exactLoss) ? b : a)));
  }
  return best;
}

/** The report of an experiment's results: its Markdown, JSON and SVG files, by file name. */
function render(settings: Settings, results: readonly JobResult[]): Map<string, string> {
  return "table6" in settings
    ? renderTable6(settings, results as readonly Table6Result[])
    : renderSweep(settings, results);
}

/** The sweep's Markdown report and SVG files. */
function renderSweep(settings: SweepSettings, results: readonly JobResult[]): Map<string, string> {
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

/** What a Table 6 cell says when the estimator's row does not allow that K: the K it does allow. */
function onlyEvaluations(name: EstimatorName): string {
  const range = ESTIMATORS[name].scoreFunction?.evaluations, per = lossesPerCode(name);
  if (range === undefined) return "—";
  const [low, high] = [range.min * per, range.max * per];
  return low === high ? `—, K = ${low} only` : `—, K = ${low}…${high} only`;
}

/** The command lines that run Table 6's protocol sharded, one run per task, and merge it. */
function table6Commands(data: string): string[] {
  const runs = table6Jobs({
    backend: "wasm",
    seed: 0,
    table6: { ...TABLE6_PROTOCOL, quick: false, data, estimators: TABLE6_ESTIMATORS },
  }).length;
  return [
    `deno task reproduce --table6 --vae-data ${data} --shards ${runs} --out table6`,
    "deno task reproduce --merge table6",
  ];
}

/** Table 6 as Markdown (the measured train −ELBO next to the paper's), its JSON and the curves. */
function renderTable6(settings: Table6Settings, results: readonly Table6Result[]): Map<string, string> {
  const t = settings.table6;
  // What the data gave (the same for every run): a quick run on a smaller set says so.
  const images = results[0]?.trainImages ?? t.trainImages, pixels = results[0]?.inputSize ?? 784;
  const fmt = (n: number) => n.toLocaleString("en");
  const ks = t.evaluations;
  const resultOf = (name: EstimatorName, k: number) =>
    results.find((r) => r.estimator === name && r.evaluations === k);
  const rows = t.estimators.map((name) => [
    name === "reinmax" ? `${ESTIMATORS[name].title} (τ ${t.reinmaxTau})` : ESTIMATORS[name].title,
    ...ks.map((k) => resultOf(name, k)?.trainElbo.toFixed(2) ?? onlyEvaluations(name)),
    ...ks.map((k) => {
      if (!allowsEvaluations(name, k)) return "—";
      const quoted = PAPER_TABLE6[name]?.[k] ?? null;
      return quoted === null ? "not transcribed" : quoted.toFixed(2);
    }),
    ...ks.map((k) => resultOf(name, k)?.secondsPerStep.toFixed(4) ?? "—"),
  ]);
  const untranscribed = rows.some((row) => row.includes("not transcribed"));
  const protocol = TABLE6_PROTOCOL;
  const encoder = [pixels, ...t.hidden, t.latents].join("–");
  const decoder = [t.latents, ...[...t.hidden].reverse(), pixels].join("–");
  const quickNote = `**A quick run (\`--quick\`), not the protocol:** ${fmt(t.steps)} steps per run on the ` +
    `first ${fmt(images)} training images, where the protocol takes ${fmt(protocol.steps)} steps on ` +
    `${fmt(protocol.trainImages)}. Its figures are far from converged and not comparable with the paper's.`;
  const md: string[] = [
    "# Table 6: the Bernoulli VAE, train −ELBO",
    "",
    ...(t.quick ? [quickNote, ""] : []),
    `The protocol of Shi et al. (2022): a VAE of ${t.latents} Bernoulli latents, encoder ${encoder} and ` +
    `decoder ${decoder} with LeakyReLU ${t.slope} after each hidden layer, a fixed ${t.prior} prior ` +
    `Bernoulli(½), batch ${t.batch}, Adam at learning rate ${t.lr.toExponential()}, ${fmt(t.steps)} steps, ` +
    "dynamic binarisation (each pixel 1[u < x], u drawn afresh every step), the first " +
    `${fmt(images)} training images (Fashion-MNIST in the protocol; here \`${t.data}\`); seed ` +
    `${settings.seed}, backend ${settings.backend}. K counts the loss's evaluations per image: K codes, but RELAX's one code scored at it and at its two relaxations. ReinMax ` +
    `(τ ${t.reinmaxTau}) runs under this protocol too, so that only the estimator differs between rows; its ` +
    "own paper's row used RAdam and a learned prior. −ELBO in nats per image, lower is better: the " +
    "single-sample −ELBO averaged over the K codes and over the training set after the last step.",
    "",
    ...markdownTable(
      [
        "estimator",
        ...ks.map((k) => `K = ${k}`),
        ...ks.map((k) => `paper, K = ${k}`),
        ...ks.map((k) => `s/step, K = ${k}`),
      ],
      rows,
    ),
    "",
    `Paper columns: ${PAPER_SOURCE}` +
    (untranscribed ? "; not transcribed where this table was made, so left blank rather than guessed." : "."),
    `s/step: wall-clock seconds per training step on ${settings.backend}, read-backs included; the one column ` +
    "that differs from run to run.",
    "",
    ...(t.quick
      ? [
        "The protocol, one run per task on a cluster (DIR: the four Fashion-MNIST IDX files), then the merge:",
        "",
        "```sh",
        ...table6Commands("DIR"),
        "```",
        "",
      ]
      : []),
    "![train −ELBO curves](table6-curves.svg)",
    "",
  ];
  const files = new Map<string, string>();
  files.set("table6.md", md.join("\n"));
  files.set("table6.json", JSON.stringify({ settings, results }, null, 1) + "\n");
  files.set(
    "table6-curves.svg",
    lineChart({
      title: `Bernoulli VAE on ${t.data}: train −ELBO${t.quick ? " (quick run)" : ""}`,
      xLabel: "training step",
      yLabel: "−ELBO (nats per image)",
      series: results.map((r): Series => ({
        label: `${ESTIMATORS[r.estimator].title} K=${r.evaluations}`,
        color: PALETTE[TABLE6_ESTIMATORS.indexOf(r.estimator) % PALETTE.length],
        dashed: r.evaluations !== ks[0],
        points: r.windowSteps.map((step, k) => [step, r.windowElbo[k]] as const),
      })),
    }),
  );
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

/** After a quick Table 6 run: what the protocol would cost at the speed just measured, and how to run it. */
function reportProtocolCost(results: readonly Table6Result[]): void {
  const hours = results.reduce((sum, r) => sum + r.secondsPerStep, 0) * TABLE6_PROTOCOL.steps / 3600;
  console.error(
    [
      `The protocol (${TABLE6_PROTOCOL.steps.toLocaleString("en")} steps per run) takes about ` +
      `${Math.round(hours)} CPU-hours at the speed of these runs; sharded, one run per task:`,
      ...table6Commands("DIR").map((line) => `  ${line}`),
      "with DIR the four Fashion-MNIST IDX files (e.g. /usr/share/datasets/fashion-mnist).",
    ].join("\n"),
  );
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
      // Whichever experiments have shards in the directory, each merged on its own.
      let merged = 0;
      for (const experiment of ["sweep", "table6"] as const) {
        const shards = await readShards(mode.dir, experiment);
        if (shards === null) continue;
        await writeAll(mode.out, render(shards.settings, shards.results));
        merged++;
      }
      if (merged === 0) {
        throw new ReinmaxInputError(
          "--merge",
          `no ${SHARD_PREFIX.sweep}-i-of-n.json or ${SHARD_PREFIX.table6}-i-of-n.json files in ${mode.dir}`,
        );
      }
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
        new Map([[
          `${SHARD_PREFIX[experimentOf(mode.settings)]}-${mode.index}-of-${mode.count}.json`,
          JSON.stringify(file) + "\n",
        ]]),
      );
    } else {
      const results = await runJobs(mode.settings, 0, 1);
      await writeAll(mode.out, render(mode.settings, results));
      if ("table6" in mode.settings && mode.settings.table6.quick) {
        reportProtocolCost(results as Table6Result[]);
      }
    }
  });
}
