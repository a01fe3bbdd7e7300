"""Every VJP rule of lib/Transforms/Autodiff/VJPRules.cpp against an
independent float64 reference.

Each case is a tiny ``@train_loss`` built around one op: the parameters are
f32 tensor arguments, the data argument ``%r`` holds random R, and the loss
is ``Σ Y ⊙ 2R`` over the op's result Y, the weights 2R computed as ``R + R``
inside the function (vjp_harness.weighted_sum_loss: a gradient that is the
data argument itself would be dropped, see test_gradient_that_is_an_argument);
for ``cross_entropy`` and the scalar path the op's own f32 result is the
loss. It goes through the whole ``--bitttt-train-pipeline`` (autodiff,
optimizer, lowering to LLVM), and the compiled ``train_grad`` (f32) is
compared with central finite differences of a float64 numpy/torch
implementation of the op written here — not the compiled code — with
``‖g − g_fd‖ / ‖g_fd‖ ≤ 1e-4`` (the observed errors are 1e-7 or below). The
compiled loss is checked against the same reference first, so the finite
differences are taken of the function that was compiled.

The random R makes every element of Y count with its own weight, so a rule
that drops a term, a sign or a factor (DivF without its minus, Sqrt without
its 1/2, a transposed matmul operand, a broadcast reduced over the wrong dim,
a slice cotangent put at the wrong offset) is off by O(1) in the relative
error, far above the tolerance; shapes are small, odd and non-square so that
a mixed-up dim does not happen to type-check.

BitLinear is the exception: its quantizers (``round``/``clamp`` of W/γ and
of x·s) are piecewise constant, so the derivative of the forward is zero
almost everywhere and finite differences see either nothing or a jump. The
rule is by design the straight-through estimator of DESIGN.md §1, so
``test_bitlinear_straight_through_estimator`` checks exactly that formula,
computed in float64 here. In the composite TTT-Linear case (act_bits 0) the
BitLinear weights are held fixed, so everything else — the input, lr_proj,
the initial fast weight, both norms — is smooth and finite-differenced
through the reference (python/bitttt_ref), and the BitLinear weight
gradients are compared with the reference's own STE backward (autograd).
``ttt_seed_seqs`` has no smooth parameter (only its two BitLinear weights)
and is left to the model-level training tests.

Known bugs are strict xfails (they turn into failures once fixed): the
pipeline crashes when two gradients are one value. A gradient that is an
argument's buffer (test_gradient_that_is_an_argument) and an active fill
value (``linalg.fill[active-scalar]``) were bugs too, and are now plain
tests.

The errors of the pass (an op without a rule, a loss independent of the
parameters) are lit tests: test/Transforms/autodiff-errors.mlir.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pytest

from vjp_harness import (GradFunction, central_differences, rel_error,
                         scalar_loss, weighted_sum_loss)

TOL = 1e-4          # ‖g − g_fd‖ / ‖g_fd‖ (the compiled gradient is f32)
LOSS_TOL = 1e-5     # |loss − loss_ref| / Σ|Y ⊙ R|
H_REL = 1e-6        # finite-difference step, relative to the input scale


def f32(x):
    """An f32 attribute's value as float64 (the eps the compiled code uses)."""
    return float(np.float32(x))


# ---------------------------------------------------------------------------
# float64 references

def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(logits, targets):
    m = logits.max(axis=-1, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(axis=-1, keepdims=True)))[:, 0]
    return float(np.mean(lse - logits[np.arange(len(targets)), targets]))


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * w


def layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    return xc / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps) * w + b


def silu_mul(g, u):
    return g / (1.0 + np.exp(-g)) * u


# ---------------------------------------------------------------------------
# cases

TARGETS = [1, 0, 5, 1]     # cross-entropy targets (rows of 6 logits)
IDS = [0, 2, 2, 5, 0, 2, 1]  # embedding ids: repeats, rows 3 and 4 unused


def _i32(values):
    return (f"dense<[{', '.join(str(v) for v in values)}]> : "
            f"tensor<{len(values)}xi32>")


