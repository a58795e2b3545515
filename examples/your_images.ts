/**
 * A discrete VAE on your own pictures, trained on your machine: every PNG and JPEG of a directory, resized
 * to one small size, encoded by a categorical bottleneck of L variables of C categories (docs/math.md §6.2)
 * trained with ReinMax or another estimator. It writes a PNG of pictures, their reconstructions and samples
 * from the prior, and each picture's code — the most likely category of each variable — as one JSON line per
 * picture: a tokenizer of your images.
 *
 *   deno run --allow-read --allow-write examples/your_images.ts --images ~/Pictures/cats
 *   deno run --allow-read --allow-write examples/your_images.ts --images shots --size 32 --channels 3 --config 16x12
 *   deno run --allow-read --allow-write examples/your_images.ts --images shots --out run1 --checkpoint run1.safetensors
 */
import { resolve } from "node:path";
import {
  adam,
  CATEGORICAL_CONFIGS,
  type CategoricalConfig,
  DatasetError,
  defaultTau,
  DiscreteModel,
  encodePng,
  estimator,
  type EstimatorName,
  ESTIMATORS,
  formatReport,
  imageGrid,
  ImageSet,
  imageSetFromPictures,
  layers,
  type ModelEpoch,
  radam,
  ReinmaxInputError,
  type RgbaPicture,
  saveCheckpoint,
  selectBackend,
  trainModel,
} from "../mod.ts";
import { GUMBEL_DRAWS_FLAG, PATHWISE_CHOICES, PATHWISE_ESTIMATOR_FLAG, tauFlag } from "./estimator_flags.ts";
import { type Flags, parseFlags, runCli, SEED_FLAG } from "./flags.ts";
import { listPictureFiles, pathIn, readPicture } from "./image_files.ts";
import { prepareOutput, writeAtomically } from "./output_file.ts";
import { plural, ProgressBar } from "./progress.ts";

/** Steps the default number of epochs adds up to, about: a minute or two on a laptop's CPU at 28×28. */
const DEFAULT_STEPS = 2000;
/** Pictures per band of the PNG. */
const PICTURES = 16;
/** Epoch lines printed, about, however many epochs run (JSON prints every one). */
const EPOCH_LINES = 20;
/** A pixel whose channels differ by more than this (of 255) has colour, for `--channels auto`. */
const COLOUR = 16;

const FLAGS = {
  images: { type: "string", help: "the directory of your .png, .jpg and .jpeg pictures (required)" },
  size: {
    type: "number",
    help: "side of the square every picture is resized to",
    default: 28,
    integer: true,
    min: 1,
    max: 256,
  },
  height: {
    type: "number",
    help: "rows, instead of --size",
    optional: true,
    integer: true,
    min: 1,
    max: 256,
  },
  width: {
    type: "number",
    help: "columns, instead of --size",
    optional: true,
    integer: true,
    min: 1,
    max: 256,
  },
  fit: {
    type: "string",
    help: "crop: cut each picture to the aspect ratio at its centre; stretch: keep all of it, distorted",
    default: "crop",
    choices: ["crop", "stretch"],
  },
  channels: {
    type: "string",
    help: "1 grey, 3 RGB; auto: RGB if any picture has colour",
    default: "auto",
    choices: ["auto", "1", "3"],
  },
  config: {
    type: "string",
    help:
      "the code: categories × latents, CxL; the paper's six keep its optimiser, lr and τ, others take 10x30's",
    default: "10x30",
  },
  hidden: {
    type: "number",
    help: "width of the encoder's and the decoder's hidden layer",
    default: 512,
    integer: true,
    min: 1,
    max: 1 << 14,
  },
  estimator: PATHWISE_ESTIMATOR_FLAG,
  tau: tauFlag("the configuration's", PATHWISE_CHOICES),
  k: GUMBEL_DRAWS_FLAG,
  optimizer: {
    type: "string",
    help: "optimiser [default: the configuration's]",
    choices: ["adam", "radam"],
    optional: true,
  },
  lr: { type: "number", help: "learning rate [default: the configuration's]", optional: true },
  epochs: {
    type: "number",
    help: `passes over the pictures [default: as many as make about ${DEFAULT_STEPS} steps]`,
    optional: true,
    integer: true,
    min: 1,
    max: 1 << 20,
  },
  batch: {
    type: "number",
    help: "pictures per step [default: 100, or all of them when fewer]",
    optional: true,
    integer: true,
    min: 1,
    max: 1 << 16,
  },
  "hold-out": {
    type: "number",
    help: "pictures kept out of training, spread over the name order, to report a held-out loss",
    default: 0,
    integer: true,
    min: 0,
    max: 1 << 20,
  },
  seed: SEED_FLAG,
  backend: { type: "string", help: "compute backend", default: "auto", choices: ["auto", "webgpu", "wasm"] },
  out: {
    type: "string",
    help: "where outputs go unless named: PREFIX.png and PREFIX.codes.jsonl",
    default: "your-images",
  },
  png: {
    type: "string",
    help: "write pictures, their reconstructions and prior samples here [default: PREFIX.png]",
    optional: true,
  },
  codes: {
    type: "string",
    help: 'write each picture\'s code here, a JSON line {"file", "codes"} each [default: PREFIX.codes.jsonl]',
    optional: true,
  },
  checkpoint: { type: "string", help: "write the trained model (safetensors) here", optional: true },
  json: { type: "boolean", help: "print one JSON object per epoch and a final one", default: false },
} as const;

