/**
 * The safetensors container (https://github.com/huggingface/safetensors), in which checkpoints are written so
 * that PyTorch and NumPy users can open the weights with `safetensors.torch.load_file`: an 8-byte
 * little-endian header length N, N bytes of a UTF-8 JSON object padded with spaces so that the data starts at
 * an 8-byte boundary, then the tensors' raw little-endian bytes, back to back. The JSON maps each tensor name
 * to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data section) and may hold
 * `"__metadata__"`, an object of strings, where {@link encodeSafetensors} records two CRC-32s so that
 * {@link decodeSafetensors} can tell a corrupt file from a good one: of the data section under
 * {@link CHECKSUM_KEY}, and of the header's content under {@link HEADER_CHECKSUM_KEY}.
 * @module
 */
import { CheckpointError, ReinmaxInputError } from "../errors.ts";
import { describe } from "../validate.ts";
import { crc32 } from "../data/crc32.ts";

/** The element types this module reads and writes, by their safetensors names. */
export type SafetensorsDtype = "F64" | "F32" | "I64" | "U64" | "I32" | "U32" | "I16" | "U16" | "I8" | "U8";

/** The typed array that holds each element type. */
export interface SafetensorsArrays<B extends ArrayBufferLike = ArrayBufferLike> {
  /** float64 */
  F64: Float64Array<B>;
  /** float32 */
  F32: Float32Array<B>;
  /** int64 */
  I64: BigInt64Array<B>;
  /** uint64 */
  U64: BigUint64Array<B>;
  /** int32 */
  I32: Int32Array<B>;
  /** uint32 */
  U32: Uint32Array<B>;
  /** int16 */
  I16: Int16Array<B>;
  /** uint16 */
  U16: Uint16Array<B>;
  /** int8 */
  I8: Int8Array<B>;
  /** uint8 */
  U8: Uint8Array<B>;
}

/** A tensor to write: its element type, its shape (row-major; `[]` for a scalar) and its elements. */
export type SafetensorsTensor = {
  [D in SafetensorsDtype]: {
    readonly dtype: D;
    readonly shape: readonly number[];
    readonly data: SafetensorsArrays[D];
  };
}[SafetensorsDtype];

/** A tensor read back: `data` is a fresh copy in host byte order, not a view of the file's bytes. */
export type DecodedTensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: number[]; data: SafetensorsArrays<ArrayBuffer>[D] };
}[SafetensorsDtype];

/** What {@link decodeSafetensors} returns: the metadata (checksum included) and the tensors in file order. */
export interface DecodedSafetensors {
  /** The `__metadata__` object of the header; empty when the file has none. */
  metadata: Record<string, string>;
  /** Every tensor, in the order of the header's keys. */
  tensors: Map<string, DecodedTensor>;
}

/**
 * The metadata key under which the CRC-32 of the data section (the bytes as written, little-endian) is kept,
 * as `crc32:` and 8 lowercase hex digits; anyone can check it, e.g. Python's `zlib.crc32`.
 */
export const CHECKSUM_KEY = "reinmax.checksum";

/**
 * The metadata key under which the CRC-32 of the header's content is kept, in the same form. The data's
 * checksum cannot see the header, where a flipped byte can rename a tensor, turn an I32 into a U32 or alter
 * a metadata value and still leave valid JSON. It is taken over the header as {@link encodeSafetensors}
 * writes it (compact JSON, no padding) with this key's own value set to `crc32:00000000`; decoding rebuilds
 * that text from what it parsed, so it checks what the header says, not its whitespace.
 */
export const HEADER_CHECKSUM_KEY = "reinmax.header_checksum";

/**
 * The largest header accepted, the bound of the reference implementation: real headers are a few kilobytes
 * to a few megabytes, and a file claiming more is corrupt or hostile, not a checkpoint.
 */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";
const CHECKSUM_PATTERN = /^crc32:[0-9a-f]{8}$/;
// Same length as every checksum, so that the header's length is known before any checksum is.
const PLACEHOLDER = "crc32:00000000";

type ArrayConstructorOf<D extends SafetensorsDtype> = {
  new (buffer: ArrayBuffer): SafetensorsArrays<ArrayBuffer>[D];
  readonly BYTES_PER_ELEMENT: number;
};

const ARRAYS: { [D in SafetensorsDtype]: ArrayConstructorOf<D> } = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
};
const DTYPES = Object.keys(ARRAYS) as SafetensorsDtype[];
const WIDTHS = Object.fromEntries(DTYPES.map((d) => [d, ARRAYS[d].BYTES_PER_ELEMENT])) as Record<
  SafetensorsDtype,
  number
