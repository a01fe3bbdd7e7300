"""Test-Time Training layers: TTT-Linear and the seed (original Bit-TTT) TTT.

Each comes in three forms that must agree (DESIGN.md invariant):

* ``*_dual``   -- mini-batch dual form (training / prefill);
* ``*_primal`` -- token by token, materializing the fast weight seen by every
  token explicitly (W_bar_i = W - tau_i * sum_{j<=i} eta_j k_j^T G_j);
* ``*_step``   -- one token of stateful decode (running sums GW, Gc).

Layouts (rows are tokens; any leading batch dims ``...`` are allowed):

* TTT-Linear: Q, K, V ``[..., T, D]`` (head h owns columns h*f .. h*f+f-1),
  eta ``[..., T, H]``; output ``[..., T, D]`` = heads concatenated, *before*
  ``post_norm`` and ``o_proj``.
  State :class:`LinearState` ``(W [..., H, f, f], c [..., H, f],
  GW [..., H, f, f], Gc [..., H, f], pos)``: ``(W, c)`` is the committed fast
  weight at the start of the current mini-batch (row-vector convention:
  ``z = k W + c``), ``GW = sum_j eta_j k_j^T G_j`` and ``Gc = sum_j eta_j G_j``
  over the ``pos`` tokens already seen in the current mini-batch (G_j taken at
  ``(W, c)``).  ``0 <= pos < mini_batch``; the state is committed
  (``W -= GW / b``, ``c -= Gc / b``, sums zeroed, pos = 0) exactly when a
  mini-batch becomes full.
* Seed TTT: k_hat ``[..., T, d]`` -> z ``[..., T, d]`` (before ``up``).
  State :class:`SeedState` ``(W [..., d, d], GW [..., d, d], pos)`` with
  ``z = W k_hat`` (column-vector convention, as the original engine) and
  ``GW = sum_j (z_j - k_hat_j) k_hat_j^T`` over the current mini-batch;
  commit ``W -= inner_lr * GW`` when the mini-batch is full.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import torch

from .ops import LN_EPS, layer_norm

__all__ = [
    "LinearState", "SeedState",
    "split_heads", "merge_heads", "ttt_eta", "inner_loss", "inner_grad",
    "linear_init_state", "ttt_linear_dual", "ttt_linear_primal", "ttt_linear_step",
    "ttt_linear_forward",
    "l2_normalize", "seed_init_state", "ttt_seed_dual", "ttt_seed_primal", "ttt_seed_step",
    "SEED_NORM_EPS",
]

SEED_NORM_EPS = 1e-6


class LinearState(NamedTuple):
    W: torch.Tensor    # [..., H, f, f]
    c: torch.Tensor    # [..., H, f]
    GW: torch.Tensor   # [..., H, f, f]
    Gc: torch.Tensor   # [..., H, f]
    pos: int


class SeedState(NamedTuple):
    W: torch.Tensor    # [..., d, d]
    GW: torch.Tensor   # [..., d, d]
    pos: int


# ---------------------------------------------------------------------------
# helpers


def split_heads(X: torch.Tensor, H: int) -> torch.Tensor:
    """[..., T, D] -> [..., H, T, f]."""
    return X.unflatten(-1, (H, X.shape[-1] // H)).transpose(-3, -2)


def merge_heads(X: torch.Tensor) -> torch.Tensor:
    """[..., H, T, f] -> [..., T, D]."""
    return X.transpose(-3, -2).flatten(-2)


def ttt_eta(x: torch.Tensor, lr_weight: torch.Tensor, lr_bias: torch.Tensor,
            base_lr: float) -> torch.Tensor:
    """``eta = base_lr * sigmoid(x . lr_proj_h + lr_bias_h) / f`` -> [..., T, H].

    x is the TTT input [..., T, D] (after RMSNorm_1), lr_weight [H, D], lr_bias [H].
    """
    H, D = lr_weight.shape
    f = D // H
    return base_lr * torch.sigmoid(torch.matmul(x, lr_weight.t()) + lr_bias) / f


def inner_loss(Z: torch.Tensor, target: torch.Tensor, gamma: torch.Tensor,
               beta: torch.Tensor, eps: float = LN_EPS) -> torch.Tensor:
    """Inner self-supervised loss ``1/2 * sum (LN(Z) - target)^2`` (summed over all rows)."""
    r = layer_norm(Z, gamma, beta, eps) - target
    return 0.5 * (r * r).sum()


def inner_grad(Z: torch.Tensor, target: torch.Tensor, gamma: torch.Tensor,
               beta: torch.Tensor, eps: float = LN_EPS) -> torch.Tensor:
    """Explicit d(inner_loss)/dZ per row (DESIGN's LayerNorm backward).

    x_hat = (Z - mu) / sigma,  g = (gamma x_hat + beta - target) * gamma,
    G = (f g - sum(g) - x_hat * sum(g x_hat)) / (f sigma).
    """
    f = Z.shape[-1]
    mu = Z.mean(dim=-1, keepdim=True)
    Zc = Z - mu
    sigma = torch.sqrt((Zc * Zc).mean(dim=-1, keepdim=True) + eps)
    xhat = Zc / sigma
    g = (gamma * xhat + beta - target) * gamma
    return (f * g - g.sum(dim=-1, keepdim=True)
            - xhat * (g * xhat).sum(dim=-1, keepdim=True)) / (f * sigma)


def _check_pos(pos: int, b: int) -> None:
    if not isinstance(pos, int) or not (0 <= pos < b):
        raise ValueError(f"TTT state pos must be an int in [0, {b}), got {pos!r}")


# ---------------------------------------------------------------------------
# TTT-Linear


def linear_init_state(W0: torch.Tensor, b0: torch.Tensor) -> LinearState:
    """Layer-start state ``(W0, b0, 0, 0, pos=0)`` (keeps the autograd graph to W0/b0)."""
    return LinearState(W0, b0, torch.zeros_like(W0), torch.zeros_like(b0), 0)


def _linear_chunk(Qh, Kh, Vh, etah, st: LinearState, gamma, beta, b, eps):
    """One (possibly partial) mini-batch in dual form.

    Qh/Kh/Vh [..., H, n, f], etah [..., H, n], ``st.pos + n <= b``.
    Also handles a start state that is part-way into a mini-batch (pos0 > 0,
    nonzero GW/Gc): tau_i = 1 / (pos0 + i) and the earlier tokens' sums enter
    as ``- tau_i (q_i GW + Gc)``.
    """
    W, c, GW, Gc, pos0 = st
    n = Qh.shape[-2]
    dt, dev = Qh.dtype, Qh.device
    g_ = gamma.unsqueeze(-2)                   # [H, 1, f]
    b_ = beta.unsqueeze(-2)
    Z = torch.matmul(Kh, W) + c.unsqueeze(-2)  # inner forward at the start state
    G = inner_grad(Z, Vh - Kh, g_, b_, eps)    # [..., H, n, f]
    i = torch.arange(1, n + 1, dtype=dt, device=dev) + pos0
    tau = (1.0 / i).unsqueeze(-1)              # [n, 1]
    mask = torch.ones(n, n, dtype=dt, device=dev).tril()
    E = tau * etah.unsqueeze(-2) * mask        # E_ij = tau_i eta_j (j <= i)  [..., H, n, n]
    A = torch.matmul(Qh, Kh.transpose(-1, -2)) * mask
    Zbar = (torch.matmul(Qh, W) - torch.matmul(E * A, G) + c.unsqueeze(-2) - torch.matmul(E, G))
    # sums carried in by the state (zero at a mini-batch start, pos0 == 0)
    Zbar = Zbar - tau * (torch.matmul(Qh, GW) + Gc.unsqueeze(-2))
    O = Qh + layer_norm(Zbar, g_, b_, eps)
    eG = etah.unsqueeze(-1) * G
    GW = GW + torch.matmul(Kh.transpose(-1, -2), eG)
    Gc = Gc + eG.sum(dim=-2)
    pos = pos0 + n
    if pos == b:
        W = W - GW / b
        c = c - Gc / b
        GW = torch.zeros_like(GW)
        Gc = torch.zeros_like(Gc)
        pos = 0
    return O, LinearState(W, c, GW, Gc, pos)


def ttt_linear_dual(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, eta: torch.Tensor,
                    state: LinearState, ln_weight: torch.Tensor, ln_bias: torch.Tensor,
                    mini_batch: int, eps: float = LN_EPS) -> Tuple[torch.Tensor, LinearState]:
    """TTT-Linear over a sequence in the mini-batch dual form.

    Q, K, V [..., T, D]; eta [..., T, H]; ln_weight/ln_bias (ttt_norm) [H, f].
    T need not be a multiple of ``mini_batch`` and ``state.pos`` may be > 0.
    Returns ``(O [..., T, D], new_state)``; O is ``Q + LN_ttt(Z_bar)`` per head.
    """
    b = int(mini_batch)
    st = LinearState(*state)
    _check_pos(st.pos, b)
    H = ln_weight.shape[0]
    Qh, Kh, Vh = split_heads(Q, H), split_heads(K, H), split_heads(V, H)
    etah = eta.transpose(-1, -2)               # [..., H, T]
    T = Qh.shape[-2]
    outs = []
    t = 0
    while t < T:
        n = min(T - t, b - st.pos)
        O, st = _linear_chunk(Qh[..., t:t + n, :], Kh[..., t:t + n, :], Vh[..., t:t + n, :],
                              etah[..., t:t + n], st, ln_weight, ln_bias, b, eps)
        outs.append(O)
        t += n
    if not outs:
        return Q.clone(), st
    return merge_heads(torch.cat(outs, dim=-2)), st


def ttt_linear_primal(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, eta: torch.Tensor,
                      state: LinearState, ln_weight: torch.Tensor, ln_bias: torch.Tensor,
                      mini_batch: int, eps: float = LN_EPS) -> Tuple[torch.Tensor, LinearState]:
    """TTT-Linear token by token, materializing each token's fast weight.

    For token i of a mini-batch (start state (W, c)):
    W_bar_i = W - (1/i) (GW_0 + sum_{j<=i} eta_j k_j^T G_j),
    c_bar_i = c - (1/i) (Gc_0 + sum_{j<=i} eta_j G_j),
    o_i = q_i + LN(q_i W_bar_i + c_bar_i); (GW_0, Gc_0) are the sums carried in
    by the state (nonzero only when state.pos > 0).  Same signature as the dual form.
    """
    b = int(mini_batch)
    W, c, GW0, Gc0, pos = LinearState(*state)
    _check_pos(pos, b)
    H = ln_weight.shape[0]
    Qh, Kh, Vh = split_heads(Q, H), split_heads(K, H), split_heads(V, H)
    etah = eta.transpose(-1, -2)
    T = Qh.shape[-2]
    seen = []                                   # (eta_j, k_j, G_j) of this mini-batch
    outs = []
    for t in range(T):
        q, k, v, e = Qh[..., t, :], Kh[..., t, :], Vh[..., t, :], etah[..., t]
        z = torch.matmul(k.unsqueeze(-2), W).squeeze(-2) + c
        G = inner_grad(z, v - k, ln_weight, ln_bias, eps)
        seen.append((e, k, G))
        i = pos + 1
        SW = GW0 + sum(ej[..., None, None] * kj.unsqueeze(-1) * Gj.unsqueeze(-2)
                       for ej, kj, Gj in seen)
        Sc = Gc0 + sum(ej[..., None] * Gj for ej, kj, Gj in seen)
        W_bar = W - SW / i
        c_bar = c - Sc / i
        zbar = torch.matmul(q.unsqueeze(-2), W_bar).squeeze(-2) + c_bar
        outs.append(q + layer_norm(zbar, ln_weight, ln_bias, eps))
        pos = i
        if pos == b:
            W, c = W_bar, c_bar
            GW0, Gc0 = torch.zeros_like(GW0), torch.zeros_like(Gc0)
            seen = []
            pos = 0
    GW = GW0 + sum(ej[..., None, None] * kj.unsqueeze(-1) * Gj.unsqueeze(-2)
                   for ej, kj, Gj in seen)
    Gc = Gc0 + sum(ej[..., None] * Gj for ej, kj, Gj in seen)
    if not outs:
        return Q.clone(), LinearState(W, c, GW, Gc, pos)
    return merge_heads(torch.stack(outs, dim=-2)), LinearState(W, c, GW, Gc, pos)


def ttt_linear_step(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, eta: torch.Tensor,
                    state: LinearState, ln_weight: torch.Tensor, ln_bias: torch.Tensor,
                    mini_batch: int, eps: float = LN_EPS) -> Tuple[torch.Tensor, LinearState]:
    """One decode token: q, k, v [..., D], eta [..., H] -> (o [..., D], new_state)."""
    b = int(mini_batch)
    W, c, GW, Gc, pos = LinearState(*state)
    _check_pos(pos, b)
    H = ln_weight.shape[0]
    qh, kh, vh = (x.unflatten(-1, (H, x.shape[-1] // H)) for x in (q, k, v))   # [..., H, f]
    z = torch.matmul(kh.unsqueeze(-2), W).squeeze(-2) + c
    G = inner_grad(z, vh - kh, ln_weight, ln_bias, eps)
    eG = eta.unsqueeze(-1) * G
    GW = GW + kh.unsqueeze(-1) * eG.unsqueeze(-2)         # += eta k^T G
    Gc = Gc + eG
    i = pos + 1
    W_bar = W - GW / i
    c_bar = c - Gc / i
    zbar = torch.matmul(qh.unsqueeze(-2), W_bar).squeeze(-2) + c_bar
    o = (qh + layer_norm(zbar, ln_weight, ln_bias, eps)).flatten(-2)
    if i == b:
        return o, LinearState(W_bar, c_bar, torch.zeros_like(GW), torch.zeros_like(Gc), 0)
    return o, LinearState(W, c, GW, Gc, i)


def ttt_linear_forward(x: torch.Tensor, Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor,
                       lr_weight: torch.Tensor, lr_bias: torch.Tensor, state: LinearState,
                       ln_weight: torch.Tensor, ln_bias: torch.Tensor, base_lr: float,
                       mini_batch: int, form: str = "dual",
                       eps: float = LN_EPS) -> Tuple[torch.Tensor, LinearState]:
    """eta from x and lr_proj, then the chosen form ("dual" or "primal")."""
    eta = ttt_eta(x, lr_weight, lr_bias, base_lr)
    fn = {"dual": ttt_linear_dual, "primal": ttt_linear_primal}[form]
    return fn(Q, K, V, eta, state, ln_weight, ln_bias, mini_batch, eps)


# ---------------------------------------------------------------------------
# seed TTT


def l2_normalize(k: torch.Tensor, eps: float = SEED_NORM_EPS) -> torch.Tensor:
    """``k / (||k||_2 + eps)`` over the last dim."""
    return k / (torch.sqrt((k * k).sum(dim=-1, keepdim=True)) + eps)


def seed_init_state(d: int, dtype=torch.float32, device=None,
                    batch_shape: Tuple[int, ...] = ()) -> SeedState:
    W = torch.zeros(*batch_shape, d, d, dtype=dtype, device=device)
    return SeedState(W, torch.zeros_like(W), 0)


def ttt_seed_dual(khat: torch.Tensor, state: SeedState, inner_lr: float,
                  mini_batch: int) -> Tuple[torch.Tensor, SeedState]:
    """Seed TTT, mini-batch form: khat [..., T, d] -> (z [..., T, d], new_state).

    Every token of a mini-batch uses the mini-batch's start W (z = W k_hat);
    GW += sum (z - k_hat) k_hat^T; commit ``W -= inner_lr * GW`` when full.
    """
    b = int(mini_batch)
    W, GW, pos = SeedState(*state)
    _check_pos(pos, b)
    T = khat.shape[-2]
    outs = []
    t = 0
    while t < T:
        n = min(T - t, b - pos)
        kc = khat[..., t:t + n, :]
        Z = torch.matmul(kc, W.transpose(-1, -2))
        GW = GW + torch.matmul((Z - kc).transpose(-1, -2), kc)
        outs.append(Z)
        pos += n
        t += n
        if pos == b:
            W = W - inner_lr * GW
            GW = torch.zeros_like(GW)
            pos = 0
    if not outs:
        return torch.zeros_like(khat), SeedState(W, GW, pos)
    return torch.cat(outs, dim=-2), SeedState(W, GW, pos)


def ttt_seed_primal(khat: torch.Tensor, state: SeedState, inner_lr: float,
                    mini_batch: int) -> Tuple[torch.Tensor, SeedState]:
    """Seed TTT token by token with explicit per-token outer products."""
    b = int(mini_batch)
    W, GW0, pos = SeedState(*state)
    _check_pos(pos, b)
    outs, seen = [], []
    for t in range(khat.shape[-2]):
        k = khat[..., t, :]
        z = torch.matmul(W, k.unsqueeze(-1)).squeeze(-1)        # z = W k_hat
        outs.append(z)
        seen.append((z - k).unsqueeze(-1) * k.unsqueeze(-2))     # (z - k_hat) k_hat^T
        pos += 1
        if pos == b:
            W = W - inner_lr * (GW0 + sum(seen))
            GW0 = torch.zeros_like(GW0)
            seen = []
            pos = 0
    GW = GW0 + sum(seen) if seen else GW0
    if not outs:
        return torch.zeros_like(khat), SeedState(W, GW, pos)
    return torch.stack(outs, dim=-2), SeedState(W, GW, pos)


def ttt_seed_step(khat: torch.Tensor, state: SeedState, inner_lr: float,
                  mini_batch: int) -> Tuple[torch.Tensor, SeedState]:
    """One decode token: khat [..., d] -> (z [..., d], new_state)."""
    b = int(mini_batch)
    W, GW, pos = SeedState(*state)
    _check_pos(pos, b)
    z = torch.matmul(W, khat.unsqueeze(-1)).squeeze(-1)
    GW = GW + (z - khat).unsqueeze(-1) * khat.unsqueeze(-2)
    pos += 1
    if pos == b:
        return z, SeedState(W - inner_lr * GW, torch.zeros_like(GW), 0)
    return z, SeedState(W, GW, pos)
