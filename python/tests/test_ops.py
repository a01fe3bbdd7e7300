"""Quantizers, BitLinear (float, integer and STE), norms, SwiGLU, cross-entropy.

References are independent: numpy re-implementations of the quantizers, exact
Python/numpy integer arithmetic, torch.nn.functional, autograd and gradcheck.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from bitttt_ref.ops import (act_quant, act_quant_with_scale, bitlinear, bitlinear_int,
                            cross_entropy, int_dot, layer_norm, rms_norm, silu, swiglu, to_int8,
                            weight_quant)

f64 = torch.float64


# ---------------------------------------------------------------- quantizers

def np_weight_quant(W):
    W = np.asarray(W, dtype=np.float64)
    g = max(np.abs(W).mean(), 1e-5)
    return np.clip(np.round(W / g), -1, 1), g          # np.round: half to even


def np_act_quant(x):
    x = np.asarray(x, dtype=np.float64)
    s = 127.0 / np.maximum(np.abs(x).max(axis=-1, keepdims=True), 1e-5)
    return np.clip(np.round(x * s), -128, 127), s


def test_weight_quant_ternary_and_scale(gen):
    W = torch.randn(17, 23, generator=gen, dtype=f64) * 0.3
    Wq, g = weight_quant(W)
    assert set(Wq.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert set(Wq.unique().tolist()) == {-1.0, 0.0, 1.0}
    ref_q, ref_g = np_weight_quant(W.numpy())
    assert g.item() == pytest.approx(ref_g, rel=1e-14)
    np.testing.assert_array_equal(Wq.numpy(), ref_q)


def test_weight_quant_f32_scale_is_the_rounded_exact_mean(gen):
    """For f32 weights γ is the f32 nearest the mean (taken in f64), so it
    does not depend on how a kernel orders the sum."""
    W = torch.randn(301, 77, generator=gen, dtype=torch.float32) * 0.02
    _, g = weight_quant(W)
    assert g.dtype == torch.float32
    assert g.item() == np.float32(np.abs(W.numpy().astype(np.float64)).mean())


def test_weight_quant_outlier_is_clamped():
    W = torch.tensor([[100.0, 0.01, -0.01, -100.0, 0.0, 0.5]], dtype=f64)
    Wq, g = weight_quant(W)
    assert Wq.tolist() == [[1.0, 0.0, 0.0, -1.0, 0.0, 0.0]]
    assert g.item() == pytest.approx(np.abs(W.numpy()).mean())


def test_weight_quant_all_zero_uses_floor():
    for dt in (torch.float32, f64):
        Wq, g = weight_quant(torch.zeros(4, 5, dtype=dt))
        assert g.item() == pytest.approx(1e-5)
        assert torch.equal(Wq, torch.zeros(4, 5, dtype=dt))
        assert torch.isfinite(Wq).all()


def test_weight_quant_ties_round_to_even():
    # mean|W| = 1 exactly -> W / gamma == W; +-0.5 -> 0, +-1.5 -> +-2 -> clamp +-1
    W = torch.tensor([0.5, -0.5, 1.5, -1.5, 1.0, 1.0, 1.0, 1.0], dtype=f64)
    assert W.abs().mean().item() == 1.0
    Wq, g = weight_quant(W)
    assert Wq.tolist() == [0.0, 0.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0]


def test_act_quant_matches_numpy(gen):
    for dt in (torch.float32, f64):
        x = torch.randn(9, 31, generator=gen, dtype=dt) * 3
        xq, s = act_quant(x)
        ref_q, ref_s = np_act_quant(x.numpy())
        assert s.shape == (9, 1)
        # s in the working dtype; q from that s
        np.testing.assert_allclose(s.numpy(), ref_s, rtol=1e-6 if dt == torch.float32 else 1e-15)
        if dt == f64:
            np.testing.assert_array_equal(xq.numpy(), ref_q)
        else:
            assert (np.abs(xq.numpy() - ref_q) <= 1).all()


def test_act_quant_scale_is_a_true_division(gen):
    # s = 127 / amax exactly as IEEE f32 division (what compiled code does),
    # not 127 * (1 / amax); numpy's f32 division is the independent reference.
    x = torch.randn(2000, 7, generator=gen, dtype=torch.float32) * 3
    _, s = act_quant(x)
    amax = np.maximum(np.abs(x.numpy()).max(axis=1, keepdims=True), np.float32(1e-5))
    np.testing.assert_array_equal(s.numpy(), np.float32(127) / amax)


def test_act_quant_zero_rows_no_nan():
    x = torch.zeros(3, 8)
    x[1] = torch.linspace(-1, 1, 8)
    xq, s = act_quant(x)
    assert torch.isfinite(s).all() and torch.isfinite(xq).all()
    assert s[0, 0].item() == pytest.approx(127 / 1e-5, rel=1e-6)
    assert torch.equal(xq[0], torch.zeros(8)) and torch.equal(xq[2], torch.zeros(8))
    W = torch.randn(5, 8)
    y = bitlinear(x, W, 8)
    assert torch.isfinite(y).all()
    assert torch.equal(y[0], torch.zeros(5))
    # tiny but nonzero row below the floor: s = 127 / 1e-5
    xt = torch.full((1, 4), 1e-7, dtype=f64)
    xq, s = act_quant(xt)
    assert s.item() == pytest.approx(127 / 1e-5)
    assert xq.tolist() == [[1.0, 1.0, 1.0, 1.0]]          # round(1.27) = 1


def test_act_quant_ties_round_to_even():
    # max|x| = 127 -> s = 1 exactly, so x * s hits .5 exactly
    x = torch.tensor([[127.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, -126.5]], dtype=f64)
    xq, s = act_quant(x)
    assert s.item() == 1.0
    assert xq.tolist() == [[127.0, 0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 4.0, -126.0]]
    # max|x| = 254 -> s = 0.5: 1 -> 0.5 -> 0, 3 -> 1.5 -> 2, 5 -> 2.5 -> 2, -7 -> -3.5 -> -4
    x = torch.tensor([[254.0, 1.0, 3.0, 5.0, -7.0]], dtype=torch.float32)
    xq, s = act_quant(x)
    assert s.item() == 0.5
    assert xq.tolist() == [[127.0, 0.0, 2.0, 2.0, -4.0]]


def test_act_quant_extremes(gen):
    x = torch.randn(200, 37, generator=gen) * torch.rand(200, 1, generator=gen) * 10
    x[::3] = -x[::3]
    xq, s = act_quant(x)
    idx = x.abs().argmax(dim=-1, keepdim=True)
    assert torch.equal(xq.gather(1, idx).abs(), torch.full((200, 1), 127.0))
    assert torch.equal(torch.sign(xq.gather(1, idx)), torch.sign(x.gather(1, idx)))
    assert xq.min().item() >= -127                 # symmetric scaling never yields -128
    assert xq.max().item() <= 127
    # the clamp itself: a scale that overshoots saturates at [-128, 127]
    q = act_quant_with_scale(torch.tensor([[-3.0, -1.0, 0.2, 1.0, 3.0]]), torch.tensor([[200.0]]))
    assert q.tolist() == [[-128.0, -128.0, 40.0, 127.0, 127.0]]
    assert to_int8(q).dtype == torch.int8


# ---------------------------------------------------------------- BitLinear

def test_int_dot_is_exact():
    rng = np.random.default_rng(0)
    xq = rng.integers(-128, 128, size=(6, 4096), dtype=np.int64)
    Wq = rng.integers(-1, 2, size=(5, 4096), dtype=np.int64)
    ref = [[sum(int(a) * int(b) for a, b in zip(xr, wr)) for wr in Wq] for xr in xq]
    got = int_dot(torch.from_numpy(xq).to(torch.int8), torch.from_numpy(Wq).to(torch.int8))
    assert got.dtype == torch.int32
    assert got.tolist() == ref
    # worst case magnitude: 127 * 4096 with all-ones weights (and -128 * 4096)
    big = int_dot(torch.full((1, 4096), 127, dtype=torch.int8), torch.ones(1, 4096, dtype=torch.int8))
    assert big.item() == 127 * 4096
    big = int_dot(torch.full((1, 4096), -128, dtype=torch.int8), torch.ones(1, 4096, dtype=torch.int8))
    assert big.item() == -128 * 4096


@pytest.mark.parametrize("shape", [(7, 48), (2, 3, 64), (48,)])
def test_bitlinear_int_equals_bitlinear(gen, shape):
    x = torch.randn(*shape, generator=gen)
    W = torch.randn(24, shape[-1], generator=gen) * 0.1
    y = bitlinear(x, W, 8)
    xq, s = act_quant(x)
    Wq, g = weight_quant(W)
    yi = bitlinear_int(to_int8(xq), s, to_int8(Wq), g)
    assert yi.dtype == torch.float32
    assert torch.equal(y, yi)                     # same op order: bit-for-bit
    # and both equal an independent f64 computation up to f32 rounding
    ref_q, ref_s = np_act_quant(x.double().numpy())
    rWq, rg = np_weight_quant(W.double().numpy())
    ref = (ref_q @ rWq.T) * rg / ref_s
    np.testing.assert_allclose(y.double().numpy(), ref, rtol=1e-5, atol=1e-6)


def test_bitlinear_act_bits_0(gen):
    x = torch.randn(5, 16, generator=gen, dtype=f64)
    W = torch.randn(8, 16, generator=gen, dtype=f64)
    Wq, g = np_weight_quant(W.numpy())
    np.testing.assert_allclose(bitlinear(x, W, 0).numpy(), x.numpy() @ Wq.T * g, rtol=1e-13)


@pytest.mark.parametrize("act_bits", [8, 0])
def test_bitlinear_ste_gradients(gen, act_bits):
    x = torch.randn(2, 5, 16, generator=gen, dtype=f64, requires_grad=True)
    W = torch.randn(8, 16, generator=gen, dtype=f64, requires_grad=True)
    dy = torch.randn(2, 5, 8, generator=gen, dtype=f64)
    bitlinear(x, W, act_bits).backward(dy)
    Wq, g = weight_quant(W)
    if act_bits:
        xq, s = act_quant(x)
        xe = xq / s
    else:
        xe = x.detach()
    torch.testing.assert_close(x.grad, dy @ (g * Wq), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(W.grad, dy.reshape(-1, 8).t() @ xe.reshape(-1, 16),
                               rtol=1e-13, atol=1e-13)


# ---------------------------------------------------------------- norms etc.

def test_rms_norm_formula_and_gradcheck(gen):
    x = torch.randn(3, 4, 10, generator=gen, dtype=f64)
    w = torch.randn(10, generator=gen, dtype=f64)
    ref = x.numpy() / np.sqrt((x.numpy() ** 2).mean(-1, keepdims=True) + 1e-5) * w.numpy()
    np.testing.assert_allclose(rms_norm(x, w).numpy(), ref, rtol=1e-13)
    assert gradcheck(rms_norm, (x[0].clone().requires_grad_(), w.clone().requires_grad_()))


def test_layer_norm_matches_torch_and_gradcheck(gen):
    x = torch.randn(3, 10, generator=gen, dtype=f64) * 2 + 1
    w = torch.randn(10, generator=gen, dtype=f64)
    b = torch.randn(10, generator=gen, dtype=f64)
    torch.testing.assert_close(layer_norm(x, w, b), F.layer_norm(x, (10,), w, b, eps=1e-6),
                               rtol=1e-12, atol=1e-12)
    # per-head affine params [H, f] broadcast over rows
    xh = torch.randn(5, 2, 3, generator=gen, dtype=f64)
    wh, bh = torch.randn(2, 3, generator=gen, dtype=f64), torch.randn(2, 3, generator=gen, dtype=f64)
    ref = torch.stack([F.layer_norm(xh[:, h], (3,), wh[h], bh[h], eps=1e-6) for h in range(2)], 1)
    torch.testing.assert_close(layer_norm(xh, wh, bh), ref, rtol=1e-12, atol=1e-12)
    assert gradcheck(layer_norm, (x.requires_grad_(), w.requires_grad_(), b.requires_grad_()))


def test_silu_and_swiglu_gradcheck(gen):
    x = torch.randn(4, 6, generator=gen, dtype=f64, requires_grad=True)
    torch.testing.assert_close(silu(x), F.silu(x))
    assert gradcheck(silu, (x,))
    # fixed ternary weights, act_bits = 0: an ordinary differentiable function of x
    Wg = torch.randint(-1, 2, (12, 6), generator=gen).to(f64)
    Wu = torch.randint(-1, 2, (12, 6), generator=gen).to(f64)
    Wd = torch.randint(-1, 2, (6, 12), generator=gen).to(f64)
    assert gradcheck(lambda t: swiglu(t, Wg, Wu, Wd, 0), (x,))
    # and the value is down(silu(gate x) * up x) with gamma-scaled ternary weights
    def eff(W):
        q, g = weight_quant(W)
        return g * q
    ref = (F.silu(x @ eff(Wg).t()) * (x @ eff(Wu).t())) @ eff(Wd).t()
    torch.testing.assert_close(swiglu(x, Wg, Wu, Wd, 0), ref, rtol=1e-12, atol=1e-12)


def test_cross_entropy_matches_torch_and_gradcheck(gen):
    logits = torch.randn(2, 5, 11, generator=gen, dtype=f64, requires_grad=True)
    t = torch.randint(0, 11, (2, 5), generator=gen)
    torch.testing.assert_close(cross_entropy(logits, t),
                               F.cross_entropy(logits.reshape(-1, 11), t.reshape(-1)))
    t2 = t.clone()
    t2[0, 1] = -100
    t2[1, 4] = -100
    torch.testing.assert_close(cross_entropy(logits, t2),
                               F.cross_entropy(logits.reshape(-1, 11), t2.reshape(-1),
                                               ignore_index=-100))
    assert gradcheck(lambda z: cross_entropy(z, t2), (logits,))
