/**
 * The memory plan of a model: one table of every buffer it holds on the backend (label, length, role),
 * declared first and allocated together, the way llm.c plans its memory. The memory report, the trainer's
 * snapshots and health checks, checkpoints and the tests all walk this one table.
 * @module
 */
import { allocateAll, type BufferSize } from "./allocation.ts";
import type { Backend, DeviceBuffer } from "./backend.ts";
import { ReinmaxInputError } from "./errors.ts";

export type { BufferSize };

/**
 * What a buffer holds.
 *
 * @example
 * ```ts
 * import { type BufferRole, CategoricalVae, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const role: BufferRole = "activation";
 * console.log(model.plan.withRole(role).map((b) => b.label));
 * ```
 */
export type BufferRole =
  /** Trained values (weights, biases, logits). */
  | "parameter"
  /** ∂loss/∂parameter of the current step, one per parameter. */
  | "gradient"
  /** Optimiser state (Adam's moments), one pair per parameter. */
  | "optimizer"
  /** Values a step computes and its backward reads: layer inputs and outputs, their gradients, samples. */
  | "activation"
  /** Data written by the host every step (an image batch). */
  | "input"
  /** Losses and metrics kept on the backend between read-backs. */
  | "metric"
  /** The trainer's copy of parameters and optimiser state at the last good read-back. */
  | "snapshot";

/** Every role, in the order a memory report lists them. */
export const BUFFER_ROLES: readonly BufferRole[] = [
  "parameter",
  "gradient",
  "optimizer",
  "activation",
  "input",
  "metric",
  "snapshot",
];

/**
 * One row of the table; `buffer` is usable once the plan is allocated.
 *
 * @example
 * ```ts
 * import { CategoricalVae, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const weight = model.plan.get("encoder.fc1.weight"); // a PlannedBuffer
 * console.log(weight.length, weight.role, weight.size.formula); // 401408 "parameter" …
 * ```
 */
export class PlannedBuffer {
  #buffer: DeviceBuffer | null = null;
  #freed = false;
  /** @internal Created by {@link MemoryPlan.declare}. */
  constructor(
    /** The buffer's name, unique in its plan, e.g. `"encoder.fc1.weight"`. */
    readonly label: string,
    /** Number of 4-byte elements. */
    readonly length: number,
    /** What it holds. */
    readonly role: BufferRole,
    /** How its length follows from the user's options. */
    readonly size: BufferSize,
  ) {}

  /**
   * The backend buffer. Throws before the plan is allocated, and after it is freed a ReinmaxInputError
   * (argument "model"): the model that planned it was destroyed.
   */
  get buffer(): DeviceBuffer {
    if (this.#buffer) return this.#buffer;
    if (this.#freed) {
      throw new ReinmaxInputError(
        "model",
        `the model was destroyed (model.destroy()), and its buffer "${this.label}" with it; create a new model`,
      );
    }
    throw new Error(`buffer "${this.label}" is not allocated`);
  }

  /** @internal */
  bind(buffer: DeviceBuffer | null): void {
    this.#freed = buffer === null && this.#buffer !== null;
    this.#buffer = buffer;
  }
}

/**
 * A parameter tensor with everything the optimiser and the trainer keep for it: its value, its gradient, Adam's
 * two moments and the run guard's copies of those three, all rows of the plan.
 *
 * @example
 * ```ts
 * import { CategoricalVae, type Parameter, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "8x4" });
 * const parameters: readonly Parameter[] = model.parameters;
 * for (const p of parameters) console.log(p.label, p.shape); // encoder.fc1.weight [784, 512] …
 * ```
 */
export interface Parameter {
  /** The parameter's label, e.g. `"decoder.fc3.bias"`. */
  readonly label: string;
  /** Number of elements. */
  readonly length: number;
  /** Its shape, row-major (a linear layer's weight is in × out). */
  readonly shape: readonly number[];
  /** Initial values are drawn from U(initCentre − initBound, initCentre + initBound). */
  readonly initBound: number;
  /** The centre of the initial values (0 but for a scale that starts at 1). */
  readonly initCentre: number;
  /** The values. */
  readonly value: PlannedBuffer;
  /** ∂loss/∂value of the current step (`${label}.grad`). */
  readonly grad: PlannedBuffer;
  /** Adam's first moment (PyTorch's exp_avg). */
  readonly expAvg: PlannedBuffer;
  /** Adam's second moment (PyTorch's exp_avg_sq). */
  readonly expAvgSq: PlannedBuffer;
  /** The run guard's copies of value, expAvg and expAvgSq. */
  readonly snapshot: readonly [PlannedBuffer, PlannedBuffer, PlannedBuffer];
}

/**
 * Bytes per role, and in total.
 *
 * @example
 * ```ts
 * import { CategoricalVae, type MemoryReport, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "10x30" });
 * const report: MemoryReport = model.memoryReport();
 * console.log(report.total, report.byRole.parameter, report.byRole.activation); // bytes
 * ```
 */
export interface MemoryReport {
  /** Bytes of every buffer in the plan. */
  readonly total: number;
  /** Bytes by role (every role present, zero when unused). */
  readonly byRole: Readonly<Record<BufferRole, number>>;
}

/**
 * A model's buffers: declare every one, then {@link MemoryPlan.allocate} them all at once.
 *
 * @example
 * ```ts
 * import { CategoricalVae, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend(), { config: "10x30" });
 * for (const b of model.plan.entries) console.log(b.label, b.role, b.length * 4, "bytes");
 * ```
 */
export class MemoryPlan {
  /** The size of buffers declared without one: they grow with the model's size options, here `options`. */
  defaultSize: BufferSize = { formula: "the model's sizes", argument: "options" };
  readonly #entries: PlannedBuffer[] = [];
  readonly #byLabel = new Map<string, PlannedBuffer>();
  readonly #parameters: Parameter[] = [];
  #backend: Backend | null = null;

