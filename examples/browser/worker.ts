// The studio's training worker. It picks a backend, builds one model per run (an estimator at its τ) and
// trains them side by side, a short chunk of steps each in turn, so that between chunks it can pause, save or
// load a checkpoint, and draw reconstructions and prior samples; everything it measures goes to the page as
// messages (see protocol.ts), pictures as transferred Float32Arrays. A run whose training diverges or goes
// non-finite stops alone; any other error ends the session. Training runs here, off the page's main thread.
// It uses only the SDK's public entry point, mod.ts, as a user's page would. The "images" task is what a
// user's own page would do with their pictures: an image set from the bitmaps the page decoded, a categorical
// VAE declared from layers, trainModel, and the codes and checkpoint to take away.
import {
  adam,
  allImages,
  type Backend,
  BernoulliVae,
  CATEGORICAL_CONFIGS,
  CategoricalVae,
  CheckpointError,
  DiscreteModel,
  type DiscreteModelOptions,
  DivergenceError,
  type Estimator,
  estimator,
  formatReport,
  gradientQuality,
  type ImageDataset,
  type ImageSet,
  imageSetFromSources,
  layers,
  loadCheckpoint,
  loadFixture,
  NonFiniteError,
  polyOptimum,
  PolyProgramming,
  radam,
  ReinmaxInputError,
  saveCheckpoint,
  selectBackend,
  train,
  type TrainableModel,
  trainModel,
  trainVae,
  type Vae,
} from "../../mod.ts";
import {
  type Pictures,
  type PictureSettings,
  type RunInfo,
  runLabel,
  type RunSettings,
  type StudioCommand,
  type StudioSettings,
  type TaskName,
  type WorkerMessage,
} from "./protocol.ts";

// The dedicated-worker scope, typed by hand so this file checks with the project's DOM lib.
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<StudioCommand>) => void) | null;
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
};

/** The data set the VAEs train on, shipped beside the page (tools/bundle_demo.ts copies it). */
const DATASET = "fashion-mnist-10k";
/** Test images shown with their reconstructions, and prior samples drawn, per run. */
const SHOWN = 8;
/** Test images of the −ELBO a saved checkpoint is checked against when loaded again. */
const CHECK_IMAGES = 500;
/** Steps per epoch of the polynomial task (a VAE's epoch is one pass over the 10,000 images). */
const POLY_EPOCH = 100;
/** A chunk of steps lasts about this long, so pause and the pictures answer within it. */
const CHUNK_MS = 250;
/** Pictures are redrawn at most this often (and at every epoch's end and a run's last step). */
const IMAGES_EVERY_MS = 1000;
/** Draws per estimator of the 8×4 gradient-quality measure, on this many test images. */
const QUALITY_DRAWS = 32, QUALITY_IMAGES = 4;
const READ_EVERY = 50;
/** The "images" task's epoch is whole passes over the pictures, at least this many steps. */
const IMAGES_EPOCH = 100;
/** The "images" task's −ELBO at an epoch's end is of at most this many pictures, the first. */
const IMAGES_EVALUATED = 1000;
/** Pictures per chunk when the codes of all of them are computed: their floats stay small. */
const CODES_CHUNK = 500;

/** One model being trained. */
interface Run {
  readonly info: RunInfo;
  readonly model: TrainableModel;
  /** Losses of the current epoch's steps so far, for its mean. */
  epochSum: number;
  epochCount: number;
  /** Milliseconds training and all told (evaluation and pictures too), and steps trained, for ms/step. */
  ms: number;
  wallMs: number;
  timedSteps: number;
  /** When the pictures are next due (performance.now()). */
  nextImages: number;
  failed: boolean;
}

let backend: Backend | null = null;
let data: ImageDataset | null = null;
/** The "images" task's pictures, and each one's name. */
let own: { set: ImageSet; names: readonly string[] } | null = null;
let runs: Run[] = [];
let phase: "idle" | "running" | "paused" | "done" = "idle";
let next = 0;
const commands: StudioCommand[] = [];
let wake: (() => void) | null = null;

