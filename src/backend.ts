/**
 * The interface every compute backend implements. It is deliberately small: memory (buffers that stay on
 * the backend), kernel launches in the argument order of {@link KERNELS}, and asynchronous reads. On WASM a
 * launch runs at once; on WebGPU launches are recorded and `submit()` sends them as one command buffer, so a
 * training step written against this interface costs one submit and no wait.
 * @module
 */
import type { KernelName } from "./kernels.ts";

/** The names of the built-in backends. */
export type BackendName = "webgpu" | "wasm";

/** A block of backend memory holding `length` 4-byte elements (f32, i32 or u32). */
export interface DeviceBuffer {
  /** Number of 4-byte elements. */
  readonly length: number;
  /** A name for error messages and memory reports. */
  readonly label: string;
}

/** Typed arrays a buffer can be written from or read into. */
export type Elements = Float32Array | Int32Array | Uint32Array;

/** Why a backend was chosen or rejected. */
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

/** A compute backend. Obtain one with `selectBackend`. */
export interface Backend {
  /** Which backend this is. */
  readonly name: BackendName;
  /** What it runs on, in words. */
  readonly details: string;
  /** How it was selected; set by `selectBackend`. */
  report: BackendReport;
  /** Bytes of backend memory currently allocated through `alloc`. */
  readonly bytesAllocated: number;
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