@dataclass
class Case:
    id: str
    params: list              # (name, shape, kind); kind: normal|positive|nonzero
    body: str                 # defines %y (or returns the loss, y_shape None)
    y_shape: Optional[tuple]  # None: the body returns its own scalar loss
    ref: Callable             # {name: float64 array} -> Y (or the loss)
    marks: list = field(default_factory=list)

    def source(self):
        shapes = [(n, s) for n, s, _ in self.params]
        if self.y_shape is None:
            return scalar_loss(shapes, self.body)
        return weighted_sum_loss(shapes, self.body, "y", self.y_shape)


def sample(rng, shape, kind):
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "positive":        # sqrt
        return rng.uniform(0.5, 2.0, shape)
    if kind == "nonzero":         # denominators: |x| in [1, 2]
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(1.0, 2.0, shape)
    if kind == "offset":          # norm inputs: not centred, not unit
        return 1.5 * rng.standard_normal(shape) + 0.4
    raise ValueError(kind)


N = "normal"
T35 = "tensor<3x5xf32>"

CASES = [
    # -- elementwise ------------------------------------------------------
    # Both operands' cotangents are g; the rhs goes through a negf so that
    # the two gradients are different values (see the xfail case below).
    Case("arith.addf", [("p0", (3, 5), N), ("p1", (3, 5), N)],
         f"""  %n = arith.negf %p1 : {T35}
  %y = arith.addf %p0, %n : {T35}""",
         (3, 5), lambda p: p["p0"] - p["p1"]),
    # The plain y = p0 + p1: both gradients are one value. bitttt-autodiff
    # returns a linalg.copy of it as the second, but after CSE the copy's
    # init is the producer's tensor.empty, one-shot bufferization makes it
    # a self-copy into the same buffer, train_grad returns that buffer twice
    # and bitttt-opt crashes (segfault) in buffer-results-to-out-params.
    Case("arith.addf[same-gradient-twice]",
         [("p0", (3, 5), N), ("p1", (3, 5), N)],
         f"  %y = arith.addf %p0, %p1 : {T35}",
         (3, 5), lambda p: p["p0"] + p["p1"]),
    Case("arith.subf", [("p0", (3, 5), N), ("p1", (3, 5), N)],
         f"  %y = arith.subf %p0, %p1 : {T35}",
         (3, 5), lambda p: p["p0"] - p["p1"]),
    Case("arith.mulf", [("p0", (3, 5), N), ("p1", (3, 5), N)],
         f"  %y = arith.mulf %p0, %p1 : {T35}",
         (3, 5), lambda p: p["p0"] * p["p1"]),
    Case("arith.divf", [("p0", (3, 5), N), ("p1", (3, 5), "nonzero")],
         f"  %y = arith.divf %p0, %p1 : {T35}",
         (3, 5), lambda p: p["p0"] / p["p1"]),
    Case("arith.negf", [("p0", (3, 5), N)],
         f"  %y = arith.negf %p0 : {T35}",
         (3, 5), lambda p: -p["p0"]),
    Case("math.exp", [("p0", (3, 5), N)],
         f"  %y = math.exp %p0 : {T35}",
         (3, 5), lambda p: np.exp(p["p0"])),
    Case("math.sqrt", [("p0", (3, 5), "positive")],
         f"  %y = math.sqrt %p0 : {T35}",
         (3, 5), lambda p: np.sqrt(p["p0"])),

    # -- structured -------------------------------------------------------
    Case("linalg.broadcast", [("p0", (3, 5), N)],
         """  %e = tensor.empty() : tensor<3x4x5xf32>
  %y = linalg.broadcast ins(%p0 : tensor<3x5xf32>) outs(%e : tensor<3x4x5xf32>) dimensions = [1]""",
         (3, 4, 5), lambda p: np.broadcast_to(p["p0"][:, None, :], (3, 4, 5))),
    # A sum over the middle dim into an accumulator that is a parameter
    # too: cotangents to the input (broadcast back) and to the init.
    Case("linalg.reduce", [("p0", (3, 4, 5), N), ("p1", (3, 5), N)],
         """  %y = linalg.reduce ins(%p0 : tensor<3x4x5xf32>) outs(%p1 : tensor<3x5xf32>) dimensions = [1]
    (%a: f32, %b: f32) {
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    }""",
         (3, 5), lambda p: p["p1"] + p["p0"].sum(axis=1)),
    # A permutation that is not its own inverse.
    Case("linalg.transpose", [("p0", (3, 4, 5), N)],
         """  %e = tensor.empty() : tensor<5x3x4xf32>
  %y = linalg.transpose ins(%p0 : tensor<3x4x5xf32>) outs(%e : tensor<5x3x4xf32>) permutation = [2, 0, 1]""",
         (5, 3, 4), lambda p: np.transpose(p["p0"], (2, 0, 1))),
    Case("linalg.matmul", [("p0", (3, 4), N), ("p1", (4, 5), N), ("p2", (3, 5), N)],
         """  %y = linalg.matmul ins(%p0, %p1 : tensor<3x4xf32>, tensor<4x5xf32>) outs(%p2 : tensor<3x5xf32>) -> tensor<3x5xf32>""",
         (3, 5), lambda p: p["p2"] + p["p0"] @ p["p1"]),
    Case("linalg.batch_matmul",
         [("p0", (2, 3, 4), N), ("p1", (2, 4, 5), N), ("p2", (2, 3, 5), N)],
         """  %y = linalg.batch_matmul ins(%p0, %p1 : tensor<2x3x4xf32>, tensor<2x4x5xf32>) outs(%p2 : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>""",
         (2, 3, 5), lambda p: p["p2"] + p["p0"] @ p["p1"]),
    # A constant fill as a matmul accumulator: no cotangent of its own, and
    # it must not disturb the operands' ones.
    Case("linalg.fill", [("p0", (3, 4), N), ("p1", (4, 5), N)],
         """  %c = arith.constant 1.5 : f32
  %e = tensor.empty() : tensor<3x5xf32>
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>
  %y = linalg.matmul ins(%p0, %p1 : tensor<3x4xf32>, tensor<4x5xf32>) outs(%f : tensor<3x5xf32>) -> tensor<3x5xf32>""",
         (3, 5), lambda p: 1.5 + p["p0"] @ p["p1"]),
    # A fill of a value that depends on a parameter: the Fill rule's
    # cotangent of the scalar is Σ g (once it passed nothing back, and the
    # gradient was silently zero).
    Case("linalg.fill[active-scalar]", [("p0", (4, 6), N)],
         f"""  %t = arith.constant {_i32(TARGETS)}
  %l = bitttt.cross_entropy %p0, %t : tensor<4x6xf32>, tensor<4xi32>
  %e = tensor.empty() : tensor<3x5xf32>
  %y = linalg.fill ins(%l : f32) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>""",
         (3, 5), lambda p: np.full((3, 5), cross_entropy(p["p0"], TARGETS))),

    # -- tensor -----------------------------------------------------------
    Case("tensor.extract_slice", [("p0", (5, 7), N)],
         "  %y = tensor.extract_slice %p0[1, 2] [3, 4] [1, 1] : tensor<5x7xf32> to tensor<3x4xf32>",
         (3, 4), lambda p: p["p0"][1:4, 2:6]),
    Case("tensor.insert_slice", [("p0", (3, 4), N), ("p1", (5, 7), N)],
         "  %y = tensor.insert_slice %p0 into %p1[1, 2] [3, 4] [1, 1] : tensor<3x4xf32> into tensor<5x7xf32>",
         (5, 7), lambda p: _insert(p["p0"], p["p1"], (1, 2))),
    Case("tensor.expand_shape", [("p0", (3, 10), N)],
         "  %y = tensor.expand_shape %p0 [[0], [1, 2]] output_shape [3, 2, 5] : tensor<3x10xf32> into tensor<3x2x5xf32>",
         (3, 2, 5), lambda p: p["p0"].reshape(3, 2, 5)),
    Case("tensor.collapse_shape", [("p0", (2, 3, 5), N)],
         "  %y = tensor.collapse_shape %p0 [[0, 1], [2]] : tensor<2x3x5xf32> into tensor<6x5xf32>",
         (6, 5), lambda p: p["p0"].reshape(6, 5)),
    # The loss reached through f32 scalars: cross_entropy's result, the
    # scalar forms of the elementwise rules, then a 0-d from_elements.
    Case("tensor.from_elements[scalar-path]", [("p0", (4, 6), N)],
         f"""  %t = arith.constant {_i32(TARGETS)}
  %l = bitttt.cross_entropy %p0, %t : tensor<4x6xf32>, tensor<4xi32>
  %a = arith.mulf %l, %l : f32
  %b = math.exp %l : f32
  %c = arith.subf %a, %b : f32
  %d = arith.divf %c, %l : f32
  %n = arith.negf %d : f32
  %s = math.sqrt %a : f32
  %g = arith.addf %n, %s : f32
  %loss = tensor.from_elements %g : tensor<f32>
  return %loss : tensor<f32>""",
         None, lambda p: _scalar_path(cross_entropy(p["p0"], TARGETS))),

    # -- layer-level bitttt ops -------------------------------------------
    Case("bitttt.rms_norm", [("p0", (3, 7), "offset"), ("p1", (7,), N)],
         "  %y = bitttt.rms_norm %p0, %p1 {eps = 1.0e-05 : f32} : tensor<3x7xf32>, tensor<7xf32>",
         (3, 7), lambda p: rms_norm(p["p0"], p["p1"], f32(1e-5))),
    Case("bitttt.layer_norm[2d]",
         [("p0", (3, 7), "offset"), ("p1", (7,), N), ("p2", (7,), N)],
         "  %y = bitttt.layer_norm %p0, %p1, %p2 {eps = 1.0e-05 : f32} : tensor<3x7xf32>, tensor<7xf32>",
         (3, 7), lambda p: layer_norm(p["p0"], p["p1"], p["p2"], f32(1e-5))),
    Case("bitttt.layer_norm[weight-N]",
         [("p0", (3, 2, 5), "offset"), ("p1", (5,), N), ("p2", (5,), N)],
         "  %y = bitttt.layer_norm %p0, %p1, %p2 : tensor<3x2x5xf32>, tensor<5xf32>",
         (3, 2, 5), lambda p: layer_norm(p["p0"], p["p1"], p["p2"], f32(1e-6))),
    Case("bitttt.layer_norm[weight-HxN]",
         [("p0", (3, 2, 5), "offset"), ("p1", (2, 5), N), ("p2", (2, 5), N)],
         "  %y = bitttt.layer_norm %p0, %p1, %p2 : tensor<3x2x5xf32>, tensor<2x5xf32>",
         (3, 2, 5), lambda p: layer_norm(p["p0"], p["p1"], p["p2"], f32(1e-6))),
    Case("bitttt.silu_mul", [("p0", (3, 5), N), ("p1", (3, 5), N)],
         "  %y = bitttt.silu_mul %p0, %p1 : tensor<3x5xf32>",
         (3, 5), lambda p: silu_mul(p["p0"], p["p1"])),
    Case("bitttt.embedding", [("p0", (6, 4), N)],
         f"""  %ids = arith.constant {_i32(IDS)}
  %y = bitttt.embedding %p0[%ids] : tensor<6x4xf32>, tensor<7xi32> -> tensor<7x4xf32>""",
         (7, 4), lambda p: p["p0"][IDS]),
    Case("bitttt.lm_head", [("p0", (3, 4), N), ("p1", (6, 4), N)],
         "  %y = bitttt.lm_head %p0, %p1 : tensor<3x4xf32>, tensor<6x4xf32> -> tensor<3x6xf32>",
         (3, 6), lambda p: p["p0"] @ p["p1"].T),
    Case("bitttt.cross_entropy", [("p0", (4, 6), N)],
         f"""  %t = arith.constant {_i32(TARGETS)}
  %l = bitttt.cross_entropy %p0, %t : tensor<4x6xf32>, tensor<4xi32>
  %loss = tensor.from_elements %l : tensor<f32>
  return %loss : tensor<f32>""",
         None, lambda p: cross_entropy(p["p0"], TARGETS)),
]


