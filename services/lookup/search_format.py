"""The search index's bytes: named numpy arrays behind a small JSON header, read without copying.

Loading is what the lookup service does at every start, so the format is chosen for it: one
`np.frombuffer` per array, no parsing of per-code objects.
"""

from __future__ import annotations

import json
import struct

import numpy as np

MAGIC = b"MEDCODE-SEARCH\x00"
FORMAT_VERSION = 2
_ALIGN = 8


def pack(arrays: dict[str, np.ndarray]) -> bytes:
    """Header (magic, version, JSON table of arrays) then each array's bytes, 8-byte aligned."""
    table = []
    chunks = []
    offset = 0
    for name, array in arrays.items():
        data = np.ascontiguousarray(array).tobytes()
        table.append({"name": name, "dtype": array.dtype.str, "shape": list(array.shape), "offset": offset})
        padding = -len(data) % _ALIGN
        chunks.append(data + b"\x00" * padding)
        offset += len(data) + padding
    header = json.dumps({"version": FORMAT_VERSION, "arrays": table}).encode()
    header += b" " * (-(len(MAGIC) + 4 + len(header)) % _ALIGN)
    return b"".join([MAGIC, struct.pack("<I", len(header)), header, *chunks])


def unpack(payload: bytes) -> dict[str, np.ndarray]:
    """The arrays of `pack`, as read-only views of `payload`; ValueError when it is not one."""
    if not payload.startswith(MAGIC):
        raise ValueError("the bytes do not start with the search index header")
    (header_length,) = struct.unpack_from("<I", payload, len(MAGIC))
    start = len(MAGIC) + 4
    header = json.loads(payload[start : start + header_length])
    if header.get("version") != FORMAT_VERSION:
        raise ValueError(f"format version {header.get('version')}; this code reads {FORMAT_VERSION}")
    base = start + header_length
    arrays = {}
    for spec in header["arrays"]:
        dtype = np.dtype(spec["dtype"])
        count = int(np.prod(spec["shape"], dtype=np.int64))
        end = base + spec["offset"] + count * dtype.itemsize
        if end > len(payload):
            raise ValueError(f"array {spec['name']} runs past the end of the bytes")
        array = np.frombuffer(payload, dtype, count, base + spec["offset"])
        arrays[spec["name"]] = array.reshape(spec["shape"])
    return arrays
