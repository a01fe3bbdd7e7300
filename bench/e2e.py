#!/usr/bin/env python3
"""End-to-end prefill/decode speed of compiled random Bit-TTT models.

For each config: `python -m bitttt_ref make-random` → model dir (timed),
`bitttt-compile DIR -o model.bitt` (timed), then decode and prefill timing:

  * runner "cli": `bitttt-run generate model.bitt --ids ... -n N` (the C
    runtime), parsing its "prefill: ... tokens/s; decode: ... tokens/s" line;
  * runner "python": the artifact's shared object called through ctypes
    (as python/tests/bitt_runner.py does), state threaded call to call with
    ping-pong buffers; only the C entry call is inside the timer.

"auto" uses cli when bitttt-run exists (in --build's bin/ or --run-bin),
otherwise python. Bytes per decoded token come from the .bitt header (every
weight tensor the decode function reads, one embedding row, TTT state read
and written); implied GB/s = bytes per token × tokens/s, compared with a
streaming-read DRAM bandwidth measured in the same run.

One JSON document on stdout, progress on stderr:

    PYTHONPATH=python .venv/bin/python bench/e2e.py [--skip-large] [--keep]
        [--baseline-build OLD_BUILD_DIR]

With --baseline-build every cli timing also runs the other build's
bitttt-compile/bitttt-run on the same model, interleaved run by run with
ours; each timing then carries a "baseline" entry.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402

sys.path.insert(0, os.path.join(common.REPO, "python"))
from bitttt_ref import bitt  # noqa: E402

CONFIGS = {
    # ~7e6 ternary weights; the f32 lm_head (32000 x 512) dominates the bytes.
    "small": {"arch": "bitttt", "vocab_size": 32000, "hidden_dim": 512,
              "num_layers": 4, "intermediate_dim": 1376, "rms_eps": 1e-5,
              "act_bits": 8,
              "ttt": {"variant": "linear", "num_heads": 4, "mini_batch": 16,
                      "base_lr": 1.0}},
    # ~1e8 ternary weights, 8 TTT layers of 8 heads (W: 4 MB of state).
    "mid": {"arch": "bitttt", "vocab_size": 32000, "hidden_dim": 1024,
            "num_layers": 8, "intermediate_dim": 2752, "rms_eps": 1e-5,
            "act_bits": 8,
            "ttt": {"variant": "linear", "num_heads": 8, "mini_batch": 16,
                    "base_lr": 1.0}},
    # 20 x (4·2048² + 3·2048·5504) = 1.01e9 ternary weights.
    "large": {"arch": "bitttt", "vocab_size": 32000, "hidden_dim": 2048,
              "num_layers": 20, "intermediate_dim": 5504, "rms_eps": 1e-5,
              "act_bits": 8,
              "ttt": {"variant": "linear", "num_heads": 16, "mini_batch": 16,
                      "base_lr": 1.0}},
}

_DT = {"F32": np.float32, "I32": np.int32, "I64": np.int64, "U8": np.uint8,
       "I8": np.int8, "BF16": np.uint16}
_SIZE = {"F32": 4, "I32": 4, "I64": 8, "U8": 1, "I8": 1, "BF16": 2}


def ternary_weights(cfg):
    D, I, L = cfg["hidden_dim"], cfg["intermediate_dim"], cfg["num_layers"]
    return L * (4 * D * D + 3 * D * I)


def run_timed(cmd, env=None):
    """→ (CompletedProcess, wall seconds, peak RSS of the child in bytes)."""
    timefile = tempfile.NamedTemporaryFile(prefix="bitttt-time-", delete=False)
    timefile.close()
    wrapped = (["/usr/bin/time", "-f", "%M", "-o", timefile.name] + cmd
               if os.access("/usr/bin/time", os.X_OK) else cmd)
    t0 = time.perf_counter()
    proc = subprocess.run(wrapped, capture_output=True, text=True, env=env)
    secs = time.perf_counter() - t0
    rss = None
    try:
        with open(timefile.name) as f:
            rss = int(f.read().strip().splitlines()[-1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    os.unlink(timefile.name)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc, secs, rss


def bytes_per_token(header):
    """What one @decode call must read (and write) at least."""
    fn = header["bitttt"]["functions"]["decode"]
    # lm_head: its real bytes in the compiled format (f32, bf16, int8 with
    # per-row scale and sum: header "bitttt.lm_head", docs/lm-head.md).
    out = {"packed_ternary_codes": 0, "lm_head": 0, "embed_row_f32": 0,
           "other_tensors": 0, "state_read": 0, "state_written": 0}
    for v in fn["inputs"]:
        n = int(np.prod(v["shape"], dtype=np.int64)) * _SIZE[v["dtype"]]
        packed = v.get("packed", {})
        if v["role"] == "tensor":
            if packed.get("weight") == "lm_head.weight" or (
                    not packed and v["name"] == "lm_head.weight"):
                out["lm_head"] += n
            elif packed.get("layout") == "i2_b128" and packed.get("part") == "codes":
                out["packed_ternary_codes"] += n
            elif v["name"] == "embed.weight":
                out["embed_row_f32"] += v["shape"][1] * 4
            else:
                out["other_tensors"] += n
        elif v["role"] == "state":
            out["state_read"] += n
    for v in fn["outputs"]:
        if v["role"] == "state":
            out["state_written"] += int(np.prod(v["shape"], dtype=np.int64)) * _SIZE[v["dtype"]]
    out["total"] = sum(out.values())
    out["ttt_state_moved"] = ttt_state_moved(header)
    return out


def ttt_state_moved(header):
    """TTT state bytes one decoded token moves, from the config (f32):
    `minimum` = W read once per head plus c, k, v-sized vectors;
    `this_build` = the buffered-rows state of DecomposeTTT.cpp: W and c read,
    the keys/eta_grads rows of the mini-batch so far read (on average
    (b+1)/2 of them) and one row of each written, plus the commit (W and c
    read and written, all b rows read) once per b tokens;
    `accumulator_form` = the state before (W, c, ΣW, Σc as in the reference),
    counted as this bench counted it then: every state value read and
    written through the ping-pong buffers."""
    cfg = header["config"]
    t = cfg.get("ttt", {})
    L = cfg["num_layers"]
    if t.get("variant", "linear") != "linear":
        d = cfg["hidden_dim"] // 4
        b = t.get("mini_batch", 1)
        w, row = 4 * d * d, 4 * d
        minimum = w
        this = w + (b + 1) * row + 2 * row + (2 * w + 2 * b * row) / b
        old = 4 * w
    else:
        H = t["num_heads"]
        f = cfg["hidden_dim"] // H
        b = t["mini_batch"]
        w, row = 4 * H * f * f, 4 * H * f
        minimum = w + row
        this = (w + row + (b + 1) * row + 2 * row
                + (2 * w + 2 * row + 2 * b * row) / b)
        old = 4 * (w + row)
    return {"minimum": int(L * minimum), "this_build": int(L * this),
            "accumulator_form": int(L * old)}


class Runner:
    """Calls the compiled prefill/decode of a .bitt through ctypes, threading
    the state through two ping-pong sets of buffers (no copies)."""

    def __init__(self, path, target):
        import ctypes
        self.ctypes = ctypes
        _, header, tensors, _ = bitt.read(path)
        h = header["bitttt"]
        self.functions = h["functions"]
        self._dir = tempfile.TemporaryDirectory(prefix="bitttt-e2e-")
        so = os.path.join(self._dir.name, f"{target}.so")
        with open(so, "wb") as f:
            f.write(tensors[h["artifacts"][target]["tensor"]].data)
        self.so_path = so
        self.lib = ctypes.CDLL(so)
        self.tensors = {}
        for n, t in tensors.items():
            if not n.startswith("__artifact__"):
                self.tensors[n] = common.aligned_copy(t.numpy())
        del tensors
        dec = self.functions["decode"]
        # A state that is also an output ping-pongs between two buffers; one
        # that is an input only is updated in place (docs/abi.md): one buffer.
        returned = {v["name"] for v in dec["outputs"] if v["role"] == "state"}
        self.state = [{}, {}]
        for name, spec in h["state"].items():
            v = next(v for v in dec["inputs"] if v["name"] == name)
            for i, s in enumerate(self.state):
                if i == 1 and name not in returned:
                    s[name] = self.state[0][name]
                    continue
                arr = common.aligned(int(np.prod(v["shape"], dtype=np.int64)) * _SIZE[v["dtype"]],
                                     _DT[v["dtype"]]).reshape(v["shape"])
                if spec["init"] != "zeros":
                    arr[...] = self.tensors[spec["init"]]
                s[name] = arr
        self.cur = 0
        self.calls = {}
        for fname, fn in self.functions.items():
            self.calls[fname] = [self._bind(fn, k) for k in (0, 1)]

    def _bind(self, fn, k):
        """Buffers for a call that reads state set k and writes set 1-k."""
        ctypes = self.ctypes
        ids = common.aligned(4 * fn["tokens"], np.int32)
        ptrs, keep = [], [ids]
        for v in fn["inputs"]:
            if v["role"] == "io":
                ptrs.append(ids.ctypes.data)
            elif v["role"] == "tensor":
                ptrs.append(self.tensors[v["name"]].ctypes.data)
            else:
                ptrs.append(self.state[k][v["name"]].ctypes.data)
        logits = None
        for v in fn["outputs"]:
            if v["role"] == "state":
                ptrs.append(self.state[1 - k][v["name"]].ctypes.data)
            else:
                arr = common.aligned(int(np.prod(v["shape"])) * _SIZE[v["dtype"]],
                                     _DT[v["dtype"]]).reshape(v["shape"])
                keep.append(arr)
                ptrs.append(arr.ctypes.data)
                if v["name"] == "logits":
                    logits = arr
        buf = (ctypes.c_void_p * len(ptrs))(*ptrs)
        entry = getattr(self.lib, fn["symbol"])
        # (buffers, exec): exec NULL, the loops run on the calling thread.
        entry.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        entry.restype = None
        return {"entry": entry, "buf": buf, "ids": ids, "logits": logits, "keep": keep}

    def call(self, fname, ids):
        c = self.calls[fname][self.cur]
        c["ids"][:] = ids
        t0 = time.perf_counter()
        c["entry"](c["buf"], None)
        dt = time.perf_counter() - t0
        self.cur = 1 - self.cur
        return c["logits"], dt


def time_python(path, target, prefill_chunks, decode_tokens):
    t0 = time.perf_counter()
    r = Runner(path, target)
    load = time.perf_counter() - t0
    chunk = r.functions["prefill"]["tokens"]
    vocab = r.functions["decode"]["outputs"][0]["shape"][-1]
    rng = np.random.default_rng(0)
    pre = []
    for _ in range(prefill_chunks):
        _, dt = r.call("prefill", rng.integers(0, vocab, chunk))
        pre.append(dt)
    dec, tok = [], 1
    for _ in range(decode_tokens):
        logits, dt = r.call("decode", [tok])
        tok = int(np.argmax(logits[-1]))
        dec.append(dt)
    # The first decode after prefill touches cold decode-only buffers: drop it.
    dec_steady = dec[1:] if len(dec) > 2 else dec
    ldd = subprocess.run(["ldd", r.so_path], capture_output=True, text=True).stdout
    omp = "libomp" in ldd or "libgomp" in ldd
    return {"runner": "python-ctypes (bench/e2e.py Runner; C entry call timed)",
            "target": target, "artifact_links_openmp": omp,
            "threads": int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())) if omp else 1,
            "load_seconds": round(load, 3),
            "prefill_chunk_tokens": chunk, "prefill_calls": len(pre),
            "prefill_ms_per_chunk_best": min(pre) * 1e3,
            "prefill_ms_per_chunk_median": statistics.median(pre) * 1e3,
            "prefill_tokens_per_s_best": chunk / min(pre),
            "prefill_tokens_per_s_median": chunk / statistics.median(pre),
            "decode_calls": len(dec_steady),
            "decode_ms_per_token_best": min(dec_steady) * 1e3,
            "decode_ms_per_token_median": statistics.median(dec_steady) * 1e3,
            "decode_tokens_per_s_best": 1 / min(dec_steady),
            "decode_tokens_per_s_median": 1 / statistics.median(dec_steady)}


def time_python_subprocess(path, target, prefill_chunks, decode_tokens, threads):
    """time_python in a fresh process: OpenMP reads OMP_NUM_THREADS when
    libomp loads, so each thread count needs its own process."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--python-worker",
                           json.dumps([path, target, prefill_chunks, decode_tokens])],
                          env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"python runner failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


