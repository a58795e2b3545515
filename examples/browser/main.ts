// The studio page: reads the settings, starts the training worker (worker.ts), sends it pause, resume, save
// and load, and draws what it reports — loss curves of every run on one chart (chart.ts), test images with
// each run's live reconstructions, samples from the prior, the runs' figures and the backend report. The
// worker does all the training; this thread only draws, so the page stays responsive. Everything on screen
// is drawn from `state`, so clearing the state (Reset, an error, a failed load) clears the screen. For the
// "Your images" task it also reads the pictures dropped or chosen: the browser decodes them here, and each
// session's worker gets a copy of the bitmaps. The score-function estimators are offered for the Bernoulli
// task only, with its K (codes per image) following the estimators ticked.
import {
  adam,
  BERNOULLI_VAE_SETTINGS,
  CATEGORICAL_CONFIGS,
  type CategoricalConfig,
  defaultTau,
  estimator,
  ESTIMATOR_NAMES,
  type EstimatorName,
  ESTIMATORS,
  POLY_SETTINGS,
  radam,
  ReinmaxInputError,
  TAU_RANGE,
} from "../../mod.ts";
import { relaxes } from "../estimator_flags.ts";
import { drawChart, NO_AXES } from "./chart.ts";
import {
  type Phase,
  type PictureSettings,
  runLabel,
  type RunSettings,
  type RunState,
  type StudioCommand,
  type StudioSettings,
  type StudioState,
  type TaskName,
  TASKS,
  type WorkerMessage,
} from "./protocol.ts";

const state: StudioState = {
  phase: "idle",
  settings: null,
  backend: null,
  report: "",
  runs: [],
  msLeft: NaN,
  axes: NO_AXES,
  error: null,
  saved: null,
  loaded: null,
  codes: null,
  pictures: { names: [], notPictures: [], undecodable: [], reading: false },
};
(globalThis as unknown as { reinmaxStudio: StudioState }).reinmaxStudio = state;
/** The images the reconstructions are of, and their size. */
let shown: { images: Float32Array; height: number; width: number; channels: number } | null = null;
/** The latest pictures of each run. */
const pictures = new Map<number, { reconstructions: Float32Array; samples: Float32Array }>();
/** What the page is waiting for in the "starting" phase, for the status line. */
let awaiting = "";

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const form = element<HTMLFormElement>("settings");
const taskSelect = element<HTMLSelectElement>("task");
const optimizerSelect = element<HTMLSelectElement>("optimizer");
const fields = {
  lr: element<HTMLInputElement>("lr"),
  batch: element<HTMLInputElement>("batch"),
  steps: element<HTMLInputElement>("steps"),
};
const buttons = {
  start: element<HTMLButtonElement>("start"),
  pause: element<HTMLButtonElement>("pause"),
  resume: element<HTMLButtonElement>("resume"),
  reset: element<HTMLButtonElement>("reset"),
};
const evaluations = {
  choice: element<HTMLLabelElement>("evaluations-choice"),
  input: element<HTMLInputElement>("evaluations"),
};
/** The K the Bernoulli VAE takes at all, as the page declares it. */
const MODEL_EVALUATIONS = { min: Number(evaluations.input.min), max: Number(evaluations.input.max) };
const loadInput = element<HTMLInputElement>("load");
const statusLine = element<HTMLDivElement>("status");
const failureList = element<HTMLUListElement>("failures");
const reportBox = element<HTMLPreElement>("report");
const chart = element<HTMLCanvasElement>("chart");
const logScale = element<HTMLInputElement>("log-scale");
const scaleNote = element<HTMLSpanElement>("scale-note");
const reconCanvas = element<HTMLCanvasElement>("reconstructions");
const samplesCanvas = element<HTMLCanvasElement>("samples");
const runsBody = element<HTMLTableSectionElement>("runs");
const pictureSection = element<HTMLElement>("pictures");
const images = {
  panel: element<HTMLDivElement>("images-input"),
  drop: element<HTMLDivElement>("images-drop"),
  files: element<HTMLInputElement>("images-files"),
  folder: element<HTMLInputElement>("images-folder"),
  size: element<HTMLSelectElement>("images-size"),
  colour: element<HTMLSelectElement>("images-colour"),
  code: element<HTMLSelectElement>("images-code"),
  note: element<HTMLParagraphElement>("images-note"),
};

for (const [value, label] of Object.entries(TASKS)) taskSelect.add(new Option(label, value));
for (const [config, { categories, latents }] of Object.entries(CATEGORICAL_CONFIGS)) {
  images.code.add(new Option(`${categories}×${latents}`, config, false, config === "10x30"));
}

/** The estimators ticked when the page opens. */
const FIRST_CHOICE: readonly EstimatorName[] = ["reinmax", "st"];

/**
 * One run to choose: an estimator's checkbox and, where it relaxes its samples, its own τ. A score-function
 * estimator weighs the losses of the Bernoulli task's K codes per image.
 */
