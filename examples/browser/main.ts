// The demo page: reads the settings, starts a training worker (worker.ts), and draws what it reports —
// the sampled loss of every step (as read back), the exact expected loss of every epoch, and the optimum.
import type { DemoSettings, DemoState, Phase, WorkerMessage } from "./protocol.ts";

/** The fields of a run that has not reported anything yet. */
function freshRun(settings: DemoSettings | null) {
  return {
    settings,
    backend: null,
    report: "",
    optimum: NaN,
    initialExactLoss: NaN,
    sampled: [],
    exact: [],
    msPerStep: NaN,
    error: null,
  };
}

const state: DemoState = { phase: "idle", ...freshRun(null) };
(globalThis as unknown as { reinmaxDemo: DemoState }).reinmaxDemo = state;

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const form = element<HTMLFormElement>("settings");
const startButton = element<HTMLButtonElement>("start");
const stopButton = element<HTMLButtonElement>("stop");
const statusLine = element<HTMLDivElement>("status");
const reportBox = element<HTMLPreElement>("report");
const canvas = element<HTMLCanvasElement>("chart");
const inputs = ["estimator", "tau", "lr", "steps", "batch", "backend"].map((id) =>
  element<HTMLInputElement | HTMLSelectElement>(id)
);

let worker: Worker | null = null;

function readSettings(): DemoSettings {
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
  return {
    estimator: element<HTMLSelectElement>("estimator").value as DemoSettings["estimator"],
    tau: num("tau", Number.MIN_VALUE),
    lr: num("lr", 0),
    steps: num("steps", 1, true),
    batch: num("batch", 1, true),
    backend: element<HTMLSelectElement>("backend").value as DemoSettings["backend"],
    seed: 0,
  };
}

function setPhase(phase: Phase, status: string): void {
  state.phase = phase;
  statusLine.dataset.state = phase;
  document.body.dataset.state = phase;
  statusLine.textContent = status;
  const running = phase === "running";
  startButton.disabled = running;
  stopButton.disabled = !running;
  for (const input of inputs) input.disabled = running;
}

function start(): void {
  let settings: DemoSettings;
  try {
    settings = readSettings();
  } catch (e) {
    setPhase("error", `Error: ${(e as Error).message}`);
    return;
  }
  worker?.terminate();
  Object.assign(state, freshRun(settings));
  reportBox.textContent = "";
  setPhase("running", `Starting ${settings.estimator} (backend: ${settings.backend})…`);
  redraw();
  const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "reinmax-train" });
  worker = w;
  w.onmessage = (event: MessageEvent<WorkerMessage>) => {
    if (worker === w) receive(event.data);
  };
  w.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    if (worker === w) {
      receive({ type: "error", name: "WorkerError", message: event.message || "worker failed" });
    }
  };
  w.postMessage(settings);
}

function stop(): void {
  if (!worker || state.phase !== "running") return;
  worker.terminate();
  worker = null;
  const step = state.sampled.length;
  setPhase(
    "stopped",
    `Stopped at step ${step} of ${state.settings?.steps} on ${state.backend ?? "(no backend yet)"}.`,
  );
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(5) : "—";
}

