"""Shared helpers of the bench/ scripts: machine description, the C harness
(bench/harness.c, built on first use), DRAM read bandwidth, statistics."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

import numpy as np

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
CACHE = os.environ.get("BITTTT_BENCH_CACHE", os.path.join(BENCH, ".cache"))
CLANG = shutil.which("clang-22") or "clang-22"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def default_build():
    """The build dir: $BITTTT_BUILD, else build-bench, else build."""
    env = os.environ.get("BITTTT_BUILD")
    if env:
        return env
    for name in ("build-bench", "build"):
        d = os.path.join(REPO, name)
        if os.access(os.path.join(d, "bin", "bitttt-opt"), os.X_OK):
            return d
    return os.path.join(REPO, "build")


def _read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def cpu_flags():
    for line in (_read("/proc/cpuinfo", "") or "").splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def has_vnni():
    """The x86-64-v4 row of CpuTargets.def: AVX-512 with VNNI and VBMI."""
    return {"avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512vbmi"} <= cpu_flags()


def l3_bytes():
    """Size of the largest cache level cpu0 sees (bytes)."""
    best = 0
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = os.listdir(base)
    except OSError:
        entries = []
    for e in entries:
        size = _read(os.path.join(base, e, "size"))
        level = _read(os.path.join(base, e, "level"))
        if not size or level != "3":
            continue
        m = re.match(r"(\d+)([KMG]?)", size)
        mult = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)]
        best = max(best, int(m.group(1)) * mult)
    return best or 32 << 20


def machine():
    info = {}
    cpuinfo = _read("/proc/cpuinfo", "") or ""
    m = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    info["cpu_model"] = m.group(1) if m else platform.processor()
    fam = re.search(r"^cpu family\s*:\s*(\d+)", cpuinfo, re.M)
    mod = re.search(r"^model\s*:\s*(\d+)", cpuinfo, re.M)
    info["cpu_family_model"] = f"{fam.group(1) if fam else '?'}/{mod.group(1) if mod else '?'}"
    info["logical_cpus_online"] = os.cpu_count()
    info["cpus_usable"] = len(os.sched_getaffinity(0))
    info["l3_bytes"] = l3_bytes()
    info["l2_bytes_per_core"] = None
    try:
        for e in os.listdir("/sys/devices/system/cpu/cpu0/cache"):
            p = f"/sys/devices/system/cpu/cpu0/cache/{e}"
            if _read(p + "/level") == "2":
                info["l2_bytes_per_core"] = int(_read(p + "/size").rstrip("K")) * 1024
    except (OSError, ValueError, AttributeError):
        pass
    mem = re.search(r"MemTotal:\s*(\d+) kB", _read("/proc/meminfo", "") or "")
    info["mem_total_bytes"] = int(mem.group(1)) * 1024 if mem else None
    flags = cpu_flags()
    info["isa"] = sorted(f for f in flags if f.startswith("avx") or f in ("fma", "f16c", "bmi2"))
    info["kernel"] = platform.release()
    info["loadavg_at_start"] = _read("/proc/loadavg")
    try:
        info["clang"] = subprocess.run([CLANG, "--version"], capture_output=True,
                                       text=True).stdout.splitlines()[0]
    except OSError:
        info["clang"] = None
    return info


def stats(times_s):
    """Per-call seconds → the summary every entry carries."""
    t = sorted(times_s)
    return {"reps": len(t), "ms_best": t[0] * 1e3,
            "ms_median": statistics.median(t) * 1e3,
            "ms_worst": t[-1] * 1e3}


# ---------------------------------------------------------------- harness

_HARNESS = None


def harness():
    """The C timing library (bench/harness.c), compiled once per source hash."""
    global _HARNESS
    if _HARNESS is not None:
        return _HARNESS
    src = os.path.join(BENCH, "harness.c")
    abi = os.path.join(REPO, "include", "bitttt", "Target", "CPU", "ArtifactAbi.h")
    h = hashlib.sha1()
    for path in (src, abi):
        with open(path, "rb") as f:
            h.update(f.read())
    digest = h.hexdigest()[:12]
    os.makedirs(CACHE, exist_ok=True)
    so = os.path.join(CACHE, f"harness-{digest}.so")
    if not os.path.exists(so):
        inc = "/usr/include/x86_64-linux-gnu/openblas-pthread"
        cmd = [CLANG, "-O3", "-march=native", "-shared", "-fPIC", "-pthread",
               "-I", os.path.join(REPO, "include"),
               *(["-I", inc] if os.path.isdir(inc) else []),
               "-o", so + ".tmp", src, "-lopenblas"]
        subprocess.run(cmd, check=True)
        os.replace(so + ".tmp", so)
    lib = ctypes.CDLL(so)
    dp = ctypes.POINTER(ctypes.c_double)
    vpp = ctypes.POINTER(ctypes.c_void_p)
    lib.bench_entry.argtypes = [ctypes.c_void_p, ctypes.c_int, vpp,
                                ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                ctypes.c_int, ctypes.c_int, ctypes.c_double, dp]
    lib.bench_entry.restype = ctypes.c_int
    lib.run_entry.argtypes = [ctypes.c_void_p, vpp, ctypes.c_int]
    lib.run_entry.restype = ctypes.c_long
    lib.bench_openblas.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                   ctypes.c_void_p, ctypes.c_void_p,
                                   ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                   ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                   ctypes.c_double, dp]
    lib.bench_openblas.restype = ctypes.c_int
    lib.openblas_threads.argtypes = [ctypes.c_int]
    lib.openblas_threads.restype = ctypes.c_int
    lib.bench_read_bw.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                  ctypes.c_int, dp]
    lib.bench_read_bw.restype = ctypes.c_uint64
    lib.so_path = so
    _HARNESS = lib
    return lib


def build_tool(source, flags=("-O2", "-march=native", "-pthread")):
    """A stand-alone C program of bench/ (e.g. "peak.c"), compiled once per
    source hash into .cache/: → the executable's path."""
    src = os.path.join(BENCH, source)
    with open(src, "rb") as f:
        digest = hashlib.sha1(f.read() + " ".join(flags).encode()).hexdigest()[:12]
    os.makedirs(CACHE, exist_ok=True)
    exe = os.path.join(CACHE, f"{os.path.splitext(source)[0]}-{digest}")
    if not os.path.exists(exe):
        tmp = f"{exe}.tmp{os.getpid()}"
        subprocess.run([CLANG, *flags, "-o", tmp, src], check=True)
        os.replace(tmp, exe)
    return exe


