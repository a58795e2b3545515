/**
 * The per-step losses of a training run, kept on the backend. Each step enqueues the batch mean of each
 * loss channel (e.g. reconstruction and KL) into slot step % capacity of that channel; one read every
 * `capacity` steps brings them all back, together with named slots that metric and health-check kernels
 * fill in between (an exact expected loss, counts of non-finite values). On WebGPU that is one small
 * read-back per N steps and no wait inside a step.
 * @module
 */
import { type Backend, readF32 } from "../backend.ts";
import { type Launcher, launcher } from "../launcher.ts";
import type { MemoryPlan, PlannedBuffer } from "../memory_plan.ts";

/** The slot of the count of non-finite values of parameter `label` (value or gradient), for the run guard. */
export function healthSlot(label: string): string {
  return `health:${label}`;
}

/**
 * What one read brings back.
 *
 * @example
 * ```ts
 * import { CategoricalVae, type LossRead, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend({ prefer: "wasm" }), { config: "8x4", inputSize: 4, batch: 2 });
 * model.step(new Float32Array(8).fill(0.5), 2);
 * const read: LossRead = await model.log.read(); // one array per channel: reconstruction, kl
 * console.log(model.log.channels, read.channels.map((c) => c.length)); // ["reconstruction", "kl"] [1, 1]
 * ```
 */
export interface LossRead {
  /** Per channel, the losses of every step recorded since the last read, oldest first. */
  readonly channels: readonly Float32Array[];
  /** The named slots, as the kernels left them. */
  readonly slots: ReadonlyMap<string, number>;
}

/**
 * A ring of per-step losses on the backend; see the module comment.
 *
 * @example
 * ```ts
 * import { CategoricalVae, selectBackend } from "@reinmax/reinmax";
 * const model = new CategoricalVae(await selectBackend({ prefer: "wasm" }), { config: "8x4", inputSize: 4, batch: 2 });
 * for (let i = 0; i < 3; i++) model.step(new Float32Array(8).fill(0.5), 2);
 * console.log(model.log.pending, model.log.capacity); // 3 steps wait on the backend; up to readEvery (50)
 * const { channels } = await model.log.read(); // one read-back brings all three
 * ```
 */
export class LossLog {
  /** The loss channels, e.g. `["reconstruction", "kl"]`; a step's loss is their sum. */
  readonly channels: readonly string[];
  /** Steps the log holds between reads. */
  readonly capacity: number;
  /** The names of the slots after the rings, in order. */
  readonly slotNames: readonly string[];
  readonly #backend: Backend;
  readonly #k: Launcher;
  readonly #tensor: PlannedBuffer;
  readonly #slotIndex: ReadonlyMap<string, number>;
  #recorded = 0;
  #read = 0;

  /**
   * Declares the log's buffer (role "metric") in `plan` with a ring per channel and one slot per name of
   * `slots`; usable once the plan is allocated.
   */
  constructor(
    backend: Backend,
    plan: MemoryPlan,
    label: string,
    channels: readonly string[],
    capacity: number,
    slots: readonly string[] = [],
  ) {
    this.#backend = backend;
    this.#k = launcher(backend);
    this.channels = channels;
    this.capacity = capacity;
    this.slotNames = [...slots];
    const first = channels.length * capacity;
    this.#slotIndex = new Map(slots.map((name, i) => [name, first + i]));
    if (this.#slotIndex.size !== slots.length) throw new Error(`loss log "${label}": a slot name repeats`);
    this.#tensor = plan.declare(label, first + slots.length, "metric", {
      formula: `${channels.length} channels × readEvery + ${slots.length}`,
      argument: "readEvery",
    });
  }

  /** Steps recorded and not yet read. */
  get pending(): number {
    return this.#recorded - this.#read;
  }

  /** Steps recorded since the log was created or reset. */
  get recorded(): number {
    return this.#recorded;
  }

  /** The element index of the slot `name`, for kernels that write a metric into the log. */
  slot(name: string): number {
    const index = this.#slotIndex.get(name);
    if (index === undefined) throw new Error(`the loss log has no slot "${name}"`);
    return index;
  }

  /**
   * Enqueues the mean of `losses[0..count)` as channel `channel`'s loss of the step being recorded; call once
   * per channel, then {@link LossLog.endStep}.
   */
  record(channel: number, losses: PlannedBuffer, count: number): void {
    if (this.pending >= this.capacity) {
      throw new Error(`loss log overflow: read it at least every ${this.capacity} steps`);
    }
    const index = channel * this.capacity + (this.#recorded % this.capacity);
    this.#k.mean({ out: this.#tensor.buffer, x: losses.buffer }, { count, index });
  }

  /** Closes the step whose channels were just recorded. */
  endStep(): void {
    this.#recorded++;
  }

  /** The log's buffer, for kernels that write into its slots. */
  get buffer(): PlannedBuffer {
    return this.#tensor;
  }

  /** One read: each channel's losses since the last read, oldest first, and the named slots. */
  async read(): Promise<LossRead> {
    const count = this.pending;
    this.#backend.submit();
    const ring = await readF32(this.#backend, this.#tensor.buffer);
    const channels = this.channels.map((_, c) => {
      const losses = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        losses[i] = ring[c * this.capacity + ((this.#read + i) % this.capacity)];
      }
      return losses;
    });
    this.#read += count;
    const slots = new Map<string, number>();
    for (const [name, index] of this.#slotIndex) slots.set(name, ring[index]);
    return { channels, slots };
  }

  /** Forgets the steps not yet read (after the model is restored to an earlier state). */
  discardPending(): void {
    this.#read = this.#recorded;
  }
}
