// The messages between the demo page (main.ts) and its training worker (worker.ts).

/** What the page asks the worker to train. */
export interface DemoSettings {
  readonly estimator: "reinmax" | "st" | "stgs" | "gst" | "grmck";
  readonly tau: number;
  readonly lr: number;
  readonly steps: number;
  readonly batch: number;
  readonly backend: "auto" | "webgpu" | "wasm";
  readonly seed: number;
}

/** What the worker reports, in this order: one report, then losses and epochs, then done or error. */
export type WorkerMessage =
  | {
    readonly type: "report";
    /** The backend in use. */
    readonly backend: string;
    /** formatReport(backend.report): which backend, why, and every one rejected. */
    readonly text: string;
    /** The lowest expected loss any θ reaches. */
    readonly optimum: number;
    /** The exact expected loss at step 0. */
    readonly initialExactLoss: number;
  }
  | { readonly type: "losses"; readonly firstStep: number; readonly losses: number[] }
  | {
    readonly type: "epoch";
    readonly epoch: number;
    readonly step: number;
    readonly loss: number;
    readonly exactLoss: number;
    readonly msPerStep: number;
  }
  | {
    readonly type: "done";
    readonly steps: number;
    readonly exactLoss: number;
    readonly msPerStep: number;
  }
  | { readonly type: "error"; readonly name: string; readonly message: string };

/** Where the page is in a run. */
export type Phase = "idle" | "running" | "done" | "stopped" | "error";

/** Everything the page knows about the current run; also exposed as `globalThis.reinmaxDemo` for tests. */
export interface DemoState {
  phase: Phase;
  settings: DemoSettings | null;
  backend: string | null;
  report: string;
  optimum: number;
  initialExactLoss: number;
  /** The sampled loss of every step read back so far, as [step, loss]. */
  sampled: [number, number][];
  /** Exact expected loss at the end of each epoch, as [step, loss]. */
  exact: [number, number][];
  msPerStep: number;
  error: string | null;
}
