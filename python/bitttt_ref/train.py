"""Reference trainer: the PyTorch side of docs/training.md.

Everything here follows that page so that the compiled ``train_step`` / runtime
trainer and this reference give the same losses step by step:

* :class:`Xoshiro256ss` -- the one random generator (xoshiro256**, seeded by
  four successive splitmix64 outputs from the user's seed);
* :func:`read_tokens`, :func:`train_windows`, :func:`val_windows` -- token
  files and the windows drawn from them;
* :func:`lr_at` -- the learning-rate schedule (linear warmup, cosine to min_lr);
* :func:`decay_mask` -- which parameters get weight decay;
* :class:`RefTrainer` -- one optimizer step: micro-batch losses and gradients
  (autograd), their mean, global-norm clipping as
  ``torch.nn.utils.clip_grad_norm_``, AdamW (:func:`bitttt_ref.optim.adamw_step`).

All model arithmetic is float32 (the model's dtype); the schedule is computed
in double and handed to the step as float32.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .optim import adamw_step

__all__ = ["MASK64", "splitmix64", "Xoshiro256ss", "read_tokens", "train_windows",
           "val_windows", "lr_at", "decay_mask", "TrainConfig", "RefTrainer"]

MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# random numbers


def splitmix64(x: int) -> Tuple[int, int]:
    """One splitmix64 step from state ``x``: returns ``(new_state, output)``."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return x, z ^ (z >> 31)


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


class Xoshiro256ss:
    """xoshiro256** (Blackman & Vigna) on Python ints masked to 64 bits.

    ``Xoshiro256ss(seed)`` takes its four words from four successive
    splitmix64 outputs started at ``seed``; :meth:`from_state` restores the
    words saved by :meth:`state` (a checkpoint).
    """

    __slots__ = ("s",)

    def __init__(self, seed: int = 0):
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"Xoshiro256ss: seed must be an integer, got {seed!r}")
        x = int(seed) & MASK64          # a u64; a negative seed wraps (two's complement)
        words = []
        for _ in range(4):
            x, out = splitmix64(x)
            words.append(out)
        self.s = words

    @classmethod
    def from_state(cls, words: Sequence[int]) -> "Xoshiro256ss":
        words = [int(w) for w in words]
        if len(words) != 4:
            raise ValueError(f"Xoshiro256ss.from_state: expected 4 words, got {len(words)}")
        for w in words:
            if not 0 <= w <= MASK64:
                raise ValueError(f"Xoshiro256ss.from_state: word {w} is not a u64")
        if not any(words):
            raise ValueError("Xoshiro256ss.from_state: the all-zero state is invalid")
        r = cls.__new__(cls)
        r.s = words
        return r

    def state(self) -> List[int]:
        return list(self.s)

    def next(self) -> int:
        s0, s1, s2, s3 = self.s
        result = (_rotl((s1 * 5) & MASK64, 7) * 9) & MASK64
        t = (s1 << 17) & MASK64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return result


# ---------------------------------------------------------------------------
# token files and windows


def read_tokens(path: str) -> np.ndarray:
    """Memory-map a token file: ``.bin`` u16 LE, ``.u32`` / ``.u32.bin`` u32 LE."""
    p = os.fspath(path)
    if p.endswith(".u32") or p.endswith(".u32.bin"):
        dtype = np.dtype("<u4")
    elif p.endswith(".bin"):
        dtype = np.dtype("<u2")
    else:
        raise ValueError(f"{p}: unknown token file type (expected .bin = u16 LE, "
                         f".u32 or .u32.bin = u32 LE)")
    if not os.path.exists(p):
        raise FileNotFoundError(f"{p}: no such file")
    size = os.path.getsize(p)
    if size == 0:
        raise ValueError(f"{p}: empty token file")
    if size % dtype.itemsize:
        raise ValueError(f"{p}: size {size} bytes is not a multiple of {dtype.itemsize} "
                         f"({'u32' if dtype.itemsize == 4 else 'u16'} tokens)")
    return np.memmap(p, dtype=dtype, mode="r")


def _name(tokens, what: str) -> str:
    fn = getattr(tokens, "filename", None)
    return f"{fn}" if fn else what