def _insert(src, dest, offsets):
    out = dest.copy()
    out[offsets[0]:offsets[0] + src.shape[0], offsets[1]:offsets[1] + src.shape[1]] = src
    return out


def _scalar_path(l):
    a = l * l
    return -((a - np.exp(l)) / l) + np.sqrt(a)


def _case_params():
    return [pytest.param(c, id=c.id, marks=c.marks) for c in CASES]


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def _reference_loss(case, r):
    if case.y_shape is None:
        return lambda p: float(case.ref(p)), lambda p: abs(float(case.ref(p)))
    return (lambda p: float(np.sum(case.ref(p) * r)),
            lambda p: float(np.sum(np.abs(case.ref(p) * r))))


def check_against_finite_differences(label, grad_fn, params, r, loss_fn, scale_fn,
                                     names=None):
    """Compiled loss and gradients of ``grad_fn`` at ``params`` (f32) against
    the float64 ``loss_fn`` and its central differences."""
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    loss, grads = grad_fn(params, r)
    want = loss_fn(p64)
    assert abs(loss - want) <= LOSS_TOL * max(1.0, scale_fn(p64)), (
        f"{label}: compiled loss {loss!r} != float64 reference {want!r}")
    for name in names or params:
        h = H_REL * max(1.0, float(np.abs(p64[name]).max()))
        fd = central_differences(loss_fn, p64, name, h)
        assert np.linalg.norm(fd) > 0, f"{label}: d/d{name} is zero in the reference"
        assert name in grads, f"{label}: @train_grad has no gradient result for {name}"
        err = rel_error(grads[name], fd)
        assert err <= TOL, (
            f"{label}: gradient of {name} is off: ‖g − g_fd‖/‖g_fd‖ = {err:.3g} "
            f"(tolerance {TOL})\ncompiled:\n{grads[name]}\nfinite differences:\n{fd}")


