/**
 * A multilayer perceptron built from the paired layer kernels: linear layers with an activation after every
 * hidden layer and none on the output (docs/math.md §4). Its buffers live in the owning model's plan; the
 * forward pass keeps each layer's pre- and post-activation for the backward pass.
 * @module
 */
import type { Launcher } from "../launcher.ts";
import { ReinmaxInputError } from "../errors.ts";
import { describe, requireInteger } from "../validate.ts";
import type { Parameter } from "./model.ts";
import type { BufferRole, BufferSize, PlannedBuffer } from "./plan.ts";

/** The activation after each hidden layer. */
export type Activation = { readonly kind: "relu" } | { readonly kind: "leaky_relu"; readonly slope: number };

/**
 * How an MLP adds its buffers to its model's plan.
 *
 * @example
 * ```ts
 * import type { BufferSize, MlpDeclarer } from "@reinmax/reinmax";
 * // A subclass of Vae gets one from mlpDeclarer(); each call adds a buffer to the model's plan.
 * function declareLayer(declare: MlpDeclarer, size: BufferSize) {
 *   const weight = declare.parameter("head.weight", [256, 10], 1 / 16, size);
 *   const output = declare.buffer("head.out", 100 * 10, "activation", size);
 *   return { weight, output };
 * }
 * ```
 */
export interface MlpDeclarer {
  /** Declares a trainable weight or bias, drawn uniformly from ±`initBound` when the model initialises. */
  parameter(label: string, shape: readonly number[], initBound: number, size: BufferSize): Parameter;
  /** Declares a working buffer (activations, gradients) of `length` elements with its role in the plan. */
  buffer(label: string, length: number, role: BufferRole, size: BufferSize): PlannedBuffer;
}

/** A layer width and the option it comes from (for size errors in the user's terms). */
export interface LayerWidth {
  readonly width: number;
  /** E.g. "inputSize", "hidden[0]", "latents × categories". */
  readonly name: string;
}

interface Layer {
  readonly inSize: number;
  readonly outSize: number;
  readonly weight: Parameter;
  readonly bias: Parameter;
  /** x·W + b. */
  readonly linear: PlannedBuffer;
  /** ∂loss/∂linear. */
  readonly linearGrad: PlannedBuffer;
  /** activation(linear), hidden layers only. */
  readonly activated?: PlannedBuffer;
  /** ∂loss/∂activated, hidden layers only. */
  readonly activatedGrad?: PlannedBuffer;
}

/** Checks a list of hidden-layer widths from the caller (option `argument`). */
export function requireLayerWidths(argument: string, widths: unknown): readonly number[] {
  if (!Array.isArray(widths) || widths.length === 0) {
    throw new ReinmaxInputError(
      argument,
      `expected a non-empty array of layer widths, got ${describe(widths)}`,
    );
  }
  return widths.map((width, i) => requireInteger(`${argument}[${i}]`, width, 1, 1 << 16));
}

