// The studio page: reads the settings, starts the training worker (worker.ts), sends it pause, resume, save
// and load, and draws what it reports — loss curves of every run on one chart, test images with each run's
// live reconstructions, samples from the prior, the runs' figures and the backend report. The worker does all
// the training; this thread only draws, so the page stays responsive.
import {
  type Phase,
  type StudioCommand,
  type StudioEstimator,
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
  error: null,
  saved: null,
  loaded: null,
};
(globalThis as unknown as { reinmaxStudio: StudioState }).reinmaxStudio = state;
/** The test images the reconstructions are of, and their size. */
let shown: { images: Float32Array; height: number; width: number } | null = null;
/** The latest pictures of each run. */
const pictures = new Map<number, { reconstructions: Float32Array; samples: Float32Array }>();

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const form = element<HTMLFormElement>("settings");
const taskSelect = element<HTMLSelectElement>("task");
const buttons = {
  start: element<HTMLButtonElement>("start"),
  pause: element<HTMLButtonElement>("pause"),
  resume: element<HTMLButtonElement>("resume"),
  reset: element<HTMLButtonElement>("reset"),
};
const loadInput = element<HTMLInputElement>("load");
const statusLine = element<HTMLDivElement>("status");
const reportBox = element<HTMLPreElement>("report");
const chart = element<HTMLCanvasElement>("chart");
const reconCanvas = element<HTMLCanvasElement>("reconstructions");
const samplesCanvas = element<HTMLCanvasElement>("samples");
const runsBody = element<HTMLTableSectionElement>("runs");
const pictureSection = element<HTMLElement>("pictures");
const settingInputs = [...form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select")];

for (const [value, label] of Object.entries(TASKS)) taskSelect.add(new Option(label, value));

/** The paper's settings for each task: ReinMax's τ, the optimiser and its learning rate, batch and steps. */
const DEFAULTS: Record<
  TaskName,
  { tau: number; optimizer: string; lr: number; batch: number; steps: number }
> = {
  "8x4": { tau: 1.3, optimizer: "adam", lr: 5e-4, batch: 100, steps: 3000 },
  "10x30": { tau: 1.3, optimizer: "radam", lr: 5e-4, batch: 100, steps: 3000 },
  "bernoulli": { tau: 1.1, optimizer: "radam", lr: 3e-4, batch: 100, steps: 3000 },
  "poly": { tau: 1, optimizer: "adam", lr: 1e-3, batch: 64, steps: 4000 },
};

function applyDefaults(task: TaskName): void {
  const d = DEFAULTS[task];
  element<HTMLInputElement>("tau").value = String(d.tau);
  element<HTMLSelectElement>("optimizer").value = d.optimizer;
  element<HTMLInputElement>("lr").value = String(d.lr);
  element<HTMLInputElement>("batch").value = String(d.batch);
  element<HTMLInputElement>("steps").value = String(d.steps);
}

let worker: Worker | null = null;

function readSettings(): StudioSettings {
  const num = (id: string, min: number, integer = false): number => {
    const input = element<HTMLInputElement>(id);
    const value = Number(input.value);
    if (
      input.value.trim() === "" || !Number.isFinite(value) || value < min ||
      (integer && !Number.isInteger(value))
    ) {
      throw new Error(`${id} must be ${integer ? "an integer" : "a number"} ≥ ${min}, got "${input.value}"`);
    }
    return value;
  };
  const estimators = [...form.querySelectorAll<HTMLInputElement>("input[name=estimator]:checked")]
    .map((box) => box.value as StudioEstimator);
  if (estimators.length === 0) throw new Error("choose at least one estimator");
  return {
    task: taskSelect.value as TaskName,
    estimators,
    tau: num("tau", Number.MIN_VALUE),
    lr: num("lr", 0),
    optimizer: element<HTMLSelectElement>("optimizer").value as StudioSettings["optimizer"],
    batch: num("batch", 1, true),
    steps: num("steps", 1, true),
    backend: element<HTMLSelectElement>("backend").value as StudioSettings["backend"],
    seed: 0,
  };
}

function setPhase(phase: Phase, status: string): void {
  state.phase = phase;
  statusLine.dataset.state = phase;
  document.body.dataset.state = phase;
  statusLine.textContent = status;
  const busy = phase === "starting" || phase === "running";
  buttons.start.disabled = busy;
  buttons.pause.disabled = phase !== "running";
  buttons.resume.disabled = phase !== "paused";
  buttons.reset.disabled = phase === "idle";
  loadInput.disabled = busy;
  for (const input of settingInputs) if (input !== loadInput) input.disabled = busy;
  for (const b of runsBody.querySelectorAll("button")) b.disabled = phase === "starting" || phase === "error";
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
    if (worker === w) receive({ type: "error", name: "WorkerError", message: event.message, run: null });
  };
}

