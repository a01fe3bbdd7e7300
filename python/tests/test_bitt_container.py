"""The runtime's container reader/writer (bitttt_file_* C API, via ctypes)
against independent producers and consumers: the ``safetensors`` package and
the pure-Python reference in bitttt_ref.bitt.

The library is BITTTT_LIB if set, else <repo>/build/lib/libbitttt.so.
"""

import ctypes
import json
import os
import struct

import numpy as np
import pytest
import torch
from safetensors.numpy import load as st_load_numpy
from safetensors.numpy import save_file as st_save_file_numpy
from safetensors.torch import save as st_save_torch

from bitttt_ref import bitt

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB_PATH = os.environ.get("BITTTT_LIB") or os.path.join(REPO, "build", "lib", "libbitttt.so")

BITTTT_OK, BITTTT_ERR_INVALID_ARGUMENT, BITTTT_ERR_IO, BITTTT_ERR_FORMAT = 0, 1, 2, 3
BITTTT_ERR_UNSUPPORTED = 4


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_char_p),
                ("ndim", ctypes.c_int), ("shape", ctypes.c_int64 * 8),
                ("data", ctypes.c_void_p), ("nbytes", ctypes.c_uint64)]


@pytest.fixture(scope="module")
def lib():
    assert os.path.exists(LIB_PATH), (f"runtime library not built: {LIB_PATH} is "
                                      "absent (build it, or point BITTTT_LIB at "
                                      "libbitttt.so)")
    lib = ctypes.CDLL(LIB_PATH)
    lib.bitttt_last_error.restype = ctypes.c_char_p
    lib.bitttt_file_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.bitttt_file_close.argtypes = [ctypes.c_void_p]
    lib.bitttt_file_version.argtypes = [ctypes.c_void_p]
    lib.bitttt_file_header_json.argtypes = [ctypes.c_void_p]
    lib.bitttt_file_header_json.restype = ctypes.c_char_p
    lib.bitttt_file_tensor_count.argtypes = [ctypes.c_void_p]
    lib.bitttt_file_tensor_count.restype = ctypes.c_size_t
    lib.bitttt_file_tensor.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                       ctypes.POINTER(TensorInfo)]
    lib.bitttt_file_find.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                     ctypes.POINTER(TensorInfo)]
    lib.bitttt_file_copy_v2.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib


def last_error(lib):
    return lib.bitttt_last_error().decode()


class Opened:
    """An opened file: version, header, and {name: (dtype, shape, bytes, address)}."""

    def __init__(self, lib, path):
        handle = ctypes.c_void_p()
        rc = lib.bitttt_file_open(str(path).encode(), ctypes.byref(handle))
        assert rc == BITTTT_OK, last_error(lib)
        try:
            self.version = lib.bitttt_file_version(handle)
            self.header = json.loads(lib.bitttt_file_header_json(handle).decode())
            self.names, self.tensors = [], {}
            for i in range(lib.bitttt_file_tensor_count(handle)):
                info = TensorInfo()
                assert lib.bitttt_file_tensor(handle, i, ctypes.byref(info)) == BITTTT_OK
                name = info.name.decode()
                shape = tuple(info.shape[:info.ndim])
                data = ctypes.string_at(info.data, info.nbytes) if info.nbytes else b""
                self.names.append(name)
                self.tensors[name] = (info.dtype.decode(), shape, data, info.data)
                found = TensorInfo()
                assert lib.bitttt_file_find(handle, info.name, ctypes.byref(found)) == BITTTT_OK
                assert found.data == info.data and found.nbytes == info.nbytes
        finally:
            lib.bitttt_file_close(handle)


def open_error(lib, path):
    handle = ctypes.c_void_p()
    rc = lib.bitttt_file_open(str(path).encode(), ctypes.byref(handle))
    assert not handle.value
    return rc, last_error(lib)


def sample_arrays():
    rng = np.random.default_rng(7)
    return {
        "embed.weight": rng.standard_normal((5, 4)).astype(np.float32),
        "layers.0.norm1.weight": rng.standard_normal(4).astype(np.float16),
        "layers.0.ttt.base_lr": np.array(0.25, dtype=np.float64),      # 0-d
        "empty.rows": np.zeros((0, 3), dtype=np.float32),              # empty
        "codes": rng.integers(0, 255, (3, 32), dtype=np.uint8),
        "i8": rng.integers(-128, 127, 7, dtype=np.int8),
        "i16": rng.integers(-1000, 1000, (2, 2), dtype=np.int16),
        "u16": rng.integers(0, 60000, 3, dtype=np.uint16),
        "i32": rng.integers(-10**9, 10**9, 5, dtype=np.int32),
        "u32": rng.integers(0, 2**32 - 1, (1, 1, 1), dtype=np.uint32),
        "i64": rng.integers(-10**18, 10**18, 2, dtype=np.int64),
        "u64": rng.integers(0, 2**63, 1, dtype=np.uint64),
        "mask": rng.integers(0, 2, 6).astype(np.bool_),
    }