const choices = ESTIMATOR_NAMES.map((name) => {
  const row = ESTIMATORS[name];
  const use = Object.assign(document.createElement("input"), {
    type: "checkbox",
    name: "estimator",
    value: name,
    checked: FIRST_CHOICE.includes(name),
  });
  if (row.scoreFunction) use.addEventListener("change", followEvaluations);
  const useLabel = document.createElement("label");
  useLabel.append(use, ` ${row.title}`);
  const group = Object.assign(document.createElement("span"), { className: "run-choice" });
  group.title = `${row.title}: ${row.summary}`;
  group.append(useLabel);
  const tau = relaxes(name) ? tauInput(name) : null;
  if (tau) {
    const tauLabel = document.createElement("label");
    tauLabel.append("τ ", tau);
    group.append(tauLabel);
  }
  element("run-choices").append(group);
  return { name, use, tau, group };
});

/** The τ field of an estimator that relaxes its samples, within its row's domain. */
function tauInput(name: EstimatorName): HTMLInputElement {
  const row = ESTIMATORS[name];
  const tau = Object.assign(document.createElement("input"), {
    type: "number",
    id: `tau-${name}`,
    step: "0.1",
    min: String(Math.max(row.tau.min, TAU_RANGE.min)),
    max: String(TAU_RANGE.max),
    title: `τ of ${row.title}; the paper tunes it in ${row.tau.tuned}`,
  });
  tau.setAttribute("aria-label", `${row.title} τ`);
  // A τ the user typed stays when the task changes; the others follow the task's defaults.
  tau.addEventListener("input", () => tau.dataset.edited = "true");
  return tau;
}

/** Whether the task's model takes the estimator: the score-function ones need the Bernoulli VAE's codes. */
function offers(task: TaskName, name: EstimatorName): boolean {
  return task === "bernoulli" || !ESTIMATORS[name].scoreFunction;
}

/**
 * The Bernoulli task's K follows the score-function estimators ticked: whenever they change, its field offers
 * the K every one of them takes (DisARM: exactly 2) and shows the smallest — 1, the model's own default, when
 * none is ticked. A K typed afterwards stays until they change again.
 */
