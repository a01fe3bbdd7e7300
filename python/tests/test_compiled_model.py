"""End to end: random reference models → bitttt-compile → .bitt → compiled
logits over whole sequences vs the PyTorch reference (DESIGN.md §1), for
both TTT variants, both CPU targets, odd shapes, and prompts that mix
prefill chunks with decode steps (the prefill-then-decode invariant)."""

import json
import os

import numpy as np
import pytest
import torch

from bitttt_ref.config import Config
from bitttt_ref.model import BitTTTModel

import bitt_runner
import cpu_targets



TARGETS = cpu_targets.params()

CONFIGS = {
    # D not a multiple of 64, vocab not a multiple of 16, 1 layer.
    "linear-1L-int8": {"vocab_size": 50, "hidden_dim": 48, "num_layers": 1,
                       "act_bits": 8, "ttt": {"variant": "linear", "num_heads": 3,
                                              "mini_batch": 4, "base_lr": 1.0}},
    "linear-4L-f32": {"vocab_size": 37, "hidden_dim": 40, "num_layers": 4,
                      "intermediate_dim": 72, "act_bits": 0,
                      "ttt": {"variant": "linear", "num_heads": 2, "mini_batch": 2,
                              "base_lr": 0.5}},
    "seed-2L-int8": {"vocab_size": 30, "hidden_dim": 36, "num_layers": 2, "act_bits": 8,
                     "ttt": {"variant": "seed", "mini_batch": 3, "inner_lr": 0.2}},
    # The original engine's flat config: seed TTT, per-token updates, f32 acts.
    "original-flat": {"vocab_size": 45, "hidden_dim": 32, "num_layers": 2,
                      "inner_lr": 0.1},
}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def compiled(request, tmp_path_factory):
    name = request.param
    d = tmp_path_factory.mktemp(name)
    model_dir = d / "model"
    model_dir.mkdir()
    cfg = Config.from_dict(CONFIGS[name])
    ref = BitTTTModel(cfg).init_random(11)
    with open(model_dir / "config.json", "w") as f:
        json.dump(CONFIGS[name], f)
    ref.save_pretrained(str(model_dir))
    with open(model_dir / "config.json", "w") as f:   # keep the original form
        json.dump(CONFIGS[name], f)
    chunk = 2 * cfg.ttt.mini_batch * (2 if cfg.ttt.mini_batch < 3 else 1)
    out = bitt_runner.compile_model(str(model_dir), str(d / "model.bitt"),
                                    f"--prefill-chunk={chunk}")
    return name, cfg, ref, out


@pytest.mark.parametrize("target", TARGETS)
def test_logits_match_reference(compiled, target):
    name, cfg, ref, path = compiled
    model = bitt_runner.CompiledModel(path, target)
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(0, cfg.vocab_size, (23,), generator=gen)
    with torch.no_grad():
        want = ref(ids).numpy()
    got = model.run(ids.numpy().astype(np.int32))
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    if cfg.act_bits == 0:
        err = float(np.abs(got - want).max())
        assert err <= 1e-4 * scale, (err, scale)
    else:
        nmse = float(((got - want) ** 2).mean() / (want ** 2).mean())
        agree = float((got.argmax(-1) == want.argmax(-1)).mean())
        assert nmse <= 1e-6 and agree >= 0.99, (nmse, agree)


def test_prefill_then_decode_equals_decode_only(compiled):
    """Same prompt fed as chunks+decodes and as decodes only: same logits."""
    name, cfg, ref, path = compiled
    model = bitt_runner.CompiledModel(path, "x86-64-v3")
    ids = np.arange(17, dtype=np.int32) * 7 % cfg.vocab_size
    mixed = model.run(ids)
    model.reset()
    one_by_one = np.concatenate([model.call("decode", [t]) for t in ids])
    scale = float(np.abs(one_by_one).max())
    assert float(np.abs(mixed - one_by_one).max()) <= 1e-4 * scale
