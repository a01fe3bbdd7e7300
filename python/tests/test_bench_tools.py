"""bench/ tools: the roofline/summary code of bench/run.py on a small
synthetic document (fractions checked against hand arithmetic, the PNG
written), the int8 peak microbenchmark (builds, positive figures; nothing
timed is asserted), and kernels.py's A, B, A, B interleaving."""

import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")
sys.path.insert(0, BENCH)

import common  # noqa: E402
import kernels  # noqa: E402
import peak  # noqa: E402
import roofline  # noqa: E402


def _kernel(target, T, N, K, threads, cache, ms, weight_bytes, io_bytes, **kw):
    """A kernels.py entry; rates derived from ms as kernels.entry does."""
    sec = ms / 1e3
    return {"kind": "bitttt_bitlinear", "target": target, "T": T, "N": N, "K": K,
            "threads": threads, "cache": cache, "ms_best": ms, "ms_median": ms * 1.1,
            "weight_bytes": weight_bytes, "bytes_per_call": weight_bytes + io_bytes,
            "weight_GBps_best": weight_bytes / sec / 1e9,
            "GMACps_best": T * N * K / sec / 1e9, "correct": True, **kw}


def _timing(runner, target, threads, prefill, decode, **kw):
    return {"runner": runner, "target": target, "threads": threads,
            "prefill_tokens_per_s_best": prefill, "prefill_tokens_per_s_median": prefill,
            "decode_tokens_per_s_best": decode, "decode_tokens_per_s_median": decode,
            **kw}


def synthetic():
    peak_doc = {"kernels": [
        {"name": "vpdpbusd_zmm", "supported": True,
         "runs": [{"threads": 1, "GMACps": 400.0}, {"threads": 2, "GMACps": 800.0}]},
        {"name": "vpdpbusd_ymm", "supported": True,
         "runs": [{"threads": 1, "GMACps": 200.0}, {"threads": 2, "GMACps": 400.0}]},
        {"name": "avx2_block", "supported": True,
         "runs": [{"threads": 1, "GMACps": 100.0}, {"threads": 2, "GMACps": 160.0}]}]}
    # 4096x4096: 4096·32·32 = 4 194 304 packed bytes; T=64 io = 4·64·8192.
    w = 4096 * 32 * 32
    kern = {"dram_read": {"threads_1": {"GBps_best": 12.5}, "threads_2": {"GBps_best": 25.0},
                          "all": 2},
            "results": [
                # 64·4096² MAC in 5.36870912 ms = 200 GMAC/s.
                _kernel("x86-64-v4", 64, 4096, 4096, 1, "cold", 5.36870912, w, 4 * 64 * 8192,
                        baseline={"ms_best": 10.73741824, "GMACps_best": 100.0}),
                # a faster hot entry must not replace the cold one in the fraction
                _kernel("x86-64-v4", 64, 4096, 4096, 1, "hot", 2.68435456, w, 4 * 64 * 8192),
                # 2 threads, v3: 4.294967296 ms = 250 GMAC/s.
                _kernel("x86-64-v3", 64, 4096, 4096, 2, "cold", 4.294967296, w, 4 * 64 * 8192),
                # T=1: 4 194 304 B in 0.4194304 ms = 10 GB/s.
                _kernel("x86-64-v4", 1, 4096, 4096, 1, "cold", 0.4194304, w, 4 * 8192,
                        baseline={"error": "bitttt-opt failed"}),
                {"kind": "openblas_sgemm", "T": 64, "N": 4096, "K": 4096, "threads": 1,
                 "cache": "cold", "ms_best": 20.0, "ms_median": 21.0,
                 "bytes_per_call": 4 * 4096 * 4096, "weight_GBps_best": 3.3,
                 "GMACps_best": 53.7},
                {"kind": "bitttt_bitlinear", "target": "x86-64-v3", "T": 1, "N": 8, "K": 8,
                 "error": "compile failed"}]}
    e2e = {"dram_read": {"threads_1": {"GBps_best": 16.0}, "threads_2": {"GBps_best": 32.0},
                         "all": 2},
           "results": [
               {"config_name": "small",
                "decode_bytes_per_token": {"total": 80e6, "packed_ternary_codes": 3e6},
                "decode_bytes_per_token_int8_lm_head": {"total": 40e6},
                "timings": [
                    _timing("cli (bitttt-run generate)", "x86-64-v4", 1, 500.0, 150.0,
                            baseline=_timing("cli", "x86-64-v4", 1, 400.0, 100.0)),
                    _timing("cli (bitttt-run generate)", "x86-64-v4", 2, 900.0, 250.0,
                            baseline=_timing("cli", "x86-64-v4", 2, 800.0, 200.0)),
                    _timing("python-ctypes", "x86-64-v3", 1, 300.0, 125.0,
                            decode_bytes_per_token=64e6),
                    {"runner": "cli", "error": "bitttt-run failed"}]},
               {"config_name": "large", "error": "not enough memory"}]}
    return {"benchmark": "bitttt bench/run.py",
            "machine": {"cpu_model": "Synthetic CPU", "cpu_family_model": "6/1",
                        "cpus_usable": 2},
            "git_head": "0123456789",
            "dram_read": {"threads_1": {"GBps_best": 11.0}, "threads_2": {"GBps_best": 22.0},
                          "all": 2},
            "peak": peak_doc, "kernels": kern, "e2e": e2e}


