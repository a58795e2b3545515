/**
 * Polynomial programming from the command line (docs/math.md §6.1): trains θ ∈ ℝ^{L×2} with the chosen estimator
 * and prints progress, the final sampled loss, the exact expected loss, the backend and ms/step.
 *
 *   deno run examples/poly.ts --estimator reinmax --p 2 --c const --steps 8000
 *   deno run examples/poly.ts --estimator st --json
 */
import {
  adam,
  defaultTau,
  estimator,
  type EstimatorName,
  formatReport,
  POLY_SETTINGS,
  polyOptimum,
  polyTargets,
  radam,
  selectBackend,
  trainPoly,
} from "../mod.ts";
import { GUMBEL_DRAWS_FLAG, PATHWISE_CHOICES, PATHWISE_ESTIMATOR_FLAG, tauFlag } from "./estimator_flags.ts";
import { parseFlags, runCli, SEED_FLAG } from "./flags.ts";
import { ProgressBar } from "./progress.ts";

/** The τ the task is tuned for (the paper's, for ReinMax and ST): the estimators' default where their row says "model". */
const POLY_TAU = POLY_SETTINGS.tau;

const FLAGS = {
  estimator: PATHWISE_ESTIMATOR_FLAG,
  p: { type: "number", help: "exponent p of |X − c|^p (> 0)", default: 2, min: Number.MIN_VALUE },
  c: {
    type: "string",
    help: "targets: 0.45 everywhere, or (i − 0.5)/L",
    default: "const",
    choices: ["const", "linear"],
  },
  tau: tauFlag(POLY_TAU, PATHWISE_CHOICES),
  k: GUMBEL_DRAWS_FLAG,
  lr: { type: "number", help: "learning rate", default: POLY_SETTINGS.lr },
  optimizer: {
    type: "string",
    help: "optimiser",
    default: POLY_SETTINGS.optimizer,
    choices: ["adam", "radam"],
  },
  steps: { type: "number", help: "training steps", default: 8000, integer: true, min: 1 },
  batch: { type: "number", help: "samples per step", default: 64, integer: true, min: 1, max: 1 << 20 },
  latents: {
    type: "number",
    help: "number of variables L",
    default: 128,
    integer: true,
    min: 1,
    max: 1 << 20,
  },
  seed: SEED_FLAG,
  backend: { type: "string", help: "compute backend", default: "auto", choices: ["auto", "webgpu", "wasm"] },
  "read-every": {
    type: "number",
    help: "read losses back every N steps",
    default: 50,
    integer: true,
    min: 1,
    max: 1 << 16,
  },
  json: { type: "boolean", help: "print one JSON object per epoch and a final one", default: false },
} as const;

await runCli(FLAGS, async () => {
  const flags = parseFlags(Deno.args, FLAGS, "usage: deno run examples/poly.ts [flags]");
  const name = flags.estimator as EstimatorName;
  const est = estimator(name, { tau: flags.tau ?? defaultTau(name, POLY_TAU), k: flags.k });
  const optimizer = (flags.optimizer === "radam" ? radam : adam)({ lr: flags.lr });
  // Every flag is checked before any backend work (by its declaration above); what only the backend can
  // judge (whether batch × latents fits in its memory) is checked before anything is allocated, and named by
  // flag all the same.
  const backend = await selectBackend({ prefer: flags.backend as "auto" | "webgpu" | "wasm" });
  const report = formatReport(backend.report);
  const log = (line: string) => (flags.json ? console.error(line) : console.log(line));
  log(report);
  log(
    `poly: L=${flags.latents} p=${flags.p} c=${flags.c} ${est.name} τ=${est.tau} ${optimizer.name} ` +
      `lr=${flags.lr} batch=${flags.batch} steps=${flags.steps} seed=${flags.seed}`,
  );

  const tty = !flags.json && Deno.stdout.isTerminal();
  const bar = new ProgressBar(flags.steps, tty);
  let last = { loss: NaN, exactLoss: NaN, msPerStep: NaN, bytesAllocated: 0 };
  let latest = NaN;
  for await (
    const epoch of trainPoly(backend, {
      latents: flags.latents,
      p: flags.p,
      target: flags.c as "const" | "linear",
      estimator: est,
      optimizer,
      batch: flags.batch,
      steps: flags.steps,
      seed: flags.seed,
      readEvery: flags["read-every"],
      onLosses: (first, losses) => {
        latest = losses[losses.length - 1];
        bar.update(first + losses.length, `loss ${latest.toFixed(5)}`);
      },
    })
  ) {
    last = epoch;
    if (flags.json) console.log(JSON.stringify(epoch));
    else if (!tty) {
      console.log(
        `epoch ${epoch.epoch} step ${epoch.step} loss ${epoch.loss.toFixed(5)} exact ${
          epoch.exactLoss.toFixed(5)
        }`,
      );
    }
  }
  bar.clear();
  const optimum = polyOptimum(polyTargets(flags.latents, flags.c as "const" | "linear"), flags.p);
  const result = {
    finalLoss: last.loss,
    exactLoss: last.exactLoss,
    optimum,
    backend: backend.name,
    msPerStep: last.msPerStep,
    bytesAllocated: last.bytesAllocated,
  };
  if (flags.json) console.log(JSON.stringify(result));
  else {
    console.log(`final sampled loss ${result.finalLoss.toFixed(5)} (mean over the last epoch)`);
    console.log(`exact expected loss ${result.exactLoss.toFixed(5)} (optimum ${optimum.toFixed(5)})`);
    console.log(
      `backend ${backend.name}: ${result.msPerStep.toFixed(3)} ms/step, ` +
        `${(result.bytesAllocated / 1024).toFixed(0)} KiB planned once`,
    );
  }
  backend.destroy();
});