>;

// The format is little-endian; on a big-endian host every element is byte-swapped on the way in and out.
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === "string" && Object.hasOwn(ARRAYS, value);
}

/**
 * Writes `tensors` (in the map's order, their data back to back without gaps) and `metadata` as safetensors
 * bytes. The result depends only on the arguments: the same tensors and metadata give the same bytes. The
 * metadata gains {@link CHECKSUM_KEY} and {@link HEADER_CHECKSUM_KEY}; values already under those keys (as in
 * the metadata of a decoded file) are replaced by the checksums of what is written now.
 *
 * Throws a {@link ReinmaxInputError} for a name that is empty or `__metadata__`, an unknown dtype, data that
 * is not the dtype's typed array, a shape that is not a list of non-negative integers whose product is the
 * data's length, or metadata that is not an object of strings.
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  metadata: Readonly<Record<string, string>>,
): Uint8Array<ArrayBuffer> {
  if (!(tensors instanceof Map)) {
    throw new ReinmaxInputError("tensors", `expected a Map from names to tensors, got ${describe(tensors)}`);
  }
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new ReinmaxInputError("metadata", `expected an object of strings, got ${describe(metadata)}`);
  }
  const given: [string, string][] = [];
  for (const [key, value] of Object.entries(metadata)) {
    const argument = `metadata[${JSON.stringify(key)}]`;
    if (typeof value !== "string") {
      throw new ReinmaxInputError(argument, `expected a string, got ${describe(value)}`);
    }
    requireWellFormed(argument, key);
    requireWellFormed(argument, value);
    if (key !== CHECKSUM_KEY && key !== HEADER_CHECKSUM_KEY) given.push([key, value]);
  }

  const layout: Layout[] = [];
  const views: Uint8Array[] = [];
  let dataBytes = 0;
  for (const [name, tensor] of tensors) {
    const { dtype, shape, bytes } = checkTensor(name, tensor);
    layout.push({ name, dtype, shape, begin: dataBytes, end: dataBytes + bytes.length });
    views.push(bytes);
    dataBytes += bytes.length;
  }

  const encoder = new TextEncoder();
  const header = (dataChecksum: string, headerChecksum: string) =>
    headerJson([...given, [CHECKSUM_KEY, dataChecksum], [HEADER_CHECKSUM_KEY, headerChecksum]], layout);
  const draftLength = encoder.encode(header(PLACEHOLDER, PLACEHOLDER)).length;
  if (draftLength > MAX_HEADER_BYTES) {
    throw new ReinmaxInputError(
      "metadata",
      `the header (tensor names, shapes and metadata) would take ${draftLength} bytes, more than the ` +
        `${MAX_HEADER_BYTES} that decodeSafetensors and the reference reader accept`,
    );
  }
  // Spaces, as the reference writer pads: they are JSON whitespace, so the header still parses.
  const headerLength = draftLength + ((8 - (draftLength % 8)) % 8);
  const dataStart = 8 + headerLength;
  const out = new Uint8Array(dataStart + dataBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);

  for (let i = 0; i < layout.length; i++) {
    const { dtype, begin, end } = layout[i];
    out.set(views[i], dataStart + begin);
    if (!LITTLE_ENDIAN_HOST) swapBytes(out.subarray(dataStart + begin, dataStart + end), WIDTHS[dtype]);
  }
  const dataChecksum = checksumOf(out.subarray(dataStart));
  const headerChecksum = checksumOf(encoder.encode(header(dataChecksum, PLACEHOLDER)));
  const { written } = encoder.encodeInto(header(dataChecksum, headerChecksum), out.subarray(8, dataStart));
  out.fill(0x20, 8 + written, dataStart);
  return out;
}

/** Where a tensor lies in the data section, with what the header says of it. */
interface Layout {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  begin: number;
  end: number;
}

// Built by hand rather than by JSON.stringify of an object, which would put integer-like names ("0", "12")
// before the others and so not keep the map's order.
function headerJson(metadata: readonly [string, string][], layout: readonly Layout[]): string {
  let json = `{"${METADATA_KEY}":{`;
  json += metadata.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(",");
  json += "}";
  for (const { name, dtype, shape, begin, end } of layout) {
    json += `,${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(",")}],` +
      `"data_offsets":[${begin},${end}]}`;
  }
  return json + "}";
}

