"""The compact LM head (`bitttt-compile --lm-head f32|bf16|int8`,
docs/lm-head.md): the int8 head kernel alone against numpy integer math
(bit exact, both targets, odd shapes), the parts stored in the .bitt against
the reference quantizer (bit exact), compiled logits against the reference
model with the same head (both targets), the runtime loading and checking
`bitttt.lm_head`, recompiling a .bitt, and bad option values."""

import json
import os
import subprocess

import numpy as np
import pytest
import torch

from bitttt_ref import bitt
from bitttt_ref.config import Config
from bitttt_ref.model import BitTTTModel
from bitttt_ref.ops import lm_head_bf16, lm_head_int8_quant

import bitt_runner
import bitttt_rt
import cpu_targets
from compiled import Compiled
from bitttt_rt import Runtime

TARGETS = cpu_targets.params()

# D = 100: not a multiple of 32, 64 or 128 (the int8 kernel's chunk); V = 37
# not a multiple of 16; a second config with f32 activations.
CONFIGS = {
    "linear-int8act": {"vocab_size": 37, "hidden_dim": 100, "num_layers": 1,
                       "act_bits": 8, "ttt": {"variant": "linear", "num_heads": 2,
                                              "mini_batch": 4, "base_lr": 1.0}},
    "seed-f32act": {"vocab_size": 45, "hidden_dim": 36, "num_layers": 2, "act_bits": 0,
                    "ttt": {"variant": "seed", "mini_batch": 3, "inner_lr": 0.2}},
}


def make_dir(tmp_path, cfg_dict, seed=11, zero_row=3):
    cfg = Config.from_dict(cfg_dict)
    ref = BitTTTModel(cfg).init_random(seed)
    with torch.no_grad():
        ref.lm_head.weight[zero_row].zero_()       # an all-zero row: scale 0
    model_dir = tmp_path / "model"
    ref.save_pretrained(str(model_dir))
    with open(model_dir / "config.json", "w") as f:
        json.dump(cfg_dict, f)
    return cfg, ref, model_dir


def compile_head(model_dir, out, fmt, chunk):
    return bitt_runner.compile_model(str(model_dir), str(out), f"--prefill-chunk={chunk}",
                                     f"--lm-head={fmt}")


# -- the int8 kernel alone ---------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("t,d,v", [(3, 300, 37), (1, 128, 16), (2, 31, 5)])
def test_int8_head_kernel_exact(target, t, d, v):
    """lm_head_q = f32(Σ xq·w) · row_scale / scales, bit for bit, with codes at
    the ±127 extremes (the AVX2 i16 pair sums at their largest)."""
    rng = np.random.default_rng(d + v)
    xq = rng.integers(-127, 128, (t, d)).astype(np.int8)
    w = rng.integers(-127, 128, (v, d)).astype(np.int8)
    xq[0, :] = 127
    w[0, :] = -127
    w[1, :] = 127
    ws = (rng.random(v).astype(np.float32) + 0.01) / 127
    sx = (rng.random(t).astype(np.float32) * 10 + 0.1)
    wsum = w.astype(np.int64).sum(1).astype(np.int32)
    body = (f"%l = bitttt.lm_head_q %a0, %a1, %a2, %a3, %a4 : tensor<{t}x{d}xi8>, "
            f"tensor<{t}xf32>, tensor<{v}x{d}xi8>, tensor<{v}xf32>, tensor<{v}xi32> "
            f"-> tensor<{t}x{v}xf32>\nreturn %l : tensor<{t}x{v}xf32>")
    k = Compiled(body, [((t, d), "i8"), ((t,), "f32"), ((v, d), "i8"), ((v,), "f32"),
                        ((v,), "i32")], [((t, v), "f32")],
                 pipeline=f"bitttt-cpu-pipeline=target={target}", march=target)
    (got,) = k(xq, sx, w, ws, wsum)
    dot = xq.astype(np.int64) @ w.astype(np.int64).T
    want = (dot.astype(np.float32) * ws[None, :]) / sx[:, None]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


# -- what the .bitt stores ---------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{config name: (cfg, ref, {format: .bitt path})}."""
    out = {}
    for name, cfg_dict in CONFIGS.items():
        d = tmp_path_factory.mktemp(name)
        cfg, ref, model_dir = make_dir(d, cfg_dict)
        chunk = 2 * cfg.ttt.mini_batch
        paths = {fmt: compile_head(model_dir, d / f"{fmt}.bitt", fmt, chunk)
                 for fmt in ("f32", "bf16", "int8")}
        out[name] = (cfg, ref, model_dir, paths)
    return out