/** The option a width comes from: "hidden[1]" → "hidden", "latents × categories" → "latents". */
function optionOf(width: LayerWidth): string {
  return width.name.split(/[\[ ]/)[0];
}

/**
 * The input is one-hot codes given by their categories: `latents` i32 categories per row, each in
 * [0, categories), standing for latents one-hot rows of `categories` (sizes[0] = latents·categories). The
 * first layer is then a gather and a scatter-add (docs/math.md §4.11) instead of products with the codes.
 */
export interface OneHotInput {
  readonly latents: number;
  readonly categories: number;
}

/** An MLP of `sizes[0] → sizes[1] → … → sizes[n]` for batches of up to `batch` rows. */
export class Mlp {
  /** Layer widths, input first. */
  readonly sizes: readonly number[];
  /** Rows the buffers hold. */
  readonly batch: number;
  readonly #layers: Layer[] = [];
  readonly #activation: Activation;
  readonly #oneHot: OneHotInput | null;
  /** Bound as the untouched input gradient of a first layer that needs none. */
  readonly #noInputGrad: PlannedBuffer;

  /**
   * Declares the layers `${name}.fc1 … fc<n>` (weights in×out, initialised from U(±1/√in) like PyTorch's
   * Linear) and their activations. With `oneHot`, the input is categories (see {@link OneHotInput}).
   */
  constructor(
    declare: MlpDeclarer,
    name: string,
    widths: readonly LayerWidth[],
    batch: number,
    activation: Activation,
    oneHot: OneHotInput | null = null,
  ) {
    this.sizes = widths.map((w) => w.width);
    this.batch = batch;
    this.#activation = activation;
    this.#oneHot = oneHot;
    for (let i = 1; i < widths.length; i++) {
      const inSize = widths[i - 1].width, outSize = widths[i].width, layer = `${name}.fc${i}`;
      const bound = 1 / Math.sqrt(inSize);
      const hidden = i < widths.length - 1;
      // Errors name the option behind the wider side, the one a user would lower.
      const weightSize = {
        formula: `${widths[i - 1].name} × ${widths[i].name}`,
        argument: optionOf(inSize >= outSize ? widths[i - 1] : widths[i]),
      };
      const biasSize = { formula: widths[i].name, argument: optionOf(widths[i]) };
      const out: BufferSize = { formula: `batch × ${widths[i].name}`, argument: "batch" };
      this.#layers.push({
        inSize,
        outSize,
        weight: declare.parameter(`${layer}.weight`, [inSize, outSize], bound, weightSize),
        bias: declare.parameter(`${layer}.bias`, [outSize], bound, biasSize),
        linear: declare.buffer(`${layer}.out`, batch * outSize, "activation", out),
        linearGrad: declare.buffer(`${layer}.out.grad`, batch * outSize, "activation", out),
        activated: hidden
          ? declare.buffer(`${name}.act${i}.out`, batch * outSize, "activation", out)
          : undefined,
        activatedGrad: hidden
          ? declare.buffer(`${name}.act${i}.out.grad`, batch * outSize, "activation", out)
          : undefined,
      });
    }
    this.#noInputGrad = declare.buffer(`${name}.noInputGrad`, 1, "activation", {
      formula: "1",
      argument: name,
    });
  }

  /** The output (the last layer's x·W + b, no activation), batch × sizes[n]. */
  get output(): PlannedBuffer {
    return this.#layers[this.#layers.length - 1].linear;
  }

  /**
   * ∂loss/∂output. The caller writes or accumulates into it (after zeroing) before {@link Mlp.backward}.
   */
  get outputGrad(): PlannedBuffer {
    return this.#layers[this.#layers.length - 1].linearGrad;
  }

  /**
   * Enqueues the forward pass of the first `rows` rows of `input` (rows × sizes[0], or rows × latents
   * categories for a one-hot input).
   */
  forward(k: Launcher, input: PlannedBuffer, rows: number): void {
    let x = input;
    for (const layer of this.#layers) {
      const { weight, bias } = layer;
      if (x === input && this.#oneHot) {
        const { latents, categories } = this.#oneHot;
        k.onehot_linear_forward(
          { out: layer.linear.buffer, w: weight.value.buffer, b: bias.value.buffer, sample: input.buffer },
          { batch: rows, latents, categories, outDim: layer.outSize },
        );
      } else {
        k.linear_forward(
          { out: layer.linear.buffer, x: x.buffer, w: weight.value.buffer, b: bias.value.buffer },
          { batch: rows, inDim: layer.inSize, outDim: layer.outSize },
        );
      }
      if (!layer.activated) break;
      const count = rows * layer.outSize, act = this.#activation;
      const buffers = { out: layer.activated.buffer, x: layer.linear.buffer };
      if (act.kind === "relu") k.relu_forward(buffers, { count });
      else k.leaky_relu_forward(buffers, { count, slope: act.slope });
      x = layer.activated;
    }
  }

  /**
   * Enqueues the backward pass from {@link Mlp.outputGrad}: accumulates every weight and bias gradient (the
   * model zeroes those once per step) and, when `inputGrad` is given, ∂loss/∂input into it (the caller zeroes
   * it). `input` and `rows` are those of the forward pass.
   */
  backward(k: Launcher, input: PlannedBuffer, rows: number, inputGrad: PlannedBuffer | null): void {
    for (let i = this.#layers.length - 1; i >= 0; i--) {
      const layer = this.#layers[i];
      const below = i > 0 ? this.#layers[i - 1] : null;
      const x = below ? below.activated! : input;
      const dx = below ? below.activatedGrad! : inputGrad ?? this.#noInputGrad;
      if (below) k.fill({ out: dx.buffer }, { count: rows * layer.inSize, value: 0 });
      const { weight, bias, linearGrad, inSize, outSize } = layer;
      if (!below && this.#oneHot) {
        const { latents, categories } = this.#oneHot;
        k.onehot_linear_backward(
          { dw: weight.grad.buffer, db: bias.grad.buffer, dy: linearGrad.buffer, sample: input.buffer },
          { batch: rows, latents, categories, outDim: outSize },
        );
        // The codes' own gradient dy·Wᵀ, which the estimators take as ∂loss/∂(one-hot).
        if (inputGrad) {
          k.matmul_bt(
            { C: inputGrad.buffer, A: linearGrad.buffer, B: weight.value.buffer },
            { M: rows, K: outSize, N: inSize, aRowStride: outSize, aColStride: 1, accumulate: 1 },
          );
        }
        break;
      }
      k.linear_backward(
        {
          dx: dx.buffer,
          dw: weight.grad.buffer,
          db: bias.grad.buffer,
          dy: linearGrad.buffer,
          x: x.buffer,
          w: weight.value.buffer,
        },
        { batch: rows, inDim: inSize, outDim: outSize, needDx: below || inputGrad ? 1 : 0 },
      );
      if (!below) break;
      const count = rows * below.outSize, act = this.#activation;
      k.fill({ out: below.linearGrad.buffer }, { count, value: 0 });
      const buffers = {
        dx: below.linearGrad.buffer,
        dy: below.activatedGrad!.buffer,
        x: below.linear.buffer,
      };
      if (act.kind === "relu") k.relu_backward(buffers, { count });
      else k.leaky_relu_backward(buffers, { count, slope: act.slope });
    }
  }
}
