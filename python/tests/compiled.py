"""Compile a small MLIR function with bitttt-opt and call it from numpy.

Test harness for lowering tests: the function under test takes and returns
ranked tensors; it goes through ``bitttt-cpu-pipeline`` to the LLVM dialect,
``mlir-translate`` to LLVM IR and ``clang-22`` to a shared object, and is
called through its ``_mlir_ciface_`` wrapper with memref descriptors built
over numpy arrays. Results come back as numpy arrays.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BITTTT_BUILD", os.path.join(REPO, "build"))
OPT = os.path.join(BUILD, "bin", "bitttt-opt")
TRANSLATE = "/usr/lib/llvm-22/bin/mlir-translate"
CLANG = "clang-22"

_NP_TO_MLIR = {np.dtype(np.float32): "f32", np.dtype(np.int32): "i32",
               np.dtype(np.int8): "i8", np.dtype(np.float64): "f64",
               np.dtype(np.int64): "i64"}
_MLIR_TO_NP = {v: k for k, v in _NP_TO_MLIR.items()}


def available():
    return os.access(OPT, os.X_OK) and os.access(TRANSLATE, os.X_OK)


def tensor_type(shape, elem):
    dims = "x".join(str(d) for d in shape)
    return f"tensor<{dims}x{elem}>" if shape else f"tensor<{elem}>"


def _descriptor_type(rank):
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})


def _descriptor(array):
    desc = _descriptor_type(array.ndim)()
    desc.allocated = desc.aligned = array.ctypes.data
    desc.offset = 0
    for i, (n, st) in enumerate(zip(array.shape, array.strides)):
        desc.sizes[i] = n
        desc.strides[i] = st // array.itemsize
    return desc


def _to_numpy(desc, shape, dtype):
    count = int(np.prod(shape)) if shape else 1
    buf = (ctypes.c_char * (count * np.dtype(dtype).itemsize)).from_address(
        desc.aligned + desc.offset * np.dtype(dtype).itemsize)
    return np.frombuffer(bytes(buf), dtype=dtype).reshape(shape).copy()


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
            f"func.func @{name}({arg_text}) -> ({res_text}) "
            f"attributes {{llvm.emit_c_interface}} {{\n{body}\n}}\n")
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
        # bitttt's x86-64-v4 target is x86-64-v4 plus AVX-512 VNNI.
        isa = [f"-march={march}"] + (["-mavx512vnni"] if march == "x86-64-v4" else [])
        self._run([CLANG, "-O2", *isa, "-shared", "-fPIC",
                   "-Wno-override-module", "-o", so, ll])
        self.lib = ctypes.CDLL(so)
        self.fn = getattr(self.lib, f"_mlir_ciface_{name}")

    def _run(self, cmd, stdin=None):
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}\n--- source:\n{self.source}")
        return proc.stdout

    def __call__(self, *arrays):
        arrays = [np.ascontiguousarray(a) for a in arrays]
        descs = [_descriptor(a) for a in arrays]
        rtypes = [_descriptor_type(len(s)) for s, _ in self.results]
        if len(rtypes) == 1:
            out = rtypes[0]()
        else:
            out = type("Results", (ctypes.Structure,),
                       {"_fields_": [(f"r{i}", t) for i, t in enumerate(rtypes)]})()
        self.fn(ctypes.byref(out), *[ctypes.byref(d) for d in descs])
        outs = [out] if len(rtypes) == 1 else [getattr(out, f"r{i}") for i in range(len(rtypes))]
        return [_to_numpy(d, tuple(s), _MLIR_TO_NP[e]) for d, (s, e) in zip(outs, self.results)]
