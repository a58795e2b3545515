/**
 * Raw deflate (RFC 1951) decoding into a buffer the caller sizes. It reports where the stream ended, so a
 * container can tell its trailer from bytes that follow the stream without decoding twice, and it allocates
 * its Huffman tables once per decoder rather than once per block: a 26 MB file holds about a thousand blocks,
 * and tables made afresh for each become some hundred megabytes of garbage that the allocator keeps resident.
 * @module
 */

/** Why a deflate stream could not be decoded. */
export class DeflateError extends Error {
  /** `overflow`: the stream holds more than the output buffer; `truncated`: it stops before its end. */
  constructor(readonly kind: "overflow" | "truncated" | "invalid", message: string) {
    super(message);
    this.name = "DeflateError";
  }
}

/** Where a decoded stream ended. */
export interface InflateResult {
  /** Bytes written to the output, from its start. */
  readonly produced: number;
  /** Input bytes the stream occupies, from its start to the byte holding its last bit. */
  readonly consumed: number;
}

/** Bit positions are 32-bit integers, so the input may hold at most 2^32 bits. */
export const MAX_INFLATE_INPUT_BYTES = 2 ** 29 - 1;
const MAX_BITS = 15;
const LENGTH_BASE = Uint16Array.of(
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
);
const LENGTH_EXTRA = Uint8Array.of(
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
);
const DISTANCE_BASE = Uint16Array.of(
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
);
const DISTANCE_EXTRA = Uint8Array.of(
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
);
/** The order in which a dynamic block lists the code lengths of the code-length alphabet. */
const CODE_LENGTH_ORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15);
const END_OF_BLOCK = 256;
const LENGTH_SYMBOLS = 29;
const DISTANCE_SYMBOLS = 30;

/**
 * A Huffman code as one lookup table indexed by the next `bits` input bits (first bit lowest): each entry is
 * symbol·16 + code length, 0 where no code matches (an incomplete code, or none at all).
 */
interface Code {
  readonly table: Uint16Array;
  bits: number;
}

/**
 * Decodes one deflate stream from `input[0]` into `out[0…]`: the whole of it, every block up to the final
 * one. Throws a {@link DeflateError} for a stream that is invalid, stops before its final block ends, or
 * holds more than `out.length` bytes. Bytes after the stream are left unread; {@link InflateResult.consumed}
 * says where they begin. An input longer than {@link MAX_INFLATE_INPUT_BYTES} is a RangeError.
 */
export function inflateInto(input: Uint8Array, out: Uint8Array): InflateResult {
  if (input.length > MAX_INFLATE_INPUT_BYTES) {
    throw new RangeError(
      `expected at most ${MAX_INFLATE_INPUT_BYTES} bytes of deflate data, got ${input.length}`,
    );
  }
  return new Inflater().run(input, out);
}

class Inflater {
  readonly #literals: Code = { table: new Uint16Array(1 << MAX_BITS), bits: 0 };
  readonly #distances: Code = { table: new Uint16Array(1 << MAX_BITS), bits: 0 };
  readonly #codeLengths: Code = { table: new Uint16Array(1 << 7), bits: 0 };
  readonly #lengths = new Uint8Array(286 + 32);
  readonly #count = new Uint16Array(MAX_BITS + 1);
  readonly #next = new Uint16Array(MAX_BITS + 1);
  #input: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #end = 0;

  run(input: Uint8Array, out: Uint8Array): InflateResult {
    this.#input = input;
    this.#pos = 0;
    this.#end = input.length * 8;
    let produced = 0;
    let final = 0;
    do {
      final = this.#bits(1);
      const type = this.#bits(2);
      if (type === 0) produced = this.#stored(out, produced);
      else if (type === 1) produced = this.#codes(out, produced, FIXED.literals, FIXED.distances);
      else if (type === 2) {
        this.#readDynamicCodes();
        produced = this.#codes(out, produced, this.#literals, this.#distances);
      } else throw new DeflateError("invalid", "invalid block type 3");
    } while (!final);
    return { produced, consumed: (this.#pos + 7) >>> 3 };
  }

  /** The next `n` ≤ 16 bits, least significant first. */
  #bits(n: number): number {
    const pos = this.#pos;
    if (pos + n > this.#end) throw truncated();
    this.#pos = pos + n;
    return this.#peek(pos) & ((1 << n) - 1);
  }

  /** At least 17 bits from bit `pos` on (zeros past the end of the input). */
  #peek(pos: number): number {
    const d = this.#input, i = pos >>> 3;
    return ((d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24)) >>> (pos & 7));
  }

