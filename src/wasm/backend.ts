/**
 * The WebAssembly backend: AssemblyScript kernels (asm/) on one linear memory. Kernel launches run
 * synchronously; reads resolve at once. Runs wherever WebAssembly SIMD does (Deno, browsers, workers).
 * @module
 */
import type { Backend, BackendReport, DeviceBuffer, Elements } from "../backend.ts";
import { BackendFailureError, BackendMemoryError, ReinmaxInputError } from "../errors.ts";
import { checkLaunch, type KernelName } from "../kernels.ts";
import { Arena, ArenaExhausted } from "./arena.ts";
import { loadKernels, type WasmVariant } from "./module.ts";

class WasmBuffer implements DeviceBuffer {
  constructor(readonly offset: number, readonly length: number, readonly label: string) {}
}

type Kernel = (...args: number[]) => void;

export class WasmBackend implements Backend {
  readonly name = "wasm" as const;
  readonly details: string;
  report: BackendReport;
  /** Which build of the kernels was loaded. */
  readonly variant: WasmVariant;
  readonly #memory: WebAssembly.Memory;
  readonly #arena: Arena;
  readonly #kernels: Record<string, Kernel>;
  #live = new Set<WasmBuffer>();
  #destroyed = false;

  private constructor(instance: WebAssembly.Instance, memory: WebAssembly.Memory, variant: WasmVariant) {
    this.#memory = memory;
    this.variant = variant;
    this.#kernels = instance.exports as unknown as Record<string, Kernel>;
    const heapBase = (instance.exports.heap_base as () => number)();
    this.#arena = new Arena(memory, heapBase);
    this.details = variant === "relaxed-simd" ? "WebAssembly SIMD + relaxed SIMD" : "WebAssembly SIMD";
    this.report = { chosen: "wasm", reason: "created directly", details: this.details, rejected: [] };
  }

  /** Instantiates the kernels on a fresh memory. `variant` forces a build (e.g. for benchmarks). */
  static async create(variant?: WasmVariant): Promise<WasmBackend> {
    const loaded = await loadKernels(variant);
    const memory = new WebAssembly.Memory({ initial: 16 });
    const instance = await WebAssembly.instantiate(loaded.module, { env: { memory } });
    return new WasmBackend(instance, memory, loaded.variant);
  }

  get bytesAllocated(): number {
    return this.#arena.bytesAllocated;
  }

  /** WASM frees at once: nothing is ever waiting. */
  get bytesReleasing(): number {
    return 0;
  }

  /** Launches run as they are made, so there is nothing to wait for. */
  settle(): Promise<void> {
    return Promise.resolve();
  }

  get maxBufferBytes(): number {
    return this.#arena.maxBlockBytes;
  }

  get bytesAvailable(): number {
    return this.#arena.bytesAvailable;
  }

  /** Bytes of the linear memory: the most the arena has needed at once, since WebAssembly memory never shrinks. */
  get memoryBytes(): number {
    return this.#memory.buffer.byteLength;
  }

  alloc(length: number, label: string): DeviceBuffer {
    this.#checkAlive();
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new ReinmaxInputError("length", `expected an integer >= 0 for buffer "${label}", got ${length}`);
    }
    let offset: number;
    try {
      offset = this.#arena.alloc(length * 4);
    } catch (e) {
      if (!(e instanceof ArenaExhausted)) throw e;
      throw new BackendMemoryError("wasm", e.requested, `buffer "${label}": ${e.message}`, { cause: e });
    }
    const buffer = new WasmBuffer(offset, length, label);
    this.#live.add(buffer);
    return buffer;
  }

  free(buffer: DeviceBuffer): void {
    // After destroy() the memory is gone anyway; freeing stays quiet so cleanup code does not mask the error
    // that ended the run.
    if (this.#destroyed) return;
    const b = this.#own(buffer);
    this.#live.delete(b);
    this.#arena.free(b.offset, b.length * 4);
  }

  write(buffer: DeviceBuffer, data: Elements, offset = 0): void {
    const b = this.#own(buffer);
    if (offset < 0 || offset + data.length > b.length) {
      throw new ReinmaxInputError(
        "data",
        `writing ${data.length} elements at ${offset} overflows buffer "${b.label}" of ${b.length}`,
      );
    }
    new Uint8Array(this.#memory.buffer, b.offset + offset * 4, data.length * 4)
      .set(new Uint8Array(data.buffer, data.byteOffset, data.length * 4));
  }

  run(kernel: KernelName, buffers: readonly DeviceBuffer[], params: readonly number[]): void {
    this.#checkAlive();
    checkLaunch(kernel, buffers, params);
    const fn = this.#kernels[kernel];
    // tests/abi_test.ts checks that the module exports every kernel of the table.
    if (!fn) throw new BackendFailureError("wasm", `the WebAssembly module does not export ${kernel}`);
    const args = new Array<number>(buffers.length + params.length);
    for (let i = 0; i < buffers.length; i++) args[i] = this.#own(buffers[i]).offset;
    for (let i = 0; i < params.length; i++) args[buffers.length + i] = params[i];
    try {
      fn(...args);
    } catch (e) {
      throw new BackendFailureError("wasm", `kernel ${kernel} trapped: ${(e as Error).message}`);
    }
  }

  submit(): void {
    // Nothing is queued on WASM; a destroyed backend still says so, as it does on WebGPU.
    this.#checkAlive();
  }

  read(buffer: DeviceBuffer): Promise<ArrayBuffer> {
    const b = this.#own(buffer);
    // The memory is not shared (created without `shared`), so its buffer is an ArrayBuffer.
    return Promise.resolve((this.#memory.buffer as ArrayBuffer).slice(b.offset, b.offset + b.length * 4));
  }

  /** A live view of a buffer (invalidated when memory grows); for tests and zero-copy reads on WASM. */
  view(buffer: DeviceBuffer): Float32Array {
    const b = this.#own(buffer);
    return new Float32Array(this.#memory.buffer, b.offset, b.length);
  }

  destroy(): void {
    this.#destroyed = true;
    this.#live.clear();
  }

  #own(buffer: DeviceBuffer): WasmBuffer {
    this.#checkAlive();
    if (!(buffer instanceof WasmBuffer) || !this.#live.has(buffer)) {
      throw new ReinmaxInputError(
        "buffer",
        `"${buffer?.label}" is not a live buffer of this wasm backend (freed, or from another backend)`,
      );
    }
    return buffer;
  }

  #checkAlive(): void {
    if (this.#destroyed) throw new BackendFailureError("wasm", "the backend was destroyed");
  }
}
