"""A compiled .bitt checked from outside: its packed weights against the
reference quantizer and packing (exact), and edited headers against the
runtime's load-time checks (each edit a named error, never a crash).

The edits run through `bitttt-run generate` in a subprocess, so a crash
shows as a signal instead of taking the test process down. With
BITTTT_KEEP_EDITS=DIR the edited files stay in DIR (to rerun the loads under
valgrind: see docs/runtime.md)."""

import json
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from bitttt_ref import bitt, ops, packing
from bitttt_ref.config import Config
from bitttt_ref.model import BitTTTModel

import bitt_runner
import bitttt_rt

CONFIG = {"vocab_size": 40, "hidden_dim": 48, "num_layers": 2, "intermediate_dim": 200,
          "act_bits": 8, "ttt": {"variant": "linear", "num_heads": 2, "mini_batch": 4}}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    bitttt_rt.require_built()
    d = tmp_path_factory.mktemp("bitt")
    ref = BitTTTModel(Config.from_dict(CONFIG)).init_random(5)
    ref.save_pretrained(str(d / "model"))
    path = bitt_runner.compile_model(str(d / "model"), str(d / "m.bitt"),
                                     "--prefill-chunk=8")
    return d, path


@pytest.mark.parametrize("layout", packing.LAYOUTS)
def test_packed_weights_are_the_reference_quantizer_and_packing(compiled, layout,
                                                                tmp_path):
    """Every .codes/.scale pair the compiler wrote (--weight-format) equals
    the reference's weight_quant + pack in that layout of the checkpoint
    weight, bit for bit."""
    d, path = compiled
    if layout != "i2_b128":
        path = bitt_runner.compile_model(str(d / "model"), str(tmp_path / "m.bitt"),
                                         "--prefill-chunk=8", f"--weight-format={layout}")
    checkpoint = load_file(str(d / "model" / "model.safetensors"))   # safetensors package
    _, header, tensors, _ = bitt.read(path)
    index = header["bitttt"]["packed"]
    assert len(index) == CONFIG["num_layers"] * 7          # q k v o gate up down
    for latent, entry in index.items():
        w = torch.from_numpy(checkpoint[latent])
        wq, gamma = ops.weight_quant(w)
        assert [entry["rows"], entry["cols"]] == list(w.shape)
        assert entry["layout"] == layout
        want_codes = packing.pack(wq.numpy().astype(np.int8), layout)
        codes = tensors[entry["codes"]].numpy()
        np.testing.assert_array_equal(codes, want_codes, err_msg=latent)
        scale = tensors[entry["scale"]].numpy()
        assert scale.dtype == np.float32 and scale.shape == ()
        assert scale.tobytes() == np.float32(gamma.item()).tobytes(), latent
        assert latent not in tensors                          # the latent is not stored


def test_artifacts_export_only_the_entry_points(compiled, tmp_path):
    """Each target's shared object exports the entry point of every function
    the header lists and the ABI description, nothing else: the model and
    per-layer functions are internal (llvm-nm of the extracted object)."""
    d, path = compiled
    _, header, tensors, _ = bitt.read(path)
    meta = header["bitttt"]
    want = {"bitttt_abi"} | {f["symbol"] for f in meta["functions"].values()}
    assert len(want) == 1 + len(meta["functions"]) >= 3
    for target, artifact in meta["artifacts"].items():
        so = tmp_path / f"{target}.so"
        so.write_bytes(tensors[artifact["tensor"]].numpy().tobytes())
        out = subprocess.run(["/usr/lib/llvm-22/bin/llvm-nm", "-D", "--defined-only",
                              "--format=just-symbols", str(so)],
                             capture_output=True, text=True, check=True).stdout
        assert set(out.split()) == want, target


def rewrite(src, dst, edit_header=None, edit_st=None):
    """Copies a v2 .bitt with its BITT header and/or safetensors header
    edited; both are re-padded, the data section is kept byte for byte."""
    data = open(src, "rb").read()
    (h,) = struct.unpack_from("<Q", data, 4)
    header = json.loads(data[12:12 + h])
    st = 12 + h
    (s,) = struct.unpack_from("<Q", data, st)
    st_header = json.loads(data[st + 8:st + 8 + s])
    body = data[st + 8 + s:]
    if edit_header:
        edit_header(header)
    if edit_st:
        edit_st(st_header)
    hb = json.dumps(header).encode()
    hb += b" " * (-(12 + len(hb)) % 64)
    sb = json.dumps(st_header).encode()
    sb += b" " * (-(12 + len(hb) + 8 + len(sb)) % 64)
    with open(dst, "wb") as f:
        f.write(b"BITT" + struct.pack("<Q", len(hb)) + hb + struct.pack("<Q", len(sb)) + sb + body)


