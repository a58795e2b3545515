/**
 * Classifies Fashion-MNIST through a stochastic categorical bottleneck — input, a hidden ReLU layer, L
 * categorical variables of C categories sampled on every pass, a linear read-out to the 10 classes — so that
 * the labels' gradient reaches the encoder only through the estimator. Each estimator trains its own model
 * from the same seed, side by side, and the program prints the train cross-entropy (mean over each epoch's
 * batches, nats per image) and the test accuracy (the whole test set, one sampled code per image) per epoch.
 *
 *   deno run --allow-read examples/classifier.ts --epochs 3
 *   deno run --allow-read examples/classifier.ts --config 4x24 --estimators reinmax,st,gst --tau 1.3,1.3,0.7
 *   deno run --allow-read examples/classifier.ts --train-examples 2000 --backend wasm --json
 *   deno run --allow-read --allow-write examples/classifier.ts --checkpoint run.safetensors
 */
import {
  adam,
  defaultTau,
  DiscreteModel,
  encodeCheckpoint,
  type Estimator,
  estimator,
  ESTIMATOR_NAMES,
  type EstimatorName,
  ESTIMATORS,
  formatReport,
  type ImageDataset,
  ImageSet,
  LAYER_TAU,
  layers,
  type ModelEpoch,
  radam,
  ReinmaxInputError,
  selectBackend,
  trainModel,
} from "../mod.ts";
import { openDataset } from "./data_source.ts";
import { PATHWISE_CHOICES } from "./estimator_flags.ts";
import { parseFlags, runCli, SEED_FLAG } from "./flags.ts";
import { prepareOutput, writeAtomically } from "./output_file.ts";
import { ProgressBar } from "./progress.ts";

const FLAGS = {
  config: {
    type: "string",
    help: "the bottleneck: categories × latents, C×L",
    default: "8x16",
  },
  hidden: {
    type: "number",
    help: "width of the ReLU layer before the bottleneck",
    default: 256,
    integer: true,
    min: 1,
    max: 1 << 16,
  },
  estimators: {
    type: "string",
    help: `comma-separated, each training its own model, of ${PATHWISE_CHOICES.join(", ")}`,
    default: "reinmax,st",
  },
  tau: {
    type: "string",
    help: `temperature τ: one for every estimator, or one per estimator, comma-separated [default: ${
      PATHWISE_CHOICES.map((name) => `${name} ${defaultTau(name, LAYER_TAU.categorical)}`).join(", ")
    }]`,
    optional: true,
  },
  optimizer: { type: "string", help: "optimiser", default: "adam", choices: ["adam", "radam"] },
  lr: { type: "number", help: "learning rate", default: 1e-3 },
  epochs: { type: "number", help: "epochs to train", default: 10, integer: true, min: 1, max: 1 << 16 },
  batch: { type: "number", help: "images per step", default: 100, integer: true, min: 1, max: 1 << 16 },
  "train-examples": {
    type: "number",
    help: "train on the first N training images only [default: all]",
    integer: true,
    min: 1,
    optional: true,
  },
  "test-examples": {
    type: "number",
    help: "measure accuracy on the first N test images only [default: all]",
    integer: true,
    min: 1,
    optional: true,
  },
  data: {
    type: "string",
    help: "fixture (bundled Fashion-MNIST 10k/2k), digits (bundled 8×8), or a directory or http(s) URL " +
      "holding the four MNIST-like IDX files",
    default: "fixture",
  },
  seed: {
    ...SEED_FLAG,
    help: "random seed (initialisation, samples, data order), the same for every estimator",
  },
  backend: { type: "string", help: "compute backend", default: "auto", choices: ["auto", "webgpu", "wasm"] },
  checkpoint: {
    type: "string",
    help: "after every epoch write each estimator's model here, the estimator's name before the extension " +
      "(run.safetensors: run.reinmax.safetensors, run.st.safetensors)",
    optional: true,
  },
  json: { type: "boolean", help: "print one JSON object per estimator and epoch", default: false },
} as const;

/** Classes of the read-out: the MNIST-like data sets all have ten. */
const CLASSES = 10;

/** A C×L bottleneck checked against what a categorical layer takes. */
function parseConfig(text: string): { categories: number; latents: number } {
  const match = /^(\d+)[x×](\d+)$/.exec(text.trim());
  if (!match) {
    throw new ReinmaxInputError(
      "config",
      `expected categories×latents such as 8x16, got ${JSON.stringify(text)}`,
    );
  }
  const categories = Number(match[1]), latents = Number(match[2]);
  if (categories < 2 || categories > 1 << 16) {
    throw new ReinmaxInputError("config", `expected 2 to ${1 << 16} categories, got ${categories}`);
  }
  // The projection to the logits is one row of C·L values per image.
  if (latents < 1 || categories * latents > 1 << 24) {
    throw new ReinmaxInputError(
      "config",
      `expected 1 to ${
        Math.floor((1 << 24) / categories)
      } latents of ${categories} categories, got ${latents}`,
    );
  }
  return { categories, latents };
}