_CLI_LINE = re.compile(
    r"prefill: (\d+) tokens in ([\d.]+) ms \(([\d.]+) tokens/s\); "
    r"decode: (\d+) tokens in ([\d.]+) ms \(([\d.]+) tokens/s\) \[([^,\]]+), (\d+) threads\]")


_GREEDY_FLAGS = {}


def greedy_flags(run_bin, env=None):
    """`--temp 0` for a bitttt-run that samples by default; nothing for older
    builds, which were always greedy."""
    if run_bin not in _GREEDY_FLAGS:
        out = subprocess.run([run_bin, "generate", "--help"], capture_output=True,
                             text=True, env=env).stdout
        _GREEDY_FLAGS[run_bin] = ["--temp", "0"] if "--temp" in out else []
    return _GREEDY_FLAGS[run_bin]


def cli_run(run_bin, path, target, chunk, prefill_chunks, decode_tokens, threads, env=None):
    """One greedy `bitttt-run generate`: prompt = prefill_chunks whole chunks
    (no decode tail), -n decode_tokens+1; threads 0 = bitttt-run's default."""
    ids = ",".join(str(1 + (i * 7919) % 30000) for i in range(chunk * prefill_chunks))
    cmd = [run_bin, "generate", path, "--ids", ids, "-n", str(decode_tokens + 1),
           *greedy_flags(run_bin, env)]
    if target:
        cmd += ["--target", target]
    cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"bitttt-run failed:\n{proc.stderr[-3000:]}")
    m = _CLI_LINE.search(proc.stderr)
    if not m:
        raise RuntimeError(f"cannot parse bitttt-run's speed line:\n{proc.stderr[-2000:]}")
    return {"prefill_tokens": int(m.group(1)), "prefill_ms": float(m.group(2)),
            "prefill_tokens_per_s": float(m.group(3)),
            "decode_tokens": int(m.group(4)), "decode_ms": float(m.group(5)),
            "decode_tokens_per_s": float(m.group(6)), "target": m.group(7),
            "threads": int(m.group(8))}


