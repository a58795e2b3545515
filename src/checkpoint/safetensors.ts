/**
 * The safetensors container (https://github.com/huggingface/safetensors), in which checkpoints are written so
 * that PyTorch and NumPy users can open the weights with `safetensors.torch.load_file`: an 8-byte
 * little-endian header length N, N bytes of a UTF-8 JSON object padded with spaces so that the data starts at
 * an 8-byte boundary, then the tensors' raw little-endian bytes, back to back. The JSON maps each tensor name
 * to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data section) and may hold
 * `"__metadata__"`, an object of strings, where {@link encodeSafetensors} records a CRC-32 of the file's
 * contents under {@link CONTENTS_CHECKSUM_KEY} so that {@link decodeSafetensors} can tell a corrupt file from
 * a good one. It is taken over what the file says — every tensor's name, dtype, shape and elements, in name
 * order, and every metadata value — not over how it is laid out, so a file that another writer (Python's
 * `safetensors`) rewrote faithfully, with its own tensor order and its own JSON, still checks.
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
 * The metadata key under which the CRC-32 of the file's contents is kept, as `crc32:` and 8 lowercase hex
 * digits. The CRC (zlib's) runs over, for each tensor in the order of its name's UTF-8 bytes: the name, a
 * 0 byte, the dtype, a 0 byte, the shape as decimal numbers joined by ",", a 0 byte, and its elements'
 * little-endian bytes; then, for each metadata key but this one in the same order: the key, a 0 byte, the
 * value, a 0 byte. Anyone can recompute it (tools/check_safetensors.py does, in Python).
 */
export const CONTENTS_CHECKSUM_KEY = "reinmax.contents_checksum";

/**
 * The keys of the checksums that files written before {@link CONTENTS_CHECKSUM_KEY} carry: a CRC-32 of the
 * data section as laid out, and of the header's compact JSON with its own value zeroed. Such files are
 * still checked that way, so they load only as they were written.
 */
export const LEGACY_CHECKSUM_KEYS = { data: "reinmax.checksum", header: "reinmax.header_checksum" } as const;

/**
 * The largest header accepted, the bound of the reference implementation: real headers are a few kilobytes
 * to a few megabytes, and a file claiming more is corrupt or hostile, not a checkpoint.
 */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";
const CHECKSUM_PATTERN = /^crc32:[0-9a-f]{8}$/;
// What the legacy header checksum was taken with in its own place.
const LEGACY_PLACEHOLDER = "crc32:00000000";

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
    if (!CHECKSUM_KEYS.has(key)) given.push([key, value]);
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
  const checksum = contentsChecksum(
    given,
    layout.map((entry, i) => ({ ...entry, bytes: views[i] })),
    LITTLE_ENDIAN_HOST,
  );
  const header = headerJson([...given, [CONTENTS_CHECKSUM_KEY, checksum]], layout);
  const draftLength = encoder.encode(header).length;
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
  const { written } = encoder.encodeInto(header, out.subarray(8, dataStart));
  out.fill(0x20, 8 + written, dataStart);
  return out;
}

const CHECKSUM_KEYS: ReadonlySet<string> = new Set([
  CONTENTS_CHECKSUM_KEY,
  LEGACY_CHECKSUM_KEYS.data,
  LEGACY_CHECKSUM_KEYS.header,
]);