def train_windows(rng: Xoshiro256ss, tokens: np.ndarray, B: int, T: int,
                  accum: int = 1) -> List[np.ndarray]:
    """Draw one optimizer step's windows: ``accum`` int64 arrays ``[B, T+1]``.

    Offsets ``o = rng.next() % (n - T)`` in order: micro-batch 0 rows 0..B-1,
    then micro-batch 1, ...; a window is ``tokens[o : o + T + 1]``.
    """
    n = int(tokens.shape[0])
    if B < 1 or T < 1 or accum < 1:
        raise ValueError(f"train_windows: batch, context and accum must be >= 1 "
                         f"(got {B}, {T}, {accum})")
    if n < T + 1:
        raise ValueError(f"{_name(tokens, 'training tokens')}: {n} tokens, a training "
                         f"window needs context + 1 = {T + 1}")
    span = n - T
    out = []
    for _ in range(accum):
        mb = np.empty((B, T + 1), dtype=np.int64)
        for r in range(B):
            o = rng.next() % span
            mb[r] = tokens[o:o + T + 1]
        out.append(mb)
    return out


def val_windows(tokens: np.ndarray, B: int, T: int,
                eval_windows: Optional[int] = None, name: Optional[str] = None) -> np.ndarray:
    """Fixed validation windows ``[nwin, T+1]`` at offsets 0, T, 2T, ...

    At most ``eval_windows`` of them (None or <= 0: all that fit), rounded down
    to a multiple of ``B``; fewer than ``B`` is an error naming the file.
    """
    n = int(tokens.shape[0])
    avail = (n - 1) // T if n >= T + 1 else 0
    nwin = avail if eval_windows is None or eval_windows <= 0 else min(avail, eval_windows)
    nwin -= nwin % B
    if nwin < B:
        what = name or _name(tokens, "validation tokens")
        raise ValueError(f"{what}: {n} tokens give {avail} validation windows of context "
                         f"{T}" + (f" (eval_windows {eval_windows})" if eval_windows else "")
                         + f", fewer than the batch {B}")
    idx = np.arange(nwin, dtype=np.int64)[:, None] * T + np.arange(T + 1, dtype=np.int64)
    return np.asarray(tokens[idx], dtype=np.int64)


# ---------------------------------------------------------------------------
# schedule and decay rule


def lr_at(t: int, steps: int, lr: float, warmup: int = 0, min_lr: float = 0.0) -> float:
    """Learning rate of step ``t`` (1-based), in double."""
    if t <= warmup:
        return lr * t / warmup
    p = min(1.0, (t - warmup) / max(1, steps - warmup))
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * p))


_NO_DECAY_LEAVES = ("W0", "b0", "bias")
_NORM_MODULES = ("norm1", "norm2", "norm_f", "ttt_norm", "post_norm")


def decay_mask(name: str, tensor: torch.Tensor) -> bool:
    """Whether a parameter gets weight decay: the matrices (rank 2) only.

    Those are the BitLinear weights, ``embed``, ``lm_head`` and
    ``lr_proj.weight``.  Norm gains and biases and the TTT initial state
    (``W0``, ``b0``) never decay -- including the rank-2 ones (``b0`` and the
    TTT LayerNorm's ``[H, f]`` gain/bias), which docs/training.md names
    explicitly as excluded.
    """
    if tensor.dim() != 2:
        return False
    parts = name.split(".")
    if parts[-1] in _NO_DECAY_LEAVES:
        return False
    if len(parts) >= 2 and parts[-2] in _NORM_MODULES:
        return False
    return True


# ---------------------------------------------------------------------------
# trainer


