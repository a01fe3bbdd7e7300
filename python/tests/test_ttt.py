"""TTT-Linear and seed TTT: dual == primal == decode, against an autograd inner loop.

The independent reference for TTT-Linear (`autograd_reference`) computes each
token's fast weight from the DESIGN definition (W_bar_i = W - tau_i sum_j eta_j
grad_W l_j) with the inner gradients taken by torch.autograd, not by the
explicit LayerNorm-backward formula.
"""
import pytest
import torch
from torch.autograd import gradcheck

from bitttt_ref.ops import layer_norm
from bitttt_ref.ttt import (LinearState, SeedState, inner_grad, inner_loss, l2_normalize,
                            linear_init_state, seed_init_state, ttt_eta, ttt_linear_dual,
                            ttt_linear_forward, ttt_linear_primal, ttt_linear_step,
                            ttt_seed_dual, ttt_seed_primal, ttt_seed_step)

f64 = torch.float64
TOL = dict(rtol=0, atol=1e-5)       # contract: max abs diff <= 1e-5 in f64


def make_linear(gen, T, D=6, H=2, batch=()):
    f = D // H
    Q = torch.randn(*batch, T, D, generator=gen, dtype=f64)
    K = torch.randn(*batch, T, D, generator=gen, dtype=f64)
    V = torch.randn(*batch, T, D, generator=gen, dtype=f64)
    x = torch.randn(*batch, T, D, generator=gen, dtype=f64)
    lr_w = torch.randn(H, D, generator=gen, dtype=f64) * 0.3
    lr_b = torch.randn(H, generator=gen, dtype=f64) * 0.3
    eta = ttt_eta(x, lr_w, lr_b, 1.0)
    W0 = torch.randn(H, f, f, generator=gen, dtype=f64) / f ** 0.5
    b0 = torch.randn(H, f, generator=gen, dtype=f64) * 0.1
    gam = 1 + 0.2 * torch.randn(H, f, generator=gen, dtype=f64)
    bet = 0.2 * torch.randn(H, f, generator=gen, dtype=f64)
    return dict(Q=Q, K=K, V=V, x=x, lr_w=lr_w, lr_b=lr_b, eta=eta, W0=W0, b0=b0, gam=gam, bet=bet)


def autograd_reference(Q, K, V, eta, W0, b0, gam, bet, b):
    """Unbatched [T, D]; returns O [T, D] and the committed (W, c) per head."""
    T, D = Q.shape
    H = W0.shape[0]
    f = D // H
    outs = torch.zeros(T, D, dtype=f64)
    Ws, cs = [], []
    for h in range(H):
        sl = slice(h * f, (h + 1) * f)
        W, c = W0[h].clone(), b0[h].clone()
        for s in range(0, T, b):
            n = min(b, T - s)
            grads = []
            for j in range(s, s + n):
                Wv = W.clone().requires_grad_()
                cv = c.clone().requires_grad_()
                k, v = K[j, sl], V[j, sl]
                lj = inner_loss(k @ Wv + cv, v - k, gam[h], bet[h], 1e-6)
                gW, gc = torch.autograd.grad(lj, (Wv, cv))
                grads.append((eta[j, h] * gW, eta[j, h] * gc))
            for i in range(1, n + 1):
                Wb = W - sum(g[0] for g in grads[:i]) / i
                cb = c - sum(g[1] for g in grads[:i]) / i
                q = Q[s + i - 1, sl]
                outs[s + i - 1, sl] = q + layer_norm(q @ Wb + cb, gam[h], bet[h], 1e-6)
            if n == b:
                W, c = Wb, cb
        Ws.append(W)
        cs.append(c)
    return outs, torch.stack(Ws), torch.stack(cs)


def assert_state_close(a, b):
    assert a.pos == b.pos
    for x, y in zip(a[:-1], b[:-1]):
        torch.testing.assert_close(x, y, **TOL)