  #stored(out: Uint8Array, produced: number): number {
    const start = (this.#pos + 7) >>> 3, d = this.#input;
    if (start + 4 > d.length) throw truncated();
    const length = d[start] | (d[start + 1] << 8);
    if ((length ^ (d[start + 2] | (d[start + 3] << 8))) !== 0xffff) {
      throw new DeflateError("invalid", "a stored block's length and its complement disagree");
    }
    if (start + 4 + length > d.length) throw truncated();
    if (produced + length > out.length) throw overflow();
    out.set(d.subarray(start + 4, start + 4 + length), produced);
    this.#pos = (start + 4 + length) * 8;
    return produced + length;
  }

  /** Reads a dynamic block's header into the literal/length and distance codes. */
  #readDynamicCodes(): void {
    const literalCount = this.#bits(5) + 257,
      distanceCount = this.#bits(5) + 1,
      lengthCount = this.#bits(4) + 4;
    if (literalCount > 286 || distanceCount > DISTANCE_SYMBOLS) {
      throw new DeflateError(
        "invalid",
        `too many length or distance codes (${literalCount}, ${distanceCount})`,
      );
    }
    const lengths = this.#lengths;
    lengths.fill(0, 0, 19);
    for (let i = 0; i < lengthCount; i++) lengths[CODE_LENGTH_ORDER[i]] = this.#bits(3);
    this.#build(this.#codeLengths, lengths, 0, 19);
    const { table, bits } = this.#codeLengths, mask = (1 << bits) - 1;
    const total = literalCount + distanceCount;
    for (let i = 0; i < total;) {
      const entry = table[this.#peek(this.#pos) & mask];
      if (entry === 0) throw new DeflateError("invalid", "invalid code-length code");
      this.#pos += entry & 15;
      if (this.#pos > this.#end) throw truncated();
      const symbol = entry >>> 4;
      if (symbol < 16) {
        lengths[i++] = symbol;
        continue;
      }
      let value = 0, repeat: number;
      if (symbol === 16) {
        if (i === 0) throw new DeflateError("invalid", "a repeated code length with none before it");
        value = lengths[i - 1];
        repeat = 3 + this.#bits(2);
      } else repeat = symbol === 17 ? 3 + this.#bits(3) : 11 + this.#bits(7);
      if (i + repeat > total) throw new DeflateError("invalid", "code lengths run past their count");
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    if (lengths[END_OF_BLOCK] === 0) throw new DeflateError("invalid", "no code for the end of the block");
    this.#build(this.#literals, lengths, 0, literalCount);
    this.#build(this.#distances, lengths, literalCount, distanceCount);
  }

  /** The canonical Huffman code of `lengths[from…from+n)` into `code`; over-subscribed lengths are an error. */
  #build(code: Code, lengths: Uint8Array, from: number, n: number): void {
    buildCode(code, lengths, from, n, this.#count, this.#next);
  }

  /** Decodes one block's symbols with the given codes up to its end-of-block symbol. */
  #codes(out: Uint8Array, produced: number, literals: Code, distances: Code): number {
    const litTable = literals.table, litMask = (1 << literals.bits) - 1;
    const distTable = distances.table, distMask = (1 << distances.bits) - 1;
    const d = this.#input, end = this.#end, size = out.length;
    let pos = this.#pos, at = produced;
    for (;;) {
      let i = pos >>> 3;
      let window = (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24)) >>> (pos & 7);
      const entry = litTable[window & litMask];
      if (entry === 0) throw new DeflateError("invalid", "invalid literal/length code");
      pos += entry & 15;
      if (pos > end) throw truncated();
      const symbol = entry >>> 4;
      if (symbol < END_OF_BLOCK) {
        if (at >= size) throw overflow();
        out[at++] = symbol;
        continue;
      }
      if (symbol === END_OF_BLOCK) break;
      const lengthIndex = symbol - 257;
      if (lengthIndex >= LENGTH_SYMBOLS) throw new DeflateError("invalid", `invalid length symbol ${symbol}`);
      i = pos >>> 3;
      window = (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24)) >>> (pos & 7);
      const lengthBits = LENGTH_EXTRA[lengthIndex];
      const length = LENGTH_BASE[lengthIndex] + (window & ((1 << lengthBits) - 1));
      pos += lengthBits;
      i = pos >>> 3;
      window = (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24)) >>> (pos & 7);
      const distEntry = distTable[window & distMask];
      if (distEntry === 0) throw new DeflateError("invalid", "invalid distance code");
      pos += distEntry & 15;
      const distSymbol = distEntry >>> 4;
      if (distSymbol >= DISTANCE_SYMBOLS) {
        throw new DeflateError("invalid", `invalid distance symbol ${distSymbol}`);
      }
      i = pos >>> 3;
      window = (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24)) >>> (pos & 7);
      const distBits = DISTANCE_EXTRA[distSymbol];
      const distance = DISTANCE_BASE[distSymbol] + (window & ((1 << distBits) - 1));
      pos += distBits;
      if (pos > end) throw truncated();
      if (distance > at) {
        throw new DeflateError("invalid", `a distance of ${distance} reaches before the start of the output`);
      }
      if (at + length > size) throw overflow();
      // Byte by byte: a copy may overlap its own output (distance < length repeats a pattern).
      for (let from = at - distance, stop = at + length; at < stop;) out[at++] = out[from++];
    }
    this.#pos = pos;
    return at;
  }
}

