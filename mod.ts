/**
 * reinmax: train small discrete-latent models with the ReinMax gradient estimator (Liu et al., NeurIPS 2023)
 * and its baselines, entirely on the client — WebAssembly SIMD on the CPU, WebGPU where available.
 *
 * ```ts
 * import { reinmax, selectBackend } from "./mod.ts";
 * const backend = await selectBackend();               // backend.report says which and why
 * const logits = new Float32Array([0.1, 2.0, -1.0, 0.5, 0.5, 0.5]);
 * const r = await reinmax(backend, logits, { n: 3, tau: 1.3, seed: 1 });
 * r.yHard; r.ySoft; r.sample;                          // one-hot samples, softmax, indices
 * const dLogits = await r.backward(new Float32Array(6).fill(1));
 * ```
 * @module
 */
export type { Backend, BackendName, BackendReport, DeviceBuffer, Elements } from "./src/backend.ts";
export type {
  BufferArgument,
  ElementType,
  KernelName,
  KernelSignature,
  ScalarArgument,
} from "./src/kernels.ts";
export { formatReport, selectBackend, type SelectBackendOptions } from "./src/registry.ts";
export { BackendFailureError, BackendUnavailableError, ReinmaxInputError } from "./src/errors.ts";
export {
  type Estimator,
  estimator,
  ESTIMATOR_NAMES,
  type EstimatorName,
  type EstimatorOptions,
  type EstimatorResult,
  grmck,
  gst,
  reinforce,
  type ReinforceOptions,
  type ReinforceResult,
  reinmax,
  type SampleOptions,
  st,
  stgs,
} from "./src/estimators.ts";
export { adam, type Optimizer, type OptimizerOptions, radam } from "./src/optim.ts";
export {
  polyExactGradient,
  polyExactLoss,
  polyOptimum,
  type PolyOptions,
  PolyProgramming,
  type PolyTarget,
  polyTargets,
} from "./src/models/poly.ts";
export { type PolyEpoch, trainPoly, type TrainPolyOptions } from "./src/train/train_poly.ts";
