"""The Bit-TTT model (DESIGN.md section 1) as a PyTorch module.

Parameter names are exactly the safetensors tensor names of DESIGN.md, so
``dict(model.named_parameters())`` *is* the checkpoint.
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from .config import Config
from .ops import (LM_HEAD_FORMATS, LN_EPS, bitlinear, cross_entropy, layer_norm, lm_head,
                  rms_norm, silu)
from .ttt import (LinearState, SeedState, l2_normalize, linear_init_state, seed_init_state,
                  ttt_eta, ttt_linear_dual, ttt_linear_primal, ttt_linear_step,
                  ttt_seed_dual, ttt_seed_primal, ttt_seed_step)

__all__ = ["CheckpointError", "BitTTTModel", "State", "CONFIG_FILE", "WEIGHTS_FILE",
           "state_to_dict", "state_from_dict"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"

State = List[Union[LinearState, SeedState]]   # one entry per layer


class CheckpointError(ValueError):
    """Missing, unexpected or mis-shaped tensor; ``tensor`` names it."""

    def __init__(self, tensor: str, msg: str):
        self.tensor = tensor
        super().__init__(msg)


# ---------------------------------------------------------------------------
# leaf modules (parameters start deterministic: zeros / ones; see init_random)


class Embedding(nn.Module):
    def __init__(self, num: int, dim: int, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(num, dim, dtype=dtype))

    def forward(self, ids):
        return nn.functional.embedding(ids, self.weight)


class Linear(nn.Module):
    """Plain float linear (lm_head, lr_proj): y = x W^T (+ b)."""

    def __init__(self, in_f: int, out_f: int, bias: bool, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_f, in_f, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(out_f, dtype=dtype)) if bias else None

    def forward(self, x):
        y = torch.matmul(x, self.weight.t())
        return y + self.bias if self.bias is not None else y


class BitLinear(nn.Module):
    def __init__(self, in_f: int, out_f: int, act_bits: int, dtype):
        super().__init__()
        self.act_bits = act_bits
        self.weight = nn.Parameter(torch.zeros(out_f, in_f, dtype=dtype))

    def forward(self, x):
        return bitlinear(x, self.weight, self.act_bits)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float, dtype):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim, dtype=dtype))

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


class LayerNorm(nn.Module):
    def __init__(self, shape, eps: float, dtype):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(shape, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(shape, dtype=dtype))

    def forward(self, x):
        return layer_norm(x, self.weight, self.bias, self.eps)


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, D: int, I: int, act_bits: int, dtype):
        super().__init__()
        self.gate_proj = BitLinear(D, I, act_bits, dtype)
        self.up_proj = BitLinear(D, I, act_bits, dtype)
        self.down_proj = BitLinear(I, D, act_bits, dtype)

    def forward(self, x):
        return self.down_proj(silu(self.gate_proj(x)) * self.up_proj(x))


# ---------------------------------------------------------------------------
# TTT layers


class LinearTTT(nn.Module):
    def __init__(self, cfg: Config, dtype):
        super().__init__()
        D, H = cfg.hidden_dim, cfg.ttt.num_heads
        f = D // H
        a = cfg.act_bits
        self.num_heads, self.head_dim = H, f
        self.base_lr, self.mini_batch = cfg.ttt.base_lr, cfg.ttt.mini_batch
        self.q_proj = BitLinear(D, D, a, dtype)
        self.k_proj = BitLinear(D, D, a, dtype)
        self.v_proj = BitLinear(D, D, a, dtype)
        self.o_proj = BitLinear(D, D, a, dtype)
        self.lr_proj = Linear(D, H, True, dtype)
        self.W0 = nn.Parameter(torch.zeros(H, f, f, dtype=dtype))
        self.b0 = nn.Parameter(torch.zeros(H, f, dtype=dtype))
        self.ttt_norm = LayerNorm((H, f), LN_EPS, dtype)
        self.post_norm = LayerNorm(D, LN_EPS, dtype)

    def init_state(self, batch_shape=()) -> LinearState:
        st = linear_init_state(self.W0, self.b0)
        if batch_shape:
            st = LinearState(*(t.expand(*batch_shape, *t.shape) for t in st[:4]), 0)
        return st

    def forward(self, x, state: LinearState, form: str = "dual"):
        """x [..., T, D] (after RMSNorm_1) -> ([..., T, D], state)."""
        Q, K, V = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        eta = ttt_eta(x, self.lr_proj.weight, self.lr_proj.bias, self.base_lr)
        fn = {"dual": ttt_linear_dual, "primal": ttt_linear_primal}[form]
        O, state = fn(Q, K, V, eta, state, self.ttt_norm.weight, self.ttt_norm.bias,
                      self.mini_batch)
        return self.o_proj(self.post_norm(O)), state

    def step(self, x, state: LinearState):
        """x [..., D] (one token) -> ([..., D], state)."""
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        eta = ttt_eta(x, self.lr_proj.weight, self.lr_proj.bias, self.base_lr)
        o, state = ttt_linear_step(q, k, v, eta, state, self.ttt_norm.weight,
                                   self.ttt_norm.bias, self.mini_batch)
        return self.o_proj(self.post_norm(o)), state


class SeedTTT(nn.Module):
    def __init__(self, cfg: Config, dtype):
        super().__init__()
        D, d = cfg.hidden_dim, cfg.seed_dim
        self.dim = d
        self.inner_lr, self.mini_batch = cfg.ttt.inner_lr, cfg.ttt.mini_batch
        self.down = BitLinear(D, d, cfg.act_bits, dtype)
        self.up = BitLinear(d, D, cfg.act_bits, dtype)

    def init_state(self, batch_shape=()) -> SeedState:
        w = self.down.weight
        return seed_init_state(self.dim, w.dtype, w.device, tuple(batch_shape))

    def forward(self, x, state: SeedState, form: str = "dual"):
        khat = l2_normalize(self.down(x))
        fn = {"dual": ttt_seed_dual, "primal": ttt_seed_primal}[form]
        z, state = fn(khat, state, self.inner_lr, self.mini_batch)
        return self.up(z), state

    def step(self, x, state: SeedState):
        khat = l2_normalize(self.down(x))
        z, state = ttt_seed_step(khat, state, self.inner_lr, self.mini_batch)
        return self.up(z), state


class Block(nn.Module):
    """h = x + TTT(RMSNorm_1(x)); out = h + SwiGLU(RMSNorm_2(h))."""

    def __init__(self, cfg: Config, dtype):
        super().__init__()
        D = cfg.hidden_dim
        self.norm1 = RMSNorm(D, cfg.rms_eps, dtype)
        self.ttt = (LinearTTT if cfg.ttt.variant == "linear" else SeedTTT)(cfg, dtype)
        self.norm2 = RMSNorm(D, cfg.rms_eps, dtype)
        self.mlp = MLP(D, cfg.intermediate_dim, cfg.act_bits, dtype)

    def forward(self, x, state, form: str = "dual"):
        if form == "step":
            t, state = self.ttt.step(self.norm1(x), state)
        else:
            t, state = self.ttt(self.norm1(x), state, form)
        h = x + t
        return h + self.mlp(self.norm2(h)), state


# ---------------------------------------------------------------------------


class BitTTTModel(nn.Module):
    """embed -> L blocks -> RMSNorm_f -> lm_head (f32) -> logits."""

    def __init__(self, config: Config, dtype: torch.dtype = torch.float32,
                 lm_head_format: str = "f32"):
        """``lm_head_format``: the head's weight as ``bitttt-compile --lm-head``
        makes it (f32, bf16, int8: ops.lm_head); the parameter stays f32."""
        super().__init__()
        if isinstance(config, dict):
            config = Config.from_dict(config)
        if lm_head_format not in LM_HEAD_FORMATS:
            raise ValueError(f"lm_head_format must be one of {LM_HEAD_FORMATS}, "
                             f"got {lm_head_format!r}")
        self.config = config
        self.dtype = dtype
        self.lm_head_format = lm_head_format
        V, D = config.vocab_size, config.hidden_dim
        self.embed = Embedding(V, D, dtype)
        self.layers = nn.ModuleList(Block(config, dtype) for _ in range(config.num_layers))
        self.norm_f = RMSNorm(D, config.rms_eps, dtype)
        self.lm_head = Linear(D, V, False, dtype)

    # -- initialization ------------------------------------------------------
    @torch.no_grad()
    def init_random(self, seed: int = 0) -> "BitTTTModel":
        """Deterministic random init (values drawn in f32, independent of dtype).

        Scales: embed N(0,1); BitLinear / lm_head N(0, 1/in); lr_proj weight
        N(0, 0.25/D) and bias N(0, 0.01) (sigmoid argument ~ +-0.5: not saturated);
        W0 N(0, 1/f); b0 N(0, 0.01); norm gains 1 + N(0, 0.01); LayerNorm biases N(0, 0.01).
        """
        g = torch.Generator().manual_seed(int(seed))

        def normal(shape, std, mean=0.0):
            return torch.randn(*shape, generator=g, dtype=torch.float32) * std + mean

        for name, p in self.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            parent = name.rsplit(".", 2)[-2] if name.count(".") >= 1 else ""
            shape = tuple(p.shape)
            if name == "embed.weight":
                v = normal(shape, 1.0)
            elif parent in ("norm1", "norm2", "norm_f", "ttt_norm", "post_norm") and leaf == "weight":
                v = normal(shape, 0.1, 1.0)
            elif parent in ("ttt_norm", "post_norm") and leaf == "bias":
                v = normal(shape, 0.1)
            elif parent == "lr_proj" and leaf == "weight":
                v = normal(shape, 0.5 / math.sqrt(shape[1]))
            elif parent == "lr_proj" and leaf == "bias":
                v = normal(shape, 0.1)
            elif leaf == "W0":
                v = normal(shape, 1.0 / math.sqrt(shape[-1]))
            elif leaf == "b0":
                v = normal(shape, 0.1)
            elif leaf == "weight" and p.dim() == 2:      # BitLinear and lm_head
                v = normal(shape, 1.0 / math.sqrt(shape[1]))
            else:  # pragma: no cover - every parameter is covered above
                raise AssertionError(f"init_random: no rule for {name}")
            p.copy_(v.to(p.dtype))
        return self

    # -- state ---------------------------------------------------------------
    def new_state(self, batch_shape: Sequence[int] = ()) -> State:
        """Fresh per-layer TTT state (linear: (W0, b0, 0, 0, 0); seed: (0, 0, 0))."""
        return [layer.ttt.init_state(tuple(batch_shape)) for layer in self.layers]

    # -- running -------------------------------------------------------------
    def _head(self, x):
        if self.lm_head_format == "f32":
            return self.lm_head(self.norm_f(x))
        return lm_head(self.norm_f(x), self.lm_head.weight, self.lm_head_format)

    def run(self, ids: torch.Tensor, state: Optional[State] = None,
            form: str = "dual") -> Tuple[torch.Tensor, State]:
        """ids [T] or [B, T] -> (logits [..., T, V], new_state).

        form "dual" (mini-batch form) or "primal" (token by token, explicit W_bar).
        """
        ids = torch.as_tensor(ids, dtype=torch.long)
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.config.vocab_size):
            raise ValueError(f"token id out of range [0, {self.config.vocab_size})")
        return self.run_embeds(self.embed(ids), state, form)

    def run_embeds(self, x: torch.Tensor, state: Optional[State] = None,
                   form: str = "dual") -> Tuple[torch.Tensor, State]:
        """Like :meth:`run` but from embeddings x [..., T, D] (for gradient checks)."""
        if state is None:
            state = self.new_state()
        if len(state) != len(self.layers):
            raise ValueError(f"state has {len(state)} layers, model has {len(self.layers)}")
        new_state = []
        for layer, st in zip(self.layers, state):
            x, st = layer(x, st, form)
            new_state.append(st)
        return self._head(x), new_state

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Full-sequence logits from the layer-initial state (dual form)."""
        return self.run(ids, None, "dual")[0]

    def forward_primal(self, ids: torch.Tensor) -> torch.Tensor:
        return self.run(ids, None, "primal")[0]

    def loss(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy of forward(ids) against targets (-100 ignored)."""
        return cross_entropy(self.forward(ids), torch.as_tensor(targets, dtype=torch.long))

    def prefill(self, ids: torch.Tensor, state: Optional[State] = None
                ) -> Tuple[torch.Tensor, State]:
        """Process a prompt (any length, any starting pos) -> (logits [..., T, V], state)."""
        return self.run(ids, state, "dual")

    def decode(self, token, state: State) -> Tuple[torch.Tensor, State]:
        """One token (int, 0-d or [B] tensor) -> (logits [..., V], state)."""
        ids = torch.as_tensor(token, dtype=torch.long)
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.config.vocab_size):
            raise ValueError(f"token id out of range [0, {self.config.vocab_size})")
        if len(state) != len(self.layers):
            raise ValueError(f"state has {len(state)} layers, model has {len(self.layers)}")
        x = self.embed(ids)
        new_state = []
        for layer, st in zip(self.layers, state):
            x, st = layer(x, st, "step")
            new_state.append(st)
        return self._head(x), new_state

    # -- checkpoints ---------------------------------------------------------
    def tensors(self) -> Dict[str, torch.Tensor]:
        """Checkpoint tensors (f32, contiguous, detached) by safetensors name."""
        return {n: p.detach().to(torch.float32).contiguous() for n, p in self.named_parameters()}

    def save_pretrained(self, directory: str) -> None:
        """Write ``config.json`` and ``model.safetensors`` (f32) atomically."""
        from safetensors.torch import save_file
        os.makedirs(directory, exist_ok=True)
        wpath = os.path.join(directory, WEIGHTS_FILE)
        tmp = f"{wpath}.tmp{os.getpid()}"
        try:
            save_file(self.tensors(), tmp, metadata={"format": "pt"})
            os.chmod(tmp, 0o644)
            os.replace(tmp, wpath)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.config.save(os.path.join(directory, CONFIG_FILE))

    @torch.no_grad()
    def load_tensors(self, tensors: Dict[str, torch.Tensor]) -> None:
        """Copy a full checkpoint in; missing / unexpected / mis-shaped tensors are errors."""
        params = dict(self.named_parameters())
        missing = sorted(set(params) - set(tensors))
        if missing:
            n = missing[0]
            raise CheckpointError(n, f"missing tensor '{n}' (expected shape "
                                  f"{list(params[n].shape)})"
                                  + (f"; {len(missing) - 1} more missing: {missing[1:]}"
                                     if len(missing) > 1 else ""))
        extra = sorted(set(tensors) - set(params))
        if extra:
            raise CheckpointError(extra[0], f"unexpected tensor '{extra[0]}'"
                                  + (f"; also {extra[1:]}" if len(extra) > 1 else ""))
        for n, p in params.items():
            t = tensors[n]
            if tuple(t.shape) != tuple(p.shape):
                raise CheckpointError(n, f"tensor '{n}' has shape {list(t.shape)}, "
                                      f"expected {list(p.shape)}")
            if not t.is_floating_point():
                raise CheckpointError(n, f"tensor '{n}' has dtype {t.dtype}, expected float")
        for n, p in params.items():
            p.copy_(tensors[n].to(p.dtype))

    @classmethod
    def from_pretrained(cls, directory: str, dtype: torch.dtype = torch.float32
                        ) -> "BitTTTModel":
        from safetensors.torch import load_file
        cfg = Config.load(os.path.join(directory, CONFIG_FILE))
        model = cls(cfg, dtype)
        wpath = os.path.join(directory, WEIGHTS_FILE)
        if not os.path.exists(wpath):
            raise FileNotFoundError(f"{wpath}: no such file")
        model.load_tensors(load_file(wpath))
        return model


# ---------------------------------------------------------------------------
# state <-> flat dict (for comparisons with the runtime's exported state)


def state_to_dict(state: State) -> Dict[str, torch.Tensor]:
    """``layers.{i}.ttt.state.{W,c,GW,Gc,pos}`` (linear) / ``{W,GW,pos}`` (seed)."""
    out = {}
    for i, st in enumerate(state):
        for k, v in st._asdict().items():
            out[f"layers.{i}.ttt.state.{k}"] = (torch.tensor(v, dtype=torch.int64)
                                                if k == "pos" else v)
    return out


def state_from_dict(d: Dict[str, torch.Tensor], config: Config) -> State:
    cls = LinearState if config.ttt.variant == "linear" else SeedState
    state = []
    for i in range(config.num_layers):
        vals = {}
        for k in cls._fields:
            name = f"layers.{i}.ttt.state.{k}"
            if name not in d:
                raise CheckpointError(name, f"missing state tensor '{name}'")
            vals[k] = int(d[name]) if k == "pos" else d[name]
        state.append(cls(**vals))
    return state
