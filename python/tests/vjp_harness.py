"""Compile a small ``@train_loss`` function and call its ``train_grad``.

Test harness for the VJP rules (test_vjp_rules.py): a ``@train_loss(params...
{bitttt.tensor = name}, data {bitttt.io = "tokens"}) -> tensor<f32>`` module
goes through ``bitttt-opt --bitttt-train-pipeline`` (autodiff, optimizer,
lowering), ``mlir-translate`` and clang into a shared object, as
train_compiled.py does for a whole model; the ``bitttt_abi`` description of
``train_grad`` says how to bind the arrays (docs/abi.md).

``weighted_sum_loss`` writes the usual test loss ``Σ Y ⊙ (R + R)`` around
the body of the op under test, R being the data argument: its gradient with
respect to Y is 2R, so every element of Y reaches the loss with its own
random weight. The weights are computed (R + R), not R itself, so that no
gradient is the data argument's buffer: bitttt-drop-in-place-results drops
a result that returns an argument as if it were an in-place update
(test_vjp_rules.py::test_gradient_that_is_an_argument).
"""

from __future__ import annotations

import ctypes
import os
import tempfile

import numpy as np

import compiled
import train_compiled

_DTYPES = {"F32": np.float32, "I32": np.int32, "I64": np.int64}


def tensor_type(shape):
    return compiled.tensor_type(tuple(shape), "f32")


def weighted_sum_loss(params, body, y, y_shape, weights="2r"):
    """``@train_loss``: ``params`` is a list of ``(name, shape)`` bound to
    ``%<name>`` with ``bitttt.tensor = "<name>"``; ``body`` (MLIR text) defines
    ``%<y>`` of shape ``y_shape``; the loss is ``Σ %y ⊙ (%r + %r)`` over all
    dims, ``%r`` the data argument (``bitttt.io = "tokens"``); with
    ``weights="r"`` it is ``Σ %y ⊙ %r``."""
    ty = tensor_type(y_shape)
    dims = ", ".join(str(d) for d in range(len(y_shape)))
    w = "%r" if weights == "r" else "%__w"
    loss = f"""
  %__w = arith.addf %r, %r : {ty}
  %__m = arith.mulf %{y}, {w} : {ty}
  %__z = arith.constant 0.0 : f32
  %__e = tensor.empty() : tensor<f32>
  %__i = linalg.fill ins(%__z : f32) outs(%__e : tensor<f32>) -> tensor<f32>
  %__s = linalg.reduce ins(%__m : {ty}) outs(%__i : tensor<f32>) dimensions = [{dims}]
    (%__a: f32, %__b: f32) {{
      %__c = arith.addf %__a, %__b : f32
      linalg.yield %__c : f32
    }}
  return %__s : tensor<f32>"""
    return scalar_loss(params, body + loss, data_shape=y_shape)


def scalar_loss(params, body, data_shape=None):
    """``@train_loss`` whose ``body`` ends in its own ``return`` of a
    ``tensor<f32>``; a data argument ``%r`` only when ``data_shape`` is given."""
    args = [f'%{n}: {tensor_type(s)} {{bitttt.tensor = "{n}"}}' for n, s in params]
    if data_shape is not None:
        args.append(f'%r: {tensor_type(data_shape)} {{bitttt.io = "tokens"}}')
    sep = ",\n                      "
    return (f"func.func @train_loss({sep.join(args)}) -> tensor<f32> {{\n"
            f"{body}\n}}\n")


class GradFunction:
    """``train_grad`` of a ``@train_loss`` module (MLIR text)."""

    def __init__(self, source, march="x86-64-v3"):
        self.source = source
        self.tmp = tempfile.TemporaryDirectory(prefix="bitttt-vjp-")
        d = self.tmp.name
        src = os.path.join(d, "loss.mlir")
        with open(src, "w") as f:
            f.write(source)
        try:
            self.lib, self.abi = train_compiled.compile_train_module(src, d, march)
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n--- source:\n{source}") from None
        fn = self.abi["train_grad"]
        self.entry = getattr(self.lib, fn["symbol"])
        self.entry.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        self.entry.restype = None

    def __call__(self, params, data=None):
        """(loss, {name: gradient}) at ``params`` ({name: array}); ``data`` is
        the ``tokens`` argument. Inputs are copied (compiled code may write
        into argument buffers)."""
        fn = self.abi["train_grad"]
        inputs = []
        for b in fn["inputs"]:
            a = data if b["role"] == "io" else params[b["name"]]
            a = np.array(a, dtype=_DTYPES[b["dtype"]], order="C", copy=True)
            if a.shape != tuple(b["shape"]):
                raise ValueError(f"input {b['role']} {b['name']} has shape "
                                 f"{a.shape}, expected {tuple(b['shape'])}")
            inputs.append(a)
        outputs = [np.empty(tuple(b["shape"]), dtype=_DTYPES[b["dtype"]])
                   for b in fn["outputs"]]
        arrays = inputs + outputs
        buffers = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
        self.entry(buffers, None)
        loss = None
        grads = {}
        for b, o in zip(fn["outputs"], outputs):
            if b["role"] == "io" and b["name"] == "loss":
                loss = float(o)
            elif b["role"] == "grad":
                grads[b["name"]] = o
        return loss, grads


def central_differences(f, params, name, h):
    """∂f/∂params[name] by central differences, f: {name: float64 array} →
    float, each element perturbed by ±h."""
    p = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    x = p[name]
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(p)
        x[i] = old - h
        down = f(p)
        x[i] = old
        g[i] = (up - down) / (2 * h)
    return g


def rel_error(a, b):
    """‖a − b‖ / ‖b‖."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))
