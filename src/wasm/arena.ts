// Allocation of WebAssembly linear memory for the WASM backend. Models allocate their whole plan once, so a
// first-fit free list with coalescing is enough; blocks are 16-byte aligned for v128 loads. An allocation
// that cannot be served changes nothing: the memory grows first, and only then is the block booked.

const ALIGN = 16;
const PAGE = 65536;
/** A 32-bit WebAssembly memory holds at most 2^16 pages of 64 KiB: 4 GiB. */
export const MAX_MEMORY_BYTES = 65536 * PAGE;

interface Block {
  offset: number;
  size: number;
}

/** Why an allocation could not be served; the arena is unchanged. */
export class ArenaExhausted extends Error {
  constructor(readonly requested: number, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export class Arena {
  #free: Block[] = [];
  #end: number;
  readonly #base: number;
  #memory: WebAssembly.Memory;
  bytesAllocated = 0;

  constructor(memory: WebAssembly.Memory, base: number) {
    this.#memory = memory;
    this.#base = this.#end = alignUp(base);
  }

  /** The largest block the arena could ever hold. */
  get maxBlockBytes(): number {
    return MAX_MEMORY_BYTES - this.#base;
  }

  /** Bytes still available: the free list and what the memory can still grow by. */
  get bytesAvailable(): number {
    return MAX_MEMORY_BYTES - this.#end + this.#free.reduce((sum, b) => sum + b.size, 0);
  }

  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, ALIGN));
    for (let i = 0; i < this.#free.length; i++) {
      const block = this.#free[i];
      if (block.size < size) continue;
      const offset = block.offset;
      if (block.size === size) this.#free.splice(i, 1);
      else {
        block.offset += size;
        block.size -= size;
      }
      new Uint8Array(this.#memory.buffer, offset, size).fill(0);
      this.bytesAllocated += size;
      return offset;
    }
    const offset = this.#end, end = offset + size;
    if (end > MAX_MEMORY_BYTES) {
      throw new ArenaExhausted(
        size,
        `${size} bytes do not fit: ${offset} bytes are in use or free, and WebAssembly memory ends at 4 GiB`,
      );
    }
    const needed = end - this.#memory.buffer.byteLength;
    if (needed > 0) {
      try {
        this.#memory.grow(Math.ceil(needed / PAGE));
      } catch (e) {
        throw new ArenaExhausted(
          size,
          `the WebAssembly memory could not grow from ${this.#memory.buffer.byteLength} to ${end} bytes ` +
            `(${e instanceof Error ? e.message : e})`,
          { cause: e },
        );
      }
    }
    this.#end = end;
    this.bytesAllocated += size;
    return offset;
  }

  free(offset: number, bytes: number): void {
    const size = alignUp(Math.max(bytes, ALIGN));
    this.bytesAllocated -= size;
    let i = 0;
    while (i < this.#free.length && this.#free[i].offset < offset) i++;
    this.#free.splice(i, 0, { offset, size });
    // Coalesce with the following and the preceding neighbour.
    if (i + 1 < this.#free.length && offset + size === this.#free[i + 1].offset) {
      this.#free[i].size += this.#free[i + 1].size;
      this.#free.splice(i + 1, 1);
    }
    if (i > 0 && this.#free[i - 1].offset + this.#free[i - 1].size === offset) {
      this.#free[i - 1].size += this.#free[i].size;
      this.#free.splice(i, 1);
    }
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
