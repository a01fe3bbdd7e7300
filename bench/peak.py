#!/usr/bin/env python3
"""The measured int8 dot-product peak of this CPU (bench/peak.c): GMAC/s of
register-only vpdpbusd zmm / ymm loops and of the AVX2 vpmaddubsw +
vpmaddwd sequence, on 1 thread and on all usable CPUs. This is the
"measured VNNI peak" the BitLinear kernels' GMAC/s are stated against
(bench/run.py, bench/roofline.py).

    PYTHONPATH=python .venv/bin/python bench/peak.py [--quick] [--threads 1,0]

One JSON document on stdout. 1 MAC = one u8 x s8 product.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def measure(quick=False, threads="1,0", reps=None):
    """Builds bench/peak.c on first use, runs it, → its JSON document."""
    exe = common.build_tool("peak.c")
    cmd = [exe, "--threads", threads] + (["--quick"] if quick else [])
    if reps:
        cmd += ["--reps", str(reps)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    doc = json.loads(proc.stdout)
    doc["binary"] = exe
    return doc


def gmacps(doc, kernel, threads):
    """Best GMAC/s of `kernel` on `threads` threads, or None if not run."""
    for k in doc.get("kernels", []):
        if k["name"] == kernel and k.get("supported"):
            for r in k["runs"]:
                if r["threads"] == threads:
                    return r["GMACps"]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1/20 of the iterations")
    ap.add_argument("--threads", default="1,0", help="thread counts; 0 = all usable CPUs")
    ap.add_argument("--reps", type=int, help="runs per measurement, best taken (5; quick 3)")
    args = ap.parse_args()
    doc = measure(args.quick, args.threads, args.reps)
    doc["machine"] = common.machine()
    common.emit(doc)


if __name__ == "__main__":
    main()
