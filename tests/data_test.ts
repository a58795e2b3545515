// The data layer: IDX and gzip parsing against corrupt input of every kind, the committed fixtures against
// their manifest and their Debian sources, ImageSet batches, PNG output read back by an independent decoder,
// and the examples' readers over a directory and over HTTP. No backend is needed.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { deflateSync, Gunzip, gunzipSync, gzipSync, unzlibSync } from "fflate";
import { fileReader, openDataset } from "../examples/data_source.ts";
import { crcBitwise } from "./reference/crc32.ts";
import { testRandom } from "./util.ts";
import {
  DatasetError,
  encodeIdx,
  encodePng,
  type FileReader,
  FIXTURES,
  type IdxArrays,
  type IdxType,
  imageGrid,
  ImageSet,
  loadFixture,
  loadMnistLike,
  parseIdx,
  ReinmaxInputError,
} from "../mod.ts";
import {
  crc32,
  DeflateError,
  gunzip,
  imageSetFromIdx,
  inflateInto,
  isGzip,
  MAX_INFLATE_INPUT_BYTES,
} from "./internals.ts";

const FIXTURES_DIR = new URL("../fixtures/", import.meta.url);
const DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist";
const DEBIAN_DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

// ---------------------------------------------------------------------------------------------------------
// Independent references, written from the specifications rather than from the code under test.

function u32be(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reads raw IDX bytes by the format's definition: null when the bytes are not a well-formed IDX file
 * (bad magic, unknown type, rank outside 1..8, a zero dimension, or a length other than the header's).
 */
function readIdxIndependently(bytes: Uint8Array): { code: number; shape: number[]; values: number[] } | null {
  const widths: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) return null;
  const code = bytes[2];
  const width = widths[code];
  const rank = bytes[3];
  if (!width || rank < 1 || rank > 8 || bytes.length < 4 + 4 * rank) return null;
  const shape = Array.from({ length: rank }, (_, i) => u32be(bytes, 4 + 4 * i));
  if (shape.includes(0)) return null;
  const elements = shape.reduce((p, d) => p * BigInt(d), 1n);
  const start = 4 + 4 * rank;
  if (elements * BigInt(width) !== BigInt(bytes.length - start)) return null;
  const values: number[] = [];
  for (let at = start; at < bytes.length; at += width) {
    const b = bytes.subarray(at, at + width);
    if (code === 0x08) values.push(b[0]);
    else if (code === 0x09) values.push((b[0] << 24) >> 24);
    else if (code === 0x0b) values.push(((b[0] << 8) | b[1]) << 16 >> 16);
    else if (code === 0x0c) values.push((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
    else {
      const reversed = Uint8Array.from(b).reverse(); // big-endian to the little-endian host
      values.push(width === 4 ? new Float32Array(reversed.buffer)[0] : new Float64Array(reversed.buffer)[0]);
    }
  }
  return { code, shape, values };
}

function sameNumbers(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!(Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i])) || a[i] === b[i])) return false;
  }
  return true;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function assertDatasetError(fn: () => unknown, source: string, message: RegExp): DatasetError {
  const error = assertThrows(fn, DatasetError);
  assertEquals(error.source, source, error.message);
  assertMatch(error.message, message);
  return error;
}

