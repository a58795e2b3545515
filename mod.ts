/**
 * reinmax: train small discrete-latent models with the ReinMax gradient estimator (Liu et al., NeurIPS 2023)
 * and its baselines, entirely on the client — WebAssembly SIMD on the CPU, WebGPU where available.
 *
 * Train the paper's categorical VAE on images given as bytes (`loadFixture` and `loadMnistLike` take a
 * reader the caller supplies, so the library itself needs no permissions):
 *
 * ```ts
 * import { CategoricalVae, loadFixture, selectBackend, trainVae } from "./mod.ts";
 * const read = async (name: string) => await fetch(new URL(`fixtures/${name}`, import.meta.url));
 * const data = await loadFixture("fashion-mnist-10k", read);
 * const backend = await selectBackend();
 * const model = new CategoricalVae(backend, { config: "10x30" }); // ReinMax τ 1.3, RAdam 5e-4
 * for await (const e of trainVae(model, data.train, { epochs: 10, test: data.test })) {
 *   console.log(e.epoch, e.trainElbo, e.testElbo); // −ELBO in nats per image
 * }
 * ```
 *
 * The estimators on raw logits:
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
export {
  type BufferArgument,
  type ElementType,
  KERNEL_TABLE,
  type KernelName,
  KERNELS,
  type KernelSignature,
  type ScalarArgument,
} from "./src/kernels.ts";
export { formatReport, selectBackend, type SelectBackendOptions } from "./src/registry.ts";
export {
  BackendFailureError,
  BackendMemoryError,
  BackendUnavailableError,
  CheckpointError,
  DatasetError,
  DivergenceError,
  NonFiniteError,
  ReinmaxInputError,
} from "./src/errors.ts";
export {
  defaultTau,
  type Estimator,
  estimator,
  ESTIMATOR_NAMES,
  type EstimatorBuffers,
  type EstimatorName,
  type EstimatorOptions,
  type EstimatorRow,
  ESTIMATORS,
  PATHWISE_ESTIMATOR_NAMES,
  type PathwiseBackward,
  type PathwiseEstimatorName,
  SCORE_ESTIMATOR_NAMES,
  type ScoreFunction,
  takesEvaluations,
  TAU_RANGE,
  type TauDomain,
} from "./src/estimators.ts";
export {
  type EstimatorResult,
  grmck,
  gst,
  reinforce,
  type ReinforceOptions,
  type ReinforceResult,
  reinmax,
  type SampleOptions,
  sampleWithEstimator,
  st,
  stgs,
} from "./src/logit_estimators.ts";
export type { ItemNames, LaunchBuffers, Launcher, LaunchParams } from "./src/launcher.ts";
export { adam, type Optimizer, type OptimizerOptions, radam } from "./src/optim.ts";
export type { RandomStream } from "./src/random.ts";
export {
  POLY_SETTINGS,
  polyExactGradient,
  polyExactLoss,
  polyOptimum,
  type PolyOptions,
  PolyProgramming,
  type PolyTarget,
  polyTargets,
} from "./src/models/poly.ts";
export { type PolyEpoch, trainPoly, type TrainPolyOptions } from "./src/train/train_poly.ts";
export {
  CATEGORICAL_CONFIGS,
  type CategoricalConfig,
  type CategoricalConfigSettings,
  CategoricalVae,
  type CategoricalVaeOptions,
} from "./src/models/categorical_vae.ts";
export {
  BERNOULLI_VAE_SETTINGS,
  BernoulliVae,
  type BernoulliVaeOptions,
} from "./src/models/bernoulli_vae.ts";
export { type ElboTerms, type ImageBatches, type StepInputOptions, Vae } from "./src/models/vae.ts";
export {
  type ActivationLayer,
  type BernoulliLayer,
  type BernoulliLayerOptions,
  type CategoricalLayer,
  type CategoricalLayerOptions,
  type LatentOptions,
  LAYER_TAU,
  type LayerDeclaration,
  layers,
  type LikelihoodDeclaration,
  type LinearLayer,
  type Named,
  type Prior,
} from "./src/layers/declarations.ts";
export {
  type Binarization,
  BINARIZATIONS,
  DiscreteModel,
  type DiscreteModelOptions,
  type Evaluation,
  type InputBatches,
  type StepOptions,
} from "./src/models/discrete_model.ts";
export {
  type ModelDescription,
  type ModelState,
  type Parameter,
  TrainableModel,
} from "./src/models/model.ts";
export type { BufferSize } from "./src/allocation.ts";
export { type BufferRole, MemoryPlan, type MemoryReport, type PlannedBuffer } from "./src/memory_plan.ts";
export { LossLog, type LossRead } from "./src/models/loss_log.ts";
export {
  type EpochReport,
  type StepProgress,
  train,
  type TrainingTask,
  type TrainOptions,
} from "./src/train/trainer.ts";
export { allImages, trainVae, type TrainVaeOptions, type VaeEpoch } from "./src/train/train_vae.ts";
export {
  type ExampleSet,
  type ModelEpoch,
  trainModel,
  type TrainModelOptions,
} from "./src/train/train_model.ts";
export { VectorSet, type VectorSetOptions } from "./src/data/vectors.ts";
export {
  imageSetFromPictures,
  imageSetFromSources,
  type PictureSetOptions,
  type PictureSource,
  type RgbaPicture,
} from "./src/data/pictures.ts";
export { type ImageDataset, ImageSet, type ImageSetOptions } from "./src/data/images.ts";
export { encodeIdx, type IdxArray, type IdxArrays, type IdxType, parseIdx } from "./src/data/idx.ts";
export { type ByteSource, type FileReader, loadMnistLike, type MnistLikeOptions } from "./src/data/mnist.ts";
export { type FixtureName, FIXTURES, FIXTURES_URL, loadFixture } from "./src/data/fixtures.ts";
export { encodePng, type GreyImage, imageGrid, type ImageGridOptions } from "./src/data/png.ts";
export {
  type Checkpoint,
  CHECKPOINT_FORMAT,
  decodeCheckpoint,
  encodeCheckpoint,
  LAYOUT_KEY,
  loadInto,
  saveCheckpoint,
  WEIGHT_LAYOUT,
} from "./src/checkpoint/checkpoint.ts";
export { loadCheckpoint, type LoadedCheckpoint } from "./src/checkpoint/load_checkpoint.ts";
export {
  type AnalysedVae,
  chiSquareBound,
  compareGradients,
  estimatorGradientDraws,
  exactReconstructionGradient,
  type GradientComparison,
  type GradientDraws,
  type GradientQuality,
  gradientQuality,
  MAX_CODES,
} from "./src/analysis/gradient_quality.ts";
