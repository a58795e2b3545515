/**
 * Polynomial programming (SPEC §4.1): minimise E_{D∼P_θ}[(1/L)·Σ_i |X_i − c_i|^p] over θ ∈ ℝ^{L×2}, with
 * X_i = D_i[0] and D_i ∼ Cat(softmax(θ_i)). The objective is separable, so its expectation and exact
 * gradient have closed forms: the task measures how far an estimator's training lands from the optimum.
 * @module
 */
import { type Backend, type DeviceBuffer, readF32 } from "./backend.ts";
import { BackendFailureError, ReinmaxInputError } from "./errors.ts";
import {
  enqueueBackward,
  enqueueSample,
  type Estimator,
  estimator,
  type EstimatorBuffers,
} from "./estimators.ts";
import { LossLog } from "./loss_log.ts";
import { adam, allocParameter, enqueueUpdate, type Optimizer, type ParameterSlot } from "./optim.ts";
import { randomStream, seedKey, TAG } from "./random.ts";
import { describe, requireInteger, requirePositive } from "./validate.ts";

/** The targets c: 0.45 everywhere ("const") or c_i = (i − 0.5)/L for i = 1..L ("linear"). */
export type PolyTarget = "const" | "linear";

/** Options of the polynomial-programming task. */
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

/** The targets c_i for `latents` variables. */
export function polyTargets(latents: number, target: PolyTarget): Float32Array {
  return Float32Array.from({ length: latents }, (_, i) => (target === "const" ? 0.45 : (i + 0.5) / latents));
}

