/**
 * Trains the paper's categorical VAE from the command line (docs/math.md §6.2) and prints the paper's
 * metrics — train −ELBO (mean over each epoch's batches) and test −ELBO (the whole test set), in nats per
 * image — and optionally a PNG of test images, their reconstructions and samples from the prior.
 *
 *   deno run --allow-read examples/vae.ts --config 10x30 --epochs 10
 *   deno run --allow-read examples/vae.ts --data /usr/share/datasets/fashion-mnist --estimator st --tau 1.4
 *   deno run --allow-read --allow-write examples/vae.ts --config 8x4 --png vae.png --json
 */
import {
  adam,
  CATEGORICAL_CONFIGS,
  type CategoricalConfig,
  CategoricalVae,
  encodePng,
  estimator,
  ESTIMATOR_NAMES,
  type EstimatorName,
  formatReport,
  imageGrid,
  radam,
  selectBackend,
  trainVae,
  type VaeEpoch,
} from "../mod.ts";
import { requireInteger } from "../src/validate.ts";
import { seedKey } from "../src/random.ts";
import { openDataset } from "./data_source.ts";
import { parseFlags, runCli } from "./flags.ts";
import { ProgressBar } from "./progress.ts";

const FLAGS = {
  model: { type: "string", help: "the model", default: "categorical", choices: ["categorical"] },
  config: {
    type: "string",
    help: "categories × latents, C×L",
    default: "10x30",
    choices: Object.keys(CATEGORICAL_CONFIGS),
  },
  estimator: { type: "string", help: "gradient estimator", default: "reinmax", choices: ESTIMATOR_NAMES },
  tau: {
    type: "number",
    help: "temperature τ [default: the config's for reinmax and st, 0.5 for stgs and grmck, 0.7 for gst]",
    optional: true,
  },
  k: { type: "number", help: "Gumbel-Rao draws per backward (grmck only)", default: 10 },
  optimizer: {
    type: "string",
    help: "optimiser [default: the config's]",
    choices: ["adam", "radam"],
    optional: true,
  },
  lr: { type: "number", help: "learning rate [default: the config's]", optional: true },
  epochs: { type: "number", help: "passes over the training images", default: 10 },
  batch: { type: "number", help: "images per step", default: 100 },
  data: {
    type: "string",
    help: "fixture (bundled Fashion-MNIST 10k/2k), digits (bundled 8×8), or a directory or http(s) URL " +
      "holding the four MNIST-like IDX files",
    default: "fixture",
  },
  seed: { type: "number", help: "random seed", default: 0 },
  backend: { type: "string", help: "compute backend", default: "auto", choices: ["auto", "webgpu", "wasm"] },
  "read-every": { type: "number", help: "read losses back every N steps", default: 50 },
  png: {
    type: "string",
    help: "write test images, their reconstructions and prior samples to this PNG file",
    optional: true,
  },
  json: { type: "boolean", help: "print one JSON object per epoch and a final one", default: false },
} as const;

/** τ of each estimator when --tau is not given: the paper's ranges (docs/math.md §6.2). */
function defaultTau(name: EstimatorName, configTau: number): number {
  return name === "stgs" || name === "grmck" ? 0.5 : name === "gst" ? 0.7 : configTau;
}

/** Pictures per band of the PNG. */
const PICTURES = 16;

await runCli(FLAGS, async () => {
  const flags = parseFlags(
    Deno.args,
    FLAGS,
    "usage: deno run --allow-read [--allow-write] examples/vae.ts [flags]",
  );
  // Every flag is checked before any data or backend work.
  const config = CATEGORICAL_CONFIGS[flags.config as CategoricalConfig];
  const name = flags.estimator as EstimatorName;
  const est = estimator(name, { tau: flags.tau ?? defaultTau(name, config.tau), k: flags.k });
  const optimizerName = flags.optimizer ?? config.optimizer;
  const lr = flags.lr ?? config.lr;
  const optimizer = (optimizerName === "radam" ? radam : adam)({ lr });
  const epochs = requireInteger("epochs", flags.epochs, 1);
  const batch = requireInteger("batch", flags.batch, 1, 1 << 20);
  const readEvery = requireInteger("readEvery", flags["read-every"], 1, 1 << 16);
  seedKey(flags.seed);
  const log = (line: string) => (flags.json ? console.error(line) : console.log(line));

  const data = await openDataset(flags.data);
  const { train, test } = data;
  log(
    `data: ${data.name}: ${train.count} training and ${test.count} test images of ${train.height}×${train.width}`,
  );
  const backend = await selectBackend({ prefer: flags.backend as "auto" | "webgpu" | "wasm" });
  log(formatReport(backend.report));
  const model = new CategoricalVae(backend, {
    config: flags.config as CategoricalConfig,
    inputSize: train.size,
    estimator: est,
    optimizer,
    batch,
    seed: flags.seed,
    readEvery,
  });
  try {
    log(
      `model: categorical VAE ${config.categories}×${config.latents} ` +
        `(${train.size}-${model.hidden.join("-")}-${
          config.categories * config.latents
        }), ${est.name} τ=${est.tau}` +
        `${est.name === "grmck" ? ` k=${est.k}` : ""}, ${optimizer.name} lr=${lr}, batch ${batch}, ` +
        `seed ${flags.seed}; backend memory ${model.formatMemory()}`,
    );
    const stepsPerEpoch = Math.ceil(train.count / batch);
    const bar = new ProgressBar(epochs * stepsPerEpoch, !flags.json && Deno.stdout.isTerminal());
    let last: VaeEpoch | undefined;
    const epochsRun = trainVae(model, train, {
      epochs,
      test,
      onProgress: (p) => {
        const done = p.firstStep + p.losses.length - 1;
        bar.update(done, `epoch ${p.epoch}/${epochs}  −ELBO ${p.losses[p.losses.length - 1].toFixed(2)}`);
      },
    });
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
    const result = {
      trainElbo: last!.trainElbo,
      testElbo: last!.testElbo,
      epochs,
      steps: model.steps,
      msPerStep: last!.msPerStep,
      backend: backend.name,
      model: flags.model,
      config: flags.config,
      estimator: est.name,
      tau: est.tau,
      optimizer: optimizer.name,
      lr,
      batch,
      seed: flags.seed,
      data: data.name,
      bytesAllocated: model.bytesAllocated,
    };
    if (flags.json) console.log(JSON.stringify(result));
    else {
      console.log(
        `done: ${epochs} epochs, ${model.steps} steps; train −ELBO ${result.trainElbo.toFixed(2)}, ` +
          `test −ELBO ${result.testElbo.toFixed(2)}; ${
            result.msPerStep.toFixed(1)
          } ms/step on ${backend.name}`,
      );
    }
    if (flags.png !== undefined) {
      const count = Math.min(PICTURES, test.count);
      const originals = new Float32Array(count * test.size);
      test.gather(Uint32Array.from({ length: count }, (_, i) => i), originals);
      const bands = [originals, await model.reconstruct(originals, count), await model.samplePrior(count)];
      // Small images (the 8×8 digits) are drawn larger so that they can be seen.
      const scale = Math.max(2, Math.round(56 / test.height));
      const grid = imageGrid(bands, { count, height: test.height, width: test.width, columns: count, scale });
      await Deno.writeFile(flags.png, encodePng(grid.pixels, grid.width, grid.height));
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
