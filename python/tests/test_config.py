"""Config: nested form, original engine's flat form, aliases, errors naming the field."""
import json

import pytest

from bitttt_ref import TINY_CONFIG, Config, ConfigError, TTTConfig

NESTED = {"arch": "bitttt", "vocab_size": 16384, "hidden_dim": 256, "num_layers": 8,
          "intermediate_dim": 1024, "rms_eps": 1e-5, "act_bits": 8,
          "ttt": {"variant": "linear", "num_heads": 4, "mini_batch": 16, "base_lr": 1.0}}


def test_nested_design_example():
    c = Config.from_dict(NESTED)
    assert (c.vocab_size, c.hidden_dim, c.num_layers, c.intermediate_dim) == (16384, 256, 8, 1024)
    assert c.rms_eps == 1e-5 and c.act_bits == 8
    assert c.ttt == TTTConfig("linear", 4, 16, 1.0)
    assert c.head_dim == 64
    assert c.to_dict() == NESTED
    assert Config.from_dict(c.to_dict()) == c


def test_nested_defaults():
    c = Config.from_dict({"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "ttt": {}})
    assert c.intermediate_dim == 32 and c.act_bits == 8 and c.rms_eps == 1e-5
    assert c.ttt.variant == "linear" and c.ttt.num_heads == 4 and c.ttt.mini_batch == 16
    c = Config.from_dict({"arch": "bitttt", "vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
                          "act_bits": 0, "ttt": {"variant": "seed"}})
    assert c.ttt.variant == "seed" and c.ttt.mini_batch == 1 and c.ttt.inner_lr == 0.1
    assert c.seed_dim == 2 and c.act_bits == 0
    assert c.to_dict()["ttt"] == {"variant": "seed", "mini_batch": 1, "inner_lr": 0.1}


def test_flat_original_form():
    c = Config.from_dict({"vocab_size": 1000, "hidden_dim": 256, "num_layers": 4, "inner_lr": 0.01})
    assert c.ttt == TTTConfig(variant="seed", mini_batch=1, inner_lr=0.01)
    assert c.act_bits == 0 and c.intermediate_dim == 1024
    # saved as the nested form, which reloads to the same config
    assert Config.from_dict(c.to_dict()) == c
    assert c.to_dict()["ttt"] == {"variant": "seed", "mini_batch": 1, "inner_lr": 0.01}


@pytest.mark.parametrize("d", [
    {"vocab_size": 100, "hidden_size": 64, "num_hidden_layers": 2, "inner_lr": 0.1},
    {"vocab_size": 100, "hidden_dim": 64, "n_layers": 2, "inner_lr": 0.1},
    {"vocab_size": 100, "hidden_dim": 64, "hidden_size": 64, "num_layers": 2, "n_layers": 2,
     "inner_lr": 0.1, "intermediate_size": 256},
    # a later original-engine config: attention/runtime fields are accepted and ignored
    {"arch": "ttt", "vocab_size": 100, "hidden_dim": 64, "num_layers": 2, "n_heads": 1,
     "n_kv_heads": 1, "intermediate_dim": None, "inner_lr": 0.1, "n_gpu_layers": None,
     "rope_theta": 10000.0, "max_position_embeddings": 2048, "lm_head_cpu": False,
     "rms_norm_eps": 1e-5, "activation": "SiLU", "quantization": None},
])
def test_flat_aliases(d):
    c = Config.from_dict(d)
    assert (c.vocab_size, c.hidden_dim, c.num_layers, c.intermediate_dim) == (100, 64, 2, 256)
    assert c.ttt.variant == "seed" and c.ttt.inner_lr == 0.1 and c.act_bits == 0


def test_flat_intermediate_alias_and_eps():
    c = Config.from_dict({"vocab_size": 5, "hidden_size": 8, "num_layers": 1, "inner_lr": 0.2,
                          "intermediate_size": 20, "rms_norm_eps": 1e-6})
    assert c.intermediate_dim == 20 and c.rms_eps == 1e-6


BASE = {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
        "ttt": {"variant": "linear", "num_heads": 2, "mini_batch": 4, "base_lr": 1.0}}


def _with(path, value, base=BASE):
    d = json.loads(json.dumps(base))
    if path.startswith("ttt."):
        d["ttt"][path[4:]] = value
    else:
        d[path] = value
    return d


@pytest.mark.parametrize("d,field", [
    (_with("bogus", 1), "bogus"),
    (_with("ttt.bogus", 1), "ttt.bogus"),
    (_with("hidden_size", 8), "hidden_size"),                      # alias not in nested form
    (_with("arch", "llama"), "arch"),
    (_with("ttt.variant", "mamba"), "ttt.variant"),
    (_with("ttt.inner_lr", 0.1), "ttt.inner_lr"),                  # seed field in linear
    (_with("ttt.num_heads", 3), "ttt.num_heads"),                  # 8 % 3 != 0
    (_with("ttt.num_heads", 0), "ttt.num_heads"),
    (_with("ttt.mini_batch", 0), "ttt.mini_batch"),
    (_with("ttt.mini_batch", 2.0), "ttt.mini_batch"),
    (_with("ttt.base_lr", -1.0), "ttt.base_lr"),
    (_with("ttt.base_lr", "1"), "ttt.base_lr"),
    (_with("vocab_size", 0), "vocab_size"),
    (_with("hidden_dim", -8), "hidden_dim"),
    (_with("num_layers", True), "num_layers"),
    (_with("intermediate_dim", 0), "intermediate_dim"),
    (_with("act_bits", 4), "act_bits"),
    (_with("act_bits", 16), "act_bits"),
    (_with("rms_eps", 0.0), "rms_eps"),
    (_with("rms_eps", float("nan")), "rms_eps"),
    (_with("ttt", [1]), "ttt"),
    ({"hidden_dim": 8, "num_layers": 1, "ttt": {}}, "vocab_size"),
    ({"vocab_size": 10, "hidden_dim": 6, "num_layers": 1, "ttt": {"variant": "seed"}},
     "hidden_dim"),                                                # seed: D % 4 != 0
    ({"vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
      "ttt": {"variant": "seed", "num_heads": 2}}, "ttt.num_heads"),
    ({"vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
      "ttt": {"variant": "seed", "base_lr": 2}}, "ttt.base_lr"),
    # flat form
    ({"vocab_size": 10, "hidden_dim": 8, "hidden_size": 16, "num_layers": 1, "inner_lr": 0.1},
     "hidden_size"),
    ({"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "n_layers": 2, "inner_lr": 0.1},
     "n_layers"),
    ({"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "inner_lr": 0.1, "foo": 1}, "foo"),
    ({"vocab_size": 10, "hidden_dim": 8, "num_layers": 1}, "inner_lr"),
    ({"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "inner_lr": -0.1}, "inner_lr"),
    ({"vocab_size": 10, "hidden_dim": 10, "num_layers": 1, "inner_lr": 0.1}, "hidden_dim"),
    ({"vocab_size": 10, "num_layers": 1, "inner_lr": 0.1}, "hidden_dim"),
    ({"vocab_size": 10, "hidden_size": 8, "num_layers": 1, "inner_lr": 0.1, "arch": "llama"},
     "arch"),
    ({"vocab_size": 10, "hidden_size": 8, "num_layers": 1, "inner_lr": 0.1,
      "activation": "GELU"}, "activation"),
])
def test_errors_name_the_field(d, field):
    with pytest.raises(ConfigError) as e:
        Config.from_dict(d)
    assert e.value.field == field
    assert str(e.value).startswith(field + ":")


def test_direct_construction_validates():
    with pytest.raises(ConfigError, match="^act_bits:"):
        Config(vocab_size=4, hidden_dim=8, num_layers=1, act_bits=3)
    c = Config(vocab_size=4, hidden_dim=8, num_layers=1, ttt={"variant": "seed", "mini_batch": 2})
    assert c.ttt.mini_batch == 2 and c.intermediate_dim == 32


def test_save_load_and_tiny(tmp_path):
    c = Config.load(TINY_CONFIG)
    assert (c.vocab_size, c.hidden_dim, c.num_layers, c.ttt.num_heads, c.ttt.mini_batch) == \
        (64, 32, 2, 2, 4)
    assert c.ttt.variant == "linear"
    p = tmp_path / "config.json"
    c.save(str(p))
    assert Config.load(str(p)) == c
    assert json.loads(p.read_text())["arch"] == "bitttt"
    p.write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON"):
        Config.load(str(p))


def test_flat_null_required_field_is_a_config_error():
    with pytest.raises(ConfigError) as e:
        Config.from_dict({"vocab_size": 10, "hidden_dim": None, "num_layers": 1, "inner_lr": 0.1})
    assert e.value.field == "hidden_dim"
