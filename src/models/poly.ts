/**
 * Polynomial programming (docs/math.md §6.1): minimise E_{D∼P_θ}[(1/L)·Σ_i |X_i − c_i|^p] over θ ∈ ℝ^{L×2}, with
 * X_i = D_i[0] and D_i ∼ Cat(softmax(θ_i)). The objective is separable, so its expectation and exact
 * gradient have closed forms: the task measures how far an estimator's training lands from the optimum.
 * @module
 */
import { type Backend, readF32 } from "../backend.ts";
import { ReinmaxInputError } from "../errors.ts";
import {
  enqueueBackward,
  enqueueSample,
  type Estimator,
  ESTIMATORS,
  modelEstimator,
  requirePathwise,
} from "../estimators.ts";
import { adam, type Optimizer, radam } from "../optim.ts";
import { TAG } from "../random.ts";
import {
  describe,
  requireAllFinite,
  requireFloat32Array,
  requireInteger,
  requirePositive,
} from "../validate.ts";
import { type ModelDescription, type Parameter, requireOptions, TrainableModel } from "./model.ts";
import type { PlannedBuffer } from "../memory_plan.ts";

/** The loss log's slot of the exact expected loss. */
const EXACT_LOSS = "exactLoss";

/** The extra buffers of a step run as separate kernels, all batch × latents × 2. */
interface UnfusedBuffers {
  readonly logits: PlannedBuffer;
  readonly yHard: PlannedBuffer;
  readonly ySoft: PlannedBuffer;
  readonly gHard: PlannedBuffer;
  readonly gSoft: PlannedBuffer;
  readonly dLogits: PlannedBuffer;
  readonly scratch: PlannedBuffer;
}

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
 * The paper's settings of polynomial programming (docs/math.md §6.1): its optimiser, learning rate and τ, the
 * defaults of {@link PolyProgramming}.
 *
 * @example
 * ```ts
 * import { POLY_SETTINGS } from "@reinmax/reinmax";
 * console.log(POLY_SETTINGS); // { optimizer: "adam", lr: 0.001, tau: 1 }
 * ```
 */
