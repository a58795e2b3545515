// A one-line progress bar for the example programs: the bar, steps done, the rate and the time left,
// redrawn in place on a terminal. Off a terminal (a pipe, a CI log) it stays silent and the programs print
// plain lines instead.

/** Formats seconds as "42s", "3m07s" or "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "1 epoch", "2 epochs": a count and its noun, for the programs' summaries. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Draws `[#####-----] done/total  rate steps/s  ETA …  note` on one terminal line. */
export class ProgressBar {
  readonly #total: number;
  readonly #width: number;
  readonly #enabled: boolean;
  readonly #out: { writeSync(bytes: Uint8Array): number };
  readonly #encoder = new TextEncoder();
  #start = performance.now();
  #startDone = 0;
  #drawn = false;

  /** A bar for `total` steps on `out` (stdout by default), drawn only when `enabled` (e.g. it is a terminal). */
  constructor(
    total: number,
    enabled: boolean,
    width = 30,
    out: { writeSync(bytes: Uint8Array): number } = Deno.stdout,
  ) {
    this.#total = total;
    this.#enabled = enabled;
    this.#width = width;
    this.#out = out;
  }

  /** Measures the rate from now on, counting from `done` steps (e.g. after loading, or when resuming). */
  restart(done = 0): void {
    this.#start = performance.now();
    this.#startDone = done;
  }

  /** Redraws the bar at `done` steps with a note after it (e.g. the latest loss). */
  update(done: number, note = ""): void {
    if (!this.#enabled) return;
    const fraction = Math.min(1, done / this.#total);
    const filled = Math.round(fraction * this.#width);
    const seconds = (performance.now() - this.#start) / 1000;
    const rate = (done - this.#startDone) / seconds;
    const eta = rate > 0 ? (this.#total - done) / rate : Infinity;
    const line = `[${"#".repeat(filled)}${"-".repeat(this.#width - filled)}] ${done}/${this.#total}  ` +
      `${rate > 0 ? rate.toFixed(rate < 10 ? 1 : 0) : "?"} steps/s  ETA ${formatDuration(eta)}` +
      (note ? `  ${note}` : "");
    // \x1b[K clears what a longer previous line left behind.
    this.#out.writeSync(this.#encoder.encode(`\r${line}\x1b[K`));
    this.#drawn = true;
  }

  /** Ends the bar's line, so the next output starts on a fresh one. */
  clear(): void {
    if (this.#drawn) this.#out.writeSync(this.#encoder.encode("\r\x1b[K"));
    this.#drawn = false;
  }
}
