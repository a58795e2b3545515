// The demo's training worker: it receives one DemoSettings message, picks a backend, trains polynomial
// programming with trainPoly and posts progress (see protocol.ts). Training runs here, off the page's main
// thread, so the page stays responsive; the page stops a run by terminating the worker.
import {
  adam,
  estimator,
  formatReport,
  polyExactLoss,
  polyOptimum,
  polyTargets,
  selectBackend,
  trainPoly,
} from "../../mod.ts";
import type { DemoSettings, WorkerMessage } from "./protocol.ts";

// The dedicated-worker scope, typed by hand so this file checks with the project's DOM lib.
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<DemoSettings>) => void) | null;
  postMessage(message: WorkerMessage): void;
};

const LATENTS = 128, P = 2, TARGET = "const";

async function train(settings: DemoSettings): Promise<void> {
  const est = estimator(settings.estimator, { tau: settings.tau });
  const backend = await selectBackend({ prefer: settings.backend });
  try {
    const targets = polyTargets(LATENTS, TARGET);
    // θ starts within ±0.01 of zero, so the expected loss at step 0 is that of q = 1/2 everywhere.
    const initialExactLoss = polyExactLoss(new Float32Array(LATENTS * 2), targets, P);
    scope.postMessage({
      type: "report",
      backend: backend.name,
      text: formatReport(backend.report),
      optimum: polyOptimum(targets, P),
      initialExactLoss,
    });
    let last = { exactLoss: initialExactLoss, msPerStep: NaN, step: 0 };
    for await (
      const e of trainPoly(backend, {
        latents: LATENTS,
        p: P,
        target: TARGET,
        estimator: est,
        optimizer: adam({ lr: settings.lr }),
        batch: settings.batch,
        steps: settings.steps,
        seed: settings.seed,
        stepsPerEpoch: Math.max(1, Math.round(settings.steps / 40)),
        readEvery: 50,
        onLosses: (firstStep, losses) =>
          scope.postMessage({ type: "losses", firstStep, losses: Array.from(losses) }),
      })
    ) {
      scope.postMessage({ type: "epoch", ...e });
      last = e;
    }
    scope.postMessage({
      type: "done",
      steps: last.step,
      exactLoss: last.exactLoss,
      msPerStep: last.msPerStep,
    });
  } finally {
    backend.destroy();
  }
}

scope.onmessage = (event) => {
  train(event.data).catch((e: unknown) => {
    const error = e instanceof Error ? e : new Error(String(e));
    scope.postMessage({ type: "error", name: error.name, message: error.message });
  });
};
