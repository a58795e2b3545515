// The studio's loss chart: every run's per-step loss (thin) and per-epoch evaluation (thick) over the steps,
// on a linear or logarithmic loss axis, drawn on a canvas. The tick helpers are pure functions, so that a
// test checks them on any range without a page.

/** One run's curves. */
export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  /** [step, loss] of every step read back; drawn as means over windows, so the noise reads as a curve. */
  readonly perStep: readonly (readonly [number, number])[];
  /** [step, value] of every epoch's end. */
  readonly perEpoch: readonly (readonly [number, number])[];
}

/** What the chart shows. */
export interface ChartContent {
  /** The step the x axis ends at; null when no length is known (the axis then has no ticks). */
  readonly steps: number | null;
  readonly series: readonly ChartSeries[];
  /** A level drawn dashed (the polynomial task's optimum), or NaN. */
  readonly optimum: number;
  readonly yTitle: string;
  /** What the thin and the thick lines are, for the legend. */
  readonly perStepLegend: string;
  readonly perEpochLegend: string;
  /** Asks for a logarithmic loss axis; with a value ≤ 0 on the chart the axis stays linear. */
  readonly log: boolean;
}

/** The axes as drawn. */
export interface ChartAxes {
  /** The tick labels, left to right and bottom to top. */
  readonly x: readonly string[];
  readonly y: readonly string[];
  readonly scale: "linear" | "log";
  /** Where the y tick labels begin and the rotated y title ends, in CSS pixels from the canvas's left. */
  readonly yLabelsLeft: number;
  readonly yTitleRight: number;
}

/** The empty chart's axes. */
export const NO_AXES: ChartAxes = { x: [], y: [], scale: "linear", yLabelsLeft: 0, yTitleRight: 0 };

const AXIS = "#8a929c", GRID = "#eceef1", OPTIMUM = "#5b6470", TEXT = "#1d232b";
const FONT_PX = 12;
/** Points per curve at most: more would only cost drawing time. */
const CURVE_POINTS = 400;
/** Ticks per axis, about. */
const X_TICKS = 8, Y_TICKS = 5;
/** Iterations a tick loop may take, whatever float rounding does at extreme magnitudes. */
const MAX_TICKS = 100;

/**
 * Round values covering [lo, hi], about `count` of them, 1, 2 or 5 × a power of ten apart and at least
 * `minSpacing` apart (1 makes them whole numbers, for steps).
 */
export function niceTicks(lo: number, hi: number, count: number, minSpacing = 0): number[] {
  if (!(hi > lo)) return [lo];
  const raw = Math.max((hi - lo) / count, minSpacing);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const spacing = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * (1 - 1e-9))!;
  const ticks: number[] = [];
  // Multiples of the spacing, each computed afresh, so that rounding does not accumulate.
  for (let i = Math.ceil(lo / spacing - 1e-9); i * spacing <= hi + spacing * 1e-9; i++) {
    ticks.push(i * spacing);
    if (ticks.length === MAX_TICKS) break;
  }
  return ticks;
}

/**
 * Ticks of a logarithmic axis over [lo, hi], 0 < lo < hi: within about a decade, the linear ones; over a few,
 * 1, 2 and 5 × powers of ten; over many, powers of ten, as many decades apart as keeps them about `count`.
 */
export function logTicks(lo: number, hi: number, count: number): number[] {
  const first = Math.ceil(Math.log10(lo) - 1e-9), last = Math.floor(Math.log10(hi) + 1e-9);
  if (last - first < 1) return niceTicks(lo, hi, count);
  const inRange = (v: number) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const steps125: number[] = [];
  for (let e = first - 1; e <= last; e++) for (const m of [1, 2, 5]) steps125.push(m * 10 ** e);
  const fine = steps125.filter(inRange);
  if (fine.length <= count + 2) return fine;
  const stride = Math.ceil((last - first + 1) / count);
  const powers: number[] = [];
  for (let e = first; e <= last && powers.length < MAX_TICKS; e += stride) powers.push(10 ** e);
  return powers;
}