def run_steps(d, st, b, lo=0, hi=None):
    hi = d["Q"].shape[-2] if hi is None else hi
    outs = []
    for t in range(lo, hi):
        o, st = ttt_linear_step(d["Q"][..., t, :], d["K"][..., t, :], d["V"][..., t, :],
                                d["eta"][..., t, :], st, d["gam"], d["bet"], b)
        outs.append(o)
    return torch.stack(outs, -2), st


# ---------------------------------------------------------------- LN backward

def test_inner_grad_equals_autograd(gen):
    for f in (1, 2, 5, 16):
        Z = (torch.randn(7, f, generator=gen, dtype=f64) * 3).requires_grad_()
        T = torch.randn(7, f, generator=gen, dtype=f64)
        g = 1 + torch.randn(f, generator=gen, dtype=f64) * 0.5
        bt = torch.randn(f, generator=gen, dtype=f64)
        (ref,) = torch.autograd.grad(inner_loss(Z, T, g, bt), Z)
        torch.testing.assert_close(inner_grad(Z.detach(), T, g, bt), ref, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- TTT-Linear forms

@pytest.mark.parametrize("T,b", [(1, 4), (3, 4), (4, 4), (7, 4), (9, 4), (12, 4), (5, 1), (6, 16)])
def test_linear_dual_primal_decode_autograd_agree(gen, T, b):
    d = make_linear(gen, T)
    st0 = linear_init_state(d["W0"], d["b0"])
    args = (d["Q"], d["K"], d["V"], d["eta"], st0, d["gam"], d["bet"], b)
    Od, sd = ttt_linear_dual(*args)
    Op, sp = ttt_linear_primal(*args)
    Os, ss = run_steps(d, st0, b)
    Oref, Wref, cref = autograd_reference(d["Q"], d["K"], d["V"], d["eta"], d["W0"], d["b0"],
                                          d["gam"], d["bet"], b)
    for O in (Od, Op, Os):
        torch.testing.assert_close(O, Oref, **TOL)
    assert_state_close(sd, sp)
    assert_state_close(sd, ss)
    assert sd.pos == T % b
    torch.testing.assert_close(sd.W, Wref, **TOL)
    torch.testing.assert_close(sd.c, cref, **TOL)
    # the TTT really does something: outputs differ from the no-learning output
    O0, _ = ttt_linear_dual(d["Q"], d["K"], d["V"], torch.zeros_like(d["eta"]), st0,
                            d["gam"], d["bet"], b)
    if T > 1:
        assert (Od - O0).abs().max() > 1e-3


@pytest.mark.parametrize("split", [[2, 7], [3, 1, 5], [1, 1, 1, 6], [4, 5], [6, 3], [5, 0, 4]])
def test_linear_prefill_then_continue(gen, split):
    """prefill(T1) then prefill/decode the rest == one pass over all (state with pos != 0)."""
    b, T = 4, sum(split)
    d = make_linear(gen, T)
    st0 = linear_init_state(d["W0"], d["b0"])
    args = lambda lo, hi, st: (d["Q"][lo:hi], d["K"][lo:hi], d["V"][lo:hi], d["eta"][lo:hi], st,
                               d["gam"], d["bet"], b)
    O_all, s_all = ttt_linear_dual(*args(0, T, st0))
    for fn in (ttt_linear_dual, ttt_linear_primal):
        outs, st, lo = [], st0, 0
        for n in split:
            O, st = fn(*args(lo, lo + n, st))
            outs.append(O)
            lo += n
        torch.testing.assert_close(torch.cat(outs), O_all, **TOL)
        assert_state_close(st, s_all)
    # prefill first part, decode the rest token by token
    O1, st = ttt_linear_dual(*args(0, split[0], st0))
    O2, st = run_steps(d, st, b, split[0], T)
    torch.testing.assert_close(torch.cat([O1, O2]), O_all, **TOL)
    assert_state_close(st, s_all)


def test_linear_batched(gen):
    b, T = 4, 10
    d = make_linear(gen, T, batch=(3,))
    st0 = linear_init_state(d["W0"], d["b0"])
    Ob, sb = ttt_linear_dual(d["Q"], d["K"], d["V"], d["eta"], st0, d["gam"], d["bet"], b)
    Os, ss = run_steps(d, st0, b)
    torch.testing.assert_close(Ob, Os, **TOL)
    assert_state_close(sb, ss)
    for i in range(3):
        Oi, si = ttt_linear_dual(d["Q"][i], d["K"][i], d["V"][i], d["eta"][i], st0,
                                 d["gam"], d["bet"], b)
        torch.testing.assert_close(Ob[i], Oi, **TOL)
        torch.testing.assert_close(sb.W[i], si.W, **TOL)


def test_linear_dual_matches_design_formula(gen):
    """One full mini-batch from a fresh state, written exactly as DESIGN.md states it."""
    b = 5
    d = make_linear(gen, b, D=4, H=1)
    Q, K, V, eta = d["Q"], d["K"], d["V"], d["eta"][:, 0]
    W, c, gam, bet = d["W0"][0], d["b0"][0], d["gam"][0], d["bet"][0]
    f = 4
    Z = K @ W + c
    mu = Z.mean(-1, keepdim=True)
    sig = ((Z - mu) ** 2).mean(-1, keepdim=True).add(1e-6).sqrt()
    xh = (Z - mu) / sig
    g = (gam * xh + bet - (V - K)) * gam
    G = (f * g - g.sum(-1, keepdim=True) - xh * (g * xh).sum(-1, keepdim=True)) / (f * sig)
    tau = 1.0 / torch.arange(1, b + 1, dtype=f64)
    E = torch.tril(tau[:, None] * eta[None, :])
    A = torch.tril(Q @ K.t())
    Zb = Q @ W - (E * A) @ G + c - E @ G
    O = Q + layer_norm(Zb, gam, bet, 1e-6)
    W1 = W - (tau[-1] * eta[:, None] * K).t() @ G
    c1 = c - (tau[-1] * eta[:, None] * G).sum(0)
    Od, sd = ttt_linear_dual(Q, K, V, d["eta"], linear_init_state(d["W0"], d["b0"]),
                             d["gam"], d["bet"], b)
    torch.testing.assert_close(Od, O, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(sd.W[0], W1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(sd.c[0], c1, rtol=1e-12, atol=1e-12)
    assert sd.pos == 0 and not sd.GW.abs().max() and not sd.Gc.abs().max()


def test_linear_bad_pos_rejected(gen):
    d = make_linear(gen, 2)
    st = linear_init_state(d["W0"], d["b0"])._replace(pos=4)
    with pytest.raises(ValueError, match="pos"):
        ttt_linear_dual(d["Q"], d["K"], d["V"], d["eta"], st, d["gam"], d["bet"], 4)


@pytest.mark.parametrize("pos0,T", [(0, 6), (2, 5)])
def test_linear_dual_gradcheck(gen, pos0, T):
    """Gradients of the dual form w.r.t. x (via eta), Q, K, V, the state and ttt_norm/lr params."""
    b, D, H = 4, 4, 2
    d = make_linear(gen, T, D=D, H=H)
    GW = torch.randn(H, 2, 2, generator=gen, dtype=f64) * 0.1 if pos0 else torch.zeros(H, 2, 2, dtype=f64)
    Gc = torch.randn(H, 2, generator=gen, dtype=f64) * 0.1 if pos0 else torch.zeros(H, 2, dtype=f64)
    ins = [d["x"], d["Q"], d["K"], d["V"], d["lr_w"], d["lr_b"], d["W0"], d["b0"], GW, Gc,
           d["gam"], d["bet"]]
    ins = [t.clone().requires_grad_() for t in ins]

    def fn(x, Q, K, V, lw, lb, W, c, GW, Gc, gam, bet):
        O, st = ttt_linear_forward(x, Q, K, V, lw, lb, LinearState(W, c, GW, Gc, pos0), gam, bet,
                                   1.0, b)
        return O, st.W, st.c, st.GW, st.Gc

    assert gradcheck(fn, tuple(ins), eps=1e-6, atol=1e-5)


# ---------------------------------------------------------------- seed TTT

def original_engine_seed(khat, lr):
    """The original engine's per-token rule: z = W k; W -= lr (z - k) k^T."""
    d = khat.shape[-1]
    W = torch.zeros(d, d, dtype=khat.dtype)
    outs = []
    for k in khat:
        z = W @ k
        outs.append(z)
        W = W - lr * torch.outer(z - k, k)
    return torch.stack(outs), W


@pytest.mark.parametrize("T,b", [(1, 1), (7, 1), (4, 4), (9, 4), (3, 8)])
def test_seed_forms_agree(gen, T, b):
    d = 5
    khat = l2_normalize(torch.randn(T, d, generator=gen, dtype=f64))
    W0 = torch.randn(d, d, generator=gen, dtype=f64) * 0.3
    st0 = SeedState(W0, torch.zeros_like(W0), 0)
    Zd, sd = ttt_seed_dual(khat, st0, 0.7, b)
    Zp, sp = ttt_seed_primal(khat, st0, 0.7, b)
    outs, ss = [], st0
    for t in range(T):
        z, ss = ttt_seed_step(khat[t], ss, 0.7, b)
        outs.append(z)
    for Z in (Zp, torch.stack(outs)):
        torch.testing.assert_close(Z, Zd, **TOL)
    for s in (sp, ss):
        assert s.pos == sd.pos == T % b
        torch.testing.assert_close(s.W, sd.W, **TOL)
        torch.testing.assert_close(s.GW, sd.GW, **TOL)
    # explicit: all tokens of a mini-batch see the start W
    ref = khat[: min(T, b)] @ W0.t()
    torch.testing.assert_close(Zd[: min(T, b)], ref, **TOL)


def test_seed_b1_is_original_engine(gen):
    khat = l2_normalize(torch.randn(9, 6, generator=gen, dtype=f64))
    Zref, Wref = original_engine_seed(khat, 0.3)
    Z, st = ttt_seed_dual(khat, seed_init_state(6, f64), 0.3, 1)
    torch.testing.assert_close(Z, Zref, **TOL)
    torch.testing.assert_close(st.W, Wref, **TOL)
    assert Z[1:].abs().max() > 1e-3


@pytest.mark.parametrize("split", [[3, 6], [1, 2, 2, 4], [4, 5]])
def test_seed_prefill_then_continue(gen, split):
    b, d, T = 4, 4, sum(split)
    khat = l2_normalize(torch.randn(2, T, d, generator=gen, dtype=f64))
    st0 = seed_init_state(d, f64, batch_shape=(2,))
    Zall, sall = ttt_seed_dual(khat, st0, 0.5, b)
    outs, st, lo = [], st0, 0
    for n in split:
        Z, st = ttt_seed_dual(khat[:, lo:lo + n], st, 0.5, b)
        outs.append(Z)
        lo += n
    torch.testing.assert_close(torch.cat(outs, 1), Zall, **TOL)
    torch.testing.assert_close(st.W, sall.W, **TOL)
    torch.testing.assert_close(st.GW, sall.GW, **TOL)


def test_l2_normalize(gen):
    k = torch.randn(4, 7, generator=gen, dtype=f64)
    ref = k / (k.norm(dim=-1, keepdim=True) + 1e-6)
    torch.testing.assert_close(l2_normalize(k), ref, rtol=1e-14, atol=1e-14)
    assert torch.equal(l2_normalize(torch.zeros(2, 3)), torch.zeros(2, 3))


@pytest.mark.parametrize("pos0,b", [(0, 3), (1, 3)])
def test_seed_gradcheck(gen, pos0, b):
    d, T = 3, 5
    k = torch.randn(T, d, generator=gen, dtype=f64, requires_grad=True)
    W = (torch.randn(d, d, generator=gen, dtype=f64) * 0.3).requires_grad_()
    GW = (torch.randn(d, d, generator=gen, dtype=f64) * 0.1 * pos0).requires_grad_()

    def fn(k, W, GW):
        Z, st = ttt_seed_dual(l2_normalize(k), SeedState(W, GW, pos0), 0.6, b)
        return Z, st.W, st.GW

    assert gradcheck(fn, (k, W, GW))