function clearSession(settings: StudioSettings | null): void {
  Object.assign(state, { settings, backend: null, report: "", runs: [], error: null });
  shown = null;
  pictures.clear();
  reportBox.textContent = "";
  renderRuns();
  redraw();
}

function start(): void {
  let settings: StudioSettings;
  try {
    settings = readSettings();
  } catch (e) {
    setPhase("error", `Error: ${(e as Error).message}`);
    return;
  }
  newWorker();
  clearSession(settings);
  setPhase("starting", `Starting ${settings.estimators.join(", ")} on ${TASKS[settings.task]}…`);
  send({ type: "start", settings });
}

function reset(): void {
  worker?.terminate();
  worker = null;
  clearSession(null);
  state.saved = state.loaded = null;
  setPhase("idle", "Idle — choose settings and press Start, or load a checkpoint.");
}

async function loadFile(file: File): Promise<void> {
  // The phase changes before the file is read, so that nothing (a click, a test) sees the previous run's end.
  setPhase("starting", `Loading ${file.name}…`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  let settings: StudioSettings | null = null;
  try {
    settings = readSettings();
  } catch { /* the checkpoint brings its own settings; only backend and steps are read from the form */ }
  newWorker();
  clearSession(null);
  send({
    type: "load",
    bytes,
    name: file.name,
    backend: settings?.backend ?? "auto",
    steps: settings?.steps ?? 3000,
  }, [bytes.buffer]);
}

function download(name: string, bytes: Uint8Array<ArrayBuffer>): void {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "—";
}

function runSummary(): string {
  return state.runs.map((r) => `${r.info.label} step ${r.step}/${r.info.steps}`).join(", ");
}

function receive(message: WorkerMessage): void {
  const run = "run" in message && typeof message.run === "number" ? state.runs[message.run] : undefined;
  switch (message.type) {
    case "report":
      state.backend = message.backend;
      state.report = message.text;
      reportBox.textContent = message.text;
      break;
    case "runs":
      state.runs = message.runs.map((info) => ({
        info,
        step: info.step,
        losses: [],
        epochs: [],
        msPerStep: NaN,
        quality: null,
        imagesStep: -1,
      }));
      shown = message.images && { images: message.images, height: message.height, width: message.width };
      pictureSection.hidden = shown === null;
      renderRuns();
      break;
    case "losses":
      if (!run) break;
      message.losses.forEach((loss, i) => run.losses.push([message.firstStep + i + 1, loss]));
      run.step = Math.max(run.step, message.firstStep + message.losses.length);
      break;
    case "speed":
      if (run) run.msPerStep = message.msPerStep;
      break;
    case "epoch":
      if (!run) break;
      run.epochs.push([message.step, message.train, message.test]);
      run.msPerStep = message.msPerStep;
      break;
    case "images":
      if (!run) break;
      run.imagesStep = message.step;
      pictures.set(message.run as number, message);
      drawPictures();
      break;
    case "quality":
      if (run) run.quality = { ...message };
      break;
    case "phase":
      message.steps.forEach((step, i) => state.runs[i] && (state.runs[i].step = step));
      if (message.phase === "running") setPhase("running", `Training on ${state.backend}: ${runSummary()}`);
      else if (message.phase === "paused") {
        setPhase("paused", `Paused on ${state.backend}: ${runSummary()}. Resume continues from here.`);
      } else setPhase("done", `Done on ${state.backend}: ${runSummary()}.`);
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
    case "loaded":
      state.loaded = { name: message.name, step: message.step, check: message.check };
      break;
    case "error": {
      worker?.terminate();
      worker = null;
      const who = message.run ? `${message.run}: ` : "";
      // A lost device takes the models with it; what a person can do next is in the message.
      const next = message.name === "BackendFailureError"
        ? " — the backend is gone: Start again, or Load a downloaded checkpoint to continue (backend wasm " +
          "works on every machine)."
        : "";
      state.error = `${who}${message.name}: ${message.message}${next}`;
      setPhase("error", `Error: ${state.error}`);
      break;
    }
  }
  if (state.phase === "running" && message.type !== "phase") {
    statusLine.textContent = `Training on ${state.backend}: ${runSummary()}`;
  }
  if (message.type === "loaded") {
    const r = state.runs[0];
    statusLine.textContent = `Loaded ${message.name}: ${TASKS[r.info.task]}, ${r.info.label}, at step ` +
      `${message.step}. Press Resume to continue training.`;
  }
  renderRunFigures();
  redraw();
}

// ---- the runs table ----

const COLORS = ["#2f6fdb", "#e0662b", "#2a9d5c", "#9b51e0", "#c2185b"];
const AXIS = "#8a929c", GRID = "#eceef1", OPTIMUM = "#5b6470";

function renderRuns(): void {
  runsBody.replaceChildren();
  for (const r of state.runs) {
    const row = runsBody.insertRow();
    row.dataset.run = String(r.info.id);
    const swatch = `<span class="swatch" style="background:${COLORS[r.info.id % COLORS.length]}"></span>`;
    row.innerHTML = `<td>${swatch}${r.info.label}</td><td data-f="step"></td><td data-f="train"></td>` +
      `<td data-f="test"></td><td data-f="ms"></td><td data-f="quality"></td>` +
      `<td><button type="button" id="download-${r.info.id}">Download</button></td>`;
    row.querySelector("button")!.addEventListener("click", () => send({ type: "save", run: r.info.id }));
  }
  renderRunFigures();
}

function renderRunFigures(): void {
  const poly = state.runs[0]?.info.task === "poly";
  element("test-heading").textContent = poly ? "exact loss" : "test −ELBO";
  element("train-heading").textContent = poly ? "sampled loss" : "train −ELBO";
  for (const r of state.runs) {
    const row = runsBody.querySelector(`tr[data-run="${r.info.id}"]`);
    if (!row) continue;
    const cell = (f: string, text: string) => row.querySelector(`[data-f=${f}]`)!.textContent = text;
    const last = r.epochs[r.epochs.length - 1];
    cell("step", `${r.step} / ${r.info.steps}`);
    cell("train", last ? fmt(last[1], poly ? 4 : 2) : "—");
    cell("test", last ? fmt(last[2], poly ? 4 : 2) : "—");
    cell("ms", fmt(r.msPerStep, 1));
    const q = r.quality;
    cell(
      "quality",
      q
        ? `error ${fmt(q.relativeError, 3)} · spread ${fmt(q.relativeStd, 2)} · cos ${fmt(q.cosine, 3)}`
        : (r.info.task === "8x4" ? "at the first epoch's end" : "8×4 only"),
    );
  }
}

// ---- pictures ----

const CELL = 1.5; // screen pixels per image pixel: eight 28×28 images fit half the page

function drawPictures(): void {
  if (!shown) return;
  const { height: h, width: w } = shown;
  const labelWidth = 84, gap = 3, columns = 8;
  const rowHeight = h * CELL + gap;
  const scratch = document.createElement("canvas");
  scratch.width = w;
  scratch.height = h;
  const scratchCtx = scratch.getContext("2d")!;
  const pixels = scratchCtx.createImageData(w, h);
  const put = (ctx: CanvasRenderingContext2D, images: Float32Array, index: number, x: number, y: number) => {
    for (let p = 0; p < w * h; p++) {
      const v = Math.round(255 * (1 - Math.min(1, Math.max(0, images[index * w * h + p]))));
      pixels.data.set([v, v, v, 255], p * 4);
    }
    scratchCtx.putImageData(pixels, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, x, y, w * CELL, h * CELL);
  };
  const prepare = (canvas: HTMLCanvasElement, rows: number) => {
    canvas.width = labelWidth + columns * (w * CELL + gap);
    canvas.height = rows * rowHeight;
    canvas.dataset.rows = String(rows);
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    return ctx;
  };
  const label = (ctx: CanvasRenderingContext2D, text: string, color: string, row: number) => {
    ctx.fillStyle = color;
    ctx.fillText(text, 4, row * rowHeight + (h * CELL) / 2);
  };

  const recon = prepare(reconCanvas, 1 + state.runs.length);
  label(recon, "test", "#1d232b", 0);
  for (let i = 0; i < columns; i++) put(recon, shown.images, i, labelWidth + i * (w * CELL + gap), 0);
  const samples = prepare(samplesCanvas, Math.max(1, state.runs.length));
  state.runs.forEach((r, k) => {
    const color = COLORS[r.info.id % COLORS.length];
    label(recon, r.info.label, color, k + 1);
    label(samples, r.info.label, color, k);
    const p = pictures.get(r.info.id);
    if (!p) return;
    for (let i = 0; i < columns; i++) {
      const x = labelWidth + i * (w * CELL + gap);
      put(recon, p.reconstructions, i, x, (k + 1) * rowHeight);
      put(samples, p.samples, i, x, k * rowHeight);
    }
  });
}

// ---- the chart ----

let frame = 0;
function redraw(): void {
  if (frame === 0) frame = requestAnimationFrame(() => (frame = 0, draw()));
}

/** About `count` round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(t);
  return out;
}

/** Means of `points` over windows of `width` steps, so the noisy per-step loss reads as a curve. */
function smooth(points: readonly [number, number][], width: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < points.length; i += width) {
    const window = points.slice(i, i + width);
    out.push([window[window.length - 1][0], window.reduce((a, p) => a + p[1], 0) / window.length]);
  }
  return out;
}

