/**
 * What every trainable model shares: a memory plan, parameters with their gradient and optimiser state, the
 * loss log, the step counter, and its state on the host (read, written, described for checkpoints). A
 * model's own code declares its buffers and enqueues its forward and backward passes; the training layer
 * (src/train/) drives it and guards the run, the checkpoint layer (src/checkpoint/) saves and loads it.
 * @module
 */
import { type Backend, readF32 } from "../backend.ts";
import { BackendFailureError, cleanUp, ReinmaxInputError } from "../errors.ts";
import type { Estimator } from "../estimators.ts";
import { type Launcher, launcher } from "../launcher.ts";
import { checkOptimizer, enqueueUpdate, type Optimizer } from "../optim.ts";
import { randomStream, seedKey, TAG } from "../random.ts";
import { describe, requireAllFinite, requireBackend, requireInteger } from "../validate.ts";
import { healthSlot, LossLog } from "./loss_log.ts";
import {
  type BufferSize,
  formatMemoryReport,
  MemoryPlan,
  type MemoryReport,
  type Parameter,
  type PlannedBuffer,
} from "../memory_plan.ts";

export type { Parameter };

/**
 * What training needs to continue, on the host: see {@link TrainableModel.readState}.
 *
 * @example
 * ```ts
 * import { CategoricalVae, type ModelState, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const state: ModelState = await model.readState(); // step, parameters and moments, stream positions
 * const copy = new CategoricalVae(await selectBackend({ prefer: "wasm" }), { config: "8x4" });
 * copy.writeState(state); // continues from the same point, on any backend
 * ```
 */
export interface ModelState {
  /** Training steps taken. */
  readonly step: number;
  /** Every parameter and its Adam moments, by label. */
  readonly tensors: ReadonlyMap<string, Float32Array>;
  /** Positions of the model's random streams beyond the step, e.g. draws made outside training. */
  readonly counters?: Readonly<Record<string, number>>;
}

/**
 * What a checkpoint records of a model: its kind and the options that rebuild it.
 *
 * @example
 * ```ts
 * import { CategoricalVae, type ModelDescription, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const d: ModelDescription = model.describe();
 * console.log(d.model, d.options, d.estimator); // "categorical" { categories: 8, latents: 4, … } { name: "reinmax", … }
 * ```
 */
export interface ModelDescription {
  /** "categorical", "bernoulli", "poly" or "declared" (a DiscreteModel). */
  readonly model: string;
  /** The options of its constructor, as plain JSON values (the estimator and optimiser separately). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Its gradient estimator, when it has one. */
  readonly estimator?: Estimator;
}

/**
 * The base of every trainable model; see the module comment.
 *
 * @example
 * ```ts
 * import { loadCheckpoint, saveCheckpoint, selectBackend, type TrainableModel } from "@reinmax/reinmax";
 * const bytes = await Deno.readFile("run.safetensors");
 * const model: TrainableModel = loadCheckpoint(bytes, await selectBackend(), "run.safetensors").model;
 * console.log(model.steps, model.formatMemory()); // every model has a step count, a memory plan, a state
 * await Deno.writeFile("copy.safetensors", await saveCheckpoint(model));
 * ```
 */
export abstract class TrainableModel {
  /** Where the model lives. */
  readonly backend: Backend;
  /** Every buffer the model holds, by label and role. */
  readonly plan: MemoryPlan = new MemoryPlan();
  /** The optimiser. */
  readonly optimizer: Optimizer;
  /** Seed of every random draw (initialisation, samples, data order). */
  readonly seed: number;
  /** The Philox key of the seed. */
  protected readonly key: readonly [number, number];
  /** The backend's kernels, by name. */
  protected readonly k: Launcher;
  #log: LossLog | null = null;
  #steps = 0;
  #destroyed = false;

  /** Checks the optimiser and seed; the subclass then declares its buffers and calls {@link allocate}. */
  protected constructor(backend: Backend, optimizer: Optimizer, seed: number) {
    this.backend = requireBackend(backend);
    this.optimizer = checkOptimizer(optimizer);
    this.key = seedKey(seed);
    this.seed = seed;
    this.k = launcher(backend);
  }