function followEvaluations(): void {
  let { min, max } = MODEL_EVALUATIONS;
  for (const { name, use } of choices) {
    const score = ESTIMATORS[name].scoreFunction;
    if (!use.checked || !score) continue;
    min = Math.max(min, score.evaluations.min);
    max = Math.min(max, score.evaluations.max);
  }
  // Estimators with no K in common keep the model's range: Start then states the SDK's refusal.
  if (min > max) ({ min, max } = MODEL_EVALUATIONS);
  Object.assign(evaluations.input, { min: String(min), max: String(max), value: String(min) });
}
const settingInputs = [...form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select")];

interface TaskDefaults {
  /** The τ the model is tuned for: defaultTau's default for the estimators that follow the model. */
  readonly modelTau: number;
  readonly optimizer: "adam" | "radam";
  readonly lr: number;
  readonly batch: number;
  readonly steps: number;
}

function settings(
  { tau, optimizer, lr }: { tau: number; optimizer: "adam" | "radam"; lr: number },
): Pick<TaskDefaults, "modelTau" | "optimizer" | "lr"> {
  return { modelTau: tau, optimizer, lr };
}

function categoricalDefaults(config: CategoricalConfig): TaskDefaults {
  const { tau, optimizer, lr } = CATEGORICAL_CONFIGS[config];
  return { modelTau: tau, optimizer, lr, batch: 100, steps: 3000 };
}

/** The paper's settings for each task; the "images" task takes its code's (see taskDefaults). */
const TASK_DEFAULTS: Readonly<Record<Exclude<TaskName, "images">, TaskDefaults>> = {
  "8x4": categoricalDefaults("8x4"),
  "10x30": categoricalDefaults("10x30"),
  // What BernoulliVae and PolyProgramming default to when given no estimator or optimiser.
  "bernoulli": { ...settings(BERNOULLI_VAE_SETTINGS), batch: 100, steps: 3000 },
  "poly": { ...settings(POLY_SETTINGS), batch: 64, steps: 4000 },
};

/** Steps the "images" task trains by default: enough for a few hundred pictures to look like themselves. */
const IMAGES_STEPS = 2000;

function taskDefaults(task: TaskName): TaskDefaults {
  if (task !== "images") return TASK_DEFAULTS[task];
  return { ...categoricalDefaults(images.code.value as CategoricalConfig), steps: IMAGES_STEPS };
}

function applyTaskDefaults(task: TaskName): void {
  images.panel.hidden = task !== "images";
  evaluations.choice.hidden = task !== "bernoulli";
  const d = taskDefaults(task);
  for (const { name, use, tau, group } of choices) {
    group.hidden = !offers(task, name);
    if (group.hidden) use.checked = false;
    if (tau && !tau.dataset.edited) tau.value = String(defaultTau(name, d.modelTau));
  }
  followEvaluations();
  optimizerSelect.value = d.optimizer;
  fields.lr.value = String(d.lr);
  fields.batch.value = String(d.batch);
  fields.steps.value = String(d.steps);
}

/** A setting the studio cannot run with; `field` is the input (or the drop zone) to correct. */
class SettingError extends Error {
  override name = "SettingError";
  constructor(readonly field: HTMLElement, message: string) {
    super(message);
  }
}

/**
 * The number in `field`, checked by `check` (an SDK call that validates it): its ReinmaxInputError becomes a
 * SettingError about the field, so the page states the SDK's own rule.
 */
function checkedNumber(field: HTMLInputElement, what: string, check: (value: number) => unknown): number {
  if (field.value.trim() === "") {
    throw new SettingError(field, `${what}: expected a number, the field is empty`);
  }
  const value = field.valueAsNumber;
  try {
    check(value);
    return value;
  } catch (e) {
    if (!(e instanceof ReinmaxInputError)) throw e;
    // The SDK's message begins with its argument's name; the field's own name replaces it.
    const prefix = `${e.argument}: `;
    throw new SettingError(
      field,
      `${what}: ${e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message}`,
    );
  }
}

function wholeNumber(field: HTMLInputElement, what: string): number {
  if (field.value.trim() === "") {
    throw new SettingError(field, `${what}: expected a number, the field is empty`);
  }
  const value = Number(field.value);
  if (!Number.isInteger(value) || value < 1) {
    throw new SettingError(field, `${what}: expected a whole number ≥ 1, got ${JSON.stringify(field.value)}`);
  }
  return value;
}

/** How the page names the Bernoulli task's K in its messages. */
const EVALUATIONS_SETTING = "K codes per image";

/** The fields that set a model's options, by the argument the SDK's errors name them by. */
const SDK_SETTINGS: ReadonlyMap<string, { readonly field: HTMLElement; readonly what: string }> = new Map([
  ["evaluations", { field: evaluations.input, what: EVALUATIONS_SETTING }],
  ["batch", { field: fields.batch, what: "batch" }],
]);

function readRuns(task: TaskName): RunSettings[] {
  const runs = choices.filter((c) => c.use.checked && offers(task, c.name)).map(({ name, tau }) => ({
    estimator: name,
    // An estimator that does not relax its samples carries its default τ, unused.
    tau: tau
      ? checkedNumber(tau, `${ESTIMATORS[name].title} τ`, (value) => estimator(name, { tau: value }))
      : defaultTau(name),
  }));
  if (runs.length === 0) throw new SettingError(choices[0].use, "choose at least one estimator");
  return runs;
}

/** The "images" task's size, colour and code as the form shows them. */
function pictureSettings(): PictureSettings {
  return {
    size: Number(images.size.value),
    channels: images.colour.value === "3" ? 3 : 1,
    config: images.code.value as CategoricalConfig,
  };
}

/** The "images" task needs pictures, all of them read. */
function checkPictures(): void {
  if (state.pictures.reading) {
    throw new SettingError(
      images.drop,
      "Your images: the pictures are still being read; Start again in a moment",
    );
  }
  if (state.pictures.names.length === 0) {
    throw new SettingError(
      images.drop,
      "Your images: no pictures to train on — drop PNG or JPEG files or a folder of them, or choose them",
    );
  }
}

function readSettings(): StudioSettings {
  const task = taskSelect.value as TaskName;
  if (task === "images") checkPictures();
  const runs = readRuns(task);
  const optimizer = optimizerSelect.value as StudioSettings["optimizer"];
  const lr = checkedNumber(fields.lr, "learning rate", (lr) => (optimizer === "adam" ? adam : radam)({ lr }));
  const batch = wholeNumber(fields.batch, "batch");
  return {
    task,
    runs,
    lr,
    optimizer,
    // A step takes at most every picture: a larger batch would hold rows no step fills.
    batch: task === "images" ? Math.min(batch, state.pictures.names.length) : batch,
    steps: wholeNumber(fields.steps, "steps"),
    backend: element<HTMLSelectElement>("backend").value as StudioSettings["backend"],
    seed: 0,
    // Whether each estimator takes this K is the model's to say, as the worker builds it.
    evaluations: task === "bernoulli" ? wholeNumber(evaluations.input, EVALUATIONS_SETTING) : null,
    pictures: task === "images" ? pictureSettings() : null,
  };
}

let worker: Worker | null = null;

function setPhase(phase: Phase): void {
  state.phase = phase;
  document.body.dataset.state = phase;
  const busy = phase === "starting" || phase === "running";
  buttons.start.disabled = busy;
  buttons.pause.disabled = phase !== "running";
  buttons.resume.disabled = phase !== "paused";
  buttons.reset.disabled = phase === "idle";
  for (const input of settingInputs) input.disabled = busy;
  images.drop.setAttribute("aria-disabled", String(busy));
  for (const b of runsBody.querySelectorAll("button")) b.disabled = phase === "starting";
  render();
}

function send(command: StudioCommand, transfer: Transferable[] = []): void {
  worker?.postMessage(command, transfer);
}

/** A fresh worker for a new session; the old one (if any) is ended with everything it held. */
function newWorker(): void {
  worker?.terminate();
  const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "reinmax-train" });
  worker = w;
  w.onmessage = (event: MessageEvent<WorkerMessage>) => {
    if (worker === w) receive(event.data);
  };
  w.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    if (worker === w) {
      receive({ type: "error", name: "WorkerError", message: event.message, run: null, argument: null });
    }
  };
}

