/**
 * Trains the paper's VAEs from the command line — the categorical VAE C×L (docs/math.md §6.2) or the
 * Bernoulli VAE 2×200 (§6.3) — and prints the paper's metrics: train −ELBO (mean over each epoch's batches)
 * and test −ELBO (the whole test set), in nats per image. Optionally a PNG of test images, their
 * reconstructions and samples from the prior, and checkpoints a run can resume from, on any backend.
 *
 *   deno run --allow-read examples/vae.ts --config 10x30 --epochs 10
 *   deno run --allow-read examples/vae.ts --data /usr/share/datasets/fashion-mnist --estimator st --tau 1.4
 *   deno run --allow-read --allow-write examples/vae.ts --model bernoulli --evaluations 3 --checkpoint run.safetensors
 *   deno run --allow-read examples/vae.ts --model bernoulli --estimator rloo --evaluations 2
 *   deno run --allow-read --allow-write examples/vae.ts --resume run.safetensors --epochs 20 --backend wasm
 */
import {
  adam,
  BackendFailureError,
  BERNOULLI_VAE_SETTINGS,
  BernoulliVae,
  type Binarization,
  BINARIZATIONS,
  CATEGORICAL_CONFIGS,
  type CategoricalConfig,
  CategoricalVae,
  type Checkpoint,
  CheckpointError,
  decodeCheckpoint,
  defaultTau,
  encodeCheckpoint,
  encodePng,
  type Estimator,
  estimator,
  type EstimatorName,
  ESTIMATORS,
  formatReport,
  imageGrid,
  loadCheckpoint,
  type Optimizer,
  radam,
  ReinmaxInputError,
  selectBackend,
  trainVae,
  type Vae,
  type VaeEpoch,
} from "../mod.ts";
import { ESTIMATOR_FLAG, GUMBEL_DRAWS_FLAG, relaxes, tauFlag } from "./estimator_flags.ts";
import { readCheckpointFile } from "./checkpoint_file.ts";
import { openDataset } from "./data_source.ts";
import { givenFlags, parseFlags, runCli, SEED_FLAG } from "./flags.ts";
import { prepareOutput, writeAtomically } from "./output_file.ts";
import { plural, ProgressBar } from "./progress.ts";

const FLAGS = {
  model: { type: "string", help: "the model", default: "categorical", choices: ["categorical", "bernoulli"] },
  config: {
    type: "string",
    help: "categorical: categories × latents, C×L [default: 10x30]",
    choices: Object.keys(CATEGORICAL_CONFIGS),
    optional: true,
  },
  evaluations: {
    type: "number",
    help: "bernoulli: K codes per image, averaged before a step (the score-function estimators weigh them)",
    default: 1,
    integer: true,
    min: 1,
    max: 64,
  },
  binarize: {
    type: "string",
    help: "bernoulli: how images become binary",
    default: "dynamic",
    choices: BINARIZATIONS,
  },
  estimator: ESTIMATOR_FLAG,
  tau: tauFlag("the model's"),
  k: GUMBEL_DRAWS_FLAG,
  optimizer: {
    type: "string",
    help: "optimiser [default: the model's]",
    choices: ["adam", "radam"],
    optional: true,
  },
  lr: { type: "number", help: "learning rate [default: the model's]", optional: true },
  epochs: {
    type: "number",
    help: "train until this many epochs in total",
    default: 10,
    integer: true,
    min: 1,
  },
  batch: { type: "number", help: "images per step", default: 100, integer: true, min: 1, max: 1 << 20 },
  data: {
    type: "string",
    help: "fixture (bundled Fashion-MNIST 10k/2k), digits (bundled 8×8), or a directory or http(s) URL " +
      "holding the four MNIST-like IDX files",
    default: "fixture",
  },
  seed: SEED_FLAG,
  backend: { type: "string", help: "compute backend", default: "auto", choices: ["auto", "webgpu", "wasm"] },
  "read-every": {
    type: "number",
    help: "read losses back every N steps",
    default: 50,
    integer: true,
    min: 1,
    max: 1 << 16,
  },
  checkpoint: {
    type: "string",
    help: "write a checkpoint (safetensors) here after every epoch, atomically",
    optional: true,
  },
  resume: {
    type: "string",
    help: "continue the run of this checkpoint up to --epochs in total, with its flags unless given again",
    optional: true,
  },
  png: {
    type: "string",
    help: "write test images, their reconstructions and prior samples to this PNG file",
    optional: true,
  },
  json: { type: "boolean", help: "print one JSON object per epoch and a final one", default: false },
} as const;

