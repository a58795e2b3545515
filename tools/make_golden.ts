/**
 * Writes fixtures/golden_samples.json: categorical samples, conditional Gumbel perturbations and estimator
 * gradients for fixed seeds, streams and logits, computed ONCE from the float64 / TypeScript reference
 * (tests/reference/philox.ts, tests/reference/estimators.ts), never from the kernels. tests/golden_test.ts
 * checks every backend against the committed file, so a change to the counter layout (which Philox word a
 * row, stream, tag or draw uses), to the key or to a tag number fails loudly instead of passing as "another
 * valid random stream"; it also recomputes the file from the reference, so the file cannot drift.
 *
 *   deno run --allow-write=fixtures tools/make_golden.ts            # write fixtures/golden_samples.json
 *   deno run --allow-read=fixtures tools/make_golden.ts --check     # exit 1 if the file differs
 *
 * The constants below (tags, key split, word addressing) are restated from docs/math.md §3 on purpose rather
 * than imported from src/: the file pins the documented layout, not whatever src/ does today. Rewriting the
 * file is only right when the documented layout itself changes.
 */
import * as ref from "../tests/reference/estimators.ts";
import { streamWord, uniformFromWord } from "../tests/reference/philox.ts";
import { testRandom } from "../tests/util.ts";

/** docs/math.md §3.2: the tags of the estimator's and the evaluation's draws. */
const TAG_ESTIMATOR = 1, TAG_EVALUATION = 4;

