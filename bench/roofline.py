#!/usr/bin/env python3
"""Roofline, summary table and the issue's "Done when" fractions from the
JSON of bench/run.py (its sub-documents come from peak.py, kernels.py and
e2e.py unchanged).

    python3 bench/roofline.py bench/results/DIR/bench.json [-o roofline.png]

Definitions (each ratio uses figures measured in the same run):
  * kernel point: x = arithmetic intensity = T·N·K MAC / bytes_per_call
    (packed weights + f32 activations in + f32 outputs), y = GMAC/s (best).
    Ceilings: read bandwidth × x (GB/s = 1e9 B/s, so GB/s × MAC/B =
    GMAC/s) and the measured int8 peak, both at the point's thread count.
    The bandwidth is the kernels document's own streaming-read figure.
  * weight fraction of bandwidth = weight GB/s / read GB/s at the same
    thread count (meaningful where the weights come from DRAM: cache
    "cold" or "dram").
  * fraction of the VNNI peak = GMAC/s / vpdpbusd zmm GMAC/s at the same
    thread count; "of the ISA peak" divides by the best dot loop the
    kernel's target can issue (x86-64-v4: vpdpbusd zmm, x86-64-v3: the
    AVX2 vpmaddubsw + vpmaddwd block).
  * decode roofline: tokens/s ceiling = read GB/s (e2e document, same
    thread count) / decode bytes per token (.bitt header, e2e.py); a
    fraction is measured decode tokens/s / that ceiling. Sibling byte
    counts (any `decode_bytes_per_token*` of a config, or one a timing
    carries itself) get their own ceiling; none is required.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

VNNI = "vpdpbusd_zmm"
ISA_PEAK = {"x86-64-v4": "vpdpbusd_zmm", "x86-64-v3": "avx2_block"}


# ---------------------------------------------------------------- lookups

def bw(dram, threads, which="best"):
    """Read GB/s of a dram_read document at `threads` (None if absent)."""
    if not dram:
        return None
    e = dram.get(f"threads_{threads}")
    return e and e.get(f"GBps_{which}")


def peak(peak_doc, kernel, threads):
    for k in (peak_doc or {}).get("kernels", []):
        if k["name"] == kernel and k.get("supported"):
            for r in k.get("runs", []):
                if r["threads"] == threads:
                    return r["GMACps"]
    return None


def _ratio(a, b):
    return a / b if a is not None and b else None


def _bytes_total(v):
    """A bytes-per-token figure: a number or a dict with "total"."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, dict) and isinstance(v.get("total"), (int, float)):
        return float(v["total"])
    return None


# ---------------------------------------------------------------- kernels

def kernel_points(bench):
    """One row per timed bitttt kernel (and OpenBLAS) entry."""
    kdoc = bench.get("kernels") or {}
    dram = kdoc.get("dram_read") or bench.get("dram_read")
    pk = bench.get("peak")
    rows = []
    for r in kdoc.get("results", []):
        if "error" in r or r.get("correct") is False or "ms_best" not in r:
            continue
        th = r["threads"]
        macs = r["T"] * r["N"] * r["K"]
        row = {"kind": r["kind"], "target": r.get("target", "f32"), "T": r["T"],
               "N": r["N"], "K": r["K"], "threads": th, "cache": r.get("cache"),
               "ms_best": r["ms_best"], "ms_median": r["ms_median"],
               "GMACps": r["GMACps_best"], "weight_GBps": r["weight_GBps_best"],
               "intensity_mac_per_byte": macs / r["bytes_per_call"],
               "read_GBps": bw(dram, th)}
        row["fraction_weight_GBps_of_read_bw"] = _ratio(row["weight_GBps"], row["read_GBps"])
        # int8 peaks apply to our int8 kernels, not to OpenBLAS's f32.
        ours = r["kind"] == "bitttt_bitlinear"
        row["fraction_of_vnni_peak"] = _ratio(row["GMACps"],
                                              ours and peak(pk, VNNI, th) or None)
        isa = ISA_PEAK.get(row["target"]) if ours else None
        row["fraction_of_isa_peak"] = _ratio(row["GMACps"], isa and peak(pk, isa, th))
        b = r.get("baseline")
        if isinstance(b, dict) and "ms_best" in b:
            row["baseline_ms_best"] = b["ms_best"]
            row["baseline_GMACps"] = b["GMACps_best"]
            row["speedup_over_baseline"] = b["ms_best"] / r["ms_best"]
        elif isinstance(b, dict):
            row["baseline_error"] = b.get("error") or "wrong result"
        rows.append(row)
    return rows