def time_cli(run_bin, path, target, chunk, prefill_chunks, decode_tokens, reps, threads):
    """`reps` runs of cli_run, best and median."""
    runs = [cli_run(run_bin, path, target, chunk, prefill_chunks, decode_tokens, threads)
            for _ in range(reps)]
    return summarize_cli(run_bin, runs)


def same_flags(compile_bin, flags):
    """Our compile flags that the (older) baseline compiler also knows: the
    baseline gets the same LM head and weight format where it has the
    option, and its default where it does not (an older build)."""
    text = subprocess.run([compile_bin, "--help"], capture_output=True, text=True).stdout
    return [f for f in flags if f.split("=")[0] + "=" in text]


def time_cli_against(baseline, ours, target, chunk, prefill_chunks, decode_tokens, reps,
                     threads):
    """The baseline build and ours interleaved (A, B, A, B, ...) on the same
    prompt: machine drift hits both alike. `baseline` and `ours` are
    (run_bin, .bitt path, env)."""
    runs = {"baseline": [], "ours": []}
    for _ in range(reps):
        for key, (run_bin, path, env) in (("baseline", baseline), ("ours", ours)):
            runs[key].append(cli_run(run_bin, path, target, chunk, prefill_chunks,
                                     decode_tokens, threads, env))
    return {key: summarize_cli((baseline if key == "baseline" else ours)[0], r)
            for key, r in runs.items()}