function buildCode(
  code: Code,
  lengths: Uint8Array,
  from: number,
  n: number,
  count: Uint16Array,
  next: Uint16Array,
): void {
  count.fill(0);
  let bits = 0;
  for (let s = 0; s < n; s++) {
    const length = lengths[from + s];
    count[length]++;
    if (length > bits) bits = length;
  }
  count[0] = 0;
  let left = 1, start = 0;
  for (let length = 1; length <= MAX_BITS; length++) {
    left = (left << 1) - count[length];
    if (left < 0) throw new DeflateError("invalid", "an over-subscribed Huffman code");
    start = (start + count[length - 1]) << 1;
    next[length] = start;
  }
  const size = 1 << bits, table = code.table;
  table.fill(0, 0, size);
  for (let s = 0; s < n; s++) {
    const length = lengths[from + s];
    if (length === 0) continue;
    const reversed = reverse(next[length]++, length);
    const entry = (s << 4) | length;
    for (let j = reversed; j < size; j += 1 << length) table[j] = entry;
  }
  code.bits = bits;
}

function reverse(value: number, bits: number): number {
  let r = 0;
  for (let b = 0; b < bits; b++, value >>>= 1) r = (r << 1) | (value & 1);
  return r;
}

/** The fixed codes of block type 1 (RFC 1951 §3.2.6), built once. */
const FIXED = /* @__PURE__ */ (() => {
  const lengths = new Uint8Array(288 + 32);
  lengths.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288).fill(5, 288, 320);
  const count = new Uint16Array(MAX_BITS + 1), next = new Uint16Array(MAX_BITS + 1);
  const literals: Code = { table: new Uint16Array(1 << 9), bits: 0 };
  const distances: Code = { table: new Uint16Array(1 << 5), bits: 0 };
  buildCode(literals, lengths, 0, 288, count, next);
  buildCode(distances, lengths, 288, 32, count, next);
  return { literals, distances };
})();

function truncated(): DeflateError {
  return new DeflateError("truncated", "unexpected end of the deflate data");
}

function overflow(): DeflateError {
  return new DeflateError("overflow", "the deflate data holds more bytes than expected");
}