  /**
   * Declares a parameter of `shape` with its gradient, moments and snapshot copies (`size` says how its length
   * follows from the user's options).
   */
  protected declareParameter(
    label: string,
    shape: readonly number[],
    initBound: number,
    size?: BufferSize,
  ): Parameter {
    return this.plan.declareParameter(label, shape, initBound, size);
  }

  /**
   * Declares the loss log: one ring per channel holding `readEvery` steps, a slot for each of the model's own
   * read-back metrics (`metrics`), and a health slot per parameter for the run guard (declare the
   * parameters first).
   */
  protected declareLog(
    channels: readonly string[],
    readEvery: number,
    metrics: readonly string[] = [],
  ): LossLog {
    const health = this.plan.parameters.map((p) => healthSlot(p.label));
    this.#log = new LossLog(this.backend, this.plan, "lossLog", channels, readEvery, [...metrics, ...health]);
    return this.#log;
  }

  /**
   * Allocates the plan (all or nothing), draws every parameter from U(−bound, bound) with its own stream of
   * the seed's initialisation draws, and runs `initialise` (e.g. writing constants); if any of it fails, the
   * plan is freed again.
   */
  protected allocate(initialise: () => void = () => {}): void {
    this.plan.allocate(this.backend);
    try {
      this.plan.parameters.forEach((p, i) => {
        const init = randomStream(this.seed, i, TAG.init);
        this.k.uniform_fill({ out: p.value.buffer }, {
          count: p.length,
          low: p.initCentre - p.initBound,
          high: p.initCentre + p.initBound,
          ...init,
        });
      });
      initialise();
      this.backend.submit();
    } catch (error) {
      // A constructor that throws leaves nothing allocated behind it.
      cleanUp({ error }, () => this.plan.free());
      throw error;
    }
  }

  /** The parameters, in declaration order. */
  get parameters(): readonly Parameter[] {
    return this.plan.parameters;
  }

