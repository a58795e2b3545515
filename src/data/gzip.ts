/**
 * Single-member gzip (RFC 1952) with a verified trailer. The output is sized by the trailer's ISIZE only
 * once ISIZE is bounded by what the payload can expand to (a 20-byte file could otherwise ask for 4 GiB),
 * the deflate stream is decoded once straight into it, and the CRC-32 is checked, so a flipped byte cannot
 * decode to silent garbage.
 * @module
 */
import { DeflateError, inflateInto, MAX_INFLATE_INPUT_BYTES } from "./inflate.ts";
import { DatasetError } from "../errors.ts";
import { crc32 } from "./crc32.ts";

const FLAG_FHCRC = 0x02;
const FLAG_FEXTRA = 0x04;
const FLAG_FNAME = 0x08;
const FLAG_FCOMMENT = 0x10;
const FLAG_RESERVED = 0xe0;
const HEADER_BYTES = 10;
const TRAILER_BYTES = 8;
/** Deflate's largest expansion: a 258-byte match coded in 2 bits, so 1032 output bytes per input byte. */
export const MAX_DEFLATE_RATIO = 1032;

/** Whether `bytes` starts with the gzip magic 1f 8b (and so should be read with {@link gunzip}). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompresses a single-member gzip file and verifies its trailer (length and CRC-32). The output buffer is
 * sized by the trailer's ISIZE only after ISIZE has been bounded by what the compressed bytes can expand to.
 * Anything else — a bad header, a truncated or corrupt stream, a CRC mismatch, data after the deflate stream
 * (a second member included) — throws a {@link DatasetError} naming `source`.
 */
export function gunzip(bytes: Uint8Array, source: string): Uint8Array {
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES) {
    throw new DatasetError(
      source,
      `truncated gzip: a member needs at least ${HEADER_BYTES + TRAILER_BYTES} bytes (header and trailer), ` +
        `${bytes.length} are present`,
    );
  }
  if (!isGzip(bytes)) {
    throw new DatasetError(source, `expected the gzip magic 1f 8b, found ${hex(bytes, 0, 2)}`);
  }
  if (bytes[2] !== 8) {
    throw new DatasetError(source, `expected gzip compression method 8 (deflate), found ${bytes[2]}`);
  }
  const flags = bytes[3];
  if (flags & FLAG_RESERVED) {
    throw new DatasetError(
      source,
      `expected the reserved gzip flag bits (0xe0) to be zero, found flags 0x${flags.toString(16)}`,
    );
  }
  // The optional header fields must end before the trailer; everything between is deflate data.
  const headerLimit = bytes.length - TRAILER_BYTES;
  let pos = HEADER_BYTES;
  if (flags & FLAG_FEXTRA) {
    if (pos + 2 > headerLimit) throw truncatedHeader(source, "FEXTRA length");
    pos += 2 + (bytes[pos] | (bytes[pos + 1] << 8));
    if (pos > headerLimit) throw truncatedHeader(source, "FEXTRA field");
  }
  if (flags & FLAG_FNAME) pos = skipZeroTerminated(bytes, pos, headerLimit, source, "FNAME");
  if (flags & FLAG_FCOMMENT) pos = skipZeroTerminated(bytes, pos, headerLimit, source, "FCOMMENT");
  if (flags & FLAG_FHCRC) {
    pos += 2;
    if (pos > headerLimit) throw truncatedHeader(source, "FHCRC");
  }

  const payload = bytes.subarray(pos, headerLimit);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const expectedCrc = view.getUint32(headerLimit, true);
  const size = view.getUint32(headerLimit + 4, true);
  if (payload.length === 0) {
    throw new DatasetError(source, `truncated gzip: expected deflate data after the header, found none`);
  }
  if (payload.length > MAX_INFLATE_INPUT_BYTES) {
    throw new DatasetError(
      source,
      `expected at most ${MAX_INFLATE_INPUT_BYTES} bytes of deflate data, found ${payload.length}`,
    );
  }
  if (size > payload.length * MAX_DEFLATE_RATIO) {
    throw new DatasetError(
      source,
      `truncated or corrupt gzip, or data appended after it: the file's last 8 bytes, read as the gzip ` +
        `trailer, declare ${size} uncompressed bytes, but ${payload.length} bytes of deflate data can hold ` +
        `at most ${payload.length * MAX_DEFLATE_RATIO}`,
    );
  }

  const out = new Uint8Array(size);
  let end: { produced: number; consumed: number };
  try {
    end = inflateInto(payload, out);
  } catch (e) {
    if (e instanceof DeflateError && e.kind === "overflow") {
      throw new DatasetError(
        source,
        `corrupt gzip, or data appended after it: the file's last 8 bytes, read as the gzip trailer, declare ` +
          `${size} uncompressed bytes, the deflate data holds more`,
        { cause: e },
      );
    }
    throw new DatasetError(source, `truncated or corrupt gzip: the deflate data is invalid (${message(e)})`, {
      cause: e,
    });
  }
  if (end.produced !== size) {
    throw new DatasetError(
      source,
      `corrupt gzip, or data appended after it: the file's last 8 bytes, read as the gzip trailer, declare ` +
        `${size} uncompressed bytes, the deflate data holds ${end.produced}`,
    );
  }
  const actualCrc = crc32(out);
  if (actualCrc !== expectedCrc) {
    throw new DatasetError(
      source,
      `corrupt gzip: the trailer's CRC-32 is ${hex32(expectedCrc)}, the data's is ${hex32(actualCrc)}`,
    );
  }
  // The trailer is taken from the last 8 bytes, so the deflate stream must end exactly there; otherwise the
  // bytes between were ignored (a second gzip member, or junk) and the result could be wrong while its
  // length and CRC still match, e.g. for a file made of two identical members.
  if (end.consumed !== payload.length) {
    throw new DatasetError(
      source,
      `expected the file to end with the gzip trailer right after the deflate stream, found ` +
        `${payload.length - end.consumed} more bytes after the stream (a second gzip member, which is not ` +
        `supported, or data appended to the file)`,
    );
  }
  return out;
}

function skipZeroTerminated(
  bytes: Uint8Array,
  pos: number,
  limit: number,
  source: string,
  field: string,
): number {
  const end = bytes.subarray(0, limit).indexOf(0, pos);
  if (end < 0) throw truncatedHeader(source, field);
  return end + 1;
}

function truncatedHeader(source: string, field: string): DatasetError {
  return new DatasetError(source, `truncated gzip: the header's ${field} runs into the trailer`);
}

function hex(bytes: Uint8Array, start: number, end: number): string {
  return Array.from(bytes.subarray(start, end), (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
