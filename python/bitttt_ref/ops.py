"""Primitive ops of the numerical contract (DESIGN.md section 1).

Rows are tokens: every op works on the last dimension and accepts any number
of leading dimensions.  All float math happens in the dtype of the inputs
(use float64 for equivalence tests, float32 to mirror compiled kernels).
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch

__all__ = [
    "WEIGHT_EPS", "ACT_EPS", "RMS_EPS", "LN_EPS",
    "weight_quant", "act_quant", "act_quant_with_scale", "to_int8",
    "bitlinear", "bitlinear_int", "int_dot",
    "rms_norm", "layer_norm", "silu", "swiglu", "cross_entropy",
    "LM_HEAD_FORMATS", "lm_head_bf16", "lm_head_int8_quant", "lm_head_int8",
    "lm_head",
]

WEIGHT_EPS = 1e-5   # floor of the weight scale gamma
ACT_EPS = 1e-5      # floor of max|x| in the activation scale
RMS_EPS = 1e-5      # RMSNorm default
LN_EPS = 1e-6       # LayerNorm (inside TTT) default


# ---------------------------------------------------------------------------
# quantizers (no gradients of their own; bitlinear applies the STE)


def weight_quant(W: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """BitNet b1.58 absmean quantizer over the whole tensor.

    gamma = max(mean|W|, 1e-5);  Wq = clamp(round(W / gamma), -1, 1).
    Returns ``(Wq, gamma)``: Wq in W's dtype with values in {-1, 0, 1}, gamma a
    0-d tensor.  ``round`` is round-half-to-even.  The mean is taken in
    float64 and rounded to W's dtype, so gamma is the nearest value to the
    exact mean whatever the summation order (the compiler's packer and its
    compiled quantizer sum in float64 too).
    """
    W = W.detach()
    gamma = W.abs().to(torch.float64).mean().to(W.dtype).clamp_min(WEIGHT_EPS)
    Wq = torch.round(W / gamma).clamp_(-1, 1)
    return Wq, gamma


def act_quant_with_scale(x: torch.Tensor, s: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """``clamp(round(x * s), -2^(bits-1), 2^(bits-1) - 1)`` (values in x's dtype)."""
    qmax = 2 ** (bits - 1) - 1
    return torch.round(x.detach() * s).clamp_(-qmax - 1, qmax)


def act_quant(x: torch.Tensor, bits: int = 8) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-row absmax activation quantizer.

    s = (2^(bits-1) - 1) / max(max|x|, 1e-5) per row (keepdim, shape [..., 1]);
    xq = clamp(round(x * s), -2^(bits-1), 2^(bits-1) - 1).
    For bits = 8: s = 127 / max(max|x|, 1e-5), xq in [-128, 127].
    Returns ``(xq, s)``; xq holds integer values in x's dtype (``to_int8(xq)``
    gives the int8 tensor).
    """
    if not (2 <= bits <= 8):
        raise ValueError(f"act_quant: bits must be in 2..8, got {bits}")
    x = x.detach()
    qmax = 2 ** (bits - 1) - 1
    amax = x.abs().amax(dim=-1, keepdim=True).clamp_min(ACT_EPS)
    # A true IEEE division, as DESIGN.md writes it: `qmax / amax` with a
    # Python scalar numerator would become `amax.reciprocal() * qmax` in
    # PyTorch, up to 1 ulp away from the division compiled code performs.
    s = torch.full_like(amax, qmax) / amax
    return act_quant_with_scale(x, s, bits), s


def to_int8(q: torch.Tensor) -> torch.Tensor:
    """Convert an integer-valued float tensor (output of a quantizer) to int8."""
    if q.dtype == torch.int8:
        return q
    if not torch.equal(q, torch.round(q)) or q.abs().max() > 128:
        raise ValueError("to_int8: tensor is not int8-valued")
    return q.to(torch.int8)


# ---------------------------------------------------------------------------
# BitLinear with the straight-through estimator


class _BitLinearSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, act_bits):
        Wq, gamma = weight_quant(W)
        if act_bits:
            xq, s = act_quant(x, act_bits)
            # y = (xq . Wq^T) * gamma / s ; the dot product is exact (integers)
            y = torch.matmul(xq, Wq.t()) * gamma / s
            x_eff = xq / s
        else:
            y = torch.matmul(x.detach(), Wq.t()) * gamma
            x_eff = x.detach()
        ctx.save_for_backward(x_eff, Wq, gamma)
        return y

    @staticmethod
    def backward(ctx, dy):
        x_eff, Wq, gamma = ctx.saved_tensors
        dx = dW = None
        if ctx.needs_input_grad[0]:
            dx = torch.matmul(dy, gamma * Wq)                    # dx = dy . (gamma Wq)
        if ctx.needs_input_grad[1]:
            dW = torch.matmul(dy.reshape(-1, dy.shape[-1]).t(),  # dW = dy^T . (xq / s)
                              x_eff.reshape(-1, x_eff.shape[-1]))
        return dx, dW, None


def bitlinear(x: torch.Tensor, W: torch.Tensor, act_bits: int = 8) -> torch.Tensor:
    """``y = BitLinear(x; W)``, W is [out, in].

    act_bits = 8: y = (xq . Wq^T) * gamma / s (evaluated in that order);
    act_bits = 0: y = (x . Wq^T) * gamma.
    Backward is the straight-through estimator: dx = dy (gamma Wq),
    dW = dy^T (xq / s)  (dW = dy^T x for act_bits = 0).
    """
    if act_bits not in (0, 8) and not (2 <= act_bits <= 8):
        raise ValueError(f"bitlinear: act_bits must be 0 or 2..8, got {act_bits}")
    return _BitLinearSTE.apply(x, W, int(act_bits))


def int_dot(xq: torch.Tensor, Wq: torch.Tensor) -> torch.Tensor:
    """Exact integer ``xq . Wq^T`` (int64 accumulation, checked to fit int32)."""
    for name, t in (("xq", xq), ("Wq", Wq)):
        if t.is_floating_point() and not torch.equal(t, torch.round(t)):
            raise ValueError(f"int_dot: {name} is not integer-valued")
    a = xq.to(torch.int64)
    b = Wq.to(torch.int64)
    acc = torch.matmul(a, b.t())
    if acc.numel() and acc.abs().max() > 2 ** 31 - 1:
        raise OverflowError("int_dot: accumulator exceeds int32")
    return acc.to(torch.int32)


def bitlinear_int(xq_int8: torch.Tensor, s: torch.Tensor, Wq_int8: torch.Tensor,
                  gamma: torch.Tensor) -> torch.Tensor:
    """Integer-kernel form of BitLinear: ``float(int32 dot) * gamma / s``.

    xq_int8 [..., in] (int8), s [..., 1] (float), Wq_int8 [out, in] (int8,
    ternary), gamma 0-d float.  The int32 accumulator is converted to s's dtype
    (exact below 2^24 for f32), multiplied by gamma, divided by s -- the same
    operation order as :func:`bitlinear`, so results match it bit for bit.
    """
    acc = int_dot(xq_int8, Wq_int8)
    return acc.to(s.dtype) * gamma.to(s.dtype) / s


# ---------------------------------------------------------------------------
# the LM head in the formats of `bitttt-compile --lm-head` (docs/lm-head.md)

LM_HEAD_FORMATS = ("f32", "bf16", "int8")


def lm_head_bf16(W: torch.Tensor) -> torch.Tensor:
    """The f32 weight rounded to bf16 (round to nearest even), as bf16."""
    return W.detach().to(torch.float32).to(torch.bfloat16)


def lm_head_int8_quant(W: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-row symmetric absmax int8 quantizer of the f32 LM-head weight [V, D].

    s_r = max_k |W[r,k]| / 127 (an f32 division);
    q[r,k] = clamp(round(W[r,k] / s_r), -127, 127) (round half to even, f32
    division); a row with s_r = 0 (all zero, or underflowed) has q = 0.
    Returns ``(q int8 [V, D], s f32 [V], row_sum int32 [V] = sum_k q[r,k])``.
    """
    W = W.detach().to(torch.float32)
    amax = W.abs().amax(dim=-1)
    s = amax / torch.full_like(amax, 127.0)          # a true f32 division
    zero = s == 0
    safe = torch.where(zero, torch.ones_like(s), s)
    q = torch.round(W / safe[:, None]).clamp_(-127, 127)
    q = torch.where(zero[:, None], torch.zeros_like(q), q)
    s = torch.where(zero, torch.zeros_like(s), s)
    return q.to(torch.int8), s, q.to(torch.int64).sum(-1).to(torch.int32)


