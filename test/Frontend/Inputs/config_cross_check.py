"""Cross-check bitttt-compile's config.json reader against the reference.

For every case, writes CASE_DIR/config.json (no checkpoint), runs
`bitttt-compile CASE_DIR -o OUT`, and compares with
bitttt_ref.config.Config.from_dict:
- Python raises ConfigError(field): bitttt-compile must fail naming that field
  with the same message (`<file>: field '<field>': <message>` for Python's
  `<field>: <message>`);
- Python accepts: bitttt-compile must get past the config and fail on the
  missing model.safetensors instead.
Known, deliberate differences are not cases here: `NaN`/`Infinity` literals
(config.py's json module reads them; they are not JSON, bitttt-compile
rejects the file) and integers beyond 64 bits (config.py accepts them).
Prints one line per case and `N cases, M mismatches`; exits 1 on a mismatch.

  config_cross_check.py BITTTT_COMPILE WORK_DIR
"""

import json
import os
import re
import subprocess
import sys

from bitttt_ref.config import Config, ConfigError

BASE = {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
        "ttt": {"variant": "linear", "num_heads": 2, "mini_batch": 4, "base_lr": 1.0}}
FLAT = {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "inner_lr": 0.1}


def with_(path, value, base=BASE):
    d = json.loads(json.dumps(base))
    if path.startswith("ttt."):
        d["ttt"][path[4:]] = value
    else:
        d[path] = value
    return d


# Each case is JSON text, so key order, duplicates and int-vs-float literals
# are exactly what both readers see.
CASES = [json.dumps(d) for d in [
    BASE, FLAT,
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "ttt": {}},
    {"arch": "bitttt", "vocab_size": 10, "hidden_dim": 8, "num_layers": 1},
    {"arch": "bitttt", "vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
     "act_bits": 0, "ttt": {"variant": "seed"}},
    with_("bogus", 1), with_("ttt.bogus", 1), with_("hidden_size", 8),
    with_("arch", "llama"), with_("arch", 1), with_("ttt.variant", "mamba"),
    with_("ttt.variant", None), with_("ttt.inner_lr", 0.1),
    with_("ttt.num_heads", 3), with_("ttt.num_heads", 0), with_("ttt.num_heads", None),
    with_("ttt.mini_batch", 0), with_("ttt.mini_batch", 2.0), with_("ttt.mini_batch", True),
    with_("ttt.base_lr", -1.0), with_("ttt.base_lr", "1"), with_("ttt.base_lr", 0),
    with_("ttt.base_lr", 2), with_("vocab_size", 0), with_("vocab_size", None),
    with_("hidden_dim", -8), with_("hidden_dim", 8.0), with_("num_layers", True),
    with_("intermediate_dim", 0), with_("intermediate_dim", None),
    with_("intermediate_dim", 12), with_("act_bits", 4), with_("act_bits", 16),
    with_("act_bits", 8.0), with_("act_bits", 0.0), with_("act_bits", False),
    with_("act_bits", None), with_("rms_eps", 0.0), with_("rms_eps", 1),
    with_("rms_eps", None), with_("rms_eps", "1e-5"),
    with_("ttt", [1]), with_("ttt", None), with_("ttt", "linear"),
    {"hidden_dim": 8, "num_layers": 1, "ttt": {}},
    {"vocab_size": 10, "num_layers": 1, "ttt": {}},
    {"vocab_size": 10, "hidden_dim": 6, "num_layers": 1, "ttt": {"variant": "seed"}},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
     "ttt": {"variant": "seed", "num_heads": 2}},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
     "ttt": {"variant": "seed", "base_lr": 2}},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
     "ttt": {"variant": "seed", "mini_batch": 0, "inner_lr": -1}},
    # several problems at once: the first one config.py meets is named
    {"zeta": 1, "vocab_size": 0, "alpha": 2, "ttt": {}},
    {"vocab_size": 0, "hidden_dim": 0, "num_layers": 1, "ttt": {"num_heads": 0}},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1,
     "ttt": {"mini_batch": 0, "num_heads": 0, "zz": 1, "aa": 2}},
    # flat form
    {"vocab_size": 100, "hidden_size": 64, "num_hidden_layers": 2, "inner_lr": 0.1},
    {"vocab_size": 100, "hidden_dim": 64, "n_layers": 2, "inner_lr": 0.1},
    {"vocab_size": 100, "hidden_dim": 64, "hidden_size": 64, "num_layers": 2,
     "n_layers": 2, "inner_lr": 0.1, "intermediate_size": 256},
    {"arch": "ttt", "vocab_size": 100, "hidden_dim": 64, "num_layers": 2, "n_heads": 1,
     "n_kv_heads": 1, "intermediate_dim": None, "inner_lr": 0.1, "n_gpu_layers": None,
     "rope_theta": 10000.0, "max_position_embeddings": 2048, "lm_head_cpu": False,
     "rms_norm_eps": 1e-5, "activation": "SiLU", "quantization": None},
    {"vocab_size": 10, "hidden_dim": 8, "hidden_size": 16, "num_layers": 1,
     "inner_lr": 0.1},
    {"vocab_size": 10, "hidden_dim": 8, "hidden_size": 8.0, "num_layers": 1,
     "inner_lr": 0.1},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "n_layers": 2, "inner_lr": 0.1},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "inner_lr": 0.1,
     "rms_norm_eps": 1e-5, "rms_eps": 1e-6},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "inner_lr": 0.1,
     "rms_norm_eps": None, "intermediate_size": None},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "inner_lr": 0.1, "foo": 1},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "inner_lr": -0.1},
    {"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "inner_lr": None},
    {"vocab_size": 10, "hidden_dim": 10, "num_layers": 1, "inner_lr": 0.1},
    {"vocab_size": 10, "num_layers": 1, "inner_lr": 0.1},
    {"hidden_dim": 8, "num_layers": 1, "inner_lr": 0.1},
    {"vocab_size": None, "hidden_dim": 8, "num_layers": 1, "inner_lr": 0.1},
    {"vocab_size": 10, "hidden_size": 8, "num_layers": 1, "inner_lr": 0.1, "arch": "llama"},
    {"vocab_size": 10, "hidden_size": 8, "num_layers": 1, "inner_lr": 0.1,
     "activation": "GELU"},
    {"vocab_size": 10, "hidden_size": 8, "num_layers": 1, "inner_lr": 0.1,
     "quantization": "q4"},
    {"vocab_size": 10, "hidden_size": 8, "num_layers": 1, "inner_lr": 0.1,
     "intermediate_size": 0},
    {"zeta": 1, "vocab_size": 10, "alpha": 2},
]] + [
    # literal JSON text: duplicates (Python keeps the last value), order
    '{"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "ttt": {},'
    ' "vocab_size": 0}',
    '{"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "ttt": {"num_heads": 3,'
    ' "num_heads": 2}}',
    '{"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "ttt": {"num_heads": 2,'
    ' "num_heads": 0}}',
    # 1e400 reads as inf in both (json.dumps would write Infinity, which is
    # not JSON: config.py reads it, bitttt-compile rejects the file)
    '{"vocab_size": 1e400, "hidden_dim": 8, "num_layers": 1, "ttt": {}}',
    '{"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "ttt": {},'
    ' "rms_eps": 1e400}',
    '{"vocab_size": 1e1, "hidden_dim": 8, "num_layers": 1, "ttt": {}}',
    '{"vocab_size": 10, "hidden_dim": 8, "num_layers": 1, "ttt": {"base_lr": 1E0}}',
    '{"vocab_size": -0, "hidden_dim": 8, "num_layers": 1, "ttt": {}}',
    '{"vocab_size": 10, "hidden_dim": 8, "num_layers": 1,'
    ' "ttt": {"variant": "se\\u0065d"}}',
    '{"vocab_size": 10, "hid\\u0064en_dim": 8, "num_layers": 1, "ttt": {"x\\"y": 1}}',
    '[1, 2]', '"config"', '3', 'null',
    '{"vocab_size": 10,',
]


