/**
 * The elementwise activations: ReLU and LeakyReLU (docs/math.md §4.2, §4.3), the logistic sigmoid (§4.4) and
 * tanh (§4.13). Each keeps what its backward reads: the input for the piecewise-linear ones, the output for
 * the smooth ones (σ' = y(1 − y), tanh' = 1 − y²).
 * @module
 */
import type { ActivationLayer } from "./declarations.ts";
import { type DenseActivation, type LayerPlanner, type Pass, type PlannedLayer, rowsOf } from "./layer.ts";

export class Activation implements PlannedLayer {
  readonly output: DenseActivation;
  readonly #input: DenseActivation;
  readonly #declaration: ActivationLayer;

  constructor(
    readonly index: number,
    readonly name: string,
    declaration: ActivationLayer,
    input: DenseActivation,
    planner: LayerPlanner,
  ) {
    const rows = planner.batch * input.factor, size = planner.size(`batch × ${name} outputs`);
    this.#declaration = declaration;
    this.#input = input;
    this.output = {
      kind: "dense",
      width: input.width,
      factor: input.factor,
      value: planner.plan.declare(`${name}.out`, rows * input.width, "activation", size),
      grad: planner.plan.declare(`${name}.out.grad`, rows * input.width, "activation", size),
    };
  }

  forward(pass: Pass): void {
    const count = rowsOf(pass, this.#input.factor) * this.#input.width;
    const buffers = { out: this.output.value.buffer, x: this.#input.value.buffer };
    const d = this.#declaration;
    if (d.kind === "relu") pass.k.relu_forward(buffers, { count });
    else if (d.kind === "leakyRelu") pass.k.leaky_relu_forward(buffers, { count, slope: d.slope });
    else if (d.kind === "sigmoid") pass.k.sigmoid_forward(buffers, { count });
    else pass.k.tanh_forward(buffers, { count });
  }

  backward(pass: Pass): void {
    const input = this.#input;
    if (!input.grad) return;
    const count = rowsOf(pass, input.factor) * input.width, k = pass.k, d = this.#declaration;
    const dx = input.grad.buffer, dy = this.output.grad!.buffer;
    k.fill({ out: dx }, { count, value: 0 });
    if (d.kind === "relu") k.relu_backward({ dx, dy, x: input.value.buffer }, { count });
    else if (d.kind === "leakyRelu") {
      k.leaky_relu_backward({ dx, dy, x: input.value.buffer }, { count, slope: d.slope });
    } else if (d.kind === "sigmoid") k.sigmoid_backward({ dx, dy, y: this.output.value.buffer }, { count });
    else k.tanh_backward({ dx, dy, y: this.output.value.buffer }, { count });
  }
}