async function assertRejectsDataset(
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
function idxBytes(code: number, shape: number[], data: number[] | Uint8Array): Uint8Array<ArrayBuffer> {
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

const gz = (bytes: Uint8Array) => gzipSync(bytes, { level: 6, mtime: 0 });

// ---------------------------------------------------------------------------------------------------------
// CRC-32 and gzip

Deno.test("crc32: the standard check value and agreement with a bitwise CRC, also in pieces", () => {
  // "123456789" → 0xCBF43926 is the catalogued check value of CRC-32/ISO-HDLC (gzip, PNG).
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assertEquals(crc32(new Uint8Array(0)), 0);
  const random = testRandom(7);
  const bytes = Uint8Array.from({ length: 1000 }, () => Math.floor(random() * 256));
  assertEquals(crc32(bytes), crcBitwise(bytes));
  assertEquals(crc32(bytes.subarray(600), crc32(bytes.subarray(0, 600))), crcBitwise(bytes));
});

Deno.test("gunzip: fflate's gzip output, and a member with FEXTRA, FNAME, FCOMMENT and FHCRC", () => {
  const random = testRandom(3);
  const data = Uint8Array.from({ length: 5000 }, (_, i) => (i % 97 < 50 ? 0 : Math.floor(random() * 256)));
  for (const level of [0, 1, 9] as const) {
    const bytes = gzipSync(data, { level, filename: "x.idx", mtime: 1_600_000_000 });
    assert(isGzip(bytes));
    assertEquals(gunzip(bytes, "x.gz"), data);
  }
  // The optional header fields, assembled by hand: flags FHCRC|FEXTRA|FNAME|FCOMMENT = 0x1e.
  const header = concat(
    Uint8Array.of(0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3),
    Uint8Array.of(3, 0, 0xaa, 0xbb, 0xcc), // XLEN = 3, then 3 bytes
    new TextEncoder().encode("name.idx\0comment\0"),
  );
  const hcrc = crcBitwise(header) & 0xffff;
  const crc = crcBitwise(data);
  const trailer = Uint8Array.of(
    crc & 0xff,
    (crc >>> 8) & 0xff,
    (crc >>> 16) & 0xff,
    crc >>> 24,
    data.length & 0xff,
    data.length >>> 8,
    0,
    0,
  );
  const member = concat(header, Uint8Array.of(hcrc & 0xff, hcrc >>> 8), deflateSync(data), trailer);
  assertEquals(gunzip(member, "hand.gz"), data);
  assert(!isGzip(data));
});

Deno.test("gunzip: a bad header, truncation, corruption, a flipped CRC and an impossible ISIZE", () => {
  const data = new TextEncoder().encode("IDX bytes ".repeat(200));
  const good = gzipSync(data, { level: 6, mtime: 0 });
  assertDatasetError(
    () => gunzip(good.subarray(0, 12), "a.gz"),
    "a.gz",
    /truncated gzip: .*at least 18 .*12 are/,
  );
  const magic = good.slice();
  magic[1] = 0x8c;
  assertDatasetError(() => gunzip(magic, "a.gz"), "a.gz", /expected the gzip magic 1f 8b, found 1f 8c/);
  const method = good.slice();
  method[2] = 7;
  assertDatasetError(
    () => gunzip(method, "a.gz"),
    "a.gz",
    /expected gzip compression method 8 \(deflate\), found 7/,
  );
  const reserved = good.slice();
  reserved[3] = 0x20;
  assertDatasetError(() => gunzip(reserved, "a.gz"), "a.gz", /reserved gzip flag bits .* found flags 0x20/);
  const noNameEnd = concat(Uint8Array.of(0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3), new Uint8Array(20).fill(65));
  assertDatasetError(() => gunzip(noNameEnd, "a.gz"), "a.gz", /truncated gzip: the header's FNAME runs into/);

  for (const cut of [1, 8, 9, 40]) {
    assertDatasetError(
      () => gunzip(good.subarray(0, good.length - cut), "a.gz"),
      "a.gz",
      /truncated|corrupt/,
    );
  }
  const flipped = good.slice();
  flipped[20] ^= 0x10;
  assertDatasetError(() => gunzip(flipped, "a.gz"), "a.gz", /corrupt/);

  // A CRC flip leaves the data intact, so only the trailer check can catch it; the message gives both CRCs.
  const badCrc = good.slice();
  badCrc[good.length - 8] ^= 0x01;
  const expected = crcBitwise(data);
  const error = assertDatasetError(
    () => gunzip(badCrc, "a.gz"),
    "a.gz",
    /CRC-32 is 0x[0-9a-f]{8}, the data's is/,
  );
  assertMatch(error.message, new RegExp(`the data's is 0x${expected.toString(16).padStart(8, "0")}`));
  assertMatch(
    error.message,
    new RegExp(`CRC-32 is 0x${((expected ^ 1) >>> 0).toString(16).padStart(8, "0")}`),
  );

  const badSize = good.slice();
  badSize[good.length - 4] ^= 0x01;
  assertDatasetError(
    () => gunzip(badSize, "a.gz"),
    "a.gz",
    /declare \d+ uncompressed bytes, the deflate data holds/
  );
});

Deno.test("gunzip: an ISIZE of gigabytes is refused before anything is allocated", () => {
  // 16 bytes claiming 4 GiB − 16: too short to be gzip at all.
  const tiny = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0xf0, 0xff, 0xff, 0xff);
  assertDatasetError(() => gunzip(tiny, "tiny.gz"), "tiny.gz", /truncated gzip: .*18 bytes.*16 are present/);
  // 20 bytes: 2 bytes of deflate (an empty fixed block) cannot expand to 3 GiB (at most 2·1032 bytes).
  const small = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0xc0);
  assertDatasetError(
    () => gunzip(small, "small.gz"),
    "small.gz",
    /declare 3221225472 uncompressed bytes, but 2 bytes of deflate data can hold at most 2064/
  );
  // The same 20 bytes with ISIZE 0 are a valid empty member.
  assertEquals(gunzip(small.with(19, 0), "small.gz").length, 0);
});

Deno.test("gunzip: multi-member files and data after the deflate stream are errors, not results", () => {
  const a = gz(new TextEncoder().encode("first member ".repeat(30)));
  const b = gz(new TextEncoder().encode("second, different member ".repeat(30)));
  assertDatasetError(() => gunzip(concat(a, b), "two.gz"), "two.gz", /corrupt gzip/);
  // Two identical members: the last trailer matches the first member's data, so only the stream-end check
  // stands between this and returning half of the data.
  assertDatasetError(() => gunzip(concat(a, a), "twice.gz"), "twice.gz", /a second gzip member/);
  const junk = concat(a.subarray(0, a.length - 8), Uint8Array.of(1, 2, 3), a.subarray(a.length - 8));
  assertDatasetError(() => gunzip(junk, "junk.gz"), "junk.gz", /found 3 more bytes after the stream/);
  // Bytes appended after the trailer make the file's last 8 bytes a false trailer: the message says so
  // rather than reporting the false trailer's size as if it were the file's.
  assertDatasetError(
    () => gunzip(concat(a, Uint8Array.of(0, 0, 0, 0)), "pad.gz"),
    "pad.gz",
    /or data appended after it: the file's last 8 bytes, read as the gzip trailer/,
  );
});

// ---------------------------------------------------------------------------------------------------------
// Raw deflate

/** Streams of every block type: text, noise (stored blocks), long runs (overlapping copies), image-like rows. */
function deflateSamples(): { name: string; data: Uint8Array }[] {
  const r = testRandom(7);
  const text = new TextEncoder().encode(
    Array.from({ length: 4000 }, (_, i) => `line ${i % 97}: ${"abcdefgh".slice(i % 5)}\n`).join(""),
  );
  const noise = Uint8Array.from({ length: 70_000 }, () => Math.floor(r() * 256));
  const runs = new Uint8Array(200_000).map((_, i) => (i >> 12) % 3);
  // Like Fashion-MNIST: half the pixels zero, the rest spread over the byte range.
  const image = Uint8Array.from({ length: 300_000 }, () => (r() < 0.5 ? 0 : Math.floor(r() * 256)));
  return [
    { name: "empty", data: new Uint8Array(0) },
    { name: "one byte", data: Uint8Array.of(42) },
    { name: "text", data: text },
    { name: "noise", data: noise },
    { name: "runs", data: runs },
    { name: "image", data: image },
  ];
}

/** python3: zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_FIXED) on ZLIB_FIXED_TEXT: fixed codes only. */
// deno-fmt-ignore
const ZLIB_FIXED = Uint8Array.of(
  75, 203, 172, 72, 77, 81, 240, 40, 77, 75, 203, 77, 204, 83, 72, 206, 79, 73, 45, 214, 81, 72, 195, 20, 84, 4, 0,
);
const ZLIB_FIXED_TEXT = "fixed Huffman codes, fixed Huffman codes!";

Deno.test("inflate: fflate's deflate at every level decodes exactly, and the stream's end is reported", () => {
  for (const { name, data } of deflateSamples()) {
    for (let level = 0; level <= 9; level++) {
      const stream = deflateSync(data, { level: level as 0 });
      const out = new Uint8Array(data.length);
      const what = `${name}, level ${level}`;
      assertEquals(inflateInto(stream, out), { produced: data.length, consumed: stream.length }, what);
      assert(out.every((v, i) => v === data[i]), what);
      // Bytes after the stream are not read, and consumed still points at the first of them.
      const followed = concat(stream, Uint8Array.of(0xff, 0, 0x5a));
      assertEquals(inflateInto(followed, out).consumed, stream.length, what);
    }
  }
});

Deno.test("inflate: a fixed-Huffman stream made by zlib (Z_FIXED), and a stored block", () => {
  const fixed = ZLIB_FIXED, text = ZLIB_FIXED_TEXT;
  const out = new Uint8Array(text.length);
  assertEquals(inflateInto(fixed, out), { produced: text.length, consumed: fixed.length });
  assertEquals(new TextDecoder().decode(out), text);
  // BFINAL=1, BTYPE=00, LEN=3, NLEN=~3, then the bytes themselves (RFC 1951 §3.2.4).
  const stored = Uint8Array.of(0x01, 3, 0, 0xfc, 0xff, 7, 8, 9);
  const three = new Uint8Array(3);
  assertEquals(inflateInto(stored, three), { produced: 3, consumed: 8 });
  assertEquals(three, Uint8Array.of(7, 8, 9));
});

Deno.test("inflate: truncation, overflow and invalid codes are DeflateErrors of their kind", () => {
  const data = deflateSamples()[2].data;
  const stream = deflateSync(data, { level: 6 });
  // The final block's end code has at least one bit in the last byte, so no proper prefix decodes.
  for (let cut = 0; cut < stream.length; cut += cut < 64 ? 1 : 97) {
    const error = assertThrows(() => inflateInto(stream.subarray(0, cut), new Uint8Array(data.length)));
    assertInstanceOf(error, DeflateError, `cut at ${cut}`);
    assert(error.kind !== "overflow", `cut at ${cut}: ${error.message}`);
  }
  assertEquals(
    assertThrows(
      () => inflateInto(stream.subarray(0, stream.length - 1), new Uint8Array(data.length)),
      DeflateError,
    )
      .kind,
    "truncated",
  );
  for (const short of [0, 1, data.length - 1]) {
    const error = assertThrows(() => inflateInto(stream, new Uint8Array(short)), DeflateError);
    assertEquals(error.kind, "overflow", `an output of ${short} bytes`);
  }
  const stored = Uint8Array.of(0x01, 3, 0, 0xfc, 0xff, 7, 8, 9);
  assertEquals(assertThrows(() => inflateInto(stored, new Uint8Array(2)), DeflateError).kind, "overflow");
  // A literal one past the end: zlib's fixed-code stream ends in the literal "!".
  const oneShort = new Uint8Array(ZLIB_FIXED_TEXT.length - 1);
  assertEquals(assertThrows(() => inflateInto(ZLIB_FIXED, oneShort), DeflateError).kind, "overflow");
  const invalid = (bytes: Uint8Array, message: RegExp) => {
    const error = assertThrows(() => inflateInto(bytes, new Uint8Array(16)), DeflateError);
    assertEquals(error.kind, "invalid", error.message);
    assertMatch(error.message, message);
  };
  invalid(Uint8Array.of(0x07), /block type 3/);
  // Past 2^32 bits a bit position no longer fits the decoder's integers: refused before anything is read
  // (the zeros are never touched, so they cost address space, not memory).
  // 10 header and 8 trailer bytes around a payload one byte over the limit.
  const huge = new Uint8Array(MAX_INFLATE_INPUT_BYTES + 19);
  assertThrows(() => inflateInto(huge, new Uint8Array(1)), RangeError, `${MAX_INFLATE_INPUT_BYTES + 19}`);
  huge.set(gz(Uint8Array.of(1, 2, 3)).subarray(0, 10));
  huge.set([1, 2, 3, 4, 3, 0, 0, 0], huge.length - 8);
  assertDatasetError(
    () => gunzip(huge, "huge.gz"),
    "huge.gz",
    /at most 536870911 bytes of deflate data, found 536870912/,
  );
  invalid(Uint8Array.of(0x01, 3, 0, 0xfc, 0xfe, 7, 8, 9), /complement/);
  // Fixed codes: BFINAL=1, BTYPE=01, then length symbol 257 (0000001) and distance code 0 (00000): a copy
  // from one byte back when nothing has been written.
  invalid(bitsLsbFirst([[1, 1], [1, 2], [0b0000001, 7, true], [0, 5, true]]), /before the start/);
  // A dynamic block whose code-length code gives three symbols a 1-bit code: over-subscribed.
  invalid(
    bitsLsbFirst([[1, 1], [2, 2], [0, 5], [0, 5], [0, 4], [1, 3], [1, 3], [1, 3], [0, 3]]),
    /over-subscribed/,
  );
});

/** Packs [value, bits, msbFirst?] fields into bytes, least significant bit first (Huffman codes MSB first). */
function bitsLsbFirst(fields: [number, number, boolean?][]): Uint8Array {
  const bits: number[] = [];
  for (const [value, count, msbFirst] of fields) {
    for (let b = 0; b < count; b++) bits.push((value >> (msbFirst ? count - 1 - b : b)) & 1);
  }
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => out[i >> 3] |= bit << (i & 7));
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// IDX

const SAMPLES: { [T in IdxType]: (n: number, r: () => number) => IdxArrays[T] } = {
  u8: (n, r) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256)),
  i8: (n, r) => Int8Array.from({ length: n }, () => Math.floor(r() * 256) - 128),
  i16: (n, r) => Int16Array.from({ length: n }, () => Math.floor(r() * 65536) - 32768),
  i32: (n, r) => Int32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) - 2 ** 31),
  f32: (n, r) => Float32Array.from({ length: n }, () => (r() - 0.5) * 1e6),
  f64: (n, r) => Float64Array.from({ length: n }, () => (r() - 0.5) * 1e300),
};