/** Ends the session (its worker and everything it trained) and clears all of it from the page. */
function endSession(): void {
  worker?.terminate();
  worker = null;
  Object.assign(state, { settings: null, backend: null, report: "", runs: [], msLeft: NaN, error: null });
  state.saved = state.loaded = state.codes = null;
  shown = null;
  pictures.clear();
  renderRuns();
}

/** Ends the session with `message` on the status line; `field` is the setting to correct, if one is at fault. */
function fail(message: string, field: HTMLElement | null = null): void {
  endSession();
  state.error = message;
  setPhase("error");
  for (const marked of form.querySelectorAll("[aria-invalid]")) marked.removeAttribute("aria-invalid");
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

function start(): void {
  let settings: StudioSettings;
  try {
    settings = readSettings();
  } catch (e) {
    if (!(e instanceof SettingError)) throw e;
    return fail(e.message, e.field);
  }
  endSession();
  state.settings = settings;
  newWorker();
  const runs = settings.runs.map((r) => runLabel(r, settings.evaluations ?? 1)).join(", ");
  const own = settings.task === "images"
    ? ` (${plural(state.pictures.names.length, "picture")}, ${settings.batch} a step)`
    : "";
  awaiting = `Starting ${runs} on ${TASKS[settings.task]}${own}…`;
  setPhase("starting");
  // Cloned, not transferred: the page keeps its bitmaps for the next session.
  send({ type: "start", settings, pictures: settings.task === "images" ? ownPictures : null });
}

function reset(): void {
  endSession();
  setPhase("idle");
}

async function loadFile(file: File): Promise<void> {
  // Only the backend and how far to train come from the form: the checkpoint brings everything else.
  let steps: number;
  try {
    steps = wholeNumber(fields.steps, "steps");
  } catch (e) {
    if (!(e instanceof SettingError)) throw e;
    return fail(e.message, e.field);
  }
  endSession();
  newWorker();
  // The phase changes before the file is read, so that nothing (a click, a test) sees the previous run's end.
  awaiting = `Loading ${file.name}…`;
  setPhase("starting");
  const bytes = new Uint8Array(await file.arrayBuffer());
  const backend = element<HTMLSelectElement>("backend").value as StudioSettings["backend"];
  send({ type: "load", bytes, name: file.name, backend, steps }, [bytes.buffer]);
}

// ---- the "images" task's pictures ----

/** The pictures as decoded, in the order of their names; each session's worker gets a copy. */
let ownPictures: { names: string[]; bitmaps: ImageBitmap[] } = { names: [], bitmaps: [] };
/** Counts the reads begun: a read that a newer one overtook drops what it decoded. */
let readsBegun = 0;
/** A file chosen or dropped, and its name with the folders it came in. */
interface ChosenFile {
  readonly file: File;
  readonly name: string;
}

const PICTURE_TYPES = ["image/png", "image/jpeg"];
const PICTURE_NAME = /\.(png|jpe?g)$/i;
/**
 * Pixels a picture keeps on its long side: the largest size offered with room to spare for the box filter,
 * while a folder of photos stays a few hundred kilobytes a picture instead of tens of megabytes.
 */
const KEPT_SIDE = 256;
/** How many of the pictures' names the note lists. */
const NAMES_SHOWN = 4;

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** A picture file as a bitmap, shrunk to KEPT_SIDE if larger; throws when the browser cannot decode it. */
async function decodePicture(file: File): Promise<ImageBitmap> {
  const bitmap = await createImageBitmap(file);
  const scale = KEPT_SIDE / Math.max(bitmap.width, bitmap.height);
  if (scale >= 1) return bitmap;
  try {
    return await createImageBitmap(bitmap, {
      resizeWidth: Math.max(1, Math.round(bitmap.width * scale)),
      resizeHeight: Math.max(1, Math.round(bitmap.height * scale)),
      resizeQuality: "high",
    });
  } finally {
    bitmap.close();
  }
}

/**
 * Replaces the pictures by those among `chosen`, sorted by name: files that are not PNG or JPEG are passed
 * over, and one the browser cannot decode is named in the note, the others kept.
 */
async function readPictures(chosen: readonly ChosenFile[]): Promise<void> {
  const read = ++readsBegun;
  for (const bitmap of ownPictures.bitmaps) bitmap.close();
  ownPictures = { names: [], bitmaps: [] };
  images.drop.removeAttribute("aria-invalid");
  const names: string[] = [], bitmaps: ImageBitmap[] = [];
  const notPictures: string[] = [], undecodable: string[] = [];
  state.pictures = { names, notPictures, undecodable, reading: true };
  const files = [...chosen].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let done = 0;
  for (const { file, name } of files) {
    if (read !== readsBegun) break;
    renderPictureNote(`Reading pictures… ${done++} of ${files.length} files`);
    if (!PICTURE_TYPES.includes(file.type) && !PICTURE_NAME.test(file.name)) {
      notPictures.push(name);
      continue;
    }
    try {
      bitmaps.push(await decodePicture(file));
      names.push(name);
    } catch (e) {
      undecodable.push(`${name} (${(e as Error).message.replace(/\.$/, "")})`);
    }
  }
  if (read !== readsBegun) {
    for (const bitmap of bitmaps) bitmap.close();
    return;
  }
  ownPictures = { names, bitmaps };
  state.pictures = { names, notPictures, undecodable, reading: false };
  renderPictureNote();
}

/** The note under the drop zone: the pictures ready, the files passed over, or `progress` while reading. */
function renderPictureNote(progress?: string): void {
  const { names, notPictures, undecodable } = state.pictures;
  if (progress) {
    images.note.textContent = progress;
    return;
  }
  const p = pictureSettings();
  const listed = names.slice(0, NAMES_SHOWN).join(", ") + (names.length > NAMES_SHOWN ? ", …" : "");
  const chose = names.length + notPictures.length + undecodable.length > 0;
  const parts = [
    names.length > 0
      ? `${plural(names.length, "picture")} ready (${listed}), each scaled to ${p.size}×${p.size} ` +
        `${p.channels === 3 ? "colour" : "grey"}.`
      : chose
      ? "No pictures among the files."
      : "No pictures yet.",
  ];
  const batch = fields.batch.valueAsNumber;
  if (names.length > 0 && batch > names.length) {
    parts.push(`A step takes all ${names.length}: the batch is at most the number of pictures.`);
  }
  if (notPictures.length > 0) {
    const n = notPictures.length;
    parts.push(`Passed over ${n === 1 ? "1 file that is" : `${n} files that are`} not PNG or JPEG.`);
  }
  const problem = undecodable.length > 0
    ? Object.assign(document.createElement("span"), {
      className: "problem",
      textContent: ` The browser cannot decode ${undecodable.join(", ")}: left out.`,
    })
    : "";
  images.note.replaceChildren(parts.join(" "), problem);
}

/** Every file under a dropped entry, folders walked, each named by its path within the drop. */
async function entryFiles(entry: FileSystemEntry): Promise<ChosenFile[]> {
  const name = entry.fullPath.replace(/^\/+/, "");
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) =>
      (entry as FileSystemFileEntry).file(resolve, reject)
    );
    return [{ file, name: name || file.name }];
  }
  if (!entry.isDirectory) return [];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const children: FileSystemEntry[] = [];
  // A directory reader answers in batches (100 entries in Chromium) until it answers none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject)
    );
    if (batch.length === 0) break;
    children.push(...batch);
  }
  return (await Promise.all(children.map(entryFiles))).flat();
}