@pytest.mark.parametrize("case", _case_params())
def test_vjp_matches_finite_differences(case):
    rng = _rng(case.id)
    params = {n: sample(rng, s, kind).astype(np.float32) for n, s, kind in case.params}
    r = None if case.y_shape is None else rng.standard_normal(case.y_shape).astype(np.float32)
    fn = GradFunction(case.source())
    weights = None if r is None else 2 * r.astype(np.float64)
    loss_fn, scale_fn = _reference_loss(case, weights)
    check_against_finite_differences(case.id, fn, params, r, loss_fn, scale_fn)


@pytest.mark.parametrize("op", ["arith.subf", "tensor.insert_slice"])
def test_gradient_that_is_an_argument(op):
    """The loss ``Σ Y ⊙ R`` with R itself as the weights. ``Y = p0 − p1``:
    dloss/dp0 is R, the data argument's buffer; ``Y = insert_slice(p0 into
    p1)``: dloss/dp1 is R with a hole of zeros, which bufferizes in place
    into R's buffer. Either way train_grad must still return the gradient
    (bitttt-drop-in-place-results once dropped every result of a public
    function that returned an argument's buffer; now only parameters and
    moments)."""
    if op == "arith.subf":
        params = [("p0", (3, 5)), ("p1", (3, 5))]
        body = f"  %y = arith.subf %p0, %p1 : {T35}"
        want = {"p0": lambda r: r, "p1": lambda r: -r}
    else:
        params = [("p0", (3, 4)), ("p1", (5, 7))]
        body = ("  %y = tensor.insert_slice %p0 into %p1[1, 2] [3, 4] [1, 1] : "
                "tensor<3x4xf32> into tensor<5x7xf32>")
        want = {"p0": lambda r: r[1:4, 2:6],
                "p1": lambda r: _insert(np.zeros((3, 4)), r, (1, 2))}
    y_shape = (5, 7) if op == "tensor.insert_slice" else (3, 5)
    rng = _rng("argument " + op)
    p = {n: rng.standard_normal(s).astype(np.float32) for n, s in params}
    r = rng.standard_normal(y_shape).astype(np.float32)
    fn = GradFunction(weighted_sum_loss(params, body, "y", y_shape, weights="r"))
    _, grads = fn(p, r)
    for name, g in want.items():
        assert name in grads, f"{op}: @train_grad has no gradient result for {name}"
        assert rel_error(grads[name], g(r.astype(np.float64))) <= TOL, f"{op}: d/d{name}"


