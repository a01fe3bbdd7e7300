"""Helpers of test_training.py: tiny model directories compiled with
`bitttt-compile --train` (all at once, in parallel), the training artifact
of a .bitt called directly from numpy (the code the runtime trainer runs),
the reference's gradients, and `bitttt-run train` runs and their files."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess
import tempfile

import numpy as np
import torch
from safetensors import safe_open

from bitttt_ref import bitt
from bitttt_ref.config import Config
from bitttt_ref.model import BitTTTModel

import bitt_runner
import bitttt_rt

TARGET = "x86-64-v3"
B, T = 2, 6            # T = 6 ends inside a linear mini-batch of 4 (and spans 3 seed ones)

_LINEAR = {"variant": "linear", "num_heads": 2, "mini_batch": 4, "base_lr": 1.0}
_SEED = {"variant": "seed", "mini_batch": 2, "inner_lr": 0.1}


def _config(ttt, act_bits):
    return {"arch": "bitttt", "vocab_size": 64, "hidden_dim": 32, "num_layers": 2,
            "intermediate_dim": 64, "rms_eps": 1e-5, "act_bits": act_bits, "ttt": dict(ttt)}


CONFIGS = {
    "linear-int8": _config(_LINEAR, 8),
    "linear-f32": _config(_LINEAR, 0),
    "seed-int8": _config(_SEED, 8),
    "seed-f32": _config(_SEED, 0),
    # The same model packed 5 weights per byte (docs/packing.md): export
    # repacks the trained weights in the layout the artifact reads.
    "linear-int8-t5": _config(_LINEAR, 8),
}
COMPILE_FLAGS = {"linear-int8-t5": ["--weight-format=t5_b160"]}
INIT_SEED = 7


class Built:
    """A model directory and its training .bitt."""

    def __init__(self, name, cfg, model_dir, path):
        self.name, self.cfg, self.model_dir, self.bitt = name, cfg, model_dir, path

    def reference(self) -> BitTTTModel:
        return BitTTTModel.from_pretrained(self.model_dir)


def build_all(root, names=None):
    """Writes each config's model directory and compiles them all at once
    (one bitttt-compile per config, running in parallel). {name: Built}."""
    bitttt_rt.require_built()
    names = list(names or CONFIGS)
    procs, out = [], {}
    for name in names:
        cfg = CONFIGS[name]
        model_dir = os.path.join(root, name)
        BitTTTModel(Config.from_dict(cfg)).init_random(INIT_SEED).save_pretrained(model_dir)
        path = os.path.join(root, f"{name}.bitt")
        cmd = [bitt_runner.COMPILE, model_dir, "--train", f"--batch={B}", f"--context={T}",
               "-o", path, f"--target={TARGET}", *COMPILE_FLAGS.get(name, [])]
        procs.append((cmd, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True)))
        out[name] = Built(name, cfg, model_dir, path)
    failed = []
    for cmd, p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            failed.append(f"{' '.join(cmd)} failed ({p.returncode}):\n{err[-3000:]}")
    assert not failed, "\n".join(failed)
    return out


_DTYPES = {"F32": np.float32, "I32": np.int32, "I64": np.int64}


class TrainArtifact:
    """The training code a .bitt carries (the artifact the runtime trainer
    loads), called through its ABI: ``grad(params, tokens)``."""

    def __init__(self, path, target=TARGET):
        _, header, tensors, _ = bitt.read(path)
        self.header = header
        self.train = header["bitttt"]["train"]
        data = tensors[self.train["artifacts"][target]["tensor"]].data
        self._dir = tempfile.TemporaryDirectory(prefix="bitttt-train-art-")
        so = os.path.join(self._dir.name, f"{target}.so")
        with open(so, "wb") as f:
            f.write(data)
        self.lib = ctypes.CDLL(so)
        self.functions = self.train["functions"]
        # The header's description is the artifact's own (docs/abi.md).
        start = ctypes.addressof(ctypes.c_char.in_dll(self.lib, "bitttt_abi"))
        own = json.loads(ctypes.c_char_p(start).value.decode())["functions"]
        for fn in ("train_grad", "train_apply"):
            for key in ("symbol", "inputs", "outputs"):
                assert own[fn][key] == self.functions[fn][key], (fn, key)
        self.latent = {n: t.numpy().copy() for n, t in tensors.items()
                       if not n.startswith("__artifact__")}

    def grad(self, params, tokens):
        """(loss, {name: gradient}) of the mean next-token loss on tokens
        [B, T + 1] at ``params`` ({name: float32 array})."""
        fn = self.functions["train_grad"]
        tokens = np.ascontiguousarray(tokens, dtype=np.int32)
        inputs = []
        for b in fn["inputs"]:
            a = tokens if b["role"] == "io" else np.ascontiguousarray(params[b["name"]],
                                                                       dtype=np.float32)
            assert list(a.shape) == b["shape"], (b["name"], a.shape, b["shape"])
            inputs.append(a)
        outputs = [np.empty(b["shape"], _DTYPES[b["dtype"]]) for b in fn["outputs"]]
        arrays = inputs + outputs
        buffers = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
        entry = getattr(self.lib, fn["symbol"])
        entry.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        entry.restype = None
        entry(buffers, None)
        loss, grads = None, {}
        for b, o in zip(fn["outputs"], outputs):
            if b["role"] == "io":
                loss = float(o)
            else:
                grads[b["name"]] = o
        return loss, grads


def reference_grads(ref: BitTTTModel, tokens):
    """(loss, {name: gradient}) by autograd on the reference model."""
    w = torch.from_numpy(np.asarray(tokens, dtype=np.int64))
    loss = ref.loss(w[:, :-1], w[:, 1:])
    names, params = zip(*ref.named_parameters())
    gs = torch.autograd.grad(loss, params, allow_unused=True)
    return float(loss), {n: (torch.zeros_like(p) if g is None else g).detach().numpy()
                         for n, p, g in zip(names, params, gs)}


# ---------------------------------------------------------------------------
# bitttt-run train

RUN = bitttt_rt.RUN


def train_cmd(bitt_path, out, train, val, *extra):
    cmd = [RUN, "train", bitt_path, "--train", str(train), "--out", str(out), "--threads", "1"]
    if val is not None:
        cmd += ["--val", str(val)]
    return cmd + [str(a) for a in extra]


def run_train(bitt_path, out, train, val, *extra, timeout=120):
    return subprocess.run(train_cmd(bitt_path, out, train, val, *extra),
                          capture_output=True, text=True, timeout=timeout)


def metrics(path, drop=("tokens_per_s",)):
    """The records of a metrics.jsonl, without the timing fields."""
    out = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            out.append({k: v for k, v in r.items() if k not in drop})
    return out


def checkpoint(path):
    """(meta dict of `bitttt_checkpoint`, {tensor name: array}) of a checkpoint
    file, read with the safetensors package."""
    with safe_open(str(path), "np") as f:
        meta = json.loads(f.metadata()["bitttt_checkpoint"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return meta, tensors


def tree_digest(root):
    """{relative path: sha256} of every file under root."""
    out = {}
    for d, _, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def write_tokens(path, tokens, dtype="<u2"):
    np.asarray(tokens).astype(dtype).tofile(str(path))
    return path
