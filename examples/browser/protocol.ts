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