def summarize_cli(run_bin, runs):
    reps = len(runs)
    pre = [r["prefill_tokens_per_s"] for r in runs]
    dec = [r["decode_tokens_per_s"] for r in runs]
    return {"runner": f"cli ({run_bin} generate)", "target": runs[0]["target"],
            "threads": runs[0]["threads"], "reps": reps,
            "prefill_tokens_per_run": runs[0]["prefill_tokens"],
            "decode_tokens_per_run": runs[0]["decode_tokens"],
            "prefill_tokens_per_s_best": max(pre),
            "prefill_tokens_per_s_median": statistics.median(pre),
            "decode_tokens_per_s_best": max(dec),
            "decode_tokens_per_s_median": statistics.median(dec),
            "decode_ms_per_token_best": 1e3 / max(dec),
            "decode_ms_per_token_median": 1e3 / statistics.median(dec),
            "runs": runs}


def check_resources(cfg, workdir):
    """Rough need: f32 checkpoint + .bitt on disk; ~3x the checkpoint in RAM
    while make-random holds the model and serializes it."""
    params = ternary_weights(cfg) + 2 * cfg["vocab_size"] * cfg["hidden_dim"]
    ckpt = params * 4
    disk_need = ckpt + params // 3 + (1 << 30)
    free = shutil.disk_usage(workdir).free
    mem = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                mem = int(line.split()[1]) * 1024
    need_mem = 3 * ckpt
    info = {"checkpoint_bytes_est": ckpt, "disk_free": free, "disk_need_est": disk_need,
            "mem_available": mem, "mem_need_est": need_mem}
    if free < disk_need:
        raise RuntimeError(f"not enough disk in {workdir}: {free/1e9:.1f} GB free, "
                           f"~{disk_need/1e9:.1f} GB needed")
    if mem is not None and mem < need_mem:
        raise RuntimeError(f"not enough memory: {mem/1e9:.1f} GB available, "
                           f"~{need_mem/1e9:.1f} GB needed")
    return info


