// The safetensors container for checkpoints: round trips of every dtype, the bytes read back by an
// independent reader written here from the format's description, every kind of malformed file refused with a
// CheckpointError naming it, and seeded truncations and byte flips. Also the table CRC-32 against a bitwise
// one at every length and alignment the block loop can meet.
import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "@std/assert";
import { crcBitwise } from "./reference/crc32.ts";
import { testRandom } from "./util.ts";
import { CheckpointError, ReinmaxInputError } from "../mod.ts";
import {
  CONTENTS_CHECKSUM_KEY,
  crc32,
  type DecodedSafetensors,
  decodeSafetensors,
  encodeSafetensors,
  LEGACY_CHECKSUM_KEYS,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from "./internals.ts";

// ---------------------------------------------------------------------------------------------------------
// Independent references, written from the specifications rather than from the code under test.

const crcText = (bytes: Uint8Array) => `crc32:${crcBitwise(bytes).toString(16).padStart(8, "0")}`;

type Value = number | bigint;

// Each dtype's width and how DataView writes one element little-endian, whatever the host's byte order.
const LAYOUT: Record<SafetensorsDtype, { width: number; put: (v: DataView, at: number, x: Value) => void }> =
  {
    F64: { width: 8, put: (v, at, x) => v.setFloat64(at, x as number, true) },
    F32: { width: 4, put: (v, at, x) => v.setFloat32(at, x as number, true) },
    I64: { width: 8, put: (v, at, x) => v.setBigInt64(at, x as bigint, true) },
    U64: { width: 8, put: (v, at, x) => v.setBigUint64(at, x as bigint, true) },
    I32: { width: 4, put: (v, at, x) => v.setInt32(at, x as number, true) },
    U32: { width: 4, put: (v, at, x) => v.setUint32(at, x as number, true) },
    I16: { width: 2, put: (v, at, x) => v.setInt16(at, x as number, true) },
    U16: { width: 2, put: (v, at, x) => v.setUint16(at, x as number, true) },
    I8: { width: 1, put: (v, at, x) => v.setInt8(at, x as number) },
    U8: { width: 1, put: (v, at, x) => v.setUint8(at, x as number) },
  };

/** The little-endian bytes of `values` as `dtype`. */
function littleEndian(dtype: SafetensorsDtype, values: ArrayLike<Value>): Uint8Array<ArrayBuffer> {
  const { width, put } = LAYOUT[dtype];
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) put(view, i * width, values[i]);
  return out;
}

interface IndependentEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
  bytes: Uint8Array;
}

/**
 * A minimal safetensors reader from the format's description: the 8-byte little-endian length, the JSON
 * header, and each tensor's bytes sliced from the data section. It checks nothing the test does not assert.
 */
function readIndependently(file: Uint8Array): {
  headerLength: number;
  headerText: string;
  metadata: Record<string, string>;
  order: string[];
  entries: Map<string, IndependentEntry>;
} {
  let headerLength = 0;
  for (let i = 7; i >= 0; i--) headerLength = headerLength * 256 + file[i];
  const headerText = new TextDecoder().decode(file.subarray(8, 8 + headerLength));
  const header = JSON.parse(headerText) as Record<string, unknown>;
  const data = file.subarray(8 + headerLength);
  const entries = new Map<string, IndependentEntry>();
  const order: string[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [begin, end] } = value as {
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    };
    entries.set(name, { dtype, shape, begin, end, bytes: data.subarray(begin, end) });
  }
  // Object.entries puts integer-like keys first, so the file's order is taken from where each name appears.
  for (const name of entries.keys()) order.push(name);
  order.sort((a, b) =>
    headerText.indexOf(`${JSON.stringify(a)}:{`) - headerText.indexOf(`${JSON.stringify(b)}:{`)
  );
  return {
    headerLength,
    headerText,
    metadata: (header.__metadata__ ?? {}) as Record<string, string>,
    order,
    entries,
  };
}

/**
 * The contents checksum computed from its description (CONTENTS_CHECKSUM_KEY's documentation), bit by bit:
 * tensors in the order of their names' code points, each as name, dtype, shape and little-endian bytes, then
 * the metadata but the checksum keys, each field followed by a 0 byte.
 */