  /** The loss log. */
  get log(): LossLog {
    if (!this.#log) throw new Error("the model declared no loss log");
    return this.#log;
  }

  /** Training steps taken (optimiser updates applied). */
  get steps(): number {
    return this.#steps;
  }

  /** Bytes this model holds on the backend. */
  get bytesAllocated(): number {
    return this.plan.report().total;
  }

  /** Whether {@link destroy} has released the model's memory. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Bytes by role: parameters, gradients, optimiser state, activations, inputs, metrics, snapshots. */
  memoryReport(): MemoryReport {
    return this.plan.report();
  }

  /** The memory report in one line. */
  formatMemory(): string {
    return formatMemoryReport(this.plan.report());
  }

  /** Throws a typed error naming the model when it has been destroyed; every use of its memory checks this. */
  protected requireAlive(): void {
    if (this.#destroyed) {
      throw new ReinmaxInputError(
        "model",
        `this ${this.describe().model} model was destroyed (model.destroy()); create a new one`,
      );
    }
  }

  /** Enqueues zeroing of every gradient (the backward kernels accumulate). */
  protected zeroGradients(): void {
    for (const p of this.plan.parameters) this.k.fill({ out: p.grad.buffer }, { count: p.length, value: 0 });
  }

  /**
   * Enqueues the optimiser update of every parameter from the gradients the last forward-backward left, and
   * submits the step. `steps` counts it.
   */
  update(): void {
    this.requireAlive();
    const t = this.#steps + 1;
    for (const p of this.plan.parameters) {
      enqueueUpdate(this.k, this.optimizer, {
        param: p.value.buffer,
        grad: p.grad.buffer,
        m: p.expAvg.buffer,
        v: p.expAvgSq.buffer,
        length: p.length,
      }, t);
    }
    this.#steps = t;
    this.backend.submit();
  }

  /**
   * Sets the step counter back to `step` and forgets unread losses: the run guard (src/train/) calls it when
   * it puts back a snapshot of the state after that step.
   * @internal
   */
  rewind(step: number): void {
    this.#steps = step;
    this.log.discardPending();
  }

  /**
   * A host copy of what training needs to continue: every parameter with Adam's moments, by label
   * (`label`, `label.exp_avg`, `label.exp_avg_sq`), and the step. Everything is read in one round trip.
   */
  async readState(): Promise<ModelState> {
    this.requireAlive();
    const steps = this.#steps;
    const entries = this.plan.parameters.flatMap((p) => [p.value, p.expAvg, p.expAvgSq]);
    const values = await Promise.all(entries.map((e) => readF32(this.backend, e.buffer)));
    return {
      step: steps,
      tensors: new Map(entries.map((e, i) => [e.label, values[i]])),
      counters: this.counters(),
    };
  }

  /**
   * Puts a state from {@link readState} — of this model or of one with the same configuration, e.g. on
   * another backend after a device was lost — into the model, which then continues from its step. Every
   * tensor is checked (present, right length, finite; Adam's second moment not negative) and copied before
   * anything is written, so a bad state leaves the model as it was.
   */
  writeState(state: ModelState): void {
    this.requireAlive();
    if (typeof state !== "object" || state === null || !(state.tensors instanceof Map)) {
      throw new ReinmaxInputError("state", `expected a state from readState(), got ${describe(state)}`);
    }
    requireInteger("state.step", state.step, 0, 2 ** 32 - 1);
    const entries = this.plan.parameters.flatMap((p) => [p.value, p.expAvg, p.expAvgSq]);
    const copies = new Map<PlannedBuffer, Float32Array>();
    for (const e of entries) {
      const values = state.tensors.get(e.label);
      if (!(values instanceof Float32Array) || values.length !== e.length) {
        throw new ReinmaxInputError(
          "state",
          `tensor "${e.label}": expected a Float32Array of ${e.length} values, got ${describe(values)}` +
            (values instanceof Float32Array ? ` of ${values.length}` : ""),
        );
      }
      // A copy, so that a buffer shared with another thread cannot change between the checks and the write
      // (and so that SharedArrayBuffer-backed arrays reach every backend as plain ones).
      const copy = new Float32Array(values);
      requireAllFinite(`state "${e.label}"`, copy);
      if (e.label.endsWith(".exp_avg_sq")) {
        const negative = copy.findIndex((v) => v < 0);
        if (negative >= 0) {
          throw new ReinmaxInputError(
            "state",
            `tensor "${e.label}": Adam's second moment must be >= 0, got ${
              copy[negative]
            } at index ${negative}`,
          );
        }
      }
      copies.set(e, copy);
    }
    const counters = state.counters ?? {};
    if (typeof counters !== "object" || counters === null) {
      throw new ReinmaxInputError(
        "state.counters",
        `expected an object of counts, got ${describe(counters)}`,
      );
    }
    for (const [name, value] of Object.entries(counters)) requireInteger(`state.counters.${name}`, value, 0);
    this.#checkBackendUsable();
    for (const [e, copy] of copies) this.backend.write(e.buffer, copy);
    this.setCounters(counters);
    this.#steps = state.step;
    this.log.discardPending();
  }

  /** A lost or destroyed backend is named as such before any write, so a valid state is not blamed. */
  #checkBackendUsable(): void {
    try {
      this.backend.submit();
    } catch (e) {
      if (e instanceof BackendFailureError) throw e;
      throw new BackendFailureError(this.backend.name, (e as Error).message, -1, { cause: e });
    }
  }

  /** Positions of random streams beyond the step (a VAE's draws outside training); saved with the state. */
  protected counters(): Record<string, number> {
    return {};
  }

  /**
   * Restores what {@link counters} returned.
   * @internal
   */
  protected setCounters(_counters: Readonly<Record<string, number>>): void {}

  /** The model's kind and options, for checkpoints. */
  abstract describe(): ModelDescription;

  /** Releases the model's backend memory (not the backend); the model is unusable afterwards. */
  destroy(): void {
    this.#destroyed = true;
    this.plan.free();
  }
}

/** Checks that `options` is an object (or absent) before its fields are read. */
export function requireOptions<T extends object>(options: T | undefined): T | Record<string, never> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) {
    throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
  }
  return options;
}
