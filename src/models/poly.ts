/**
 * Polynomial programming (docs/math.md §6.1): minimise E_{D∼P_θ}[(1/L)·Σ_i |X_i − c_i|^p] over θ ∈ ℝ^{L×2}, with
 * X_i = D_i[0] and D_i ∼ Cat(softmax(θ_i)). The objective is separable, so its expectation and exact
 * gradient have closed forms: the task measures how far an estimator's training lands from the optimum.
 * @module
 */
import { type Backend, readF32 } from "../backend.ts";
import { ReinmaxInputError } from "../errors.ts";
import { checkEstimator, type Estimator, estimator, type EstimatorName } from "../estimators.ts";
import { adam, type Optimizer } from "../optim.ts";
import { TAG } from "../random.ts";
import {
  describe,
  requireAllFinite,
  requireFloat32Array,
  requireInteger,
  requirePositive,
} from "../validate.ts";
import { type ModelDescription, type Parameter, requireOptions, TrainableModel } from "./model.ts";
import type { PlannedBuffer } from "./plan.ts";

/** The `estimator` parameter of the poly_step kernel for each estimator (STGS is the Gumbel family at k = 1). */
export const POLY_STEP_ESTIMATOR: Readonly<Record<EstimatorName, number>> = {
  reinmax: 0,
  st: 1,
  gst: 2,
  stgs: 3,
  grmck: 3,
};

/**
 * The targets c: 0.45 everywhere ("const") or c_i = (i − 0.5)/L for i = 1..L ("linear").
 *
 * @example
 * ```ts
 * import { type PolyTarget, trainPoly, selectBackend } from "@reinmax/reinmax";
 * const target: PolyTarget = "linear"; // c_i = (i + ½)/L
 * for await (const e of trainPoly(await selectBackend(), { target, steps: 400 })) console.log(e.exactLoss);
 * ```
 */
export type PolyTarget = "const" | "linear";

/**
 * Options of the polynomial-programming task.
 *
 * @example
 * ```ts
 * import { estimator, PolyProgramming, type PolyOptions, selectBackend } from "@reinmax/reinmax";
 * const options: PolyOptions = { latents: 128, p: 3, estimator: estimator("reinmax", { tau: 1 }), batch: 64 };
 * const task = new PolyProgramming(await selectBackend(), options);
 * ```
 */
export interface PolyOptions {
  /** Number of binary variables L. Default 128. */
  readonly latents?: number;
  /** The exponent p (> 0; the paper uses 1.5, 2, 3). Default 2. */
  readonly p?: number;
  /** The targets c. Default "const". */
  readonly target?: PolyTarget;
  /** The gradient estimator. Default ReinMax at τ = 1. */
  readonly estimator?: Estimator;
  /** The optimiser. Default Adam, lr 1e-3. */
  readonly optimizer?: Optimizer;
  /** Samples per step. Default 64. */
  readonly batch?: number;
  /** Seed of every random draw (initialisation and samples). Default 0. */
  readonly seed?: number;
  /** Losses are read back from the backend once every this many steps. Default 50. */
  readonly readEvery?: number;
}

function requireTarget(target: unknown): PolyTarget {
  if (target !== "const" && target !== "linear") {
    throw new ReinmaxInputError("target", `expected "const" or "linear", got ${describe(target)}`);
  }
  return target;
}

function checkTargets(c: unknown, p: unknown): void {
  const targets = requireFloat32Array("c", c);
  if (targets.length === 0) throw new ReinmaxInputError("c", "expected at least one target");
  requireAllFinite("c", targets);
  requirePositive("p", p);
}

/** θ holds finite logit pairs, one per target (L×2 for L targets). */
function checkTheta(theta: unknown, c: unknown, p: unknown): void {
  checkTargets(c, p);
  requireAllFinite("theta", requireFloat32Array("theta", theta, 2 * (c as Float32Array).length));
}

/**
 * The targets c_i for `latents` variables.
 *
 * @example
 * ```ts
 * import { polyTargets } from "@reinmax/reinmax";
 * console.log(polyTargets(4, "linear")); // Float32Array [0.125, 0.375, 0.625, 0.875]
 * ```
 */
export function polyTargets(latents: number, target: PolyTarget): Float32Array {
  requireInteger("latents", latents, 1, 1 << 20);
  requireTarget(target);
  return Float32Array.from({ length: latents }, (_, i) => (target === "const" ? 0.45 : (i + 0.5) / latents));
}

