/**
 * What the layers of a declared model share: the values that flow between them, the pass they run in, and the
 * interface every planned layer implements — buffers declared once in the model's memory plan, a forward that
 * enqueues its kernels, a backward that enqueues their paired backward kernels. Adding a layer is a file of
 * this folder implementing {@link PlannedLayer}, its declaration in declarations.ts and a case in plan_layers.ts.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Launcher } from "../launcher.ts";
import type { BufferSize, MemoryPlan, PlannedBuffer } from "../memory_plan.ts";
import type { RandomStream } from "../random.ts";

/**
 * Values between two layers. `dense`: `width` numbers per row. `codes`: one-hot codes kept as their categories,
 * `latents` per row (what a categorical layer outputs); a linear layer reads them as a gather of rows of its
 * weight, anything else asks for them as dense one-hot rows with {@link CodesActivation.dense}.
 */
export type Activation = DenseActivation | CodesActivation;

/** Dense rows; see {@link Activation}. */
export interface DenseActivation {
  readonly kind: "dense";
  /** Values per row. */
  readonly width: number;
  /** Rows per example: the product of the evaluations K of the stochastic layers before it. */
  readonly factor: number;
  /** rows × width values. */
  readonly value: PlannedBuffer;
  /** ∂loss/∂value, where a layer below needs it (null at the model's input). */
  readonly grad: PlannedBuffer | null;
}

/** One-hot codes by their categories; see {@link Activation}. */
export interface CodesActivation {
  readonly kind: "codes";
  /** Width of the one-hot rows: latents × categories. */
  readonly width: number;
  readonly factor: number;
  readonly latents: number;
  readonly categories: number;
  /** rows × latents categories (i32). */
  readonly sample: PlannedBuffer;
  /** ∂loss/∂(one-hot codes), rows × latents × categories: what the estimator reads. */
  readonly grad: PlannedBuffer;
  /** The codes as dense one-hot rows, declared (and then written by every forward) on the first call. */
  dense(): DenseActivation;
}

/** One pass through the layers: a training step, an evaluation batch, or decoding. */
export interface Pass {
  readonly backend: Backend;
  readonly k: Launcher;
  /** Examples in the pass. */
  readonly count: number;
  /** The stream of the pass's samples (and the Gumbel family's draws). */
  readonly rng: RandomStream;
  /** Whether stochastic layers draw their K codes per example (training, evaluation) or one (decoding). */
  readonly evaluations: boolean;
  /** Forced categories of stochastic layers by layer index, for tests. */
  readonly forced?: ReadonlyMap<number, Int32Array>;
}

/** Rows of a pass at a point where `factor` rows belong to each example. */
export function rowsOf(pass: Pass, factor: number): number {
  return pass.count * (pass.evaluations ? factor : 1);
}

/** How a layer adds its parameters and buffers to the model's memory plan. */
export interface LayerPlanner {
  readonly plan: MemoryPlan;
  /** Examples per step: every buffer holds batch × factor rows. */
  readonly batch: number;
  /** The model's one buffer that a first layer's linear_backward binds as its unused input gradient. */
  readonly noInputGrad: PlannedBuffer;
  /** What the first layer reads: the model's input (or its bits), for a layer that conditions on it (RELAX). */
  readonly modelInput: DenseActivation;
  /** How a buffer of `rowsPerExample × width` values per example follows from the options, for errors. */
  size(what: string): BufferSize;
}

/** A layer of a declared model, planned: its buffers are rows of the model's memory plan. */
export interface PlannedLayer {
  /** Its index in the declaration. */
  readonly index: number;
  /** The prefix of its labels. */
  readonly name: string;
  /** What it passes on. */
  readonly output: Activation;
  /** Enqueues its forward pass. */
  forward(pass: Pass): void;
  /**
   * Enqueues its backward pass: from ∂loss/∂output (written by the layer above), every parameter gradient it
   * owns accumulates, and ∂loss/∂input is written (zeroed, then accumulated) when the input has a gradient.
   */
  backward(pass: Pass): void;
}