def fn(h, name="decode"):
    return h["bitttt"]["functions"][name]


def buffer(h, name, fname="decode", outputs=False):
    lst = fn(h, fname)["outputs" if outputs else "inputs"]
    return next(b for b in lst if b["name"] == name)


def every(h, name):
    """The buffer `name` in every function and direction."""
    return [b for f in h["bitttt"]["functions"].values()
            for b in f["inputs"] + f["outputs"] if b["name"] == name]


def set_all(h, name, key, value):
    for b in every(h, name):
        b[key] = value


def drop_last_state(h):
    # The state is updated in place: an input only (docs/abi.md).
    fn(h)["inputs"].pop()


def swap_inputs(h):
    f = fn(h)
    f["inputs"][2], f["inputs"][3] = f["inputs"][3], f["inputs"][2]


def prefill_tokens(h):
    f = fn(h, "prefill")
    f["tokens"] = 16
    f["inputs"][0]["shape"] = [16]
    f["outputs"][0]["shape"] = [16, CONFIG["vocab_size"]]


def unpacked(h):
    for b in every(h, "layers.0.ttt.q_proj.weight.codes"):
        b.pop("packed")


def artifacts(st):
    return [k for k in st if k.startswith("__artifact__.")]


def truncate_artifacts(st):
    for name in artifacts(st):
        e = st[name]
        e["shape"] = [e["shape"][0] // 2]
        e["data_offsets"][1] = e["data_offsets"][0] + e["shape"][0]


def shift_offsets(st):
    e = st["embed.weight"]
    e["data_offsets"] = [e["data_offsets"][0] + 64, e["data_offsets"][1] + 64]


# (id, edit of the BITT header, edit of the safetensors header, message parts)
EDITS = [
    ("state-shape", lambda h: set_all(h, "layers.0.ttt.keys", "shape", [2, 4, 12]), None,
     ["function 'decode': input", "'layers.0.ttt.keys': the header says F32 [2, 4, 12], "
      "the artifact was compiled for F32 [2, 4, 24]"]),
    ("state-dtype", lambda h: set_all(h, "layers.1.ttt.pos", "dtype", "I32"), None,
     ["'layers.1.ttt.pos': the header says I32 [], the artifact was compiled for I64 []"]),
    ("buffer-count", drop_last_state, None,
     ["function 'decode': the header lists", "inputs, the artifact was compiled for"]),
    ("buffer-order", swap_inputs, None,
     ["function 'decode': input 2", "the header says name"]),
    ("state-range", lambda h: h["bitttt"]["state"]["layers.0.ttt.pos"].update(range=[0, 32]),
     None, ["state 'layers.0.ttt.pos': the header's range [0, 32) is not the "
            "artifact's [0, 4)"]),
    ("buffer-range", lambda h: set_all(h, "layers.0.ttt.pos", "range", [0, 8]), None,
     ["'layers.0.ttt.pos': the header says range [0, 8), the artifact was compiled "
      "for [0, 4)"]),
    ("packing", unpacked, None,
     ["'layers.0.ttt.q_proj.weight.codes': the header says packing unpacked, the "
      "artifact was compiled for part codes of 'layers.0.ttt.q_proj.weight'"]),
    ("symbol", lambda h: fn(h).update(symbol="abort"), None,
     ["function 'decode': the header calls symbol 'abort', the artifact's entry "
      "point is \"bitttt_entry_decode\""]),
    ("prefill-tokens", prefill_tokens, None,
     ["function 'prefill': input 0 'ids': the header says I32 [16], the artifact "
      "was compiled for I32 [8]"]),
    ("tensor-shape", lambda h: buffer(h, "embed.weight").update(shape=[40, 24]), None,
     ["tensor 'embed.weight'", "is F32 [40, 48] in the file, expected F32 [40, 24]"]),
    ("format-version", lambda h: h["bitttt"].update(format_version=3), None,
     ["format_version"]),
    ("artifact-size", None, truncate_artifacts,
     # the header's xxh3_64 of the artifact catches it before the ELF check
     # (which test/unit/runtime ModelLoad.IncompleteElfIsRefusedBeforeDlopen
     # still reaches, with a matching checksum)
     ["checksum mismatch: the header says", "(the file is corrupted)"]),
    ("tensor-offsets", None, shift_offsets,
     ["tensors 'embed.weight'", "overlap (data_offsets)"]),
    ("missing-function", lambda h: h["bitttt"]["functions"].pop("decode"), None,
     ["'bitttt.functions.decode' is missing"]),
]


@pytest.mark.parametrize("case", EDITS, ids=[e[0] for e in EDITS])
def test_edited_header_is_refused_with_a_named_error(compiled, case, tmp_path):
    name, edit_header, edit_st, parts = case
    d, path = compiled
    edited = tmp_path / f"{name}.bitt"
    rewrite(path, edited, edit_header, edit_st)
    keep = os.environ.get("BITTTT_KEEP_EDITS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(edited, os.path.join(keep, f"{name}.bitt"))
    proc = subprocess.run([bitttt_rt.RUN, "generate", str(edited), "--ids", "1,2", "-n", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)   # not a signal
    assert proc.stderr.startswith("bitttt-run: error: ")
    assert str(edited) in proc.stderr, proc.stderr
    for part in parts:
        assert part in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_unedited_rewrite_still_loads(compiled, tmp_path):
    """The edit helper itself keeps a file valid: the same rewrite without an
    edit generates."""
    d, path = compiled
    same = tmp_path / "same.bitt"
    rewrite(path, same)
    proc = subprocess.run([bitttt_rt.RUN, "generate", str(same), "--ids", "1,2", "-n", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_jobs_give_the_same_file_and_timing_reports_the_phases(tmp_path):
    """--jobs=1 (targets one after the other, weights packed inline) and
    --jobs=3 (targets side by side in their own MLIR contexts, weights packed
    on threads while the file is written) give the same bytes, and these
    pack ties exactly: a weight whose entries are ±0.5γ, ±1.5γ, ... packs as
    the reference's round-half-to-even quantizer does. --timing names the
    phases on stderr and does not change the output."""
    bitttt_rt.require_built()
    from safetensors.numpy import save_file
    ref = BitTTTModel(Config.from_dict(CONFIG)).init_random(9)
    ref.save_pretrained(str(tmp_path / "model"))
    st = str(tmp_path / "model" / "model.safetensors")
    weights = load_file(st)
    name = "layers.1.mlp.down_proj.weight"
    # mean |pattern| = 1, so γ = 2^-3 exactly and W/γ hits the ties.
    pattern = np.array([0.5, -0.5, 1.5, -1.5, 1.0, -1.0, 0.0, 2.0], np.float32)
    w = weights[name]
    assert w.size % pattern.size == 0
    weights[name] = (np.resize(pattern, w.shape) / 8).astype(np.float32)
    save_file(weights, st)

    one = bitt_runner.compile_model(str(tmp_path / "model"), str(tmp_path / "1.bitt"),
                                    "--prefill-chunk=8", "--jobs=1")
    proc = subprocess.run([bitt_runner.COMPILE, str(tmp_path / "model"), "-o",
                           str(tmp_path / "3.bitt"), "--prefill-chunk=8", "--jobs=3",
                           "--timing"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for phase in ("build the module", "MLIR target-independent pipeline",
                  "x86-64-v3", "x86-64-v4", "LLVM -O3", "LLVM codegen (object)",
                  "link (ld.lld)", "pack the weights and write the .bitt"):
        assert phase in proc.stderr, phase
    with open(one, "rb") as a, open(tmp_path / "3.bitt", "rb") as b:
        assert a.read() == b.read()

    _, header, tensors, _ = bitt.read(one)
    entry = header["bitttt"]["packed"][name]
    wq, gamma = ops.weight_quant(torch.from_numpy(weights[name]))
    assert gamma.item() == 0.125
    assert set(np.unique(wq.numpy())) == {-1.0, 0.0, 1.0}
    want = packing.pack_i2_b128(wq.numpy().astype(np.int8))
    np.testing.assert_array_equal(tensors[entry["codes"]].numpy(), want)
    assert tensors[entry["scale"]].numpy().tobytes() == np.float32(0.125).tobytes()


def test_weight_format_errors(compiled, tmp_path):
    """An unknown --weight-format, and recompiling a .bitt packed in one
    layout for another, fail with a message naming both and write nothing."""
    d, path = compiled
    out = tmp_path / "x.bitt"
    proc = subprocess.run([bitt_runner.COMPILE, str(d / "model"), "-o", str(out),
                           "--weight-format=i3_b99"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "--weight-format=i3_b99 is not a known packed layout (i2_b128|t5_b160)" \
        in proc.stderr
    proc = subprocess.run([bitt_runner.COMPILE, path, "-o", str(out), "--prefill-chunk=8",
                           "--weight-format=t5_b160"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "packed in layout i2_b128" in proc.stderr, proc.stderr
    assert "--weight-format=t5_b160" in proc.stderr
    assert not out.exists()