/** Pictures per band of the PNG. */
const PICTURES = 16;

/** Why training stopped when the user pressed Ctrl-C. */
class Interrupted extends Error {
  override name = "Interrupted";
}

/** What a run trains, from the flags or, when resuming, from the checkpoint. */
interface Settings {
  readonly model: "categorical" | "bernoulli";
  readonly config?: CategoricalConfig;
  readonly evaluations: number;
  readonly binarize: Binarization;
  readonly estimator: Estimator;
  readonly optimizer: Optimizer;
  readonly batch: number;
  readonly seed: number;
  readonly data: string;
}

/** The settings the flags ask for, every one checked. */
function fromFlags(flags: ReturnType<typeof parse>): Settings {
  const model = flags.model as Settings["model"];
  const config = model === "categorical" ? (flags.config ?? "10x30") as CategoricalConfig : undefined;
  const defaults = config ? CATEGORICAL_CONFIGS[config] : BERNOULLI_VAE_SETTINGS;
  const name = flags.estimator as EstimatorName;
  return {
    model,
    config,
    evaluations: flags.evaluations,
    binarize: flags.binarize as Binarization,
    estimator: estimator(name, { tau: flags.tau ?? defaultTau(name, defaults.tau), k: flags.k }),
    optimizer: ((flags.optimizer ?? defaults.optimizer) === "radam" ? radam : adam)({
      lr: flags.lr ?? defaults.lr,
    }),
    batch: flags.batch,
    seed: flags.seed,
    data: flags.data,
  };
}

/** The settings of a checkpoint's run; a flag given again must agree with it. */
function fromCheckpoint(
  checkpoint: Checkpoint,
  source: string,
  flags: ReturnType<typeof parse>,
  given: Set<string>,
) {
  const { model, options, estimator: est } = checkpoint.description;
  if ((model !== "categorical" && model !== "bernoulli") || !est) {
    throw new CheckpointError(source, `expected a categorical or Bernoulli VAE, found a ${model} model`);
  }
  const o = options as Record<string, number | string>;
  const config = model === "categorical" ? `${o.categories}x${o.latents}` as CategoricalConfig : undefined;
  const settings: Settings = {
    model,
    config,
    evaluations: model === "bernoulli" ? Number(o.evaluations) : 1,
    binarize: (model === "bernoulli" ? o.binarize : "dynamic") as Binarization,
    estimator: est,
    optimizer: checkpoint.optimizer,
    batch: Number(o.batch),
    seed: Number(o.seed),
    data: checkpoint.run.data ?? flags.data,
  };
  const contradicts = (flag: string, theirs: unknown, asked: unknown) => {
    if (given.has(flag) && theirs !== asked) {
      throw new ReinmaxInputError(
        flag,
        `${JSON.stringify(asked)} contradicts the checkpoint's ${JSON.stringify(theirs)} (${source})`,
      );
    }
  };
  contradicts("model", model, flags.model);
  contradicts("config", config, flags.config);
  contradicts("evaluations", settings.evaluations, flags.evaluations);
  contradicts("binarize", settings.binarize, flags.binarize);
  contradicts("estimator", est.name, flags.estimator);
  contradicts("tau", est.tau, flags.tau);
  contradicts("k", est.k, flags.k);
  contradicts("optimizer", checkpoint.optimizer.name, flags.optimizer);
  contradicts("lr", checkpoint.optimizer.lr, flags.lr);
  contradicts("batch", settings.batch, flags.batch);
  contradicts("seed", settings.seed, flags.seed);
  contradicts("data", settings.data, flags.data);
  return settings;
}

function parse() {
  return parseFlags(Deno.args, FLAGS, "usage: deno run --allow-read [--allow-write] examples/vae.ts [flags]");
}