def test_fractions_match_hand_arithmetic():
    fr = roofline.fractions(synthetic())
    # decode roofline at 1 thread: 16e9 B/s / 80e6 B = 200 tok/s; 150 / 200.
    dec = {(e["config"], e["runner"]): e for e in fr["decode_fraction_of_roofline_1t"]}
    assert set(dec) == {("small", "cli"), ("small", "python")}
    assert dec["small", "cli"]["roofline_tokens_per_s"] == pytest.approx(200.0)
    assert dec["small", "cli"]["fraction"] == pytest.approx(0.75)
    # the sibling byte count (40 MB): ceiling 400 tok/s.
    assert dec["small", "cli"]["fraction_decode_bytes_per_token_int8_lm_head"] == \
        pytest.approx(0.375)
    # a timing with its own byte count: 16e9 / 64e6 = 250 tok/s; 125 / 250.
    assert dec["small", "python"]["fraction"] == pytest.approx(0.5)
    # T = 64 kernels: the cold entry, 200 / 400 (v4, 1 thr); 250 / 800 (v3, 2 thr),
    # and against v3's own peak (avx2_block, 2 thr) 250 / 160.
    k = {(e["target"], e["threads"]): e for e in fr["kernel_T64_fraction_of_vnni_peak"]}
    assert set(k) == {("x86-64-v4", 1), ("x86-64-v3", 2)}
    assert k["x86-64-v4", 1]["cache"] == "cold"
    assert k["x86-64-v4", 1]["fraction"] == pytest.approx(0.5)
    assert k["x86-64-v4", 1]["fraction_of_isa_peak"] == pytest.approx(0.5)
    assert k["x86-64-v3", 2]["fraction"] == pytest.approx(0.3125)
    assert k["x86-64-v3", 2]["fraction_of_isa_peak"] == pytest.approx(1.5625)
    # prefill 2 threads / 1 thread: 900 / 500.
    (sc,) = fr["prefill_all_threads_over_1t"]
    assert (sc["threads"], sc["ratio"]) == (2, pytest.approx(1.8))
    # ours / baseline at 1 thread: prefill 500 / 400, decode 150 / 100.
    (ob,) = fr["ours_over_baseline_1t"]
    assert ob["prefill"] == pytest.approx(1.25)
    assert ob["decode"] == pytest.approx(1.5)


def test_kernel_points_intensity_bandwidth_and_baseline():
    rows = roofline.kernel_points(synthetic())
    assert len(rows) == 5       # the failed compile is left out
    t1 = next(r for r in rows if r["T"] == 1)
    # 4096² MAC / (4 194 304 + 32 768) B
    assert t1["intensity_mac_per_byte"] == pytest.approx(16777216 / 4227072)
    # 10 GB/s of weights against the kernels document's 12.5 GB/s (1 thr).
    assert t1["fraction_weight_GBps_of_read_bw"] == pytest.approx(0.8)
    assert t1["baseline_error"] == "bitttt-opt failed"
    cold = next(r for r in rows if r["T"] == 64 and r["cache"] == "cold"
                and r["target"] == "x86-64-v4")
    assert cold["speedup_over_baseline"] == pytest.approx(2.0)
    blas = next(r for r in rows if r["kind"] == "openblas_sgemm")
    assert blas["fraction_of_vnni_peak"] is None     # f32, not an int8 kernel