Deno.test("idx: encode → gzip → parse round trips for every type and ranks 1..3, raw and compressed", () => {
  const random = testRandom(11);
  for (const type of Object.keys(SAMPLES) as IdxType[]) {
    for (const shape of [[7], [3, 5], [2, 3, 4]]) {
      const n = shape.reduce((p, d) => p * d, 1);
      const data = SAMPLES[type](n, random);
      const bytes = encodeIdx(type, shape, data as never);
      const independent = readIdxIndependently(bytes);
      if (!independent) throw new Error(`${type} ${shape}: the encoding is not well-formed IDX`);
      assertEquals(independent.shape, shape);
      assert(sameNumbers(independent.values, data), `${type} ${shape}: the encoding holds other values`);
      for (const input of [bytes, gz(bytes)]) {
        const parsed = parseIdx(input, "round-trip");
        assertEquals(parsed.type, type);
        assertEquals(parsed.shape, shape);
        assertEquals(parsed.data.constructor, data.constructor);
        assert(sameNumbers(parsed.data, data), `${type} ${shape}: the parse differs`);
      }
    }
  }
});

Deno.test("idx: the byte layout is big-endian as the format defines", () => {
  assertEquals(
    encodeIdx("i16", [2], Int16Array.of(1, -2)),
    Uint8Array.of(0, 0, 0x0b, 1, 0, 0, 0, 2, 0x00, 0x01, 0xff, 0xfe),
  );
  assertEquals(
    encodeIdx("f32", [1], Float32Array.of(1)),
    Uint8Array.of(0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0x80, 0, 0),
  );
  const parsed = parseIdx(Uint8Array.of(0, 0, 0x0c, 1, 0, 0, 0, 1, 0x80, 0, 0, 1), "i32");
  assertEquals(parsed.data, Int32Array.of(-(2 ** 31) + 1));
});

Deno.test("idx: a corrupt header or length is a DatasetError naming the file and what was expected", () => {
  const good = idxBytes(0x08, [3, 4, 5], new Uint8Array(60).fill(7));
  assertEquals(parseIdx(good, "good.idx").shape, [3, 4, 5]);
  assertDatasetError(
    () => parseIdx(good.subarray(0, 3), "f.idx"),
    "f.idx",
    /truncated IDX: .*4-byte magic, found 3/,
  );
  assertDatasetError(
    () => parseIdx(good.with(1, 1), "f.idx"),
    "f.idx",
    /expected the IDX magic 00 00 TYPE RANK.*00 01 08 03/,
  );
  assertDatasetError(
    () => parseIdx(good.with(2, 0x0a), "f.idx"),
    "f.idx",
    /unknown IDX element type 0x0a; expected .*0x08 \(u8\)/,
  );
  assertDatasetError(
    () => parseIdx(idxBytes(0x08, [], []), "f.idx"),
    "f.idx",
    /expected an IDX rank in 1\.\.8, found 0/,
  );
  const rank9 = idxBytes(0x08, [1, 1, 1, 1, 1, 1, 1, 1, 1], [5]);
  assertDatasetError(() => parseIdx(rank9, "f.idx"), "f.idx", /expected an IDX rank in 1\.\.8, found 9/);
  assertDatasetError(
    () => parseIdx(good.subarray(0, 10), "f.idx"),
    "f.idx",
    /truncated IDX: the header declares 3 dimensions \(16 header bytes\), 10 bytes/,
  );
  assertDatasetError(() => parseIdx(idxBytes(0x08, [3, 0, 5], []), "f.idx"), "f.idx", /dimension 1 is 0/);
  // Two dimensions of 2^32 − 1: (2^32 − 1)^2 = 18446744065119617025 bytes, far beyond 2^53 and any memory.
  const huge = idxBytes(0x08, [0xffffffff, 0xffffffff], [1, 2, 3]);
  assertDatasetError(
    () => parseIdx(huge, "f.idx"),
    "f.idx",
    /truncated IDX: the header declares 18446744065119617025 bytes of data .*, 3 are present/,
  );
  assertDatasetError(
    () => parseIdx(good.subarray(0, good.length - 1), "f.idx"),
    "f.idx",
    /truncated IDX: the header declares 60 bytes of data \(shape 3×4×5 of u8\), 59 are present/,
  );
  assertDatasetError(
    () => parseIdx(concat(good, Uint8Array.of(0)), "f.idx"),
    "f.idx",
    /expected 60 bytes of IDX data \(shape 3×4×5 of u8\), found 61: 1 extra bytes/,
  );
  const i16 = idxBytes(0x0b, [3], [0, 1, 0, 2, 0]);
  assertDatasetError(
    () => parseIdx(i16, "f.idx"),
    "f.idx",
    /declares 6 bytes of data \(shape 3 of i16\), 5 are present/,
  );
  // The same checks through gzip: the source is still the file.
  assertDatasetError(
    () => parseIdx(gz(good.with(2, 0x0a)), "f.idx.gz"),
    "f.idx.gz",
    /unknown IDX element type/,
  );
});

