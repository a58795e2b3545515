// The IDX format (src/data/idx.ts): every element type round-trips through encodeIdx, gzip and parseIdx, the
// layout is the format's big-endian one (read back by an independent reader written from the definition), and
// corrupt headers, lengths and 2,000 seeded mutations end in a DatasetError naming the file or a faithful parse.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { testRandom } from "./util.ts";
import { assertDatasetError, concat, gz, idxBytes, u32be } from "./data_helpers.ts";
import {
  DatasetError,
  encodeIdx,
  type IdxArrays,
  type IdxType,
  parseIdx,
  ReinmaxInputError,
} from "../mod.ts";

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
