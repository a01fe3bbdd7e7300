#!/usr/bin/env python3
"""Training throughput: the compiled training step against the PyTorch
reference's training loop, same config, same data, same thread count.

For one config: `python -m bitttt_ref make-random` writes a model dir,
`bitttt-compile --train` compiles it (timed), random u16 token files are
written, then interleaved:

  * ours: `bitttt-run train MODEL.bitt --steps N` (metrics.jsonl
    `tokens_per_s` per step; the first step, which pages the code in, is
    dropped);
  * reference: `python -m bitttt_ref train --steps N` (the same model dir,
    the same B, T, schedule; torch.set_num_threads(--threads)).

One JSON document on stdout (medians of the per-step tokens/s), progress on
stderr:

    PYTHONPATH=python .venv/bin/python bench/train.py [--config default|small]
        [--steps 8] [--threads 2]

"default" is the original engine's default model (dim 256, 8 layers,
context 128, batch 16, vocab 4096 here); "small" the README main job's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("BITTTT_BUILD", os.path.join(REPO, "build")), "bin")

CONFIGS = {
    "default": ({"arch": "bitttt", "vocab_size": 4096, "hidden_dim": 256, "num_layers": 8,
                 "intermediate_dim": 1024, "rms_eps": 1e-5, "act_bits": 8,
                 "ttt": {"variant": "linear", "num_heads": 4, "mini_batch": 16,
                         "base_lr": 1.0}}, 16, 128),
    "small": ({"arch": "bitttt", "vocab_size": 2048, "hidden_dim": 128, "num_layers": 4,
               "intermediate_dim": 512, "rms_eps": 1e-5, "act_bits": 8,
               "ttt": {"variant": "linear", "num_heads": 4, "mini_batch": 16,
                       "base_lr": 1.0}}, 8, 64),
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    return time.perf_counter() - t


def rates(path, skip_first=True):
    with open(path) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    r = [x["tokens_per_s"] for x in recs if "tokens_per_s" in x]
    return r[1:] if skip_first and len(r) > 1 else r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", choices=sorted(CONFIGS), default="default")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    cfg, batch, context = CONFIGS[a.config]
    py = sys.executable
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"))
    with tempfile.TemporaryDirectory(prefix="bitttt-bench-train-") as d:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        model = os.path.join(d, "model")
        run([py, "-m", "bitttt_ref", "make-random", "--config", os.path.join(d, "config.json"),
             "--seed", "1", model], env)
        rng = np.random.default_rng(0)
        rng.integers(0, cfg["vocab_size"], 400_000).astype("<u2").tofile(
            os.path.join(d, "train.bin"))
        bitt = os.path.join(d, "train.bitt")
        log(f"compiling {a.config} with --train (batch {batch}, context {context})")
        compile_s = run([os.path.join(BIN, "bitttt-compile"), model, "--train",
                         f"--batch={batch}", f"--context={context}", "-o", bitt])
        ours, ref = [], []
        for r in range(a.repeats):
            out = os.path.join(d, f"run{r}")
            log(f"ours, repeat {r}")
            run([os.path.join(BIN, "bitttt-run"), "train", bitt, "--train",
                 os.path.join(d, "train.bin"), "--steps", str(a.steps), "--warmup", "1",
                 "--save-every", "1000000", "--no-export", "--out", out,
                 "--threads", str(a.threads)])
            ours += rates(os.path.join(out, "metrics.jsonl"))
            log(f"reference, repeat {r}")
            metrics = os.path.join(d, f"ref{r}.jsonl")
            run([py, "-m", "bitttt_ref", "train", "--model-dir", model, "--train",
                 os.path.join(d, "train.bin"), "--steps", str(a.steps), "--batch", str(batch),
                 "--context", str(context), "--lr", "3e-4", "--warmup", "1",
                 "--metrics", metrics, "--threads", str(a.threads)], env)
            ref += rates(metrics)
    o, p = statistics.median(ours), statistics.median(ref)
    print(json.dumps({
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count()},
        "command": " ".join(["bench/train.py"] + sys.argv[1:]),
        "config": a.config, "batch": batch, "context": context, "threads": a.threads,
        "compile_seconds": round(compile_s, 1),
        "ours_tokens_per_s": round(o, 1), "reference_tokens_per_s": round(p, 1),
        "speedup": round(o / p, 2), "ours_samples": len(ours), "reference_samples": len(ref),
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