/** Orders strings by their UTF-8 bytes (as Python's sorted() orders str, by code point). */
function byCodePoint(a: string, b: string): number {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * The checksum of {@link CONTENTS_CHECKSUM_KEY} over `metadata` (without the checksum keys) and the tensors'
 * elements (`bytes` in host order; `littleEndianBytes` says whether that is the file's order).
 */
function contentsChecksum(
  metadata: readonly [string, string][],
  tensors: readonly { name: string; dtype: SafetensorsDtype; shape: readonly number[]; bytes: Uint8Array }[],
  littleEndianBytes: boolean,
): string {
  const encoder = new TextEncoder();
  const zero = new Uint8Array(1);
  let crc = 0;
  const add = (bytes: Uint8Array) => crc = crc32(bytes, crc);
  const addText = (text: string) => {
    add(encoder.encode(text));
    add(zero);
  };
  for (const t of [...tensors].sort((a, b) => byCodePoint(a.name, b.name))) {
    addText(t.name);
    addText(t.dtype);
    addText(t.shape.join(","));
    if (littleEndianBytes) add(t.bytes);
    else {
      const swapped = t.bytes.slice();
      swapBytes(swapped, WIDTHS[t.dtype]);
      add(swapped);
    }
  }
  for (const [key, value] of [...metadata].sort(([a], [b]) => byCodePoint(a, b))) {
    if (CHECKSUM_KEYS.has(key)) continue;
    addText(key);
    addText(value);
  }
  return `crc32:${crc.toString(16).padStart(8, "0")}`;
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
 * that the ranges tile the data section exactly, and the checksums in the metadata when it has them. With
 * `requireChecksum`, a file without {@link CONTENTS_CHECKSUM_KEY} is refused too (a flipped byte in the
 * key's own name would otherwise switch its check off). Any failure throws a {@link CheckpointError} naming
 * `source` and what was expected; nothing of the file is returned then. Each tensor's data is a copy, so
 * `bytes` may be reused.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source: string,
  { requireChecksum = false }: { readonly requireChecksum?: boolean } = {},
): DecodedSafetensors {
  if (!(bytes instanceof Uint8Array)) {
    throw new ReinmaxInputError("bytes", `expected a Uint8Array, got ${describe(bytes)}`);
  }
  if (typeof source !== "string") {
    throw new ReinmaxInputError("source", `expected a string, got ${describe(source)}`);
  }
  if (bytes.length < 8) {
    throw new CheckpointError(
      source,
      `not a safetensors file, or a truncated one: it has ${bytes.length} bytes, fewer than the 8 of the ` +
        `header length`,
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
      `not a safetensors file, or a truncated one: its first 8 bytes declare a header of ${declared} bytes, ` +
        `but ${available} bytes follow them (and a header may have at most ${MAX_HEADER_BYTES})`,
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
  if (requireChecksum && !Object.hasOwn(metadata, CONTENTS_CHECKSUM_KEY)) {
    throw new CheckpointError(
      source,
      `corrupt checkpoint, or one written without its checksum: expected metadata "${CONTENTS_CHECKSUM_KEY}" ` +
        `(docs/checkpoints.md says how to compute it), found none`,
    );
  }
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

/**
 * Checks the file's checksum: the contents checksum where the metadata has one; else the two legacy
 * checksums (both or neither: a file with one only had a key renamed by a flipped byte, which would
 * otherwise switch its check off unnoticed); a file with none (another writer's) is not checked. A
 * contents checksum beside a legacy one is a legacy file's metadata carried into a rewrite; the contents
 * checksum, written last, decides.
 */
function verifyChecksums(
  metadata: Record<string, string>,
  entries: readonly Layout[],
  data: Uint8Array,
  source: string,
): void {
  const present = [CONTENTS_CHECKSUM_KEY, LEGACY_CHECKSUM_KEYS.header, LEGACY_CHECKSUM_KEYS.data].filter((
    key,
  ) => Object.hasOwn(metadata, key));
  for (const key of present) {
    if (!CHECKSUM_PATTERN.test(metadata[key])) {
      throw new CheckpointError(
        source,
        `corrupt checkpoint: expected "${key}" to be "crc32:" and 8 lowercase hex digits, found ` +
          `${JSON.stringify(metadata[key])}`,
      );
    }
  }
  const mismatch = (key: string, what: string, actual: string) =>
    new CheckpointError(
      source,
      `corrupt checkpoint: the ${what} checksum is ${actual}, but "${key}" in the metadata says ` +
        `${metadata[key]} (the file was damaged after it was written)`,
    );
  if (Object.hasOwn(metadata, CONTENTS_CHECKSUM_KEY)) {
    const actual = contentsChecksum(
      Object.entries(metadata),
      entries.map((e) => ({ ...e, bytes: data.subarray(e.begin, e.end) })),
      true,
    );
    if (actual !== metadata[CONTENTS_CHECKSUM_KEY]) {
      throw mismatch(CONTENTS_CHECKSUM_KEY, "contents'", actual);
    }
    return;
  }
  const hasData = Object.hasOwn(metadata, LEGACY_CHECKSUM_KEYS.data);
  const hasHeader = Object.hasOwn(metadata, LEGACY_CHECKSUM_KEYS.header);
  if (!hasData && !hasHeader) return;
  if (hasData !== hasHeader) {
    const [there, absent] = hasData
      ? [LEGACY_CHECKSUM_KEYS.data, LEGACY_CHECKSUM_KEYS.header]
      : [LEGACY_CHECKSUM_KEYS.header, LEGACY_CHECKSUM_KEYS.data];
    throw new CheckpointError(
      source,
      `corrupt checkpoint: expected the metadata to hold both "${LEGACY_CHECKSUM_KEYS.data}" and ` +
        `"${LEGACY_CHECKSUM_KEYS.header}" or neither, found "${there}" without "${absent}"`,
    );
  }
  const canonical = headerJson(
    Object.entries(metadata).map((
      [k, v],
    ): [string, string] => [k, k === LEGACY_CHECKSUM_KEYS.header ? LEGACY_PLACEHOLDER : v]),
    entries,
  );
  const header = checksumOf(new TextEncoder().encode(canonical));
  if (header !== metadata[LEGACY_CHECKSUM_KEYS.header]) {
    throw new CheckpointError(
      source,
      `corrupt checkpoint: the header's checksum is ${header}, but "${LEGACY_CHECKSUM_KEYS.header}" says ` +
        `${metadata[LEGACY_CHECKSUM_KEYS.header]}: the file was damaged, or it was written before ` +
        `checkpoints carried "${CONTENTS_CHECKSUM_KEY}" and another tool rewrote it (load and save it with ` +
        `the version of reinmax that wrote it)`,
    );
  }
  const dataChecksum = checksumOf(data);
  if (dataChecksum !== metadata[LEGACY_CHECKSUM_KEYS.data]) {
    throw mismatch(LEGACY_CHECKSUM_KEYS.data, "data section's", dataChecksum);
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
