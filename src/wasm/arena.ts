// Allocation of WebAssembly linear memory for the WASM backend. Models allocate their whole plan once, so a
// first-fit free list with coalescing is enough; blocks are 16-byte aligned for v128 loads.

const ALIGN = 16;
const PAGE = 65536;

interface Block {
  offset: number;
  size: number;
}

export class Arena {
  #free: Block[] = [];
  #end: number;
  #memory: WebAssembly.Memory;
  bytesAllocated = 0;

  constructor(memory: WebAssembly.Memory, base: number) {
    this.#memory = memory;
    this.#end = alignUp(base);
  }

  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, ALIGN));
    this.bytesAllocated += size;
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
      return offset;
    }
    const offset = this.#end;
    this.#end += size;
    const needed = this.#end - this.#memory.buffer.byteLength;
    if (needed > 0) this.#memory.grow(Math.ceil(needed / PAGE));
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