function contentsCrc(file: ReturnType<typeof readIndependently>): string {
  const parts: Uint8Array[] = [];
  const text = (t: string) => parts.push(new TextEncoder().encode(t), Uint8Array.of(0));
  const codePoints = (a: string, b: string) => {
    const x = Array.from(a, (c) => c.codePointAt(0)!), y = Array.from(b, (c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  for (const name of [...file.entries.keys()].sort(codePoints)) {
    const e = file.entries.get(name)!;
    text(name);
    text(e.dtype);
    text(e.shape.join(","));
    parts.push(e.bytes);
  }
  const checksums = [CONTENTS_CHECKSUM_KEY, LEGACY_CHECKSUM_KEYS.data, LEGACY_CHECKSUM_KEYS.header];
  for (const key of Object.keys(file.metadata).sort(codePoints)) {
    if (checksums.includes(key)) continue;
    text(key);
    text(file.metadata[key]);
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, (at += p.length) - p.length);
  return crcText(all);
}

/** A file assembled by hand: `header` (a string is used verbatim), padded with spaces, then `data`. */
function assemble(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  { align = true, declared }: { align?: boolean; declared?: bigint } = {},
): Uint8Array<ArrayBuffer> {
  let text = typeof header === "string" ? header : JSON.stringify(header);
  if (align) text += " ".repeat((8 - (new TextEncoder().encode(text).length % 8)) % 8);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function assertCheckpointError(fn: () => unknown, source: string, message: RegExp): CheckpointError {
  const error = assertThrows(fn, CheckpointError);
  assertEquals(error.source, source, error.message);
  assertMatch(error.message, message);
  return error;
}

/** Byte-level equality of two typed arrays, so that NaN payloads and −0 count. */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.every((v, i) => v === y[i]);
}

function assertSameTensors(
  decoded: DecodedSafetensors["tensors"],
  expected: ReadonlyMap<string, SafetensorsTensor>,
  label = "",
): void {
  assertEquals([...decoded.keys()], [...expected.keys()], `${label}: names in order`);
  for (const [name, want] of expected) {
    const got = decoded.get(name)!;
    assertEquals([got.dtype, got.shape], [want.dtype, [...want.shape]], `${label}: ${name}`);
    assertEquals(got.data.constructor, want.data.constructor, `${label}: ${name}'s array type`);
    assert(sameBytes(got.data, want.data), `${label}: ${name}'s elements differ`);
  }
}

/** One tensor of every dtype, with each type's extremes, plus a scalar and empty tensors. */
function everyDtype(): Map<string, SafetensorsTensor> {
  return new Map<string, SafetensorsTensor>([
    ["f64", {
      dtype: "F64",
      shape: [2, 3],
      data: Float64Array.of(-0, 1e-310, Math.PI, -Infinity, NaN, 1e308),
    }],
    ["f32", { dtype: "F32", shape: [5], data: Float32Array.of(-0, 1e-45, 3.4e38, Infinity, -1.5) }],
    ["i64", { dtype: "I64", shape: [3], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, -1n) }],
    ["u64", { dtype: "U64", shape: [1, 2], data: BigUint64Array.of(2n ** 64n - 1n, 12345678901234567n) }],
    ["i32", { dtype: "I32", shape: [2, 2], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1, -1, 0) }],
    ["u32", { dtype: "U32", shape: [3], data: Uint32Array.of(2 ** 32 - 1, 0, 0x80000000) }],
    ["i16", { dtype: "I16", shape: [3], data: Int16Array.of(-32768, 32767, -2) }],
    ["u16", { dtype: "U16", shape: [1, 1, 2], data: Uint16Array.of(65535, 256) }],
    ["i8", { dtype: "I8", shape: [3], data: Int8Array.of(-128, 127, -1) }],
    ["u8", { dtype: "U8", shape: [7], data: Uint8Array.of(0, 1, 2, 127, 128, 254, 255) }],
    ["scalar", { dtype: "F32", shape: [], data: Float32Array.of(2.5) }],
    ["empty", { dtype: "I32", shape: [0], data: new Int32Array(0) }],
    ["empty 3×0×2", { dtype: "F64", shape: [3, 0, 2], data: new Float64Array(0) }],
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// CRC-32

Deno.test("crc32: agrees with a bitwise CRC at every length 0..80 and alignment, and in pieces", () => {
  const random = testRandom(11);
  const buffer = Uint8Array.from({ length: 100 }, () => Math.floor(random() * 256));
  // Lengths around the 16-byte blocks and every start alignment: the block loop and the tail both run.
  for (let start = 0; start < 4; start++) {
    for (let length = 0; length <= 80; length++) {
      const bytes = buffer.subarray(start, start + length);
      assertEquals(crc32(bytes), crcBitwise(bytes), `start ${start}, length ${length}`);
    }
  }
  const bytes = buffer.subarray(0, 70);
  for (let split = 0; split <= bytes.length; split++) {
    assertEquals(
      crc32(bytes.subarray(split), crc32(bytes.subarray(0, split))),
      crcBitwise(bytes),
      `${split}`,
    );
  }
  const large = Uint8Array.from({ length: 100_003 }, () => Math.floor(random() * 256));
  assertEquals(crc32(large), crcBitwise(large));
  assertEquals(crc32(new Uint8Array(1 << 16).fill(0xff)), crcBitwise(new Uint8Array(1 << 16).fill(0xff)));
});

// ---------------------------------------------------------------------------------------------------------
// Encoding and round trips

Deno.test("safetensors: every dtype, scalars and empty tensors round-trip bit for bit, in map order", () => {
  const tensors = everyDtype();
  const metadata = { config: "10x30", step: "1200", "": "empty key", "ünï": "✓ 𝔘" };
  const bytes = encodeSafetensors(tensors, metadata);
  const decoded = decodeSafetensors(bytes, "every.safetensors");
  assertSameTensors(decoded.tensors, tensors, "every dtype");
  for (const [key, value] of Object.entries(metadata)) assertEquals(decoded.metadata[key], value, key);
  assertEquals(
    Object.keys(decoded.metadata).sort(),
    [...Object.keys(metadata), CONTENTS_CHECKSUM_KEY].sort(),
  );

  // Deterministic, and decoding then encoding again gives the same bytes: the checksums already in the
  // decoded metadata are replaced by the same values.
  assertEquals(encodeSafetensors(everyDtype(), metadata), bytes);
  assertEquals(encodeSafetensors(decoded.tensors, decoded.metadata), bytes);

  // Nothing at all, and integer-like names, which a JSON object would reorder.
  const none = decodeSafetensors(encodeSafetensors(new Map(), {}), "none");
  assertEquals(none.tensors.size, 0);
  const numeric = new Map<string, SafetensorsTensor>([
    ["10", { dtype: "U8", shape: [1], data: Uint8Array.of(10) }],
    ["2", { dtype: "U8", shape: [1], data: Uint8Array.of(2) }],
    ["b", { dtype: "U8", shape: [1], data: Uint8Array.of(98) }],
    ["0", { dtype: "U8", shape: [1], data: Uint8Array.of(0) }],
  ]);
  assertSameTensors(decodeSafetensors(encodeSafetensors(numeric, {}), "numeric").tensors, numeric, "numeric");
});

Deno.test("safetensors: decoded tensors are aligned copies; views into a larger buffer encode right", () => {
  // An F32 tensor that is a view at byte offset 4 of a larger buffer, after a 3-byte U8 tensor: in the file
  // it starts at an offset that is not a multiple of 4.
  const backing = Float32Array.from({ length: 10 }, (_, i) => i + 0.25);
  const tensors = new Map<string, SafetensorsTensor>([
    ["odd", { dtype: "U8", shape: [3], data: Uint8Array.of(1, 2, 3) }],
    ["view", { dtype: "F32", shape: [2, 2], data: backing.subarray(1, 5) }],
  ]);
  const bytes = encodeSafetensors(tensors, {});
  const independent = readIndependently(bytes);
  assertEquals(independent.entries.get("view")!.begin, 3);
  const decoded = decodeSafetensors(bytes, "views");
  const view = decoded.tensors.get("view")!;
  assertEquals(Array.from(view.data as Float32Array), [1.25, 2.25, 3.25, 4.25]);
  assertEquals([view.data.byteOffset, view.data.buffer.byteLength], [0, 16]);
  bytes.fill(0);
  assertEquals(Array.from(view.data as Float32Array), [1.25, 2.25, 3.25, 4.25], "decoding copied the data");

  // A million floats: many 16-byte CRC blocks and a large copy.
  const big = Float32Array.from({ length: 1_000_003 }, (_, i) => Math.fround(Math.sin(i)));
  const large = new Map<string, SafetensorsTensor>([["big", {
    dtype: "F32",
    shape: [1_000_003],
    data: big,
  }]]);
  assertSameTensors(decodeSafetensors(encodeSafetensors(large, {}), "big").tensors, large, "big");
});

Deno.test("safetensors: an independent reader finds the layout, bytes and checksums encode promises", () => {
  const tensors = everyDtype();
  const bytes = encodeSafetensors(tensors, { note: "independent" });
  const file = readIndependently(bytes);

  // The data starts at an 8-byte boundary and the JSON is padded with spaces only (the padding is at most 7).
  assertEquals((8 + file.headerLength) % 8, 0);
  const json = file.headerText.trimEnd();
  assertMatch(file.headerText.slice(json.length), /^ {0,7}$/);
  assert(json.endsWith("}"));

  // Tensors in the map's order, back to back from offset 0, each with its dtype, shape and the little-endian
  // bytes of its values, computed here element by element.
  assertEquals(file.order, [...tensors.keys()]);
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const entry = file.entries.get(name)!;
    assertEquals([entry.dtype, entry.shape, entry.begin], [tensor.dtype, [...tensor.shape], offset], name);
    assertEquals(entry.bytes, littleEndian(tensor.dtype, tensor.data as ArrayLike<Value>), name);
    offset = entry.end;
  }
  assertEquals(8 + file.headerLength + offset, bytes.length, "no bytes after the last tensor");

  // The checksum is the CRC-32 of the contents as the format's documentation spells them out.
  assertEquals(file.metadata.note, "independent");
  assertEquals(file.metadata[CONTENTS_CHECKSUM_KEY], contentsCrc(file));

  // Every amount of padding, 0 to 7, as the metadata grows a byte at a time.
  const paddings = new Set<number>();
  for (let n = 0; n < 8; n++) {
    const f = readIndependently(encodeSafetensors(new Map(), { k: "x".repeat(n) }));
    assertEquals((8 + f.headerLength) % 8, 0);
    paddings.add(f.headerText.length - f.headerText.trimEnd().length);
  }
  assertEquals([...paddings].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("safetensors: a file from another writer loads (no checksums, unaligned, any key order)", () => {
  // Assembled by hand as another writer might: metadata last, names out of order and escaped, an F32 at an
  // unaligned offset, ranges listed in another order than the names, no padding.
  const f32 = littleEndian("F32", [1.5, -2]);
  const data = Uint8Array.of(7, ...f32, ...littleEndian("I16", [-3]));
  const header = `{"zeta":{"dtype":"U8","shape":[],"data_offsets":[0,1]},` +
    `"\\u0041lpha":{"dtype":"I16","shape":[1],"data_offsets":[9,11]},` +
    `"7":{"dtype":"F32","shape":[2],"data_offsets":[1,9]},` +
    `"__metadata__":{"format":"pt","__proto__":"kept as a key"}}`;
  const decoded = decodeSafetensors(assemble(header, data, { align: false }), "foreign");
  assertEquals([...decoded.tensors.keys()], ["zeta", "Alpha", "7"]);
  assertEquals(Array.from(decoded.tensors.get("7")!.data as Float32Array), [1.5, -2]);
  assertEquals(Array.from(decoded.tensors.get("Alpha")!.data as Int16Array), [-3]);
  assertEquals(decoded.tensors.get("zeta")!.shape, []);
  assertEquals(Object.getPrototypeOf(decoded.metadata), Object.prototype);
  assertEquals(Object.entries(decoded.metadata), [["format", "pt"], ["__proto__", "kept as a key"]]);
});

Deno.test("safetensors: encodeSafetensors names the argument at fault", () => {
  const ok = { dtype: "F32", shape: [2], data: new Float32Array(2) } as const;
  const cases: [string, () => unknown][] = [
    ["tensors", () => encodeSafetensors({} as never, {})],
    ["tensors", () => encodeSafetensors(new Map([["", ok]]), {})],
    ["tensors", () => encodeSafetensors(new Map([["__metadata__", ok]]), {})],
    ["tensors", () => encodeSafetensors(new Map([[7 as never, ok]]), {})],
    ['tensors["\\ud800"]', () => encodeSafetensors(new Map([["\ud800", ok]]), {})],
    ['tensors["t"]', () => encodeSafetensors(new Map([["t", null as never]]), {})],
    ['tensors["t"].dtype', () => encodeSafetensors(new Map([["t", { ...ok, dtype: "F16" as never }]]), {})],
    [
      'tensors["t"].data',
      () => encodeSafetensors(new Map([["t", { ...ok, data: new Float64Array(2) as never }]]), {}),
    ],
    ['tensors["t"].data', () => encodeSafetensors(new Map([["t", { ...ok, data: [0, 0] as never }]]), {})],
    ['tensors["t"].shape', () => encodeSafetensors(new Map([["t", { ...ok, shape: 2 as never }]]), {})],
    ['tensors["t"].shape[0]', () => encodeSafetensors(new Map([["t", { ...ok, shape: [-2] }]]), {})],
    ['tensors["t"].shape[1]', () => encodeSafetensors(new Map([["t", { ...ok, shape: [2, 0.5] }]]), {})],
    ['tensors["t"].data', () => encodeSafetensors(new Map([["t", { ...ok, shape: [3] }]]), {})],
    ['tensors["t"].data', () => encodeSafetensors(new Map([["t", { ...ok, shape: [2, 2] }]]), {})],
    ["metadata", () => encodeSafetensors(new Map(), null as never)],
    ["metadata", () => encodeSafetensors(new Map(), ["a"] as never)],
    ['metadata["step"]', () => encodeSafetensors(new Map(), { step: 3 as never })],
    ['metadata["k"]', () => encodeSafetensors(new Map(), { k: "\udc00" })],
  ];
  for (const [argument, fn] of cases) {
    assertEquals(assertThrows(fn, ReinmaxInputError).argument, argument, argument);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Malformed files

/** A small valid layout for hand-made files: two U8 tensors over 6 data bytes. */
const SIX = Uint8Array.of(1, 2, 3, 4, 5, 6);
const U8_SIX = '{"dtype":"U8","shape":[6],"data_offsets":[0,6]}';
function twoTensors(a: unknown = {}, b: unknown = {}): Record<string, unknown> {
  return {
    a: { dtype: "U8", shape: [2], data_offsets: [0, 2], ...(a as object) },
    b: { dtype: "U8", shape: [4], data_offsets: [2, 6], ...(b as object) },
  };
}

Deno.test("safetensors: the hand-made base file loads, so each failure below is the one change", () => {
  const decoded = decodeSafetensors(assemble(twoTensors(), SIX), "base");
  assertEquals(Array.from(decoded.tensors.get("b")!.data as Uint8Array), [3, 4, 5, 6]);
});

Deno.test("safetensors: a checksum that does not match names both values", () => {
  const bytes = encodeSafetensors(everyDtype(), { note: "n" });
  const stored = readIndependently(bytes).metadata[CONTENTS_CHECKSUM_KEY];
  const flipped = bytes.slice();
  flipped[bytes.length - 20] ^= 0x10;
  const actual = contentsCrc(readIndependently(flipped));
  assertNotEquals(actual, stored);
  const error = assertCheckpointError(
    () => decodeSafetensors(flipped, "flipped.safetensors"),
    "flipped.safetensors",
    /corrupt checkpoint/,
  );
  assert(error.message.includes(stored) && error.message.includes(actual), error.message);

  // A header that says something else than what the checksum was taken over: a renamed tensor, a metadata
  // value changed, a dtype of the same width.
  const headerLength = readIndependently(bytes).headerLength;
  const headerText = new TextDecoder().decode(bytes.subarray(0, 8 + headerLength));
  const edit = (find: string, replace: string) => {
    const at = headerText.indexOf(find);
    assert(at > 0 && find.length === replace.length, find);
    const copy = bytes.slice();
    copy.set(new TextEncoder().encode(replace), at);
    return copy;
  };
  for (const [find, replace] of [['"u16"', '"v16"'], ['"note":"n"', '"note":"m"'], ['"I32"', '"U32"']]) {
    assertCheckpointError(() => decodeSafetensors(edit(find, replace), "edited"), "edited", /contents/);
  }
  assertCheckpointError(
    () =>
      decodeSafetensors(
        assemble({ __metadata__: { [CONTENTS_CHECKSUM_KEY]: "crc32:XYZ" }, ...twoTensors() }, SIX),
        "form",
      ),
    "form",
    /expected "reinmax.contents_checksum" to be "crc32:" and 8 lowercase hex digits, found "crc32:XYZ"/,
  );
});

Deno.test("safetensors: a faithful rewrite by another writer (other tensor order, other JSON) still checks", () => {
  const tensors = everyDtype();
  const bytes = encodeSafetensors(tensors, { note: "kept", step: "12" });
  const file = readIndependently(bytes);
  // As Python's writer lays a file out: tensors sorted by name, offsets from 0 in that order, metadata keys in
  // another order, spaces after the commas, and no padding beyond what 8-byte alignment needs.
  const names = [...file.entries.keys()].sort().reverse();
  const chunks: Uint8Array[] = [];
  const header: Record<string, unknown> = {};
  const metadata = Object.fromEntries(Object.entries(file.metadata).reverse());
  header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const e = file.entries.get(name)!;
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    chunks.push(e.bytes);
    offset += e.bytes.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) data.set(c, (at += c.length) - c.length);
  const rewritten = assemble(JSON.stringify(header, null, 1).replace(/\n/g, " "), data);
  assertNotEquals(rewritten.length === bytes.length && rewritten.every((b, i) => b === bytes[i]), true);
  const decoded = decodeSafetensors(rewritten, "rewritten");
  for (const [name, want] of tensors) {
    assert(sameBytes(decoded.tensors.get(name)!.data, want.data), name);
  }
  assertEquals(decoded.metadata.note, "kept");
  // Damaged after the rewrite: refused.
  const damaged = rewritten.slice();
  damaged[damaged.length - 1] ^= 1;
  assertCheckpointError(() => decodeSafetensors(damaged, "damaged"), "damaged", /corrupt checkpoint/);
});

Deno.test("safetensors: files of the earlier checksums are checked as they were written", async () => {
  // Written by the version that kept a checksum of the data section and one of the compact header.
  const bytes = await Deno.readFile(
    new URL("../fixtures/legacy-checkpoints/poly.safetensors", import.meta.url),
  );
  const file = readIndependently(bytes);
  assertEquals(
    file.metadata[LEGACY_CHECKSUM_KEYS.data],
    crcText(bytes.subarray(8 + file.headerLength)),
    "the fixture is what it claims to be",
  );
  assert(!(CONTENTS_CHECKSUM_KEY in file.metadata));
  decodeSafetensors(bytes, "legacy");
  const flipped = bytes.slice();
  flipped[flipped.length - 3] ^= 4;
  assertCheckpointError(() => decodeSafetensors(flipped, "legacy"), "legacy", /data section's checksum/);
  const at = new TextDecoder().decode(bytes.subarray(0, 8 + file.headerLength)).indexOf('"theta"');
  const renamed = bytes.slice();
  renamed[at + 1] = "T".charCodeAt(0);
  assertCheckpointError(() => decodeSafetensors(renamed, "legacy"), "legacy", /header's checksum/);

  // One checksum without the other: a renamed key must not switch its check off.
  const data = crcText(SIX);
  assertCheckpointError(
    () =>
      decodeSafetensors(
        assemble({ __metadata__: { [LEGACY_CHECKSUM_KEYS.data]: data }, ...twoTensors() }, SIX),
        "one",
      ),
    "one",
    /both "reinmax.checksum" and "reinmax.header_checksum" or neither/,
  );
});

Deno.test("safetensors: truncated files and impossible header lengths allocate nothing of that size", () => {
  const bytes = encodeSafetensors(everyDtype(), {});
  for (const length of [0, 1, 7]) {
    assertCheckpointError(
      () => decodeSafetensors(bytes.subarray(0, length), "short"),
      "short",
      new RegExp(`not a safetensors file, or a truncated one: it has ${length} bytes`),
    );
  }
  const headerLength = readIndependently(bytes).headerLength;
  for (const length of [8, 9, 8 + headerLength - 1, 8 + headerLength, bytes.length - 1]) {
    assertCheckpointError(() => decodeSafetensors(bytes.subarray(0, length), "cut"), "cut", /./);
  }

  // 16 bytes that claim gigabytes, exabytes, and just over the bound: refused at once, before any allocation
  // (memory stays flat, and nothing escapes as a RangeError).
  const rssBefore = Deno.memoryUsage().rss;
  const started = performance.now();
  for (const declared of [4n * 2n ** 30n, 2n ** 64n - 1n, 2n ** 53n + 1n, 100_000_001n, 9n]) {
    const file = assemble("{}      ", undefined, { align: false, declared });
    assertEquals(file.length, 16);
    const error = assertCheckpointError(
      () => decodeSafetensors(file, "claims.safetensors"),
      "claims.safetensors",
      /not a safetensors file, or a truncated one/,
    );
    assert(
      error.message.includes(`declare a header of ${declared} bytes, but 8 bytes follow`),
      error.message,
    );
  }
  assert(performance.now() - started < 100, "refusing the claims took over 100 ms");
  assert(Deno.memoryUsage().rss - rssBefore < 64 * 2 ** 20, "memory grew while refusing the claims");
});

Deno.test("safetensors: offsets past the end, overlaps, gaps and trailing bytes are refused", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "past end",
      assemble(twoTensors({}, { data_offsets: [2, 7] }), SIX),
      /0 <= begin <= end <= 6 .*found \[2, 7\]/,
    ],
    ["reversed", assemble(twoTensors({}, { data_offsets: [6, 2] }), SIX), /found \[6, 2\]/],
    ["negative", assemble(twoTensors({ data_offsets: [-1, 1] }), SIX), /found \[-1, 1\]/],
    [
      "overlap",
      assemble(twoTensors({ shape: [3], data_offsets: [0, 3] }, { shape: [3], data_offsets: [2, 5] }), SIX),
      /"b" \(bytes 2\.\.5\) overlaps "a" \(bytes 0\.\.3\)/,
    ],
    [
      "same range",
      assemble(twoTensors({ shape: [2] }, { shape: [2], data_offsets: [0, 2] }), SIX),
      /overlaps/,
    ],
    [
      "gap",
      assemble(twoTensors({}, { shape: [3], data_offsets: [3, 6] }), SIX),
      /"b" \(bytes 3\.\.6\) leaves a gap/,
    ],
    [
      "late start",
      assemble(twoTensors({ data_offsets: [1, 3] }, { shape: [3], data_offsets: [3, 6] }), SIX),
      /gap/,
    ],
    ["trailing", assemble(twoTensors(), Uint8Array.of(...SIX, 0)), /cover all 7 bytes .*they cover 6/],
    ["no tensors", assemble({}, SIX), /cover all 6 bytes .*they cover 0/],
    ["three offsets", assemble(twoTensors({ data_offsets: [0, 1, 2] }), SIX), /two integers \[begin, end\]/],
    ["float offset", assemble(twoTensors({ data_offsets: [0, 1.5] }), SIX), /two integers/],
    ["string offset", assemble(twoTensors({ data_offsets: ["0", "2"] }), SIX), /two integers/],
  ];
  for (const [label, file, message] of cases) {
    assertCheckpointError(() => decodeSafetensors(file, label), label, message);
  }
});

Deno.test("safetensors: shapes that do not match their range, even by overflowing, are refused", () => {
  const f = (entry: unknown, data = SIX) => assemble({ t: entry, ...{} }, data);
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "short",
      f({ dtype: "U8", shape: [5], data_offsets: [0, 6] }),
      /shape \[5\] × 1 bytes of U8 = 5 bytes, found \[0, 6\]/,
    ],
    ["wide", f({ dtype: "U16", shape: [2, 2], data_offsets: [0, 6] }), /= more than 6 bytes/],
    ["scalar", f({ dtype: "U8", shape: [], data_offsets: [0, 6] }), /shape \[\] × 1 bytes of U8 = 1 bytes/],
    // 2^64 elements: a product in 64-bit (or 32-bit) integers wraps to 0 and would match an empty range.
    [
      "wraps",
      f({ dtype: "U8", shape: [65536, 65536, 65536, 65536], data_offsets: [0, 0] }, new Uint8Array(0)),
      /more than 0/,
    ],
    [
      "huge",
      f({ dtype: "F64", shape: [2 ** 53 - 1, 2 ** 53 - 1], data_offsets: [0, 0] }, new Uint8Array(0)),
      /more than 0/,
    ],
    [
      "unsafe",
      f({ dtype: "U8", shape: [2 ** 53], data_offsets: [0, 6] }),
      /shape\[0\] to be an integer >= 0/,
    ],
    [
      "negative",
      f({ dtype: "U8", shape: [-6], data_offsets: [0, 6] }),
      /shape\[0\] to be an integer >= 0, found -6/,
    ],
    ["fraction", f({ dtype: "U8", shape: [1.5, 4], data_offsets: [0, 6] }), /shape\[0\]/],
    ["not array", f({ dtype: "U8", shape: 6, data_offsets: [0, 6] }), /shape to be an array/],
    [
      "no shape",
      f({ dtype: "U8", data_offsets: [0, 6] }),
      /shape to be an array of dimensions, found undefined/,
    ],
  ];
  for (const [label, file, message] of cases) {
    const error = assertCheckpointError(() => decodeSafetensors(file, label), label, message);
    assertMatch(error.message, /tensor "t"/);
  }
  // A zero anywhere makes an empty tensor, however large the other dimensions.
  const empty = decodeSafetensors(
    f({ dtype: "F32", shape: [2 ** 53 - 1, 0], data_offsets: [0, 0] }, new Uint8Array(0)),
    "empty",
  );
  assertEquals(empty.tensors.get("t")!.data.length, 0);
});

Deno.test("safetensors: unknown dtypes, bad metadata, invalid JSON and duplicate keys are refused", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "F16",
      assemble(twoTensors({ dtype: "F16", shape: [1] })),
      /expected a dtype among F64, F32.*found "F16"/,
    ],
    ["lowercase", assemble(twoTensors({ dtype: "f32" }), SIX), /found "f32"/],
    ["no dtype", assemble({ t: { shape: [6], data_offsets: [0, 6] } }, SIX), /dtype among .*found undefined/],
    ["entry not object", assemble({ t: [1, 2] }, SIX), /tensor "t": expected an object .*found an array/],
    [
      "number value",
      assemble({ __metadata__: { step: 3 }, ...twoTensors() }, SIX),
      /only strings, found 3 under "step"/,
    ],
    ["null value", assemble({ __metadata__: { a: null }, ...twoTensors() }, SIX), /only strings, found null/],
    [
      "nested",
      assemble({ __metadata__: { a: { b: "c" } }, ...twoTensors() }, SIX),
      /only strings, found an object/,
    ],
    [
      "metadata array",
      assemble({ __metadata__: ["x"], ...twoTensors() }, SIX),
      /"__metadata__" to be an object/,
    ],
    [
      "metadata string",
      assemble({ __metadata__: "x", ...twoTensors() }, SIX),
      /"__metadata__" to be an object/,
    ],
    ["invalid JSON", assemble('{"a": {"dtype": "U8",}', SIX), /valid JSON/],
    ["unclosed", assemble("{", SIX), /valid JSON/],
    ["array header", assemble("[1, 2]", SIX), /starting with "\{", found byte 0x5b/],
    ["leading space", assemble(" {}"), /starting with "\{", found byte 0x20/],
    ["byte-order mark", assemble("\ufeff{}"), /starting with "\{", found byte 0xef/],
    ["empty header", assemble("", new Uint8Array(0), { align: false }), /an empty header/],
    ["two objects", assemble("{}{}"), /valid JSON/],
    [
      "duplicate tensor",
      assemble(
        `{"a":${U8_SIX},"a":${U8_SIX}}`,
        SIX,
      ),
      /unique keys, found "a" twice in the header/,
    ],
    [
      "escaped duplicate",
      assemble(
        `{"ab":${U8_SIX},"a\\u0062":${U8_SIX}}`,
        SIX,
      ),
      /found "ab" twice/,
    ],
    [
      "duplicate metadata key",
      assemble('{"__metadata__":{"k":"1","k":"2"},"t":{"dtype":"U8","shape":[6],"data_offsets":[0,6]}}', SIX),
      /found "k" twice in an object of the header/,
    ],
    [
      "duplicate field",
      assemble('{"t":{"dtype":"U8","shape":[6],"dtype":"I8","data_offsets":[0,6]}}', SIX),
      /found "dtype" twice/,
    ],
  ];
  for (const [label, file, message] of cases) {
    assertCheckpointError(() => decodeSafetensors(file, label), label, message);
  }

  const invalidUtf8 = assemble('{"a":1}');
  invalidUtf8[12] = 0xff;
  assertCheckpointError(() => decodeSafetensors(invalidUtf8, "utf8"), "utf8", /UTF-8/);
  // A string that mentions brackets and quotes must not confuse the duplicate-key scan.
  const tricky = '{"__metadata__":{"k":"}{\\"a\\":[,"},"t":{"dtype":"U8","shape":[6],"data_offsets":[0,6]}}';
  assertEquals(decodeSafetensors(assemble(tricky, SIX), "tricky").metadata.k, '}{"a":[,');
  assertEquals(
    assertThrows(() => decodeSafetensors([1, 2] as never, "x"), ReinmaxInputError).argument,
    "bytes",
  );
});

// ---------------------------------------------------------------------------------------------------------
// Fuzzing

Deno.test("safetensors: 2,000 seeded truncations and flips end in a CheckpointError or the original", () => {
  const random = testRandom(4242);
  const int = (n: number) => Math.floor(random() * n);
  const tensors = new Map<string, SafetensorsTensor>([
    ["encoder.weight", {
      dtype: "F32",
      shape: [3, 4],
      data: Float32Array.from({ length: 12 }, (_, i) => i / 7),
    }],
    ["encoder.bias", { dtype: "F32", shape: [4], data: Float32Array.of(0.5, -0.5, 1, -1) }],
    ["steps", { dtype: "I32", shape: [], data: Int32Array.of(1200) }],
    ["seeds", { dtype: "U32", shape: [2], data: Uint32Array.of(7, 0xdeadbeef) }],
    ["mask", { dtype: "U8", shape: [5], data: Uint8Array.of(1, 0, 1, 1, 0) }],
    ["none", { dtype: "F64", shape: [0, 3], data: new Float64Array(0) }],
    ["counter", { dtype: "U64", shape: [1], data: BigUint64Array.of(2n ** 40n) }],
  ]);
  const metadata = { config: "10x30", estimator: "reinmax", tau: "1.25" };
  const original = encodeSafetensors(tensors, metadata);
  const file = readIndependently(original);
  const paddingStart = 8 + file.headerText.trimEnd().length;
  const paddingEnd = 8 + file.headerLength;
  assert(paddingEnd > paddingStart, "the fixture should have padding to rewrite; change a metadata value");
  const WHITESPACE = [0x20, 0x09, 0x0a, 0x0d];

  const counts = { truncated: 0, flippedError: 0, flippedParsed: 0, repadded: 0 };
  for (let i = 0; i < 2000; i++) {
    const kind = int(10);
    let mutant: Uint8Array;
    if (kind < 3) {
      mutant = original.slice(0, int(original.length));
    } else if (kind < 9) {
      mutant = original.slice();
      for (let k = 1 + int(3); k > 0; k--) mutant[int(mutant.length)] ^= 1 + int(255);
    } else {
      // Other JSON whitespace in the padding: still the same file, so it must load as the original.
      mutant = original.slice();
      for (let at = paddingStart; at < paddingEnd; at++) mutant[at] = WHITESPACE[int(4)];
    }
    const started = performance.now();
    try {
      const decoded = decodeSafetensors(mutant, "mutant.safetensors", { requireChecksum: true });
      assertSameTensors(decoded.tensors, tensors, `mutation ${i}`);
      assertEquals(
        decoded.metadata,
        { ...metadata, [CONTENTS_CHECKSUM_KEY]: file.metadata[CONTENTS_CHECKSUM_KEY] },
        `mutation ${i}`,
      );
      if (kind === 9) counts.repadded++;
      else counts.flippedParsed++;
      assert(kind >= 3, `mutation ${i}: a truncated file loaded`);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw new Error(`mutation ${i}: ${e}`, { cause: e });
      assertEquals(e.source, "mutant.safetensors");
      assert(kind !== 9, `mutation ${i}: rewriting the padding with whitespace was refused: ${e.message}`);
      if (kind < 3) counts.truncated++;
      else counts.flippedError++;
    }
    assert(performance.now() - started < 1000, `mutation ${i} took over a second`);
  }
  // Each outcome must occur, or the mutations are not exercising what they claim to. Flips that parse are
  // rare (a flip must land in the padding and give whitespace), so only the other three are required.
  for (const name of ["truncated", "flippedError", "repadded"] as const) {
    assert(counts[name] > 100, `${name}: only ${counts[name]} of 2000 (${JSON.stringify(counts)})`);
  }
});