/**
 * The lowest expected loss any θ reaches: (1/L)·Σ_i min(|1 − c_i|^p, |c_i|^p), with P(X_i = 1) at 0 or 1.
 *
 * @example
 * ```ts
 * import { polyOptimum, polyTargets } from "@reinmax/reinmax";
 * console.log(polyOptimum(polyTargets(128, "const"), 2)); // 0.2025 = 0.45², every P(X = 1) → 0
 * ```
 */
export function polyOptimum(c: Float32Array, p: number): number {
  checkTargets(c, p);
  let total = 0;
  for (const ci of c) total += Math.min(Math.abs(1 - ci) ** p, Math.abs(ci) ** p);
  return total / c.length;
}

/** P(X_i = 1) = softmax(θ_i)[0] for each variable. */
function probabilities(theta: Float32Array): Float64Array {
  const q = new Float64Array(theta.length / 2);
  for (let i = 0; i < q.length; i++) q[i] = 1 / (1 + Math.exp(theta[2 * i + 1] - theta[2 * i]));
  return q;
}

/**
 * The exact expected loss (1/L)·Σ_i [q_i·|1 − c_i|^p + (1 − q_i)·|c_i|^p] at θ (L×2).
 *
 * @example
 * ```ts
 * import { polyExactLoss, polyTargets } from "@reinmax/reinmax";
 * const theta = new Float32Array(2 * 128); // equal logits: every P(X = 1) = ½
 * console.log(polyExactLoss(theta, polyTargets(128, "const"), 2)); // ½·0.55² + ½·0.45² = 0.2525
 * ```
 */
export function polyExactLoss(theta: Float32Array, c: Float32Array, p: number): number {
  checkTheta(theta, c, p);
  const q = probabilities(theta);
  let total = 0;
  for (let i = 0; i < q.length; i++) {
    total += q[i] * Math.abs(1 - c[i]) ** p + (1 - q[i]) * Math.abs(c[i]) ** p;
  }
  return total / q.length;
}

/**
 * The exact gradient of {@link polyExactLoss} w.r.t. θ (L×2).
 *
 * @example
 * ```ts
 * import { polyExactGradient, polyTargets } from "@reinmax/reinmax";
 * const grad = polyExactGradient(new Float32Array(2 * 128), polyTargets(128, "const"), 2);
 * console.log(grad[0] > 0, grad[0] === -grad[1]); // true true: descent lowers P(X = 1)
 * ```
 */
export function polyExactGradient(theta: Float32Array, c: Float32Array, p: number): Float64Array {
  checkTheta(theta, c, p);
  const q = probabilities(theta);
  const grad = new Float64Array(theta.length);
  for (let i = 0; i < q.length; i++) {
    const d = (q[i] * (1 - q[i]) * (Math.abs(1 - c[i]) ** p - Math.abs(c[i]) ** p)) / q.length;
    grad[2 * i] = d;
    grad[2 * i + 1] = -d;
  }
  return grad;
}

/**
 * The task's parameters, gradients, optimiser state and activations, planned once on a backend.
 *
 * @example
 * ```ts
 * import { PolyProgramming, selectBackend } from "@reinmax/reinmax";
 * const task = new PolyProgramming(await selectBackend({ prefer: "wasm" }), { p: 2, readEvery: 50 });
 * for (let i = 0; i < 50; i++) task.step(); // forward, backward and update, enqueued
 * console.log(await task.readLosses(), await task.exactLoss()); // the 50 sampled losses; F(θ) now
 * task.destroy();
 * ```
 */
export class PolyProgramming extends TrainableModel {
  /** Number of variables L. */
  readonly latents: number;
  /** The exponent p. */
  readonly p: number;
  /** Which targets. */
  readonly target: PolyTarget;
  /** The gradient estimator. */
  readonly estimator: Estimator;
  /** Samples per step. */
  readonly batch: number;
  /** The targets c (length L). */
  readonly targets: Float32Array;
  readonly #theta: Parameter;
  readonly #c: PlannedBuffer;
  readonly #loss: PlannedBuffer;
  readonly #sample: PlannedBuffer;

