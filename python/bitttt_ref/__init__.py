"""PyTorch reference model for bitttt (DESIGN.md section 1: the numerical contract)."""

import os as _os

from .config import ARCH, Config, ConfigError, TTTConfig
from .model import (CONFIG_FILE, WEIGHTS_FILE, BitTTTModel, CheckpointError, state_from_dict,
                    state_to_dict)
from .ops import (act_quant, act_quant_with_scale, bitlinear, bitlinear_int, cross_entropy,
                  int_dot, layer_norm, rms_norm, silu, swiglu, to_int8, weight_quant)
from .optim import adamw_step, adamw_step_all
from .ttt import LinearState, SeedState

DATA_DIR = _os.path.join(_os.path.dirname(__file__), "data")
TINY_CONFIG = _os.path.join(DATA_DIR, "tiny_config.json")

__all__ = [
    "ARCH", "Config", "ConfigError", "TTTConfig", "BitTTTModel", "CheckpointError",
    "CONFIG_FILE", "WEIGHTS_FILE", "state_to_dict", "state_from_dict",
    "act_quant", "act_quant_with_scale", "bitlinear", "bitlinear_int", "cross_entropy",
    "int_dot", "layer_norm", "rms_norm", "silu", "swiglu", "to_int8", "weight_quant",
    "adamw_step", "adamw_step_all", "LinearState", "SeedState", "DATA_DIR", "TINY_CONFIG",
]
