/**
 * The paper's gradient-quality analysis (docs/math.md §6.4): the exact gradient of the expected reconstruction
 * term with respect to the encoder's outputs, by enumerating every code — the 8×4 categorical VAE's 4,096, or
 * a Bernoulli VAE's 2^latents — against M draws of each estimator at each τ: the relative error of their
 * mean, their spread relative to the mean, the cosine to the exact gradient, and χ² of the error against the
 * spread (about its degrees of freedom for an unbiased estimator). On a freshly initialised model, one trained
 * first, or one from a checkpoint.
 *
 *   deno run --allow-read examples/gradient_quality.ts --train-epochs 5 --draws 1024   # the README's table
 *   deno run --allow-read examples/gradient_quality.ts --draws 256 --tau 0.5,1,1.3,2 --json
 *   deno run --allow-read examples/gradient_quality.ts --checkpoint run.safetensors
 *   deno run --allow-read examples/gradient_quality.ts --model bernoulli --evaluations 2 --train-epochs 1
 */
import {
  allImages,
  type AnalysedVae,
  BernoulliVae,
  CategoricalVae,
  chiSquareBound,
  type Estimator,
  estimator,
  ESTIMATOR_NAMES,
  type EstimatorName,
  ESTIMATORS,
  formatReport,
  type GradientQuality,
  gradientQuality,
  loadCheckpoint,
  ReinmaxInputError,
  SCORE_ESTIMATOR_NAMES,
  selectBackend,
  takesEvaluations,
  trainVae,
} from "../mod.ts";
import { GUMBEL_DRAWS_FLAG } from "./estimator_flags.ts";
import { readCheckpointFile } from "./checkpoint_file.ts";
import { openDataset } from "./data_source.ts";
import { parseFlags, runCli, SEED_FLAG } from "./flags.ts";
import { ProgressBar } from "./progress.ts";

/** The estimators each model analyses unless --estimators says otherwise. */
const DEFAULT_ESTIMATORS = {
  categorical: "reinmax,st,stgs,gst,grmck",
  bernoulli: ["reinmax", "st", ...SCORE_ESTIMATOR_NAMES].join(","),
};

const FLAGS = {
  model: {
    type: "string",
    help: "the 8×4 categorical VAE, or a Bernoulli VAE small enough to enumerate",
    default: "categorical",
    choices: ["categorical", "bernoulli"],
  },
  latents: {
    type: "number",
    help: "bernoulli: latents (2^latents codes are enumerated)",
    default: 12,
    integer: true,
    min: 1,
    max: 16,
  },
  evaluations: {
    type: "number",
    help: "bernoulli: K codes per image (the score-function estimators need K ≥ 2)",
    default: 2,
    integer: true,
    min: 1,
    max: 8,
  },
  estimators: {
    type: "string",
    help: `comma-separated, of ${
      [...ESTIMATOR_NAMES, "reinforce"].join(", ")
    } [default: categorical ${DEFAULT_ESTIMATORS.categorical}; bernoulli ${DEFAULT_ESTIMATORS.bernoulli}, those the K allows]`,
    optional: true,
  },
  tau: { type: "string", help: "comma-separated temperatures", default: "0.5,1,1.3,2" },
  k: GUMBEL_DRAWS_FLAG,
  draws: {
    type: "number",
    help: "M, draws of each estimator",
    default: 1024,
    integer: true,
    min: 2,
    max: 1 << 20,
  },
  images: {
    type: "number",
    help: "test images the gradient is taken on",
    default: 10,
    integer: true,
    min: 1,
    max: 100,
  },
  "train-epochs": {
    type: "number",
    help: "train the model this many epochs first (ReinMax, Adam 5e-4); 0 analyses the untrained model",
    default: 0,
    integer: true,
    min: 0,
  },
  checkpoint: { type: "string", help: "analyse the VAE of this checkpoint instead", optional: true },
  data: {
    type: "string",
    help: "fixture, digits, or a directory or URL of MNIST-like files",
    default: "fixture",
  },
  seed: SEED_FLAG,
  backend: { type: "string", help: "compute backend", default: "auto", choices: ["auto", "webgpu", "wasm"] },
  json: { type: "boolean", help: "print the table as JSON lines", default: false },
} as const;

function list(flag: string, text: string): string[] {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) {
    throw new ReinmaxInputError(flag, `expected a comma-separated list, got ${JSON.stringify(text)}`);
  }
  return items;
}

