"""Reference reader and writer for the ``.bitt`` container, in plain Python.

Independent of the C++ runtime: it follows docs/bitt-format.md and is used by
the tests to cross-check the runtime's reader and writer.

    "BITT" | H: u64 LE | header JSON (H bytes) | safetensors file

A v2 file pads the header JSON with spaces so that 12 + H is a multiple of
64, pads the safetensors header likewise so that the data section starts on
a 64-byte boundary, and starts every tensor on a 64-byte boundary; gaps are
filled by U8 tensors named ``__pad__.<n>`` so that the safetensors part stays
contiguous (as the ``safetensors`` package requires).
"""

import json
import os
import struct

import numpy as np

MAGIC = b"BITT"
ALIGN = 64
FORMAT_VERSION = 2
PAD_PREFIX = "__pad__."

DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4,
    "F64": 8, "I64": 8, "U64": 8, "C64": 8,
}

# numpy dtype -> safetensors dtype name (BF16 has no numpy dtype).
NUMPY_TO_DTYPE = {
    np.dtype(np.bool_): "BOOL", np.dtype(np.uint8): "U8",
    np.dtype(np.int8): "I8", np.dtype(np.int16): "I16",
    np.dtype(np.uint16): "U16", np.dtype(np.float16): "F16",
    np.dtype(np.int32): "I32", np.dtype(np.uint32): "U32",
    np.dtype(np.float32): "F32", np.dtype(np.float64): "F64",
    np.dtype(np.int64): "I64", np.dtype(np.uint64): "U64",
}
DTYPE_TO_NUMPY = {v: k for k, v in NUMPY_TO_DTYPE.items()}


class Tensor:
    """A tensor of a parsed file: dtype name, shape, raw bytes and the
    absolute file offset of its first byte."""

    def __init__(self, dtype, shape, data, offset):
        self.dtype, self.shape, self.data, self.offset = dtype, shape, data, offset

    def numpy(self):
        """The values as numpy; BF16 (no numpy dtype) as its uint16 bits."""
        dtype = np.uint16 if self.dtype == "BF16" else DTYPE_TO_NUMPY[self.dtype]
        return np.frombuffer(self.data, dtype).reshape(self.shape)


def _align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def split(data):
    """Splits container bytes: (version, header dict, offset of the
    safetensors part). Version 0 is a plain safetensors file."""
    if data[:4] != MAGIC:
        return 0, {}, 0
    (h,) = struct.unpack_from("<Q", data, 4)
    header = json.loads(bytes(data[12:12 + h]).decode("utf-8"))
    version = header.get("bitttt", {}).get("format_version", 1)
    return version, header, 12 + h


def read(path):
    """Parses a .bitt (v1/v2) or .safetensors file without the safetensors
    package: (version, header, {name: Tensor}, metadata). Padding tensors
    are dropped."""
    with open(path, "rb") as f:
        data = f.read()
    version, header, st = split(data)
    (s,) = struct.unpack_from("<Q", data, st)
    st_header = json.loads(data[st + 8:st + 8 + s].decode("utf-8"))
    start = st + 8 + s
    metadata = st_header.pop("__metadata__", {})
    tensors = {}
    for name, e in st_header.items():
        if version >= 2 and name.startswith(PAD_PREFIX):
            continue
        b, end = e["data_offsets"]
        tensors[name] = Tensor(e["dtype"], tuple(e["shape"]),
                               data[start + b:start + end], start + b)
    return version, header, tensors, metadata


def write_v1(path, header, tensors):
    """The original engine's layout: BITT, header, safetensors.numpy.save."""
    from safetensors.numpy import save
    h = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(h)) + h + save(tensors))


def write_v2(path, header, tensors, metadata=None):
    """A v2 file from {name: (dtype, shape, bytes) or numpy array}. Tensors
    sorted by name, compact JSON with sorted keys: the same bytes the C++
    writer produces for the same input."""
    header = json.loads(json.dumps(header))
    header.setdefault("bitttt", {}).setdefault("format_version", FORMAT_VERSION)
    st, chunks, offset, pads = {}, [], 0, 0
    for name in sorted(tensors):
        t = tensors[name]
        if isinstance(t, np.ndarray):
            t = (NUMPY_TO_DTYPE[t.dtype], t.shape, np.ascontiguousarray(t).tobytes())
        dtype, shape, raw = t
        if offset % ALIGN:
            n = _align(offset) - offset
            st[f"{PAD_PREFIX}{pads}"] = {"dtype": "U8", "shape": [n],
                                         "data_offsets": [offset, offset + n]}
            chunks.append(bytes(n))
            offset, pads = offset + n, pads + 1
        st[name] = {"dtype": dtype, "shape": list(shape),
                    "data_offsets": [offset, offset + len(raw)]}
        chunks.append(bytes(raw))
        offset += len(raw)
    if metadata:
        st["__metadata__"] = dict(metadata)
    h, s = _dumps(header), _dumps(st)
    h += b" " * (_align(12 + len(h)) - 12 - len(h))
    s += b" " * (_align(8 + len(s)) - 8 - len(s))
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + struct.pack("<Q", len(h)) + h)
            f.write(struct.pack("<Q", len(s)) + s)
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