function checksumOf(bytes: Uint8Array): string {
  return `crc32:${crc32(bytes).toString(16).padStart(8, "0")}`;
}

// JSON.stringify writes a lone surrogate as a \uD800-style escape, which serde_json (the reference reader,
// under safetensors.torch.load_file) refuses: the file would load here and nowhere else.
function requireWellFormed(argument: string, text: string): void {
  if (!text.isWellFormed()) {
    throw new ReinmaxInputError(
      argument,
      `expected well-formed Unicode, found a lone surrogate in ${describe(text)}`,
    );
  }
}

function checkTensor(
  name: string,
  tensor: SafetensorsTensor,
): { dtype: SafetensorsDtype; shape: readonly number[]; bytes: Uint8Array } {
  if (typeof name !== "string" || name === "" || name === METADATA_KEY) {
    throw new ReinmaxInputError(
      "tensors",
      `expected tensor names to be non-empty strings other than "${METADATA_KEY}", got ${describe(name)}`,
    );
  }
  const argument = `tensors[${JSON.stringify(name)}]`;
  requireWellFormed(argument, name);
  if (typeof tensor !== "object" || tensor === null) {
    throw new ReinmaxInputError(argument, `expected { dtype, shape, data }, got ${describe(tensor)}`);
  }
  const { dtype, shape, data } = tensor;
  if (!isDtype(dtype)) {
    throw new ReinmaxInputError(
      `${argument}.dtype`,
      `expected one of ${DTYPES.join(", ")}, got ${describe(dtype)}`,
    );
  }
  const Array_ = ARRAYS[dtype];
  if (!(data instanceof Array_)) {
    throw new ReinmaxInputError(
      `${argument}.data`,
      `expected a ${Array_.name} for ${dtype}, got ${describe(data)}`,
    );
  }
  if (!Array.isArray(shape)) {
    throw new ReinmaxInputError(
      `${argument}.shape`,
      `expected an array of dimensions, got ${describe(shape)}`,
    );
  }
  let elements = 1n;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new ReinmaxInputError(`${argument}.shape[${i}]`, `expected an integer >= 0, got ${describe(d)}`);
    }
    elements *= BigInt(d);
  }
  if (elements !== BigInt(data.length)) {
    throw new ReinmaxInputError(
      `${argument}.data`,
      `expected ${elements} elements for shape [${shape.join(", ")}], got ${data.length}`,
    );
  }
  // A copy of the shape, so that a caller changing it between this check and the write cannot matter.
  return {
    dtype,
    shape: shape.slice(),
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/**
 * Reads safetensors bytes written by {@link encodeSafetensors} or by the reference implementation (with the
 * dtypes of {@link SafetensorsDtype}). Everything in the header is checked against the bytes present before
 * anything sized by it is allocated: the header length, the JSON, each entry's dtype, shape and byte range,
 * that the ranges tile the data section exactly, and the checksums in the metadata when it has them. Any
 * failure throws a {@link CheckpointError} naming `source` and what was expected; nothing of the file is
 * returned then. Each tensor's data is a copy, so `bytes` may be reused.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): DecodedSafetensors {
  if (!(bytes instanceof Uint8Array)) {
    throw new ReinmaxInputError("bytes", `expected a Uint8Array, got ${describe(bytes)}`);
  }
  if (typeof source !== "string") {
    throw new ReinmaxInputError("source", `expected a string, got ${describe(source)}`);
  }
  if (bytes.length < 8) {
    throw new CheckpointError(
      source,
      `truncated safetensors file: expected at least 8 bytes (the header length), found ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Read as two halves: a 64-bit length above 2^53 must not round to a plausible number.
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const available = bytes.length - 8;
  if (high !== 0 || low > MAX_HEADER_BYTES || low > available) {
    const declared = (BigInt(high) << 32n) | BigInt(low);
    throw new CheckpointError(
      source,
      `expected a header length of at most ${Math.min(available, MAX_HEADER_BYTES)} bytes ` +
        `(${available} bytes follow the length, and at most ${MAX_HEADER_BYTES} are allowed), ` +
        `found ${declared}: the file is truncated or not safetensors`,
    );
  }
  const headerLength = low;
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  // The reference reader requires the JSON to open at once; a file it refuses should not load here either.
  if (headerLength === 0 || bytes[8] !== 0x7b) {
    throw new CheckpointError(
      source,
      `expected the header to be a JSON object starting with "{", found ` +
        (headerLength === 0 ? "an empty header" : `byte 0x${bytes[8].toString(16).padStart(2, "0")}`),
    );
  }

  let text: string;
  let header: unknown;
  try {
    // ignoreBOM keeps a byte-order mark in the text, where JSON.parse refuses it as the reference does.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
  } catch (e) {
    throw new CheckpointError(source, `expected the header to be UTF-8 text, found invalid bytes`, {
      cause: e,
    });
  }
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(source, `expected the header to be valid JSON (${errorMessage(e)})`, {
      cause: e,
    });
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new CheckpointError(source, `expected the header to be a JSON object, found ${describe(header)}`);
  }
  const record = header as Record<string, unknown>;
  const names = keysInOrder(text, source);

  const metadata: Record<string, string> = {};
  if (Object.hasOwn(record, METADATA_KEY)) {
    const m = record[METADATA_KEY];
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      throw new CheckpointError(
        source,
        `expected "${METADATA_KEY}" to be an object of strings, found ${describe(m)}`,
      );
    }
    for (const [key, value] of Object.entries(m)) {
      if (typeof value !== "string") {
        throw new CheckpointError(
          source,
          `expected "${METADATA_KEY}" to hold only strings, found ${describe(value)} under ${
            JSON.stringify(key)
          }`,
        );
      }
      // defineProperty, not assignment: a key "__proto__" must stay a key and not replace the prototype.
      Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }

  const entries: DecodedLayout[] = [];
  for (const name of names) {
    if (name !== METADATA_KEY) entries.push(checkEntry(name, record[name], dataLength, source));
  }

  // The format requires the ranges to cover the data section exactly: no byte shared by two tensors, none
  // belonging to no tensor. Sorting by (begin, end) puts an empty range before a non-empty one at the same
  // place, so contiguity can be checked pairwise.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: DecodedLayout | undefined;
  for (const e of sorted) {
    if (e.begin !== covered) {
      const what = e.begin < covered ? "overlaps" : "leaves a gap after";
      const before = previous
        ? `${JSON.stringify(previous.name)} (bytes ${previous.begin}..${previous.end})`
        : "the start of the data section";
      throw new CheckpointError(
        source,
        `expected the tensors' byte ranges to tile the data section, but ${JSON.stringify(e.name)} ` +
          `(bytes ${e.begin}..${e.end}) ${what} ${before}`,
      );
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength) {
    throw new CheckpointError(
      source,
      `expected the tensors to cover all ${dataLength} bytes of the data section, they cover ${covered} ` +
        `(the file has trailing bytes or lacks a tensor)`,
    );
  }

  const data = bytes.subarray(dataStart);
  verifyChecksums(metadata, entries, data, source);

  const tensors = new Map<string, DecodedTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    // slice copies into a fresh buffer, which is aligned for every element type whatever the file's offsets.
    const copy = data.slice(begin, end);
    if (!LITTLE_ENDIAN_HOST) swapBytes(copy, WIDTHS[dtype]);
    tensors.set(name, { dtype, shape, data: new ARRAYS[dtype](copy.buffer) } as DecodedTensor);
  }
  return { metadata, tensors };
}

interface DecodedLayout extends Layout {
  shape: number[];
}

// Both or neither: encodeSafetensors writes both, and a file from another writer has neither. One without
// the other means a flipped byte renamed a key, which would otherwise switch its check off unnoticed. The
// header's is checked first, so that a corrupt header is reported as such rather than as corrupt data.
function verifyChecksums(
  metadata: Record<string, string>,
  entries: readonly Layout[],
  data: Uint8Array,
  source: string,
): void {
  const hasData = Object.hasOwn(metadata, CHECKSUM_KEY);
  const hasHeader = Object.hasOwn(metadata, HEADER_CHECKSUM_KEY);
  if (!hasData && !hasHeader) return;
  if (hasData !== hasHeader) {
    const [present, absent] = hasData
      ? [CHECKSUM_KEY, HEADER_CHECKSUM_KEY]
      : [HEADER_CHECKSUM_KEY, CHECKSUM_KEY];
    throw new CheckpointError(
      source,
      `corrupt checkpoint: expected the metadata to hold both "${CHECKSUM_KEY}" and ` +
        `"${HEADER_CHECKSUM_KEY}" ` +
        `or neither, found "${present}" without "${absent}"`,
    );
  }
  for (const key of [HEADER_CHECKSUM_KEY, CHECKSUM_KEY]) {
    if (!CHECKSUM_PATTERN.test(metadata[key])) {
      throw new CheckpointError(
        source,
        `expected "${key}" to be "crc32:" and 8 lowercase hex digits, found ${JSON.stringify(metadata[key])}`,
      );
    }
  }
  const canonical = headerJson(
    Object.entries(metadata).map((
      [k, v],
    ): [string, string] => [k, k === HEADER_CHECKSUM_KEY ? PLACEHOLDER : v]),
    entries,
  );
  const checks = [
    [HEADER_CHECKSUM_KEY, "header", () => checksumOf(new TextEncoder().encode(canonical))],
    [CHECKSUM_KEY, "data", () => checksumOf(data)],
  ] as const;
  for (const [key, what, compute] of checks) {
    const actual = compute();
    if (actual !== metadata[key]) {
      throw new CheckpointError(
        source,
        `corrupt checkpoint: "${key}" in the metadata is ${metadata[key]}, the ${what}'s checksum is ` +
          `${actual} (the file was damaged, or rewritten by a tool that kept the old metadata)`,
      );
    }
  }
}

function checkEntry(
  name: string,
  value: unknown,
  dataLength: number,
  source: string,
): DecodedLayout {
  const fail = (message: string) => new CheckpointError(source, `tensor ${JSON.stringify(name)}: ${message}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fail(`expected an object with dtype, shape and data_offsets, found ${describe(value)}`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype)) {
    throw fail(`expected a dtype among ${DTYPES.join(", ")}, found ${describe(dtype)}`);
  }
  if (!Array.isArray(shape)) {
    throw fail(`expected shape to be an array of dimensions, found ${describe(shape)}`);
  }
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw fail(`expected shape[${i}] to be an integer >= 0, found ${describe(d)}`);
    }
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => typeof o === "number" && Number.isSafeInteger(o))
  ) {
    throw fail(`expected data_offsets to be two integers [begin, end], found ${describe(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (!(begin >= 0 && begin <= end && end <= dataLength)) {
    throw fail(
      `expected data_offsets [begin, end] with 0 <= begin <= end <= ${dataLength} ` +
        `(the data section's length), ` +
        `found [${begin}, ${end}]`,
    );
  }
  // In BigInt, stopping once past the range: huge dimensions can neither round nor wrap into a small product,
  // and a header of many huge dimensions cannot make the product itself expensive.
  const width = BigInt(WIDTHS[dtype]);
  const range = BigInt(end - begin);
  let size = shape.includes(0) ? 0n : width;
  for (const d of shape) {
    if (size > range) break;
    size *= BigInt(d);
  }
  if (size !== range) {
    const product = size > range ? `more than ${range}` : `${size}`;
    throw fail(
      `expected data_offsets to span shape [${shape.join(", ")}] × ${width} bytes of ${dtype} = ` +
        `${product} ` +
        `bytes, found [${begin}, ${end}] (${range} bytes)`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/**
 * The header's top-level keys in the order they appear in `text`, which must be valid JSON (it has been
 * parsed). JSON.parse keeps the last of duplicate keys and puts integer-like keys first, so it can tell
 * neither the file's order nor that a name was given twice; this scan can, at every depth, so that the
 * second entry of a tensor or of a metadata key is refused rather than silently preferred.
 */
function keysInOrder(text: string, source: string): string[] {
  const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c;
  const OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d;
  // One entry per open container: the keys seen so far in an object, null for an array.
  const open: (Set<string> | null)[] = [];
  const top: string[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      let escaped = false;
      // The bound only guards against a bug here: in valid JSON every string closes.
      for (let d = text.charCodeAt(j); d !== QUOTE && j < text.length; d = text.charCodeAt(j)) {
        if (d === BACKSLASH) {
          escaped = true;
          j += 2;
        } else {
          j++;
        }
      }
      if (expectKey) {
        const key: string = escaped ? JSON.parse(text.slice(i, j + 1)) : text.slice(i + 1, j);
        const keys = open[open.length - 1]!;
        if (keys.has(key)) {
          const where = open.length === 1 ? "the header" : "an object of the header";
          throw new CheckpointError(
            source,
            `expected unique keys, found ${JSON.stringify(key)} twice in ${where}`,
          );
        }
        keys.add(key);
        if (open.length === 1) top.push(key);
        expectKey = false;
      }
      i = j;
    } else if (c === OPEN_OBJECT) {
      open.push(new Set());
      expectKey = true;
    } else if (c === OPEN_ARRAY) {
      open.push(null);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
      expectKey = false;
    } else if (c === COMMA) {
      expectKey = open[open.length - 1] !== null;
    }
  }
  return top;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