/** docs/math.md §3.2: key = (seed mod 2³², ⌊seed / 2³²⌋). */
export function goldenKey(seed: number): [number, number] {
  return [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
}

/** Named logits, rows × n row-major, f32 values. */
export interface GoldenLogits {
  readonly rows: number;
  readonly n: number;
  readonly values: number[];
}

/** The category `categorical_sample` draws for every row of `logits` under (key, stream, tag). */
export interface GoldenSample {
  readonly logits: string;
  readonly seed: number;
  readonly key: [number, number];
  readonly stream: number;
  readonly tag: number;
  readonly sample: number[];
}

/** The `k` draws of `gumbel_perturbations` (θ + G_j − max θ, n values each) of a few rows. */
export interface GoldenPerturbation {
  readonly logits: string;
  readonly seed: number;
  readonly key: [number, number];
  readonly stream: number;
  readonly tag: number;
  readonly k: number;
  /** The category of every row (an input of the kernel). */
  readonly sample: number[];
  /** Row index → its k draws, each of n values. */
  readonly rows: Record<string, number[][]>;
}

/** A draw through the public estimator function and its backward with upstream gHard and gSoft. */
export interface GoldenBackward {
  readonly estimator: "reinmax" | "grmck";
  readonly logits: string;
  readonly seed: number;
  readonly stream: number;
  readonly tau: number;
  readonly k: number;
  readonly gHard: number[];
  readonly gSoft: number[];
  /** The drawn category of every row (estimator tag, the given stream). */
  readonly sample: number[];
  /** The backward, rows × n. */
  readonly dLogits: number[];
}

export interface Golden {
  readonly about: Record<string, string>;
  readonly logits: Record<string, GoldenLogits>;
  readonly samples: GoldenSample[];
  readonly perturbations: GoldenPerturbation[];
  readonly backward: GoldenBackward[];
}

const ABOUT: Record<string, string> = {
  file: "Golden random draws, written by tools/make_golden.ts from the float64/TypeScript reference " +
    "(tests/reference/), never from the kernels; tests/golden_test.ts checks every backend against it and " +
    "that the reference still reproduces it. Do not edit by hand.",
  philox: "Philox4x32-10. key = (seed mod 2^32, floor(seed / 2^32)); word w of row r of a stream is lane " +
    "w mod 4 of the block with counter (floor(w / 4), r, stream, tag) (docs/math.md §3.2). Tags: 1 = " +
    "estimator, 4 = evaluation.",
  logits: "Named logits: rows × n values, row-major, each exactly representable in f32.",
  samples: "categorical_sample: `sample` is the category of every row of `logits`, by inverse CDF on the " +
    "uniform from word 0 of the row's stream (docs/math.md §3.4). Every row's uniform lies at least 1e-5·Z " +
    "from a boundary of the partial sums, so f32 rounding cannot move it.",
  perturbations: "gumbel_perturbations with the given per-row `sample`: `rows[r][j]` is draw j of row r, " +
    "θ + G_j − max θ, from the exponentials of words 1 + j·n + i of the row's stream (docs/math.md §2.5).",
  backward:
    "The public estimator function (reinmax or grmck) with { n, tau, k, seed, stream } on `logits`: " +
    "the drawn `sample` (estimator tag) and backward(gHard, gSoft) = `dLogits` (docs/math.md §2.1, §2.5).",
};

/** f32 values uniform in [low, high) from a seeded generator (only to make the inputs; they are stored). */
function f32Values(seed: number, count: number, low: number, high: number): number[] {
  const random = testRandom(seed);
  return Array.from({ length: count }, () => Math.fround(low + (high - low) * random()));
}

const LOGITS: Record<string, GoldenLogits> = {
  // Many rows of two categories (the polynomial task's shape), five categories, and wide rows whose Gumbel
  // words span many Philox blocks.
  binary: { rows: 12, n: 2, values: f32Values(101, 24, -2, 2) },
  five: { rows: 7, n: 5, values: f32Values(102, 35, -3, 3) },
  wide: { rows: 3, n: 40, values: f32Values(103, 120, -4, 4) },
};

function rowOf(name: string, r: number): number[] {
  const { n, values } = LOGITS[name];
  return values.slice(r * n, (r + 1) * n);
}

/**
 * The reference draw of a row, refusing rows whose uniform lies within 1e-5·Z of a boundary of the partial
 * sums (there an ulp of f32 `exp` could move the category, and the golden value would be fragile).
 */
function sampleRow(theta: number[], key: [number, number], row: number, stream: number, tag: number): number {
  const u = uniformFromWord(streamWord(0, row, key, stream, tag));
  const m = Math.max(...theta);
  const e = theta.map((t) => Math.exp(t - m));
  const z = e.reduce((a, b) => a + b, 0);
  let cumulative = 0;
  for (let i = 0; i < theta.length - 1; i++) {
    cumulative += e[i];
    if (Math.abs(u * z - cumulative) < 1e-5 * z) {
      throw new Error(
        `row ${row} (key ${key}, stream ${stream}, tag ${tag}): u lies on a boundary; pick others`,
      );
    }
  }
  return ref.inverseCdfSample(theta, u);
}

function sampleAll(name: string, key: [number, number], stream: number, tag: number): number[] {
  return Array.from({ length: LOGITS[name].rows }, (_, r) => sampleRow(rowOf(name, r), key, r, stream, tag));
}

function goldenSample(logits: string, seed: number, stream: number, tag: number): GoldenSample {
  const key = goldenKey(seed);
  return { logits, seed, key, stream, tag, sample: sampleAll(logits, key, stream, tag) };
}

/** Computes the whole file from the reference. */
export function computeGolden(): Golden {
  const samples: GoldenSample[] = [];
  // Seeds with a zero and a non-zero high key word; under the evaluation tag also the last u32 stream.
  for (const seed of [0, 20240601, 2 ** 32 + 7]) {
    for (const stream of [0, 9]) {
      for (const logits of Object.keys(LOGITS)) {
        samples.push(goldenSample(logits, seed, stream, TAG_ESTIMATOR));
      }
    }
  }
  for (const [seed, stream] of [[20240601, 9], [5, 2 ** 32 - 1]]) {
    for (const logits of Object.keys(LOGITS)) {
      samples.push(goldenSample(logits, seed, stream, TAG_EVALUATION));
    }
  }

  const perturbations: GoldenPerturbation[] = [];
  for (
    const [logits, seed, stream, tag, k, rows] of [
      ["five", 77, 3, TAG_ESTIMATOR, 3, [0, 4, 6]],
      ["wide", 2 ** 32 + 7, 11, TAG_ESTIMATOR, 2, [0, 2]],
      ["binary", 20240601, 0, TAG_EVALUATION, 4, [1, 11]],
    ] as const
  ) {
    const key = goldenKey(seed);
    const { n, rows: count } = LOGITS[logits];
    // Every category appears as the conditioning sample, not only likely ones.
    const sample = Array.from({ length: count }, (_, r) => (3 * r + 1) % n);
    const draws: Record<string, number[][]> = {};
    for (const r of rows) {
      draws[r] = Array.from(
        { length: k },
        (_, j) =>
          ref.conditionalPerturbed(
            rowOf(logits, r),
            sample[r],
            ref.streamExponentials(n, j, r, key, stream, tag),
          ),
      );
    }
    perturbations.push({ logits, seed, key, stream, tag, k, sample, rows: draws });
  }

  const backward: GoldenBackward[] = [];
  for (
    const [estimator, logits, seed, stream, tau, k] of [
      ["reinmax", "five", 4242, 6, 1.3, 1],
      ["reinmax", "binary", 2 ** 33 + 12345, 1, 1, 1],
      ["grmck", "five", 99, 5, 0.7, 3],
      ["grmck", "wide", 2 ** 33 + 12345, 2, 1.5, 2],
    ] as const
  ) {
    const { rows, n } = LOGITS[logits];
    const key = goldenKey(seed);
    const gHard = f32Values(seed % 1000 + stream, rows * n, -1, 1);
    const gSoft = f32Values(seed % 1000 + stream + 500, rows * n, -1, 1);
    const sample = sampleAll(logits, key, stream, TAG_ESTIMATOR);
    const dLogits: number[] = [];
    for (let r = 0; r < rows; r++) {
      const theta = rowOf(logits, r), s = sample[r];
      const g = gHard.slice(r * n, (r + 1) * n), h = gSoft.slice(r * n, (r + 1) * n);
      // τ and the upstream gradients reach the kernels as f32; the logits and gradients already are.
      const t = Math.fround(tau);
      dLogits.push(
        ...(estimator === "reinmax" ? ref.reinmaxBackward(theta, s, g, h, t) : ref.gumbelBackward(
          theta,
          s,
          g,
          h,
          t,
          Array.from(
            { length: k },
            (_, j) =>
              ref.conditionalPerturbed(theta, s, ref.streamExponentials(n, j, r, key, stream, TAG_ESTIMATOR)),
          ),
        )),
      );
    }
    backward.push({ estimator, logits, seed, stream, tau, k, gHard, gSoft, sample, dLogits });
  }
  return { about: ABOUT, logits: LOGITS, samples, perturbations, backward };
}

/** The file's text: JSON.stringify with two-space indentation, which `deno fmt` leaves as it is. */
export function goldenText(golden: Golden): string {
  return JSON.stringify(golden, null, 2) + "\n";
}

export const GOLDEN_PATH = new URL("../fixtures/golden_samples.json", import.meta.url);

if (import.meta.main) {
  const text = goldenText(computeGolden());
  if (Deno.args.includes("--check")) {
    const committed = await Deno.readTextFile(GOLDEN_PATH).catch(() => "");
    if (committed !== text) {
      console.error(`${GOLDEN_PATH.pathname} differs from what the reference computes`);
      Deno.exit(1);
    }
    console.log(`${GOLDEN_PATH.pathname} is up to date`);
  } else {
    await Deno.writeTextFile(GOLDEN_PATH, text);
    console.log(`wrote ${GOLDEN_PATH.pathname}`);
  }
}