# ---------------------------------------------------------------------------
# BitLinear: the straight-through estimator


def weight_quant(w):
    """γ = max(mean|W|, 1e-5), Wq = clamp(round(W/γ), −1, 1) (half to even)."""
    gamma = max(np.abs(w).mean(), 1e-5)
    return np.clip(np.round(w / gamma), -1, 1), gamma


def act_quant(x):
    """s = 127 / max(max|x|, 1e-5) per row, xq = clamp(round(x·s), −128, 127)."""
    s = 127.0 / np.maximum(np.abs(x).max(axis=-1, keepdims=True), 1e-5)
    return np.clip(np.round(x * s), -128, 127), s


def assert_quantization_margin(w, x=None):
    """The f32 quantizers of the compiled code give the same codes as these
    float64 ones only away from the rounding boundaries (|W/γ| = 0.5,
    x·s = k + 0.5): the fixed random inputs must keep clear of them."""
    _, gamma = weight_quant(w)
    assert np.abs(np.abs(w / gamma) - 0.5).min() > 1e-3, "weight too close to ±γ/2"
    if x is not None:
        _, s = act_quant(x)
        v = x * s
        assert np.abs(np.abs(v - np.floor(v)) - 0.5).min() > 1e-3, \
            "activation too close to a rounding boundary"