HEADER = {"config": {"arch": "bitttt", "vocab_size": 16, "hidden_dim": 4,
                     "num_layers": 1},
          "tokenizer": {"model": {"type": "BPE", "vocab": {"a": 0}}}}


def assert_matches_numpy(opened, arrays):
    assert sorted(opened.tensors) == sorted(arrays)
    for name, arr in arrays.items():
        dtype, shape, data, _ = opened.tensors[name]
        assert dtype == bitt.NUMPY_TO_DTYPE[arr.dtype], name
        assert shape == arr.shape, name
        assert data == np.ascontiguousarray(arr).tobytes(), name


# -- (a) files made by the safetensors package, read by the runtime ---------

def test_reads_v1_written_with_safetensors(lib, tmp_path):
    arrays = sample_arrays()
    path = tmp_path / "v1.bitt"
    bitt.write_v1(path, HEADER, arrays)
    opened = Opened(lib, path)
    assert opened.version == 1
    assert opened.header == HEADER
    assert_matches_numpy(opened, arrays)


def test_reads_plain_safetensors(lib, tmp_path):
    arrays = sample_arrays()
    path = tmp_path / "model.safetensors"
    st_save_file_numpy(arrays, str(path), metadata={"format": "np"})
    opened = Opened(lib, path)
    assert opened.version == 0
    assert opened.header == {}
    assert_matches_numpy(opened, arrays)
    # File order: by data offset, as stored by safetensors.
    _, _, ref, _ = bitt.read(path)
    assert opened.names == sorted(ref, key=lambda n: (ref[n].offset, n))


def test_reads_bf16_written_by_torch(lib, tmp_path):
    t = torch.randn(3, 5).to(torch.bfloat16)
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(st_save_torch({"w": t, "s": torch.tensor(1.5)}))
    opened = Opened(lib, path)
    dtype, shape, data, _ = opened.tensors["w"]
    assert (dtype, shape) == ("BF16", (3, 5))
    assert data == t.view(torch.int16).numpy().tobytes()
    assert opened.tensors["s"][:2] == ("F32", ())


# -- (b) v2 written by the runtime, read by safetensors -----------------------

def check_v2_bytes(data, expected_arrays, expected_header):
    """Checks the v2 layout rules on raw bytes and reads the tail with the
    safetensors package."""
    assert data[:4] == b"BITT"
    (h,) = struct.unpack_from("<Q", data, 4)
    assert (12 + h) % 64 == 0
    header = json.loads(data[12:12 + h].decode())
    assert header["bitttt"]["format_version"] == 2
    assert {k: v for k, v in header.items() if k != "bitttt"} == expected_header
    tail = data[12 + h:]
    (s,) = struct.unpack_from("<Q", tail, 0)
    assert (12 + h + 8 + s) % 64 == 0
    st_header = json.loads(tail[8:8 + s].decode())
    st_header.pop("__metadata__", None)
    for name, e in st_header.items():
        if not name.startswith(bitt.PAD_PREFIX):
            assert e["data_offsets"][0] % 64 == 0, name
    loaded = st_load_numpy(bytes(tail))
    loaded = {k: v for k, v in loaded.items() if not k.startswith(bitt.PAD_PREFIX)}
    assert sorted(loaded) == sorted(expected_arrays)
    for name, arr in expected_arrays.items():
        assert loaded[name].dtype == arr.dtype, name
        assert loaded[name].shape == arr.shape, name
        np.testing.assert_array_equal(loaded[name], arr, err_msg=name)


def test_copy_v2_of_v1_is_readable_by_safetensors(lib, tmp_path):
    arrays = sample_arrays()
    src, dst = tmp_path / "v1.bitt", tmp_path / "v2.bitt"
    bitt.write_v1(src, HEADER, arrays)
    assert lib.bitttt_file_copy_v2(str(src).encode(), str(dst).encode()) == BITTTT_OK, \
        last_error(lib)
    check_v2_bytes(dst.read_bytes(), arrays, HEADER)

    opened = Opened(lib, dst)
    assert opened.version == 2
    assert opened.names == sorted(arrays)
    assert_matches_numpy(opened, arrays)
    for name, (_, _, _, address) in opened.tensors.items():
        assert address % 64 == 0, name
    assert sorted(os.listdir(tmp_path)) == ["v1.bitt", "v2.bitt"]


def test_copy_v2_of_safetensors_and_in_place(lib, tmp_path):
    arrays = sample_arrays()
    path = tmp_path / "m.bitt"
    st_save_file_numpy(arrays, str(path))
    assert lib.bitttt_file_copy_v2(str(path).encode(), str(path).encode()) == BITTTT_OK, \
        last_error(lib)
    first = path.read_bytes()
    check_v2_bytes(first, arrays, {})
    # v2 -> v2 is the identity (the writer is deterministic).
    assert lib.bitttt_file_copy_v2(str(path).encode(), str(path).encode()) == BITTTT_OK
    assert path.read_bytes() == first
    assert os.listdir(tmp_path) == ["m.bitt"]