Deno.test("idx: encodeIdx rejects a shape or data that does not fit, naming the argument", () => {
  const cases: [string, () => unknown][] = [
    ["type", () => encodeIdx("u16" as IdxType, [1], new Uint8Array(1))],
    ["shape", () => encodeIdx("u8", [], new Uint8Array(0))],
    ["shape[1]", () => encodeIdx("u8", [2, 0], new Uint8Array(0))],
    ["data", () => encodeIdx("u8", [2], new Int8Array(2) as never)],
    ["data", () => encodeIdx("f32", [2, 2], new Float32Array(3))],
  ];
  for (const [argument, fn] of cases) assertEquals(assertThrows(fn, ReinmaxInputError).argument, argument);
});

Deno.test("idx: 2,000 seeded mutations, raw and gzipped, end in a DatasetError or a faithful parse", () => {
  const random = testRandom(2024);
  const int = (n: number) => Math.floor(random() * n);
  const original = Int16Array.from({ length: 30 }, (_, i) => (i * 2731) % 65536 - 32768);
  const raw = encodeIdx("i16", [2, 3, 5], original);
  const compressed = gz(raw);
  assert(LITTLE_ENDIAN, "the independent reader assumes a little-endian host for floats");

  function mutate(bytes: Uint8Array, dimsAt: number[], compressedInput: boolean): Uint8Array {
    const kind = int(3);
    if (kind === 0) return bytes.slice(0, int(bytes.length));
    if (kind === 1) {
      const out = bytes.slice();
      for (let k = 1 + int(3); k > 0; k--) out[int(out.length)] ^= 1 + int(255);
      return out;
    }
    // A header dimension set to a large value: in the IDX header for raw input; for gzip, in the IDX before
    // compressing (valid gzip, bad IDX) or the trailer's ISIZE (bad gzip).
    const large = 0x10000 + int(0xffffffff - 0x10000);
    const set = (target: Uint8Array, at: number, littleEndian: boolean) => {
      const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
      view.setUint32(at, large, littleEndian);
      return target;
    };
    if (!compressedInput) return set(bytes.slice(), dimsAt[int(dimsAt.length)], false);
    return int(2) === 0
      ? gz(set(raw.slice(), 4 + 4 * int(3), false))
      : set(bytes.slice(), bytes.length - 4, true);
  }

  const counts = { rawError: 0, rawParsed: 0, gzError: 0, gzParsed: 0 };
  for (let i = 0; i < 2000; i++) {
    // Raw: a flipped data byte cannot be detected, so a parse must agree with an independent reading.
    const rawMutant = mutate(raw, [4, 8, 12], false);
    let started = performance.now();
    const expected = readIdxIndependently(rawMutant);
    try {
      const parsed = parseIdx(rawMutant, "raw");
      if (!expected) throw new Error(`mutation ${i}: parsed bytes that are not well-formed IDX`);
      assertEquals(parsed.shape, expected.shape, `mutation ${i}`);
      assert(sameNumbers(parsed.data, expected.values), `mutation ${i}: the values differ`);
      counts.rawParsed++;
    } catch (e) {
      if (!(e instanceof DatasetError)) throw new Error(`mutation ${i} (raw): ${e}`, { cause: e });
      assertEquals(e.source, "raw");
      assertEquals(expected, null, `mutation ${i}: rejected well-formed IDX: ${e.message}`);
      counts.rawError++;
    }
    assert(performance.now() - started < 1000, `mutation ${i} (raw) took over a second`);

    // Gzipped: the CRC covers the data, so a parse must give back the original exactly.
    const gzMutant = mutate(compressed, [], true);
    started = performance.now();
    try {
      const parsed = parseIdx(gzMutant, "gz");
      assertEquals(parsed.shape, [2, 3, 5], `mutation ${i}`);
      assertEquals(parsed.data, original, `mutation ${i}: a corrupt gzip parsed to other data`);
      counts.gzParsed++;
    } catch (e) {
      if (!(e instanceof DatasetError)) throw new Error(`mutation ${i} (gzip): ${e}`, { cause: e });
      assertEquals(e.source, "gz");
      counts.gzError++;
    }
    assert(performance.now() - started < 1000, `mutation ${i} (gzip) took over a second`);
  }
  // Both outcomes must actually occur, or the mutations are not exercising what they claim to.
  for (const [name, count] of Object.entries(counts)) assert(count > 20, `${name}: only ${count} of 2000`);
});

// ---------------------------------------------------------------------------------------------------------
// MNIST-like loading

/** The four files of a tiny MNIST-like data set as a reader over a map (and the map, to alter it). */
function tinyMnist(
  overrides: Record<string, Uint8Array | Response | undefined> = {},
): { read: FileReader; files: Map<string, Uint8Array | Response | undefined> } {
  const trainPixels = Uint8Array.from({ length: 3 * 20 }, (_, i) => i * 4);
  const testPixels = Uint8Array.from({ length: 2 * 20 }, (_, i) => 255 - i);
  const files = new Map<string, Uint8Array | Response | undefined>([
    ["train-images-idx3-ubyte.gz", gz(idxBytes(0x08, [3, 4, 5], trainPixels))],
    ["train-labels-idx1-ubyte", idxBytes(0x08, [3], [1, 2, 3])],
    ["t10k-images-idx3-ubyte.gz", gz(idxBytes(0x08, [2, 4, 5], testPixels))],
    ["t10k-labels-idx1-ubyte.gz", gz(idxBytes(0x08, [2], [9, 8]))],
  ]);
  for (const [k, v] of Object.entries(overrides)) files.set(k, v);
  return { read: (name) => Promise.resolve(files.get(name)), files };
}

Deno.test("mnist: loads .gz and uncompressed files alike, with labels and maxValue", async () => {
  const { read } = tinyMnist();
  const data = await loadMnistLike(read, { name: "tiny" });
  assertEquals(data.name, "tiny");
  assertEquals([data.train.name, data.train.count, data.train.height, data.train.width], [
    "tiny train",
    3,
    4,
    5,
  ]);
  assertEquals([data.test.name, data.test.count, data.test.size], ["tiny test", 2, 20]);
  assertEquals(data.train.labels, Uint8Array.of(1, 2, 3));
  assertEquals(data.test.labels, Uint8Array.of(9, 8));
  assertEquals(data.train.pixels[59], 236);
  assertEquals(data.test.pixels[0], 255);
  assertEquals(data.train.maxValue, 255);
  // An ArrayBuffer and a 200 Response are byte sources too.
  const { read: mixed } = tinyMnist({
    "train-images-idx3-ubyte.gz": undefined,
    "train-images-idx3-ubyte": new Response(idxBytes(0x08, [3, 4, 5], new Uint8Array(60))),
  });
  assertEquals((await loadMnistLike(mixed, { name: "mixed" })).train.pixels.length, 60);
});