# ---------------------------------------------------------------- e2e

def e2e_rows(bench):
    """One row per e2e timing: tokens/s, the bytes-per-token ceiling, and
    the baseline when the timing has one."""
    edoc = bench.get("e2e") or {}
    dram = edoc.get("dram_read") or bench.get("dram_read")
    rows = []
    for res in edoc.get("results", []):
        if "error" in res:
            continue
        siblings = {k: _bytes_total(v) for k, v in res.items()
                    if k.startswith("decode_bytes_per_token")}
        for t in res.get("timings", []):
            if "error" in t or "decode_tokens_per_s_best" not in t:
                continue
            th = t["threads"]
            own = _bytes_total(t.get("decode_bytes_per_token"))
            bpt = own if own is not None else siblings.get("decode_bytes_per_token")
            read = bw(dram, th)
            row = {"config": res["config_name"], "target": t["target"],
                   "runner": "cli" if t["runner"].startswith("cli") else "python",
                   "threads": th,
                   "prefill_tokens_per_s": t["prefill_tokens_per_s_best"],
                   "prefill_tokens_per_s_median": t["prefill_tokens_per_s_median"],
                   "decode_tokens_per_s": t["decode_tokens_per_s_best"],
                   "decode_tokens_per_s_median": t["decode_tokens_per_s_median"],
                   "decode_bytes_per_token": bpt, "read_GBps": read,
                   "read_GBps_1t": bw(dram, 1)}
            for label in ("", "_1t"):
                r_bw = read if not label else row["read_GBps_1t"]
                ceil = r_bw * 1e9 / bpt if r_bw and bpt else None
                row[f"roofline_tokens_per_s{label}"] = ceil
                row[f"decode_fraction_of_roofline{label}"] = _ratio(
                    row["decode_tokens_per_s"], ceil)
            others = {}
            for k, v in siblings.items():
                if k == "decode_bytes_per_token" or not v:
                    continue
                ceil = read * 1e9 / v if read else None
                others[k] = {"bytes": v, "roofline_tokens_per_s": ceil,
                             "decode_fraction": _ratio(row["decode_tokens_per_s"], ceil)}
            if others:
                row["other_rooflines"] = others
            b = t.get("baseline")
            if isinstance(b, dict) and "decode_tokens_per_s_best" in b:
                row["baseline_prefill_tokens_per_s"] = b["prefill_tokens_per_s_best"]
                row["baseline_decode_tokens_per_s"] = b["decode_tokens_per_s_best"]
                row["prefill_ours_over_baseline"] = _ratio(
                    row["prefill_tokens_per_s"], b["prefill_tokens_per_s_best"])
                row["decode_ours_over_baseline"] = _ratio(
                    row["decode_tokens_per_s"], b["decode_tokens_per_s_best"])
            rows.append(row)
    return rows


# ---------------------------------------------------------------- fractions

def fractions(bench):
    """The figures issue 9's "Done when" asks for, from one run."""
    krows = kernel_points(bench)
    erows = e2e_rows(bench)
    out = {"decode_fraction_of_roofline_1t": [], "kernel_T64_fraction_of_vnni_peak": [],
           "prefill_all_threads_over_1t": [], "ours_over_baseline_1t": []}
    for r in erows:
        if r["threads"] == 1:
            e = {"config": r["config"], "target": r["target"], "runner": r["runner"],
                 "decode_tokens_per_s": r["decode_tokens_per_s"],
                 "roofline_tokens_per_s": r["roofline_tokens_per_s"],
                 "fraction": r["decode_fraction_of_roofline"]}
            for k, v in (r.get("other_rooflines") or {}).items():
                e[f"fraction_{k}"] = v["decode_fraction"]
            out["decode_fraction_of_roofline_1t"].append(e)
            if "prefill_ours_over_baseline" in r:
                out["ours_over_baseline_1t"].append(
                    {"config": r["config"], "target": r["target"],
                     "prefill": r["prefill_ours_over_baseline"],
                     "decode": r["decode_ours_over_baseline"]})
    one = {(r["config"], r["target"], r["runner"]): r for r in erows if r["threads"] == 1}
    for r in erows:
        k = (r["config"], r["target"], r["runner"])
        if r["threads"] > 1 and k in one:
            out["prefill_all_threads_over_1t"].append(
                {"config": r["config"], "target": r["target"], "runner": r["runner"],
                 "threads": r["threads"],
                 "ratio": _ratio(r["prefill_tokens_per_s"], one[k]["prefill_tokens_per_s"])})
    # T = 64 kernels: per (target, shape, threads) the weights-from-DRAM
    # entry when there is one ("cold"/"dram"), else the hot one.
    best = {}
    for r in krows:
        if r["kind"] != "bitttt_bitlinear" or r["T"] != 64:
            continue
        key = (r["target"], r["N"], r["K"], r["threads"])
        cold = r["cache"] in ("cold", "dram")
        if key not in best or (cold and best[key]["cache"] not in ("cold", "dram")):
            best[key] = r
    for (target, N, K, th), r in sorted(best.items()):
        out["kernel_T64_fraction_of_vnni_peak"].append(
            {"target": target, "shape": f"{N}x{K}", "threads": th, "cache": r["cache"],
             "GMACps": r["GMACps"], "fraction": r["fraction_of_vnni_peak"],
             "fraction_of_isa_peak": r["fraction_of_isa_peak"]})
    return out


