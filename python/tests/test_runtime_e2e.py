"""The C runtime (libbitttt.so) running compiled .bitt models against the
PyTorch reference: per-position logits through the session API (prefill
chunks + decodes), the TTT state it carries, and `bitttt-run generate`'s
greedy tokens."""

import ctypes
import json
import os
import subprocess

import numpy as np
import pytest
import torch

from bitttt_ref.config import Config
from bitttt_ref.model import BitTTTModel

import bitt_runner

LIB = os.path.join(bitt_runner.BUILD, "lib", "libbitttt.so")
RUN = os.path.join(bitt_runner.BUILD, "bin", "bitttt-run")

pytestmark = pytest.mark.skipif(
    not (bitt_runner.available() and os.path.exists(LIB) and os.access(RUN, os.X_OK)),
    reason="bitttt-compile, libbitttt.so or bitttt-run not built")


class Runtime:
    def __init__(self):
        lib = ctypes.CDLL(LIB)
        P = ctypes.c_void_p
        lib.bitttt_model_load.argtypes = [ctypes.c_char_p, P, ctypes.POINTER(P)]
        lib.bitttt_session_create.argtypes = [P, ctypes.POINTER(P)]
        lib.bitttt_session_prefill.argtypes = [P, ctypes.POINTER(ctypes.c_int32), ctypes.c_size_t]
        lib.bitttt_session_decode.argtypes = [P, ctypes.c_int32]
        lib.bitttt_session_logits.argtypes = [P, ctypes.POINTER(ctypes.POINTER(ctypes.c_float)),
                                              ctypes.POINTER(ctypes.c_size_t)]
        lib.bitttt_session_state_get.argtypes = [P, ctypes.c_char_p, P, ctypes.c_char_p,
                                                 ctypes.c_int, ctypes.POINTER(ctypes.c_int64)]
        lib.bitttt_model_default_params.restype = ctypes.c_byte * 16
        lib.bitttt_last_error.restype = ctypes.c_char_p
        lib.bitttt_session_free.argtypes = [P]
        lib.bitttt_model_free.argtypes = [P]
        self.lib = lib

    def check(self, status):
        assert status == 0, self.lib.bitttt_last_error().decode()

    def load(self, path):
        model = ctypes.c_void_p()
        self.check(self.lib.bitttt_model_load(path.encode(), None, ctypes.byref(model)))
        session = ctypes.c_void_p()
        self.check(self.lib.bitttt_session_create(model, ctypes.byref(session)))
        return model, session

    def logits(self, session):
        ptr = ctypes.POINTER(ctypes.c_float)()
        n = ctypes.c_size_t()
        self.check(self.lib.bitttt_session_logits(session, ctypes.byref(ptr), ctypes.byref(n)))
        return np.ctypeslib.as_array(ptr, shape=(n.value,)).copy()

    def state(self, session, name, shape, dtype="F32"):
        out = np.empty(shape, np.float32 if dtype == "F32" else np.int64)
        dims = (ctypes.c_int64 * max(1, len(shape)))(*shape)
        self.check(self.lib.bitttt_session_state_get(
            session, name.encode(), out.ctypes.data, dtype.encode(), len(shape), dims))
        return out


def make_model(tmp_path, cfg_dict, seed=4):
    cfg = Config.from_dict(cfg_dict)
    ref = BitTTTModel(cfg).init_random(seed)
    model_dir = tmp_path / "model"
    ref.save_pretrained(str(model_dir))
    out = bitt_runner.compile_model(str(model_dir), str(tmp_path / "m.bitt"),
                                    f"--prefill-chunk={2 * cfg.ttt.mini_batch}")
    return cfg, ref, out


@pytest.mark.parametrize("variant", ["linear", "seed"])
def test_session_logits_and_state_match_reference(tmp_path, variant):
    ttt = ({"variant": "linear", "num_heads": 2, "mini_batch": 4, "base_lr": 1.0}
           if variant == "linear" else {"variant": "seed", "mini_batch": 2, "inner_lr": 0.2})
    cfg, ref, path = make_model(tmp_path, {"vocab_size": 40, "hidden_dim": 32,
                                           "num_layers": 2, "act_bits": 0, "ttt": ttt})
    rt = Runtime()
    model, session = rt.load(path)
    ids = np.arange(14, dtype=np.int32) * 5 % cfg.vocab_size
    with torch.no_grad():
        want, want_state = ref.prefill(torch.from_numpy(ids.astype(np.int64)))
    want = want.numpy()
    # 11 tokens as one call (one prefill chunk of 8 + 3 decodes), then 3 decodes.
    got = []
    rt.check(rt.lib.bitttt_session_prefill(
        session, ids[:11].ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), 11))
    got.append(rt.logits(session))
    for t in ids[11:]:
        rt.check(rt.lib.bitttt_session_decode(session, int(t)))
        got.append(rt.logits(session))
    scale = float(np.abs(want).max())
    for row, position in zip(got, [10, 11, 12, 13]):
        assert float(np.abs(row - want[position]).max()) <= 1e-4 * scale
    # The TTT state the session carries equals the reference's.
    st = want_state[0]
    if variant == "linear":
        w = rt.state(session, "layers.0.ttt.w", list(st.W.shape))
        np.testing.assert_allclose(w, st.W.numpy(), atol=1e-4, rtol=0)
    else:
        w = rt.state(session, "layers.0.ttt.w", list(st.W.shape))
        np.testing.assert_allclose(w, st.W.numpy(), atol=1e-5, rtol=0)
    pos = rt.state(session, "layers.0.ttt.pos", [], "I64")
    assert int(pos) == st.pos
    rt.lib.bitttt_session_free(session)
    rt.lib.bitttt_model_free(model)


def test_generate_matches_reference_greedy(tmp_path):
    cfg, ref, path = make_model(tmp_path, {"vocab_size": 48, "hidden_dim": 32,
                                           "num_layers": 2, "act_bits": 0,
                                           "ttt": {"variant": "linear", "num_heads": 2,
                                                   "mini_batch": 4}})
    prompt = [3, 17, 5, 42, 8, 1, 30]
    proc = subprocess.run([RUN, "generate", path, "--ids", ",".join(map(str, prompt)),
                           "-n", "10"], capture_output=True, text=True)
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
                                           "num_layers": 1, "ttt": {"variant": "seed"}})
    proc = subprocess.run([RUN, "generate", path, "--ids", "1,25", "-n", "2"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "25" in proc.stderr and "vocabulary" in proc.stderr
