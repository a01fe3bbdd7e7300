"""Model configuration (DESIGN.md section 1, "config.json").

Two accepted JSON forms:

* nested (ours)::

    {"arch": "bitttt", "vocab_size": 16384, "hidden_dim": 256, "num_layers": 8,
     "intermediate_dim": 1024, "rms_eps": 1e-5, "act_bits": 8,
     "ttt": {"variant": "linear", "num_heads": 4, "mini_batch": 16, "base_lr": 1.0}}

* flat (the original Bit-TTT engine's ``BitLlamaConfig``)::

    {"vocab_size": 1000, "hidden_dim": 256, "num_layers": 4, "inner_lr": 0.1}

  with the aliases ``hidden_size``, ``num_hidden_layers``/``n_layers``,
  ``intermediate_size``; it maps to the seed variant with ``mini_batch = 1``
  and ``act_bits = 0``.

A dict is in the flat form when it has no ``"ttt"`` key and no ``"arch": "bitttt"``.
Every problem raises :class:`ConfigError`; its message starts with the field's
name (``ttt.num_heads: ...``) and the field is also in ``err.field``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

__all__ = ["ConfigError", "TTTConfig", "Config", "ARCH"]

ARCH = "bitttt"


class ConfigError(ValueError):
    """A configuration problem; ``field`` names the offending field."""

    def __init__(self, field: str, msg: str):
        self.field = field
        super().__init__(f"{field}: {msg}")


# ---------------------------------------------------------------------------
# value checks


def _int(d: Dict[str, Any], key: str, name: str, minimum: int = 1) -> int:
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(name, f"must be an integer, got {v!r}")
    if v < minimum:
        raise ConfigError(name, f"must be >= {minimum}, got {v}")
    return v


def _float(d: Dict[str, Any], key: str, name: str, positive: bool = False,
           nonnegative: bool = False) -> float:
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(name, f"must be a number, got {v!r}")
    v = float(v)
    if not math.isfinite(v):
        raise ConfigError(name, f"must be finite, got {v}")
    if positive and not v > 0:
        raise ConfigError(name, f"must be > 0, got {v}")
    if nonnegative and v < 0:
        raise ConfigError(name, f"must be >= 0, got {v}")
    return v


def _take_aliased(d: Dict[str, Any], names, prefix: str = "") -> Optional[Any]:
    """Return the value given under any of ``names``; error if two disagree."""
    found = [(n, d[n]) for n in names if n in d]
    if not found:
        return None
    first_name, first_val = found[0]
    for n, v in found[1:]:
        if v != first_val or type(v) is not type(first_val):
            raise ConfigError(prefix + n, f"contradicts {prefix}{first_name} "
                              f"({v!r} != {first_val!r})")
    return first_name


# ---------------------------------------------------------------------------


@dataclass
class TTTConfig:
    variant: str = "linear"          # "linear" | "seed"
    num_heads: int = 4               # linear only
    mini_batch: int = 16
    base_lr: float = 1.0             # linear only
    inner_lr: float = 0.1            # seed only

    def to_dict(self) -> Dict[str, Any]:
        if self.variant == "linear":
            return {"variant": "linear", "num_heads": self.num_heads,
                    "mini_batch": self.mini_batch, "base_lr": self.base_lr}
        return {"variant": "seed", "mini_batch": self.mini_batch,
                "inner_lr": self.inner_lr}


_LINEAR_KEYS = {"variant", "num_heads", "mini_batch", "base_lr"}
_SEED_KEYS = {"variant", "mini_batch", "inner_lr"}


def _parse_ttt(t: Any) -> TTTConfig:
    if not isinstance(t, dict):
        raise ConfigError("ttt", f"must be an object, got {t!r}")
    variant = t.get("variant", "linear")
    if variant not in ("linear", "seed"):
        raise ConfigError("ttt.variant", f"must be 'linear' or 'seed', got {variant!r}")
    allowed = _LINEAR_KEYS if variant == "linear" else _SEED_KEYS
    for k in t:
        if k not in allowed:
            other = _SEED_KEYS if variant == "linear" else _LINEAR_KEYS
            if k in other:
                raise ConfigError(f"ttt.{k}", f"not used by variant {variant!r}")
            raise ConfigError(f"ttt.{k}", "unknown field")
    cfg = TTTConfig(variant=variant)
    if variant == "linear":
        if "num_heads" in t:
            cfg.num_heads = _int(t, "num_heads", "ttt.num_heads")
        if "mini_batch" in t:
            cfg.mini_batch = _int(t, "mini_batch", "ttt.mini_batch")
        if "base_lr" in t:
            cfg.base_lr = _float(t, "base_lr", "ttt.base_lr", nonnegative=True)
    else:
        cfg.mini_batch = _int(t, "mini_batch", "ttt.mini_batch") if "mini_batch" in t else 1
        if "inner_lr" in t:
            cfg.inner_lr = _float(t, "inner_lr", "ttt.inner_lr", nonnegative=True)
    return cfg


@dataclass
class Config:
    vocab_size: int
    hidden_dim: int
    num_layers: int
    intermediate_dim: Optional[int] = None   # None -> 4 * hidden_dim
    rms_eps: float = 1e-5
    act_bits: int = 8                         # 8 or 0 (activations kept in float)
    ttt: TTTConfig = field(default_factory=TTTConfig)

    def __post_init__(self):
        if isinstance(self.ttt, dict):
            self.ttt = _parse_ttt(self.ttt)
        if self.intermediate_dim is None and isinstance(self.hidden_dim, int):
            self.intermediate_dim = 4 * self.hidden_dim
        self.validate()

    # -- derived sizes ------------------------------------------------------
    @property
    def head_dim(self) -> int:
        """f = D / H (linear variant)."""
        return self.hidden_dim // self.ttt.num_heads

    @property
    def seed_dim(self) -> int:
        """d = D / 4 (seed variant)."""
        return self.hidden_dim // 4

    # -- checks -------------------------------------------------------------
    def validate(self) -> None:
        d = dataclasses.asdict(self)
        _int(d, "vocab_size", "vocab_size")
        _int(d, "hidden_dim", "hidden_dim")
        _int(d, "num_layers", "num_layers")
        _int(d, "intermediate_dim", "intermediate_dim")
        _float(d, "rms_eps", "rms_eps", positive=True)
        if isinstance(self.act_bits, bool) or self.act_bits not in (0, 8):
            raise ConfigError("act_bits", f"must be 0 or 8, got {self.act_bits!r}")
        t = self.ttt
        if t.variant not in ("linear", "seed"):
            raise ConfigError("ttt.variant", f"must be 'linear' or 'seed', got {t.variant!r}")
        td = dataclasses.asdict(t)
        _int(td, "mini_batch", "ttt.mini_batch")
        if t.variant == "linear":
            _int(td, "num_heads", "ttt.num_heads")
            _float(td, "base_lr", "ttt.base_lr", nonnegative=True)
            if self.hidden_dim % t.num_heads:
                raise ConfigError("ttt.num_heads", f"hidden_dim {self.hidden_dim} is not "
                                  f"divisible by num_heads {t.num_heads}")
        else:
            _float(td, "inner_lr", "ttt.inner_lr", nonnegative=True)
            if self.hidden_dim % 4:
                raise ConfigError("hidden_dim", f"{self.hidden_dim} is not divisible by 4 "
                                  "(seed TTT uses d = hidden_dim / 4)")

    # -- (de)serialization --------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return {"arch": ARCH, "vocab_size": self.vocab_size, "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers, "intermediate_dim": self.intermediate_dim,
                "rms_eps": self.rms_eps, "act_bits": self.act_bits,
                "ttt": self.ttt.to_dict()}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Config":
        if not isinstance(d, dict):
            raise ConfigError("<root>", f"config must be a JSON object, got {type(d).__name__}")
        if "ttt" in d or d.get("arch") == ARCH:
            return cls._from_nested(d)
        return cls._from_flat(d)

    @classmethod
    def _from_nested(cls, d: Dict[str, Any]) -> "Config":
        known = {"arch", "vocab_size", "hidden_dim", "num_layers", "intermediate_dim",
                 "rms_eps", "act_bits", "ttt"}
        for k in d:
            if k not in known:
                raise ConfigError(k, "unknown field")
        if "arch" in d and d["arch"] != ARCH:
            raise ConfigError("arch", f"must be {ARCH!r}, got {d['arch']!r}")
        for k in ("vocab_size", "hidden_dim", "num_layers"):
            if k not in d:
                raise ConfigError(k, "missing required field")
        kw = {k: d[k] for k in ("vocab_size", "hidden_dim", "num_layers",
                                "intermediate_dim", "rms_eps", "act_bits") if k in d}
        kw["ttt"] = _parse_ttt(d.get("ttt", {}))
        return cls(**kw)

    # Fields of the original engine's config that do not change a TTT model's
    # numerics (attention/runtime options); accepted and ignored.
    _FLAT_IGNORED = {"n_gpu_layers", "n_heads", "num_attention_heads", "n_kv_heads",
                     "num_key_value_heads", "rope_theta", "max_position_embeddings",
                     "lm_head_cpu", "sliding_window", "attention_sink_size"}

    @classmethod
    def _from_flat(cls, d: Dict[str, Any]) -> "Config":
        groups = {
            "hidden_dim": ("hidden_dim", "hidden_size"),
            "num_layers": ("num_layers", "num_hidden_layers", "n_layers"),
            "intermediate_dim": ("intermediate_dim", "intermediate_size"),
            "rms_eps": ("rms_norm_eps", "rms_eps"),
        }
        single = {"vocab_size", "inner_lr", "arch", "activation", "quantization"}
        alias_of = {n: g for g, names in groups.items() for n in names}
        for k in d:
            if k not in alias_of and k not in single and k not in cls._FLAT_IGNORED:
                raise ConfigError(k, "unknown field")
        if "arch" in d and d["arch"] != "ttt":
            raise ConfigError("arch", f"flat (original engine) config must have arch 'ttt' "
                              f"or none, got {d['arch']!r}")
        if "activation" in d and d["activation"] not in ("SiLU", "silu"):
            raise ConfigError("activation", f"only SiLU is supported, got {d['activation']!r}")
        if d.get("quantization") is not None:
            raise ConfigError("quantization", "quantized original checkpoints are not supported")
        kw: Dict[str, Any] = {}
        for g, names in groups.items():
            name = _take_aliased(d, names)
            if name is not None and d[name] is not None:
                kw[g] = d[name]
        for k in ("vocab_size", "hidden_dim", "num_layers"):
            if k not in kw and k not in d:
                raise ConfigError(k, "missing required field")
        # An aliased size given only as null counts as missing (it would
        # otherwise reach the constructor as a TypeError).
        for k in ("hidden_dim", "num_layers"):
            if kw.get(k) is None:
                raise ConfigError(k, "missing required field")
        kw["vocab_size"] = d["vocab_size"]
        if "inner_lr" not in d:
            raise ConfigError("inner_lr", "missing required field (flat original-engine config)")
        inner = _float(d, "inner_lr", "inner_lr", nonnegative=True)
        kw["act_bits"] = 0
        kw["ttt"] = TTTConfig(variant="seed", mini_batch=1, inner_lr=inner)
        return cls(**kw)

    @classmethod
    def load(cls, path: str) -> "Config":
        with open(path, "r", encoding="utf-8") as fh:
            try:
                d = json.load(fh)
            except json.JSONDecodeError as e:
                raise ConfigError("<root>", f"{path}: invalid JSON: {e}") from None
        return cls.from_dict(d)

    def save(self, path: str) -> None:
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
