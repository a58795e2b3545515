/**
 * The likelihoods that close a declared model: how the last layer's output scores the targets, per example
 * row, and the gradient of the batch mean of that score. Bernoulli pixels (BCE with logits, docs/math.md §4.5)
 * and Gaussian means (§4.14) score the model's input, copied K times when a stochastic layer draws K codes per
 * example; categorical classes (softmax cross-entropy, §4.15) score the data set's labels.
 * @module
 */
import type { PlannedBuffer } from "../memory_plan.ts";
import type { LikelihoodDeclaration } from "./declarations.ts";
import { type DenseActivation, type LayerPlanner, type Pass, rowsOf } from "./layer.ts";

/** The likelihood of a declared model; see the module comment. */
export class Likelihood {
  /** The name of its loss channel: "reconstruction" for the input's likelihoods, "crossEntropy" for labels. */
  readonly channel: string;
  /** The score of each example row, batch × factor. */
  readonly loss: PlannedBuffer;
  /** The labels of each example row (i32), written by the host, for the categorical likelihood. */
  readonly labels: PlannedBuffer | null;
  /** 1 where a row's most likely class is its label, for the categorical likelihood's accuracy. */
  readonly correct: PlannedBuffer | null;
  /** The likelihood's mean of each row (pixel means σ(z), class probabilities), for predictions. */
  readonly mean: PlannedBuffer;
  readonly declaration: LikelihoodDeclaration;
  readonly #output: DenseActivation;
  /** The input copied `factor` times, when the last layer runs on several rows per example. */
  readonly #tiledTarget: PlannedBuffer | null;

  constructor(declaration: LikelihoodDeclaration, output: DenseActivation, planner: LayerPlanner) {
    const { plan, batch } = planner, rows = batch * output.factor;
    this.declaration = declaration;
    this.#output = output;
    this.channel = declaration.kind === "categorical" ? "crossEntropy" : "reconstruction";
    const perRow = planner.size("batch × evaluations");
    this.loss = plan.declare(`loss.${this.channel}`, rows, "activation", perRow);
    const byClass = declaration.kind === "categorical";
    this.labels = byClass ? plan.declare("input.labels", rows, "input", perRow) : null;
    this.correct = byClass ? plan.declare("accuracy.correct", rows, "activation", perRow) : null;
    this.#tiledTarget = !byClass && output.factor > 1
      ? plan.declare(
        "target",
        rows * output.width,
        "activation",
        planner.size("batch × evaluations × inputSize"),
      )
      : null;
    this.mean = declaration.kind === "gaussian" ? output.value : plan.declare(
      "output.mean",
      rows * output.width,
      "activation",
      planner.size("batch × evaluations × outputs"),
    );
  }

  /** What the scores compare the output with in `pass`: the input (`x`), or its K copies. */
  #target(pass: Pass, x: PlannedBuffer): PlannedBuffer {
    if (!this.#tiledTarget || !pass.evaluations) return x;
    return this.#tiledTarget;
  }

  /**
   * Enqueues the score of every row of the last forward pass into {@link loss}, against the input `x` (the
   * model's input after any binarisation) or the labels written for the pass.
   */
  forward(pass: Pass, x: PlannedBuffer): void {
    const out = this.#output, rows = rowsOf(pass, out.factor), k = pass.k, d = this.declaration;
    const logits = out.value.buffer;
    if (d.kind === "categorical") {
      k.softmax_cross_entropy_forward({ loss: this.loss.buffer, logits, labels: this.labels!.buffer }, {
        batch: rows,
        classes: out.width,
      });
      return;
    }
    const target = this.#target(pass, x);
    if (target === this.#tiledTarget) {
      k.tile({ out: target.buffer, x: x.buffer }, { count: pass.count * out.width, times: out.factor });
    }
    if (d.kind === "bernoulli") {
      k.bce_logits_forward({ loss: this.loss.buffer, logits, target: target.buffer }, {
        batch: rows,
        dim: out.width,
      });
    } else {
      k.gaussian_nll_forward({ loss: this.loss.buffer, mean: logits, target: target.buffer }, {
        batch: rows,
        dim: out.width,
        sigma: d.sigma,
      });
    }
  }

  /** Enqueues ∂(batch-mean score)/∂output into the last layer's output gradient (written). */
  backward(pass: Pass, x: PlannedBuffer, scale: number): void {
    const out = this.#output, rows = rowsOf(pass, out.factor), k = pass.k, d = this.declaration;
    const dOut = out.grad!.buffer, logits = out.value.buffer, count = rows * out.width;
    k.fill({ out: dOut }, { count, value: 0 });
    if (d.kind === "categorical") {
      k.softmax_cross_entropy_backward({ dLogits: dOut, logits, labels: this.labels!.buffer }, {
        batch: rows,
        classes: out.width,
        scale,
      });
    } else if (d.kind === "bernoulli") {
      k.bce_logits_backward({ dLogits: dOut, logits, target: this.#target(pass, x).buffer }, {
        count,
        scale,
      });
    } else {
      k.gaussian_nll_backward({ dMean: dOut, mean: logits, target: this.#target(pass, x).buffer }, {
        count,
        scale,
        sigma: d.sigma,
      });
    }
  }

  /** Enqueues, for the categorical likelihood, whether each row's most likely class is its label. */
  enqueueCorrect(pass: Pass): void {
    const out = this.#output;
    pass.k.argmax_equals(
      { out: this.correct!.buffer, logits: out.value.buffer, labels: this.labels!.buffer },
      {
        batch: rowsOf(pass, out.factor),
        classes: out.width,
      },
    );
  }

  /** Enqueues the likelihood's mean of each row of the last forward pass; returns where it is. */
  enqueueMean(pass: Pass): PlannedBuffer {
    const out = this.#output, rows = rowsOf(pass, out.factor), d = this.declaration;
    if (d.kind === "bernoulli") {
      pass.k.sigmoid_forward({ out: this.mean.buffer, x: out.value.buffer }, { count: rows * out.width });
    } else if (d.kind === "categorical") {
      pass.k.softmax_forward({ out: this.mean.buffer, x: out.value.buffer }, { rows, n: out.width });
    }
    return this.mean;
  }
}
