"""A minimal Python executor for compiled .bitt files (docs/abi.md), used to
check compiled models against the reference independently of the C runtime:
it binds buffers by the header's names, calls bitttt_entry_<fn>, threads the
state through, and feeds prompts as prefill chunks plus single decodes."""

from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile

import numpy as np

from bitttt_ref import bitt

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BITTTT_BUILD", os.path.join(REPO, "build"))
COMPILE = os.path.join(BUILD, "bin", "bitttt-compile")

_DTYPES = {"F32": np.float32, "I32": np.int32, "I64": np.int64, "U8": np.uint8,
           "I8": np.int8, "BF16": np.uint16}


def compile_model(model_dir, out, *extra):
    proc = subprocess.run([COMPILE, model_dir, "-o", out, *extra],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bitttt-compile failed:\n{proc.stderr}")
    return out


class CompiledModel:
    def __init__(self, path, target):
        _, header, tensors, _ = bitt.read(path)
        self.header = header["bitttt"]
        self.functions = self.header["functions"]
        artifact = tensors[self.header["artifacts"][target]["tensor"]]
        self._dir = tempfile.TemporaryDirectory(prefix="bitttt-run-")
        so = os.path.join(self._dir.name, f"{target}.so")
        with open(so, "wb") as f:
            f.write(artifact.data)
        self.lib = ctypes.CDLL(so)
        self.tensors = {n: t.numpy().copy() for n, t in tensors.items()
                        if not n.startswith("__artifact__")}
        self.reset()

    def reset(self):
        self.state = {}
        for name, spec in self.header["state"].items():
            value = next(v for v in self.functions["decode"]["inputs"] if v["name"] == name)
            if spec["init"] == "zeros":
                self.state[name] = np.zeros(value["shape"], _DTYPES[value["dtype"]])
            else:
                self.state[name] = self.tensors[spec["init"]].copy()

    def call(self, fn_name, ids):
        fn = self.functions[fn_name]
        inputs = []
        for v in fn["inputs"]:
            if v["role"] == "io":
                arr = np.ascontiguousarray(ids, dtype=np.int32)
            elif v["role"] == "tensor":
                arr = self.tensors[v["name"]]
            else:
                arr = self.state[v["name"]]
            assert list(arr.shape) == v["shape"], (v, arr.shape)
            inputs.append(np.ascontiguousarray(arr, dtype=_DTYPES[v["dtype"]]))
        outputs = [np.empty(v["shape"], _DTYPES[v["dtype"]]) for v in fn["outputs"]]
        buffers = (ctypes.c_void_p * (len(inputs) + len(outputs)))(
            *[a.ctypes.data for a in inputs + outputs])
        entry = getattr(self.lib, fn["symbol"])
        # (buffers, exec); a NULL exec runs the parallel loops here.
        entry.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        entry(buffers, None)
        logits = None
        for v, out in zip(fn["outputs"], outputs):
            if v["role"] == "state":
                self.state[v["name"]] = out
            elif v["name"] == "logits":
                logits = out
        return logits

    def run(self, ids):
        """Logits of every position: whole prefill chunks, then decodes."""
        chunk = self.functions["prefill"]["tokens"]
        out, i = [], 0
        while len(ids) - i >= chunk:
            out.append(self.call("prefill", ids[i:i + chunk]))
            i += chunk
        for t in ids[i:]:
            out.append(self.call("decode", [t]))
        return np.concatenate(out, axis=0)
