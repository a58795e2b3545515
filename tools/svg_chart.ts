/**
 * A small line-chart writer for the reproduction's figures: numbers in, one self-contained SVG document out,
 * with axes, "nice" ticks, a legend and optional dashed reference lines. Output depends only on the input
 * (fixed formatting, no clock, no randomness), so two runs that computed the same numbers write the same bytes.
 * @module
 */

/** One line on a chart. */
export interface Series {
  readonly label: string;
  /** (x, y) points in drawing order; non-finite points are left out. */
  readonly points: readonly (readonly [number, number])[];
  /** Colour name or #rrggbb; by default one from the palette by position. */
  readonly color?: string;
  readonly dashed?: boolean;
  /** Draw a dot at every point (for sparse points, e.g. one per τ). */
  readonly markers?: boolean;
}

/** A horizontal line across the plot, e.g. the optimum a loss could reach. */
export interface ReferenceLine {
  readonly y: number;
  readonly label: string;
}

/** What {@link lineChart} draws. */
export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly references?: readonly ReferenceLine[];
  /** Pixel size of the whole picture. Default 640 × 400. */
  readonly width?: number;
  readonly height?: number;
}

/** Colour-blind-safe colours (Okabe–Ito), assigned to series in order. */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

const MARGIN = { left: 72, right: 16, top: 36, bottom: 48 };
const LEGEND_WIDTH = 150;

/** About `count` round tick values (1, 2 or 5 × 10^k apart) covering [low, high]. */
export function niceTicks(low: number, high: number, count = 6): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let k = Math.ceil(low / step - 1e-9); k * step <= high + step * 1e-9; k++) {
    ticks.push(Number((k * step).toPrecision(12)));
  }
  return ticks;
}

/** Renders `chart` as an SVG document. */
export function lineChart(chart: Chart): string {
  const width = chart.width ?? 640, height = chart.height ?? 400;
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    right: width - MARGIN.right - LEGEND_WIDTH,
    bottom: height - MARGIN.bottom,
  };
  const points = chart.series.flatMap((s) => s.points.filter(finite));
  const ys = [...points.map((p) => p[1]), ...(chart.references ?? []).map((r) => r.y)];
  const xs = points.map((p) => p[0]);
  const [x0, x1] = padded(xs, 0), [y0, y1] = padded(ys, 0.04);
  const xTicks = niceTicks(x0, x1), yTicks = niceTicks(y0, y1);
  const xLow = Math.min(x0, xTicks[0]), xHigh = Math.max(x1, xTicks[xTicks.length - 1]);
  const yLow = Math.min(y0, yTicks[0]), yHigh = Math.max(y1, yTicks[yTicks.length - 1]);
  const px = (x: number) => plot.left + ((x - xLow) / (xHigh - xLow || 1)) * (plot.right - plot.left);
  const py = (y: number) => plot.bottom - ((y - yLow) / (yHigh - yLow || 1)) * (plot.bottom - plot.top);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text((plot.left + plot.right) / 2, 22, chart.title, { anchor: "middle", size: 14, weight: "bold" }),
  ];
  for (const t of xTicks) {
    const x = fmt(px(t));
    out.push(`<line x1="${x}" y1="${plot.top}" x2="${x}" y2="${plot.bottom}" stroke="#e5e5e5"/>`);
    out.push(text(px(t), plot.bottom + 16, label(t, xTicks), { anchor: "middle" }));
  }
  for (const t of yTicks) {
    const y = fmt(py(t));
    out.push(`<line x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(text(plot.left - 6, py(t) + 4, label(t, yTicks), { anchor: "end" }));
  }
  out.push(
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" ` +
      `height="${plot.bottom - plot.top}" fill="none" stroke="#333333"/>`,
    text((plot.left + plot.right) / 2, height - 12, chart.xLabel, { anchor: "middle" }),
    text(16, (plot.top + plot.bottom) / 2, chart.yLabel, { anchor: "middle", rotate: true }),
  );
  for (const r of chart.references ?? []) {
    const y = fmt(py(r.y));
    out.push(
      `<line x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="#666666" ` +
        `stroke-dasharray="2 3"/>`,
      text(plot.right - 4, py(r.y) - 4, r.label, { anchor: "end", color: "#666666" }),
    );
  }
  chart.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.filter(finite);
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    if (pts.length > 1) {
      const path = pts.map(([x, y], k) => `${k === 0 ? "M" : "L"}${fmt(px(x))},${fmt(py(y))}`).join(" ");
      out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.8"${dash}/>`);
    }
    if (s.markers || pts.length === 1) {
      for (const [x, y] of pts) {
        out.push(`<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="3" fill="${color}"/>`);
      }
    }
    const ly = plot.top + 8 + i * 18, lx = plot.right + 12;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      text(lx + 28, ly + 4, s.label, {}),
    );
  });
  out.push("</svg>", "");
  return out.join("\n");
}

function finite(p: readonly [number, number]): boolean {
  return Number.isFinite(p[0]) && Number.isFinite(p[1]);
}

/** [min, max] of `values` widened by `fraction` of the range (a flat or empty set gets a unit range). */
function padded(values: readonly number[], fraction: number): [number, number] {
  if (values.length === 0) return [0, 1];
  let low = Math.min(...values), high = Math.max(...values);
  if (high === low) {
    const d = Math.abs(low) * 0.05 || 0.5;
    low -= d;
    high += d;
  }
  const pad = (high - low) * fraction;
  return [low - pad, high + pad];
}

/** A tick label with just enough decimals to tell the ticks apart. */
function label(value: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(value) || 1;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}

function fmt(v: number): string {
  return Number(v.toFixed(2)).toString();
}

function text(
  x: number,
  y: number,
  content: string,
  o: { anchor?: string; size?: number; weight?: string; rotate?: boolean; color?: string },
): string {
  const attrs = [`x="${fmt(x)}"`, `y="${fmt(y)}"`];
  if (o.anchor) attrs.push(`text-anchor="${o.anchor}"`);
  if (o.size) attrs.push(`font-size="${o.size}"`);
  if (o.weight) attrs.push(`font-weight="${o.weight}"`);
  if (o.color) attrs.push(`fill="${o.color}"`);
  if (o.rotate) attrs.push(`transform="rotate(-90 ${fmt(x)} ${fmt(y)})"`);
  return `<text ${attrs.join(" ")}>${escapeXml(content)}</text>`;
}

/** Escapes the characters XML gives meaning to in text and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
