#!/usr/bin/env python3
"""f32 GEMMs as our compiler generates them (bitttt-vectorize-matmul inside
bitttt-cpu-pipeline), against OpenBLAS, at the shapes of compiled training's
backward pass.

For each shape, the function

    func.func @kernel(%a0: tensor<[B x] M x K x f32>, %a1: tensor<[B x] K x N x f32>)
        -> tensor<[B x] M x N x f32>
      { linalg.fill 0 + linalg.matmul (linalg.batch_matmul with a batch) }

is compiled with the test harness (python/tests/compiled.py: bitttt-opt
--bitttt-cpu-pipeline=target=T, mlir-translate, clang-22 -O2 -march=T),
checked against numpy in float64 (a wrong result is reported, not timed),
and timed from C (bench/harness.c,
bench_entry: exec NULL for 1 thread, else its fork-join pool as the
bitttt_exec). Baselines in the same run, with the same thread count:
numpy's `a @ b` (Debian's numpy reaches OpenBLAS through libblas.so.3; the
JSON names the library it resolved to) and OpenBLAS's cblas_sgemm called
directly (libopenblas.so.0, row-major, no transposes; not for the batched
shape, where per-call ctypes overhead would dominate).

Default shapes, from the default training config (dim 256, intermediate
1024, batch 16 x context 128 = 2048 rows): the activation gradients
dy·W (2048x256·256x1024 and 2048x1024·1024x256), the weight gradient
dyᵀ·x (256x2048·2048x1024) and the TTT mini-batch products (64 x
[16x16]·[16x16]).

One JSON document on stdout; progress on stderr. Run:

    PYTHONPATH=python .venv/bin/python bench/gemm.py [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import time

# Before numpy loads OpenBLAS: its pool size is read once, at load.
_THREADS = "1"
for i, arg in enumerate(sys.argv):
    if arg == "--threads" and i + 1 < len(sys.argv):
        _THREADS = sys.argv[i + 1]
    elif arg.startswith("--threads="):
        _THREADS = arg.split("=", 1)[1]
os.environ["OPENBLAS_NUM_THREADS"] = _THREADS

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402

sys.path.insert(0, os.path.join(common.REPO, "python", "tests"))
import compiled  # noqa: E402
import cpu_targets  # noqa: E402

# (batch or 0, M, K, N)
DEFAULT_SHAPES = "2048x256x1024,2048x1024x256,256x2048x1024,64x16x16x16"


def parse_shape(text):
    dims = [int(v) for v in text.split("x")]
    if len(dims) == 3:
        return (0, *dims)
    if len(dims) == 4:
        return tuple(dims)
    raise ValueError(f"shape {text!r}: MxKxN or BxMxKxN")


def kernel_body(b, m, k, n):
    pre = f"{b}x" if b else ""
    ta, tb, tc = (f"tensor<{pre}{m}x{k}xf32>", f"tensor<{pre}{k}x{n}xf32>",
                  f"tensor<{pre}{m}x{n}xf32>")
    op = "linalg.batch_matmul" if b else "linalg.matmul"
    return (f"%z = arith.constant 0.0 : f32\n"
            f"%e = tensor.empty() : {tc}\n"
            f"%c = linalg.fill ins(%z : f32) outs(%e : {tc}) -> {tc}\n"
            f"%y = {op} ins(%a0, %a1 : {ta}, {tb}) outs(%c : {tc}) -> {tc}\n"
            f"return %y : {tc}")


def loaded_blas():
    """Shared objects with 'blas' in their name mapped into this process."""
    libs = set()
    for line in (common._read("/proc/self/maps", "") or "").splitlines():
        path = line.split()[-1] if line.split() else ""
        if "blas" in os.path.basename(path):
            libs.add(os.path.realpath(path))
    return sorted(libs)


def median_seconds(fn, min_reps, min_seconds, warmup):
    for _ in range(warmup):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


class OpenBLAS:
    """cblas_sgemm from libopenblas.so.0 (row-major, C = A·B)."""

    def __init__(self, threads):
        self.lib = ctypes.CDLL("libopenblas.so.0")
        self.lib.openblas_set_num_threads(ctypes.c_int(threads))
        self.lib.openblas_get_num_threads.restype = ctypes.c_int
        self.threads = self.lib.openblas_get_num_threads()
        f = self.lib.cblas_sgemm
        f.restype = None
        i, fl, p = ctypes.c_int, ctypes.c_float, ctypes.c_void_p
        f.argtypes = [i, i, i, i, i, i, fl, p, i, p, i, fl, p, i]
        self.path = "libopenblas.so.0"

    def sgemm(self, a, b, c):
        m, k = a.shape
        n = b.shape[1]
        # CblasRowMajor = 101, CblasNoTrans = 111
        self.lib.cblas_sgemm(101, 111, 111, m, n, k, 1.0, a.ctypes.data, k,
                             b.ctypes.data, n, 0.0, c.ctypes.data, n)


def summary(times, flops, threads, **extra):
    t = sorted(times)
    med = statistics.median(t)
    return {"threads": threads, "reps": len(t), "ms_median": med * 1e3,
            "ms_best": t[0] * 1e3, "GFLOPs_median": flops / med / 1e9,
            "GFLOPs_best": flops / t[0] / 1e9, **extra}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default=DEFAULT_SHAPES,
                    help=f"comma-separated MxKxN or BxMxKxN (default {DEFAULT_SHAPES})")
    ap.add_argument("--targets", default="auto",
                    help="comma-separated CpuTargets.def names (default: every "
                         "target this CPU runs)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for ours (bench pool; 1 = exec NULL) and for "
                         "OpenBLAS (default 1)")
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="min-seconds 0.2, 3 reps")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.quick:
        args.min_seconds, args.min_reps = 0.2, 3
    if not os.access(compiled.OPT, os.X_OK):
        sys.exit(f"no {compiled.OPT}: build the project first")
    targets = (cpu_targets.runnable() if args.targets == "auto"
               else args.targets.split(","))
    shapes = [parse_shape(s) for s in args.shapes.split(",")]
    # numpy's BLAS: what a matmul maps in before anything else loads one.
    np.ones((64, 64), np.float32) @ np.ones((64, 64), np.float32)
    numpy_blas = loaded_blas()
    lib = common.harness()
    blas = OpenBLAS(args.threads)
    doc = {"benchmark": "bitttt f32 GEMM (bitttt-vectorize-matmul) vs OpenBLAS",
           "machine": common.machine(),
           "threads": args.threads,
           "numpy": {"version": np.__version__, "blas_libraries": numpy_blas,
                     "OPENBLAS_NUM_THREADS": os.environ["OPENBLAS_NUM_THREADS"]},
           "openblas_direct": {"library": blas.path, "threads": blas.threads},
           "settings": {"min_reps": args.min_reps, "min_seconds": args.min_seconds,
                        "warmup": args.warmup, "targets": targets},
           "shapes": []}
    rng = np.random.default_rng(args.seed)
    for (bsz, m, k, n) in shapes:
        lead = (bsz,) if bsz else ()
        a = common.aligned_copy(rng.standard_normal((*lead, m, k)).astype(np.float32))
        b = common.aligned_copy(rng.standard_normal((*lead, k, n)).astype(np.float32))
        flops = 2 * max(bsz, 1) * m * n * k
        shape = {"batch": bsz, "M": m, "K": k, "N": n, "flops": flops}
        row = {**shape, "bitttt": {}}
        expect = np.matmul(a.astype(np.float64), b.astype(np.float64))
        scale = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
        tag = f"{bsz}x{m}x{k}x{n}" if bsz else f"{m}x{k}x{n}"
        for target in targets:
            t0 = time.perf_counter()
            kern = compiled.Compiled(
                kernel_body(bsz, m, k, n),
                [((*lead, m, k), "f32"), ((*lead, k, n), "f32")],
                [((*lead, m, n), "f32")],
                pipeline=f"bitttt-cpu-pipeline=target={target}", march=target)
            csecs = time.perf_counter() - t0
            c = common.aligned((max(bsz, 1) * m * n) * 4, np.float32).reshape(*lead, m, n)
            bufs = (ctypes.c_void_p * 3)(a.ctypes.data, b.ctypes.data, c.ctypes.data)
            fn = ctypes.cast(kern.fn, ctypes.c_void_p).value
            c[...] = np.nan
            lib.run_entry(fn, bufs, args.threads if args.threads > 1 else 0)
            rel_err = float((np.abs(c - expect) / np.maximum(scale, 1e-30)).max())
            if not rel_err < 1e-4:   # (NaN included)
                log(f"[gemm] {tag} {target}: WRONG RESULT (max relative error "
                    f"{rel_err:.2e}) — not timed")
                row["bitttt"][target] = {"correct": False, "max_rel_err": rel_err}
                continue
            times = (ctypes.c_double * 100000)()
            reps = lib.bench_entry(fn, args.threads, bufs, 3, 1, args.warmup,
                                   args.min_reps, 100000, args.min_seconds, times)
            e = summary(times[:reps], flops, args.threads, correct=True,
                        max_rel_err=rel_err, compile_seconds=round(csecs, 2))
            row["bitttt"][target] = e
            log(f"[gemm] {tag} {target}: {e['GFLOPs_median']:.1f} GFLOP/s "
                f"median ({e['ms_median']:.3f} ms), {e['GFLOPs_best']:.1f} "
                f"best, rel err {rel_err:.1e}")
        out = np.empty((*lead, m, n), np.float32)
        t = median_seconds(lambda: np.matmul(a, b, out=out), args.min_reps,
                           args.min_seconds, args.warmup)
        e = summary(t, flops, args.threads)
        row["numpy_matmul"] = e
        log(f"[gemm] {tag} numpy a @ b: {e['GFLOPs_median']:.1f} GFLOP/s")
        if not bsz:
            t = median_seconds(lambda: blas.sgemm(a, b, out), args.min_reps,
                               args.min_seconds, args.warmup)
            e = summary(t, flops, blas.threads)
            row["openblas_sgemm"] = e
            log(f"[gemm] {tag} cblas_sgemm: {e['GFLOPs_median']:.1f} GFLOP/s")
        # ours / the best baseline, medians
        base = max(row.get("openblas_sgemm", {}).get("GFLOPs_median", 0),
                   row["numpy_matmul"]["GFLOPs_median"])
        row["ratio_to_best_baseline_median"] = {
            t: round(v["GFLOPs_median"] / base, 3)
            for t, v in row["bitttt"].items() if v["correct"]}
        doc["shapes"].append(row)
    doc["machine"]["loadavg_at_end"] = common._read("/proc/loadavg")
    common.emit(doc)


if __name__ == "__main__":
    main()
