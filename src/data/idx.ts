/**
 * The IDX format of MNIST-like data sets: the magic 00 00 TYPE RANK, RANK big-endian u32 dimensions, then the
 * elements big-endian in row-major order. Every header field is checked against the bytes actually present
 * before anything sized by the header is allocated, so a corrupt or hostile header costs nothing.
 * @module
 */
import { DatasetError, ReinmaxInputError } from "../errors.ts";
import { describe } from "../validate.ts";
import { gunzip, isGzip } from "./gzip.ts";

/**
 * The typed array that holds each IDX element type, by the type's name.
 *
 * @example
 * ```ts
 * import type { IdxArrays } from "@reinmax/reinmax";
 * const labels: IdxArrays["u8"] = new Uint8Array([3, 1, 4]);
 * ```
 */
export interface IdxArrays {
  /** 0x08: unsigned bytes. */
  u8: Uint8Array;
  /** 0x09: signed bytes. */
  i8: Int8Array;
  /** 0x0B: 16-bit signed integers. */
  i16: Int16Array;
  /** 0x0C: 32-bit signed integers. */
  i32: Int32Array;
  /** 0x0D: 32-bit floats. */
  f32: Float32Array;
  /** 0x0E: 64-bit floats. */
  f64: Float64Array;
}

/**
 * The name of an IDX element type.
 *
 * @example
 * ```ts
 * import { encodeIdx, type IdxType } from "@reinmax/reinmax";
 * const type: IdxType = "f32";
 * const file = encodeIdx(type, [2], new Float32Array([0.5, 1.5]));
 * ```
 */
export type IdxType = keyof IdxArrays;

/**
 * An IDX array: its element type, its dimensions (outermost first) and its elements in host byte order.
 *
 * @example
 * ```ts
 * import { encodeIdx, type IdxArray, parseIdx } from "@reinmax/reinmax";
 * const array: IdxArray = parseIdx(encodeIdx("u8", [2, 2], new Uint8Array([1, 2, 3, 4])), "example");
 * if (array.type === "u8") console.log(array.shape, array.data); // [2, 2] Uint8Array [1, 2, 3, 4]
 * ```
 */
export type IdxArray = {
  [T in IdxType]: {
    readonly type: T;
    readonly shape: readonly number[];
    readonly data: IdxArrays[T];
  };
}[IdxType];

interface TypeInfo {
  readonly name: IdxType;
  readonly code: number;
  readonly bytes: number;
}

const TYPES: readonly TypeInfo[] = [
  { name: "u8", code: 0x08, bytes: 1 },
  { name: "i8", code: 0x09, bytes: 1 },
  { name: "i16", code: 0x0b, bytes: 2 },
  { name: "i32", code: 0x0c, bytes: 4 },
  { name: "f32", code: 0x0d, bytes: 4 },
  { name: "f64", code: 0x0e, bytes: 8 },
];

const ARRAY_CLASSES = {
  u8: Uint8Array,
  i8: Int8Array,
  i16: Int16Array,
  i32: Int32Array,
  f32: Float32Array,
  f64: Float64Array,
} as const;

/** The largest rank accepted: enough for any image tensor, small enough to keep the header bounded. */
export const MAX_IDX_RANK = 8;
const MAX_DIMENSION = 0xffffffff;

