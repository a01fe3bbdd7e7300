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