@pytest.mark.parametrize("act_bits", [8, 0])
def test_bitlinear_straight_through_estimator(act_bits):
    """BitLinear's rule is the STE of DESIGN.md §1, not the derivative of its
    (piecewise constant) forward: dx = dy·(γ·Wq), dW = dyᵀ·(xq/s) (dyᵀ·x for
    act_bits 0). Finite differences would see zero almost everywhere."""
    rng = _rng(f"bitlinear{act_bits}")
    x = rng.standard_normal((3, 8)).astype(np.float32)
    w = (0.5 * rng.standard_normal((5, 8))).astype(np.float32)
    r = rng.standard_normal((3, 5)).astype(np.float32)
    src = weighted_sum_loss(
        [("x", (3, 8)), ("w", (5, 8))],
        f"  %y = bitttt.bitlinear %x, %w {{act_bits = {act_bits} : i64}} : "
        "tensor<3x8xf32>, tensor<5x8xf32> -> tensor<3x5xf32>", "y", (3, 5))
    loss, grads = GradFunction(src)({"x": x, "w": w}, r)

    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    r64 = 2 * r.astype(np.float64)          # the loss weights R + R
    assert_quantization_margin(w64, x64 if act_bits else None)
    wq, gamma = weight_quant(w64)
    if act_bits:
        xq, s = act_quant(x64)
        y = (xq @ wq.T) * gamma / s
        x_eff = xq / s
    else:
        y = (x64 @ wq.T) * gamma
        x_eff = x64
    assert abs(loss - np.sum(y * r64)) <= LOSS_TOL * np.sum(np.abs(y * r64))
    dx = r64 @ (gamma * wq)
    dw = r64.T @ x_eff
    tol = 1e-5
    assert rel_error(grads["x"], dx) <= tol, f"bitttt.bitlinear act_bits {act_bits}: dx"
    assert rel_error(grads["w"], dw) <= tol, f"bitttt.bitlinear act_bits {act_bits}: dW"
    # The check tells the STE from its near misses: the latent W in dx, and
    # (act_bits 8) the unquantized x in dW.
    assert rel_error(r64 @ w64, dx) > 100 * tol
    if act_bits:
        assert rel_error(r64.T @ x64, dw) > 100 * tol


# ---------------------------------------------------------------------------
# Composite: TTT-Linear's training form


S, T, D, HEADS, MINI_BATCH, BASE_LR = 2, 6, 8, 2, 4, 1.0
F = D // HEADS
TTT_PARAMS = [  # name, shape, std, mean
    ("x", (S * T, D), 1.0, 0.0),
    ("q_proj", (D, D), 0.4, 0.0), ("k_proj", (D, D), 0.4, 0.0),
    ("v_proj", (D, D), 0.4, 0.0), ("o_proj", (D, D), 0.4, 0.0),
    ("lr_w", (HEADS, D), 0.5, 0.0), ("lr_b", (HEADS,), 0.5, 0.0),
    ("ttt_norm_w", (HEADS, F), 0.3, 1.0), ("ttt_norm_b", (HEADS, F), 0.3, 0.0),
    ("post_norm_w", (D,), 0.3, 1.0), ("post_norm_b", (D,), 0.3, 0.0),
    ("W0", (HEADS, F, F), 0.5, 0.0), ("b0", (HEADS, F), 0.5, 0.0),
]
BITLINEAR_WEIGHTS = ["q_proj", "k_proj", "v_proj", "o_proj"]


