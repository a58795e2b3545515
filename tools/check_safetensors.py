#!/usr/bin/env python3
"""Opens a safetensors file with the reference implementation and prints what it holds.

For checking by hand that a checkpoint written by reinmax (src/checkpoint/safetensors.ts) loads in Python:

    pip install safetensors numpy          # torch is used instead of numpy when it is importable
    python3 tools/check_safetensors.py model.safetensors

Prints the metadata, then each tensor's name, dtype, shape and sum, and whether the checksum matches: the
CRC-32 of the contents under "reinmax.contents_checksum" (docs/checkpoints.md defines it; the same CRC as
zlib's), or, in a file of format 1, the CRC-32 of the data section under "reinmax.checksum". Exits 1 when the
file does not load or the checksum does not match.
"""

import json
import struct
import sys
import zlib


def data_section_crc(path):
    # The data section starts after the 8-byte header length and the header, as the format defines it.
    with open(path, "rb") as f:
        (header_length,) = struct.unpack("<Q", f.read(8))
        f.seek(8 + header_length)
        crc = 0
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return f"crc32:{crc:08x}"


def contents_crc(path, metadata):
    """The contents checksum from the raw file: tensors in name order (name, dtype, shape, little-endian bytes),
    then the metadata but the checksum itself, in key order, each text followed by a 0 byte."""
    with open(path, "rb") as f:
        (header_length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_length))
        data = f.read()
    header.pop("__metadata__", None)
    crc = 0
    # Python orders str by code point, as the definition does.
    for name in sorted(header):
        entry = header[name]
        for text in (name, entry["dtype"], ",".join(str(d) for d in entry["shape"])):
            crc = zlib.crc32(text.encode() + b"\0", crc)
        begin, end = entry["data_offsets"]
        crc = zlib.crc32(data[begin:end], crc)
    for key in sorted(metadata):
        if key not in ("reinmax.contents_checksum", "reinmax.checksum", "reinmax.header_checksum"):
            crc = zlib.crc32(key.encode() + b"\0" + metadata[key].encode() + b"\0", crc)
    return f"crc32:{crc:08x}"


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} FILE.safetensors", file=sys.stderr)
        return 2
    path = argv[1]
    try:
        import torch  # noqa: F401
        from safetensors.torch import load_file

        library = "safetensors.torch"
    except ImportError:
        from safetensors.numpy import load_file

        library = "safetensors.numpy"
    from safetensors import safe_open

    try:
        tensors = load_file(path)
        # safe_open reads only the header; the framework does not matter for the metadata.
        with safe_open(path, framework="numpy") as f:
            metadata = f.metadata() or {}
    except Exception as e:  # the reference raises its own error types; report any of them the same way
        print(f"{path}: does not load with {library}: {e}", file=sys.stderr)
        return 1

    print(f"{path}: loaded with {library}")
    print("metadata:", json.dumps(metadata, indent=2, sort_keys=True))
    for name, tensor in tensors.items():
        # Sums in float64 (or int64 for integers) so that a large tensor's sum is not rounded to float32.
        if hasattr(tensor, "double"):
            total = (tensor.double() if tensor.is_floating_point() else tensor.long()).sum().item()
        else:
            total = tensor.sum(dtype="float64" if tensor.dtype.kind == "f" else "int64").item()
        print(f"{name}\t{tensor.dtype}\t{list(tensor.shape)}\tsum={total}")

    if "reinmax.contents_checksum" in metadata:
        key, what, actual = "reinmax.contents_checksum", "contents", contents_crc(path, metadata)
    elif "reinmax.checksum" in metadata:
        key, what, actual = "reinmax.checksum", "data section", data_section_crc(path)
    else:
        print("no reinmax checksum in the metadata: the file is not checked")
        return 0
    if actual != metadata[key]:
        print(f"checksum mismatch: {key} says {metadata[key]}, the {what} checksum is {actual}", file=sys.stderr)
        return 1
    print(f"{key} matches the {what} ({actual})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
