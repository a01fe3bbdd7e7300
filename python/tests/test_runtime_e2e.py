"""The C runtime (libbitttt.so) running compiled .bitt models against the
PyTorch reference: per-position logits through the session API (prefill
chunks + decodes) for f32 and int8 activations (the int8 kernels reading
the weights straight from the read-only mapping), the TTT state of every
layer it carries, pos range checks, sessions decoding on two threads at
once, and `bitttt-run generate`'s greedy tokens."""

import subprocess
import threading

import numpy as np
import pytest
import torch

from bitttt_ref.config import Config
from bitttt_ref.model import BitTTTModel

import bitt_runner
import bitttt_rt
from bitttt_rt import Runtime


def make_model(tmp_path, cfg_dict, seed=4, chunk_batches=2, weight_format="i2_b128"):
    bitttt_rt.require_built()
    cfg = Config.from_dict(cfg_dict)
    ref = BitTTTModel(cfg).init_random(seed)
    model_dir = tmp_path / "model"
    ref.save_pretrained(str(model_dir))
    out = bitt_runner.compile_model(str(model_dir), str(tmp_path / "m.bitt"),
                                    f"--prefill-chunk={chunk_batches * cfg.ttt.mini_batch}",
                                    f"--weight-format={weight_format}")
    return cfg, ref, out


LINEAR = {"variant": "linear", "num_heads": 2, "mini_batch": 4, "base_lr": 1.0}
# mini_batch 3: the 14 tokens below end in the middle of a mini-batch (pos 2).
SEED = {"variant": "seed", "mini_batch": 3, "inner_lr": 0.2}


def close(got, want, act_bits):
    """f32 activations: within 1e-4 of the scale. int8: the same quantized
    computation up to f32 rounding, which can flip a rounding of an
    activation; mean squared error ≤ 1e-6 of the signal."""
    scale = float(np.abs(want).max())
    if act_bits == 0:
        return float(np.abs(got - want).max()) <= 1e-4 * scale
    return float(((got - want) ** 2).mean() / (want ** 2).mean()) <= 1e-6


def reference_states(variant, st):
    """{name: array} of one layer's reference state, by the names of
    session_states()."""
    if variant == "linear":
        return {"w": st.W, "c": st.c, "sum_w": st.GW, "sum_c": st.Gc}
    return {"w": st.W, "sum_w": st.GW}


def session_states(rt, model, session, variant, layer):
    """One layer's compiled state, with the reference's running sums rebuilt
    from the buffered rows of the current mini-batch (docs/frontend.md):
    linear Σ_j k_jᵀ e_j and Σ_j e_j, seed Σ_j e_j k̂_jᵀ over j < pos."""
    states = rt.states(model)
    get = lambda slot: rt.state_get(session, f"layers.{layer}.ttt.{slot}",
                                    *states[f"layers.{layer}.ttt.{slot}"])
    n = int(get("pos"))
    if variant == "linear":
        keys, eg = get("keys")[:, :n], get("eta_grads")[:, :n]
        return {"w": get("w"), "c": get("c"),
                "sum_w": np.einsum("hja,hjb->hab", keys, eg), "sum_c": eg.sum(axis=1)}
    keys, errs = get("keys")[:n], get("errors")[:n]
    return {"w": get("w"), "sum_w": np.einsum("ji,jk->ik", errs, keys)}


# The weights in both packed layouts (docs/packing.md); t5_b160 with a hidden
# size of one whole 160-weight block and a ragged one.
@pytest.mark.parametrize("variant,act_bits,weight_format,hidden", [
    ("linear", 0, "i2_b128", 32), ("linear", 8, "i2_b128", 32),
    ("seed", 0, "i2_b128", 32), ("seed", 8, "i2_b128", 32),
    ("linear", 8, "t5_b160", 192), ("seed", 8, "t5_b160", 192),
    ("linear", 0, "t5_b160", 32)])
def test_session_logits_and_state_match_reference(tmp_path, variant, act_bits,
                                                  weight_format, hidden):
    cfg, ref, path = make_model(tmp_path, {
        "vocab_size": 40, "hidden_dim": hidden, "num_layers": 2, "act_bits": act_bits,
        "ttt": LINEAR if variant == "linear" else SEED}, weight_format=weight_format)
    rt = Runtime()
    status, model = rt.load(path)
    assert status == 0, rt.error()
    session = rt.session(model)
    ids = np.arange(14, dtype=np.int32) * 5 % cfg.vocab_size
    with torch.no_grad():
        want, want_state = ref.prefill(torch.from_numpy(ids.astype(np.int64)))
    want = want.numpy()
    # 11 tokens as one call (whole prefill chunks + decodes), then 3 decodes.
    got = []
    rt.prefill(session, ids[:11])
    got.append(rt.logits(session))
    for t in ids[11:]:
        rt.decode(session, t)
        got.append(rt.logits(session))
    assert close(np.stack(got), want[10:], act_bits)

    # Every layer's state equals the reference's; the values have moved far
    # from their start (W0 / zeros), so the tolerance has power.
    b = cfg.ttt.mini_batch
    assert want_state[0].pos == 14 % b
    assert 0 < want_state[0].pos < b, "the run should end mid-mini-batch"
    atol = 1e-4 if act_bits == 0 else 2e-3
    for layer, st in enumerate(want_state):
        mine = session_states(rt, model, session, variant, layer)
        for name, value in reference_states(variant, st).items():
            assert mine[name].shape == tuple(value.shape), name
            moved = float(np.abs(value.numpy()).max())
            assert moved > 10 * atol, (name, moved)
            np.testing.assert_allclose(mine[name], value.numpy(), atol=atol, rtol=0,
                                       err_msg=f"layer {layer} {name}")
        pos = rt.state_get(session, f"layers.{layer}.ttt.pos", "I64", [])
        assert int(pos) == st.pos
    rt.lib.bitttt_session_free(session)
    rt.lib.bitttt_model_free(model)


