"""Compile a small MLIR function with bitttt-opt and call it from numpy.

Test harness for lowering tests: the function under test takes and returns
ranked tensors; it goes through ``bitttt-cpu-pipeline`` to the LLVM dialect,
``mlir-translate`` to LLVM IR and ``clang-22`` to a shared object, and is
called through its ``bitttt_entry_<name>(void **buffers, exec)`` entry point
(docs/abi.md; exec NULL: parallel loops run on the calling thread): numpy arrays for the inputs, then freshly allocated ones for
the outputs. Results come back as numpy arrays.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile

import numpy as np

import cpu_targets

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BITTTT_BUILD", os.path.join(REPO, "build"))
OPT = os.path.join(BUILD, "bin", "bitttt-opt")
TRANSLATE = "/usr/lib/llvm-22/bin/mlir-translate"
CLANG = "clang-22"

_NP_TO_MLIR = {np.dtype(np.float32): "f32", np.dtype(np.int32): "i32",
               np.dtype(np.int8): "i8", np.dtype(np.float64): "f64",
               np.dtype(np.int64): "i64"}
_MLIR_TO_NP = {v: k for k, v in _NP_TO_MLIR.items()}


def has_x86_64_v4():
    """Whether this CPU runs bitttt's x86-64-v4 target (CpuTargets.def)."""
    return "x86-64-v4" in cpu_targets.runnable()


def tensor_type(shape, elem):
    dims = "x".join(str(d) for d in shape)
    return f"tensor<{dims}x{elem}>" if shape else f"tensor<{elem}>"


class Compiled:
    """``Compiled(body, args, results)``: ``args`` and ``results`` are lists of
    ``(shape, mlir_elem)``; ``body`` is the function body text using ``%a0``,
    ``%a1``… and ending in ``return``."""

    def __init__(self, body, args, results, pipeline="bitttt-cpu-pipeline",
                 name="kernel", march="x86-64-v3"):
        """An argument may be ``(shape, elem, "type text")`` when its MLIR type
        is not a plain tensor (a packed weight): ``shape``/``elem`` then say
        what is passed at the call after lowering."""
        self.results = results
        arg_text = ", ".join(
            f"%a{i}: {a[2] if len(a) > 2 else tensor_type(a[0], a[1])}"
            for i, a in enumerate(args))
        res_text = ", ".join(tensor_type(s, e) for s, e in results)
        self.source = (
            f"func.func @{name}({arg_text}) -> ({res_text}) {{\n{body}\n}}\n")
        self.tmp = tempfile.TemporaryDirectory(prefix="bitttt-compiled-")
        src = os.path.join(self.tmp.name, "k.mlir")
        with open(src, "w") as f:
            f.write(self.source)
        llvm_dialect = self._run([OPT, src, f"--{pipeline}"])
        llvm_ir = self._run([TRANSLATE, "--mlir-to-llvmir"], llvm_dialect)
        ll = os.path.join(self.tmp.name, "k.ll")
        so = os.path.join(self.tmp.name, "k.so")
        with open(ll, "w") as f:
            f.write(llvm_ir)
        isa = cpu_targets.clang_flags(march)
        self._run([CLANG, "-O2", *isa, "-shared", "-fPIC",
                   "-Wno-override-module", "-o", so, ll])
        self.lib = ctypes.CDLL(so)
        self.fn = getattr(self.lib, f"bitttt_entry_{name}")
        # (buffers, exec): a NULL exec runs parallel loops on this thread.
        self.fn.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        self.fn.restype = None

    def _run(self, cmd, stdin=None):
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}\n--- source:\n{self.source}")
        return proc.stdout

    def __call__(self, *arrays):
        # Copies: compiled code may use state and io inputs as scratch.
        inputs = [np.array(a, order="C", copy=True) for a in arrays]
        outputs = [np.empty(tuple(shape), dtype=_MLIR_TO_NP[elem])
                   for shape, elem in self.results]
        buffers = (ctypes.c_void_p * (len(inputs) + len(outputs)))(
            *[a.ctypes.data for a in inputs + outputs])
        self.fn(buffers, None)
        return outputs
