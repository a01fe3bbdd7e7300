#!/usr/bin/env python3
"""Writes the seed corpora of test/fuzz/corpus/ (committed; rerun after a
format change): small but complete inputs, so the fuzzers start from every
section of a real file.

    PYTHONPATH=python .venv/bin/python test/fuzz/make_seeds.py build/bin

model/: the tiny checkpoint (config.json, model.safetensors) that
`scripts/fuzz.sh model` compiles for the session and checkpoint targets
(needs build-asan/, `scripts/fuzz.sh build`). bitt/: a compiled tiny model (v2, one target, every header section) with its
artifact bytes cut to a stub (the reader does not look inside them; the
header's checksum is of the stub), its safetensors checkpoint, the same
model as a v1 .bitt. tokenizer/: tokenizer.json trained by bitttt-run, plus
one with added tokens and a post-processor. json_depth/: small JSON texts.
session/: states of that model saved at several positions. checkpoint/:
its trainer's checkpoints before and after a step. tokens/: token files
behind fuzz_tokens' 3-byte prefix (width, vocabulary). mlir/: the model in
the bitttt dialect, the dialect's lit tests.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import xxhash

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from bitttt_ref import bitt  # noqa: E402
from bitttt_ref.config import Config  # noqa: E402
from bitttt_ref.model import BitTTTModel  # noqa: E402

CONFIG = {"vocab_size": 300, "hidden_dim": 32, "num_layers": 1, "intermediate_dim": 64,
          "act_bits": 8, "ttt": {"variant": "linear", "num_heads": 2, "mini_batch": 4}}


def main(bindir):
    out = {k: os.path.join(HERE, "corpus", k)
           for k in ("bitt", "tokenizer", "json_depth", "config", "tokens", "session",
                     "checkpoint", "mlir")}
    for d in out.values():
        os.makedirs(d, exist_ok=True)
    fixture = os.path.join(HERE, "model")
    BitTTTModel(Config.from_dict(CONFIG)).init_random(1).save_pretrained(fixture)
    for name in os.listdir(fixture):
        if name not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(fixture, name))
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model")
        shutil.copytree(fixture, model)
        corpus = os.path.join(tmp, "c.txt")
        with open(corpus, "w") as f:
            f.write("the quick brown fox jumps over the lazy dog 0123456789\n" * 40)
        tok = os.path.join(model, "tokenizer.json")
        subprocess.run([os.path.join(bindir, "bitttt-run"), "tokenizer", "train", corpus,
                        "--vocab-size", "300", "--special", "<|endoftext|>", "-o", tok],
                       check=True, capture_output=True)
        full = os.path.join(tmp, "m.bitt")
        subprocess.run([os.path.join(bindir, "bitttt-compile"), model, "-o", full,
                        "--target=x86-64-v3", "--prefill-chunk=8"], check=True)
        _, header, tensors, metadata = bitt.read(full)
        stub = b"\x7fELF" + bytes(60)
        arrays = {}
        for name, t in tensors.items():
            arrays[name] = np.frombuffer(stub, np.uint8) if name.startswith("__artifact__") \
                else t.numpy()
        for entry in header["bitttt"]["artifacts"].values():
            entry["xxh3_64"] = xxhash.xxh3_64_hexdigest(stub)
        bitt.write_v2(os.path.join(out["bitt"], "tiny-v2.bitt"), header, arrays, metadata)
        link = os.path.join(out["bitt"], "tiny.safetensors")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join("..", "..", "model", "model.safetensors"), link)
        mlir = os.path.join(out["mlir"], "tiny.mlir")
        subprocess.run([os.path.join(bindir, "bitttt-compile"), model, "-o", mlir,
                        "--prefill-chunk=4"], check=True)
        latent = {n: t.numpy() for n, t in bitt.read(os.path.join(model, "model.safetensors"))[2].items()}
        with open(tok) as f:
            tok_json = json.load(f)
        bitt.write_v1(os.path.join(out["bitt"], "tiny-v1.bitt"),
                      {"config": CONFIG, "tokenizer": tok_json}, latent)
        with open(tok) as f, open(os.path.join(out["tokenizer"], "bpe.json"), "w") as g:
            g.write(f.read())
        t2 = dict(tok_json)
        t2["added_tokens"] = list(t2.get("added_tokens", [])) + [
            {"id": 299, "content": "<pad>", "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": False, "special": True}]
        t2["post_processor"] = {"type": "TemplateProcessing",
                                "single": [{"SpecialToken": {"id": "<pad>", "type_id": 0}},
                                           {"Sequence": {"id": "A", "type_id": 0}}],
                                "pair": [], "special_tokens": {
                                    "<pad>": {"id": "<pad>", "ids": [299], "tokens": ["<pad>"]}}}
        with open(os.path.join(out["tokenizer"], "bpe-added.json"), "w") as g:
            json.dump(t2, g)
    for i, text in enumerate(['{"a": [1, 2.5, "x\\"y", null, true], "b": {"c": {}}}',
                              "[[[[[[[[]]]]]]]]", json.dumps(CONFIG), '"\\u00e9\\\\["']):
        with open(os.path.join(out["json_depth"], f"seed{i}.json"), "w") as g:
            g.write(text)


    runtime_seeds(out, bindir)
    for src in ("Dialect/BitTTT/basic.mlir", "Dialect/BitTTT/canonicalization.mlir",
                "Transforms/decompose.mlir", "Transforms/pack-weights.mlir",
                "Transforms/lower-packed-bitlinear.mlir"):
        shutil.copy(os.path.join(REPO, "test", src),
                    os.path.join(out["mlir"], src.replace("/", "-").lower()))
    # The verifier's error cases, one split of errors.mlir per seed.
    with open(os.path.join(REPO, "test", "Dialect", "BitTTT", "errors.mlir")) as f:
        for i, case in enumerate(f.read().split("// -----")[:12]):
            with open(os.path.join(out["mlir"], f"error{i:02d}.mlir"), "w") as g:
                g.write(case)

    configs = [CONFIG,
               {"vocab_size": 1000, "hidden_dim": 256, "num_layers": 4, "inner_lr": 0.01},
               {"arch": "ttt", "vocab_size": 100, "hidden_dim": 64, "num_layers": 2, "n_heads": 1,
                "n_kv_heads": 1, "intermediate_dim": None, "inner_lr": 0.1,
                "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "activation": "SiLU"},
               {"arch": "bitttt", "vocab_size": 64, "hidden_dim": 48, "num_layers": 1,
                "intermediate_dim": 96, "act_bits": 0,
                "ttt": {"variant": "seed", "mini_batch": 1, "inner_lr": 0.5}}]
    for i, c in enumerate(configs):
        with open(os.path.join(out["config"], f"config{i}.json"), "w") as g:
            json.dump(c, g)


def runtime_seeds(out, bindir):
    """Session files, checkpoints and token files of the fuzz model."""
    path = subprocess.run(["bash", os.path.join(REPO, "scripts", "fuzz.sh"), "model"],
                          check=True, capture_output=True, text=True).stdout.strip()
    os.environ.setdefault("BITTTT_BUILD", os.path.dirname(os.path.abspath(bindir)))
    import bitttt
    model = bitttt.Model(path, n_threads=1)
    session = model.session()
    session.save(os.path.join(out["session"], "start.session"))
    session.prefill([5, 17, 42, 7, 99])
    session.save(os.path.join(out["session"], "prefilled.session"))
    for t in (3, 250, 0):
        session.decode(t)
    session.save(os.path.join(out["session"], "decoded.session"))

    trainer = bitttt.Trainer(model, seed=1)
    tokens = np.arange(2 * 9, dtype=np.int32).reshape(2, 9) % 300
    with tempfile.TemporaryDirectory() as tmp:
        trainer.save(tmp, "step-00000000.ckpt")
        trainer.step(tokens, 1e-3)
        trainer.save(tmp, "step-00000001.ckpt", extra={"note": "after one step"})
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".ckpt"):
                shutil.copy(os.path.join(tmp, name), os.path.join(out["checkpoint"], name))

    ids = np.array([0, 1, 299, 42, 7, 256], dtype=np.uint32)
    seeds = {"u16.tok": bytes([0, 43, 1]) + ids.astype("<u2").tobytes(),
             "u32.tok": bytes([1, 43, 1]) + ids.astype("<u4").tobytes(),
             "empty.tok": bytes([2, 255, 255]),
             "odd.tok": bytes([0, 0, 1]) + b"\x01\x00\x02"}
    for name, data in seeds.items():
        with open(os.path.join(out["tokens"], name), "wb") as g:
            g.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bin")
