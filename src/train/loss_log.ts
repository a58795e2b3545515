/**
 * The per-step losses of a training run, kept on the backend. Each step enqueues the batch mean of each
 * loss channel (e.g. reconstruction and KL) into slot step % capacity of that channel; one read every
 * `capacity` steps brings them all back, together with a few extra slots that metric and health-check kernels
 * fill in between (an exact expected loss, counts of non-finite values). On WebGPU that is one small
 * read-back per N steps and no wait inside a step.
 * @module
 */
import { type Backend, readF32 } from "../backend.ts";
import type { MemoryPlan, PlannedBuffer } from "../models/plan.ts";

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
  /** The extra slots, as the kernels left them. */
  readonly extras: Float32Array;
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
  /** Extra slots after the rings. */
  readonly extraSlots: number;
  readonly #backend: Backend;
  readonly #tensor: PlannedBuffer;
  #recorded = 0;
  #read = 0;

  /** Declares the log's buffer (role "metric") in `plan`; usable once the plan is allocated. */
  constructor(
    backend: Backend,
    plan: MemoryPlan,
    label: string,
    channels: readonly string[],
    capacity: number,
    extraSlots: number,
  ) {
    this.#backend = backend;
    this.channels = channels;
    this.capacity = capacity;
    this.extraSlots = extraSlots;
    this.#tensor = plan.declare(label, channels.length * capacity + extraSlots, "metric", {
      formula: `${channels.length} channels × readEvery + ${extraSlots}`,
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

  /** The element index of extra slot `i`, for kernels that write a metric into the log. */
  extraSlot(i: number): number {
    if (!(i >= 0 && i < this.extraSlots)) throw new Error(`extra slot ${i} outside [0, ${this.extraSlots})`);
    return this.channels.length * this.capacity + i;
  }

  /**
   * Enqueues the mean of `losses[0..count)` as channel `channel`'s loss of the step being recorded; call once
   * per channel, then {@link LossLog.endStep}.
   */
  record(channel: number, losses: PlannedBuffer, count: number): void {
    if (this.pending >= this.capacity) {
      throw new Error(`loss log overflow: read it at least every ${this.capacity} steps`);
    }
    const slot = channel * this.capacity + (this.#recorded % this.capacity);
    this.#backend.run("mean", [this.#tensor.buffer, losses.buffer], [count, slot]);
  }

  /** Closes the step whose channels were just recorded. */
  endStep(): void {
    this.#recorded++;
  }

  /** The log's buffer, for kernels that write into its extra slots. */
  get buffer(): PlannedBuffer {
    return this.#tensor;
  }

  /** One read: each channel's losses since the last read, oldest first, and the extra slots. */
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
    return { channels, extras: ring.subarray(this.channels.length * this.capacity) };
  }

  /** Forgets the steps not yet read (after the model is restored to an earlier state). */
  discardPending(): void {
    this.#read = this.#recorded;
  }
}
