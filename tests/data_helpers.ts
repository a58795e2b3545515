// Helpers shared by the data-layer tests (gzip_test, idx_test, mnist_test, image_set_test, fixtures_test,
// png_test, data_source_test): byte assembly written from the formats' specifications rather than from the code
// under test, and assertions that a DatasetError names the right source.
import { assertEquals, assertMatch, assertRejects, assertThrows } from "@std/assert";
import { gzipSync } from "fflate";
import { DatasetError } from "../mod.ts";

/** The repository's fixtures/ directory. */
export const FIXTURES_DIR = new URL("../fixtures/", import.meta.url);

/** The big-endian u32 at `at`. */
export function u32be(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** The parts back to back in one new array. */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** The lowercase hex SHA-256 of `bytes`, by WebCrypto. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Asserts that `fn` throws a DatasetError naming `source`, with a message matching `message`. */
export function assertDatasetError(fn: () => unknown, source: string, message: RegExp): DatasetError {
  const error = assertThrows(fn, DatasetError);
  assertEquals(error.source, source, error.message);
  assertMatch(error.message, message);
  return error;
}

/** Asserts that `fn` rejects with a DatasetError naming `source`, with a message matching `message`. */
export async function assertRejectsDataset(
  fn: () => Promise<unknown>,
  source: string,
  message: RegExp,
): Promise<DatasetError> {
  const error = await assertRejects(fn, DatasetError);
  assertEquals(error.source, source, error.message);
  assertMatch(error.message, message);
  return error;
}

/** An IDX header (magic, type code, dims) followed by `data` bytes, assembled by hand. */
export function idxBytes(
  code: number,
  shape: number[],
  data: number[] | Uint8Array,
): Uint8Array<ArrayBuffer> {
  const header = new Uint8Array(4 + 4 * shape.length);
  header[2] = code;
  header[3] = shape.length;
  shape.forEach((d, i) => {
    header[4 + 4 * i] = d >>> 24;
    header[5 + 4 * i] = (d >>> 16) & 0xff;
    header[6 + 4 * i] = (d >>> 8) & 0xff;
    header[7 + 4 * i] = d & 0xff;
  });
  return concat(header, Uint8Array.from(data));
}

/** gzip as fflate writes it with a fixed mtime, so the bytes are the same on every run. */
export const gz = (bytes: Uint8Array) => gzipSync(bytes, { level: 6, mtime: 0 });