def ttt_linear_seqs_source():
    body = f"""  %y = bitttt.ttt_linear_seqs %x proj(%q_proj, %k_proj, %v_proj, %o_proj) lr(%lr_w, %lr_b)
      ttt_norm(%ttt_norm_w, %ttt_norm_b) post_norm(%post_norm_w, %post_norm_b) init(%W0, %b0)
      {{act_bits = 0 : i64, base_lr = {BASE_LR:.1f} : f32, mini_batch = {MINI_BATCH} : i64,
       num_heads = {HEADS} : i64, sequences = {S} : i64}}
      : tensor<{S * T}x{D}xf32>, tensor<{D}x{D}xf32>, tensor<{HEADS}x{D}xf32>, tensor<{HEADS}xf32>,
        tensor<{HEADS}x{F}xf32>, tensor<{D}xf32>, tensor<{HEADS}x{F}x{F}xf32>"""
    return weighted_sum_loss([(n, s) for n, s, _, _ in TTT_PARAMS], body, "y", (S * T, D))


def ttt_linear_seqs_reference(p):
    """The layer in float64 from python/bitttt_ref: q/k/v BitLinears (STE,
    act_bits 0), η from lr_proj, the dual form from (W0, b0) per sequence,
    post_norm, o_proj. ``p``: {name: float64 torch tensor}."""
    from bitttt_ref import ops, ttt
    x = p["x"].reshape(S, T, D)
    q, k, v = (ops.bitlinear(x, p[n], 0) for n in ("q_proj", "k_proj", "v_proj"))
    eta = ttt.ttt_eta(x, p["lr_w"], p["lr_b"], BASE_LR)
    o, _ = ttt.ttt_linear_dual(q, k, v, eta, ttt.linear_init_state(p["W0"], p["b0"]),
                               p["ttt_norm_w"], p["ttt_norm_b"], MINI_BATCH)
    post = ops.layer_norm(o, p["post_norm_w"], p["post_norm_b"], ops.LN_EPS)
    return ops.bitlinear(post, p["o_proj"], 0).reshape(S * T, D)


def test_ttt_linear_seqs_composite():
    """bitttt.ttt_linear_seqs (2 sequences × 6 tokens, D 8, 2 heads, mini-batch
    4 so each sequence ends in a partial mini-batch, act_bits 0): decomposed
    into the tensor primitives and differentiated mechanically. Its smooth
    inputs are finite-differenced through the float64 reference with the
    BitLinear weights fixed (their codes do not move); the BitLinear weight
    gradients are compared with the reference's STE backward."""
    import torch
    rng = _rng("ttt_linear_seqs")
    params = {n: (mean + std * rng.standard_normal(s)).astype(np.float32)
              for n, s, std, mean in TTT_PARAMS}
    r = rng.standard_normal((S * T, D)).astype(np.float32)
    r64 = 2 * r.astype(np.float64)          # the loss weights R + R
    for n in BITLINEAR_WEIGHTS:
        assert_quantization_margin(params[n].astype(np.float64))

    def loss_fn(p):
        y = ttt_linear_seqs_reference({k: torch.from_numpy(v) for k, v in p.items()})
        return float((y.numpy() * r64).sum())

    def scale_fn(p):
        y = ttt_linear_seqs_reference({k: torch.from_numpy(v) for k, v in p.items()})
        return float(np.abs(y.numpy() * r64).sum())

    fn = GradFunction(ttt_linear_seqs_source())
    smooth = [n for n, *_ in TTT_PARAMS if n not in BITLINEAR_WEIGHTS]
    check_against_finite_differences("bitttt.ttt_linear_seqs", fn, params, r,
                                     loss_fn, scale_fn, names=smooth)

    # The BitLinear weights: the reference's straight-through backward.
    _, grads = fn(params, r)
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
          for k, v in params.items()}
    (ttt_linear_seqs_reference(tp) * torch.from_numpy(r64)).sum().backward()
    for n in BITLINEAR_WEIGHTS:
        err = rel_error(grads[n], tp[n].grad.numpy())
        assert err <= TOL, f"bitttt.ttt_linear_seqs: STE gradient of {n}: {err:.3g}"
