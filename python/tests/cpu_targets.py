"""The x86-64 target table (include/bitttt/Target/X86/CpuTargets.def), read
by the tests so that they know the targets from the same rows as the
compiler and the runtime, and which of them this CPU runs — judged from
/proc/cpuinfo, independently of the runtime's own CPUID detection."""

from __future__ import annotations

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEF = os.path.join(REPO, "include", "bitttt", "Target", "X86", "CpuTargets.def")

# bitttt_cpu_feature names (REQUIRES column) → Linux /proc/cpuinfo flags.
_CPUINFO_FLAG = {"AVX2": "avx2", "FMA": "fma", "AVX512F": "avx512f",
                 "AVX512BW": "avx512bw", "AVX512VL": "avx512vl",
                 "AVX512VNNI": "avx512_vnni", "AVXVNNI": "avx_vnni",
                 "AVX512VBMI": "avx512vbmi"}

_ROW = re.compile(r'^BITTTT_X86_TARGET\(\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]*)",'
                  r'\s*(\d+),\s*(\w+),\s*(\d+),\s*(\d+),\s*(\d+),\s*([^)]*)\)', re.M | re.S)


def targets():
    """Every row, best first: dicts name, llvm_cpu, llvm_features, f32_lanes,
    dot, dot_bytes, mm_rows, mm_tokens, requires (feature names)."""
    with open(DEF) as f:
        text = f.read()
    rows = []
    for m in _ROW.finditer(text):
        rows.append({"name": m.group(1), "llvm_cpu": m.group(2),
                     "llvm_features": [x for x in m.group(3).split(",") if x],
                     "f32_lanes": int(m.group(4)), "dot": m.group(5),
                     "dot_bytes": int(m.group(6)), "mm_rows": int(m.group(7)),
                     "mm_tokens": int(m.group(8)),
                     "requires": [x.strip() for x in m.group(9).split("|")]})
    if not rows:
        raise RuntimeError(f"{DEF}: no BITTTT_X86_TARGET rows")
    return rows


def cpu_flags():
    """The CPU feature flags Linux reports, or an empty set."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def runs_here(target):
    flags = cpu_flags()
    return all(_CPUINFO_FLAG[r] in flags for r in target["requires"])


def names():
    return [t["name"] for t in targets()]


def runnable():
    """Names of the targets this CPU runs, best first."""
    return [t["name"] for t in targets() if runs_here(t)]


def lookup(name):
    for t in targets():
        if t["name"] == name:
            return t
    raise KeyError(f"unknown target {name!r} (CpuTargets.def has {names()})")


def clang_flags(name):
    """clang flags that compile LLVM IR for the target as bitttt-compile does."""
    t = lookup(name)
    flags = [f"-march={t['llvm_cpu']}"]
    for feature in t["llvm_features"]:
        flags += ["-Xclang", "-target-feature", "-Xclang", feature]
    return flags


def params():
    """pytest parameters, one per target; a target this CPU cannot run is
    skipped, naming the missing features (a hardware skip, listed by name in
    the test summary)."""
    import pytest
    out = []
    flags = cpu_flags()
    for t in targets():
        missing = [r for r in t["requires"] if _CPUINFO_FLAG[r] not in flags]
        marks = ([pytest.mark.skip(reason=f"hardware: this CPU lacks {', '.join(missing)} "
                                          f"for {t['name']}")] if missing else [])
        out.append(pytest.param(t["name"], id=t["name"], marks=marks))
    return out