def python_error(text):
    """(field, message) of config.py's ConfigError, or None when accepted."""
    try:
        d = json.loads(text)
    except ValueError:
        return ("<root>", None)
    try:
        Config.from_dict(d)
    except ConfigError as e:
        return (e.field, str(e)[len(e.field) + 2:] if e.field != "<root>" else None)
    return None


def compiled_error(tool, case_dir):
    out = os.path.join(case_dir, "out.mlir")
    r = subprocess.run([tool, case_dir, "-o", out], capture_output=True, text=True)
    assert r.returncode == 1 and not os.path.exists(out), (r.returncode, r.stderr)
    if "model.safetensors: cannot open" in r.stderr:
        return None, r.stderr
    m = re.search(r"field '([^']*)': (.*)", r.stderr)
    return ((m.group(1), m.group(2)) if m else ("<root>", None)), r.stderr


def main(tool, work):
    mismatches = 0
    for i, text in enumerate(CASES):
        case_dir = os.path.join(work, f"case{i}")
        os.makedirs(case_dir, exist_ok=True)
        with open(os.path.join(case_dir, "config.json"), "w") as fh:
            fh.write(text)
        want = python_error(text)
        got, stderr = compiled_error(tool, case_dir)
        ok = want == got
        mismatches += not ok
        print(f"{'ok' if ok else 'MISMATCH'} case{i}: python={want} "
              f"bitttt-compile={got}: {text}")
        if not ok:
            print("  " + stderr.strip())
    print(f"{len(CASES)} cases, {mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
