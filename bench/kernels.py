#!/usr/bin/env python3
"""Packed ternary BitLinear kernels as our compiler generates them, against
OpenBLAS and the machine's DRAM read bandwidth.

For each shape N x K (out x in) and token count T, the function

    func.func @bl(%x: tensor<TxKxf32>, %w: !bitttt.packed_ternary<NxK>,
                  %g: tensor<f32>) -> tensor<TxNxf32>
      { bitttt.bitlinear %x, %w scale %g }

goes through `bitttt-opt --bitttt-cpu-pipeline=target=...`,
`mlir-translate --mlir-to-llvmir` and `clang-22 -O3 -march=... -shared`, and
its `bitttt_entry_bl(void **, const bitttt_exec *)` is timed from C
(bench/harness.c) after a bit-exactness check against a numpy integer
BitLinear: on 1 thread (exec NULL) and, when the kernel has parallel loops,
on the harness's fork-join pthread pool with all usable cores. Baselines in the same
run: OpenBLAS sgemv/sgemm on the dense f32 [N, K] matrix (1 thread and the
OpenBLAS default), and a streaming-read DRAM bandwidth (1 thread, all cores).
With --baseline-build the same kernels compiled by another build are timed
too, alternating with ours (A, B, A, B: --rounds) so machine drift hits both.
Each kernel runs for every packed layout of --layouts (default i2_b128 and
t5_b160, docs/packing.md); a t5_b160 entry carries `vs_i2_b128`, the i2_b128
kernel of the same shape timed alternately with it on its own buffers.

One JSON document on stdout; progress on stderr. Run:

    PYTHONPATH=python .venv/bin/python bench/kernels.py [--quick] [--baseline-build DIR]

See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402

sys.path.insert(0, os.path.join(common.REPO, "python"))
from bitttt_ref.packing import LAYOUTS, pack, row_bytes  # noqa: E402

sys.path.insert(0, os.path.join(common.REPO, "python", "tests"))
import cpu_targets  # noqa: E402

TRANSLATE = "/usr/lib/llvm-22/bin/mlir-translate"
DEFAULT_SHAPES = "2048x2048,4096x4096,11008x4096,16384x16384"


# ---------------------------------------------------------------- compile

def kernel_source(T, N, K, layout="i2_b128"):
    ptype = (f"!bitttt.packed_ternary<{N}x{K}>" if layout == "i2_b128"
             else f"!bitttt.packed_ternary<{N}x{K}, {layout}>")
    return (f"func.func @bl(%a0: tensor<{T}x{K}xf32>, %a1: {ptype}, %a2: tensor<f32>)"
            f" -> tensor<{T}x{N}xf32> {{\n"
            f"  %g = tensor.extract %a2[] : tensor<f32>\n"
            f"  %y = bitttt.bitlinear %a0, %a1 scale %g : tensor<{T}x{K}xf32>, {ptype}"
            f" -> tensor<{T}x{N}xf32>\n"
            f"  return %y : tensor<{T}x{N}xf32>\n}}\n")


def compile_kernel(build, target, T, N, K, layout="i2_b128"):
    """→ (path of the .so, compile seconds)."""
    opt = os.path.join(build, "bin", "bitttt-opt")
    src = kernel_source(T, N, K, layout)
    tool_id = f"{os.path.getmtime(opt)}:{os.path.getsize(opt)}"
    key = hashlib.sha1(f"{src}|{target}|{tool_id}".encode()).hexdigest()[:12]
    d = os.path.join(common.CACHE, "kernels")
    os.makedirs(d, exist_ok=True)
    base = os.path.join(d, f"bl_{target}_{layout}_T{T}_{N}x{K}_{key}")
    so = base + ".so"
    t0 = time.perf_counter()
    if not os.path.exists(so):
        with open(base + ".mlir", "w") as f:
            f.write(src)
        llvm = subprocess.run([opt, base + ".mlir", f"--bitttt-cpu-pipeline=target={target}"],
                              capture_output=True, text=True)
        if llvm.returncode:
            raise RuntimeError(f"bitttt-opt failed:\n{llvm.stderr}")
        ir = subprocess.run([TRANSLATE, "--mlir-to-llvmir"], input=llvm.stdout,
                            capture_output=True, text=True)
        if ir.returncode:
            raise RuntimeError(f"mlir-translate failed:\n{ir.stderr}")
        with open(base + ".ll", "w") as f:
            f.write(ir.stdout)
        if "__kmpc_" in ir.stdout:
            raise RuntimeError("the kernel calls libomp (__kmpc_*): this bitttt-opt predates "
                               "the bitttt_exec entry ABI, rebuild it")
        isa = cpu_targets.clang_flags(target)   # CpuTargets.def's CPU and features
        subprocess.run([common.CLANG, "-O3", *isa, "-shared", "-fPIC",
                        "-Wno-override-module", "-o", so + ".tmp", base + ".ll"],
                       check=True)
        os.replace(so + ".tmp", so)
    return so, time.perf_counter() - t0


# ---------------------------------------------------------------- reference

def act_quant(x):
    amax = np.maximum(np.abs(x).max(axis=1, keepdims=True), np.float32(1e-5))
    s = (np.float32(127) / amax.astype(np.float32)).astype(np.float32)
    xq = np.clip(np.rint(x * s), -128, 127).astype(np.float32)
    return xq, s


def reference(x, wq_f32, gamma):
    """Integer BitLinear. The f32 GEMM on integer values is exact: every
    partial sum is an integer below 128·K ≤ 2^24 for K ≤ 131072."""
    assert x.shape[1] <= 131072
    xq, s = act_quant(x)
    acc = xq @ wq_f32.T
    return (acc * np.float32(gamma)) / s


# ---------------------------------------------------------------- timing

class Timing:
    def __init__(self, args):
        self.min_reps, self.max_reps = args.min_reps, args.max_reps
        self.min_seconds, self.warmup = args.min_seconds, args.warmup


def time_entry(lib, fn_addr, sets, timing, threads):
    """sets: list of buffer lists (pointers); threads: 1 = exec NULL, else
    the harness's pool of that many threads. → per-call seconds."""
    nbuf = len(sets[0])
    flat = (ctypes.c_void_p * (nbuf * len(sets)))(*[p for s in sets for p in s])
    times = (ctypes.c_double * timing.max_reps)()
    n = lib.bench_entry(fn_addr, threads, flat, nbuf, len(sets), timing.warmup,
                        timing.min_reps, timing.max_reps, timing.min_seconds, times)
    if n < 0:
        raise RuntimeError(f"harness could not start a pool of {threads} threads")
    return list(times[:n])