export const POLY_SETTINGS: {
  readonly optimizer: "adam" | "radam";
  readonly lr: number;
  readonly tau: number;
} = { optimizer: "adam", lr: 1e-3, tau: 1 };

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
  /**
   * Run a step as the one fused kernel poly_step (true) or as the separate kernels of docs/math.md §6.1
   * (false), which give the same samples and gradients and serve estimators the fused kernel lacks. Default:
   * fused when the estimator's row of the table has a poly_step code.
   */
  readonly fused?: boolean;
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
  /** Whether a step is the fused kernel (see {@link PolyOptions.fused}). */
  readonly fused: boolean;
  readonly #theta: Parameter;
  readonly #c: PlannedBuffer;
  readonly #loss: PlannedBuffer;
  readonly #sample: PlannedBuffer;
  /** The buffers of the unfused step, when it is unfused. */
  readonly #unfused: UnfusedBuffers | null;

  /** Plans the task on `backend` and initialises θ ∼ U(−0.01, 0.01) from the seed. */
  constructor(backend: Backend, options: PolyOptions = {}) {
    const o = requireOptions(options) as PolyOptions;
    const defaults = POLY_SETTINGS;
    super(
      backend,
      o.optimizer ?? (defaults.optimizer === "adam" ? adam : radam)({ lr: defaults.lr }),
      o.seed ?? 0,
    );
    this.latents = requireInteger("latents", o.latents ?? 128, 1, 1 << 20);
    this.p = requirePositive("p", o.p ?? 2);
    this.target = requireTarget(o.target ?? "const");
    const target = this.target;
    this.estimator = requirePathwise(
      modelEstimator(o.estimator, defaults.tau),
      "estimator",
      "polynomial programming",
    );
    const polyStep = ESTIMATORS[this.estimator.name].polyStep;
    if (o.fused !== undefined && typeof o.fused !== "boolean") {
      throw new ReinmaxInputError("fused", `expected true or false, got ${describe(o.fused)}`);
    }
    if (o.fused === true && polyStep === null) {
      throw new ReinmaxInputError("fused", `the fused poly_step has no form of ${this.estimator.name}`);
    }
    this.fused = o.fused ?? polyStep !== null;
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
    // Fused: per latent, the batch mean of its loss term. Unfused: per sample, the mean over the latents.
    // Either way the step's loss is their mean.
    this.#loss = this.fused
      ? plan.declare("loss", this.latents, "activation", { formula: "latents", argument: "latents" })
      : plan.declare("loss", this.batch, "activation", { formula: "batch", argument: "batch" });
    const pairs = (label: string) => plan.declare(label, this.batch * this.latents * 2, "activation");
    this.#unfused = this.fused ? null : {
      logits: pairs("logits"),
      yHard: pairs("yHard"),
      ySoft: pairs("ySoft"),
      gHard: pairs("yHard.grad"),
      gSoft: pairs("ySoft.grad"),
      dLogits: pairs("logits.grad"),
      scratch: pairs("estimator.scratch"),
    };
    // The exact expected loss, computed on the backend at read-backs, rides in a slot of the log.
    this.declareLog(["loss"], readEvery, [EXACT_LOSS]);
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

  /** The step's random stream: the sample of every row and the estimator's draws. */
  #stream() {
    return { key0: this.key[0], key1: this.key[1], stream: this.steps, tag: TAG.estimator };
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
   * Enqueues the forward and backward pass of the next step: sample, loss, the estimator's backward and the
   * batch mean into θ's gradient — as one kernel (poly_step) when fused, one pass over the rows.
   */
  forwardBackward(): void {
    this.requireAlive();
    const { k, batch, latents, estimator: est } = this;
    const rng = this.#stream();
    const theta = this.#theta;
    if (this.#unfused) this.#unfusedStep(this.#unfused);
    else {
      k.poly_step(
        {
          sample: this.#sample.buffer,
          loss: this.#loss.buffer,
          dTheta: theta.grad.buffer,
          theta: theta.value.buffer,
          c: this.#c.buffer,
        },
        {
          batch,
          latents,
          p: this.p,
          estimator: ESTIMATORS[est.name].polyStep!,
          tau: est.tau,
          gap: est.gap,
          k: est.k,
          ...rng,
        },
      );
    }
    this.log.record(0, this.#loss, this.fused ? latents : batch);
    this.log.endStep();
  }

  /**
   * docs/math.md §6.1 step by step: θ tiled over the batch, a sample per row, the loss and its gradient at the
   * one-hot samples, the estimator's backward (gSoft = 0: the loss does not see the soft output) and the
   * batch mean into θ's gradient.
   */
  #unfusedStep(u: UnfusedBuffers): void {
    const { k, batch, latents } = this;
    const rows = batch * latents, rng = this.#stream();
    k.tile({ out: u.logits.buffer, x: this.#theta.value.buffer }, { count: 2 * latents, times: batch });
    enqueueSample(k, this.#sample.buffer, u.logits.buffer, { rows, n: 2 }, rng);
    k.onehot_softmax(
      { yHard: u.yHard.buffer, ySoft: u.ySoft.buffer, logits: u.logits.buffer, sample: this.#sample.buffer },
      { rows, n: 2 },
    );
    k.poly_loss(
      { loss: this.#loss.buffer, gHard: u.gHard.buffer, yHard: u.yHard.buffer, c: this.#c.buffer },
      { batch, latents, p: this.p },
    );
    enqueueBackward(
      k,
      this.estimator,
      {
        dLogits: u.dLogits.buffer,
        scratch: u.scratch.buffer,
        logits: u.logits.buffer,
        sample: this.#sample.buffer,
        gHard: u.gHard.buffer,
        gSoft: u.gSoft.buffer,
      },
      { rows, n: 2 },
      rng,
    );
    k.sum_tiles({ out: this.#theta.grad.buffer, x: u.dLogits.buffer }, {
      count: 2 * latents,
      times: batch,
      scale: 1 / batch,
    });
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
    this.k.poly_expected_loss(
      { out: this.log.buffer.buffer, theta: this.#theta.value.buffer, c: this.#c.buffer },
      { latents: this.latents, p: this.p, index: this.log.slot(EXACT_LOSS) },
    );
  }

  /**
   * One read-back of the step losses since the last read and, computed on the backend at the current θ,
   * the exact expected loss.
   */
  async readProgress(): Promise<{ losses: Float32Array; exactLoss: number }> {
    this.enqueueExactLoss();
    const { channels, slots } = await this.log.read();
    return { losses: channels[0], exactLoss: slots.get(EXACT_LOSS)! };
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