  /**
   * Adds a buffer of `length` 4-byte elements to the table (only before allocation); `size` says how its
   * length follows from the user's options (default: the plan's {@link MemoryPlan.defaultSize}).
   */
  declare(
    label: string,
    length: number,
    role: BufferRole,
    size: BufferSize = this.defaultSize,
  ): PlannedBuffer {
    if (this.#backend) throw new Error(`the plan is allocated; "${label}" cannot be added`);
    if (this.#byLabel.has(label)) throw new Error(`the plan already has a buffer "${label}"`);
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new ReinmaxInputError("length", `buffer "${label}": expected an integer >= 0, got ${length}`);
    }
    const entry = new PlannedBuffer(label, length, role, size);
    this.#entries.push(entry);
    this.#byLabel.set(label, entry);
    return entry;
  }

  /**
   * Declares a parameter of `shape` with its gradient, moments and snapshot copies (`size` says how its length
   * follows from the user's options); parameters are initialised in the order they are declared.
   */
  declareParameter(
    label: string,
    shape: readonly number[],
    initBound: number,
    size?: BufferSize,
    initCentre = 0,
  ): Parameter {
    const length = shape.reduce((a, b) => a * b, 1);
    const parameter: Parameter = {
      label,
      length,
      shape: [...shape],
      initBound,
      initCentre,
      value: this.declare(label, length, "parameter", size),
      grad: this.declare(`${label}.grad`, length, "gradient", size),
      expAvg: this.declare(`${label}.exp_avg`, length, "optimizer", size),
      expAvgSq: this.declare(`${label}.exp_avg_sq`, length, "optimizer", size),
      snapshot: [
        this.declare(`${label}.snapshot`, length, "snapshot", size),
        this.declare(`${label}.exp_avg.snapshot`, length, "snapshot", size),
        this.declare(`${label}.exp_avg_sq.snapshot`, length, "snapshot", size),
      ],
    };
    this.#parameters.push(parameter);
    return parameter;
  }

  /** The parameters, in declaration order. */
  get parameters(): readonly Parameter[] {
    return this.#parameters;
  }

  /** Every buffer, in declaration order. */
  get entries(): readonly PlannedBuffer[] {
    return this.#entries;
  }

  /** The buffers of one role, in declaration order. */
  withRole(role: BufferRole): PlannedBuffer[] {
    return this.#entries.filter((e) => e.role === role);
  }

  /** The buffer labelled `label`; a ReinmaxInputError lists the labels when there is none. */
  get(label: string): PlannedBuffer {
    const entry = this.#byLabel.get(label);
    if (!entry) {
      throw new ReinmaxInputError(
        "label",
        `no buffer ${JSON.stringify(label)} in this model; it has ${[...this.#byLabel.keys()].join(", ")}`,
      );
    }
    return entry;
  }

  /** Bytes the plan needs (4 per element), by role and in total; known before allocation. */
  report(): MemoryReport {
    const byRole = Object.fromEntries(BUFFER_ROLES.map((r) => [r, 0])) as Record<BufferRole, number>;
    let total = 0;
    for (const e of this.#entries) {
      byRole[e.role] += 4 * e.length;
      total += 4 * e.length;
    }
    return { total, byRole };
  }

  /** Whether the buffers are allocated. */
  get allocated(): boolean {
    return this.#backend !== null;
  }

  /**
   * Allocates every buffer on `backend`. First every buffer and the total are checked against what the
   * backend can hold, with a ReinmaxInputError in the user's terms (see {@link BufferSize}); then all or
   * nothing: when one allocation fails, the buffers already allocated are freed and the error is rethrown.
   */
  allocate(backend: Backend): void {
    if (this.#backend) throw new Error("the plan is already allocated");
    const buffers = allocateAll(backend, this.#entries);
    this.#entries.forEach((entry, i) => entry.bind(buffers[i]));
    this.#backend = backend;
  }

  /** Frees every buffer; the plan can be allocated again. */
  free(): void {
    const backend = this.#backend;
    if (!backend) return;
    this.#backend = null;
    for (const entry of this.#entries) {
      backend.free(entry.buffer);
      entry.bind(null);
    }
  }
}

/** A report as one line for people, e.g. "4.9 MiB: parameter 1.2 MiB, gradient 1.2 MiB, …". */
export function formatMemoryReport(report: MemoryReport): string {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 1)} MiB`;
  const parts = BUFFER_ROLES.filter((r) => report.byRole[r] > 0).map((r) => `${r} ${mib(report.byRole[r])}`);
  return `${mib(report.total)}: ${parts.join(", ")}`;
}