function receive(message: WorkerMessage): void {
  const settings = state.settings!;
  switch (message.type) {
    case "report":
      state.backend = message.backend;
      state.report = message.text;
      state.optimum = message.optimum;
      state.initialExactLoss = message.initialExactLoss;
      state.exact.push([0, message.initialExactLoss]);
      reportBox.textContent = message.text;
      setPhase("running", `Training ${settings.estimator} on ${message.backend}…`);
      break;
    case "losses":
      message.losses.forEach((loss, i) => state.sampled.push([message.firstStep + i + 1, loss]));
      break;
    case "epoch":
      state.exact.push([message.step, message.exactLoss]);
      state.msPerStep = message.msPerStep;
      setPhase(
        "running",
        `Training ${settings.estimator} on ${state.backend}: step ${message.step}/${settings.steps}, ` +
          `sampled loss ${fmt(message.loss)}, exact ${fmt(message.exactLoss)} (optimum ${
            fmt(state.optimum)
          }), ` +
          `${message.msPerStep.toFixed(3)} ms/step`,
      );
      break;
    case "done":
      worker?.terminate();
      worker = null;
      state.msPerStep = message.msPerStep;
      setPhase(
        "done",
        `Done on ${state.backend}: ${message.steps} steps of ${settings.estimator}, exact expected loss ` +
          `${fmt(state.initialExactLoss)} → ${fmt(message.exactLoss)} (optimum ${fmt(state.optimum)}), ` +
          `${message.msPerStep.toFixed(3)} ms/step`,
      );
      break;
    case "error":
      worker?.terminate();
      worker = null;
      state.error = `${message.name}: ${message.message}`;
      setPhase("error", `Error: ${state.error}`);
      break;
  }
  redraw();
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

const COLORS = { sampled: "#7fa7e8", exact: "#e0662b", optimum: "#2a9d5c", axis: "#8a929c", grid: "#eceef1" };

function draw(): void {
  const dpr = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "12px system-ui, sans-serif";

  const left = 64, right = 16, top = 34, bottom = 38;
  const plotW = width - left - right, plotH = height - top - bottom;
  const steps = state.settings?.steps ?? 1000;
  let lo = Infinity, hi = -Infinity;
  for (const v of [state.optimum, ...state.exact.map((p) => p[1]), ...state.sampled.map((p) => p[1])]) {
    if (Number.isFinite(v)) (lo = Math.min(lo, v), hi = Math.max(hi, v));
  }
  if (!Number.isFinite(lo)) (lo = 0.2, hi = 0.26);
  if (hi - lo < 1e-4) (lo -= 0.005, hi += 0.005);
  const pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  const x = (step: number) => left + (step / steps) * plotW;
  const y = (loss: number) => top + (1 - (loss - lo) / (hi - lo)) * plotH;

  // Grid and axes.
  ctx.lineWidth = 1;
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  for (const t of ticks(lo, hi, 5)) {
    ctx.strokeStyle = COLORS.grid;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(t)) + 0.5);
    ctx.lineTo(left + plotW, Math.round(y(t)) + 0.5);
    ctx.stroke();
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(t.toFixed(3), left - 8, y(t));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of ticks(0, steps, 8)) ctx.fillText(String(Math.round(t)), x(t), top + plotH + 8);
  ctx.fillText("step", left + plotW / 2, top + plotH + 22);
  ctx.strokeStyle = COLORS.axis;
  ctx.strokeRect(left + 0.5, top + 0.5, plotW - 1, plotH - 1);

  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, plotW, plotH);
  ctx.clip();
  if (Number.isFinite(state.optimum)) {
    ctx.strokeStyle = COLORS.optimum;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 5]);
    ctx.beginPath();
    ctx.moveTo(left, y(state.optimum));
    ctx.lineTo(left + plotW, y(state.optimum));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  polyline(ctx, state.sampled, x, y, COLORS.sampled, 1);
  polyline(ctx, state.exact, x, y, COLORS.exact, 2);
  ctx.fillStyle = COLORS.exact;
  for (const [s, l] of state.exact) {
    ctx.beginPath();
    ctx.arc(x(s), y(l), 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.restore();

  // Legend.
  const legend: [string, string, boolean][] = [
    ["sampled loss (per step)", COLORS.sampled, false],
    ["exact expected loss (per epoch)", COLORS.exact, false],
    ["optimum", COLORS.optimum, true],
  ];
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  let lx = left;
  for (const [label, color, dashed] of legend) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.setLineDash(dashed ? [5, 4] : []);
    ctx.beginPath();
    ctx.moveTo(lx, 16);
    ctx.lineTo(lx + 22, 16);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#1d232b";
    ctx.fillText(label, lx + 28, 16);
    lx += 28 + ctx.measureText(label).width + 22;
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
stopButton.addEventListener("click", stop);
globalThis.addEventListener("resize", redraw);
redraw();