/** The files of a drop, folders included where the browser gives entries. */
async function droppedFiles(transfer: DataTransfer): Promise<ChosenFile[]> {
  // The entries must be taken before the drop event returns: the list is emptied after it.
  const entries = [...transfer.items].filter((item) => item.kind === "file").map((item) =>
    item.webkitGetAsEntry?.() ?? null
  );
  const files = [...transfer.files];
  if (entries.length === 0 || entries.some((e) => e === null)) {
    return files.map((file) => ({ file, name: file.name }));
  }
  return (await Promise.all(entries.map((e) => entryFiles(e!)))).flat();
}

function picturesBusy(): boolean {
  return state.phase === "starting" || state.phase === "running";
}

function download(name: string, bytes: Uint8Array<ArrayBuffer>, type = "application/octet-stream"): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function receive(message: WorkerMessage): void {
  const run = "run" in message && typeof message.run === "number" ? state.runs[message.run] : undefined;
  switch (message.type) {
    case "report":
      state.backend = message.backend;
      state.report = message.text;
      break;
    case "runs":
      state.runs = message.runs.map((info) => ({
        info,
        step: info.step,
        losses: [],
        epochs: [],
        msPerStep: NaN,
        wallMsPerStep: NaN,
        failure: null,
        quality: null,
        imagesStep: -1,
      }));
      shown = message.images &&
        { images: message.images, height: message.height, width: message.width, channels: message.channels };
      renderRuns();
      break;
    case "losses":
      if (!run) break;
      message.losses.forEach((loss, i) => run.losses.push([message.firstStep + i + 1, loss]));
      run.step = Math.max(run.step, message.firstStep + message.losses.length);
      break;
    case "speed":
      if (!run) break;
      run.msPerStep = message.msPerStep;
      run.wallMsPerStep = message.wallMsPerStep;
      break;
    case "epoch":
      if (!run) break;
      run.epochs.push([message.step, message.train, message.test]);
      run.msPerStep = message.msPerStep;
      break;
    case "images":
      if (!run) break;
      run.imagesStep = message.step;
      pictures.set(message.run, message);
      drawPictures();
      break;
    case "quality":
      if (run) run.quality = { ...message };
      break;
    case "stopped":
      if (!run) break;
      run.step = message.step;
      run.failure = message.message;
      // Its last pictures are of a state it has left; the row says why it stopped instead.
      pictures.delete(message.run);
      run.imagesStep = -1;
      drawPictures();
      break;
    case "phase":
      message.steps.forEach((step, i) => state.runs[i] && (state.runs[i].step = step));
      setPhase(message.phase);
      break;
    case "checkpoint":
      state.saved = {
        run: message.run,
        step: message.step,
        name: message.name,
        bytes: message.bytes.length,
        check: message.check,
      };
      download(message.name, message.bytes as Uint8Array<ArrayBuffer>);
      break;
    case "codes":
      state.codes = {
        run: message.run,
        step: message.step,
        name: message.name,
        bytes: message.bytes.length,
        pictures: message.pictures,
      };
      download(message.name, message.bytes as Uint8Array<ArrayBuffer>, "application/x-ndjson");
      break;
    case "loaded":
      state.loaded = { name: message.name, step: message.step, check: message.check };
      break;
    case "error": {
      // A setting the SDK refused as the worker built the models: its field is marked and the SDK's rule
      // stated, as the page's own checks do.
      const setting = message.argument === null ? undefined : SDK_SETTINGS.get(message.argument);
      if (setting) {
        const prefix = `${message.argument}: `;
        const rule = message.message.startsWith(prefix)
          ? message.message.slice(prefix.length)
          : message.message;
        return fail(`${setting.what}: ${rule}`, setting.field);
      }
      const who = message.run ? `${message.run}: ` : "";
      // A lost device takes the models with it; what a person can do next is in the message.
      const next = message.name === "BackendFailureError"
        ? " — the backend is gone: Start again, or Load a downloaded checkpoint to continue (backend wasm " +
          "works on every machine)."
        : "";
      return fail(`${who}${message.name}: ${message.message}${next}`);
    }
  }
  render();
}