/**
 * The shortest labels that tell `values` apart: fixed-point between 0.001 and 100000, otherwise a compact
 * exponent form such as "2.5e27", which stays a few characters wide however large the loss.
 */
export function tickLabels(values: readonly number[]): string[] {
  const largest = Math.max(0, ...values.map(Math.abs));
  const exponential = largest >= 1e5 || (largest > 0 && largest < 1e-3);
  const label = (v: number, digits: number) =>
    v === 0 ? "0" : exponential ? v.toExponential(digits).replace("e+", "e") : v.toFixed(digits);
  for (let digits = 0;; digits++) {
    const labels = values.map((v) => label(v, digits));
    if (digits === 15 || new Set(labels).size === labels.length) return labels;
  }
}

/** Means of `points` over windows of consecutive steps, at most `CURVE_POINTS` of them. */
function smooth(points: readonly (readonly [number, number])[]): [number, number][] {
  const width = Math.max(1, Math.round(points.length / CURVE_POINTS));
  const out: [number, number][] = [];
  for (let i = 0; i < points.length; i += width) {
    const window = points.slice(i, i + width);
    out.push([window[window.length - 1][0], window.reduce((a, p) => a + p[1], 0) / window.length]);
  }
  return out;
}

type LineStyle = "thin" | "thick" | "dashed";