@dataclass
class TrainConfig:
    batch: int = 4
    context: int = 64
    steps: int = 100
    lr: float = 1e-3
    warmup: int = 0
    min_lr: float = 0.0
    accum: int = 1
    max_grad_norm: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    seed: int = 0
    eval_windows: Optional[int] = None   # None / <= 0: every validation window

    def __post_init__(self):
        for k in ("batch", "context", "steps", "accum"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{k}: must be an integer >= 1, got {v!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup: must be an integer >= 0, got {self.warmup!r}")
        for k in ("lr", "min_lr", "max_grad_norm", "eps", "weight_decay"):
            v = float(getattr(self, k))
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"{k}: must be a finite number >= 0, got {v!r}")
        for k in ("beta1", "beta2"):
            v = float(getattr(self, k))
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{k}: must be in [0, 1), got {v!r}")


def _f32(x: float) -> float:
    return float(np.float32(x))


class RefTrainer:
    """Trains ``model`` in place, one :meth:`step` at a time (docs/training.md)."""

    def __init__(self, model: torch.nn.Module, config: TrainConfig):
        self.model = model
        self.config = config
        self.rng = Xoshiro256ss(config.seed)
        self.t = 0                      # steps done; the next step is t + 1
        self.windows_drawn = 0
        self.params: Dict[str, torch.nn.Parameter] = dict(model.named_parameters())
        for n, p in self.params.items():
            if p.dtype != torch.float32:
                raise ValueError(f"RefTrainer: parameter {n} is {p.dtype}, expected float32")
        self.decay = {n: decay_mask(n, p) for n, p in self.params.items()}
        self.m = {n: torch.zeros_like(p, requires_grad=False) for n, p in self.params.items()}
        self.v = {n: torch.zeros_like(p, requires_grad=False) for n, p in self.params.items()}

    # -- pieces (public so tests and tools can reuse them) --------------------
    def grads(self, windows: List[np.ndarray]) -> Tuple[float, Dict[str, torch.Tensor]]:
        """Mean loss and mean gradient over the micro-batches ``windows``."""
        names = list(self.params)
        plist = [self.params[n] for n in names]
        total = None
        losses = []
        for w in windows:
            ids = torch.from_numpy(np.ascontiguousarray(w[:, :-1]))
            tgt = torch.from_numpy(np.ascontiguousarray(w[:, 1:]))
            loss = self.model.loss(ids, tgt)
            gs = torch.autograd.grad(loss, plist, allow_unused=True)
            gs = [torch.zeros_like(p) if g is None else g.detach() for g, p in zip(gs, plist)]
            losses.append(float(loss.detach()))
            total = gs if total is None else [a + b for a, b in zip(total, gs)]
        k = len(windows)
        if k > 1:
            total = [g / k for g in total]
        return sum(losses) / k, dict(zip(names, total))

    @staticmethod
    def clip(grads: Dict[str, torch.Tensor], max_norm: float) -> float:
        """Global-norm clipping in place, as ``torch.nn.utils.clip_grad_norm_``.

        Returns the norm before clipping (the norm of the per-tensor 2-norms).
        ``max_norm <= 0`` turns clipping off (the norm is still computed), as
        the compiled optimizer does; torch would zero the gradients instead.
        """
        gl = list(grads.values())
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g, 2.0)
                                                     for g in gl]), 2.0)
        if max_norm > 0:
            coef = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
            for g in gl:
                g.mul_(coef)
        return float(norm)

    # -- one optimizer step -----------------------------------------------------
    def step(self, train_tokens: np.ndarray) -> Dict[str, float]:
        c = self.config
        windows = train_windows(self.rng, train_tokens, c.batch, c.context, c.accum)
        self.windows_drawn += c.batch * c.accum
        return self.step_on(windows)

    def step_on(self, windows: List[np.ndarray]) -> Dict[str, float]:
        """One optimizer step on given micro-batches (no draw from the rng)."""
        c = self.config
        t = self.t + 1
        lr = _f32(lr_at(t, c.steps, c.lr, c.warmup, c.min_lr))
        loss, grads = self.grads(windows)
        grad_norm = self.clip(grads, c.max_grad_norm)
        with torch.no_grad():
            for n, p in self.params.items():
                wd = c.weight_decay if self.decay[n] else 0.0
                newp, self.m[n], self.v[n] = adamw_step(p, grads[n], self.m[n], self.v[n], t, lr,
                                                        beta1=c.beta1, beta2=c.beta2,
                                                        eps=c.eps, weight_decay=wd)
                p.copy_(newp)
        self.t = t
        return {"loss": loss, "grad_norm": grad_norm, "lr": lr}

    # -- validation -------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, val_tokens: np.ndarray, name: Optional[str] = None
                 ) -> Tuple[float, float]:
        """Mean token cross-entropy over the validation windows and ``exp`` of it.

        One batch of B windows at a time; every batch has B*T tokens, so the
        token mean is the mean of the batch means (accumulated in double).
        """
        c = self.config
        W = val_windows(val_tokens, c.batch, c.context, c.eval_windows, name)
        total = 0.0
        nb = W.shape[0] // c.batch
        for b in range(nb):
            w = W[b * c.batch:(b + 1) * c.batch]
            ids = torch.from_numpy(np.ascontiguousarray(w[:, :-1]))
            tgt = torch.from_numpy(np.ascontiguousarray(w[:, 1:]))
            total += float(self.model.loss(ids, tgt))
        loss = total / nb
        return loss, math.exp(loss)