def aligned(nbytes, dtype=np.uint8, align=64):
    """A zero-filled, page-touched, `align`-byte aligned 1-D array."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(nbytes + align, dtype=np.uint8)
    off = (-raw.ctypes.data) % align
    return raw[off:off + nbytes].view(dtype)


def aligned_copy(a, align=64):
    out = aligned(a.nbytes, a.dtype, align).reshape(a.shape)
    out[...] = a
    return out


def dram_bandwidth(threads_list, nbytes=None, reps=5):
    """Streaming-read bandwidth (GB/s = 1e9 B/s) of a buffer ≫ L3."""
    lib = harness()
    nbytes = nbytes or max(1 << 30, 32 * l3_bytes())
    buf = aligned(nbytes)
    buf[::4096] = 1                       # fault every page in
    out = {"buffer_bytes": nbytes, "reps": reps}
    for th in threads_list:
        times = (ctypes.c_double * reps)()
        lib.bench_read_bw(buf.ctypes.data, nbytes, th, reps, times)
        t = sorted(times)
        out[f"threads_{th}"] = {"GBps_best": nbytes / t[0] / 1e9,
                                "GBps_median": nbytes / statistics.median(t) / 1e9}
    del buf
    return out


def emit(doc):
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")
    sys.stdout.flush()