/** Draws `content` on `canvas` at its CSS size; returns the axes as drawn. */
export function drawChart(canvas: HTMLCanvasElement, content: ChartContent): ChartAxes {
  const dpr = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = `${FONT_PX}px system-ui, sans-serif`;

  const curves = content.series.map((s) => ({
    color: s.color,
    perStep: smooth(s.perStep.filter(([, v]) => Number.isFinite(v))),
    perEpoch: s.perEpoch.filter(([, v]) => Number.isFinite(v)) as [number, number][],
  }));
  const values = curves.flatMap((c) => [...c.perStep, ...c.perEpoch].map(([, v]) => v));
  if (Number.isFinite(content.optimum)) values.push(content.optimum);
  const scale = content.log && values.every((v) => v > 0) ? "log" : "linear";
  const toAxis = scale === "log" ? Math.log10 : (v: number) => v;

  // The loss range, padded, in axis units (log10 of the loss on a log axis); none without values.
  let lo = Math.min(...values.map(toAxis)), hi = Math.max(...values.map(toAxis));
  if (values.length > 0) {
    // A flat curve still gets a band of a thousandth of its level, so its ticks stay distinct.
    const least = scale === "log" ? 0.02 : Math.max(Math.abs(hi) * 1e-3, 1e-3);
    if (hi - lo < least) [lo, hi] = [(lo + hi - least) / 2, (lo + hi + least) / 2];
    const pad = (hi - lo) * 0.06;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const yTicks = values.length === 0
    ? []
    : scale === "log"
    ? logTicks(10 ** lo, 10 ** hi, Y_TICKS)
    : niceTicks(lo, hi, Y_TICKS);
  const yLabels = tickLabels(yTicks);
  const steps = content.steps ?? 1;
  const xTicks = content.steps === null ? [] : niceTicks(0, steps, X_TICKS, 1);
  const xLabels = tickLabels(xTicks);

  // The margins follow what they hold: the legend's lines above, the widest y label and the title left.
  const legendItems: [string, string, LineStyle][] = [
    ...content.series.map((s): [string, string, LineStyle] => [s.label, s.color, "thick"]),
    [content.perStepLegend, AXIS, "thin"],
    [content.perEpochLegend, AXIS, "thick"],
  ];
  if (Number.isFinite(content.optimum)) legendItems.push(["optimum", OPTIMUM, "dashed"]);
  const legendRows = layoutLegend(ctx, legendItems, width - 24);
  const gap = 8, titleRight = gap + FONT_PX + 4;
  const labelWidth = Math.max(0, ...yLabels.map((t) => ctx.measureText(t).width));
  const left = Math.ceil(titleRight + gap + labelWidth + gap), right = 16, bottom = 38;
  const top = 12 + legendRows.length * 20;
  const plotW = width - left - right, plotH = height - top - bottom;
  const x = (step: number) => left + (step / steps) * plotW;
  const y = (v: number) => top + (1 - (toAxis(v) - lo) / (hi - lo)) * plotH;

  ctx.lineWidth = 1;
  ctx.fillStyle = AXIS;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  yTicks.forEach((t, i) => {
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(t)) + 0.5);
    ctx.lineTo(left + plotW, Math.round(y(t)) + 0.5);
    ctx.stroke();
    ctx.fillText(yLabels[i], left - gap, y(t));
  });
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  xTicks.forEach((t, i) => ctx.fillText(xLabels[i], x(t), top + plotH + 8));
  ctx.fillText("step", left + plotW / 2, top + plotH + 22);
  ctx.save();
  ctx.translate(titleRight - FONT_PX / 2 - 2, top + plotH / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText(content.yTitle, 0, 0);
  ctx.restore();
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(left + 0.5, top + 0.5, plotW - 1, plotH - 1);

  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, plotW, plotH);
  ctx.clip();
  if (Number.isFinite(content.optimum)) {
    ctx.strokeStyle = OPTIMUM;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 5]);
    ctx.beginPath();
    ctx.moveTo(left, y(content.optimum));
    ctx.lineTo(left + plotW, y(content.optimum));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  const polyline = (points: readonly [number, number][], color: string, lineWidth: number) => {
    if (points.length === 0) return;
    ctx.strokeStyle = color;
    ctx.lineWidth = lineWidth;
    ctx.lineJoin = "round";
    ctx.beginPath();
    points.forEach(([s, v], i) => (i === 0 ? ctx.moveTo(x(s), y(v)) : ctx.lineTo(x(s), y(v))));
    ctx.stroke();
  };
  for (const c of curves) {
    ctx.globalAlpha = 0.45;
    polyline(c.perStep, c.color, 1.2);
    ctx.globalAlpha = 1;
    polyline(c.perEpoch, c.color, 2.2);
    ctx.fillStyle = c.color;
    for (const [s, v] of c.perEpoch) {
      ctx.beginPath();
      ctx.arc(x(s), y(v), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  ctx.restore();

  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  legendRows.forEach((row, r) => {
    const ly = 16 + r * 20;
    for (const { text, color, style, at } of row) {
      ctx.strokeStyle = color;
      ctx.lineWidth = style === "thin" ? 1.2 : 2.2;
      ctx.setLineDash(style === "dashed" ? [5, 4] : []);
      ctx.beginPath();
      ctx.moveTo(12 + at, ly);
      ctx.lineTo(12 + at + 20, ly);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = TEXT;
      ctx.fillText(text, 12 + at + 25, ly);
    }
  });
  return { x: xLabels, y: yLabels, scale, yLabelsLeft: left - gap - labelWidth, yTitleRight: titleRight };
}

/** The legend's items in rows no wider than `width`, each item with its offset in its row. */
function layoutLegend(
  ctx: CanvasRenderingContext2D,
  items: readonly [string, string, LineStyle][],
  width: number,
): { text: string; color: string; style: LineStyle; at: number }[][] {
  const rows: { text: string; color: string; style: LineStyle; at: number }[][] = [[]];
  let at = 0;
  for (const [text, color, style] of items) {
    const itemWidth = 25 + ctx.measureText(text).width;
    if (at > 0 && at + itemWidth > width) (rows.push([]), at = 0);
    rows[rows.length - 1].push({ text, color, style, at });
    at += itemWidth + 18;
  }
  return rows;
}