def bench_config(name, cfg, args, dram, run_bin):
    res = {"config_name": name, "config": cfg, "ternary_weights": ternary_weights(cfg)}
    d = os.path.join(args.workdir, name)
    model_dir, bitt_path = os.path.join(d, "model"), os.path.join(d, "model.bitt")
    os.makedirs(d, exist_ok=True)
    try:
        res["resources"] = check_resources(cfg, args.workdir)
        cfg_path = os.path.join(d, "config.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        env = dict(os.environ, PYTHONPATH=os.path.join(common.REPO, "python"))
        log(f"[e2e] {name}: make-random...")
        _, secs, rss = run_timed([sys.executable, "-m", "bitttt_ref", "make-random",
                                  "--config", cfg_path, "--seed", "1", model_dir], env)
        res["make_random_seconds"] = round(secs, 2)
        res["make_random_peak_rss_bytes"] = rss
        res["checkpoint_bytes"] = os.path.getsize(os.path.join(model_dir, "model.safetensors"))
        log(f"[e2e] {name}:   {secs:.1f} s, checkpoint {res['checkpoint_bytes']/1e9:.2f} GB")
        compile_bin = os.path.join(args.build, "bin", "bitttt-compile")
        log(f"[e2e] {name}: bitttt-compile...")
        flags = [f"--lm-head={args.lm_head}", f"--weight-format={args.weight_format}"]
        _, secs, rss = run_timed([compile_bin, model_dir, "-o", bitt_path, *flags])
        res["lm_head_format"] = args.lm_head
        res["weight_format"] = args.weight_format
        res["compile_seconds"] = round(secs, 2)
        res["compile_peak_rss_bytes"] = rss
        res["bitt_bytes"] = os.path.getsize(bitt_path)
        log(f"[e2e] {name}:   {secs:.1f} s, .bitt {res['bitt_bytes']/1e9:.2f} GB")
        baseline = None
        if args.baseline_build:
            base_bitt = os.path.join(d, "baseline.bitt")
            base_compile = os.path.join(args.baseline_build, "bin", "bitttt-compile")
            base_flags = same_flags(base_compile, flags)
            log(f"[e2e] {name}: baseline bitttt-compile ({args.baseline_build}) "
                f"{' '.join(base_flags)}...")
            _, secs, _ = run_timed([base_compile, model_dir, "-o", base_bitt, *base_flags])
            res["baseline_compile_seconds"] = round(secs, 2)
            res["baseline_compile_flags"] = base_flags
            base_env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(args.baseline_build, "lib"))
            baseline = (os.path.join(args.baseline_build, "bin", "bitttt-run"), base_bitt,
                        base_env)
        if not args.keep:
            shutil.rmtree(model_dir)           # the f32 checkpoint is no longer needed
        header = read_bitt_header(bitt_path)
        bpt = bytes_per_token(header)
        res["decode_bytes_per_token"] = bpt
        avail = sorted(header["bitttt"]["artifacts"])
        if args.target == "all":
            targets = [t for t in ("x86-64-v4", "x86-64-v3") if t in avail
                       and (t != "x86-64-v4" or common.has_vnni())]
        elif args.target:
            targets = args.target.split(",")
        else:
            targets = ["x86-64-v4" if "x86-64-v4" in avail and common.has_vnni()
                       else "x86-64-v3"]
        chunk = header["bitttt"]["functions"]["prefill"]["tokens"]
        runners = []
        if args.runner in ("cli", "both") or (args.runner == "auto" and run_bin):
            if not run_bin:
                raise RuntimeError("--runner cli: no bitttt-run found (use --run-bin)")
            runners.append("cli")
        if args.runner in ("python", "both") or (args.runner == "auto" and not run_bin):
            runners.append("python")
        dec_n = args.decode_tokens or (64 if name == "small" else 24)
        pre_n = args.prefill_chunks or (4 if name == "small" else 2)
        res["timings"] = []
        ncpu = len(os.sched_getaffinity(0))
        thread_list = sorted({int(v) or ncpu for v in args.threads.split(",")})
        combos = [(rn, t, th) for t in targets for th in thread_list for rn in runners]
        for rn, target, th in combos:
            log(f"[e2e] {name}: timing ({rn}, {target}, {th} threads, {pre_n} prefill chunks "
                f"of {chunk}, {dec_n} decodes)...")
            try:
                if rn == "cli" and baseline:
                    both = time_cli_against(baseline, (run_bin, bitt_path, None), target,
                                            chunk, pre_n, dec_n, args.reps, th)
                    t = both["ours"]
                    t["baseline"] = both["baseline"]
                    log(f"[e2e] {name}:   baseline {target} {th} thr: prefill "
                        f"{both['baseline']['prefill_tokens_per_s_best']:.1f} tok/s, decode "
                        f"{both['baseline']['decode_tokens_per_s_best']:.2f} tok/s (best)")
                elif rn == "cli":
                    t = time_cli(run_bin, bitt_path, target, chunk, pre_n, dec_n, args.reps, th)
                else:
                    t = time_python_subprocess(bitt_path, target, pre_n, dec_n, th)
            except Exception as exc:  # noqa: BLE001
                log(f"[e2e] {name}:   {rn} runner FAILED: {exc}")
                res["timings"].append({"runner": rn, "error": str(exc)[:4000]})
                continue
            for which in ("best", "median"):
                tps = t[f"decode_tokens_per_s_{which}"]
                t[f"decode_implied_GBps_{which}"] = bpt["total"] * tps / 1e9
                t[f"decode_packed_ternary_GBps_{which}"] = bpt["packed_ternary_codes"] * tps / 1e9
            t["ratio_decode_GBps_to_dram_1t"] = (t["decode_implied_GBps_best"]
                                                 / dram["threads_1"]["GBps_best"])
            t["ratio_decode_GBps_to_dram_all"] = (t["decode_implied_GBps_best"]
                                                  / dram[f"threads_{dram['all']}"]["GBps_best"])
            res["timings"].append(t)
            log(f"[e2e] {name}:   {rn} {target} {t['threads']} thr: prefill {t['prefill_tokens_per_s_best']:.1f} tok/s, "
                f"decode {t['decode_tokens_per_s_best']:.2f} tok/s (best) "
                f"{t['decode_implied_GBps_best']:.2f} GB/s implied")
    except Exception as exc:  # noqa: BLE001
        log(f"[e2e] {name}: FAILED: {exc}")
        res["error"] = str(exc)[:4000]
    finally:
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)
    return res