// ---- the status line, the time left and the runs table ----

/** "about 3 min 20 s left", from milliseconds. */
function timeLeft(ms: number): string {
  if (!Number.isFinite(ms)) return "measuring the time left…";
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `about ${s} s left`;
  if (s < 3600) return `about ${Math.floor(s / 60)} min ${s % 60} s left`;
  return `about ${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min left`;
}

function runSummary(): string {
  return state.runs.map((r) =>
    r.failure
      ? `${r.info.label} stopped after step ${r.step}`
      : `${r.info.label} step ${r.step}/${r.info.steps}`
  ).join(", ");
}

function statusText(): string {
  switch (state.phase) {
    case "idle":
      return "Idle — choose settings and press Start, or load a checkpoint.";
    case "starting":
      return awaiting;
    case "running":
      return `Training on ${state.backend}: ${runSummary()} — ${timeLeft(state.msLeft)}`;
    case "paused": {
      const loaded = state.loaded, first = state.runs[0];
      if (loaded && first?.step === loaded.step) {
        return `Loaded ${loaded.name}: ${
          TASKS[first.info.task]
        }, ${first.info.label}, at step ${loaded.step}. ` +
          "Press Resume to continue training.";
      }
      return `Paused on ${state.backend}: ${runSummary()}. Resume continues from here.`;
    }
    case "done": {
      const finished = state.runs.some((r) => r.failure === null);
      return `${finished ? "Done" : "No run finished"} on ${state.backend}: ${runSummary()}.`;
    }
    case "error":
      return `Error: ${state.error}`;
  }
}

/** Brings everything but the pictures (drawn as they come) up to date with `state`. */
function render(): void {
  // The runs train one after another in the worker, so the time left is the sum of theirs.
  const live = state.runs.filter((r) => r.failure === null && r.step < r.info.steps);
  state.msLeft = state.phase === "running"
    ? live.reduce((sum, r) => sum + (r.info.steps - r.step) * r.wallMsPerStep, 0)
    : NaN;
  statusLine.dataset.state = state.phase;
  statusLine.textContent = statusText();
  failureList.replaceChildren(
    ...state.runs.filter((r) => r.failure !== null).map((r) =>
      Object.assign(document.createElement("li"), { textContent: `${r.info.label}: ${r.failure}` })
    ),
  );
  reportBox.textContent = state.report;
  renderRunFigures();
  redraw();
}

const COLORS = ["#2f6fdb", "#e0662b", "#2a9d5c", "#9b51e0", "#c2185b"];

function colorOf(run: RunState): string {
  return COLORS[run.info.id % COLORS.length];
}

function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "—";
}