def test_pos_outside_the_mini_batch_is_rejected(tmp_path):
    cfg, ref, path = make_model(tmp_path, {"vocab_size": 30, "hidden_dim": 32,
                                           "num_layers": 1, "ttt": LINEAR})
    rt = Runtime()
    status, model = rt.load(path)
    assert status == 0, rt.error()
    b = cfg.ttt.mini_batch
    name = "layers.0.ttt.pos"
    assert rt.state_range(model, name) == (0, b)
    assert rt.state_range(model, "layers.0.ttt.w") is None
    session = rt.session(model)
    rt.prefill(session, [1, 2])
    for bad in (b, b + 7, -1):
        assert rt.state_set(session, name, bad, "I64") == 1
        assert (f"state '{name}' value {bad} is outside its valid range [0, {b})"
                in rt.error())
        assert int(rt.state_get(session, name, "I64", [])) == 2   # unchanged
    # In range: accepted, and decoding continues from there like the reference
    # started at that position.
    assert rt.state_set(session, name, b - 1, "I64") == 0, rt.error()
    rt.decode(session, 3)
    assert int(rt.state_get(session, name, "I64", [])) == 0      # committed
    rt.lib.bitttt_session_free(session)
    rt.lib.bitttt_model_free(model)


def test_two_sessions_decode_at_once_on_the_models_threads(tmp_path):
    """An int8 model with n_threads = 2, two sessions decoding on two Python
    threads at once (ctypes releases the GIL); each matches the reference."""
    cfg, ref, path = make_model(tmp_path, {"vocab_size": 48, "hidden_dim": 64,
                                           "num_layers": 2, "act_bits": 8,
                                           "ttt": LINEAR})
    rt = Runtime()
    status, model = rt.load(path, n_threads=2)
    assert status == 0, rt.error()
    assert rt.lib.bitttt_model_n_threads(model) == 2
    prompts = [np.arange(19, dtype=np.int32) * k % cfg.vocab_size for k in (3, 7)]
    with torch.no_grad():
        wants = [ref(torch.from_numpy(p.astype(np.int64))).numpy() for p in prompts]
    results, errors = [None, None], []

    def work(i):
        try:
            s = rt.session(model)
            rows = []
            for _ in range(3):             # repeat: the threads overlap for real
                rt.reset(s)
                rows = []
                for t in prompts[i]:
                    rt.decode(s, t)
                    rows.append(rt.logits(s))
            results[i] = np.stack(rows)
            rt.lib.bitttt_session_free(s)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for got, want in zip(results, wants):
        assert close(got, want, 8)
    rt.lib.bitttt_model_free(model)


def test_generate_matches_reference_greedy(tmp_path):
    cfg, ref, path = make_model(tmp_path, {"vocab_size": 48, "hidden_dim": 32,
                                           "num_layers": 2, "act_bits": 0,
                                           "ttt": {"variant": "linear", "num_heads": 2,
                                                   "mini_batch": 4}})
    prompt = [3, 17, 5, 42, 8, 1, 30]
    proc = subprocess.run([bitttt_rt.RUN, "generate", path, "--temp", "0", "--ids",
                           ",".join(map(str, prompt)), "-n", "10"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    got = [int(t) for t in proc.stdout.split()]
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(10):
            logits = ref(torch.tensor(ids))
            ids.append(int(logits[-1].argmax()))
    assert got == ids[len(prompt):]
    assert "tokens/s" in proc.stderr


def test_bad_id_is_rejected(tmp_path):
    cfg, ref, path = make_model(tmp_path, {"vocab_size": 20, "hidden_dim": 16,
                                           "num_layers": 1, "ttt": {"variant": "seed"}},
                                chunk_batches=4)
    proc = subprocess.run([bitttt_rt.RUN, "generate", path, "--temp", "0", "--ids", "1,25", "-n", "2"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "25" in proc.stderr and "vocabulary" in proc.stderr