/**
 * Parses an IDX file, raw or gzip-compressed (told apart by the magic). Throws a {@link DatasetError} naming
 * `source` for a bad magic, an unknown type, a rank outside 1..8, a zero dimension, and data shorter
 * ("truncated") or longer than the header declares. `data` may share memory with `bytes` (or with the
 * decompressed buffer) for the byte types; the wider types are copied into host byte order.
 *
 * @example
 * ```ts
 * import { parseIdx } from "@reinmax/reinmax";
 * const bytes = new Uint8Array([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]); // u8, rank 1, 3 elements
 * const { type, shape, data } = parseIdx(bytes, "labels.idx");
 * console.log(type, shape, data); // "u8" [3] Uint8Array [7, 8, 9]
 * ```
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (!(bytes instanceof Uint8Array)) {
    throw new ReinmaxInputError("bytes", `expected a Uint8Array, got ${describe(bytes)}`);
  }
  if (isGzip(bytes)) bytes = gunzip(bytes, source);
  if (bytes.length < 4) {
    throw new DatasetError(source, `truncated IDX: expected a 4-byte magic, found ${bytes.length} bytes`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DatasetError(
      source,
      `expected the IDX magic 00 00 TYPE RANK (or gzip's 1f 8b), found ${hexBytes(bytes.subarray(0, 4))}`,
    );
  }
  const info = TYPES.find((t) => t.code === bytes[2]);
  if (!info) {
    throw new DatasetError(
      source,
      `unknown IDX element type 0x${hex2(bytes[2])}; expected one of ` +
        TYPES.map((t) => `0x${hex2(t.code)} (${t.name})`).join(", "),
    );
  }
  const rank = bytes[3];
  if (rank < 1 || rank > MAX_IDX_RANK) {
    throw new DatasetError(source, `expected an IDX rank in 1..${MAX_IDX_RANK}, found ${rank}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new DatasetError(
      source,
      `truncated IDX: the header declares ${rank} dimensions (${headerBytes} header bytes), ` +
        `${bytes.length} bytes are present`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) {
      throw new DatasetError(source, `expected every IDX dimension to be at least 1, dimension ${i} is 0`);
    }
    shape.push(d);
  }
  // BigInt: eight u32 dimensions multiply to far beyond 2^53, and the message should still be exact.
  const declared = shape.reduce((p, d) => p * BigInt(d), 1n) * BigInt(info.bytes);
  const present = bytes.length - headerBytes;
  if (declared !== BigInt(present)) {
    const what = `(shape ${shape.join("×")} of ${info.name})`;
    throw new DatasetError(
      source,
      declared > BigInt(present)
        ? `truncated IDX: the header declares ${declared} bytes of data ${what}, ${present} are present`
        : `expected ${declared} bytes of IDX data ${what}, found ${present}: ` +
          `${BigInt(present) - declared} extra bytes at the end`,
    );
  }
  const count = present / info.bytes;
  return { type: info.name, shape, data: readElements(info, view, headerBytes, count) } as IdxArray;
}

function readElements(info: TypeInfo, view: DataView, offset: number, count: number): IdxArrays[IdxType] {
  const start = view.byteOffset + offset;
  switch (info.name) {
    case "u8":
      return new Uint8Array(view.buffer, start, count);
    case "i8":
      return new Int8Array(view.buffer, start, count);
    case "i16": {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case "i32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case "f32": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case "f64": {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/**
 * Encodes `data` (the typed array of `type`, row-major) with dimensions `shape` as an uncompressed IDX file.
 * `shape` must have rank 1..8 and dimensions in 1..2^32−1 whose product is `data.length`; a mismatch throws a
 * {@link ReinmaxInputError} naming the argument.
 *
 * @example
 * ```ts
 * import { encodeIdx } from "@reinmax/reinmax";
 * const images = encodeIdx("u8", [2, 28, 28], new Uint8Array(2 * 28 * 28)); // two blank 28×28 images
 * await Deno.writeFile("train-images-idx3-ubyte", images);
 * ```
 */
export function encodeIdx<T extends IdxType>(
  type: T,
  shape: readonly number[],
  data: IdxArrays[T],
): Uint8Array {
  const info = TYPES.find((t) => t.name === type);
  if (!info) {
    throw new ReinmaxInputError(
      "type",
      `expected one of ${TYPES.map((t) => t.name).join(", ")}, got ${describe(type)}`,
    );
  }
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > MAX_IDX_RANK) {
    throw new ReinmaxInputError(
      "shape",
      `expected an array of 1..${MAX_IDX_RANK} dimensions, got ${describe(shape)}`,
    );
  }
  for (const [i, d] of shape.entries()) {
    if (!Number.isInteger(d) || d < 1 || d > MAX_DIMENSION) {
      throw new ReinmaxInputError(`shape[${i}]`, `expected an integer in [1, 2^32), got ${describe(d)}`);
    }
  }
  if (!(data instanceof ARRAY_CLASSES[info.name])) {
    throw new ReinmaxInputError(
      "data",
      `expected a ${ARRAY_CLASSES[info.name].name} for type ${type}, got ${describe(data)}`,
    );
  }
  const count = shape.reduce((p, d) => p * d, 1);
  if (data.length !== count) {
    throw new ReinmaxInputError(
      "data",
      `expected ${count} elements for shape ${shape.join("×")}, got ${data.length}`,
    );
  }
  const headerBytes = 4 + 4 * shape.length;
  const out = new Uint8Array(headerBytes + count * info.bytes);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const values = data as ArrayLike<number>;
  switch (info.name) {
    case "u8":
    case "i8":
      out.set(new Uint8Array(data.buffer, data.byteOffset, count), headerBytes);
      break;
    case "i16":
      for (let i = 0; i < count; i++) view.setInt16(headerBytes + 2 * i, values[i], false);
      break;
    case "i32":
      for (let i = 0; i < count; i++) view.setInt32(headerBytes + 4 * i, values[i], false);
      break;
    case "f32":
      for (let i = 0; i < count; i++) view.setFloat32(headerBytes + 4 * i, values[i], false);
      break;
    case "f64":
      for (let i = 0; i < count; i++) view.setFloat64(headerBytes + 8 * i, values[i], false);
      break;
  }
  return out;
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, "0");
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, hex2).join(" ");
}
