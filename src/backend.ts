/**
 * The interface every compute backend implements. It is deliberately small: memory (buffers that stay on
 * the backend), kernel launches in the argument order of {@link KERNELS}, and asynchronous reads. On WASM a
 * launch runs at once; on WebGPU launches are recorded and `submit()` sends them as one command buffer, so a
 * training step written against this interface costs one submit and no wait.
 * @module
 */
import type { KernelName } from "./kernels.ts";

/**
 * The names of the built-in backends.
 *
 * @example
 * ```ts
 * import { type BackendName, selectBackend } from "@reinmax/reinmax";
 * const name: BackendName = "wasm";
 * const backend = await selectBackend({ prefer: name });
 * console.log(backend.name === name); // true
 * ```
 */
export type BackendName = "webgpu" | "wasm";

/**
 * A block of backend memory holding `length` 4-byte elements (f32, i32 or u32).
 *
 * @example
 * ```ts
 * import { selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const buffer = backend.alloc(4, "example"); // 4 zeroed elements
 * backend.write(buffer, new Float32Array([1, 2, 3, 4]));
 * console.log(buffer.length, new Float32Array(await backend.read(buffer))); // 4 Float32Array [1, 2, 3, 4]
 * backend.free(buffer);
 * ```
 */
export interface DeviceBuffer {
  /** Number of 4-byte elements. */
  readonly length: number;
  /** A name for error messages and memory reports. */
  readonly label: string;
}

/**
 * Typed arrays a buffer can be written from or read into.
 *
 * @example
 * ```ts
 * import { type Elements, selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const indices: Elements = new Int32Array([2, 0, 1]);
 * backend.write(backend.alloc(indices.length, "indices"), indices);
 * ```
 */
export type Elements = Float32Array | Int32Array | Uint32Array;

/**
 * Why a backend was chosen or rejected.
 *
 * @example
 * ```ts
 * import { selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend();
 * const { chosen, reason, details, rejected } = backend.report;
 * console.log(`${chosen} (${details}): ${reason}`);
 * for (const r of rejected) console.log(`${r.name} rejected: ${r.reason}`);
 * ```
 */
export interface BackendReport {
  /** The backend in use. */
  readonly chosen: BackendName;
  /** Why it was chosen (e.g. "requested explicitly", "highest priority available"). */
  readonly reason: string;
  /** What the chosen backend runs on, e.g. "WebAssembly SIMD + relaxed SIMD". */
  readonly details: string;
  /** Every backend that was tried before it and could not be used, with the reason. */
  readonly rejected: readonly { readonly name: BackendName; readonly reason: string }[];
}

/**
 * A compute backend. Obtain one with `selectBackend`.
 *
 * @example
 * ```ts
 * import { selectBackend } from "@reinmax/reinmax";
 * const backend = await selectBackend({ prefer: "wasm" });
 * const out = backend.alloc(8, "noise");
 * // Kernel arguments follow its signature: uniform_fill(out; count low high key0 key1 stream tag).
 * backend.run("uniform_fill", [out], [8, -1, 1, 7, 0, 0, 0]);
 * backend.submit();
 * console.log(new Float32Array(await backend.read(out))); // 8 values in [−1, 1), the same on every backend
 * backend.destroy();
 * ```
 */
export interface Backend {
  /** Which backend this is. */
  readonly name: BackendName;
  /** What it runs on, in words. */
  readonly details: string;
  /** How it was selected; set by `selectBackend`. */
  report: BackendReport;
  /** Bytes of backend memory currently allocated through `alloc` and not freed. */
  readonly bytesAllocated: number;
  /**
   * Bytes of freed buffers whose memory has not come back yet. WebGPU releases a freed buffer once the GPU has
   * finished the work submitted before the free, which the program sees only while it awaits (a read,
   * {@link settle}); a loop that frees without awaiting holds these bytes. Always 0 on WASM.
   */
  readonly bytesReleasing: number;
  /** The largest buffer `alloc` can make, in bytes. */
  readonly maxBufferBytes: number;
  /**
   * At most how many more bytes `alloc` can provide (fragmentation or the system may allow less), or Infinity
   * when the backend cannot tell (a GPU does not say how much memory it has).
   */
  readonly bytesAvailable: number;
  /**
   * Allocates a zero-filled buffer of `length` 4-byte elements. When memory runs out it throws a
   * `BackendMemoryError` and allocates nothing.
   */
  alloc(length: number, label: string): DeviceBuffer;
  /** Releases a buffer allocated by `alloc`. */
  free(buffer: DeviceBuffer): void;
  /** Copies `data` into `buffer` starting at element `offset` (queued in order with kernel launches). */
  write(buffer: DeviceBuffer, data: Elements, offset?: number): void;
  /** Launches a kernel; `buffers` and `params` follow its signature (`KERNELS[kernel]` in src/kernels.ts). */
  run(kernel: KernelName, buffers: readonly DeviceBuffer[], params: readonly number[]): void;
  /** Ends a batch of launches (one command buffer on WebGPU). Never waits. */
  submit(): void;
  /** Reads a buffer after all launches so far have completed. */
  read(buffer: DeviceBuffer): Promise<ArrayBuffer>;
  /** Resolves once the work submitted so far is done and the memory of every freed buffer has come back. */
  settle(): Promise<void>;
  /** Releases everything this backend holds. The backend is unusable afterwards. */
  destroy(): void;
}

/** Reads a buffer as f32 values. */
export async function readF32(backend: Backend, buffer: DeviceBuffer): Promise<Float32Array> {
  return new Float32Array(await backend.read(buffer));
}

/** Reads a buffer as i32 values. */
export async function readI32(backend: Backend, buffer: DeviceBuffer): Promise<Int32Array> {
  return new Int32Array(await backend.read(buffer));
}

/** Reads a buffer as u32 values. */
export async function readU32(backend: Backend, buffer: DeviceBuffer): Promise<Uint32Array> {
  return new Uint32Array(await backend.read(buffer));
}