def test_parts_equal_reference_quantizer(built):
    cfg, ref, _, paths = built["linear-int8act"]
    W = ref.lm_head.weight.detach()
    q, s, rs = lm_head_int8_quant(W)
    assert float(s[3]) == 0 and int(q[3].abs().sum()) == 0 and int(rs[3]) == 0
    _, header, tensors, _ = bitt.read(paths["int8"])
    head = header["bitttt"]["lm_head"]
    assert head["format"] == "int8"
    assert (head["rows"], head["cols"]) == (cfg.vocab_size, cfg.hidden_dim)
    parts = head["parts"]
    np.testing.assert_array_equal(tensors[parts["values"]].numpy(), q.numpy())
    np.testing.assert_array_equal(tensors[parts["row_scale"]].numpy().view(np.int32),
                                  s.numpy().view(np.int32))
    np.testing.assert_array_equal(tensors[parts["row_sum"]].numpy(), rs.numpy())
    assert "lm_head.weight" not in tensors          # the f32 weight is not stored

    _, header, tensors, _ = bitt.read(paths["bf16"])
    head = header["bitttt"]["lm_head"]
    assert head["format"] == "bf16" and list(head["parts"]) == ["values"]
    want = lm_head_bf16(W).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(tensors[head["parts"]["values"]].numpy(), want)

    _, header, tensors, _ = bitt.read(paths["f32"])
    head = header["bitttt"]["lm_head"]
    assert head["format"] == "f32" and head["parts"] == {"values": "lm_head.weight"}
    np.testing.assert_array_equal(tensors["lm_head.weight"].numpy(), W.numpy())


def test_bf16_rounding_ties_to_even():
    """The reference bf16 is round-to-nearest-even (the emitter's rule)."""
    bits = np.array([0x3F808000, 0x3F818000, 0x3F807FFF, 0x3F80C000], np.uint32)
    got = lm_head_bf16(torch.from_numpy(bits.view(np.float32))).view(torch.int16)
    assert got.numpy().view(np.uint16).tolist() == [0x3F80, 0x3F82, 0x3F80, 0x3F81]


def test_header_counts_compact_bytes(built):
    """decode reads V·D bytes (int8) or 2·V·D (bf16) of LM head, not 4·V·D."""
    cfg, _, _, paths = built["linear-int8act"]
    V, D = cfg.vocab_size, cfg.hidden_dim
    for fmt, want in (("f32", 4 * V * D), ("bf16", 2 * V * D), ("int8", V * D + 8 * V)):
        _, header, _, _ = bitt.read(paths[fmt])
        ins = header["bitttt"]["functions"]["decode"]["inputs"]
        head = [v for v in ins if v["name"].startswith("lm_head.weight")]
        n = sum(int(np.prod(v["shape"])) * bitt.DTYPE_SIZES[v["dtype"]] for v in head)
        assert n == want, (fmt, n, want)


