"""A checkpoint written by the runtime (runtime/src/Checkpoint.cpp, through
the gtest Checkpoint.WriteForPython) read by independent code: the
safetensors package for the tensors and metadata, xxhash for the checksums
(docs/training.md, "Checkpoint files"). The values mirror pythonTensors()
and pythonMeta() of test/unit/runtime/CheckpointTest.cpp."""

from __future__ import annotations

import json
import os
import struct
import subprocess

import numpy as np
import xxhash
from safetensors import safe_open
from safetensors.numpy import load_file

import bitt_runner

GTEST = os.path.join(bitt_runner.BUILD, "bin", "bitttt-runtime-tests")

# (name, shape) in the order written; value k of tensor i is 0.25 k - i.
TENSORS = [("zeta.weight", (3, 4)), ("layers.0.ttt.W0", (2, 2, 3)),
           ("scalar", ()), ("empty", (0,)), ("alpha", (5,))]
META = {"step": 7,
        "rng": [18446744073709551615, 1, 2, 0x9e3779b97f4a7c15],
        "windows_drawn": 4096, "loss": 2.5,
        "config": {"lr": 0.001, "name": "tiny"}}


def expected(i, shape):
    n = int(np.prod(shape)) if shape else 1
    return (0.25 * np.arange(n, dtype=np.float32) - i).reshape(shape)


def write_checkpoint(path):
    assert os.path.exists(GTEST), f"not built: {GTEST} (run scripts/build.sh)"
    proc = subprocess.run([GTEST, "--gtest_filter=Checkpoint.WriteForPython"],
                          env={**os.environ, "BITTTT_CKPT_OUT": str(path)},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 test" in proc.stdout, proc.stdout  # the filter matched


def test_checkpoint_reads_with_safetensors(tmp_path):
    path = tmp_path / "sample.ckpt"
    write_checkpoint(path)

    tensors = load_file(str(path))
    assert sorted(tensors) == sorted(name for name, _ in TENSORS)
    for i, (name, shape) in enumerate(TENSORS):
        t = tensors[name]
        assert t.dtype == np.float32, name
        assert t.shape == shape, name
        np.testing.assert_array_equal(t, expected(i, shape), err_msg=name)

    with safe_open(str(path), framework="numpy") as f:
        metadata = f.metadata()
    assert metadata["format_version"] == "1"
    meta_text = metadata["bitttt_checkpoint"]
    assert json.loads(meta_text) == META  # u64 words exact, not via double
    assert metadata["meta_checksum"] == xxhash.xxh3_64_hexdigest(
        meta_text.encode())

    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    assert (8 + n) % 64 == 0, "the data section starts 64-byte aligned"
    assert metadata["checksum"] == xxhash.xxh3_64_hexdigest(data)
    # Stored in the order written, back to back.
    offsets = [header[name]["data_offsets"] for name, _ in TENSORS]
    assert offsets[0][0] == 0 and offsets[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(offsets, offsets[1:]))