type CliFlags = Flags<typeof FLAGS>;

const USAGE = "usage: deno run --allow-read --allow-write examples/your_images.ts --images DIR [flags]";

/** `--config CxL` as numbers, each in the range the categorical layer takes. */
function parseConfig(text: string): { categories: number; latents: number } {
  const match = /^(\d+)x(\d+)$/.exec(text);
  const categories = Number(match?.[1]), latents = Number(match?.[2]);
  if (!match || categories < 2 || categories > 1 << 16 || latents < 1 || latents > 1 << 14) {
    throw new ReinmaxInputError(
      "config",
      `expected categories × latents as CxL with C from 2 to 65536 and L from 1 to 16384 (e.g. 10x30), ` +
        `got ${JSON.stringify(text)}`,
    );
  }
  return { categories, latents };
}

/** The centre of `picture` cut to the aspect ratio width : height (the whole of it when it already has it). */
function cropTo(picture: RgbaPicture, width: number, height: number): RgbaPicture {
  const { width: w, height: h, data } = picture;
  // Integer arithmetic: w·height against h·width decides which side is too long, with no rounding.
  const cw = w * height > h * width ? Math.max(1, Math.round((h * width) / height)) : w;
  const ch = w * height < h * width ? Math.max(1, Math.round((w * height) / width)) : h;
  if (cw === w && ch === h) return picture;
  const x0 = Math.floor((w - cw) / 2), y0 = Math.floor((h - ch) / 2);
  const out = new Uint8Array(cw * ch * 4);
  for (let y = 0; y < ch; y++) {
    out.set(data.subarray(((y0 + y) * w + x0) * 4, ((y0 + y) * w + x0 + cw) * 4), y * cw * 4);
  }
  return { width: cw, height: ch, data: out };
}

/** Whether any visible pixel of the picture has colour. */
function hasColour({ data }: RgbaPicture): boolean {
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    const r = data[i], g = data[i + 1], b = data[i + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > COLOUR) return true;
  }
  return false;
}

/**
 * The pictures `files` of `dir` as one image set, each shrunk as soon as it is decoded so that a directory of
 * large photos never sits in memory at full size. For `channels` auto both a grey and an RGB version of each
 * are kept until the last picture says whether any has colour.
 */