def test_runtime_writer_matches_python_reference_writer(lib, tmp_path):
    arrays = sample_arrays()
    v1, ours, ref = tmp_path / "v1.bitt", tmp_path / "ours.bitt", tmp_path / "ref.bitt"
    bitt.write_v1(v1, HEADER, arrays)
    assert lib.bitttt_file_copy_v2(str(v1).encode(), str(ours).encode()) == BITTTT_OK
    bitt.write_v2(ref, HEADER, arrays)
    assert ours.read_bytes() == ref.read_bytes()


def test_reads_v2_written_by_python_reference(lib, tmp_path):
    arrays = sample_arrays()
    path = tmp_path / "ref.bitt"
    header = dict(HEADER, bitttt={
        "format_version": 2,
        "packed": {"w": {"codes": "w.codes", "scale": "w.scale", "rows": 2,
                         "cols": 129, "layout": "i2_b128"}}})
    arrays["w.codes"] = np.ones((2, 64), dtype=np.uint8)
    arrays["w.scale"] = np.array(0.5, dtype=np.float32)
    bitt.write_v2(path, header, arrays, metadata={"k": "v"})
    opened = Opened(lib, path)
    assert opened.version == 2
    assert opened.header == header
    assert_matches_numpy(opened, arrays)


# -- malformed input: status + message naming file and tensor/field ----------

def corrupt_and_open(lib, tmp_path, mutate):
    arrays = {"a": np.arange(4, dtype=np.float32), "b": np.arange(3, dtype=np.int16)}
    path = tmp_path / "bad.bitt"
    bitt.write_v2(path, HEADER, arrays)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(mutate(data)))
    rc, msg = open_error(lib, path)
    assert msg.startswith(f"{path}: "), msg
    return rc, msg


def replace_header(data, old, new):
    """Edits the safetensors header in place, keeping its length."""
    i = bytes(data).index(old)
    new = new.ljust(len(old))
    assert len(new) == len(old)
    data[i:i + len(old)] = new
    return data


def test_truncated_file(lib, tmp_path):
    rc, msg = corrupt_and_open(lib, tmp_path, lambda d: d[:-2])
    assert rc == BITTTT_ERR_FORMAT
    assert "tensor 'b': data_offsets [64, 70] past end of data section" in msg


def test_header_length_past_end(lib, tmp_path):
    def mutate(d):
        d[4:12] = struct.pack("<Q", 1 << 20)
        return d
    rc, msg = corrupt_and_open(lib, tmp_path, mutate)
    assert rc == BITTTT_ERR_FORMAT
    assert f"truncated: header length {1 << 20} past end of file" in msg


def test_wrong_byte_size_and_overlap(lib, tmp_path):
    rc, msg = corrupt_and_open(lib, tmp_path, lambda d: replace_header(
        d, b'"shape":[3]', b'"shape":[4]'))
    assert rc == BITTTT_ERR_FORMAT
    assert "tensor 'b': data_offsets [64, 70] do not match shape [4] x I16 (8 bytes)" in msg

    rc, msg = corrupt_and_open(lib, tmp_path, lambda d: replace_header(
        d, b'"data_offsets":[64,70]', b'"data_offsets":[8,14]'))
    assert rc == BITTTT_ERR_FORMAT
    assert "tensors 'a' [0, 16] and 'b' [8, 14] overlap" in msg


def test_unknown_dtype_and_version(lib, tmp_path):
    rc, msg = corrupt_and_open(lib, tmp_path, lambda d: replace_header(
        d, b'"dtype":"I16"', b'"dtype":"Q16"'))
    assert rc == BITTTT_ERR_FORMAT
    assert "tensor 'b': unknown dtype 'Q16'" in msg

    rc, msg = corrupt_and_open(lib, tmp_path, lambda d: replace_header(
        d, b'"format_version":2', b'"format_version":7'))
    assert rc == BITTTT_ERR_UNSUPPORTED
    assert "header field 'bitttt.format_version' is 7" in msg


def test_missing_file_and_null_arguments(lib, tmp_path):
    rc, msg = open_error(lib, tmp_path / "absent.bitt")
    assert rc == BITTTT_ERR_IO and "absent.bitt: cannot open" in msg
    assert lib.bitttt_file_open(None, ctypes.byref(ctypes.c_void_p())) == \
        BITTTT_ERR_INVALID_ARGUMENT
    assert "path is NULL" in last_error(lib)
    assert lib.bitttt_file_version(None) == -1
    assert lib.bitttt_file_header_json(None) is None
    assert lib.bitttt_file_copy_v2(None, b"x") == BITTTT_ERR_INVALID_ARGUMENT