await runCli(FLAGS, async () => {
  const flags = parseFlags(
    Deno.args,
    FLAGS,
    "usage: deno run --allow-read examples/gradient_quality.ts [flags]",
  );
  const bernoulli = flags.model === "bernoulli";
  const names = list("estimators", flags.estimators ?? DEFAULT_ESTIMATORS[flags.model as "categorical"])
    .filter(
      // The default list keeps the estimators the K allows; a list given keeps all, and the model refuses.
      (name) =>
        flags.estimators !== undefined || !bernoulli ||
        takesEvaluations(name as EstimatorName, flags.evaluations),
    );
  for (const name of names) {
    if (name !== "reinforce" && !ESTIMATOR_NAMES.includes(name as EstimatorName)) {
      throw new ReinmaxInputError("estimators", `unknown estimator ${JSON.stringify(name)}`);
    }
  }
  const taus = list("tau", flags.tau).map((t) => {
    const tau = Number(t);
    if (!Number.isFinite(tau)) {
      throw new ReinmaxInputError("tau", `expected numbers, got ${JSON.stringify(t)}`);
    }
    return tau;
  });
  const draws = flags.draws, count = flags.images, trainEpochs = flags["train-epochs"];
  // Every (estimator, τ) pair; a τ below an estimator's own minimum (ReinMax's 1) is skipped for it, any
  // other bad τ is an error naming --tau.
  const skipped: string[] = [];
  const estimators: (Estimator | "reinforce")[] = [];
  for (const name of names) {
    if (name === "reinforce") {
      estimators.push("reinforce");
      continue;
    }
    const row = ESTIMATORS[name as EstimatorName];
    if (row.scoreFunction) {
      // No τ: one row.
      estimators.push(estimator(name as EstimatorName));
      continue;
    }
    for (const tau of taus) {
      if (tau < row.tau.min) skipped.push(`${name} τ=${tau} (${row.title} requires τ ≥ ${row.tau.min})`);
      else estimators.push(estimator(name as EstimatorName, { tau, k: flags.k }));
    }
  }
  const log = (line: string) => (flags.json ? console.error(line) : console.log(line));
  const checkpoint = flags.checkpoint === undefined ? undefined : await readCheckpointFile(flags.checkpoint);
  const data = await openDataset(flags.data);
  const backend = await selectBackend({ prefer: flags.backend as "auto" | "webgpu" | "wasm" });
  log(formatReport(backend.report));
  const model = checkpoint !== undefined
    ? loadCheckpoint(checkpoint, backend, flags.checkpoint!).model as AnalysedVae
    : bernoulli
    ? new BernoulliVae(backend, {
      latents: flags.latents,
      evaluations: flags.evaluations,
      inputSize: data.train.size,
      seed: flags.seed,
      // The analysis compares draws on the same inputs: grey pixels as the likelihood's targets.
      binarize: "none",
    })
    : new CategoricalVae(backend, { config: "8x4", inputSize: data.train.size, seed: flags.seed });
  const twins: BernoulliVae[] = [];
  try {
    if (!(model instanceof CategoricalVae) && !(model instanceof BernoulliVae)) {
      throw new ReinmaxInputError("checkpoint", "expected a categorical or a Bernoulli VAE");
    }
    if (trainEpochs > 0) {
      for await (const e of trainVae(model, data.train, { epochs: trainEpochs })) {
        log(`trained epoch ${e.epoch}: train −ELBO ${e.trainElbo.toFixed(2)}`);
      }
    }
    const images = allImages(data.test.slice(0, count));
    const what = model instanceof BernoulliVae
      ? `Bernoulli VAE of ${model.latents} latents, K = ${model.evaluations},`
      : `${model.categories}×${model.latents} VAE`;
    log(
      `${what} at step ${model.steps}; ${count} test images of ${data.name}; ` +
        `M = ${draws} draws per estimator` +
        (skipped.length ? `; skipped ${skipped.join(", ")}` : ""),
    );
    if (trainEpochs === 0 && checkpoint === undefined) {
      log("note: the model is untrained (the README's table is of a model trained with --train-epochs 5)");
    }
    // The exact gradient, then M backward passes per estimator: minutes, so progress is shown as it goes.
    const bar = new ProgressBar(estimators.length, Deno.stderr.isTerminal(), 30, Deno.stderr);
    bar.update(0, "exact gradient by enumeration…");
    const progress = (row: GradientQuality, done: number) => {
      const what = `${row.estimator}${Number.isNaN(row.tau) ? "" : ` τ=${row.tau}`}`;
      if (Deno.stderr.isTerminal()) bar.update(done, `${what} done`);
      else console.error(`${done}/${estimators.length}: ${what} done`);
    };
    const rows: GradientQuality[] = [];
    // A score-function estimator runs on a twin declared with it: the same parameters, plus those it learns
    // (Double CV, RODEO, RELAX), which start where training would start them.
    const own = estimators.filter((e) => e !== "reinforce" && ESTIMATORS[e.name].scoreFunction !== undefined);
    const shared = estimators.filter((e) => !own.includes(e));
    if (shared.length > 0) {
      rows.push(
        ...await gradientQuality(model, images, count, shared, draws, (r, done) => progress(r, done)),
      );
    }
    for (const est of own) {
      if (!(model instanceof BernoulliVae)) {
        throw new ReinmaxInputError("estimators", `${(est as Estimator).name} needs --model bernoulli`);
      }
      const twin = new BernoulliVae(backend, {
        latents: model.latents,
        hidden: model.hidden,
        evaluations: model.evaluations,
        inputSize: model.inputSize,
        seed: model.seed,
        binarize: "none",
        estimator: est as Estimator,
      });
      twins.push(twin);
      const state = await model.readState();
      for (const p of twin.parameters) {
        const values = state.tensors.get(p.label);
        if (values) backend.write(p.value.buffer, values);
      }
      const [row] = await gradientQuality(twin, images, count, [est], draws);
      rows.push(row);
      progress(row, rows.length);
    }
    bar.clear();
    if (flags.json) { for (const row of rows) console.log(JSON.stringify(row)); }
    else {
      console.log(
        "| estimator | τ | ‖exact − mean‖/‖exact‖ | ‖std‖/‖mean‖ | cos(exact, mean) | χ² / bound (0.999) |",
      );
      console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
      for (const r of rows) {
        const unbiased = ESTIMATORS[r.estimator as EstimatorName]?.scoreFunction ||
          r.estimator === "reinforce";
        console.log(
          `| ${r.estimator} | ${Number.isNaN(r.tau) || unbiased ? "—" : r.tau} | ${
            r.relativeError.toFixed(4)
          } | ` +
            `${r.relativeStd.toFixed(4)} | ${r.cosine.toFixed(4)} | ` +
            `${r.chiSquare.toFixed(0)} / ${chiSquareBound(r.degrees).toFixed(0)} |`,
        );
      }
    }
  } finally {
    for (const twin of twins) twin.destroy();
    model.destroy();
    backend.destroy();
  }
});
