#!/usr/bin/env python3
"""One command for bench/: read bandwidth, the int8 dot peak, the kernel
bench and the end-to-end bench, one JSON and a roofline PNG.

    PYTHONPATH=python .venv/bin/python bench/run.py [--quick] [--skip-large]
        [--baseline-build DIR] --out bench/results/DIR

Runs, in this order (each sub-bench is its own script, run as a child
process, its JSON kept unchanged inside ours):
  1. streaming-read bandwidth, 1 thread and all usable CPUs (common.py);
  2. the int8 dot peak (peak.py: vpdpbusd zmm/ymm, AVX2 vpmaddubsw +
     vpmaddwd; 1 thread and all CPUs);
  3. kernels.py: T = 1 and T = 64 at a few shapes, both targets, 1 thread
     and all CPUs (with --baseline-build: the baseline's kernels timed
     alternately with ours, A, B, A, B);
  4. e2e.py: the small config and, unless --skip-large, the ~1e9-weight one
     (with --baseline-build: the baseline's bitttt-compile/bitttt-run on the
     same model, interleaved run by run);
kernels.py and e2e.py measure the bandwidth again in their own process
(their figures are the ones their fractions use; the three show the drift).
Writes OUT/bench.json and OUT/roofline.png (bench/roofline.py, which also
prints the table and the issue's "Done when" fractions to stderr).
--quick: one kernel shape without OpenBLAS, short timing, 2 e2e reps.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import peak as peak_mod  # noqa: E402
import roofline  # noqa: E402
from common import log  # noqa: E402

FULL_SHAPES = "4096x4096,11008x4096,16384x16384"
QUICK_SHAPES = "4096x4096"


def child(script, argv):
    """Runs bench/SCRIPT with argv; its stderr streams through, its stdout
    is the JSON → (document or None, error text or None, seconds)."""
    env = dict(os.environ)
    py = os.path.join(common.REPO, "python")
    env["PYTHONPATH"] = py + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, os.path.join(common.BENCH, script), *argv]
    log(f"[run] {' '.join(cmd[1:])}")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    secs = time.perf_counter() - t0
    if proc.returncode:
        return None, f"{script} exited {proc.returncode}", secs
    try:
        return json.loads(proc.stdout), None, secs
    except json.JSONDecodeError as exc:
        return None, f"{script}: no JSON on stdout ({exc})", secs


def dram(ncpu, reps):
    d = common.dram_bandwidth(sorted({1, ncpu}), reps=reps)
    d["all"] = ncpu
    log(f"[run] read bandwidth: 1 thread {d['threads_1']['GBps_best']:.1f} GB/s, "
        f"{ncpu} threads {d[f'threads_{ncpu}']['GBps_best']:.1f} GB/s")
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="directory for bench.json and roofline.png")
    ap.add_argument("--build", default=common.default_build(),
                    help="our build dir (bin/bitttt-opt, bin/bitttt-compile, bin/bitttt-run); "
                         "default $BITTTT_BUILD, build-bench, build")
    ap.add_argument("--baseline-build", help="another build timed beside ours, interleaved")
    ap.add_argument("--quick", action="store_true",
                    help=f"kernels at {QUICK_SHAPES} only, no OpenBLAS, short timing; "
                         "peak with fewer iterations; 2 e2e reps")
    ap.add_argument("--skip-large", action="store_true", help="e2e: small config only")
    ap.add_argument("--skip-kernels", action="store_true")
    ap.add_argument("--skip-e2e", action="store_true")
    ap.add_argument("--kernel-shapes", help=f"NxK list (default {FULL_SHAPES}; "
                                            f"--quick {QUICK_SHAPES})")
    ap.add_argument("--targets", default="auto",
                    help="kernel targets (default: x86-64-v3, and x86-64-v4 with VNNI)")
    ap.add_argument("--e2e-target", help="e2e.py --target (default: the best the CPU runs)")
    ap.add_argument("--reps", type=int, help="e2e bitttt-run repetitions (3; --quick 2)")
    args = ap.parse_args()

    for d, what in ((args.build, "--build"), (args.baseline_build, "--baseline-build")):
        if d and not os.access(os.path.join(d, "bin", "bitttt-opt"), os.X_OK):
            sys.exit(f"{what} {d}: no bin/bitttt-opt there (build it first, "
                     "see bench/README.md)")
    os.makedirs(args.out, exist_ok=True)
    mach = common.machine()
    ncpu = mach["cpus_usable"]
    started = time.time()

    def git(*a):
        return subprocess.run(["git", "-C", common.REPO, *a], capture_output=True,
                              text=True).stdout

    bench = {"benchmark": "bitttt bench/run.py", "machine": mach,
             "command": " ".join(["bench/run.py", *sys.argv[1:]]),
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
             "build": os.path.abspath(args.build),
             "baseline_build": args.baseline_build and os.path.abspath(args.baseline_build),
             "git_head": git("rev-parse", "HEAD").strip(),
             "git_dirty_files": git("status", "--short", "--untracked-files=no").split("\n")[:-1],
             "settings": {"quick": args.quick, "skip_large": args.skip_large},
             "stage_seconds": {}, "errors": {}}

    t0 = time.perf_counter()
    bench["dram_read"] = dram(ncpu, 5 if args.quick else 10)   # (kernels/e2e: again)
    bench["stage_seconds"]["dram_read"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    log("[run] int8 dot peak (bench/peak.c)...")
    try:
        bench["peak"] = peak_mod.measure(quick=args.quick, threads=f"1,{ncpu}")
        for k in bench["peak"]["kernels"]:
            if k.get("supported"):
                log(f"[run]   {k['name']}: " + ", ".join(
                    f"{r['threads']} thr {r['GMACps']:.1f} GMAC/s" for r in k["runs"]))
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        bench["errors"]["peak"] = str(exc)[:2000]
        log(f"[run]   peak FAILED: {exc}")
    bench["stage_seconds"]["peak"] = round(time.perf_counter() - t0, 2)

    base = ["--baseline-build", args.baseline_build] if args.baseline_build else []
    if not args.skip_kernels:
        shapes = args.kernel_shapes or (QUICK_SHAPES if args.quick else FULL_SHAPES)
        argv = ["--build", args.build, "--shapes", shapes, "--tokens", "1,64",
                "--targets", args.targets, *base]
        if args.quick:
            argv += ["--min-seconds", "0.3", "--min-reps", "3", "--no-openblas"]
        doc, err, secs = child("kernels.py", argv)
        bench["kernels"] = doc
        if err:
            bench["errors"]["kernels"] = err
        bench["stage_seconds"]["kernels"] = round(secs, 2)

    if not args.skip_e2e:
        argv = ["--build", args.build, *base,
                "--reps", str(args.reps or (2 if args.quick else 3))]
        if args.skip_large:
            argv.append("--skip-large")
        if args.e2e_target:
            argv += ["--target", args.e2e_target]
        if args.baseline_build:
            argv += ["--runner", "cli"]     # the interleaved comparison needs bitttt-run
        doc, err, secs = child("e2e.py", argv)
        bench["e2e"] = doc
        if err:
            bench["errors"]["e2e"] = err
        bench["stage_seconds"]["e2e"] = round(secs, 2)

    bench["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    bench["machine"]["loadavg_at_end"] = common._read("/proc/loadavg")
    bench["summary"] = {"kernels": roofline.kernel_points(bench),
                        "e2e": roofline.e2e_rows(bench),
                        "fractions": roofline.fractions(bench)}

    path = os.path.join(args.out, "bench.json")
    with open(path + ".tmp", "w") as f:
        json.dump(bench, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    png = roofline.plot(bench, os.path.join(args.out, "roofline.png"))
    log("")
    log(roofline.table(bench))
    log("")
    log(f"[run] wrote {path} and {png} ({time.time() - started:.0f} s)")
    if bench["errors"]:
        log(f"[run] FAILED stages: {', '.join(bench['errors'])}")
        sys.exit(1)


if __name__ == "__main__":
    main()
