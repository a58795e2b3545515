/**
 * CRC-32 as gzip (RFC 1952) and PNG define it: the IEEE 802.3 polynomial, reflected (0xEDB88320), initial
 * value and final XOR 0xFFFFFFFF.
 * @module
 */

// One table entry per byte value: the CRC of that byte alone, before the final XOR. Built once at load
// (256 entries, cheap) rather than committed as a literal nobody could review.
const TABLE = /* @__PURE__ */ (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32 of `bytes`, as an unsigned 32-bit integer. Pass the CRC of the bytes before as `crc` to continue
 * over data that arrives in pieces: `crc32(b, crc32(a))` equals the CRC of `a` followed by `b`.
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
