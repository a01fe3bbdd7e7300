#!/usr/bin/env python3
"""Markdown tables from the JSON of bench/kernels.py or bench/e2e.py (or
bench/run.py, which holds both: its fractions are bench/roofline.py's).

    python3 bench/summarize.py bench/results/kernels.json [more.json ...]
"""

import json
import sys


def kernels(doc):
    d = doc["dram_read"]
    ths = sorted(int(k.split("_")[1]) for k in d if k.startswith("threads_"))
    print(f"DRAM streaming read ({d['buffer_bytes'] >> 20} MiB buffer, best of {d['reps']}): "
          + ", ".join(f"{t} thread{'s' if t > 1 else ''} {d[f'threads_{t}']['GBps_best']:.1f} GB/s"
                      for t in ths))
    print()
    print("| kind | target | T | N x K | thr | cache | ms best | ms median | weight GB/s | GMAC/s | /DRAM 1t |")
    print("|---|---|---:|---|---:|---|---:|---:|---:|---:|---:|")
    for r in doc["results"]:
        if "error" in r or r.get("correct") is False:
            print(f"| {r['kind']} | {r.get('target', '')} | {r['T']} | {r['N']}x{r['K']} | | | "
                  f"FAILED: {r.get('error', 'wrong result')[:60]} | | | | |")
            continue
        kind = r["kind"].replace("bitttt_bitlinear", "bitttt").replace("openblas_", "OpenBLAS ")
        cache = r["cache"]
        if cache == "hot" and r["weight_bytes"] > doc["machine"]["l3_bytes"]:
            cache = "hot (>L3)"
        elif cache == "cold":
            cache = f"cold x{r['weight_copies_cycled']}"
        ratio = r.get("ratio_weight_GBps_to_dram_1t")
        print(f"| {kind} | {r.get('target', 'f32')} | {r['T']} | {r['N']}x{r['K']} | "
              f"{r['threads']} | {cache} | {r['ms_best']:.3f} | {r['ms_median']:.3f} | "
              f"{r['weight_GBps_best']:.1f} | {r['GMACps_best']:.1f} | "
              f"{'' if ratio is None else f'{ratio:.2f}'} |")


def e2e(doc):
    d = doc["dram_read"]
    all_bw = d["threads_%d" % d["all"]]["GBps_best"]
    print(f"DRAM streaming read: 1 thread {d['threads_1']['GBps_best']:.1f} GB/s, "
          f"{d['all']} threads {all_bw:.1f} GB/s")
    print()
    print("| config | ternary weights | make-random s | compile s | .bitt GB | bytes/token MB "
          "(codes / lm_head / state r+w) | runner | target | thr | prefill tok/s | decode tok/s "
          "| decode ms | implied GB/s | /DRAM 1t |")
    print("|---|---:|---:|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in doc["results"]:
        if "error" in r:
            print(f"| {r['config_name']} | FAILED: {r['error'][:80]} |")
            continue
        b = r["decode_bytes_per_token"]
        bpt = (f"{b['total'] / 1e6:.0f} ({b['packed_ternary_codes'] / 1e6:.0f} / "
               f"{b.get('lm_head', b.get('lm_head_f32', 0)) / 1e6:.0f} / {(b['state_read'] + b['state_written']) / 1e6:.0f})")
        for t in r["timings"]:
            if "error" in t:
                print(f"| {r['config_name']} | | | | | | {t['runner']} | FAILED |")
                continue
            runner = "bitttt-run" if t["runner"].startswith("cli") else "python/ctypes"
            print(f"| {r['config_name']} | {r['ternary_weights'] / 1e9:.3f}e9 | "
                  f"{r['make_random_seconds']:.0f} | {r['compile_seconds']:.0f} | "
                  f"{r['bitt_bytes'] / 1e9:.2f} | {bpt} | {runner} | {t['target']} | {t['threads']} | "
                  f"{t['prefill_tokens_per_s_best']:.1f} | {t['decode_tokens_per_s_best']:.2f} | "
                  f"{t['decode_ms_per_token_best']:.1f} | {t['decode_implied_GBps_best']:.2f} | "
                  f"{t['ratio_decode_GBps_to_dram_1t']:.2f} |")


def main():
    for path in sys.argv[1:]:
        with open(path) as f:
            doc = json.load(f)
        m = doc["machine"]
        print(f"### {path}")
        print(f"{m['cpu_model']} (family/model {m['cpu_family_model']}), {m['cpus_usable']} CPUs, "
              f"L3 {m['l3_bytes'] >> 20} MiB; loadavg start {m['loadavg_at_start'].split()[0]}, "
              f"end {m['loadavg_at_end'].split()[0]}; git {doc['git_head'][:7]}")
        print()
        if doc["benchmark"] == "bitttt bench/run.py":
            for key, fn in (("kernels", kernels), ("e2e", e2e)):
                if doc.get(key):
                    fn(doc[key])
                    print()
            continue
        (kernels if "kernels" in doc["benchmark"] else e2e)(doc)
        print()


if __name__ == "__main__":
    main()