  /** Plans the task on `backend` and initialises θ ∼ U(−0.01, 0.01) from the seed. */
  constructor(backend: Backend, options: PolyOptions = {}) {
    const o = requireOptions(options) as PolyOptions;
    super(backend, o.optimizer ?? adam({ lr: 1e-3 }), o.seed ?? 0);
    this.latents = requireInteger("latents", o.latents ?? 128, 1, 1 << 20);
    this.p = requirePositive("p", o.p ?? 2);
    this.target = requireTarget(o.target ?? "const");
    const target = this.target;
    this.estimator = o.estimator === undefined
      ? estimator("reinmax", { tau: 1 })
      : checkEstimator(o.estimator);
    this.batch = requireInteger("batch", o.batch ?? 64, 1, 1 << 20);
    const readEvery = requireInteger("readEvery", o.readEvery ?? 50, 1, 1 << 16);
    this.targets = polyTargets(this.latents, target);

    const plan = this.plan;
    plan.defaultSize = { formula: "batch × latents", argument: "batch" };
    this.#theta = this.declareParameter("theta", [this.latents, 2], 0.01, {
      formula: "latents × 2",
      argument: "latents",
    });
    this.#c = plan.declare("c", this.latents, "input", { formula: "latents", argument: "latents" });
    this.#sample = plan.declare("sample", this.batch * this.latents, "activation");
    // Per latent, the batch mean of its loss term: the step's loss is their mean.
    this.#loss = plan.declare("loss", this.latents, "activation", {
      formula: "latents",
      argument: "latents",
    });
    // One extra slot: the exact expected loss, computed on the backend at read-backs.
    this.declareLog(["loss"], readEvery, 1);
    this.allocate(() => backend.write(this.#c.buffer, this.targets));
  }

  /** The kind and options that rebuild this task (for checkpoints). */
  describe(): ModelDescription {
    return {
      model: "poly",
      options: {
        latents: this.latents,
        p: this.p,
        target: this.target,
        batch: this.batch,
        seed: this.seed,
        readEvery: this.log.capacity,
      },
      estimator: this.estimator,
    };
  }

  /** Steps whose losses are still on the backend; `readLosses` must be called before this reaches `readEvery`. */
  get pendingLosses(): number {
    return this.log.pending;
  }

  /** Loss values the backend can hold before a read (the `readEvery` option). */
  get readEvery(): number {
    return this.log.capacity;
  }

  /**
   * Enqueues the forward and backward pass of the next step as one kernel (poly_step): sample, loss, the
   * estimator's backward and the batch mean into θ's gradient, in one pass over the rows.
   */
  forwardBackward(): void {
    const { backend, batch, latents, estimator: est } = this;
    backend.run(
      "poly_step",
      [
        this.#sample.buffer,
        this.#loss.buffer,
        this.#theta.grad.buffer,
        this.#theta.value.buffer,
        this.#c.buffer,
      ],
      [
        batch,
        latents,
        this.p,
        POLY_STEP_ESTIMATOR[est.name],
        est.tau,
        est.gap,
        est.k,
        this.key[0],
        this.key[1],
        this.steps,
        TAG.estimator,
      ],
    );
    this.log.record(0, this.#loss, latents);
    this.log.endStep();
  }

  /** Enqueues one whole training step (forward, backward, optimiser update) as one submit. */
  step(): void {
    this.forwardBackward();
    this.update();
  }

  /** The mean sampled loss of every step since the last read, oldest first (no read-back when none). */
  async readLosses(): Promise<Float32Array> {
    if (this.log.pending === 0) return new Float32Array(0);
    return (await this.log.read()).channels[0];
  }

  /** Enqueues the exact expected loss at the current θ into the log's first extra slot. */
  enqueueExactLoss(): void {
    this.backend.run(
      "poly_expected_loss",
      [this.log.buffer.buffer, this.#theta.value.buffer, this.#c.buffer],
      [this.latents, this.p, this.log.extraSlot(0)],
    );
  }

  /**
   * One read-back of the step losses since the last read and, computed on the backend at the current θ,
   * the exact expected loss.
   */
  async readProgress(): Promise<{ losses: Float32Array; exactLoss: number }> {
    this.enqueueExactLoss();
    const { channels, extras } = await this.log.read();
    return { losses: channels[0], exactLoss: extras[0] };
  }

  /** The current logits θ (L×2). */
  readTheta(): Promise<Float32Array> {
    return readF32(this.backend, this.#theta.value.buffer);
  }

  /** The exact expected loss at the current θ, computed here in float64 from a read of θ. */
  async exactLoss(): Promise<number> {
    return polyExactLoss(await this.readTheta(), this.targets, this.p);
  }
}