function describeModel(model: Vae, settings: Settings): string {
  const est = settings.estimator, opt = settings.optimizer;
  // An estimator that does not relax its samples carries a τ it does not use.
  const relaxation = relaxes(est.name) ? ` τ=${est.tau}` : "";
  const training = `${est.name}${relaxation}${ESTIMATORS[est.name].k ? ` k=${est.k}` : ""}, ${opt.name} ` +
    `lr=${opt.lr}, batch ${settings.batch}, seed ${settings.seed}`;
  if (model instanceof BernoulliVae) {
    return `Bernoulli VAE 2×${model.latents} (${model.inputSize}-${
      model.hidden.join("-")
    }-${model.latents}), ` +
      `K=${model.evaluations}, binarize ${model.binarize}, ${training}`;
  }
  const c = model as CategoricalVae;
  return `categorical VAE ${c.categories}×${c.latents} (${c.inputSize}-${c.hidden.join("-")}-` +
    `${c.categories * c.latents}), ${training}`;
}

await runCli(FLAGS, async () => {
  const flags = parse();
  const given = givenFlags(Deno.args);
  // Every flag is checked before any data or backend work. Whether the model takes the estimator at that K is
  // the model's to judge as it is built; its ReinmaxInputError names --estimator or --evaluations all the same.
  const resumeBytes = flags.resume === undefined ? undefined : await readCheckpointFile(flags.resume);
  const resumed = resumeBytes ? decodeCheckpoint(resumeBytes, flags.resume!) : undefined;
  const settings = resumed ? fromCheckpoint(resumed, flags.resume!, flags, given) : fromFlags(flags);
  const epochs = flags.epochs;
  const readEvery = flags["read-every"];
  // The files the run will write, checked now rather than after the training.
  if (flags.checkpoint !== undefined) await prepareOutput("checkpoint", flags.checkpoint);
  if (flags.png !== undefined) await prepareOutput("png", flags.png);
  const log = (line: string) => (flags.json ? console.error(line) : console.log(line));

  const data = await openDataset(settings.data);
  const { train, test } = data;
  const stepsPerEpoch = Math.ceil(train.count / settings.batch);
  if (resumed) {
    if (resumed.run.trainImages !== undefined && Number(resumed.run.trainImages) !== train.count) {
      throw new ReinmaxInputError(
        "data",
        `${settings.data} has ${train.count} training images; the checkpoint's run had ${resumed.run.trainImages}`,
      );
    }
    const done = resumed.state.step / stepsPerEpoch;
    if (done > epochs) {
      throw new ReinmaxInputError(
        "epochs",
        `the checkpoint has trained ${done} epochs already, more than ${epochs}`,
      );
    }
  }
  log(
    `data: ${data.name}: ${train.count} training and ${test.count} test images of ${train.height}×${train.width}`,
  );
  const backend = await selectBackend({ prefer: flags.backend as "auto" | "webgpu" | "wasm" });
  log(formatReport(backend.report));
  const common = {
    inputSize: train.size,
    estimator: settings.estimator,
    optimizer: settings.optimizer,
    batch: settings.batch,
    seed: settings.seed,
    readEvery,
  };
  let model: Vae;
  try {
    model = resumed
      ? loadCheckpoint(resumeBytes!, backend, flags.resume!).model as Vae
      : settings.model === "bernoulli"
      ? new BernoulliVae(backend, {
        ...common,
        evaluations: settings.evaluations,
        binarize: settings.binarize,
      })
      : new CategoricalVae(backend, { ...common, config: settings.config });
  } catch (e) {
    backend.destroy();
    throw e;
  }
  const run = {
    data: settings.data,
    dataName: data.name,
    trainImages: String(train.count),
    epochs: String(epochs),
  };
  let written: { path: string; epoch: number } | undefined;
  try {
    log(`model: ${describeModel(model, settings)}; backend memory ${model.formatMemory()}`);
    if (resumed) {
      log(
        `resumed from ${flags.resume} at step ${model.steps} (epoch ${
          model.steps / stepsPerEpoch
        } of ${epochs})`,
      );
    }
    const bar = new ProgressBar(epochs * stepsPerEpoch, !flags.json && Deno.stdout.isTerminal());
    bar.restart(model.steps);
    let last: VaeEpoch | undefined;
    // Ctrl-C stops training between steps (a checkpoint being written is finished first); a second one
    // ends the process at once.
    const interrupt = new AbortController();
    const onInterrupt = () => {
      if (interrupt.signal.aborted) Deno.exit(130);
      interrupt.abort(new Interrupted());
    };
    Deno.addSignalListener("SIGINT", onInterrupt);
    const resumeCommand = (path: string, backendFlag = "") =>
      `deno run --allow-read --allow-write examples/vae.ts --resume ${path} --epochs ${epochs}${backendFlag}`;
    const epochsRun = trainVae(model, train, {
      epochs,
      test,
      signal: interrupt.signal,
      onProgress: (p) => {
        const done = p.firstStep + p.losses.length - 1;
        bar.update(done, `epoch ${p.epoch}/${epochs}  −ELBO ${p.losses[p.losses.length - 1].toFixed(2)}`);
      },
      onCheckpoint: flags.checkpoint === undefined ? undefined : async (state) => {
        await writeAtomically(flags.checkpoint!, encodeCheckpoint(model, state, run));
        written = { path: flags.checkpoint!, epoch: state.step / stepsPerEpoch };
      },
    });
    try {
      for await (const e of epochsRun) {
        last = e;
        bar.clear();
        if (flags.json) console.log(JSON.stringify(e));
        else {
          console.log(
            `epoch ${String(e.epoch).padStart(String(epochs).length)}/${epochs}  ` +
              `train −ELBO ${e.trainElbo.toFixed(2)}  test −ELBO ${e.testElbo.toFixed(2)} ` +
              `(reconstruction ${e.testReconstruction.toFixed(2)} + KL ${e.testKl.toFixed(2)})  ` +
              `${e.msPerStep.toFixed(1)} ms/step`,
          );
        }
      }
    } catch (e) {
      bar.clear();
      if (e instanceof Interrupted) {
        console.error(`interrupted at step ${model.steps}.`);
        console.error(
          written
            ? `the last checkpoint, after epoch ${written.epoch}, is ${written.path}; continue with\n  ` +
              resumeCommand(written.path)
            : flags.checkpoint === undefined
            ? "no checkpoint was written: with --checkpoint FILE a run can be resumed after an interruption"
            : `no epoch had ended, so no checkpoint was written yet to ${flags.checkpoint}`,
        );
        Deno.exit(130);
      }
      if (e instanceof BackendFailureError && written) {
        console.error(`error: ${e.name}: ${e.message}`);
        console.error(
          `the last checkpoint, after epoch ${written.epoch}, is ${written.path}; continue on the CPU with\n  ` +
            resumeCommand(written.path, " --backend wasm"),
        );
        Deno.exit(1);
      }
      throw e;
    } finally {
      Deno.removeSignalListener("SIGINT", onInterrupt);
    }
    if (!last) {
      log(`nothing to do: the model has trained ${epochs} epochs already`);
      return;
    }
    const result = {
      trainElbo: last.trainElbo,
      testElbo: last.testElbo,
      epochs,
      steps: model.steps,
      msPerStep: last.msPerStep,
      backend: backend.name,
      model: settings.model,
      ...(settings.config
        ? { config: settings.config }
        : { evaluations: settings.evaluations, binarize: settings.binarize }),
      estimator: settings.estimator.name,
      tau: settings.estimator.tau,
      optimizer: settings.optimizer.name,
      lr: settings.optimizer.lr,
      batch: settings.batch,
      seed: settings.seed,
      data: data.name,
      bytesAllocated: model.bytesAllocated,
    };
    if (flags.json) console.log(JSON.stringify(result));
    else {
      console.log(
        `done: ${plural(epochs, "epoch")}, ${plural(model.steps, "step")}; train −ELBO ${
          result.trainElbo.toFixed(2)
        }, ` +
          `test −ELBO ${result.testElbo.toFixed(2)}; ${
            result.msPerStep.toFixed(1)
          } ms/step on ${backend.name}`,
      );
    }
    if (written) log(`checkpoint: ${written.path} (after epoch ${written.epoch})`);
    if (flags.png !== undefined) {
      const count = Math.min(PICTURES, test.count);
      const originals = new Float32Array(count * test.size);
      test.gather(Uint32Array.from({ length: count }, (_, i) => i), originals);
      const bands = [originals, await model.reconstruct(originals, count), await model.samplePrior(count)];
      // Small images (the 8×8 digits) are drawn larger so that they can be seen.
      const scale = Math.max(2, Math.round(56 / test.height));
      const grid = imageGrid(bands, { count, height: test.height, width: test.width, columns: count, scale });
      await writeAtomically(flags.png, encodePng(grid.pixels, grid.width, grid.height));
      const where = await Deno.realPath(flags.png);
      log(
        `wrote ${where}: top band test images, middle their reconstructions, bottom samples from the prior`,
      );
    }
  } finally {
    model.destroy();
    backend.destroy();
  }
});
