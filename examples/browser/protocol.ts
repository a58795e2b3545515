// The messages between the studio page (main.ts) and its training worker (worker.ts), and the page's state.
import { type CategoricalConfig, type EstimatorName, ESTIMATORS } from "../../mod.ts";
import { relaxes } from "../estimator_flags.ts";
import type { ChartAxes } from "./chart.ts";

/**
 * What the studio trains: polynomial programming, a categorical VAE C×L or the Bernoulli VAE 2×200 on
 * Fashion-MNIST, or a categorical VAE declared layer by layer on the user's own pictures.
 */
export type TaskName = "poly" | "8x4" | "10x30" | "bernoulli" | "images";

/** The tasks, as the page lists them. */
export const TASKS: Readonly<Record<TaskName, string>> = {
  "8x4": "Categorical VAE 8×4 (Fashion-MNIST)",
  "10x30": "Categorical VAE 10×30 (Fashion-MNIST)",
  "bernoulli": "Bernoulli VAE 2×200 (Fashion-MNIST)",
  "poly": "Polynomial programming (L = 128, p = 2)",
  "images": "Your images (categorical VAE)",
};

/** How the "images" task turns the pictures into an image set and what its code is. */
export interface PictureSettings {
  /** Every picture is scaled to size × size pixels. */
  readonly size: number;
  /** 1: grey; 3: colour. */
  readonly channels: 1 | 3;
  /** The categorical code: C categories for each of L variables. */
  readonly config: CategoricalConfig;
}

/** The user's pictures as decoded by the page, in the order of `names`. */
export interface Pictures {
  /** Each picture's file name, with its folder path when it came in a folder. */
  readonly names: readonly string[];
  readonly bitmaps: readonly ImageBitmap[];
}

/** One run of a session: an estimator at its own τ (unused by an estimator that does not relax its samples). */
export interface RunSettings {
  readonly estimator: EstimatorName;
  readonly tau: number;
}

/**
 * How the page names a run: by its estimator's title, its τ where the estimator relaxes its samples, and its K
 * where the estimator weighs the losses of K codes or the Bernoulli VAE draws more than one ("ReinMax τ 1.3",
 * "RLOO K 2", "RELAX τ 0.1 K 1").
 */
export function runLabel(run: RunSettings, evaluations: number): string {
  const { title, scoreFunction } = ESTIMATORS[run.estimator];
  const tau = relaxes(run.estimator) ? ` τ ${run.tau}` : "";
  return `${title}${tau}${scoreFunction || evaluations > 1 ? ` K ${evaluations}` : ""}`;
}

/** What the page asks the worker to train: its runs side by side on one backend. */
export interface StudioSettings {
  readonly task: TaskName;
  readonly runs: readonly RunSettings[];
  readonly lr: number;
  readonly optimizer: "adam" | "radam";
  /** Examples per step; for the "images" task at most the number of pictures. */
  readonly batch: number;
  /** Every run stops when it has taken this many steps in total. */
  readonly steps: number;
  readonly backend: "auto" | "webgpu" | "wasm";
  readonly seed: number;
  /**
   * The Bernoulli task's K, codes drawn per image (their losses averaged; a score-function estimator weighs
   * them against each other); null for the others.
   */
  readonly evaluations: number | null;
  /** The "images" task's settings; null for the others. */
  readonly pictures: PictureSettings | null;
}

/** What the page sends the worker. */
export type StudioCommand =
  /** `pictures` are the "images" task's data (cloned, so the page can start again with them). */
  | { readonly type: "start"; readonly settings: StudioSettings; readonly pictures: Pictures | null }
  | { readonly type: "pause" }
  | { readonly type: "resume" }
  /** Save run `run`'s checkpoint; the worker answers with a "checkpoint" message. */
  | { readonly type: "save"; readonly run: number }
  /** The "images" task: run `run`'s code of every picture; the worker answers with a "codes" message. */
  | { readonly type: "codes"; readonly run: number }
  /** Replace every run by the model in `bytes` (a checkpoint file), paused at its step. */
  | {
    readonly type: "load";
    readonly bytes: Uint8Array;
    readonly name: string;
    readonly backend: StudioSettings["backend"];
    readonly steps: number;
  };

/** How the worker describes a run when it starts. */
export interface RunInfo {
  readonly id: number;
  /** e.g. "ReinMax τ 1.3" or "RLOO K 2" (see runLabel). */
  readonly label: string;
  readonly task: TaskName;
  readonly estimator: EstimatorName;
  readonly tau: number;
  /** K, codes drawn per example: the Bernoulli VAE's, 1 for the other models. */
  readonly evaluations: number;
  /**
   * Steps per epoch: the test −ELBO (VAE) or the exact expected loss (poly) is measured at each end. For the
   * "images" task an epoch is as many passes over the pictures as make it at least 100 steps, and the −ELBO is
   * of the pictures themselves (there is no held-out set).
   */
  readonly stepsPerEpoch: number;
  /** Total steps the run trains to. */
  readonly steps: number;
  /** The step it starts from (0, or a loaded checkpoint's). */
  readonly step: number;
  /** Poly: the lowest expected loss any θ reaches (NaN for VAEs). */
  readonly optimum: number;
}

