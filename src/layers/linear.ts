/**
 * The linear layer, x·W + b (docs/math.md §4.1), W stored in × out and drawn like PyTorch's Linear. On codes
 * from a categorical layer the product with one-hot rows is a gather of `latents` rows of W, and W's gradient a
 * scatter-add (docs/math.md §4.11); the codes' own gradient, dy·Wᵀ, is what the estimator then reads.
 * @module
 */
import type { Parameter, PlannedBuffer } from "../memory_plan.ts";
import type { LinearLayer } from "./declarations.ts";
import {
  type Activation,
  type DenseActivation,
  type LayerPlanner,
  type Pass,
  type PlannedLayer,
  rowsOf,
} from "./layer.ts";

export class Linear implements PlannedLayer {
  readonly output: DenseActivation;
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly #input: Activation;
  readonly #noInputGrad: PlannedBuffer;

  constructor(
    readonly index: number,
    readonly name: string,
    declaration: LinearLayer,
    input: Activation,
    planner: LayerPlanner,
    needsInputGrad: boolean,
    labels: { readonly weight?: string; readonly bias?: string } = {},
  ) {
    const { plan, batch } = planner;
    const inSize = input.width, outSize = declaration.outSize;
    const bound = 1 / Math.sqrt(inSize);
    const weightSize = planner.size(`${name}'s inputs × outputs`),
      biasSize = planner.size(`${name}'s outputs`);
    this.weight = plan.declareParameter(
      labels.weight ?? `${name}.weight`,
      [inSize, outSize],
      bound,
      weightSize,
    );
    this.bias = plan.declareParameter(labels.bias ?? `${name}.bias`, [outSize], bound, biasSize);
    const rows = batch * input.factor, size = planner.size(`batch × ${name} outputs`);
    this.output = {
      kind: "dense",
      width: outSize,
      factor: input.factor,
      value: plan.declare(`${name}.out`, rows * outSize, "activation", size),
      grad: plan.declare(`${name}.out.grad`, rows * outSize, "activation", size),
    };
    // A first layer's input is the data, which needs no gradient.
    this.#input = needsInputGrad || input.kind === "codes" ? input : { ...input, grad: null };
    this.#noInputGrad = planner.noInputGrad;
  }

  forward(pass: Pass): void {
    const input = this.#input, rows = rowsOf(pass, input.factor);
    const w = this.weight.value.buffer, b = this.bias.value.buffer, out = this.output.value.buffer;
    if (input.kind === "codes") {
      pass.k.onehot_linear_forward({ out, w, b, sample: input.sample.buffer }, {
        batch: rows,
        latents: input.latents,
        categories: input.categories,
        outDim: this.output.width,
      });
    } else {
      pass.k.linear_forward({ out, x: input.value.buffer, w, b }, {
        batch: rows,
        inDim: input.width,
        outDim: this.output.width,
      });
    }
  }

  backward(pass: Pass): void {
    const input = this.#input, rows = rowsOf(pass, input.factor), k = pass.k;
    const outSize = this.output.width, dy = this.output.grad!.buffer;
    if (input.kind === "codes") {
      k.onehot_linear_backward({
        dw: this.weight.grad.buffer,
        db: this.bias.grad.buffer,
        dy,
        sample: input.sample.buffer,
      }, {
        batch: rows,
        latents: input.latents,
        categories: input.categories,
        outDim: outSize,
      });
      k.fill({ out: input.grad.buffer }, { count: rows * input.width, value: 0 });
      k.matmul_bt({ C: input.grad.buffer, A: dy, B: this.weight.value.buffer }, {
        M: rows,
        K: outSize,
        N: input.width,
        aRowStride: outSize,
        aColStride: 1,
        accumulate: 1,
      });
      return;
    }
    const dx = input.grad ?? this.#noInputGrad;
    if (input.grad) k.fill({ out: dx.buffer }, { count: rows * input.width, value: 0 });
    k.linear_backward(
      {
        dx: dx.buffer,
        dw: this.weight.grad.buffer,
        db: this.bias.grad.buffer,
        dy,
        x: input.value.buffer,
        w: this.weight.value.buffer,
      },
      { batch: rows, inDim: input.width, outDim: outSize, needDx: input.grad ? 1 : 0 },
    );
  }
}