/** The lowest expected loss any θ reaches: (1/L)·Σ_i min(|1 − c_i|^p, |c_i|^p), with P(X_i = 1) at 0 or 1. */
export function polyOptimum(c: Float32Array, p: number): number {
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

/** The exact expected loss (1/L)·Σ_i [q_i·|1 − c_i|^p + (1 − q_i)·|c_i|^p] at θ (L×2). */
export function polyExactLoss(theta: Float32Array, c: Float32Array, p: number): number {
  const q = probabilities(theta);
  let total = 0;
  for (let i = 0; i < q.length; i++) {
    total += q[i] * Math.abs(1 - c[i]) ** p + (1 - q[i]) * Math.abs(c[i]) ** p;
  }
  return total / q.length;
}

/** The exact gradient of {@link polyExactLoss} w.r.t. θ (L×2). */
export function polyExactGradient(theta: Float32Array, c: Float32Array, p: number): Float64Array {
  const q = probabilities(theta);
  const grad = new Float64Array(theta.length);
  for (let i = 0; i < q.length; i++) {
    const d = (q[i] * (1 - q[i]) * (Math.abs(1 - c[i]) ** p - Math.abs(c[i]) ** p)) / q.length;
    grad[2 * i] = d;
    grad[2 * i + 1] = -d;
  }
  return grad;
}

/** The task's parameters, gradients, optimiser state and activations, planned once on a backend. */
export class PolyProgramming {
  /** Where the task runs. */
  readonly backend: Backend;
  /** Number of variables L. */
  readonly latents: number;
  /** The exponent p. */
  readonly p: number;
  /** Which targets. */
  readonly target: PolyTarget;
  /** The gradient estimator. */
  readonly estimator: Estimator;
  /** The optimiser. */
  readonly optimizer: Optimizer;
  /** Samples per step. */
  readonly batch: number;
  /** Seed of every random draw. */
  readonly seed: number;
  /** The targets c (length L). */
  readonly targets: Float32Array;
  #steps = 0;
  readonly #theta: ParameterSlot;
  readonly #c: DeviceBuffer;
  readonly #loss: DeviceBuffer;
  readonly #buffers: EstimatorBuffers;
  readonly #log: LossLog;
  readonly #key: [number, number];
  readonly #yHard: DeviceBuffer;
  readonly #ySoft: DeviceBuffer;
  /** Bytes this task holds on the backend (parameters, gradients, optimiser state, activations). */
  readonly bytesAllocated: number;

  /** Plans the task on `backend` and initialises θ ∼ U(−0.01, 0.01) from the seed. */
  constructor(backend: Backend, options: PolyOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
    }
    this.backend = backend;
    const bytesBefore = backend.bytesAllocated;
    this.latents = requireInteger("latents", options.latents ?? 128, 1, 1 << 20);
    this.p = requirePositive("p", options.p ?? 2);
    const target = options.target ?? "const";
    if (target !== "const" && target !== "linear") {
      throw new ReinmaxInputError("target", `expected "const" or "linear", got ${describe(target)}`);
    }
    this.target = target;
    this.estimator = options.estimator ?? estimator("reinmax", { tau: 1 });
    this.optimizer = options.optimizer ?? adam({ lr: 1e-3 });
    this.batch = requireInteger("batch", options.batch ?? 64, 1, 1 << 20);
    this.seed = options.seed ?? 0;
    this.#key = seedKey(this.seed);
    const readEvery = requireInteger("readEvery", options.readEvery ?? 50, 1, 1 << 16);
    this.targets = polyTargets(this.latents, target);

    const rows = this.batch * this.latents, size = rows * 2;
    this.#theta = allocParameter(backend, this.latents * 2, "theta");
    this.#c = backend.alloc(this.latents, "c");
    this.#loss = backend.alloc(this.batch, "loss");
    this.#buffers = {
      dLogits: backend.alloc(size, "dLogits"),
      scratch: backend.alloc(size, "scratch"),
      logits: backend.alloc(size, "logits"),
      sample: backend.alloc(rows, "sample"),
      gHard: backend.alloc(size, "gHard"),
      gSoft: backend.alloc(size, "gSoft"), // stays zero: the loss does not depend on ySoft
    };
    this.#yHard = backend.alloc(size, "yHard");
    this.#ySoft = backend.alloc(size, "ySoft");
    this.#log = new LossLog(backend, readEvery, 1);
    this.bytesAllocated = backend.bytesAllocated - bytesBefore;

    backend.write(this.#c, this.targets);
    // θ ∼ U(−0.01, 0.01), drawn from the seed's own initialisation stream.
    const init = randomStream(this.seed, 0, TAG.init);
    backend.run(
      "uniform_fill",
      [this.#theta.param],
      [this.latents * 2, -0.01, 0.01, init.key0, init.key1, init.stream, init.tag],
    );
    backend.submit();
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.#steps;
  }

  /** Steps whose losses are still on the backend; `readLosses` must be called before this reaches `readEvery`. */
  get pendingLosses(): number {
    return this.#log.pending;
  }

  /** Loss values the backend can hold before a read (the `readEvery` option). */
  get readEvery(): number {
    return this.#log.capacity;
  }

  /** Enqueues one training step: sample, loss, estimator backward, gradient average, optimiser update. */
  step(): void {
    const { backend, batch, latents } = this;
    const rows = batch * latents;
    const b = this.#buffers;
    const rng = { key0: this.#key[0], key1: this.#key[1], stream: this.#steps, tag: TAG.estimator };
    backend.run("tile", [b.logits, this.#theta.param], [latents * 2, batch]);
    enqueueSample(backend, b.sample, b.logits, rows, 2, rng);
    backend.run("onehot_softmax", [this.#yHard, this.#ySoft, b.logits, b.sample], [rows, 2]);
    backend.run("poly_loss", [this.#loss, b.gHard, this.#yHard, this.#c], [batch, latents, this.p]);
    this.#log.record(this.#loss, batch);
    enqueueBackward(backend, this.estimator, b, rows, 2, rng);
    backend.run("sum_tiles", [this.#theta.grad, b.dLogits], [latents * 2, batch, 1 / batch]);
    this.#steps++;
    enqueueUpdate(backend, this.optimizer, this.#theta, this.#steps);
    backend.submit();
  }

  /** The mean sampled loss of every step since the last read, oldest first (no read-back when none). */
  async readLosses(): Promise<Float32Array> {
    if (this.#log.pending === 0) return new Float32Array(0);
    return (await this.#log.read()).losses;
  }

  /**
   * One read-back of the step losses since the last read and, computed on the backend at the current θ,
   * the exact expected loss.
   */
  async readProgress(): Promise<{ losses: Float32Array; exactLoss: number }> {
    const slot = this.#log.extraSlot(0);
    this.backend.run("poly_expected_loss", [this.#log.buffer, this.#theta.param, this.#c], [
      this.latents,
      this.p,
      slot,
    ]);
    const { losses, extras } = await this.#log.read();
    return { losses, exactLoss: extras[0] };
  }

  /** The current logits θ (L×2). */
  readTheta(): Promise<Float32Array> {
    return readF32(this.backend, this.#theta.param);
  }

  /** The exact expected loss at the current θ, computed here in float64 from a read of θ. */
  async exactLoss(): Promise<number> {
    return polyExactLoss(await this.readTheta(), this.targets, this.p);
  }

  /** Releases the backend memory of the task (not the backend). */
  destroy(): void {
    const t = this.#theta;
    for (const buffer of [t.param, t.grad, t.m, t.v, this.#c, this.#loss, this.#yHard, this.#ySoft]) {
      this.backend.free(buffer);
    }
    for (const buffer of Object.values(this.#buffers)) this.backend.free(buffer);
    this.#log.free();
  }
}

/** Progress of {@link trainPoly} at the end of an epoch. */
export interface PolyEpoch {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Steps taken so far. */
  readonly step: number;
  /** Mean sampled loss over this epoch's steps. */
  readonly loss: number;
  /** Exact expected loss at the end of the epoch. */
  readonly exactLoss: number;
  /** Wall-clock milliseconds per step over the run so far (read-backs included). */
  readonly msPerStep: number;
  /** Backend memory the task holds, planned once before the first step (bytes). */
  readonly bytesAllocated: number;
}

/** Options of {@link trainPoly}. */
export interface TrainPolyOptions extends PolyOptions {
  /** Total steps. Default 8000. */
  readonly steps?: number;
  /** Steps per reported epoch. Default 200. */
  readonly stepsPerEpoch?: number;
  /** Called with each step's sampled loss as it is read back (every `readEvery` steps). */
  readonly onLosses?: (firstStep: number, losses: Float32Array) => void;
}

/**
 * Trains the task and yields one record per epoch. A backend failure (e.g. a lost GPU) ends the run with a
 * {@link BackendFailureError} naming the step; the epochs already yielded are intact.
 */
export async function* trainPoly(
  backend: Backend,
  options: TrainPolyOptions = {},
): AsyncGenerator<PolyEpoch> {
  const steps = requireInteger("steps", options.steps ?? 8000, 1);
  const stepsPerEpoch = requireInteger("stepsPerEpoch", options.stepsPerEpoch ?? 200, 1);
  const task = new PolyProgramming(backend, options);
  const start = performance.now();
  let epochLoss = 0, epochSteps = 0, epoch = 0;
  // One read-back per `readEvery` steps; the one at an epoch's end also brings the exact loss.
  const drain = async (withExactLoss: boolean) => {
    const first = task.steps - task.pendingLosses;
    const progress = withExactLoss
      ? await task.readProgress()
      : { losses: await task.readLosses(), exactLoss: NaN };
    options.onLosses?.(first, progress.losses);
    for (const loss of progress.losses) epochLoss += loss;
    epochSteps += progress.losses.length;
    return progress.exactLoss;
  };
  try {
    for (let s = 1; s <= steps; s++) {
      try {
        task.step();
        const epochEnd = s % stepsPerEpoch === 0 || s === steps;
        if (!epochEnd && task.pendingLosses === task.readEvery) await drain(false);
        if (epochEnd) {
          const exactLoss = await drain(true);
          epoch++;
          const record: PolyEpoch = {
            epoch,
            step: s,
            loss: epochLoss / epochSteps,
            exactLoss,
            msPerStep: (performance.now() - start) / s,
            bytesAllocated: task.bytesAllocated,
          };
          epochLoss = 0;
          epochSteps = 0;
          yield record;
        }
      } catch (e) {
        throw e instanceof BackendFailureError && e.step < 0 ? e.atStep(s) : e;
      }
    }
  } finally {
    task.destroy();
  }
}
