/**
 * The paper's gradient-quality analysis for the 8×4 categorical VAE (docs/math.md §6.4): the exact gradient of
 * the expected reconstruction term with respect to the encoder's logits, by enumerating all 4,096 codes,
 * against M draws of each estimator at each τ — the relative error of their mean, their spread relative to
 * the mean, and the cosine to the exact gradient. On a freshly initialised model, one trained first, or one
 * from a checkpoint.
 *
 *   deno run --allow-read examples/gradient_quality.ts --train-epochs 5 --draws 1024   # the README's table
 *   deno run --allow-read examples/gradient_quality.ts --draws 256 --tau 0.5,1,1.3,2 --json
 *   deno run --allow-read examples/gradient_quality.ts --checkpoint run.safetensors
 */
import {
  allImages,
  CategoricalVae,
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
  selectBackend,
  trainVae,
} from "../mod.ts";
import { GUMBEL_DRAWS_FLAG } from "./estimator_flags.ts";
import { readCheckpointFile } from "./checkpoint_file.ts";
import { openDataset } from "./data_source.ts";
import { parseFlags, runCli, SEED_FLAG } from "./flags.ts";
import { ProgressBar } from "./progress.ts";

const FLAGS = {
  estimators: {
    type: "string",
    help: `comma-separated, of ${[...ESTIMATOR_NAMES, "reinforce"].join(", ")}`,
    default: "reinmax,st,stgs,gst,grmck",
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
  checkpoint: { type: "string", help: "analyse the 8×4 model of this checkpoint instead", optional: true },
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
  const names = list("estimators", flags.estimators);
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
    ? loadCheckpoint(checkpoint, backend, flags.checkpoint!).model as CategoricalVae
    : new CategoricalVae(backend, { config: "8x4", inputSize: data.train.size, seed: flags.seed });
  try {
    if (!(model instanceof CategoricalVae)) {
      throw new ReinmaxInputError("checkpoint", "expected a categorical VAE");
    }
    if (trainEpochs > 0) {
      for await (const e of trainVae(model, data.train, { epochs: trainEpochs })) {
        log(`trained epoch ${e.epoch}: train −ELBO ${e.trainElbo.toFixed(2)}`);
      }
    }
    const images = allImages(data.test.slice(0, count));
    log(
      `${model.categories}×${model.latents} VAE at step ${model.steps}; ${count} test images of ${data.name}; ` +
        `M = ${draws} draws per estimator` +
        (skipped.length ? `; skipped ${skipped.join(", ")}` : ""),
    );
    if (trainEpochs === 0 && checkpoint === undefined) {
      log("note: the model is untrained (the README's table is of a model trained with --train-epochs 5)");
    }
    // The exact gradient, then M backward passes per estimator: minutes, so progress is shown as it goes.
    const bar = new ProgressBar(estimators.length, Deno.stderr.isTerminal(), 30, Deno.stderr);
    bar.update(0, "exact gradient by enumeration…");
    const rows: GradientQuality[] = await gradientQuality(
      model,
      images,
      count,
      estimators,
      draws,
      (row, done) => {
        const what = `${row.estimator}${Number.isNaN(row.tau) ? "" : ` τ=${row.tau}`}`;
        if (Deno.stderr.isTerminal()) bar.update(done, `${what} done`);
        else console.error(`${done}/${estimators.length}: ${what} done`);
      },
    );
    bar.clear();
    if (flags.json) { for (const row of rows) console.log(JSON.stringify(row)); }
    else {
      console.log("| estimator | τ | ‖exact − mean‖/‖exact‖ | ‖std‖/‖mean‖ | cos(exact, mean) |");
      console.log("| --- | ---: | ---: | ---: | ---: |");
      for (const r of rows) {
        console.log(
          `| ${r.estimator} | ${Number.isNaN(r.tau) ? "—" : r.tau} | ${r.relativeError.toFixed(4)} | ` +
            `${r.relativeStd.toFixed(4)} | ${r.cosine.toFixed(4)} |`,
        );
      }
    }
  } finally {
    model.destroy();
    backend.destroy();
  }
});