# -- compiled logits ---------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fmt", ["bf16", "int8"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_logits_match_reference_head(built, name, fmt, target):
    cfg, ref, _, paths = built[name]
    want_ref = BitTTTModel(cfg, lm_head_format=fmt)
    want_ref.load_state_dict(ref.state_dict())
    ids = torch.randint(0, cfg.vocab_size, (19,), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        want = want_ref(ids).numpy()
        f32 = ref(ids).numpy()
    got = bitt_runner.CompiledModel(paths[fmt], target).run(ids.numpy().astype(np.int32))
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    err = float(np.abs(got - want).max())
    if cfg.act_bits == 0:
        assert err <= 1e-4 * scale, (err, scale)
    else:
        nmse = float(((got - want) ** 2).mean() / (want ** 2).mean())
        agree = float((got.argmax(-1) == want.argmax(-1)).mean())
        assert nmse <= 1e-6 and agree >= 0.99, (nmse, agree)
    # The quantized head is what was compiled: the f32 head is measurably
    # further away than the tolerance above.
    assert float(np.abs(got - f32).max()) > 10 * err, (fmt, err)


# -- runtime, recompiling, bad input -----------------------------------------


def test_runtime_loads_and_checks_header(built, tmp_path):
    bitttt_rt.require_built()
    cfg, ref, _, paths = built["linear-int8act"]
    rt = Runtime()
    ids = np.arange(5, dtype=np.int32) * 3 % cfg.vocab_size
    want = bitt_runner.CompiledModel(paths["int8"], "x86-64-v3").run(ids)[-1]
    status, model = rt.load(paths["int8"], 1, "x86-64-v3")
    assert status == 0, rt.error()
    s = rt.session(model)
    for t in ids:
        rt.decode(s, t)
    np.testing.assert_array_equal(rt.logits(s), want)
    rt.lib.bitttt_session_free(s)
    rt.lib.bitttt_model_free(model)

    # A header that says f32 while the code reads the int8 parts is refused:
    # with the int8 parts listed, and with the f32 one.
    _, header, tensors, meta = bitt.read(paths["int8"])
    raw = {n: (t.dtype, t.shape, t.data) for n, t in tensors.items()}
    for parts, says in (
            (None, "'bitttt.lm_head.parts.row_scale' is not a part of the f32 LM head"),
            ({"values": "lm_head.weight.int8"},
             "is 'lm_head.weight.int8' (layout 'lm_head_int8'), but "
             "bitttt.lm_head.format says the LM head is f32")):
        h = json.loads(json.dumps(header))
        h["bitttt"]["lm_head"]["format"] = "f32"
        if parts:
            h["bitttt"]["lm_head"]["parts"] = parts
        bad = tmp_path / "bad.bitt"
        bitt.write_v2(str(bad), h, raw, meta)
        status, model = rt.load(str(bad), 1, "x86-64-v3")
        assert status != 0 and model is None
        assert says in rt.error(), rt.error()
    # An unknown format.
    h = json.loads(json.dumps(header))
    h["bitttt"]["lm_head"]["format"] = "int4"
    bitt.write_v2(str(bad), h, raw, meta)
    status, model = rt.load(str(bad), 1, "x86-64-v3")
    assert status != 0
    assert "header field 'bitttt.lm_head.format' is \"int4\"" in rt.error(), rt.error()


def test_recompile(built, tmp_path):
    cfg, ref, _, paths = built["linear-int8act"]
    again = tmp_path / "again.bitt"
    bitt_runner.compile_model(paths["int8"], str(again), "--prefill-chunk=8",
                              "--lm-head=int8")
    _, _, old, _ = bitt.read(paths["int8"])
    _, header, new, _ = bitt.read(str(again))
    assert header["bitttt"]["lm_head"]["format"] == "int8"
    for part in header["bitttt"]["lm_head"]["parts"].values():
        assert bytes(new[part].data) == bytes(old[part].data)
    for fmt in ("f32", "bf16"):
        out = tmp_path / f"{fmt}.bitt"
        proc = subprocess.run([bitt_runner.COMPILE, paths["int8"], "-o", str(out),
                               f"--lm-head={fmt}"], capture_output=True, text=True)
        assert proc.returncode == 1
        assert "holds the LM head as int8 only" in proc.stderr, proc.stderr
        assert f"--lm-head {fmt}" in proc.stderr and not out.exists()
    # An f32 .bitt recompiles to any format (its f32 weight is there).
    out = tmp_path / "from-f32.bitt"
    bitt_runner.compile_model(paths["f32"], str(out), "--prefill-chunk=8", "--lm-head=int8")
    _, _, t, _ = bitt.read(str(out))
    q, _, _ = lm_head_int8_quant(ref.lm_head.weight.detach())
    np.testing.assert_array_equal(t["lm_head.weight.int8"].numpy(), q.numpy())


def test_bad_option_value(built, tmp_path):
    _, _, model_dir, _ = built["seed-f32act"]
    out = tmp_path / "x.bitt"
    proc = subprocess.run([bitt_runner.COMPILE, str(model_dir), "-o", str(out),
                           "--lm-head=int4"], capture_output=True, text=True)
    assert proc.returncode == 1 and not out.exists()
    assert "--lm-head=int4 is not a known LM-head format (f32, bf16, int8)" in proc.stderr


def test_trained_export_requantizes_head(tmp_path):
    """A --train .bitt with an int8 head: `bitttt-run train`'s exported .bitt
    holds the int8 parts of the *trained* f32 lm_head.weight (the same
    quantizer), not the initial ones."""
    import training_fixtures as tf
    from safetensors.numpy import load_file
    bitttt_rt.require_built()
    cfg = tf.CONFIGS["linear-int8"]
    model_dir = tmp_path / "model"
    BitTTTModel(Config.from_dict(cfg)).init_random(tf.INIT_SEED).save_pretrained(str(model_dir))
    path = tmp_path / "t.bitt"
    bitt_runner.compile_model(str(model_dir), str(path), "--train", f"--batch={tf.B}",
                              f"--context={tf.T}", f"--target={tf.TARGET}", "--lm-head=int8")
    rng = np.random.default_rng(3)
    train = tf.write_tokens(tmp_path / "train.bin", rng.integers(0, 64, 500))
    r = tf.run_train(str(path), tmp_path / "out", train, None, "--steps", 3, "--lr", 1e-2)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    trained = load_file(os.path.join(summary["model_dir"], "model.safetensors"))["lm_head.weight"]
    _, header, tensors, _ = bitt.read(summary["bitt"])
    parts = header["bitttt"]["lm_head"]["parts"]
    q, s, rs = lm_head_int8_quant(torch.from_numpy(trained))
    _, _, before, _ = bitt.read(str(path))
    assert not np.array_equal(before[parts["values"]].numpy(), q.numpy())   # it moved
    np.testing.assert_array_equal(tensors[parts["values"]].numpy(), q.numpy())
    np.testing.assert_array_equal(tensors[parts["row_scale"]].numpy(), s.numpy())
    np.testing.assert_array_equal(tensors[parts["row_sum"]].numpy(), rs.numpy())