/** What the worker reports. */
export type WorkerMessage =
  | {
    readonly type: "report";
    /** The backend in use. */
    readonly backend: string;
    /** formatReport(backend.report): which backend, why, and every one rejected. */
    readonly text: string;
  }
  /**
   * The runs of a session; the images (n × height × width × channels in [0, 1]) the reconstructions are of:
   * Fashion-MNIST test images, or the first of the user's pictures.
   */
  | {
    readonly type: "runs";
    readonly runs: readonly RunInfo[];
    readonly images: Float32Array | null;
    readonly height: number;
    readonly width: number;
    readonly channels: number;
  }
  /** The −ELBO (poly: sampled loss) of each step from firstStep + 1 on, as read back. */
  | {
    readonly type: "losses";
    readonly run: number;
    readonly firstStep: number;
    readonly losses: Float32Array;
  }
  /**
   * Milliseconds per step of a run so far: `msPerStep` of training (read-backs included, evaluation and
   * pictures not), `wallMsPerStep` of everything the worker spends on the run, which is what the time left
   * depends on.
   */
  | {
    readonly type: "speed";
    readonly run: number;
    readonly msPerStep: number;
    readonly wallMsPerStep: number;
  }
  /** An epoch's end: its mean train loss, and the test −ELBO (poly: the exact expected loss). */
  | {
    readonly type: "epoch";
    readonly run: number;
    readonly step: number;
    readonly train: number;
    readonly test: number;
    readonly msPerStep: number;
  }
  /** Live pictures: reconstructions of the test images and samples decoded from the prior. */
  | {
    readonly type: "images";
    readonly run: number;
    readonly step: number;
    readonly reconstructions: Float32Array;
    readonly samples: Float32Array;
  }
  /** 8×4: the run's estimator's gradient against the exact one, at `step` (docs/math.md §6.4). */
  | {
    readonly type: "quality";
    readonly run: number;
    readonly step: number;
    readonly draws: number;
    readonly relativeError: number;
    readonly relativeStd: number;
    readonly cosine: number;
  }
  /**
   * A run stopped by its own training (a DivergenceError or NonFiniteError: `message` names the step and the
   * loss or quantity); the model holds the state after `step`, and the other runs go on.
   */
  | { readonly type: "stopped"; readonly run: number; readonly step: number; readonly message: string }
  | { readonly type: "phase"; readonly phase: "running" | "paused" | "done"; readonly steps: number[] }
  /**
   * A saved checkpoint; `check` is the test −ELBO of a fixed evaluation (poly: the exact expected loss) of
   * the state saved, which the same file loaded again must reproduce.
   */
  | {
    readonly type: "checkpoint";
    readonly run: number;
    readonly step: number;
    readonly name: string;
    readonly bytes: Uint8Array;
    readonly check: number;
  }
  /**
   * The "images" task: the most likely code of every picture, as JSON lines `{"file", "codes"}` (UTF-8), one
   * per picture in the order of the names sent; each code holds L categories in [0, C).
   */
  | {
    readonly type: "codes";
    readonly run: number;
    readonly step: number;
    readonly name: string;
    readonly bytes: Uint8Array;
    readonly pictures: number;
  }
  /** A checkpoint loaded (the runs message before it describes the run); `check` as for "checkpoint". */
  | { readonly type: "loaded"; readonly name: string; readonly step: number; readonly check: number }
  /**
   * What ended the session. `argument` is the argument a ReinmaxInputError names (e.g. "evaluations"), so that
   * the page can mark the setting at fault; null for any other error.
   */
  | {
    readonly type: "error";
    readonly name: string;
    readonly message: string;
    readonly run: string | null;
    readonly argument: string | null;
  };

/** Where the page is. */
export type Phase = "idle" | "starting" | "running" | "paused" | "done" | "error";

/** What the page knows about one run. */
export interface RunState {
  info: RunInfo;
  /** The current step. */
  step: number;
  /** Every step's loss read back so far, as [step, loss]. */
  losses: [number, number][];
  /** Each epoch's end as [step, mean train loss, test −ELBO or exact loss]. */
  epochs: [number, number, number][];
  msPerStep: number;
  wallMsPerStep: number;
  /** Why the run stopped before its last step, e.g. "training diverged at step 12: …"; null while it is well. */
  failure: string | null;
  quality: { step: number; draws: number; relativeError: number; relativeStd: number; cosine: number } | null;
  /** The step of the pictures shown (−1 before any). */
  imagesStep: number;
}

/** Everything the page knows; also `globalThis.reinmaxStudio`, for tests. */
export interface StudioState {
  phase: Phase;
  settings: StudioSettings | null;
  backend: string | null;
  report: string;
  runs: RunState[];
  /** The time the runs left need to finish, in milliseconds (NaN before it is measured, or when not running). */
  msLeft: number;
  /** What the chart's axes show. */
  axes: ChartAxes;
  /** What ended the session (a bad setting, a failed load, a lost backend); null while there is none. */
  error: string | null;
  /** The last checkpoint downloaded. */
  saved: { run: number; step: number; name: string; bytes: number; check: number } | null;
  /** The last checkpoint loaded. */
  loaded: { name: string; step: number; check: number } | null;
  /** The last codes downloaded ("images" task). */
  codes: { run: number; step: number; name: string; bytes: number; pictures: number } | null;
  /**
   * The pictures the "images" task trains on, each one's name in order; the files passed over that are not PNG
   * or JPEG; those the browser could not decode, as "name (why)"; whether files are being read. They belong to
   * the form, not to a session: Reset and a new run keep them.
   */
  pictures: { names: string[]; notPictures: string[]; undecodable: string[]; reading: boolean };
}