def read_bitt_header(path):
    """The JSON header of a .bitt without reading the tensors."""
    import struct
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"BITT":
            raise RuntimeError(f"{path}: not a .bitt file")
        (n,) = struct.unpack("<Q", head[4:12])
        return json.loads(f.read(n).decode("utf-8"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=common.default_build(),
                    help="build dir with bin/bitttt-compile (default: $BITTTT_BUILD, "
                         "build-bench, build)")
    ap.add_argument("--run-bin", help="bitttt-run to use (default: BUILD/bin/bitttt-run "
                                      "when it exists)")
    ap.add_argument("--baseline-build",
                    help="another build (bin/bitttt-compile, bin/bitttt-run, lib/libbitttt.so) "
                         "to time in the same run, interleaved with ours (cli runner): "
                         "before/after comparisons")
    ap.add_argument("--lm-head", default="f32", choices=["f32", "bf16", "int8"],
                    help="bitttt-compile --lm-head (default f32; the baseline build "
                         "gets the same where it has the option)")
    ap.add_argument("--weight-format", default="i2_b128", choices=["i2_b128", "t5_b160"],
                    help="bitttt-compile --weight-format (default i2_b128; the baseline "
                         "gets the same where it has the option)")
    ap.add_argument("--runner", choices=["auto", "cli", "python", "both"], default="auto")
    ap.add_argument("--configs", default="small,large", help="small,mid,large")
    ap.add_argument("--skip-large", action="store_true", help="only the small config")
    ap.add_argument("--keep", action="store_true",
                    help="keep the model dirs and .bitt files in --workdir")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "bitttt-e2e"))
    ap.add_argument("--target", help="x86-64-v3, x86-64-v4, a comma list, or 'all' "
                                     "(default: the best this CPU runs)")
    ap.add_argument("--decode-tokens", type=int, help="decodes to time (64 small, 24 large)")
    ap.add_argument("--prefill-chunks", type=int, help="prefill calls (4 small, 2 large)")
    ap.add_argument("--reps", type=int, default=3, help="bitttt-run repetitions (best taken)")
    ap.add_argument("--threads", default="1,0",
                    help="thread counts to time (bitttt-run --threads / OMP_NUM_THREADS "
                         "for the python runner); 0 = all usable CPUs (default 1,0)")
    ap.add_argument("--python-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.python_worker:
        path, target, pre_n, dec_n = json.loads(args.python_worker)
        common.emit(time_python(path, target, pre_n, dec_n))
        return
    run_bin = args.run_bin
    if not run_bin:
        cand = os.path.join(args.build, "bin", "bitttt-run")
        run_bin = cand if os.access(cand, os.X_OK) else None
    compile_bin = os.path.join(args.build, "bin", "bitttt-compile")
    if not os.access(compile_bin, os.X_OK):
        sys.exit(f"no {compile_bin}: build the project first (see bench/README.md)")
    names = [c for c in args.configs.split(",") if c]
    if args.skip_large:
        names = [c for c in names if c != "large"]
    os.makedirs(args.workdir, exist_ok=True)

    mach = common.machine()
    doc = {"benchmark": "bitttt end-to-end decode", "machine": mach,
           "build": os.path.abspath(args.build), "bitttt_run": run_bin,
           "baseline_build": args.baseline_build and os.path.abspath(args.baseline_build),
           "build_tool_mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(
               os.path.getmtime(compile_bin))),
           "git_head": subprocess.run(["git", "-C", common.REPO, "rev-parse", "HEAD"],
                                      capture_output=True, text=True).stdout.strip(),
           "git_dirty_files": subprocess.run(
               ["git", "-C", common.REPO, "status", "--short", "--untracked-files=no"],
               capture_output=True, text=True).stdout.split("\n")[:-1]}
    ncpu = mach["cpus_usable"]
    log(f"[e2e] DRAM read bandwidth (1 and {ncpu} threads)...")
    dram = common.dram_bandwidth(sorted({1, ncpu}), reps=10)
    dram["all"] = ncpu
    doc["dram_read"] = dram
    doc["results"] = [bench_config(n, CONFIGS[n], args, dram, run_bin) for n in names]
    doc["machine"]["loadavg_at_end"] = common._read("/proc/loadavg")
    if not args.keep:
        try:
            os.rmdir(args.workdir)
        except OSError:
            pass
    common.emit(doc)


if __name__ == "__main__":
    main()
