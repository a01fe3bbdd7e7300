"""AdamW (decoupled weight decay), as the trainer's update step.

Matches ``torch.optim.AdamW`` (which the tests check):

    p <- p - lr * weight_decay * p
    m <- beta1 m + (1 - beta1) g
    v <- beta2 v + (1 - beta2) g^2
    p <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

with the step counter t starting at 1.
"""

from __future__ import annotations

import math
from typing import Dict, Tuple

import torch

__all__ = ["adamw_step", "adamw_step_all"]


def adamw_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor,
               t: int, lr: float, beta1: float = 0.9, beta2: float = 0.95, eps: float = 1e-8,
               weight_decay: float = 0.1) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One AdamW step; returns new ``(param, m, v)`` (inputs are not modified)."""
    if t < 1:
        raise ValueError(f"adamw_step: step t starts at 1, got {t}")
    param, grad = param.detach(), grad.detach()
    p = param * (1.0 - lr * weight_decay)
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad * grad
    bc1 = 1.0 - beta1 ** t
    bc2 = 1.0 - beta2 ** t
    denom = torch.sqrt(v) / math.sqrt(bc2) + eps
    p = p - (lr / bc1) * m / denom
    return p, m, v


def adamw_step_all(params: Dict[str, torch.Tensor], grads: Dict[str, torch.Tensor],
                   m: Dict[str, torch.Tensor], v: Dict[str, torch.Tensor], t: int, lr: float,
                   **kw) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor],
                                  Dict[str, torch.Tensor]]:
    """:func:`adamw_step` over dicts of tensors (missing m/v entries start at zero)."""
    P, M, Vv = {}, {}, {}
    for n, p in params.items():
        mm = m.get(n, torch.zeros_like(p))
        vv = v.get(n, torch.zeros_like(p))
        P[n], M[n], Vv[n] = adamw_step(p, grads[n], mm, vv, t, lr, **kw)
    return P, M, Vv