# ---------------------------------------------------------------- table

def _f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


def table(bench):
    """A short human summary (text)."""
    lines = []
    m = bench.get("machine", {})
    lines.append(f"machine: {m.get('cpu_model', '?')} (family/model "
                 f"{m.get('cpu_family_model', '?')}), {m.get('cpus_usable', '?')} CPUs")
    for d, label in ((bench.get("dram_read"), "read bandwidth (run.py start)"),
                     ((bench.get("kernels") or {}).get("dram_read"), "read bandwidth (kernels.py)"),
                     ((bench.get("e2e") or {}).get("dram_read"), "read bandwidth (e2e.py)")):
        if d:
            ths = sorted(int(k.split("_")[1]) for k in d if k.startswith("threads_"))
            lines.append(f"{label}: " + ", ".join(
                f"{t} thr {bw(d, t):.1f} GB/s" for t in ths))
    pk = bench.get("peak")
    if pk:
        parts = []
        for k in pk.get("kernels", []):
            if k.get("supported"):
                parts.append(f"{k['name']} " + " / ".join(
                    f"{r['GMACps']:.0f}" for r in k["runs"]))
        ths = "/".join(str(r["threads"]) for r in pk["kernels"][0].get("runs", []))
        lines.append(f"int8 peak GMAC/s ({ths} thr): " + "; ".join(parts))
    krows = kernel_points(bench)
    if krows:
        lines.append("")
        lines.append("kernel                 T  NxK          thr cache  ms best  GMAC/s  "
                     "/VNNI  wGB/s  /read  vs baseline")
        for r in krows:
            name = (f"bitttt {r['target']}" if r["kind"] == "bitttt_bitlinear"
                    else r["kind"].replace("openblas_", "OpenBLAS "))
            sp = r.get("speedup_over_baseline")
            lines.append(
                f"{name:<22} {r['T']:<2} {r['N']}x{r['K']:<7} {r['threads']:>3} "
                f"{r['cache'] or '':<6} {r['ms_best']:>7.3f} {r['GMACps']:>7.1f} "
                f"{_f(r['fraction_of_vnni_peak']):>6} {r['weight_GBps']:>6.1f} "
                f"{_f(r['fraction_weight_GBps_of_read_bw']):>6}  "
                f"{'' if sp is None else f'{sp:.2f}x'}"
                f"{' FAILED' if r.get('baseline_error') else ''}")
    erows = e2e_rows(bench)
    if erows:
        lines.append("")
        lines.append("e2e     target     runner thr  prefill tok/s  decode tok/s  "
                     "roofline  /roof  bytes/tok MB  baseline prefill/decode")
        for r in erows:
            base = ""
            if "baseline_decode_tokens_per_s" in r:
                base = (f"{r['baseline_prefill_tokens_per_s']:.1f} / "
                        f"{r['baseline_decode_tokens_per_s']:.1f} "
                        f"(ours x{r['prefill_ours_over_baseline']:.2f} / "
                        f"x{r['decode_ours_over_baseline']:.2f})")
            mb = r["decode_bytes_per_token"] and r["decode_bytes_per_token"] / 1e6
            lines.append(
                f"{r['config']:<7} {r['target']:<10} {r['runner']:<6} {r['threads']:>3} "
                f"{r['prefill_tokens_per_s']:>13.1f} {r['decode_tokens_per_s']:>13.1f} "
                f"{_f(r['roofline_tokens_per_s'], '{:.1f}'):>9} "
                f"{_f(r['decode_fraction_of_roofline']):>6} "
                f"{_f(mb, '{:.1f}'):>13}  {base}")
    fr = fractions(bench)
    lines.append("")
    lines.append("Done-when fractions (same run):")
    for e in fr["decode_fraction_of_roofline_1t"]:
        extra = "".join(f", {k[len('fraction_'):]} {_f(v)}" for k, v in e.items()
                        if k.startswith("fraction_"))
        lines.append(f"  decode / bytes-per-token roofline, 1 thr: {e['config']} "
                     f"{e['target']} ({e['runner']}): {_f(e['fraction'])} "
                     f"({e['decode_tokens_per_s']:.1f} of "
                     f"{_f(e['roofline_tokens_per_s'], '{:.1f}')} tok/s){extra}")
    for e in fr["kernel_T64_fraction_of_vnni_peak"]:
        lines.append(f"  T=64 kernel / VNNI zmm peak: {e['target']} {e['shape']} "
                     f"{e['threads']} thr ({e['cache']}): {_f(e['fraction'])} "
                     f"({e['GMACps']:.0f} GMAC/s; of its ISA's peak "
                     f"{_f(e['fraction_of_isa_peak'])})")
    for e in fr["prefill_all_threads_over_1t"]:
        lines.append(f"  prefill {e['threads']} thr / 1 thr: {e['config']} {e['target']} "
                     f"({e['runner']}): {_f(e['ratio'])}")
    for e in fr["ours_over_baseline_1t"]:
        lines.append(f"  ours / baseline at 1 thr: {e['config']} {e['target']}: prefill "
                     f"{_f(e['prefill'])}, decode {_f(e['decode'])}")
    if not fr["ours_over_baseline_1t"]:
        lines.append("  ours / baseline: no baseline build in this run (--baseline-build)")
    return "\n".join(lines)