/** The estimators the flags name, each with its τ; any mistake names --estimators or --tau. */
function parseEstimators(names: string, taus: string | undefined): Estimator[] {
  const list = (flag: string, text: string) => {
    const items = text.split(",").map((s) => s.trim());
    if (items.some((s) => s === "")) {
      throw new ReinmaxInputError(flag, `expected a comma-separated list, got ${JSON.stringify(text)}`);
    }
    return items;
  };
  const chosen = list("estimators", names);
  for (const [i, name] of chosen.entries()) {
    if (!PATHWISE_CHOICES.includes(name as EstimatorName)) {
      // A score-function estimator weighs the losses of K Bernoulli codes: the categorical bottleneck has none.
      const why = ESTIMATOR_NAMES.includes(name as EstimatorName)
        ? `${name} is a score-function estimator of Bernoulli latents (examples/vae.ts --model bernoulli)`
        : `unknown estimator ${JSON.stringify(name)}`;
      throw new ReinmaxInputError(
        "estimators",
        `${why}; the categorical bottleneck takes some of ${PATHWISE_CHOICES.join(", ")}`,
      );
    }
    if (chosen.indexOf(name) !== i) {
      throw new ReinmaxInputError("estimators", `${name} is named twice`);
    }
  }
  const given = taus === undefined ? undefined : list("tau", taus).map((t) => {
    const tau = Number(t);
    if (!Number.isFinite(tau)) {
      throw new ReinmaxInputError("tau", `expected numbers, got ${JSON.stringify(t)}`);
    }
    return tau;
  });
  if (given && given.length !== 1 && given.length !== chosen.length) {
    throw new ReinmaxInputError(
      "tau",
      `expected one τ for every estimator or one for each of the ${chosen.length} (${chosen.join(", ")}), ` +
        `got ${given.length}: ${taus}`,
    );
  }
  return chosen.map((name, i) => {
    const n = name as EstimatorName;
    // estimator() refuses a τ outside the estimator's domain under "tau", which the CLI reports as --tau.
    return estimator(n, {
      tau: given ? given[given.length === 1 ? 0 : i] : defaultTau(n, LAYER_TAU.categorical),
    });
  });
}

/** `path` with `name` before its extension: run.safetensors → run.reinmax.safetensors. */
function checkpointPath(path: string, name: string): string {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const dot = path.lastIndexOf(".");
  return dot > slash + 1 ? `${path.slice(0, dot)}.${name}${path.slice(dot)}` : `${path}.${name}`;
}

/** The first `count` images of `set` (all of them when `count` is undefined), labels included. */
function firstImages(set: ImageSet, count: number | undefined, flag: string): ImageSet {
  if (count === undefined || count === set.count) return set;
  if (count > set.count) {
    throw new ReinmaxInputError(flag, `${set.name} has ${set.count} images, fewer than ${count}`);
  }
  return new ImageSet({
    name: `${set.name} (first ${count})`,
    count,
    height: set.height,
    width: set.width,
    channels: set.channels,
    pixels: set.pixels.subarray(0, count * set.size),
    labels: set.labels?.subarray(0, count),
    maxValue: set.maxValue,
  });
}

const percent = (fraction: number) => `${(100 * fraction).toFixed(2)}%`;

/** How an estimator is named in the table: its title and τ. */
const title = (est: Estimator) => `${ESTIMATORS[est.name].title} τ=${est.tau}`;

/** Width of one estimator's columns in the table. */
const COLUMN = 24;