Deno.test("mnist: count, type and size mismatches, missing files and HTTP errors name the file", async () => {
  const labels = tinyMnist({ "t10k-labels-idx1-ubyte.gz": gz(idxBytes(0x08, [1], [9])) });
  await assertRejectsDataset(
    () => loadMnistLike(labels.read, { name: "t" }),
    "t10k-labels-idx1-ubyte.gz",
    /expected 2 labels to match the images \(t10k-images-idx3-ubyte.gz\), found 1/,
  );
  const size = tinyMnist({ "t10k-images-idx3-ubyte.gz": gz(idxBytes(0x08, [2, 5, 4], new Uint8Array(40))) });
  await assertRejectsDataset(
    () => loadMnistLike(size.read, { name: "t" }),
    "t10k-images-idx3-ubyte.gz",
    /expected test images of 4×5 like the training images \(train-images-idx3-ubyte.gz\), found 5×4/,
  );
  const wide = tinyMnist({
    "train-images-idx3-ubyte.gz": gz(idxBytes(0x0b, [3, 4, 5], new Uint8Array(120))),
  });
  await assertRejectsDataset(
    () => loadMnistLike(wide.read, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /expected u8 images of rank 3 \(count×height×width\), found i16 of rank 3 \(shape 3×4×5\)/,
  );
  const flat = tinyMnist({ "train-images-idx3-ubyte.gz": gz(idxBytes(0x08, [3, 20], new Uint8Array(60))) });
  await assertRejectsDataset(
    () => loadMnistLike(flat.read, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /found u8 of rank 2/,
  );
  const rank2Labels = tinyMnist({ "train-labels-idx1-ubyte": idxBytes(0x08, [3, 1], [1, 2, 3]) });
  await assertRejectsDataset(
    () => loadMnistLike(rank2Labels.read, { name: "t" }),
    "train-labels-idx1-ubyte",
    /expected u8 labels of rank 1, found u8 of rank 2/,
  );
  const bright = tinyMnist();
  await assertRejectsDataset(
    () => loadMnistLike(bright.read, { name: "t", maxValue: 16 }),
    "train-images-idx3-ubyte.gz",
    /expected pixel values in \[0, 16\], found 20 \(image 0, row 1, column 0\)/,
  );
  const missing = tinyMnist({ "t10k-labels-idx1-ubyte.gz": undefined });
  const error = await assertRejectsDataset(
    () => loadMnistLike(missing.read, { name: "t", location: "/data/tiny" }),
    "t10k-labels-idx1-ubyte",
    /not found in \/data\/tiny: tried t10k-labels-idx1-ubyte.gz and t10k-labels-idx1-ubyte/,
  );
  assertMatch(error.message, /t10k-labels-idx1-ubyte\.gz/);
  // A 404 counts as absent, so the uncompressed name is tried next; a 500 is an error naming the status.
  const notFound = tinyMnist({ "t10k-labels-idx1-ubyte.gz": new Response("no", { status: 404 }) });
  await assertRejectsDataset(
    () => loadMnistLike(notFound.read, { name: "t" }),
    "t10k-labels-idx1-ubyte",
    /tried/,
  );
  const serverError = tinyMnist({
    "train-images-idx3-ubyte.gz": new Response("oops", { status: 500, statusText: "Internal Server Error" }),
  });
  await assertRejectsDataset(
    () => loadMnistLike(serverError.read, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /expected HTTP status 200, got 500 Internal Server Error/,
  );
  const throwing: FileReader = () => Promise.reject(new Error("disk on fire"));
  const cause = await assertRejectsDataset(
    () => loadMnistLike(throwing, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /reading failed: disk on fire/,
  );
  assertInstanceOf(cause.cause, Error);
  const weird = (() => Promise.resolve("bytes")) as unknown as FileReader;
  await assertRejectsDataset(
    () => loadMnistLike(weird, { name: "t" }),
    "train-images-idx3-ubyte.gz",
    /expected the reader to give a Uint8Array/,
  );
  assertEquals(
    (await assertRejects(() => loadMnistLike(bright.read, { name: "" }), ReinmaxInputError)).argument,
    "name",
  );
});

Deno.test("mnist: imageSetFromIdx reads one pair and names its sources", () => {
  const set = imageSetFromIdx(idxBytes(0x08, [2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), undefined, {
    name: "pair",
    maxValue: 11,
  });
  assertEquals([set.count, set.height, set.width, set.maxValue, set.labels], [2, 2, 3, 11, undefined]);
  assertDatasetError(
    () =>
      imageSetFromIdx(idxBytes(0x08, [2, 1, 1], [0, 1]), idxBytes(0x08, [3], [0, 1, 2]), {
        name: "pair",
        imagesSource: "a.idx",
        labelsSource: "b.idx",
      }),
    "b.idx",
    /expected 2 labels to match the images \(a.idx\), found 3/,
  );
});

// ---------------------------------------------------------------------------------------------------------
// Image sets

Deno.test("ImageSet.gather scales by maxValue into the given range of out, without touching the rest", () => {
  const pixels = Uint8Array.from({ length: 3 * 4 }, (_, i) => i + 5); // 5..16
  const set = new ImageSet({ name: "s", count: 3, height: 2, width: 2, pixels, maxValue: 16 });
  assertEquals(set.size, 4);
  const out = new Float32Array(10).fill(-1);
  set.gather([9, 2, 0, 2, 9], out, 1, 2);
  // Image 2 is pixels 13..16, image 0 is 5..8; v / 16 is exact in f32.
  assertEquals(Array.from(out), [13, 14, 15, 16, 5, 6, 7, 8].map((v) => v / 16).concat([-1, -1]));
  const bytes = new ImageSet({ name: "b", count: 1, height: 1, width: 3, pixels: Uint8Array.of(0, 1, 255) });
  const scaled = new Float32Array(3);
  bytes.gather(Int32Array.of(0), scaled);
  assertEquals(Array.from(scaled), [0, Math.fround(1 / 255), 1]);

  const wrong = (argument: string, fn: () => unknown) =>
    assertEquals(assertThrows(fn, ReinmaxInputError).argument, argument);
  wrong("indices", () => set.gather([3], out));
  wrong("indices", () => set.gather([0.5], out));
  wrong("out", () => set.gather([0, 1, 2], new Float32Array(11)));
  wrong("count", () => set.gather([0, 1], out, 1, 2));
  wrong("start", () => set.gather([0, 1], out, 3));
});

Deno.test("ImageSet: construction validates every option; slice shares memory", () => {
  const pixels = Uint8Array.from({ length: 12 }, (_, i) => i);
  const wrong = (argument: string, options: Record<string, unknown>) =>
    assertEquals(
      assertThrows(
        () => new ImageSet({ name: "s", count: 3, height: 2, width: 2, pixels, maxValue: 16, ...options }),
        ReinmaxInputError,
      ).argument,
      argument,
    );
  wrong("pixels", { pixels: new Uint8Array(11) });
  wrong("pixels", { maxValue: 10 });
  wrong("labels", { labels: new Uint8Array(2) });
  wrong("maxValue", { maxValue: 256 });
  wrong("height", { height: 0 });
  wrong("name", { name: "" });
  const error = assertThrows(
    () => new ImageSet({ name: "s", count: 3, height: 2, width: 2, pixels, maxValue: 10 }),
    ReinmaxInputError,
  );
  assertMatch(error.message, /found 11 at index 11 \(image 2, row 1, column 1\)/);

  const set = new ImageSet({
    name: "s",
    count: 3,
    height: 2,
    width: 2,
    pixels,
    labels: Uint8Array.of(7, 8, 9),
  });
  const tail = set.slice(1, 3);
  assertEquals([tail.count, tail.labels, tail.pixels[0]], [2, Uint8Array.of(8, 9), 4]);
  assertEquals(tail.pixels.buffer, pixels.buffer);
  assertEquals(set.slice(3, 3).count, 0);
  assertThrows(() => set.slice(2, 1), ReinmaxInputError);
});

// ---------------------------------------------------------------------------------------------------------
// Fixtures

interface ManifestFileEntry {
  shape: number[];
  dtype: string;
  bytes: number;
  sha256: string;
}

async function readManifest(): Promise<
  { datasets: Record<string, { maxValue: number; files: Record<string, ManifestFileEntry> }> }
> {
  return JSON.parse(await Deno.readTextFile(new URL("manifest.json", FIXTURES_DIR)));
}

Deno.test("fixtures: every committed file has the size and SHA-256 its manifest records", async () => {
  const manifest = await readManifest();
  assertEquals(Object.keys(manifest.datasets).sort(), [...FIXTURES].sort());
  for (const [name, dataset] of Object.entries(manifest.datasets)) {
    assertEquals(Object.keys(dataset.files).length, 4);
    for (const [file, entry] of Object.entries(dataset.files)) {
      const bytes = await Deno.readFile(new URL(`${name}/${file}`, FIXTURES_DIR));
      assertEquals(bytes.length, entry.bytes, `${name}/${file}`);
      assertEquals(await sha256Hex(bytes), entry.sha256, `${name}/${file}`);
      // Deterministic gzip: no file name, mtime 0.
      assertEquals(Array.from(bytes.subarray(0, 8)), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0], `${name}/${file}`);
      // fflate's own decoder as an independent reading: the IDX header must match the recorded shape.
      const raw = gunzipSync(bytes);
      const rank = raw[3];
      assertEquals(raw[2], 0x08);
      assertEquals(Array.from({ length: rank }, (_, i) => u32be(raw, 4 + 4 * i)), entry.shape);
    }
  }
});

Deno.test("fixtures: fashion-mnist-10k loads as 10000/2000 images of 28×28 with known values", async () => {
  const data = await loadFixture("fashion-mnist-10k", fileReader(FIXTURES_DIR));
  assertEquals([data.train.count, data.train.height, data.train.width, data.train.maxValue], [
    10000,
    28,
    28,
    255,
  ]);
  assertEquals([data.test.count, data.test.height, data.test.width], [2000, 28, 28]);
  // Values read from the Debian package's files with an independent tool: the first and last labels of each
  // split (9 = ankle boot), and a few pixels of train image 0, train image 1 and test image 1999.
  assertEquals(Array.from(data.train.labels!.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  assertEquals(Array.from(data.train.labels!.subarray(9995)), [7, 5, 0, 6, 6]);
  assertEquals(Array.from(data.test.labels!.subarray(0, 10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  assertEquals(Array.from(data.test.labels!.subarray(1995)), [1, 3, 3, 6, 0]);
  const px = (set: ImageSet, image: number, i: number) => set.pixels[image * 784 + i];
  assertEquals(
    [px(data.train, 0, 98), px(data.train, 0, 99), px(data.train, 0, 100), px(data.train, 0, 127)],
    [0, 13, 73, 136],
  );
  assertEquals([px(data.train, 1, 11), px(data.train, 1, 12)], [188, 103]);
  assertEquals([px(data.test, 1999, 11), px(data.test, 1999, 16)], [119, 177]);
  assert(data.train.labels!.every((l) => l <= 9));
});

Deno.test("fixtures: digits loads as 1500/297 8×8 images, maxValue 16, labels 0..9, known rows", async () => {
  const data = await loadFixture("digits", fileReader(FIXTURES_DIR));
  assertEquals([data.train.count, data.train.height, data.train.width, data.train.maxValue], [
    1500,
    8,
    8,
    16,
  ]);
  assertEquals([data.test.count, data.test.height, data.test.width, data.test.maxValue], [297, 8, 8, 16]);
  assert(data.train.labels!.every((l) => l <= 9) && data.test.labels!.every((l) => l <= 9));
  assert(data.train.pixels.every((v) => v <= 16) && data.test.pixels.every((v) => v <= 16));
  // Lines 1, 1500, 1501 and 1797 of digits.csv.gz in python3-sklearn 1.2.1+dfsg-1: 64 pixels, then the label.
  const line = (text: string) => text.split(",").map(Number);
  const rows: [ImageSet, number, string][] = [
    [
      data.train,
      0,
      "0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0," +
      "0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0,0",
    ],
    [
      data.train,
      1499,
      "0,5,16,13,1,0,0,0,0,9,14,14,4,0,0,0,0,9,7,12,4,0,0,0,0,0,0,13,4,0,0,0," +
      "0,0,2,16,1,0,0,0,0,0,7,13,0,0,0,0,0,1,15,16,16,16,11,0,0,5,16,14,10,8,6,0,2",
    ],
    [
      data.test,
      0,
      "0,0,0,3,12,12,2,0,0,0,7,15,16,16,0,0,0,4,15,9,14,16,3,0,0,2,0,0,14,16,0,0," +
      "0,0,0,0,14,16,0,0,0,0,0,0,15,13,0,0,0,0,0,0,16,14,1,0,0,0,0,3,16,13,2,0,1",
    ],
    [
      data.test,
      296,
      "0,0,10,14,8,1,0,0,0,2,16,14,6,1,0,0,0,0,15,15,8,15,0,0,0,0,5,16,16,10,0,0," +
      "0,0,12,15,15,12,0,0,0,4,16,6,4,16,6,0,0,8,16,10,8,16,8,0,0,1,8,12,14,12,1,0,8",
    ],
  ];
  for (const [set, i, text] of rows) {
    const values = line(text);
    assertEquals(
      Array.from(set.pixels.subarray(i * 64, i * 64 + 64)),
      values.slice(0, 64),
      `${set.name} ${i}`,
    );
    assertEquals(set.labels![i], values[64], `${set.name} ${i}`);
  }
});

const hasDebianFashion = await Deno.stat(DEBIAN_FASHION).then(() => true, () => false);
const hasDebianDigits = await Deno.stat(DEBIAN_DIGITS).then(() => true, () => false);
if (!hasDebianFashion) {
  console.log(
    `skipping the comparison with ${DEBIAN_FASHION}: absent (apt-get install dataset-fashion-mnist)`,
  );
}
if (!hasDebianDigits) {
  console.log(`skipping the full comparison with ${DEBIAN_DIGITS}: absent (apt-get install python3-sklearn)`);
}

/** The first `bytes` bytes a gzip file decompresses to, by fflate's streaming decoder (reads only those). */
async function gunzipPrefix(path: string, bytes: number): Promise<Uint8Array> {
  const out = new Uint8Array(bytes);
  let filled = 0;
  const stream = new Gunzip((chunk) => {
    const n = Math.min(chunk.length, bytes - filled);
    out.set(chunk.subarray(0, n), filled);
    filled += n;
  });
  const file = await Deno.open(path);
  try {
    const buffer = new Uint8Array(1 << 16);
    while (filled < bytes) {
      const n = await file.read(buffer);
      if (n === null) break;
      stream.push(buffer.slice(0, n));
    }
  } finally {
    file.close();
  }
  assertEquals(filled, bytes, `${path} is shorter than expected`);
  return out;
}

Deno.test({
  name: `fixtures: fashion-mnist-10k is the first rows of ${DEBIAN_FASHION} (skipped when that is absent)`,
  ignore: !hasDebianFashion,
  fn: async () => {
    const data = await loadFixture("fashion-mnist-10k", fileReader(FIXTURES_DIR));
    for (const [prefix, set] of [["train", data.train], ["t10k", data.test]] as const) {
      const images = await gunzipPrefix(
        `${DEBIAN_FASHION}/${prefix}-images-idx3-ubyte.gz`,
        16 + set.count * 784,
      );
      assertEquals([u32be(images, 0), u32be(images, 8), u32be(images, 12)], [0x803, 28, 28]);
      assert(images.subarray(16).every((v, i) => v === set.pixels[i]), `${prefix} images differ`);
      const labels = await gunzipPrefix(`${DEBIAN_FASHION}/${prefix}-labels-idx1-ubyte.gz`, 8 + set.count);
      assertEquals(u32be(labels, 0), 0x801);
      assertEquals(labels.subarray(8), set.labels);
    }
  },
});

Deno.test({
  name: `fixtures: digits holds every row of ${DEBIAN_DIGITS} in order (skipped when that is absent)`,
  ignore: !hasDebianDigits,
  fn: async () => {
    const data = await loadFixture("digits", fileReader(FIXTURES_DIR));
    const lines = new TextDecoder().decode(gunzipSync(await Deno.readFile(DEBIAN_DIGITS))).trim().split("\n");
    assertEquals(lines.length, 1797);
    lines.forEach((text, r) => {
      const values = text.split(",").map(Number);
      const [set, i] = r < 1500 ? [data.train, r] : [data.test, r - 1500];
      assertEquals(Array.from(set.pixels.subarray(i * 64, i * 64 + 64)), values.slice(0, 64), `row ${r}`);
      assertEquals(set.labels![i], values[64], `row ${r}`);
    });
  },
});

Deno.test("fixtures: a wrong SHA-256, a missing file or a malformed manifest is refused", async () => {
  const base = fileReader(FIXTURES_DIR);
  const manifest = await readManifest();
  const target = "digits/train-labels-idx1-ubyte.gz";
  const original = await Deno.readFile(new URL(target, FIXTURES_DIR));
  const altered = original.slice();
  altered[original.length - 1] ^= 1; // the top byte of ISIZE: the SHA-256 must catch it before gzip does
  const tampered: FileReader = (name) => name === target ? Promise.resolve(altered) : base(name);
  const error = await assertRejectsDataset(() => loadFixture("digits", tampered), target, /SHA-256 mismatch/);
  assertMatch(error.message, new RegExp(manifest.datasets.digits.files["train-labels-idx1-ubyte.gz"].sha256));
  assertMatch(error.message, new RegExp(await sha256Hex(altered)));

  const missing: FileReader = (name) => name === target ? Promise.resolve(undefined) : base(name);
  await assertRejectsDataset(
    () => loadFixture("digits", missing),
    target,
    /not found, though manifest.json lists it/,
  );

  const withManifest = (text: string): FileReader => (name) =>
    name === "manifest.json" ? Promise.resolve(new TextEncoder().encode(text)) : base(name);
  await assertRejectsDataset(
    () => loadFixture("digits", withManifest("{")),
    "manifest.json",
    /expected UTF-8 JSON/,
  );
  await assertRejectsDataset(
    () => loadFixture("digits", withManifest("{}")),
    "manifest.json",
    /expected datasets to be an object, found nothing/,
  );
  const broken = structuredClone(manifest);
  broken.datasets.digits.files["t10k-images-idx3-ubyte.gz"].sha256 = "abc";
  await assertRejectsDataset(
    () => loadFixture("digits", withManifest(JSON.stringify(broken))),
    "manifest.json",
    /files\["t10k-images-idx3-ubyte\.gz"\]\.sha256 to be 64 lowercase hex digits, found "abc"/,
  );
  const wrongMax = structuredClone(manifest);
  wrongMax.datasets.digits.maxValue = 0;
  await assertRejectsDataset(
    () => loadFixture("digits", withManifest(JSON.stringify(wrongMax))),
    "manifest.json",
    /maxValue to be an integer in \[1, 255\], found 0/,
  );
  await assertRejectsDataset(
    () => loadFixture("digits", () => Promise.resolve(undefined)),
    "manifest.json",
    /not found/,
  );
  assertEquals(
    (await assertRejects(() => loadFixture("mnist" as never, base), ReinmaxInputError)).argument,
    "name",
  );
});

// ---------------------------------------------------------------------------------------------------------
// PNG

/** A minimal PNG reader, written from the PNG specification: 8-bit greyscale, non-interlaced only. */
function decodePng(
  png: Uint8Array,
): { width: number; height: number; pixels: Uint8Array; filters: number[] } {
  assertEquals(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10], "PNG signature");
  const chunks: { type: string; data: Uint8Array }[] = [];
  for (let pos = 8; pos < png.length;) {
    const length = u32be(png, pos);
    const type = new TextDecoder().decode(png.subarray(pos + 4, pos + 8));
    const data = png.subarray(pos + 8, pos + 8 + length);
    assertEquals(
      u32be(png, pos + 8 + length),
      crcBitwise(png.subarray(pos + 4, pos + 8 + length)),
      `${type} CRC`,
    );
    chunks.push({ type, data });
    pos += 12 + length;
  }
  assertEquals(chunks[0].type, "IHDR");
  assertEquals(chunks.at(-1)!.type, "IEND");
  assertEquals(chunks.at(-1)!.data.length, 0);
  const ihdr = chunks[0].data;
  assertEquals(ihdr.length, 13);
  const width = u32be(ihdr, 0);
  const height = u32be(ihdr, 4);
  assertEquals(
    Array.from(ihdr.subarray(8)),
    [8, 0, 0, 0, 0],
    "bit depth 8, greyscale, deflate, no interlace",
  );
  const scanlines = unzlibSync(concat(...chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
  assertEquals(scanlines.length, height * (width + 1));
  const pixels = new Uint8Array(width * height);
  const filters: number[] = [];
  for (let y = 0; y < height; y++) {
    const filter = scanlines[y * (width + 1)];
    filters.push(filter);
    for (let x = 0; x < width; x++) {
      const raw = scanlines[y * (width + 1) + 1 + x];
      const a = x > 0 ? pixels[y * width + x - 1] : 0;
      const b = y > 0 ? pixels[(y - 1) * width + x] : 0;
      const c = x > 0 && y > 0 ? pixels[(y - 1) * width + x - 1] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
        ? a
        : Math.abs(p - b) <= Math.abs(p - c)
        ? b
        : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      assert(predictor !== undefined, `unknown filter type ${filter}`);
      pixels[y * width + x] = (raw + predictor) & 0xff;
    }
  }
  return { width, height, pixels, filters };
}

Deno.test("png: an independent decoder reads back exactly what encodePng wrote", () => {
  const random = testRandom(5);
  for (const [width, height] of [[1, 1], [7, 3], [64, 40]]) {
    const gray = Uint8Array.from({ length: width * height }, () => Math.floor(random() * 256));
    const png = decodePng(encodePng(gray, width, height));
    assertEquals([png.width, png.height], [width, height]);
    assertEquals(png.pixels, gray);
    assert(png.filters.every((f) => f === 0));
  }
  const wrong = (argument: string, fn: () => unknown) =>
    assertEquals(assertThrows(fn, ReinmaxInputError).argument, argument);
  wrong("gray", () => encodePng(new Uint8Array(5), 2, 3));
  wrong("width", () => encodePng(new Uint8Array(0), 0, 3));
  wrong("height", () => encodePng(new Uint8Array(3), 3, 1.5));
});

Deno.test("png: imageGrid puts each row-array in its own band, with padding between images", () => {
  const G = 128;
  // Three 1×1 images per row-array, two per grid row, padding 1: each band is two grid rows.
  const grid = imageGrid([Float32Array.of(0, 1, 0.2), Float32Array.of(0.4, 0.6, 0.8)], {
    count: 3,
    height: 1,
    width: 1,
    columns: 2,
    padding: 1,
  });
  assertEquals([grid.width, grid.height], [5, 9]);
  // round(255·0.2) = 51, round(255·0.4) = 102, round(255·0.6) = 153, round(255·0.8) = 204.
  // deno-fmt-ignore
  const expected = [
    G, G,   G, G,   G,
    G, 0,   G, 255, G,
    G, G,   G, G,   G,
    G, 51,  G, G,   G,
    G, G,   G, G,   G,
    G, 102, G, 153, G,
    G, G,   G, G,   G,
    G, 204, G, G,   G,
    G, G,   G, G,   G,
  ];
  assertEquals(Array.from(grid.pixels), expected);

  // Two 2×3 images, default padding 2 and columns min(count, 2) = 2: a 12×6 picture with image 0's top-left
  // pixel at (row 2, column 2) and image 1's at (2, 2 + 3 + 2 = 7).
  const images = Float32Array.from({ length: 2 * 6 }, (_, i) => i / 11);
  const wide = imageGrid([images], { count: 2, height: 2, width: 3 });
  assertEquals([wide.width, wide.height], [12, 6]);
  const at = (row: number, column: number) => wide.pixels[row * 12 + column];
  const value = (i: number) => Math.round(255 * Math.fround(i / 11));
  assertEquals([at(2, 2), at(2, 4), at(3, 2)], [value(0), value(2), value(3)]);
  assertEquals([at(2, 7), at(3, 8), at(3, 9)], [value(6), value(10), value(11)]);
  assertEquals([at(1, 2), at(2, 5), at(2, 6), at(4, 2), at(5, 11)], [G, G, G, G, G]);

  // scale 2: each pixel a 2×2 block; with padding 1 the 1×2 image [0.2, 0.8] fills rows 1–2, columns 1–4.
  const big = imageGrid([Float32Array.of(0.2, 0.8)], { count: 1, height: 1, width: 2, padding: 1, scale: 2 });
  assertEquals([big.width, big.height], [6, 4]);
  const lo = Math.round(255 * Math.fround(0.2)), hi = Math.round(255 * Math.fround(0.8));
  assertEquals(Array.from(big.pixels), [
    G,
    G,
    G,
    G,
    G,
    G,
    G,
    lo,
    lo,
    hi,
    hi,
    G,
    G,
    lo,
    lo,
    hi,
    hi,
    G,
    G,
    G,
    G,
    G,
    G,
    G,
  ]);

  const wrong = (argument: string, fn: () => unknown) =>
    assertEquals(assertThrows(fn, ReinmaxInputError).argument, argument);
  wrong("rows", () => imageGrid([], { count: 1, height: 1, width: 1 }));
  wrong(
    "rows[1]",
    () => imageGrid([new Float32Array(2), new Float32Array(3)], { count: 2, height: 1, width: 1 }),
  );
  wrong("rows[0]", () => imageGrid([Float32Array.of(0.5, Number.NaN)], { count: 2, height: 1, width: 1 }));
  wrong("rows[0]", () => imageGrid([Float32Array.of(0.5, 1.5)], { count: 2, height: 1, width: 1 }));
  wrong("columns", () => imageGrid([new Float32Array(2)], { count: 2, height: 1, width: 1, columns: 0 }));
  wrong("padding", () => imageGrid([new Float32Array(2)], { count: 2, height: 1, width: 1, padding: -1 }));
  wrong("scale", () => imageGrid([new Float32Array(2)], { count: 2, height: 1, width: 1, scale: 0 }));
});

// ---------------------------------------------------------------------------------------------------------
// examples/data_source.ts: the readers that do the I/O

Deno.test("data_source: openDataset reads the digits fixture, a directory and a file: URL", async () => {
  const digits = await openDataset("digits");
  assertEquals([digits.name, digits.train.count, digits.test.count, digits.train.maxValue], [
    "digits",
    1500,
    297,
    16,
  ]);

  // A directory path and a file: URL to it (the test task may not write, so the fixture directory serves).
  const dir = new URL("digits/", FIXTURES_DIR).pathname;
  const fromDir = await openDataset(dir);
  assertEquals([fromDir.name, fromDir.train.count, fromDir.test.count], ["digits", 1500, 297]);
  assertEquals(fromDir.train.pixels, digits.train.pixels);
  const fromUrl = await openDataset(new URL("digits/", FIXTURES_DIR).href);
  assertEquals(fromUrl.test.labels, digits.test.labels);
  assertEquals(await fileReader(dir)("nothing-here"), undefined);
  // A file read whole is its bytes exactly, also one longer than its metadata says: a FIFO reports size 0.
  const labelsPath = `${dir}train-labels-idx1-ubyte.gz`;
  assertEquals(await fileReader(dir)("train-labels-idx1-ubyte.gz"), await Deno.readFile(labelsPath));
  if (Deno.build.os !== "windows") {
    const temp = await Deno.makeTempDir();
    try {
      assert((await new Deno.Command("mkfifo", { args: [`${temp}/pipe`] }).output()).success);
      const sent = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) >> 3);
      const writing = (async () => {
        using pipe = await Deno.open(`${temp}/pipe`, { write: true });
        for (let at = 0; at < sent.length;) at += await pipe.write(sent.subarray(at, at + 50_000));
      })();
      const received = await fileReader(temp)("pipe");
      await writing;
      assertEquals(received, sent);
    } finally {
      await Deno.remove(temp, { recursive: true });
    }
  }
  // The fixtures root holds no MNIST files: the error names both names tried and the directory.
  const root = FIXTURES_DIR.pathname;
  const error = await assertRejectsDataset(
    () => openDataset(root),
    "train-images-idx3-ubyte",
    /tried train-images-idx3-ubyte.gz and train-images-idx3-ubyte/,
  );
  assert(error.message.includes(root), error.message);
  for (const spec of ["", "ftp://example.org/mnist/", "./no-such-directory-here"]) {
    assertEquals((await assertRejects(() => openDataset(spec), ReinmaxInputError)).argument, "--data", spec);
  }
});

Deno.test("data_source: loads over HTTP from a local server; a 500 names the URL and status", async () => {
  const digitsDir = new URL("digits/", FIXTURES_DIR);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/broken/")) {
      return new Response("failed", { status: 500, statusText: "Internal Server Error" });
    }
    const name = path.replace(/^\/(digits|partial)\//, "");
    if (path.startsWith("/partial/") && name.startsWith("t10k-labels")) {
      return new Response("", { status: 404 });
    }
    if (!/^[a-z0-9-]+(\.gz)?$/.test(name)) return new Response("", { status: 404 });
    try {
      return new Response(await Deno.readFile(new URL(name, digitsDir)));
    } catch {
      return new Response("", { status: 404 });
    }
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const data = await openDataset(`${base}/digits/`);
    const local = await loadFixture("digits", fileReader(FIXTURES_DIR));
    assertEquals([data.name, data.train.count, data.test.count], ["digits", 1500, 297]);
    assertEquals(data.train.pixels, local.train.pixels);
    assertEquals(data.test.labels, local.test.labels);
    // Without a trailing slash the last segment is still a directory.
    assertEquals((await openDataset(`${base}/digits`)).test.count, 297);
    await assertRejectsDataset(
      () => openDataset(`${base}/broken/`),
      `${base}/broken/train-images-idx3-ubyte.gz`,
      /expected HTTP status 200, got 500 Internal Server Error/,
    );
    const missing = await assertRejectsDataset(
      () => openDataset(`${base}/partial/`),
      "t10k-labels-idx1-ubyte",
      /tried t10k-labels-idx1-ubyte.gz and t10k-labels-idx1-ubyte/,
    );
    assert(missing.message.includes(`${base}/partial/`), missing.message);
  } finally {
    await server.shutdown();
  }
});
