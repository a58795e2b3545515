// CRC-32 (the reflected IEEE polynomial of gzip, PNG and the checkpoint checksums), the oracle for
// src/data/crc32.ts: bit by bit with no table, straight from the definition.

/** The CRC-32 of `bytes`. */
export function crcBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}
