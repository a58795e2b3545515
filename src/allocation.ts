/**
 * Allocating a set of buffers as one: every size is checked against what the backend can hold before
 * anything is allocated, with an error in the caller's terms, and when an allocation fails midway the
 * buffers already made are freed. Models allocate their memory plan this way, the estimator functions their
 * temporary buffers.
 * @module
 */
import type { Backend, DeviceBuffer } from "./backend.ts";
import { ReinmaxInputError } from "./errors.ts";

/**
 * How a buffer's length follows from what the user asked for, so that a buffer too large for the backend is
 * reported in the user's terms: e.g. `{ formula: "batch × latents × 2", argument: "batch" }`.
 *
 * @example
 * ```ts
 * import type { BufferSize } from "@reinmax/reinmax";
 * // How a buffer's length follows from the user's options, for errors in their terms.
 * const size: BufferSize = { formula: "batch × latents × categories", argument: "batch" };
 * ```
 */
export interface BufferSize {
  /** The length as an expression of the user's options. */
  readonly formula: string;
  /** The option an error names (the one a user would most likely lower). */
  readonly argument: string;
}

/** One buffer to allocate. */
export interface BufferRequest {
  readonly label: string;
  /** Number of 4-byte elements. */
  readonly length: number;
  readonly size: BufferSize;
}

/** Bytes for people: "512 B", "3.5 KiB", "37.0 MiB", "8.0 TiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) {
    bytes /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${bytes.toFixed(1)} ${units[i]}`;
}

/**
 * Throws a ReinmaxInputError naming the request's option when a buffer is larger than the backend's largest
 * or all of them together exceed what it has left.
 */
export function checkCapacity(backend: Backend, requests: readonly BufferRequest[]): void {
  for (const r of requests) {
    if (4 * r.length > backend.maxBufferBytes) {
      throw new ReinmaxInputError(
        r.size.argument,
        `buffer "${r.label}" needs ${r.size.formula} = ${r.length} elements (${
          formatBytes(4 * r.length)
        }), ` +
          `more than the largest buffer the ${backend.name} backend can hold (${
            formatBytes(backend.maxBufferBytes)
          })`,
      );
    }
  }
  const total = requests.reduce((sum, r) => sum + 4 * r.length, 0);
  if (total > backend.bytesAvailable) {
    const largest = [...requests].sort((a, b) => b.length - a.length)[0];
    throw new ReinmaxInputError(
      largest.size.argument,
      `${formatBytes(total)} of buffers are needed, more than the ${
        formatBytes(backend.bytesAvailable)
      } the ` +
        `${backend.name} backend has left; the largest, "${largest.label}", holds ${largest.size.formula} = ` +
        `${largest.length} elements`,
    );
  }
}

/** Checks the requests ({@link checkCapacity}), then allocates all of them or none. */
export function allocateAll(backend: Backend, requests: readonly BufferRequest[]): DeviceBuffer[] {
  checkCapacity(backend, requests);
  const done: DeviceBuffer[] = [];
  try {
    for (const r of requests) done.push(backend.alloc(r.length, r.label));
  } catch (e) {
    for (const buffer of done) backend.free(buffer);
    throw e;
  }
  return done;
}
