"""Full model: forms agree, prefill/decode invariant, gradients, checkpoints, CLI."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck
from torch.nn.utils.stateless import functional_call

from bitttt_ref import TINY_CONFIG, BitTTTModel, CheckpointError, Config, ConfigError
from bitttt_ref.model import state_from_dict, state_to_dict

f64 = torch.float64
TOL = dict(rtol=0, atol=1e-5)
PY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LINEAR = {"vocab_size": 19, "hidden_dim": 8, "num_layers": 2, "intermediate_dim": 16,
          "act_bits": 8, "ttt": {"variant": "linear", "num_heads": 2, "mini_batch": 4,
                                 "base_lr": 1.0}}
SEED = {"vocab_size": 19, "hidden_dim": 8, "num_layers": 2, "intermediate_dim": 16,
        "act_bits": 8, "ttt": {"variant": "seed", "mini_batch": 3, "inner_lr": 0.5}}
FLAT = {"vocab_size": 19, "hidden_dim": 8, "num_layers": 2, "inner_lr": 0.5}
CONFIGS = {"linear": LINEAR, "seed": SEED, "flat": FLAT}


def model_for(name, dtype=f64, seed=3):
    return BitTTTModel(Config.from_dict(CONFIGS[name]), dtype).init_random(seed)


def ids_for(T, V=19, seed=0):
    return torch.randint(0, V, (T,), generator=torch.Generator().manual_seed(seed))


def decode_all(model, ids, state=None):
    st = model.new_state() if state is None else state
    outs = []
    for t in ids.tolist():
        lg, st = model.decode(t, st)
        outs.append(lg)
    return torch.stack(outs), st


def assert_states_close(a, b):
    assert len(a) == len(b)
    for sa, sb in zip(a, b):
        assert type(sa) is type(sb) and sa.pos == sb.pos
        for x, y in zip(sa[:-1], sb[:-1]):
            torch.testing.assert_close(x, y, **TOL)


# ---------------------------------------------------------------- names

def test_parameter_names_linear():
    m = model_for("linear")
    names = dict((n, tuple(p.shape)) for n, p in m.named_parameters())
    exp = {"embed.weight": (19, 8), "norm_f.weight": (8,), "lm_head.weight": (19, 8)}
    for i in range(2):
        p = f"layers.{i}."
        exp.update({p + "norm1.weight": (8,), p + "norm2.weight": (8,),
                    p + "mlp.gate_proj.weight": (16, 8), p + "mlp.up_proj.weight": (16, 8),
                    p + "mlp.down_proj.weight": (8, 16),
                    p + "ttt.q_proj.weight": (8, 8), p + "ttt.k_proj.weight": (8, 8),
                    p + "ttt.v_proj.weight": (8, 8), p + "ttt.o_proj.weight": (8, 8),
                    p + "ttt.lr_proj.weight": (2, 8), p + "ttt.lr_proj.bias": (2,),
                    p + "ttt.W0": (2, 4, 4), p + "ttt.b0": (2, 4),
                    p + "ttt.ttt_norm.weight": (2, 4), p + "ttt.ttt_norm.bias": (2, 4),
                    p + "ttt.post_norm.weight": (8,), p + "ttt.post_norm.bias": (8,)})
    assert names == exp


def test_parameter_names_seed_flat():
    m = model_for("flat")
    assert m.config.ttt.variant == "seed" and m.config.act_bits == 0
    names = dict((n, tuple(p.shape)) for n, p in m.named_parameters())
    assert names["layers.1.ttt.down.weight"] == (2, 8)
    assert names["layers.1.ttt.up.weight"] == (8, 2)
    assert names["layers.0.mlp.gate_proj.weight"] == (32, 8)      # intermediate = 4 D
    assert not any("W0" in n or "q_proj" in n for n in names)
    assert len(names) == 3 + 2 * 7


# ---------------------------------------------------------------- forms agree

@pytest.mark.parametrize("name", ["linear", "seed", "flat"])
@pytest.mark.parametrize("T", [1, 6, 11])
def test_forward_primal_decode_agree(name, T):
    m = model_for(name)
    ids = ids_for(T)
    with torch.no_grad():
        lf, sf = m.run(ids, None, "dual")
        lp, sp = m.run(ids, None, "primal")
        ld, sd = decode_all(m, ids)
    torch.testing.assert_close(lp, lf, **TOL)
    torch.testing.assert_close(ld, lf, **TOL)
    assert_states_close(sp, sf)
    assert_states_close(sd, sf)
    torch.testing.assert_close(m(ids), lf)


@pytest.mark.parametrize("name", ["linear", "seed"])
@pytest.mark.parametrize("T1", [0, 1, 3, 4, 6])
def test_prefill_then_decode_equals_decode_all(name, T1):
    m = model_for(name)
    ids = ids_for(13, seed=5)
    with torch.no_grad():
        ld, sd = decode_all(m, ids)
        lp, st = m.prefill(ids[:T1], m.new_state())
        lr, st = decode_all(m, ids[T1:], st)
        torch.testing.assert_close(torch.cat([lp, lr]), ld, **TOL)
        assert_states_close(st, sd)
        # prefill in pieces (state part-way into a mini-batch) == one prefill
        l1, s1 = m.prefill(ids[:T1])
        l2, s2 = m.prefill(ids[T1:], s1)
        torch.testing.assert_close(torch.cat([l1, l2]), ld, **TOL)
        assert_states_close(s2, sd)


def test_batched_ids():
    m = model_for("linear")
    ids = torch.stack([ids_for(9, seed=1), ids_for(9, seed=2)])
    with torch.no_grad():
        lb, sb = m.prefill(ids)
        for i in range(2):
            li, si = m.prefill(ids[i])
            torch.testing.assert_close(lb[i], li, **TOL)
            torch.testing.assert_close(sb[0].W[i], si[0].W, **TOL)
        # batched decode continues the batched state
        lgd, _ = m.decode(torch.tensor([3, 4]), sb)
        l0, _ = m.decode(3, m.prefill(ids[0])[1])
        torch.testing.assert_close(lgd[0], l0, **TOL)


def test_ttt_is_nontrivial():
    """Random init gives a fast weight that learns: lr not saturated, outputs depend on it."""
    cfg = Config.load(TINY_CONFIG)
    m = BitTTTModel(cfg).init_random(0)
    ids = ids_for(16, 64)
    with torch.no_grad():
        x = m.layers[0].norm1(m.embed(ids))
        lr = m.layers[0].ttt.lr_proj
        sig = torch.sigmoid(x @ lr.weight.t() + lr.bias)
        assert 0.1 < sig.min() and sig.max() < 0.9
        assert m.layers[0].ttt.W0.abs().mean() > 0.1
        d = cfg.to_dict()
        d["ttt"]["base_lr"] = 0.0
        m0 = BitTTTModel(Config.from_dict(d))
        m0.load_tensors(m.tensors())
        a, b = m(ids), m0(ids)
        # (token i already sees its own inner-loss gradient: j <= i)
        assert (a - b).abs().max() > 0.05


# ---------------------------------------------------------------- gradients

def test_model_gradcheck_wrt_embeddings():
    cfg = dict(LINEAR, act_bits=0, num_layers=1, vocab_size=7)
    cfg["ttt"] = dict(LINEAR["ttt"], mini_batch=3)
    m = BitTTTModel(Config.from_dict(cfg), f64).init_random(1)
    x = torch.randn(5, 8, dtype=f64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    assert gradcheck(lambda x: m.run_embeds(x)[0], (x,))


def test_model_gradcheck_wrt_float_params():
    """Every non-BitLinear parameter gets its true derivative (act_bits = 0, f64)."""
    cfg = dict(LINEAR, act_bits=0, num_layers=1, vocab_size=7)
    cfg["ttt"] = dict(LINEAR["ttt"], mini_batch=3)
    m = BitTTTModel(Config.from_dict(cfg), f64).init_random(2)
    ids = ids_for(5, 7)
    tgt = ids_for(5, 7, seed=9)
    names = ["layers.0.ttt.W0", "layers.0.ttt.b0", "layers.0.ttt.lr_proj.weight",
             "layers.0.ttt.lr_proj.bias", "layers.0.ttt.ttt_norm.weight",
             "layers.0.ttt.ttt_norm.bias", "layers.0.ttt.post_norm.weight",
             "layers.0.norm1.weight", "norm_f.weight", "lm_head.weight", "embed.weight"]
    params = dict(m.named_parameters())
    ins = tuple(params[n].detach().clone().requires_grad_() for n in names)

    def fn(*ts):
        logits = functional_call(m, dict(zip(names, ts)), (ids,))
        return F.cross_entropy(logits, tgt)

    assert gradcheck(fn, ins)


def test_loss_backward_and_ste_weights():
    m = model_for("linear", torch.float32)
    ids, tgt = ids_for(10), ids_for(10, seed=1)
    loss = m.loss(ids, tgt)
    torch.testing.assert_close(loss, F.cross_entropy(m(ids), tgt))
    loss.backward()
    for n, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
        if "embed" not in n:
            assert p.grad.abs().max() > 0, n


# ---------------------------------------------------------------- init & checkpoints

def test_init_random_deterministic():
    a, b = model_for("linear", torch.float32, 7), model_for("linear", torch.float32, 7)
    c, d = model_for("linear", torch.float32, 8), model_for("linear", f64, 7)
    ta, tb, tc, td = a.tensors(), b.tensors(), c.tensors(), d.tensors()
    for n in ta:
        assert torch.equal(ta[n], tb[n]) and torch.equal(ta[n], td[n]), n
    assert not torch.equal(ta["layers.0.ttt.W0"], tc["layers.0.ttt.W0"])


@pytest.mark.parametrize("name", ["linear", "flat"])
def test_save_load_roundtrip(tmp_path, name):
    from safetensors import safe_open
    m = model_for(name, torch.float32)
    m.save_pretrained(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["config.json", "model.safetensors"]
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as fh:
        keys = set(fh.keys())
        assert keys == set(dict(m.named_parameters()))
        for k in keys:
            t = fh.get_tensor(k)
            assert t.dtype == torch.float32
            assert torch.equal(t, dict(m.named_parameters())[k].detach())
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert Config.from_dict(cfg) == m.config
    m2 = BitTTTModel.from_pretrained(str(tmp_path))
    ids = ids_for(7)
    with torch.no_grad():
        assert torch.equal(m(ids), m2(ids))
    m3 = BitTTTModel.from_pretrained(str(tmp_path), f64)
    assert m3.layers[0].norm1.weight.dtype == f64


def _write(tmp_path, m, tensors):
    from safetensors.torch import save_file
    m.config.save(str(tmp_path / "config.json"))
    save_file(tensors, str(tmp_path / "model.safetensors"))


def test_load_errors_name_the_tensor(tmp_path):
    m = model_for("linear", torch.float32)
    t = m.tensors()
    bad = dict(t)
    del bad["layers.1.ttt.W0"]
    _write(tmp_path, m, bad)
    with pytest.raises(CheckpointError, match=r"missing tensor 'layers\.1\.ttt\.W0'") as e:
        BitTTTModel.from_pretrained(str(tmp_path))
    assert e.value.tensor == "layers.1.ttt.W0"
    bad = dict(t)
    bad["layers.0.ttt.lr_proj.bias"] = torch.zeros(3)
    _write(tmp_path, m, bad)
    with pytest.raises(CheckpointError, match=r"'layers\.0\.ttt\.lr_proj\.bias' has shape \[3\]"):
        BitTTTModel.from_pretrained(str(tmp_path))
    bad = dict(t)
    bad["layers.0.attn.q_proj.weight"] = torch.zeros(8, 8)
    _write(tmp_path, m, bad)
    with pytest.raises(CheckpointError, match=r"unexpected tensor 'layers\.0\.attn\.q_proj\.weight'"):
        BitTTTModel.from_pretrained(str(tmp_path))
    bad = dict(t)
    bad["norm_f.weight"] = torch.zeros(8, dtype=torch.int32)
    _write(tmp_path, m, bad)
    with pytest.raises(CheckpointError, match=r"'norm_f\.weight' has dtype"):
        BitTTTModel.from_pretrained(str(tmp_path))
    # config errors surface too
    (tmp_path / "config.json").write_text(json.dumps(dict(LINEAR, hidden_dim=9)))
    with pytest.raises(ConfigError, match="ttt.num_heads"):
        BitTTTModel.from_pretrained(str(tmp_path))


def test_state_dict_roundtrip():
    m = model_for("linear")
    with torch.no_grad():
        _, st = m.prefill(ids_for(6))
    d = state_to_dict(st)
    assert set(d) == {f"layers.{i}.ttt.state.{k}" for i in range(2)
                      for k in ("W", "c", "GW", "Gc", "pos")}
    assert int(d["layers.0.ttt.state.pos"]) == 2
    st2 = state_from_dict(d, m.config)
    assert_states_close(st2, st)


def test_bad_token_rejected():
    m = model_for("linear")
    with pytest.raises(ValueError, match="out of range"):
        m(torch.tensor([1, 19]))
    with pytest.raises(ValueError, match="out of range"):
        m.decode(-1, m.new_state())


# ---------------------------------------------------------------- CLI

def _cli(*args):
    env = dict(os.environ, PYTHONPATH=PY_DIR)
    return subprocess.run([sys.executable, "-m", "bitttt_ref", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_make_random_and_logits(tmp_path):
    out = tmp_path / "model"
    r = _cli("make-random", "--config", TINY_CONFIG, "--seed", "5", str(out))
    assert r.returncode == 0, r.stderr
    m = BitTTTModel.from_pretrained(str(out))
    ref = BitTTTModel(Config.load(TINY_CONFIG)).init_random(5)
    for n, t in ref.tensors().items():
        assert torch.equal(t, m.tensors()[n]), n
    ids = [1, 2, 3, 4, 5, 6, 7]
    r = _cli("logits", str(out), "--ids", ",".join(map(str, ids)), "--out", str(tmp_path / "l.npy"))
    assert r.returncode == 0, r.stderr
    arr = np.load(tmp_path / "l.npy")
    with torch.no_grad():
        exp = m(torch.tensor(ids)).numpy()
    assert arr.shape == (7, 64) and arr.dtype == np.float32
    np.testing.assert_allclose(arr, exp, rtol=1e-5, atol=1e-5)
    assert not [p for p in os.listdir(tmp_path) if ".tmp" in p]
    # printed form, f64 decode path == f64 prefill path
    r1 = _cli("logits", str(out), "--ids", "1,2,3,4,5,6", "--dtype", "f64")
    r2 = _cli("logits", str(out), "--ids", "1,2,3,4,5,6", "--dtype", "f64", "--mode", "decode")
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    a1 = np.array([[float(v) for v in l.split()] for l in r1.stdout.splitlines()])
    a2 = np.array([[float(v) for v in l.split()] for l in r2.stdout.splitlines()])
    assert a1.shape == (6, 64)
    np.testing.assert_allclose(a1, a2, atol=1e-6)
    # errors are reported, not raised
    r = _cli("logits", str(out), "--ids", "1,999")
    assert r.returncode == 1 and "out of range" in r.stderr
    r = _cli("logits", str(tmp_path / "nope"), "--ids", "1")
    assert r.returncode == 1 and "error:" in r.stderr
