"""Compile a model's training functions and call them from numpy.

Test harness for the compiled training step below the runtime: the model
directory goes through ``bitttt-compile --train --emit=mlir`` (the
@train_loss module), ``bitttt-opt --bitttt-train-pipeline``, mlir-translate
and clang into a shared object whose ``bitttt_abi`` description says what
each entry point takes (docs/abi.md). ``grad`` and ``step`` bind numpy
arrays by role and name.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import tempfile

import numpy as np

import compiled
import cpu_targets

COMPILE = os.path.join(compiled.BUILD, "bin", "bitttt-compile")
_DTYPES = {"F32": np.float32, "I32": np.int32, "I64": np.int64}


def _run(cmd, stdin=None):
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}")
    return proc.stdout


def compile_train_module(mlir, workdir, march="x86-64-v3", options=""):
    """A @train_loss module (file ``mlir``) through bitttt-train-pipeline,
    mlir-translate and clang into ``workdir``: (ctypes library, its
    ``bitttt_abi`` functions)."""
    pipeline = f"--bitttt-train-pipeline=target={march} {options}".strip()
    llvm_dialect = _run([compiled.OPT, mlir, pipeline])
    llvm_ir = _run([compiled.TRANSLATE, "--mlir-to-llvmir"], llvm_dialect)
    ll, so = os.path.join(workdir, "t.ll"), os.path.join(workdir, "t.so")
    with open(ll, "w") as f:
        f.write(llvm_ir)
    _run([compiled.CLANG, "-O2", *cpu_targets.clang_flags(march), "-shared", "-fPIC",
          "-Wno-override-module", "-o", so, ll])
    lib = ctypes.CDLL(so)
    # `const char bitttt_abi[]`: the symbol is the array itself.
    start = ctypes.addressof(ctypes.c_char.in_dll(lib, "bitttt_abi"))
    return lib, json.loads(ctypes.c_char_p(start).value.decode())["functions"]


class CompiledTrainer:
    def __init__(self, model_dir, batch, context, march="x86-64-v3",
                 options=""):
        self.tmp = tempfile.TemporaryDirectory(prefix="bitttt-train-")
        d = self.tmp.name
        mlir = os.path.join(d, "train.mlir")
        self._run([COMPILE, model_dir, "--train", f"--batch={batch}",
                   f"--context={context}", "-o", mlir])
        self.lib, self.abi = compile_train_module(mlir, d, march, options)

    @staticmethod
    def _run(cmd, stdin=None):
        return _run(cmd, stdin)

    def call(self, name, bind):
        """Calls @name; ``bind(role, name)`` gives each input's array (in
        place for parameters and moments). Returns {(role, name): output}."""
        fn = self.abi[name]
        inputs = []
        for b in fn["inputs"]:
            a = bind(b["role"], b["name"])
            a = np.asarray(a)
            want = (_DTYPES[b["dtype"]], tuple(b["shape"]))
            if (a.dtype, a.shape) != want or not a.flags["C_CONTIGUOUS"]:
                raise ValueError(f"{name}: input {b['role']} {b['name']} is "
                                 f"{a.dtype}{a.shape}, expected {want}")
            inputs.append(a)
        outputs = [np.empty(tuple(b["shape"]), dtype=_DTYPES[b["dtype"]])
                   for b in fn["outputs"]]
        arrays = inputs + outputs
        buffers = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
        entry = getattr(self.lib, fn["symbol"])
        entry.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        entry.restype = None
        entry(buffers, None)
        return {(b["role"], b["name"]): o for b, o in zip(fn["outputs"], outputs)}

    def grad(self, params, tokens):
        """(loss, {name: gradient}) of the mean next-token loss."""
        tokens = np.ascontiguousarray(tokens, dtype=np.int32)
        out = self.call("train_grad", lambda role, name:
                        tokens if role == "io" else np.ascontiguousarray(params[name]))
        loss = float(out[("io", "loss")])
        return loss, {n: g for (r, n), g in out.items() if r == "grad"}

    def step(self, params, m, v, t, lr, tokens):
        """One fused train_step; params, m, v (dicts of float32 arrays) are
        updated in place. Returns (loss, grad_norm)."""
        tokens = np.ascontiguousarray(tokens, dtype=np.int32)
        scalars = {"step": np.array(t, dtype=np.int64),
                   "lr": np.array(lr, dtype=np.float32), "tokens": tokens}
        where = {"param": params, "adam_m": m, "adam_v": v}
        out = self.call("train_step", lambda role, name:
                        scalars[name] if role == "io" else where[role][name])
        return float(out[("io", "loss")]), float(out[("io", "grad_norm")])