def time_interleaved(lib, fn, base_fn, sets, timing, threads, rounds, base_sets=None):
    """Ours and the baseline's entry timed alternately (A, B, A, B, ...),
    `rounds` times each with 1/rounds of the time budget: drift of the
    machine hits both alike; the baseline on `base_sets` when given (another
    layout's buffers). → (our per-call seconds, the baseline's)."""
    part = Timing.__new__(Timing)
    part.min_reps = -(-timing.min_reps // rounds)
    part.max_reps = max(1, timing.max_reps // rounds)
    part.min_seconds = timing.min_seconds / rounds
    part.warmup = timing.warmup
    ours, base = [], []
    for _ in range(rounds):
        ours += time_entry(lib, fn, sets, part, threads)
        base += time_entry(lib, base_fn, base_sets or sets, part, threads)
    return ours, base


class KernelFailure(Exception):
    """A kernel that did not compile or computed a wrong result; `fields`
    go into its JSON entry."""

    def __init__(self, fields):
        super().__init__(str(fields))
        self.fields = fields


def load_checked(build, target, T, N, K, lib, bufs, y, expect, ncpu, tag,
                 layout="i2_b128"):
    """Compiles the kernel with `build`'s bitttt-opt, loads it and checks it
    against `expect` on 1 thread (exec NULL) and on the pool of all cores
    (which also counts the entry's parallel_for calls). → {"fn", "loops",
    "compile_seconds", "lib"}; raises KernelFailure."""
    try:
        so, csecs = compile_kernel(build, target, T, N, K, layout)
    except Exception as exc:  # noqa: BLE001
        log(f"[bench]   {tag}: COMPILE FAILED {exc}")
        raise KernelFailure({"error": str(exc)[:2000]}) from None
    klib = ctypes.CDLL(so)
    fn = ctypes.cast(klib.bitttt_entry_bl, ctypes.c_void_p).value
    loops = 0
    for th in ([0] + ([ncpu] if ncpu > 1 else [])):
        y[...] = np.nan
        loops = max(loops, lib.run_entry(fn, bufs, th))
        if not np.array_equal(y, expect):
            bad = int(np.count_nonzero(y != expect))
            log(f"[bench]   {tag}: WRONG RESULT with {max(th, 1)} thread(s) "
                f"({bad} of {y.size} differ) — skipped")
            raise KernelFailure({"correct": False, "mismatches": bad})
    return {"fn": fn, "loops": loops, "compile_seconds": csecs, "lib": klib}


def time_openblas(lib, mats, x, y, T, N, K, timing):
    ptrs = (ctypes.c_void_p * len(mats))(*[m.ctypes.data for m in mats])
    times = (ctypes.c_double * timing.max_reps)()
    n = lib.bench_openblas(ptrs, len(mats), x.ctypes.data, y.ctypes.data, T, N, K,
                           timing.warmup, timing.min_reps, timing.max_reps,
                           timing.min_seconds, times)
    return list(times[:n])


COLD_FACTOR = 16  # "cold": the buffers cycled through total ≥ 16·L3 (512 MB here)


def copies_for(nbytes, l3, cold):
    """Buffer copies to cycle through so the working set is ≥ 16·L3: with
    2·L3 or 4·L3 a streaming kernel still hit partly in L3 here (2 threads
    read 128 MB of weights faster than a 1 GB streaming read)."""
    if not cold or nbytes >= COLD_FACTOR * l3:
        return 1
    return -(-COLD_FACTOR * l3 // nbytes)


def entry(kind, T, N, K, times, weight_bytes, extra_bytes, dram, **kw):
    st = common.stats(times)
    e = {"kind": kind, "T": T, "N": N, "K": K, **kw, **st,
         "weight_bytes": weight_bytes, "bytes_per_call": weight_bytes + extra_bytes}
    for which in ("best", "median"):
        sec = st[f"ms_{which}"] / 1e3
        e[f"weight_GBps_{which}"] = weight_bytes / sec / 1e9
        e[f"GMACps_{which}"] = T * N * K / sec / 1e9
    if dram:
        best = e["weight_GBps_best"]
        e["ratio_weight_GBps_to_dram_1t"] = best / dram["threads_1"]["GBps_best"]
        e["ratio_weight_GBps_to_dram_all"] = best / dram[f"threads_{dram['all']}"]["GBps_best"]
    return e


def run_kernel(args, doc, lib, timing, dram, l3, ncpu, target, layout, T, N, K, x,
               packed, gamma, expect, io_bytes):
    """Checks and times our kernel of one (target, layout, T, N, K): hot and
    cold, 1 thread and all cores; beside it, alternately, the baseline
    build's kernel (--baseline-build) and, for t5_b160, the i2_b128 one."""
    tag = f"{target} {layout} T={T} {N}x{K}"
    wbytes = packed[layout].nbytes
    y = common.aligned((T * N) * 4, np.float32).reshape(T, N)

    def buffers(p):
        return (ctypes.c_void_p * 4)(x.ctypes.data, p.ctypes.data,
                                     gamma.ctypes.data, y.ctypes.data)

    bufs = buffers(packed[layout])
    try:
        ours = load_checked(args.build, target, T, N, K, lib, bufs, y, expect, ncpu,
                            tag, layout)
    except KernelFailure as f:
        doc["results"].append({"kind": "bitttt_bitlinear", "target": target,
                               "layout": layout, "T": T, "N": N, "K": K, **f.fields})
        return
    base, base_failure = None, None
    if args.baseline_build:
        try:
            base = load_checked(args.baseline_build, target, T, N, K, lib, bufs, y,
                                expect, ncpu, f"baseline {tag}", layout)
        except KernelFailure as f:
            base_failure = f.fields
    i2 = None
    if layout == "t5_b160":
        try:
            i2 = load_checked(args.build, target, T, N, K, lib, buffers(packed["i2_b128"]),
                              y, expect, ncpu, f"i2_b128 beside {tag}", "i2_b128")
        except KernelFailure:
            i2 = None
    thread_counts = [1] + ([ncpu] if ours["loops"] > 0 and ncpu > 1 else [])
    for cache in (["hot"] + ([] if args.no_cold else ["cold"])):
        copies = copies_for(wbytes, l3, cache == "cold")
        if cache == "cold" and copies == 1:
            continue   # weights alone exceed 16·L3: "hot" is already cold
        if wbytes >= COLD_FACTOR * l3:
            cache = "dram"

        def sets_of(p, n):
            packs = [p] + [common.aligned_copy(p) for _ in range(n - 1)]
            return packs, [[x.ctypes.data, q.ctypes.data, gamma.ctypes.data,
                            y.ctypes.data] for q in packs]

        packs, sets = sets_of(packed[layout], copies)
        i2_packs, i2_sets = [], None
        if i2:
            i2_bytes = packed["i2_b128"].nbytes
            i2_packs, i2_sets = sets_of(packed["i2_b128"],
                                        copies_for(i2_bytes, l3, cache != "hot"))
        for th in thread_counts:
            btimes = i2_times = None
            if base:
                times, btimes = time_interleaved(lib, ours["fn"], base["fn"], sets,
                                                 timing, th, args.rounds)
            elif i2:
                times, i2_times = time_interleaved(lib, ours["fn"], i2["fn"], sets,
                                                   timing, th, args.rounds, i2_sets)
            else:
                times = time_entry(lib, ours["fn"], sets, timing, th)
            e = entry("bitttt_bitlinear", T, N, K, times, wbytes, io_bytes,
                      dram, target=target, layout=layout, threads=th,
                      threads_from="bench pool (bitttt_exec)",
                      parallel_loops_per_call=ours["loops"], cache=cache,
                      weight_copies_cycled=copies, correct=True,
                      compile_seconds=round(ours["compile_seconds"], 2),
                      cache_note=("one weight buffer > L3" if cache == "hot"
                                  and wbytes > l3 else
                                  "weights fit in L3" if cache == "hot"
                                  else f"cycled over {copies} copies"))
            if base:
                e["interleaved_rounds"] = args.rounds
                e["baseline"] = entry(
                    "bitttt_bitlinear", T, N, K, btimes, wbytes, io_bytes, dram,
                    build=os.path.abspath(args.baseline_build),
                    parallel_loops_per_call=base["loops"], correct=True)
            elif base_failure:
                e["baseline"] = dict(base_failure,
                                     build=os.path.abspath(args.baseline_build))
            if i2_times:
                e["interleaved_rounds"] = args.rounds
                e["vs_i2_b128"] = entry(
                    "bitttt_bitlinear", T, N, K, i2_times, packed["i2_b128"].nbytes,
                    io_bytes, dram, layout="i2_b128",
                    weight_copies_cycled=len(i2_packs), correct=True)
                e["ms_best_ratio_to_i2_b128"] = (e["ms_best"]
                                                 / e["vs_i2_b128"]["ms_best"])
                e["ms_median_ratio_to_i2_b128"] = (e["ms_median"]
                                                   / e["vs_i2_b128"]["ms_median"])
            doc["results"].append(e)
            log(f"[bench]   {tag} {cache} th={th}: best {e['ms_best']:.3f} ms, "
                f"median {e['ms_median']:.3f} ms, "
                f"{e['weight_GBps_best']:.1f} GB/s, "
                f"{e['GMACps_best']:.1f} GMAC/s"
                + (f"; baseline best {e['baseline']['ms_best']:.3f} ms" if base else "")
                + (f"; i2_b128 beside it best {e['vs_i2_b128']['ms_best']:.3f} ms, "
                   f"median {e['vs_i2_b128']['ms_median']:.3f} ms" if i2_times else ""))
        del packs, sets, i2_packs, i2_sets


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=common.default_build(),
                    help="build dir with bin/bitttt-opt (default: $BITTTT_BUILD, "
                         "build-bench, build)")
    ap.add_argument("--shapes", default=DEFAULT_SHAPES,
                    help=f"comma-separated NxK (out x in); default {DEFAULT_SHAPES}")
    ap.add_argument("--tokens", default="1,64", help="T values (default 1,64)")
    ap.add_argument("--targets", default="auto",
                    help="x86-64-v3,x86-64-v4 (default: v3, plus v4 if the CPU "
                         "has AVX-512 VNNI)")
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-reps", type=int, default=1000)
    ap.add_argument("--min-seconds", type=float, default=1.0,
                    help="keep timing a config until this much time was spent")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--no-cold", action="store_true",
                    help="skip the cache-cold runs (weights cycled over ≥ 2·L3)")
    ap.add_argument("--no-openblas", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="shapes 2048x2048,4096x4096 only, fewer reps")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline-build",
                    help="another build (bin/bitttt-opt) whose kernels are timed in the "
                         "same run, interleaved with ours (each entry then carries a "
                         "\"baseline\" entry)")
    ap.add_argument("--layouts", default=",".join(LAYOUTS),
                    help=f"packed layouts to run (default {','.join(LAYOUTS)})")
    ap.add_argument("--rounds", type=int, default=3,
                    help="with --baseline-build: A, B alternations per measurement "
                         "(default 3)")
    args = ap.parse_args()
    if args.quick:
        args.shapes, args.min_seconds, args.min_reps = "2048x2048,4096x4096", 0.3, 3
    timing = Timing(args)
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    tokens = [int(t) for t in args.tokens.split(",")]
    targets = (["x86-64-v3"] + (["x86-64-v4"] if common.has_vnni() else [])
               if args.targets == "auto" else args.targets.split(","))
    if "x86-64-v4" in targets and not common.has_vnni():
        sys.exit("x86-64-v4 needs AVX-512 VNNI, which this CPU lacks")
    opt = os.path.join(args.build, "bin", "bitttt-opt")
    if not os.access(opt, os.X_OK):
        sys.exit(f"no {opt}: build the project first (see bench/README.md)")
    if args.baseline_build and not os.access(
            os.path.join(args.baseline_build, "bin", "bitttt-opt"), os.X_OK):
        sys.exit(f"--baseline-build {args.baseline_build}: no bin/bitttt-opt there")
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")
    layouts = args.layouts.split(",")
    for layout in layouts:
        if layout not in LAYOUTS:
            sys.exit(f"--layouts: unknown layout {layout!r} ({', '.join(LAYOUTS)})")

    mach = common.machine()
    l3 = mach["l3_bytes"]
    ncpu = mach["cpus_usable"]
    lib = common.harness()
    blas_default_threads = lib.openblas_threads(0)
    lib.openblas_threads(1)
    doc = {"benchmark": "bitttt packed ternary BitLinear kernels",
           "machine": mach, "build": os.path.abspath(args.build),
           "build_tool_mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(
               os.path.getmtime(opt))),
           "git_head": subprocess.run(["git", "-C", common.REPO, "rev-parse", "HEAD"],
                                      capture_output=True, text=True).stdout.strip(),
           "git_dirty_files": subprocess.run(
               ["git", "-C", common.REPO, "status", "--short", "--untracked-files=no"],
               capture_output=True, text=True).stdout.split("\n")[:-1],
           "baseline_build": args.baseline_build and os.path.abspath(args.baseline_build),
           "settings": {"shapes": args.shapes, "tokens": tokens, "targets": targets,
                        "layouts": layouts,
                        "min_reps": args.min_reps, "min_seconds": args.min_seconds,
                        "warmup": args.warmup, "cold": not args.no_cold,
                        "openblas_default_threads": blas_default_threads},
           "results": []}

    log(f"[bench] DRAM read bandwidth (1 and {ncpu} threads)...")
    dram = common.dram_bandwidth(sorted({1, ncpu}), reps=10)
    dram["all"] = ncpu
    doc["dram_read"] = dram
    log(f"[bench]   1 thread {dram['threads_1']['GBps_best']:.1f} GB/s, "
        f"{ncpu} threads {dram[f'threads_{ncpu}']['GBps_best']:.1f} GB/s")

    rng = np.random.default_rng(args.seed)
    for (N, K) in shapes:
        log(f"[bench] shape {N}x{K}: generating weights...")
        wq = rng.integers(-1, 2, size=(N, K), dtype=np.int8)
        packed = {}
        for layout in sorted(set(layouts) | ({"i2_b128"} if "t5_b160" in layouts else set())):
            packed[layout] = common.aligned_copy(pack(wq, layout))
            assert packed[layout].shape == (N, row_bytes(K, layout))
        gamma = np.array(0.0123, dtype=np.float32)
        dense = common.aligned_copy(wq.astype(np.float32))
        del wq
        for T in tokens:
            x = common.aligned_copy(
                (rng.standard_normal((T, K)) * 2.0).astype(np.float32))
            t0 = time.perf_counter()
            expect = reference(x, dense, gamma)
            log(f"[bench]   T={T}: numpy reference {time.perf_counter() - t0:.2f}s")
            io_bytes = x.nbytes + T * N * 4
            for target, layout in ((t, lay) for t in targets for lay in layouts):
                run_kernel(args, doc, lib, timing, dram, l3, ncpu, target, layout,
                           T, N, K, x, packed, gamma, expect, io_bytes)
            if not args.no_openblas:
                for cache in (["hot"] + ([] if args.no_cold else ["cold"])):
                    copies = copies_for(dense.nbytes, l3, cache == "cold")
                    if cache == "cold" and copies == 1:
                        continue
                    if dense.nbytes >= COLD_FACTOR * l3:
                        cache = "dram"
                    mats = [dense] + [common.aligned_copy(dense) for _ in range(copies - 1)]
                    yb = np.empty((T, N), np.float32)
                    for th in sorted({1, blas_default_threads}):
                        got = lib.openblas_threads(th)
                        times = time_openblas(lib, mats, x, yb, T, N, K, timing)
                        kind = "openblas_sgemv" if T == 1 else "openblas_sgemm"
                        e = entry(kind, T, N, K, times, dense.nbytes, io_bytes, dram,
                                  threads=got, cache=cache, weight_copies_cycled=copies,
                                  dtype="f32")
                        doc["results"].append(e)
                        log(f"[bench]   {kind} T={T} {N}x{K} {cache} th={got}: best "
                            f"{e['ms_best']:.3f} ms, median {e['ms_median']:.3f} ms, "
                            f"{e['weight_GBps_best']:.1f} GB/s, "
                            f"{e['GMACps_best']:.1f} GMAC/s")
                    # Park OpenBLAS's pool so its spinning threads cannot
                    # steal a core from the next (single-threaded) kernel run.
                    lib.openblas_threads(1)
                    del mats
        del dense, packed
    doc["machine"]["loadavg_at_end"] = common._read("/proc/loadavg")
    common.emit(doc)


if __name__ == "__main__":
    main()