function post(message: WorkerMessage, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

async function dataset(): Promise<ImageDataset> {
  const base = new URL("./fixtures/", import.meta.url);
  data ??= await loadFixture(DATASET, (name) => fetch(new URL(name, base)));
  return data;
}

async function useBackend(prefer: StudioSettings["backend"]): Promise<Backend> {
  if (backend) return backend;
  backend = await selectBackend({ prefer });
  post({ type: "report", backend: backend.name, text: formatReport(backend.report) });
  return backend;
}

function isVae(model: TrainableModel): model is Vae {
  return model instanceof CategoricalVae || model instanceof BernoulliVae;
}

/** A model of the "images" task: declared, not one of the built-in VAEs (which are declared models too). */
function isOwn(model: TrainableModel): model is DiscreteModel {
  return model instanceof DiscreteModel && !isVae(model);
}

function taskOf(model: TrainableModel): TaskName {
  if (model instanceof PolyProgramming) return "poly";
  if (model instanceof BernoulliVae) return "bernoulli";
  if (model instanceof CategoricalVae) {
    const config = `${model.categories}x${model.latents}`;
    if (config === "8x4" || config === "10x30") return config;
  }
  if (model instanceof DiscreteModel && own) return "images";
  throw new Error(`the studio does not show ${model.describe().model} models of these options`);
}

/** The pictures as an image set of the chosen size and colour, the bitmaps closed once drawn. */
function takePictures(pictures: Pictures | null, p: PictureSettings): { set: ImageSet; names: string[] } {
  if (!pictures || pictures.bitmaps.length === 0) throw new Error("the images task needs pictures");
  try {
    const set = imageSetFromSources(pictures.bitmaps, {
      name: "your pictures",
      height: p.size,
      width: p.size,
      channels: p.channels,
    });
    return { set, names: [...pictures.names] };
  } finally {
    for (const bitmap of pictures.bitmaps) bitmap.close();
  }
}

/**
 * The "images" task's model: the categorical VAE of the paper's configuration `p.config`, declared layer by
 * layer — an encoder of 512 and 256 ReLU units, the C×L categorical code, a mirrored decoder — with Bernoulli
 * pixels, so that grey or colour values in [0, 1] are scored as they are.
 */
function ownModel(
  b: Backend,
  p: PictureSettings,
  run: RunSettings,
  options: Pick<DiscreteModelOptions, "optimizer" | "batch" | "seed" | "readEvery">,
): DiscreteModel {
  const { linear, relu, categorical, bernoulliLikelihood } = layers;
  const { categories, latents } = CATEGORICAL_CONFIGS[p.config];
  const inputSize = p.size * p.size * p.channels;
  return new DiscreteModel(b, {
    ...options,
    inputSize,
    layers: [
      linear(512),
      relu(),
      linear(256),
      relu(),
      categorical({ categories, latents, estimator: estimator(run.estimator, { tau: run.tau }) }),
      linear(256),
      relu(),
      linear(512),
      relu(),
      linear(inputSize),
    ],
    likelihood: bernoulliLikelihood(),
  });
}

function buildModel(b: Backend, s: StudioSettings, run: RunSettings): TrainableModel {
  const options = {
    estimator: estimator(run.estimator, { tau: run.tau }),
    optimizer: (s.optimizer === "adam" ? adam : radam)({ lr: s.lr }),
    batch: s.batch,
    seed: s.seed,
    readEvery: READ_EVERY,
  };
  if (s.task === "poly") return new PolyProgramming(b, { ...options, latents: 128, p: 2, target: "const" });
  if (s.task === "images") {
    if (!s.pictures) throw new Error("the images task needs its picture settings");
    return ownModel(b, s.pictures, run, options);
  }
  // The model judges whether each estimator takes the K asked for (DisARM: one antithetic pair).
  if (s.task === "bernoulli") return new BernoulliVae(b, { ...options, evaluations: s.evaluations ?? 1 });
  return new CategoricalVae(b, { ...options, config: s.task });
}

/** The estimator of a model's (first) stochastic layer. */
function estimatorOf(model: TrainableModel): Estimator {
  const described = model.describe().estimator;
  if (described) return described;
  const latent = model instanceof DiscreteModel ? model.layers.find((l) => "estimator" in l) : undefined;
  if (!latent || !("estimator" in latent)) throw new Error("the model has no stochastic layer");
  return latent.estimator;
}

/** Steps between two measurements of the test −ELBO or exact loss; see RunInfo.stepsPerEpoch. */
function epochSteps(task: TaskName, trainCount: number, batch: number): number {
  if (task === "poly") return POLY_EPOCH;
  const pass = Math.ceil(trainCount / batch);
  return task === "images" ? pass * Math.ceil(IMAGES_EPOCH / pass) : pass;
}

function describeRun(id: number, model: TrainableModel, steps: number, trainCount: number): RunInfo {
  const task = taskOf(model);
  const est = estimatorOf(model);
  const batch = (model as TrainableModel & { batch: number }).batch;
  const evaluations = model instanceof BernoulliVae ? model.evaluations : 1;
  return {
    id,
    label: runLabel({ estimator: est.name, tau: est.tau }, evaluations),
    task,
    estimator: est.name,
    tau: est.tau,
    evaluations,
    stepsPerEpoch: epochSteps(task, trainCount, batch),
    steps,
    step: model.steps,
    optimum: model instanceof PolyProgramming ? polyOptimum(model.targets, model.p) : NaN,
  };
}

function newRun(info: RunInfo, model: TrainableModel): Run {
  return {
    info,
    model,
    epochSum: 0,
    epochCount: 0,
    ms: 0,
    wallMs: 0,
    timedSteps: 0,
    nextImages: 0,
    failed: false,
  };
}

/** The images the reconstructions are of: Fashion-MNIST's first test images, or the first pictures. */
async function shownImages(): Promise<ImageSet | null> {
  const task = runs[0]?.info.task;
  if (task === "images") return own!.set.slice(0, Math.min(SHOWN, own!.set.count));
  return task === undefined || task === "poly" ? null : (await dataset()).test.slice(0, SHOWN);
}

async function announce(): Promise<void> {
  const shown = await shownImages();
  post({
    type: "runs",
    runs: runs.map((r) => r.info),
    images: shown ? allImages(shown) : null,
    height: shown?.height ?? 0,
    width: shown?.width ?? 0,
    channels: shown?.channels ?? 1,
  });
}

/** The examples a run trains on: Fashion-MNIST's training images, or the pictures. */
async function trainSet(task: TaskName): Promise<ImageSet | null> {
  if (task === "poly") return null;
  return task === "images" ? own!.set : (await dataset()).train;
}

function dropRuns(): void {
  for (const r of runs) r.model.destroy();
  runs = [];
  next = 0;
}

async function start(s: StudioSettings, pictures: Pictures | null): Promise<void> {
  const b = await useBackend(s.backend);
  if (s.task === "images") own = takePictures(pictures, s.pictures!);
  const trainCount = (await trainSet(s.task))?.count ?? 0;
  dropRuns();
  for (const settings of s.runs) {
    const model = buildModel(b, s, settings);
    runs.push(newRun(describeRun(runs.length, model, s.steps, trainCount), model));
  }
  await announce();
  setPhase("running");
}

/** The number a checkpoint must reproduce: −ELBO of the first test images (poly: the exact loss). */
async function check(model: TrainableModel): Promise<number> {
  if (model instanceof PolyProgramming) return await model.exactLoss();
  if (isOwn(model)) return await ownElbo(model, CHECK_IMAGES);
  if (!isVae(model)) throw new Error("unknown model");
  const test = (await dataset()).test.slice(0, CHECK_IMAGES);
  return (await model.evaluate(allImages(test), test.count)).elbo;
}

async function save(id: number): Promise<void> {
  const run = runs[id];
  if (!run) throw new Error(`there is no run ${id} to save`);
  const { info, model } = run;
  const data = info.task === "images" && own
    ? `${own.set.count} pictures, ${own.set.height}×${own.set.width} ${
      own.set.channels === 3 ? "RGB" : "grey"
    }`
    : DATASET;
  const bytes = await saveCheckpoint(model, { studio: "reinmax browser studio", task: info.task, data });
  // After the save, so that the loaded file starts its evaluation draws where this one does.
  const value = await check(model);
  const name = `reinmax-${info.task}-${info.estimator}-step${model.steps}.safetensors`;
  post({ type: "checkpoint", run: id, step: model.steps, name, bytes, check: value }, [bytes.buffer]);
}

/** −ELBO per picture of the first `count` pictures (at most all of them). */
async function ownElbo(model: DiscreteModel, count: number): Promise<number> {
  const set = own!.set, n = Math.min(count, set.count);
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  return (await model.evaluate((start, k, out) => set.gather(order, out, start, k), n)).loss;
}

/** Posts run `id`'s most likely code of every picture as JSON lines. */
async function codes(id: number): Promise<void> {
  const run = runs[id];
  if (!run || !isOwn(run.model) || !own) throw new Error(`run ${id} has no pictures to code`);
  const { model, info } = run;
  const { set, names } = own;
  const lines: string[] = [];
  const chunk = new Float32Array(Math.min(CODES_CHUNK, set.count) * set.size);
  for (let start = 0; start < set.count; start += CODES_CHUNK) {
    const n = Math.min(CODES_CHUNK, set.count - start);
    set.gather(Uint32Array.from({ length: n }, (_, i) => start + i), chunk);
    const code = await model.codes(chunk, n), latents = code.length / n;
    for (let i = 0; i < n; i++) {
      const file = names[start + i];
      lines.push(JSON.stringify({ file, codes: [...code.subarray(i * latents, (i + 1) * latents)] }));
    }
  }
  const bytes = new TextEncoder().encode(lines.map((line) => line + "\n").join(""));
  const name = `reinmax-images-${info.estimator}-step${model.steps}-codes.jsonl`;
  post({ type: "codes", run: id, step: model.steps, name, bytes, pictures: set.count }, [bytes.buffer]);
}

async function load(bytes: Uint8Array, name: string, prefer: StudioSettings["backend"], steps: number) {
  const b = await useBackend(prefer);
  const { model } = loadCheckpoint(bytes, b, name);
  try {
    if (isOwn(model)) {
      // The file holds the model, not the pictures it learned, and without them the studio has nothing to
      // train on or show.
      throw new CheckpointError(
        name,
        'a model declared layer by layer (what the "Your images" task saves): the studio continues ' +
          "the built-in tasks' checkpoints only; a program of your own reads it with loadCheckpoint",
      );
    }
    const trainCount = (await trainSet(taskOf(model)))?.count ?? 0;
    dropRuns();
    runs.push(newRun(describeRun(0, model, Math.max(steps, model.steps), trainCount), model));
  } catch (e) {
    model.destroy();
    throw e;
  }
  await announce();
  const value = await check(model);
  // After the check: the pictures' draws would move the evaluation the check must reproduce.
  await postPictures(runs[0]);
  setPhase("paused");
  post({ type: "loaded", name, step: model.steps, check: value });
}

function setPhase(p: typeof phase): void {
  phase = p;
  post({ type: "phase", phase: p === "idle" ? "paused" : p, steps: runs.map((r) => r.model.steps) });
}

async function handle(c: StudioCommand): Promise<void> {
  switch (c.type) {
    case "start":
      return await start(c.settings, c.pictures);
    case "pause":
      if (phase === "running") setPhase("paused");
      return;
    case "resume":
      if (phase === "paused") setPhase("running");
      return;
    case "save":
      return await save(c.run);
    case "codes":
      return await codes(c.run);
    case "load":
      return await load(c.bytes, c.name, c.backend, c.steps);
  }
}

/** Trains `run` for one chunk (never past its epoch's end), then posts its pictures when due. */
async function advance(run: Run): Promise<void> {
  const { model, info } = run;
  const msPerStep = run.timedSteps > 0 ? run.ms / run.timedSteps : 50;
  const epochEnd = (Math.floor(model.steps / info.stepsPerEpoch) + 1) * info.stepsPerEpoch;
  const chunk = Math.max(1, Math.min(READ_EVERY, Math.round(CHUNK_MS / msPerStep)));
  const target = Math.min(model.steps + chunk, epochEnd, info.steps);
  // The test −ELBO (poly: the exact loss) and the 8×4 gradient quality are measured at epochs' ends only:
  // on a slow backend they cost many steps each.
  const atEpochEnd = target === epochEnd;
  const onProgress = (p: { firstStep: number; losses: Float32Array }) => {
    for (const loss of p.losses) run.epochSum += loss;
    run.epochCount += p.losses.length;
    const losses = p.losses.slice();
    post({ type: "losses", run: info.id, firstStep: p.firstStep - 1, losses }, [losses.buffer]);
  };
  const first = model.steps;
  const started = performance.now();
  let test = NaN, trainedMs = NaN;
  if (model instanceof PolyProgramming) {
    const epochs = train({
      model,
      stepsPerEpoch: info.stepsPerEpoch,
      forwardBackward: () => model.forwardBackward(),
      epochMetrics: ["exactLoss"],
      enqueueEpochMetrics: () => model.enqueueExactLoss(),
    }, { epochs: Math.ceil(target / info.stepsPerEpoch), steps: target, onProgress });
    for await (const e of epochs) (test = e.metrics.exactLoss, trainedMs = e.msPerStep * (e.step - first));
  } else if (isOwn(model)) {
    // The library's epoch is one pass over the pictures; the run's is whole passes (see epochSteps).
    const set = own!.set, pass = Math.ceil(set.count / model.batch);
    const epochs = trainModel(model, set, { epochs: Math.ceil(target / pass), steps: target, onProgress });
    for await (const e of epochs) trainedMs = e.msPerStep * (e.step - first);
    if (atEpochEnd) test = await ownElbo(model, IMAGES_EVALUATED);
  } else if (isVae(model)) {
    const d = await dataset();
    const epochs = trainVae(model, d.train, {
      epochs: Math.ceil(target / info.stepsPerEpoch),
      steps: target,
      test: atEpochEnd ? d.test : undefined,
      onProgress,
    });
    for await (const e of epochs) (test = e.testElbo, trainedMs = e.msPerStep * (e.step - first));
  }
  run.ms += Number.isFinite(trainedMs) ? trainedMs : performance.now() - started;
  run.timedSteps += model.steps - first;
  if (atEpochEnd) {
    post({
      type: "epoch",
      run: info.id,
      step: model.steps,
      train: run.epochSum / Math.max(1, run.epochCount),
      test,
      msPerStep: run.ms / run.timedSteps,
    });
    run.epochSum = run.epochCount = 0;
  }
  const done = atEpochEnd || model.steps === info.steps;
  if (done || performance.now() >= run.nextImages) await postPictures(run);
  if (atEpochEnd && model instanceof CategoricalVae && info.task === "8x4") {
    const images = allImages((await dataset()).test.slice(0, QUALITY_IMAGES));
    const est = estimator(info.estimator, { tau: info.tau });
    const [row] = await gradientQuality(model, images, QUALITY_IMAGES, [est], QUALITY_DRAWS);
    const { draws, relativeError, relativeStd, cosine } = row;
    post({ type: "quality", run: info.id, step: model.steps, draws, relativeError, relativeStd, cosine });
  }
}

/** Posts a VAE run's reconstructions of the shown images and samples from its prior. */
async function postPictures(run: Run): Promise<void> {
  const { model, info } = run;
  if (!isVae(model) && !isOwn(model)) return;
  const drawing = performance.now();
  const set = (await shownImages())!;
  const shown = allImages(set);
  const reconstructions = await model.predict(shown, set.count);
  const samples = await model.samplePrior(SHOWN);
  // At most a quarter of the time goes to pictures, however slow the backend.
  const now = performance.now();
  run.nextImages = now + Math.max(IMAGES_EVERY_MS, 3 * (now - drawing));
  post({ type: "images", run: info.id, step: model.steps, reconstructions, samples }, [
    reconstructions.buffer,
    samples.buffer,
  ]);
}

/** Lets a message in: WASM read-backs resolve at once, so a loop of them would never yield otherwise. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function loop(): Promise<void> {
  for (;;) {
    await turn();
    while (commands.length > 0) await handle(commands.shift()!);
    if (phase !== "running") {
      await new Promise<void>((resolve) => wake = resolve);
      continue;
    }
    const live = runs.filter((r) => !r.failed && r.model.steps < r.info.steps);
    if (live.length === 0) {
      setPhase("done");
      continue;
    }
    const run = live[next++ % live.length];
    const started = performance.now();
    try {
      await advance(run);
    } catch (e) {
      if (!(e instanceof DivergenceError || e instanceof NonFiniteError)) {
        throw Object.assign(e as Error, { run: run.info.label });
      }
      // The run's own training went wrong, not the backend: it stops at its last good state (its message
      // names the step and what ran away), and the other runs go on.
      run.failed = true;
      post({ type: "stopped", run: run.info.id, step: run.model.steps, message: e.message });
      continue;
    }
    run.wallMs += performance.now() - started;
    const msPerStep = run.ms / run.timedSteps, wallMsPerStep = run.wallMs / run.timedSteps;
    post({ type: "speed", run: run.info.id, msPerStep, wallMsPerStep });
  }
}

function report(e: unknown): void {
  const error = e instanceof Error ? e : new Error(String(e));
  const run = (error as Error & { run?: string }).run ?? null;
  const argument = error instanceof ReinmaxInputError ? error.argument : null;
  post({ type: "error", name: error.name, message: error.message, run, argument });
}

scope.onmessage = (event) => {
  commands.push(event.data);
  wake?.();
  wake = null;
};

// One loop per worker; an error ends it (the page then offers Reset, which starts a fresh worker).
loop().catch(report);
