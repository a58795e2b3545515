// A safetensors writer written from the format's and the checkpoint's documentation alone, laying a file out
// the way Python's writer does (tensors sorted by name, back to back; its own JSON with the metadata in its own
// order; spaces up to an 8-byte boundary), for tests of files that other tools wrote.
import { crcBitwise } from "./reference/crc32.ts";

/** A float32 tensor to write. */
export interface Float32Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function littleEndian(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

/**
 * The CRC-32 that docs/checkpoints.md defines over a checkpoint's contents: each tensor in name order (name,
 * "F32", the shape joined by commas, the little-endian elements), then each metadata entry in key order but
 * the checksum's own, every text followed by a 0 byte. Names here are ASCII, so UTF-16 order is byte order.
 */
export function contentsChecksum(
  tensors: ReadonlyMap<string, Float32Tensor>,
  metadata: Readonly<Record<string, string>>,
): string {
  const text = (t: string) => concat([new TextEncoder().encode(t), Uint8Array.of(0)]);
  const parts: Uint8Array[] = [];
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    parts.push(text(name), text("F32"), text(t.shape.join(",")), littleEndian(t.data));
  }
  for (const key of Object.keys(metadata).sort()) {
    if (key !== "reinmax.contents_checksum") parts.push(text(key), text(metadata[key]));
  }
  return `crc32:${crcBitwise(concat(parts)).toString(16).padStart(8, "0")}`;
}

/** The file, laid out as Python's writer would; `metadata` is written in the order given. */
export function writeLikePython(
  tensors: ReadonlyMap<string, Float32Tensor>,
  metadata: Readonly<Record<string, string>>,
): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const name of [...tensors.keys()].sort()) {
    const bytes = littleEndian(tensors.get(name)!.data);
    header[name] = {
      dtype: "F32",
      shape: tensors.get(name)!.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    data.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(head.length), true);
  return concat([length, head, ...data]);
}