/** The runs table's rows (one per run) and the picture panels, for a new set of runs. */
function renderRuns(): void {
  runsBody.replaceChildren();
  for (const r of state.runs) {
    const row = runsBody.insertRow();
    row.dataset.run = String(r.info.id);
    const swatch = `<span class="swatch" style="background:${colorOf(r)}"></span>`;
    const codes = r.info.task === "images"
      ? ` <button type="button" id="codes-${r.info.id}" title="Each picture's most likely code, as JSON lines">` +
        `codes</button>`
      : "";
    row.innerHTML = `<td>${swatch}${r.info.label}</td><td data-f="step"></td><td data-f="train"></td>` +
      `<td data-f="test"></td><td data-f="ms"></td><td data-f="quality"></td>` +
      `<td><button type="button" id="download-${r.info.id}" title="A .safetensors file of the model">` +
      `checkpoint</button>${codes}</td>`;
    row.querySelector(`#download-${r.info.id}`)!.addEventListener(
      "click",
      () => send({ type: "save", run: r.info.id }),
    );
    row.querySelector(`#codes-${r.info.id}`)?.addEventListener(
      "click",
      () => send({ type: "codes", run: r.info.id }),
    );
  }
  drawPictures();
}

function renderRunFigures(): void {
  const task = state.runs[0]?.info.task;
  const poly = task === "poly";
  element("test-heading").textContent = poly
    ? "exact loss"
    : task === "images"
    ? "−ELBO of the pictures"
    : "test −ELBO";
  element("train-heading").textContent = poly ? "sampled loss" : "train −ELBO";
  for (const r of state.runs) {
    const row = runsBody.querySelector(`tr[data-run="${r.info.id}"]`);
    if (!row) continue;
    const cell = (f: string, text: string) => row.querySelector(`[data-f=${f}]`)!.textContent = text;
    const last = r.epochs[r.epochs.length - 1];
    cell("step", `${r.step} / ${r.info.steps}${r.failure ? " (stopped)" : ""}`);
    cell("train", last ? fmt(last[1], poly ? 4 : 2) : "—");
    cell("test", last ? fmt(last[2], poly ? 4 : 2) : "—");
    cell("ms", fmt(r.msPerStep, 1));
    const q = r.quality;
    cell(
      "quality",
      q
        ? `error ${fmt(q.relativeError, 3)} · spread ${fmt(q.relativeStd, 2)} · cos ${fmt(q.cosine, 3)}`
        : r.info.task !== "8x4"
        ? "8×4 only"
        : r.failure
        ? "—"
        : "at the first epoch's end",
    );
  }
}

// ---- pictures ----

/** Screen pixels a picture is wide: eight fit half the page (a 28×28 image at 1.5 pixels a pixel). */
const PICTURE_PX = 42;

/** An empty canvas: no picture of an earlier run stays behind. */
function blank(canvas: HTMLCanvasElement): void {
  canvas.width = canvas.height = 1;
  canvas.dataset.rows = "0";
}

function drawPictures(): void {
  pictureSection.hidden = shown === null;
  if (!shown) {
    blank(reconCanvas);
    blank(samplesCanvas);
    return;
  }
  const { height: h, width: w, channels } = shown;
  const cell = PICTURE_PX / Math.max(h, w);
  const own = state.runs[0]?.info.task === "images";
  element("reconstructions-heading").textContent = own
    ? "Your pictures and their reconstructions"
    : "Test images and their reconstructions";
  const font = "11px system-ui, sans-serif", gap = 3, columns = 8, size = h * w * channels;
  const firstRow = own ? "yours" : "test";
  const measure = reconCanvas.getContext("2d")!;
  measure.font = font;
  const labelWidth = 12 +
    Math.max(...[firstRow, ...state.runs.map((r) => r.info.label)].map((t) => measure.measureText(t).width));
  const rowHeight = h * cell + gap;
  const scratch = document.createElement("canvas");
  scratch.width = w;
  scratch.height = h;
  const scratchCtx = scratch.getContext("2d")!;
  const pixels = scratchCtx.createImageData(w, h);
  // Fashion-MNIST's garments are light on black: drawn dark on white, as a page shows them. The user's
  // pictures are drawn as they are.
  const level = (x: number) => {
    const c = Math.min(1, Math.max(0, x));
    return Math.round(255 * (own ? c : 1 - c));
  };
  const put = (ctx: CanvasRenderingContext2D, images: Float32Array, index: number, x: number, y: number) => {
    const at = index * size;
    for (let p = 0; p < w * h; p++) {
      if (channels === 3) {
        const c = at + p * 3;
        pixels.data.set([level(images[c]), level(images[c + 1]), level(images[c + 2]), 255], p * 4);
      } else {
        const v = level(images[at + p]);
        pixels.data.set([v, v, v, 255], p * 4);
      }
    }
    scratchCtx.putImageData(pixels, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, x, y, w * cell, h * cell);
  };
  const prepare = (canvas: HTMLCanvasElement, rows: number) => {
    canvas.width = labelWidth + columns * (w * cell + gap);
    canvas.height = rows * rowHeight;
    canvas.dataset.rows = String(rows);
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.font = font;
    ctx.textBaseline = "middle";
    return ctx;
  };
  const label = (ctx: CanvasRenderingContext2D, text: string, color: string, row: number, x = 4) => {
    ctx.fillStyle = color;
    ctx.fillText(text, x, row * rowHeight + (h * cell) / 2);
  };

  // Fewer pictures than columns: as many reconstructions as pictures, and still a full row of samples.
  const count = Math.min(columns, shown.images.length / size);
  const recon = prepare(reconCanvas, 1 + state.runs.length);
  label(recon, firstRow, "#1d232b", 0);
  for (let i = 0; i < count; i++) put(recon, shown.images, i, labelWidth + i * (w * cell + gap), 0);
  const samples = prepare(samplesCanvas, Math.max(1, state.runs.length));
  state.runs.forEach((r, k) => {
    label(recon, r.info.label, colorOf(r), k + 1);
    label(samples, r.info.label, colorOf(r), k);
    if (r.failure) {
      label(recon, `stopped after step ${r.step}`, "#b3261e", k + 1, labelWidth);
      label(samples, `stopped after step ${r.step}`, "#b3261e", k, labelWidth);
    }
    const p = pictures.get(r.info.id);
    if (!p) return;
    for (let i = 0; i < columns; i++) {
      const x = labelWidth + i * (w * cell + gap);
      if (i < count) put(recon, p.reconstructions, i, x, (k + 1) * rowHeight);
      put(samples, p.samples, i, x, k * rowHeight);
    }
  });
}