def lm_head_int8(x: torch.Tensor, q: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """logits = f32(xq . q^T) * s_r / s_x: xq, s_x = act_quant(x) (8 bits, the
    BitLinears' quantizer); the integer dot exact, then the two f32 operations
    in that order (as bitlinear_int)."""
    xq, sx = act_quant(x.to(torch.float32), 8)
    acc = int_dot(xq, q)
    return acc.to(torch.float32) * s / sx


def lm_head(x: torch.Tensor, W: torch.Tensor, fmt: str = "f32") -> torch.Tensor:
    """x W^T with W in the LM-head format ``fmt`` (f32, bf16, int8)."""
    if fmt == "f32":
        return torch.matmul(x, W.t())
    if fmt == "bf16":
        return torch.matmul(x, lm_head_bf16(W).to(x.dtype).t())
    if fmt == "int8":
        q, s, _ = lm_head_int8_quant(W)
        return lm_head_int8(x, q, s).to(x.dtype)
    raise ValueError(f"lm_head: format must be one of {LM_HEAD_FORMATS}, got {fmt!r}")


# ---------------------------------------------------------------------------
# norms, activations, loss


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = RMS_EPS) -> torch.Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last dim."""
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * weight


def layer_norm(x: torch.Tensor, weight: Optional[torch.Tensor] = None,
               bias: Optional[torch.Tensor] = None, eps: float = LN_EPS) -> torch.Tensor:
    """``(x - mu) / sqrt(var + eps) * weight + bias`` over the last dim, biased var."""
    mu = x.mean(dim=-1, keepdim=True)
    xc = x - mu
    var = (xc * xc).mean(dim=-1, keepdim=True)
    y = xc / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def silu(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def swiglu(x: torch.Tensor, W_gate: torch.Tensor, W_up: torch.Tensor, W_down: torch.Tensor,
           act_bits: int = 8) -> torch.Tensor:
    """``down(silu(gate(x)) * up(x))`` with all three projections BitLinear."""
    g = bitlinear(x, W_gate, act_bits)
    u = bitlinear(x, W_up, act_bits)
    return bitlinear(silu(g) * u, W_down, act_bits)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                  ignore_index: int = -100) -> torch.Tensor:
    """Mean over non-ignored tokens of ``logsumexp(logits) - logits[target]``."""
    logits = logits.reshape(-1, logits.shape[-1])
    targets = targets.reshape(-1)
    valid = targets != ignore_index
    safe_t = torch.where(valid, targets, torch.zeros_like(targets))
    lse = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(1, safe_t.unsqueeze(1)).squeeze(1)
    nll = (lse - picked) * valid.to(logits.dtype)
    return nll.sum() / valid.sum().clamp_min(1).to(logits.dtype)