def test_table_and_png_are_written(tmp_path):
    doc = synthetic()
    text = roofline.table(doc)
    assert "Synthetic CPU" in text
    assert "decode / bytes-per-token roofline, 1 thr: small x86-64-v4 (cli): 0.75" in text
    assert "ours / baseline at 1 thr: small x86-64-v4: prefill 1.25, decode 1.50" in text
    png = tmp_path / "roofline.png"
    roofline.plot(doc, str(png))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    # the CLI reads the JSON and writes the same kind of file
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "cli.png"
    r = subprocess.run([sys.executable, os.path.join(BENCH, "roofline.py"), str(path),
                        "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "T=64 kernel / VNNI zmm peak: x86-64-v4 4096x4096 1 thr (cold): 0.50" in r.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # configs 100x apart in speed (small vs large): the log-scale branch
    doc["e2e"]["results"][1] = {
        "config_name": "large", "decode_bytes_per_token": {"total": 600e6},
        "timings": [_timing("cli", "x86-64-v4", 1, 4.0, 1.5)]}
    roofline.plot(doc, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (large,) = [e for e in roofline.fractions(doc)["decode_fraction_of_roofline_1t"]
                if e["config"] == "large"]
    assert large["fraction"] == pytest.approx(0.05625)      # 1.5 / (16e9 / 600e6)


def test_plot_without_e2e_or_peak(tmp_path):
    doc = synthetic()
    del doc["e2e"], doc["peak"]
    png = tmp_path / "k.png"
    roofline.plot(doc, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fr = roofline.fractions(doc)
    assert fr["decode_fraction_of_roofline_1t"] == []
    assert all(e["fraction"] is None for e in fr["kernel_T64_fraction_of_vnni_peak"])


def _cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def test_peak_microbenchmark_quick(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "CACHE", str(tmp_path))
    doc = peak.measure(quick=True, threads="1,0")
    assert os.path.dirname(doc["binary"]) == str(tmp_path)
    ncpu = len(os.sched_getaffinity(0))
    by = {k["name"]: k for k in doc["kernels"]}
    assert set(by) == {"vpdpbusd_zmm", "vpdpbusd_ymm", "avx2_maddubsw_maddwd", "avx2_block"}
    assert by["vpdpbusd_zmm"]["supported"] == ("avx512_vnni" in _cpu_flags())
    assert by["avx2_block"]["supported"] == ("avx2" in _cpu_flags())
    for k in by.values():
        if not k["supported"]:
            continue
        assert [r["threads"] for r in k["runs"]] == sorted({1, ncpu})
        for r in k["runs"]:
            assert r["GMACps"] > 0 and r["s_best"] > 0
            # MAC accounting: threads · iterations · MAC per iteration / time
            macs = r["threads"] * k["iters_per_thread"] * k["mac_per_iter"]
            assert r["GMACps"] == pytest.approx(macs / r["s_best"] / 1e9, rel=2e-3)
        assert peak.gmacps(doc, k["name"], 1) == k["runs"][0]["GMACps"]
    # the second call reuses the cached binary
    assert peak.measure(quick=True, threads="1")["binary"] == doc["binary"]


def test_peak_rejects_bad_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "CACHE", str(tmp_path))
    with pytest.raises(RuntimeError, match="bad --threads entry 'x'"):
        peak.measure(quick=True, threads="1,x")


class _FakeHarness:
    """Stands in for harness.c's bench_entry: records which entry point was
    timed, with what budget, and returns `reps` calls of 1 ms each."""

    def __init__(self):
        self.calls = []

    def bench_entry(self, fn, threads, flat, nbuf, nsets, warmup, min_reps, max_reps,
                    min_seconds, times):
        self.calls.append((fn, threads, min_reps, min_seconds))
        for i in range(min_reps):
            times[i] = 1e-3 if fn == 111 else 2e-3
        return min_reps


def test_kernels_interleave_ours_and_baseline():
    lib = _FakeHarness()
    timing = kernels.Timing.__new__(kernels.Timing)
    timing.min_reps, timing.max_reps, timing.min_seconds, timing.warmup = 5, 1000, 0.9, 2
    sets = [[1, 2, 3, 4]]
    ours, base = kernels.time_interleaved(lib, 111, 222, sets, timing, 2, 3)
    assert [c[0] for c in lib.calls] == [111, 222, 111, 222, 111, 222]
    assert all(c[1] == 2 for c in lib.calls)
    # each part: ceil(5 / 3) = 2 reps at least, 0.9 / 3 s
    assert all(c[2] == 2 and c[3] == pytest.approx(0.3) for c in lib.calls)
    assert ours == [1e-3] * 6 and base == [2e-3] * 6
