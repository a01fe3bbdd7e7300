"""Command line: ``python -m bitttt_ref <command> ...``.

  make-random [--config CFG.json] [--seed N] [--dtype f32|f64] OUT_DIR
      write a randomly initialized model directory (config.json + model.safetensors);
      the config defaults to the tiny linear config shipped in bitttt_ref/data.
  logits MODEL_DIR --ids 1,2,3 [--mode prefill|decode|primal] [--dtype f32|f64]
         [--out FILE.npy] [--state-out FILE.safetensors]
      run the model over the ids from a fresh state; print the logits [T, V] (one row per
      line, %.9g) or save them as .npy; --state-out saves the final TTT state
      (names layers.{i}.ttt.state.{W,c,GW,Gc,pos}).
Output files are written atomically (temporary file + rename).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

import numpy as np
import torch

from .config import Config, ConfigError
from .model import BitTTTModel, CheckpointError, state_to_dict

_DTYPES = {"f32": torch.float32, "f64": torch.float64}


def _atomic_write(path: str, write) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _parse_ids(text: str, vocab: int) -> List[int]:
    try:
        ids = [int(t) for t in text.replace(" ", "").split(",") if t != ""]
    except ValueError:
        raise ValueError(f"--ids: expected comma-separated integers, got {text!r}") from None
    if not ids:
        raise ValueError("--ids: no token ids given")
    for i in ids:
        if not 0 <= i < vocab:
            raise ValueError(f"--ids: token id {i} out of range [0, {vocab})")
    return ids


def cmd_make_random(a) -> int:
    from . import TINY_CONFIG
    cfg = Config.load(a.config or TINY_CONFIG)
    model = BitTTTModel(cfg, _DTYPES[a.dtype]).init_random(a.seed)
    model.save_pretrained(a.out_dir)
    return 0


@torch.no_grad()
def cmd_logits(a) -> int:
    model = BitTTTModel.from_pretrained(a.model_dir, _DTYPES[a.dtype])
    ids = _parse_ids(a.ids, model.config.vocab_size)
    if a.mode == "decode":
        st = model.new_state()
        rows = []
        for t in ids:
            lg, st = model.decode(t, st)
            rows.append(lg)
        logits = torch.stack(rows)
    else:
        logits, st = model.run(torch.tensor(ids), None, "dual" if a.mode == "prefill" else "primal")
    arr = logits.numpy()
    if a.state_out:
        from safetensors.torch import save
        blob = save({k: v.detach().contiguous() for k, v in state_to_dict(st).items()})
        _atomic_write(a.state_out, lambda fh: fh.write(blob))
    if a.out:
        _atomic_write(a.out, lambda fh: np.save(fh, arr))
    else:
        for row in arr:
            print(" ".join(f"{v:.9g}" for v in row))
    return 0


def cmd_train(a) -> int:
    import json
    import time
    from .model import CONFIG_FILE
    from .train import RefTrainer, TrainConfig, read_tokens
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.init_seed is not None:
        model = BitTTTModel(Config.load(os.path.join(a.model_dir, CONFIG_FILE)),
                            torch.float32).init_random(a.init_seed)
    else:
        model = BitTTTModel.from_pretrained(a.model_dir, torch.float32)
    V = model.config.vocab_size
    files = [("--train", a.train)] + ([("--val", a.val)] if a.val else [])
    toks = {}
    for opt, path in files:
        toks[opt] = read_tokens(path)
        hi = int(toks[opt].max())
        if hi >= V:
            raise ValueError(f"{path}: token id {hi} out of range [0, {V}) of the model")
    cfg = TrainConfig(batch=a.batch, context=a.context, steps=a.steps, lr=a.lr,
                      warmup=a.warmup, min_lr=a.min_lr, accum=a.accum,
                      max_grad_norm=a.max_grad_norm, weight_decay=a.weight_decay,
                      seed=a.seed, eval_windows=a.eval_windows)
    tr = RefTrainer(model, cfg)
    if a.val:   # fail on a too-short validation file before training, not after
        from .train import val_windows
        val_windows(toks["--val"], cfg.batch, cfg.context, cfg.eval_windows, a.val)
    fh = open(a.metrics, "w", encoding="utf-8") if a.metrics else None
    try:
        for _ in range(cfg.steps):
            t0 = time.perf_counter()
            r = tr.step(toks["--train"])
            dt = time.perf_counter() - t0
            line = json.dumps({"step": tr.t, "loss": r["loss"], "grad_norm": r["grad_norm"],
                               "lr": r["lr"],
                               "tokens_per_s": cfg.batch * cfg.accum * cfg.context / dt})
            if fh:
                fh.write(line + "\n")
                fh.flush()
            else:
                print(line)
    finally:
        if fh:
            fh.close()
    if a.val:
        loss, ppl = tr.evaluate(toks["--val"], a.val)
        print(json.dumps({"step": tr.t, "val_loss": loss, "val_ppl": ppl}))
    if a.out:
        model.save_pretrained(a.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bitttt_ref",
                                description="bitttt PyTorch reference model tools")
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-random", help="write a random model directory")
    m.add_argument("--config", help="config.json to use (default: the tiny config)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--dtype", choices=sorted(_DTYPES), default="f32",
                   help="precision of the init arithmetic (the file is always f32)")
    m.add_argument("out_dir")
    m.set_defaults(fn=cmd_make_random)
    lg = sub.add_parser("logits", help="print or save logits of a token sequence")
    lg.add_argument("model_dir")
    lg.add_argument("--ids", required=True, help="comma-separated token ids, e.g. 1,2,3")
    lg.add_argument("--mode", choices=["prefill", "decode", "primal"], default="prefill")
    lg.add_argument("--dtype", choices=sorted(_DTYPES), default="f32")
    lg.add_argument("--out", help="save logits [T, V] to this .npy file instead of printing")
    lg.add_argument("--state-out", help="save the final TTT state as safetensors")
    lg.set_defaults(fn=cmd_logits)
    tr = sub.add_parser("train", help="train with the reference trainer (docs/training.md)")
    tr.add_argument("--model-dir", required=True, help="model directory (config.json [+ weights])")
    tr.add_argument("--train", required=True, help="training token file (.bin u16, .u32 u32)")
    tr.add_argument("--val", help="validation token file, evaluated after the last step")
    tr.add_argument("--steps", type=int, required=True)
    tr.add_argument("--batch", type=int, required=True)
    tr.add_argument("--context", type=int, required=True)
    tr.add_argument("--lr", type=float, required=True, help="peak learning rate")
    tr.add_argument("--warmup", type=int, default=0)
    tr.add_argument("--min-lr", type=float, default=0.0)
    tr.add_argument("--accum", type=int, default=1, help="micro-batches per step")
    tr.add_argument("--max-grad-norm", type=float, default=1.0)
    tr.add_argument("--weight-decay", type=float, default=0.1)
    tr.add_argument("--seed", type=int, default=0, help="data RNG seed (u64)")
    tr.add_argument("--init-seed", type=int, help="random init with this seed instead of loading")
    tr.add_argument("--eval-windows", type=int, help="at most this many validation windows")
    tr.add_argument("--metrics", help="JSON-lines file, one line per step (default: stdout)")
    tr.add_argument("--out", help="save the trained model directory here")
    tr.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    tr.set_defaults(fn=cmd_train)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return a.fn(a)
    except (ConfigError, CheckpointError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
