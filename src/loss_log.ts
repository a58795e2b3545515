// The per-step losses of a training run, kept on the backend: each step enqueues the mean of its
// per-sample losses into slot step % capacity, and one read every `capacity` steps brings them all back,
// together with a few extra slots that metric kernels (e.g. an exact expected loss) may fill in between.
// On WebGPU that is one small read-back per N steps and no wait inside a step.
import { type Backend, type DeviceBuffer, readF32 } from "./backend.ts";

export class LossLog {
  readonly buffer: DeviceBuffer;
  readonly capacity: number;
  #recorded = 0;
  #read = 0;

  constructor(private readonly backend: Backend, capacity: number, readonly extraSlots = 0) {
    this.capacity = capacity;
    this.buffer = backend.alloc(capacity + extraSlots, "lossLog");
  }

  /** Steps recorded and not yet read. */
  get pending(): number {
    return this.#recorded - this.#read;
  }

  /** The element index of extra slot `i`, for kernels that write a metric into the log. */
  extraSlot(i: number): number {
    return this.capacity + i;
  }

  /** Enqueues the mean of `losses[0..count)` as the next step's loss. The log must not be full. */
  record(losses: DeviceBuffer, count: number): void {
    if (this.pending >= this.capacity) throw new Error("loss log overflow: read it every `capacity` steps");
    this.backend.run("mean", [this.buffer, losses], [count, this.#recorded % this.capacity]);
    this.#recorded++;
  }

  /** One read: the losses of every step recorded since the last read, oldest first, and the extra slots. */
  async read(): Promise<{ losses: Float32Array; extras: Float32Array }> {
    const count = this.pending;
    this.backend.submit();
    const ring = await readF32(this.backend, this.buffer);
    const losses = new Float32Array(count);
    for (let i = 0; i < count; i++) losses[i] = ring[(this.#read + i) % this.capacity];
    this.#read += count;
    return { losses, extras: ring.subarray(this.capacity) };
  }

  free(): void {
    this.backend.free(this.buffer);
  }
}