function draw(): void {
  const dpr = globalThis.devicePixelRatio || 1;
  const width = chart.clientWidth, height = chart.clientHeight;
  if (chart.width !== Math.round(width * dpr) || chart.height !== Math.round(height * dpr)) {
    chart.width = Math.round(width * dpr);
    chart.height = Math.round(height * dpr);
  }
  const ctx = chart.getContext("2d")!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "12px system-ui, sans-serif";

  const poly = state.runs[0]?.info.task === "poly";
  const optimum = state.runs[0]?.info.optimum ?? NaN;
  const left = 64, right = 16, top = 34, bottom = 38;
  const plotW = width - left - right, plotH = height - top - bottom;
  const steps = Math.max(1, ...state.runs.map((r) => r.info.steps));
  const curves = state.runs.map((r) => ({
    color: COLORS[r.info.id % COLORS.length],
    train: smooth(r.losses, Math.max(1, Math.round(r.losses.length / 400))),
    test: r.epochs.map(([s, , t]) => [s, t] as [number, number]).filter(([, t]) => Number.isFinite(t)),
  }));
  let lo = Infinity, hi = -Infinity;
  for (const c of curves) {
    for (const [, v] of [...c.train, ...c.test]) {
      if (Number.isFinite(v)) (lo = Math.min(lo, v), hi = Math.max(hi, v));
    }
  }
  if (Number.isFinite(optimum)) (lo = Math.min(lo, optimum), hi = Math.max(hi, optimum));
  if (!Number.isFinite(lo)) (lo = poly ? 0.2 : 200, hi = poly ? 0.26 : 550);
  if (hi - lo < 1e-4) (lo -= 0.005, hi += 0.005);
  const pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  const x = (step: number) => left + (step / steps) * plotW;
  const y = (loss: number) => top + (1 - (loss - lo) / (hi - lo)) * plotH;

  ctx.lineWidth = 1;
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  const digits = hi - lo < 0.1 ? 3 : hi - lo < 10 ? 1 : 0;
  for (const t of ticks(lo, hi, 5)) {
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(t)) + 0.5);
    ctx.lineTo(left + plotW, Math.round(y(t)) + 0.5);
    ctx.stroke();
    ctx.fillStyle = AXIS;
    ctx.fillText(t.toFixed(digits), left - 8, y(t));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of ticks(0, steps, 8)) ctx.fillText(String(Math.round(t)), x(t), top + plotH + 8);
  ctx.fillText("step", left + plotW / 2, top + plotH + 22);
  ctx.save();
  ctx.translate(14, top + plotH / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText(poly ? "loss" : "−ELBO (nats per image)", 0, 0);
  ctx.restore();
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(left + 0.5, top + 0.5, plotW - 1, plotH - 1);

  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, plotW, plotH);
  ctx.clip();
  if (Number.isFinite(optimum)) {
    ctx.strokeStyle = OPTIMUM;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 5]);
    ctx.beginPath();
    ctx.moveTo(left, y(optimum));
    ctx.lineTo(left + plotW, y(optimum));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const c of curves) {
    ctx.globalAlpha = 0.45;
    polyline(ctx, c.train, x, y, c.color, 1.2);
    ctx.globalAlpha = 1;
    polyline(ctx, c.test, x, y, c.color, 2.2);
    ctx.fillStyle = c.color;
    for (const [s, l] of c.test) {
      ctx.beginPath();
      ctx.arc(x(s), y(l), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  ctx.restore();

  // Legend: each run's colour, then what the two line styles mean.
  const legend: [string, string, "thin" | "thick" | "dashed"][] = state.runs.map((r) => [
    r.info.label,
    COLORS[r.info.id % COLORS.length],
    "thick",
  ]);
  legend.push([poly ? "sampled loss per step" : "train −ELBO per step", AXIS, "thin"]);
  legend.push([poly ? "exact expected loss per epoch" : "test −ELBO per epoch", AXIS, "thick"]);
  if (Number.isFinite(optimum)) legend.push(["optimum", OPTIMUM, "dashed"]);
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  let lx = left;
  for (const [text, color, style] of legend) {
    ctx.strokeStyle = color;
    ctx.lineWidth = style === "thin" ? 1.2 : 2.2;
    ctx.setLineDash(style === "dashed" ? [5, 4] : []);
    ctx.beginPath();
    ctx.moveTo(lx, 16);
    ctx.lineTo(lx + 20, 16);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#1d232b";
    ctx.fillText(text, lx + 25, 16);
    lx += 25 + ctx.measureText(text).width + 18;
  }
}

function polyline(
  ctx: CanvasRenderingContext2D,
  points: readonly [number, number][],
  x: (step: number) => number,
  y: (loss: number) => number,
  color: string,
  width: number,
): void {
  if (points.length === 0) return;
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.lineJoin = "round";
  ctx.beginPath();
  points.forEach(([s, l], i) => (i === 0 ? ctx.moveTo(x(s), y(l)) : ctx.lineTo(x(s), y(l))));
  ctx.stroke();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  start();
});
taskSelect.addEventListener("change", () => applyDefaults(taskSelect.value as TaskName));
buttons.pause.addEventListener("click", () => send({ type: "pause" }));
buttons.resume.addEventListener("click", () => send({ type: "resume" }));
buttons.reset.addEventListener("click", reset);
loadInput.addEventListener("change", () => {
  const file = loadInput.files?.[0];
  loadInput.value = "";
  if (file) loadFile(file).catch((e) => setPhase("error", `Error: ${(e as Error).message}`));
});
globalThis.addEventListener("resize", redraw);

taskSelect.value = "8x4";
applyDefaults("8x4");
reset();
redraw();