await runCli(FLAGS, async () => {
  const flags = parseFlags(
    Deno.args,
    FLAGS,
    "usage: deno run --allow-read [--allow-write] examples/classifier.ts [flags]",
  );
  // Every flag is checked before any data or backend work.
  const { categories, latents } = parseConfig(flags.config);
  const estimators = parseEstimators(flags.estimators, flags.tau);
  const optimizer = (flags.optimizer === "radam" ? radam : adam)({ lr: flags.lr });
  const epochs = flags.epochs, batch = flags.batch;
  const checkpoints = flags.checkpoint === undefined
    ? undefined
    : estimators.map((est) => checkpointPath(flags.checkpoint!, est.name));
  for (const path of checkpoints ?? []) await prepareOutput("checkpoint", path);
  const log = (line: string) => (flags.json ? console.error(line) : console.log(line));

  const data: ImageDataset = await openDataset(flags.data);
  if (!data.train.labels || !data.test.labels) {
    throw new ReinmaxInputError("data", `${data.name} has no labels to classify by`);
  }
  const train = firstImages(data.train, flags["train-examples"], "train-examples");
  const test = firstImages(data.test, flags["test-examples"], "test-examples");
  if (batch > train.count) {
    throw new ReinmaxInputError("batch", `expected at most the ${train.count} training images, got ${batch}`);
  }
  const stepsPerEpoch = Math.ceil(train.count / batch);
  log(
    `data: ${data.name}: ${train.count} training and ${test.count} test images of ${train.height}×${train.width}`,
  );
  const backend = await selectBackend({ prefer: flags.backend as "auto" | "webgpu" | "wasm" });
  log(formatReport(backend.report));
  const models: DiscreteModel[] = [];
  const runs: AsyncGenerator<ModelEpoch>[] = [];
  try {
    for (const est of estimators) {
      models.push(
        new DiscreteModel(backend, {
          inputSize: train.size,
          layers: [
            layers.linear(flags.hidden),
            layers.relu(),
            layers.categorical({ categories, latents, estimator: est, kl: false }),
            layers.linear(CLASSES),
          ],
          likelihood: layers.categoricalLikelihood({ classes: CLASSES }),
          optimizer,
          batch,
          seed: flags.seed,
        }),
      );
    }
    log(
      `model: ${train.size}-${flags.hidden}-(${categories}×${latents} categorical)-${CLASSES}, ` +
        `${optimizer.name} lr=${optimizer.lr}, batch ${batch}, seed ${flags.seed}; ` +
        `${estimators.map(title).join(", ")}; backend memory per model ${models[0].formatMemory()}`,
    );
    // One bar over every model's steps: the models take turns, an epoch each.
    const bar = new ProgressBar(
      estimators.length * epochs * stepsPerEpoch,
      !flags.json && Deno.stdout.isTerminal(),
    );
    const done = estimators.map(() => 0);
    const runInfo = { data: flags.data, dataName: data.name, trainImages: String(train.count) };
    for (const [i, model] of models.entries()) {
      runs.push(trainModel(model, train, {
        epochs,
        test,
        onProgress: (p) => {
          done[i] = p.firstStep + p.losses.length - 1;
          bar.update(
            done.reduce((a, b) => a + b, 0),
            `epoch ${p.epoch}/${epochs} ${estimators[i].name}  cross-entropy ${p.losses.at(-1)!.toFixed(3)}`,
          );
        },
        onCheckpoint: checkpoints === undefined
          ? undefined
          : (state) => writeAtomically(checkpoints[i], encodeCheckpoint(model, state, runInfo)),
      }));
    }
    if (!flags.json) {
      const pad = (text: string) => text.padStart(COLUMN);
      console.log(`epoch${estimators.map((est) => pad(title(est))).join("")}       time`);
      console.log(`     ${estimators.map(() => pad("train CE  test acc")).join("")}`);
    }
    const last: ModelEpoch[] = [];
    const seconds = estimators.map(() => 0);
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const row: string[] = [];
      const started = performance.now();
      for (const [i, run] of runs.entries()) {
        const t = performance.now();
        const next = await run.next();
        if (next.done) throw new Error(`the ${estimators[i].name} model stopped before epoch ${epoch}`);
        const e = next.value;
        const elapsed = (performance.now() - t) / 1000;
        seconds[i] += elapsed;
        last[i] = e;
        bar.clear();
        if (flags.json) {
          console.log(JSON.stringify({
            estimator: estimators[i].name,
            tau: estimators[i].tau,
            epoch: e.epoch,
            step: e.step,
            trainLoss: e.trainLoss,
            testLoss: e.testLoss,
            testAccuracy: e.testAccuracy,
            seconds: elapsed,
          }));
        }
        row.push(`${e.trainLoss.toFixed(4).padStart(COLUMN - 10)}${percent(e.testAccuracy).padStart(10)}`);
      }
      if (!flags.json) {
        const time = `${((performance.now() - started) / 1000).toFixed(1)} s`;
        console.log(`${String(epoch).padStart(5)}${row.join("")}${time.padStart(11)}`);
      }
    }
    const ranked = estimators.map((est, i) => ({ est, accuracy: last[i].testAccuracy }))
      .sort((a, b) => b.accuracy - a.accuracy);
    log(
      `done: ${epochs} epoch${epochs === 1 ? "" : "s"} of ${stepsPerEpoch} steps; test accuracy ` +
        ranked.map((r) => `${ESTIMATORS[r.est.name].title} ${percent(r.accuracy)}`).join(", ") +
        (ranked.length > 1 && ranked[0].accuracy > ranked[1].accuracy
          ? ` (${ESTIMATORS[ranked[0].est.name].title} ahead by ${
            (100 * (ranked[0].accuracy - ranked[1].accuracy)).toFixed(2)
          } points)`
          : "") +
        `; ${(seconds.reduce((a, b) => a + b, 0) / (epochs * estimators.length)).toFixed(1)} s per ` +
        `estimator and epoch on ${backend.name}`,
    );
    if (checkpoints) log(`checkpoints: ${checkpoints.join(", ")} (after epoch ${epochs})`);
  } finally {
    for (const run of runs) await run.return(undefined);
    for (const model of models) model.destroy();
    backend.destroy();
  }
});
