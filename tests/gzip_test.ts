// gzip and raw deflate (src/data/gzip.ts, src/data/inflate.ts) and the CRC-32 they check: fflate's and zlib's
// output decodes exactly, and corrupt input of every kind — a bad header, truncation, a flipped CRC, an impossible
// ISIZE, data after the stream — is a DatasetError (or DeflateError) of its kind, naming the file. No backend.
import { assert, assertEquals, assertInstanceOf, assertMatch, assertThrows } from "@std/assert";
import { deflateSync, gzipSync } from "fflate";
import { crcBitwise } from "./reference/crc32.ts";
import { testRandom } from "./util.ts";
import { assertDatasetError, concat, gz } from "./data_helpers.ts";
import { crc32, DeflateError, gunzip, inflateInto, isGzip, MAX_INFLATE_INPUT_BYTES } from "./internals.ts";

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
    /declare \d+ uncompressed bytes, the deflate data holds/,
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
    /declare 3221225472 uncompressed bytes, but 2 bytes of deflate data can hold at most 2064/,
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