async function readSmall(
  dir: string,
  files: readonly string[],
  o: { height: number; width: number; channels: string; fit: string; progress: boolean },
): Promise<ImageSet> {
  const kinds = o.channels === "auto" ? [1, 3] as const : [Number(o.channels) as 1 | 3];
  const shrunk = new Map<number, Uint8Array[]>(kinds.map((c) => [c, []]));
  let colour = false;
  const bar = new ProgressBar(files.length, o.progress, 30, Deno.stderr);
  for (const [i, file] of files.entries()) {
    const picture = await readPicture(dir, file);
    colour ||= o.channels === "auto" && hasColour(picture);
    const fitted = o.fit === "crop" ? cropTo(picture, o.width, o.height) : picture;
    for (const channels of kinds) {
      try {
        const one = imageSetFromPictures([fitted], {
          name: file,
          height: o.height,
          width: o.width,
          channels,
        });
        shrunk.get(channels)!.push(one.pixels);
      } catch (e) {
        if (!(e instanceof ReinmaxInputError)) throw e;
        throw new DatasetError(pathIn(dir, file), e.message, { cause: e });
      }
    }
    bar.update(i + 1, `reading ${file}`);
  }
  bar.clear();
  const channels = o.channels === "auto" ? (colour ? 3 : 1) : Number(o.channels);
  const parts = shrunk.get(channels)!, size = o.height * o.width * channels;
  const pixels = new Uint8Array(parts.length * size);
  parts.forEach((part, i) => pixels.set(part, i * size));
  return new ImageSet({ name: dir, count: files.length, height: o.height, width: o.width, channels, pixels });
}

/** Images `indices` of `set`, as a set of their own. */
function subset(set: ImageSet, indices: readonly number[], name: string): ImageSet {
  const pixels = new Uint8Array(indices.length * set.size);
  indices.forEach((i, n) => pixels.set(set.pixels.subarray(i * set.size, (i + 1) * set.size), n * set.size));
  const { height, width, channels } = set;
  return new ImageSet({ name, count: indices.length, height, width, channels, pixels });
}

/** `count` of `total` indices spread evenly over [0, total): the ones held out. */
function spread(count: number, total: number): Set<number> {
  const picked = new Set<number>();
  for (let i = 0; i < total; i++) {
    if (Math.floor(((i + 1) * count) / total) > Math.floor((i * count) / total)) picked.add(i);
  }
  return picked;
}

/** Images [start, start + count) of `set` as floats in [0, 1]. */
function floats(set: ImageSet, start: number, count: number): Float32Array {
  const out = new Float32Array(count * set.size);
  set.gather(Uint32Array.from({ length: count }, (_, i) => start + i), out);
  return out;
}

/** The settings the flags ask for, every one checked before any file is read. */
function settingsOf(flags: CliFlags) {
  const { categories, latents } = parseConfig(flags.config);
  const paper = CATEGORICAL_CONFIGS[flags.config as CategoricalConfig] ?? CATEGORICAL_CONFIGS["10x30"];
  const name = flags.estimator as EstimatorName;
  const optimizerName = flags.optimizer ?? paper.optimizer;
  return {
    images: flags.images,
    height: flags.height ?? flags.size,
    width: flags.width ?? flags.size,
    categories,
    latents,
    estimator: estimator(name, { tau: flags.tau ?? defaultTau(name, paper.tau), k: flags.k }),
    optimizer: (optimizerName === "adam" ? adam : radam)({ lr: flags.lr ?? paper.lr }),
    png: flags.png ?? `${flags.out}.png`,
    codes: flags.codes ?? `${flags.out}.codes.jsonl`,
  };
}