// ---- the chart ----

let frame = 0;
function redraw(): void {
  if (frame === 0) frame = requestAnimationFrame(() => (frame = 0, draw()));
}

/** The step the chart's axis ends at: the runs', or before any, what the form would train. */
function plannedSteps(): number | null {
  if (state.runs.length > 0) return Math.max(...state.runs.map((r) => r.info.steps));
  const steps = fields.steps.valueAsNumber;
  return Number.isInteger(steps) && steps >= 1 ? steps : null;
}

function draw(): void {
  const task = state.runs[0]?.info.task ?? taskSelect.value;
  const poly = task === "poly", own = task === "images";
  state.axes = drawChart(chart, {
    steps: plannedSteps(),
    series: state.runs.map((r) => ({
      label: r.info.label,
      color: colorOf(r),
      perStep: r.losses,
      perEpoch: r.epochs.map(([s, , test]) => [s, test] as const),
    })),
    optimum: state.runs[0]?.info.optimum ?? NaN,
    yTitle: poly ? "loss" : "−ELBO (nats per image)",
    perStepLegend: poly ? "sampled loss per step" : "train −ELBO per step",
    perEpochLegend: poly
      ? "exact expected loss per epoch"
      : own
      ? "−ELBO of the pictures per epoch (at least 100 steps)"
      : "test −ELBO per epoch",
    log: logScale.checked,
  });
  scaleNote.textContent = logScale.checked && state.axes.scale === "linear"
    ? "linear for now: a value ≤ 0 has no logarithm"
    : "";
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  start();
});
form.addEventListener("input", (event) => {
  (event.target as HTMLElement).removeAttribute("aria-invalid");
  if (state.runs.length === 0) redraw(); // the empty chart's step axis follows the form
  if (!state.pictures.reading) renderPictureNote(); // it states the size, the colour and the batch
});
taskSelect.addEventListener("change", () => applyTaskDefaults(taskSelect.value as TaskName));
logScale.addEventListener("change", redraw);
buttons.pause.addEventListener("click", () => send({ type: "pause" }));
buttons.resume.addEventListener("click", () => send({ type: "resume" }));
buttons.reset.addEventListener("click", reset);
loadInput.addEventListener("change", () => {
  const file = loadInput.files?.[0];
  loadInput.value = "";
  if (file) loadFile(file).catch((e) => fail(`${(e as Error).name}: ${(e as Error).message}`));
});
globalThis.addEventListener("resize", redraw);
images.code.addEventListener("change", () => applyTaskDefaults("images"));
for (const input of [images.files, images.folder]) {
  input.addEventListener("change", () => {
    const files = [...input.files ?? []];
    input.value = "";
    if (files.length === 0) return;
    readPictures(files.map((file) => ({ file, name: file.webkitRelativePath || file.name })))
      .catch((e) => fail(`${(e as Error).name}: ${(e as Error).message}`));
  });
}
images.drop.addEventListener("click", () => picturesBusy() || images.files.click());
images.drop.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" && event.key !== " ") return;
  event.preventDefault();
  if (!picturesBusy()) images.files.click();
});
// A file dropped anywhere else would make the browser open it in place of the studio.
for (const type of ["dragover", "drop"] as const) {
  document.addEventListener(type, (event) => event.preventDefault());
}
images.drop.addEventListener("dragover", (event) => {
  images.drop.dataset.over = String(!picturesBusy());
  if (event.dataTransfer) event.dataTransfer.dropEffect = picturesBusy() ? "none" : "copy";
});
images.drop.addEventListener("dragleave", () => images.drop.dataset.over = "false");
images.drop.addEventListener("drop", (event) => {
  images.drop.dataset.over = "false";
  if (picturesBusy() || !event.dataTransfer) return;
  droppedFiles(event.dataTransfer).then(readPictures)
    .catch((e) => fail(`${(e as Error).name}: ${(e as Error).message}`));
});

taskSelect.value = "8x4";
applyTaskDefaults("8x4");
reset();