# ---------------------------------------------------------------- plot

def plot(bench, path):
    """The roofline PNG: (a) kernels on a classic roofline, (b) decode
    tokens/s against the bytes-per-token ceiling, (c) prefill tokens/s."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    krows = kernel_points(bench)
    erows = e2e_rows(bench)
    kdoc = bench.get("kernels") or {}
    dram = kdoc.get("dram_read") or bench.get("dram_read") or {}
    pk = bench.get("peak") or {}
    threads = sorted({int(k.split("_")[1]) for k in dram if k.startswith("threads_")}
                     | {r["threads"] for r in krows})
    colors = {t: c for t, c in zip(threads, ["tab:blue", "tab:orange", "tab:green",
                                              "tab:red", "tab:purple"])}
    fig, axes = plt.subplots(1, 3, figsize=(19, 6.2),
                             gridspec_kw={"width_ratios": [1.5, 1, 1]})
    m = bench.get("machine", {})
    fig.suptitle(f"bitttt bench/run.py — {m.get('cpu_model', '?')}, "
                 f"{m.get('cpus_usable', '?')} CPUs, git {str(bench.get('git_head', ''))[:7]}",
                 fontsize=11)

    # (a) kernel roofline
    ax = axes[0]
    xs = [r["intensity_mac_per_byte"] for r in krows] or [1, 300]
    lo, hi = min(xs + [1.0]) / 2, max(xs + [300.0]) * 2
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    styles = {"vpdpbusd_zmm": "-", "vpdpbusd_ymm": "--", "avx2_block": ":"}
    for th in threads:
        c = colors.get(th, "k")
        b = bw(dram, th)
        for name, ls in styles.items():
            p = peak(pk, name, th)
            if p:
                ax.plot(grid, [min(p, b * x) if b else p for x in grid], color=c, ls=ls,
                        lw=1.6 if ls == "-" else 1.1,
                        label=(f"{th} thr: read {b:.1f} GB/s × AI, " if b and ls == "-"
                               else f"{th} thr: ") + f"{name} peak {p:.0f} GMAC/s")
        if b and not peak(pk, VNNI, th):
            ax.plot(grid, [b * x for x in grid], color=c, lw=1,
                    label=f"{th} thr: read {b:.1f} GB/s × AI")
    marker = {"x86-64-v4": "s", "x86-64-v3": "o", "f32": "^"}
    for r in krows:
        c = colors.get(r["threads"], "k")
        filled = r["cache"] in ("cold", "dram")
        mk = marker.get(r["target"], "D")
        ax.scatter([r["intensity_mac_per_byte"]], [r["GMACps"]], marker=mk, s=46,
                   facecolors=c if filled else "none", edgecolors=c, zorder=3)
        if r.get("baseline_GMACps"):
            ax.scatter([r["intensity_mac_per_byte"]], [r["baseline_GMACps"]], marker="x",
                       s=40, color=c, zorder=3)
        if r["kind"] == "bitttt_bitlinear" and filled and r["threads"] == 1:
            ax.annotate(f"{r['target'][-2:]} T{r['T']} {r['N']}x{r['K']}",
                        (r["intensity_mac_per_byte"], r["GMACps"]), fontsize=6,
                        xytext=(4, -3), textcoords="offset points")
    for label, mk in (("x86-64-v4", "s"), ("x86-64-v3", "o"), ("OpenBLAS f32", "^")):
        ax.scatter([], [], marker=mk, facecolors="gray", edgecolors="gray", label=label)
    ax.scatter([], [], marker="o", facecolors="none", edgecolors="gray",
               label="hollow: weights in cache (hot)")
    if any(r.get("baseline_GMACps") for r in krows):
        ax.scatter([], [], marker="x", color="gray", label="baseline build")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (MAC / byte moved per call)")
    ax.set_ylabel("GMAC/s (1 MAC = u8×s8 or f32 product)")
    ax.set_title("(a) BitLinear kernels: roofline (read bandwidth, measured int8 peak)",
                 fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=6, loc="lower right")

    # (b) decode, (c) prefill
    def bars(ax, key, base_key, ceil_key, title, ylabel):
        if not erows:
            ax.text(0.5, 0.5, "no end-to-end run in this document", ha="center",
                    va="center", transform=ax.transAxes)
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            return
        labels = [f"{r['config']} {r['target'][-2:]}\n{r['runner']} {r['threads']}t"
                  for r in erows]
        xs = list(range(len(erows)))
        has_base = any(base_key in r for r in erows)
        w = 0.38 if has_base else 0.6
        ax.bar([x - (w / 2 if has_base else 0) for x in xs],
               [r[key] for r in erows], width=w, color="tab:blue", label="ours")
        if has_base:
            ax.bar([x + w / 2 for x in xs], [r.get(base_key) or 0 for r in erows],
                   width=w, color="tab:gray", label="baseline build")
        vals = [r[key] for r in erows] + [r.get(base_key) or r[key] for r in erows]
        if ceil_key:
            pts = [(x, r[ceil_key], r[key]) for x, r in zip(xs, erows) if r.get(ceil_key)]
            for i, (x, cval, val) in enumerate(pts):
                ax.hlines(cval, x - 0.45, x + 0.45, colors="tab:red", lw=2.5, zorder=3,
                          label="read GB/s ÷ bytes per token" if i == 0 else None)
                ax.annotate(f"{val / cval:.2f} of it", (x, cval), fontsize=7,
                            xytext=(0, 3), textcoords="offset points", ha="center")
                vals.append(cval)
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, fontsize=7)
        # Linear from 0 unless configs differ by > 20x (small vs large).
        if max(vals) > 20 * min(v for v in vals if v > 0):
            ax.set_yscale("log")
            ax.set_ylim(bottom=min(v for v in vals if v > 0) / 2)
        else:
            ax.set_ylim(0, max(vals) * 1.15)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        ax.grid(True, axis="y", which="both", alpha=0.25)
        ax.legend(fontsize=7, loc="lower right")

    bars(axes[1], "decode_tokens_per_s", "baseline_decode_tokens_per_s",
         "roofline_tokens_per_s",
         "(b) decode tokens/s vs read GB/s ÷ bytes per token (ours: fraction of it)",
         "decode tokens/s (best)")
    bars(axes[2], "prefill_tokens_per_s", "baseline_prefill_tokens_per_s", None,
         "(c) prefill tokens/s (64-token chunks)", "prefill tokens/s (best)")
    fig.tight_layout()
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", help="bench.json written by bench/run.py")
    ap.add_argument("-o", "--png", help="write the roofline PNG here")
    args = ap.parse_args()
    with open(args.json) as f:
        bench = json.load(f)
    print(table(bench))
    if args.png:
        plot(bench, args.png)
        print(f"wrote {args.png}", file=sys.stderr)


if __name__ == "__main__":
    main()