await runCli(FLAGS, async () => {
  const flags = parseFlags(Deno.args, FLAGS, USAGE);
  const settings = settingsOf(flags);
  const { height, width, categories, latents } = settings;
  const log = (line: string) => (flags.json ? console.error(line) : console.log(line));
  // The files the run will write, checked now rather than after the training.
  const named: [string, string | undefined][] = [
    ["png", settings.png],
    ["codes", settings.codes],
    ["checkpoint", flags.checkpoint],
  ];
  for (const [i, [flag, path]] of named.entries()) {
    const earlier = named.slice(0, i).find(([, other]) => path && other && resolve(other) === resolve(path));
    if (earlier) throw new ReinmaxInputError(flag, `${path} is also the file of --${earlier[0]}`);
  }
  await prepareOutput("png", settings.png);
  await prepareOutput("codes", settings.codes);
  if (flags.checkpoint !== undefined) await prepareOutput("checkpoint", flags.checkpoint);
  const outputs = [
    settings.png,
    settings.codes,
    ...(flags.checkpoint === undefined ? [] : [flags.checkpoint]),
  ];

  // A directory that also receives the outputs does not train on the last run's.
  const files = await listPictureFiles(settings.images, { skip: outputs });
  const all = await readSmall(settings.images, files, {
    height,
    width,
    channels: flags.channels,
    fit: flags.fit,
    progress: !flags.json && Deno.stderr.isTerminal(),
  });
  const channels = all.channels as 1 | 3;
  const holdOut = flags["hold-out"];
  if (holdOut >= all.count) {
    throw new ReinmaxInputError(
      "hold-out",
      `expected fewer than the ${all.count} pictures of ${settings.images}, got ${holdOut}`,
    );
  }
  const heldOut = spread(holdOut, all.count);
  const indices = Array.from({ length: all.count }, (_, i) => i);
  const train = holdOut === 0
    ? all
    : subset(all, indices.filter((i) => !heldOut.has(i)), "training pictures");
  const test = holdOut === 0 ? undefined : subset(all, [...heldOut], "held-out pictures");
  const batch = flags.batch ?? Math.min(100, train.count);
  if (batch > train.count) {
    throw new ReinmaxInputError(
      "batch",
      `expected at most the ${train.count} pictures training sees, got ${batch} (leave it out to use them all)`,
    );
  }
  const stepsPerEpoch = Math.ceil(train.count / batch);
  const epochs = flags.epochs ?? Math.max(1, Math.round(DEFAULT_STEPS / stepsPerEpoch));
  log(
    `pictures: ${plural(all.count, "picture")} of ${settings.images} as ${height}×${width} ` +
      `${channels === 3 ? "RGB" : "grey"} (${flags.fit})` +
      (test ? `; ${train.count} train, ${test.count} held out` : "; all of them train"),
  );

  const backend = await selectBackend({ prefer: flags.backend as "auto" | "webgpu" | "wasm" });
  log(formatReport(backend.report));
  const { linear, relu, categorical, bernoulliLikelihood } = layers;
  let model: DiscreteModel;
  try {
    model = new DiscreteModel(backend, {
      inputSize: all.size,
      layers: [
        linear(flags.hidden, { name: "encoder.fc" }),
        relu(),
        categorical({ categories, latents, estimator: settings.estimator, name: "code" }),
        linear(flags.hidden, { name: "decoder.fc1" }),
        relu(),
        linear(all.size, { name: "decoder.fc2" }),
      ],
      // Grey levels (or colour channels) in [0, 1] are the targets as they are, as in the paper's VAE.
      likelihood: bernoulliLikelihood(),
      optimizer: settings.optimizer,
      batch,
      seed: flags.seed,
    });
  } catch (e) {
    backend.destroy();
    throw e;
  }
  try {
    const est = settings.estimator, opt = settings.optimizer;
    log(
      `model: ${all.size}-${flags.hidden}-[${categories}×${latents}]-${flags.hidden}-${all.size}, ` +
        `${est.name} τ=${est.tau}${ESTIMATORS[est.name].k ? ` k=${est.k}` : ""}, ${opt.name} lr=${opt.lr}, ` +
        `batch ${batch}, ${plural(epochs, "epoch")} of ${
          plural(stepsPerEpoch, "step")
        }, seed ${flags.seed}; ` +
        `backend memory ${model.formatMemory()}`,
    );
    const bar = new ProgressBar(
      epochs * stepsPerEpoch,
      !flags.json && Deno.stderr.isTerminal(),
      30,
      Deno.stderr,
    );
    bar.restart(model.steps);
    const every = Math.max(1, Math.ceil(epochs / EPOCH_LINES));
    const digits = String(epochs).length;
    let last: ModelEpoch | undefined;
    const run = trainModel(model, train, {
      epochs,
      test,
      onProgress: (p) => {
        const done = p.firstStep + p.losses.length - 1;
        bar.update(done, `epoch ${p.epoch}/${epochs}  −ELBO ${p.losses[p.losses.length - 1].toFixed(2)}`);
      },
    });
    for await (const e of run) {
      last = e;
      if (flags.json) {
        console.log(JSON.stringify(e));
        continue;
      }
      if (e.epoch % every !== 0 && e.epoch !== 1 && e.epoch !== epochs) continue;
      bar.clear();
      const terms = (t: Readonly<Record<string, number>>) =>
        `(reconstruction ${t.reconstruction.toFixed(2)} + KL ${t.kl.toFixed(2)})`;
      console.log(
        `epoch ${String(e.epoch).padStart(digits)}/${epochs}  train −ELBO ${e.trainLoss.toFixed(2)} ` +
          `${terms(e.trainTerms)}` +
          (test ? `  held-out −ELBO ${e.testLoss.toFixed(2)} ${terms(e.testTerms)}` : "") +
          `  ${e.msPerStep.toFixed(1)} ms/step`,
      );
    }
    bar.clear();

    // After training: the loss of every picture with sampled codes, their most likely codes, the pictures.
    const everything = await model.evaluate((start, n, out) => all.gather(indices, out, start, n), all.count);
    const codes = new Int32Array(all.count * latents);
    for (let start = 0; start < all.count; start += batch) {
      const n = Math.min(batch, all.count - start);
      codes.set(await model.codes(floats(all, start, n), n), start * latents);
    }
    const lines = files.map((file, i) =>
      JSON.stringify({ file, codes: Array.from(codes.subarray(i * latents, (i + 1) * latents)) })
    );
    await writeAtomically(settings.codes, new TextEncoder().encode(lines.join("\n") + "\n"));
    const shown = Math.min(PICTURES, all.count);
    const originals = floats(all, 0, shown);
    const bands = [originals, await model.predict(originals, shown), await model.samplePrior(shown)];
    // Small pictures are drawn larger so that they can be seen.
    const scale = Math.max(1, Math.round(56 / Math.max(height, width)));
    const grid = imageGrid(bands, { count: shown, height, width, columns: shown, scale, channels });
    await writeAtomically(settings.png, encodePng(grid.pixels, grid.width, grid.height, grid.channels));
    if (flags.checkpoint !== undefined) {
      await writeAtomically(
        flags.checkpoint,
        await saveCheckpoint(model, {
          images: settings.images,
          pictures: String(all.count),
          height: String(height),
          width: String(width),
          channels: String(channels),
          fit: flags.fit,
          epochs: String(epochs),
        }),
      );
    }

    const result = {
      pictures: all.count,
      trainLoss: last!.trainLoss,
      heldOutLoss: test ? last!.testLoss : null,
      loss: everything.loss,
      reconstruction: everything.terms.reconstruction,
      kl: everything.terms.kl,
      epochs,
      steps: model.steps,
      msPerStep: last!.msPerStep,
      backend: backend.name,
      height,
      width,
      channels,
      categories,
      latents,
      hidden: flags.hidden,
      estimator: settings.estimator.name,
      tau: settings.estimator.tau,
      optimizer: settings.optimizer.name,
      lr: settings.optimizer.lr,
      batch,
      seed: flags.seed,
      png: await Deno.realPath(settings.png),
      codes: await Deno.realPath(settings.codes),
      checkpoint: flags.checkpoint === undefined ? null : await Deno.realPath(flags.checkpoint),
    };
    if (flags.json) console.log(JSON.stringify(result));
    else {
      console.log(
        `done: ${plural(epochs, "epoch")}, ${plural(model.steps, "step")}, ${
          result.msPerStep.toFixed(1)
        } ms/step ` +
          `on ${backend.name}; −ELBO of all ${plural(all.count, "picture")} ${result.loss.toFixed(2)} ` +
          `(reconstruction ${result.reconstruction.toFixed(2)} + KL ${result.kl.toFixed(2)}) nats`,
      );
    }
    log(
      `wrote ${result.png}: top band pictures, middle their reconstructions, bottom samples from the prior`,
    );
    log(
      `wrote ${result.codes}: ${
        plural(all.count, "line")
      } {"file", "codes"}, ${latents} codes in [0, ${categories}) each`,
    );
    if (result.checkpoint) log(`wrote ${result.checkpoint}: the trained model`);
  } finally {
    model.destroy();
    backend.destroy();
  }
});
