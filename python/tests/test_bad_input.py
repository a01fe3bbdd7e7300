"""The bad-input matrix (issue: reliability): each case feeds a tool an input
it must refuse and checks the promise of docs/runtime.md — a non-zero exit
that is not a signal, a message naming the file (and what is wrong in it),
no output file changed or created, and no hang (every case runs under a
timeout far above the tools' normal time).

Cases are grouped by mechanism, one regression test per crash cause of
../shared/reviews/2026-12-01-bad-input-matrix.md fixed at the mechanism:
K1/K2 (JSON nesting: every JSON text is scanned against
bitttt/Format/JsonDepth.h before a parser sees it), K8/K10 (inputs that are
not regular files: refused by type without blocking, reads bounded)."""

import hashlib
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from bitttt_ref.config import Config
from bitttt_ref.model import BitTTTModel

import bitt_runner
import bitttt_rt

COMPILE = bitt_runner.COMPILE
RUN = bitttt_rt.RUN
CONFIG = {"vocab_size": 300, "hidden_dim": 32, "num_layers": 1, "intermediate_dim": 64,
          "act_bits": 8, "ttt": {"variant": "linear", "num_heads": 2, "mini_batch": 4}}
DEEP = 50_000          # the review's crashing depth for llvm::json (K1)
DEEPER = 200_000       # and for nlohmann's recursive copies (K2)


def deep_array(n):
    return "[" * n + "]" * n


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A model directory with a tokenizer.json (trained by bitttt-run), and
    its compiled .bitt."""
    bitttt_rt.require_built()
    root = tmp_path_factory.mktemp("bad")
    model = root / "model"
    BitTTTModel(Config.from_dict(CONFIG)).init_random(3).save_pretrained(str(model))
    corpus = root / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog\n" * 50)
    subprocess.run([RUN, "tokenizer", "train", str(corpus), "--vocab-size", "300",
                    "-o", str(model / "tokenizer.json")], check=True, capture_output=True)
    bitt = root / "m.bitt"
    bitt_runner.compile_model(str(model), str(bitt), "--target=x86-64-v3")
    return root, model, bitt


def snapshot(*dirs):
    """Every file under `dirs`: its kind and, for regular files, a hash."""
    seen = {}
    for d in dirs:
        for base, subdirs, files in os.walk(d):
            for name in files + subdirs:
                p = os.path.join(base, name)
                if os.path.islink(p):
                    seen[p] = ("link", os.readlink(p))
                elif os.path.isfile(p):
                    with open(p, "rb") as f:
                        seen[p] = ("file", hashlib.sha1(f.read()).hexdigest())
                else:
                    seen[p] = ("other", os.stat(p).st_mode)
    return seen


def refused(cmd, watch, *expect, timeout=60, stdin=subprocess.DEVNULL):
    """Runs `cmd`; asserts a clean refusal whose stderr holds every string of
    `expect`, and that nothing under the `watch` directories changed."""
    before = snapshot(*watch)
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, stdin=stdin)
    assert proc.returncode > 0, (proc.returncode, proc.stderr[-2000:])
    for e in ("Stack dump", "LLVM ERROR", "PLEASE submit", "terminate called"):
        assert e not in proc.stderr, proc.stderr[-2000:]
    for e in expect:
        assert str(e) in proc.stderr, (e, proc.stderr[-2000:])
    assert snapshot(*watch) == before
    return proc.stderr


def not_regular(p, kind):
    """Makes `p` a FIFO ("fifo"), a directory ("dir") or a symbolic link to
    a device ("/dev/zero"); returns the readers' message for it."""
    if kind == "fifo":
        os.mkfifo(p)
        return "not a regular file (a FIFO)"
    if kind == "dir":
        p.mkdir()
        return "not a regular file (a directory)"
    os.symlink(kind, p)
    return "not a regular file (a character device)"


def model_copy(work, tmp_path):
    _, model, _ = work
    d = tmp_path / "model"
    shutil.copytree(model, d)
    return d


def splice_bitt_header(src, dst, extra):
    """A copy of the .bitt `src` whose BITT header JSON gets `, "x": extra`
    before its closing brace (raw text: Python's json cannot write deep
    values); the safetensors part is kept byte for byte."""
    data = open(src, "rb").read()
    (h,) = struct.unpack_from("<Q", data, 4)
    text = data[12:12 + h].decode().rstrip()
    assert text.endswith("}")
    hb = (text[:-1] + ', "x": ' + extra + "}").encode()
    hb += b" " * (-(12 + len(hb)) % 64)
    with open(dst, "wb") as f:
        f.write(b"BITT" + struct.pack("<Q", len(hb)) + hb + data[12 + h:])


# --- K1/K2: JSON nesting --------------------------------------------------

@pytest.mark.parametrize("case", ["config_deep", "config_deep_field", "tokenizer_deep",
                                  "safetensors_deep"])
def test_compile_refuses_deep_json(work, tmp_path, case):
    d = model_copy(work, tmp_path)
    out = tmp_path / "out.bitt"
    if case == "config_deep":
        (d / "config.json").write_text(deep_array(DEEP))
        name = "config.json"
    elif case == "config_deep_field":
        text = (d / "config.json").read_text().rstrip()
        (d / "config.json").write_text(text[:-1] + ', "notes": ' + deep_array(60_000) + "}")
        name = "config.json"
    elif case == "tokenizer_deep":
        (d / "tokenizer.json").write_text('{"model": ' + deep_array(DEEP) + "}")
        name = "tokenizer.json"
    else:
        st = d / "model.safetensors"
        data = st.read_bytes()
        (n,) = struct.unpack_from("<Q", data, 0)
        text = data[8:8 + n].decode().rstrip()
        hb = (text[:-1] + ', "x": ' + deep_array(DEEP) + "}").encode()
        st.write_bytes(struct.pack("<Q", len(hb)) + hb + data[8 + n:])
        name = "model.safetensors"
    refused([COMPILE, d, "-o", out], [tmp_path], str(d / name), "deeper than 128 levels")


@pytest.mark.parametrize("command", ["generate", "inspect"])
def test_run_refuses_deep_bitt_header(work, tmp_path, command):
    _, _, bitt = work
    bad = tmp_path / "deep.bitt"
    splice_bitt_header(bitt, bad, deep_array(DEEPER))
    cmd = [RUN, command, bad] + (["--ids", "1,2", "-n", "2"] if command == "generate" else [])
    refused(cmd, [tmp_path], str(bad), "deeper than 128 levels")


def test_recompile_refuses_deep_bitt_header(work, tmp_path):
    _, _, bitt = work
    bad = tmp_path / "deep.bitt"
    splice_bitt_header(bitt, bad, deep_array(DEEP))
    refused([COMPILE, bad, "-o", tmp_path / "out.bitt"], [tmp_path], str(bad),
            "deeper than 128 levels")


def test_tokenizer_load_refuses_deep_json(work, tmp_path):
    tok = tmp_path / "tokenizer.json"
    tok.write_text('{"model": ' + deep_array(DEEPER) + "}")
    refused([RUN, "tokenizer", "encode", tok, "hello"], [tmp_path], str(tok),
            "deeper than 128 levels")


def test_data_prepare_refuses_a_deep_jsonl_record(work, tmp_path):
    _, model, _ = work
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "fine"}\n{"text": ' + deep_array(DEEPER) + "}\n")
    refused([RUN, "data", "prepare", data, "--tokenizer", model / "tokenizer.json",
             "-o", tmp_path / "out"], [tmp_path], f"{data}:2", "deeper than 128 levels")


def test_legitimate_nesting_is_within_the_limit(work, tmp_path):
    """The limit is far above real files: a tokenizer.json with a 100-deep
    extra field compiles into a .bitt that bitttt-run inspects and runs."""
    d = model_copy(work, tmp_path)
    text = (d / "tokenizer.json").read_text().rstrip()
    (d / "tokenizer.json").write_text(text[:-1] + ', "notes": ' + deep_array(100) + "}")
    out = tmp_path / "ok.bitt"
    for cmd in ([COMPILE, d, "-o", out, "--target=x86-64-v3"], [RUN, "inspect", out],
                [RUN, "generate", out, "-p", "the quick", "-n", "2"]):
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")


# --- K8/K10: inputs that are not regular files ------------------------------

@pytest.mark.parametrize("name,kind", [("config.json", "fifo"), ("model.safetensors", "fifo"),
                                       ("tokenizer.json", "fifo"),
                                       ("config.json", "/dev/zero"),
                                       ("model.safetensors", "/dev/zero"),
                                       ("tokenizer.json", "dir")])
def test_compile_refuses_files_that_are_not_regular(work, tmp_path, name, kind):
    d = model_copy(work, tmp_path)
    p = d / name
    p.unlink()
    want = not_regular(p, kind)
    refused([COMPILE, d, "-o", tmp_path / "out.bitt"], [tmp_path], str(p), want, timeout=30)


@pytest.mark.parametrize("command", ["generate", "inspect", "eval"])
def test_run_refuses_a_fifo_as_the_model(work, tmp_path, command):
    fifo = tmp_path / "m.bitt"
    want = not_regular(fifo, "fifo")
    extra = {"generate": ["--ids", "1", "-n", "1"], "inspect": [],
             "eval": [str(tmp_path / "fifo-text")]}[command]
    if command == "eval":
        (tmp_path / "fifo-text").write_text("hello there")
    refused([RUN, command, fifo, *extra], [tmp_path], str(fifo), want, timeout=30)


def test_tokenizer_load_refuses_a_fifo(work, tmp_path):
    fifo = tmp_path / "tokenizer.json"
    want = not_regular(fifo, "fifo")
    refused([RUN, "tokenizer", "encode", fifo, "hello"], [tmp_path], str(fifo), want,
            timeout=30)


def test_an_endless_prompt_file_is_refused_not_read_until_memory_runs_out(work, tmp_path):
    """A prompt may come from a pipe (streams are allowed there), but reads
    stop at 1 GiB with a named error."""
    _, _, bitt = work
    refused([RUN, "generate", bitt, "-f", "/dev/zero", "-n", "1"], [tmp_path], "/dev/zero",
            "more than 1024 MiB", timeout=60)


# --- K3/K6: artifact integrity ----------------------------------------------

def test_artifact_checksums_are_xxh3_of_the_bytes(work):
    """The header's xxh3_64 of every artifact (model and training) equals
    PyPI xxhash's XXH3-64 of the tensor's bytes: the compiler (LLVM's
    xxh3_64bits) and the loader (libxxhash) agree with an independent
    implementation."""
    import xxhash
    from bitttt_ref import bitt
    _, _, path = work
    _, header, tensors, _ = bitt.read(str(path))
    entries = header["bitttt"]["artifacts"]
    assert entries
    for target, entry in entries.items():
        raw = tensors[entry["tensor"]].numpy().tobytes()
        assert entry["xxh3_64"] == xxhash.xxh3_64_hexdigest(raw), target


def test_random_byte_flips_never_crash_the_runtime(work, tmp_path):
    """600 single-byte flips at random offsets of a compiled .bitt, each
    loaded by `bitttt-run generate`: every run exits 0 (the flip landed in
    weights, padding or a value the header may hold) or 1 with an error
    naming the file; never a signal, never a hang. Flips inside an artifact
    are caught by its checksum before the code is mapped."""
    import random
    from concurrent.futures import ThreadPoolExecutor
    _, _, path = work
    data = path.read_bytes()
    rng = random.Random(20261203)
    flips = [(rng.randrange(len(data)), rng.randrange(1, 256)) for _ in range(600)]

    def one(i):
        off, x = flips[i]
        p = tmp_path / f"flip{i}.bitt"
        b = bytearray(data)
        b[off] ^= x
        p.write_bytes(b)
        proc = subprocess.run([RUN, "generate", str(p), "--ids", "1,2,3", "-n", "2"],
                              capture_output=True, text=True, errors="replace", timeout=60)
        p.unlink()
        return off, proc.returncode, proc.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, range(len(flips))))
    ran = errors = checksum = 0
    for off, rc, err in results:
        assert rc in (0, 1), (off, rc, err[-1500:])
        if rc == 0:
            ran += 1
        else:
            assert "flip" in err and ".bitt" in err, (off, err[-1500:])
            errors += 1
            checksum += "checksum mismatch" in err
    print(f"\n{len(results)} flips: {ran} ran, {errors} named errors "
          f"({checksum} of them artifact checksum mismatches)")
    assert ran + errors == len(flips) and checksum > 0


# --- K9 and O09–O16: outputs ------------------------------------------------

@pytest.mark.parametrize("emit", ["mlir", "bitt"])
def test_compile_output_is_never_renamed_over_a_non_file(work, tmp_path, emit):
    """OUT that is a directory is refused (nothing changes); /dev/null is
    written in place and stays a device (as root a rename would replace it);
    a full device (/dev/full: every write fails with ENOSPC) is a named
    error, not an `LLVM ERROR` abort."""
    _, model, _ = work
    d = tmp_path / "out.d"
    d.mkdir()
    (d / "keep").write_text("x")
    refused([COMPILE, model, f"--emit={emit}", "-o", d, "--target=x86-64-v3"], [tmp_path],
            str(d), "exists and is a directory")
    ok = subprocess.run([COMPILE, model, f"--emit={emit}", "-o", "/dev/null",
                         "--target=x86-64-v3"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    refused([COMPILE, model, f"--emit={emit}", "-o", "/dev/full", "--target=x86-64-v3"],
            [tmp_path], "/dev/full", "No space left on device", timeout=120)


def test_compile_output_follows_a_symlink_and_writes_a_fifo_in_place(work, tmp_path):
    import threading
    _, model, _ = work
    target = tmp_path / "real.mlir"
    target.write_text("old")
    link = tmp_path / "link.mlir"
    os.symlink(target.name, link)
    proc = subprocess.run([COMPILE, model, "-o", link], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert os.path.islink(link) and os.readlink(link) == target.name
    assert target.read_text().startswith("module")

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
    reader.start()
    proc = subprocess.run([COMPILE, model, "--emit=mlir", "-o", fifo], capture_output=True,
                          text=True, timeout=120)
    reader.join(60)
    assert proc.returncode == 0, proc.stderr
    assert os.path.exists(fifo) and not os.path.isfile(fifo)       # still a FIFO
    assert got and got[0] == target.read_text()


# --- Values ------------------------------------------------------------------

@pytest.mark.parametrize("tensor,index,value,lm_head", [
    ("layers.0.ttt.q_proj.weight", (3, 5), np.nan, "f32"),   # packed BitLinear
    ("layers.0.mlp.gate_proj.weight", (0, 0), np.inf, "f32"),
    ("embed.weight", (7, 1), -np.inf, "f32"),
    ("layers.0.norm1.weight", (4,), np.nan, "f32"),
    ("lm_head.weight", (299, 31), np.inf, "int8"),            # quantized head
])
def test_compile_refuses_non_finite_weights(work, tmp_path, tensor, index, value, lm_head):
    """A NaN or ±Inf weight is a compile error naming the checkpoint, the
    tensor and the index (before: the compile succeeded and generate said
    `every logit is NaN`); no output file."""
    from safetensors.numpy import load_file, save_file
    d = model_copy(work, tmp_path)
    st = d / "model.safetensors"
    tensors = load_file(str(st))
    tensors[tensor][index] = value
    save_file(tensors, str(st))
    name = {np.inf: "inf", -np.inf: "-inf"}.get(value, "nan")
    refused([COMPILE, d, "-o", tmp_path / "out.bitt", "--target=x86-64-v3",
             f"--lm-head={lm_head}"], [tmp_path], str(st), f"tensor '{tensor}'",
            f"non-finite value ({name}) at [{', '.join(map(str, index))}]", timeout=120)


def test_compile_refuses_a_prefill_chunk_the_runtime_would_refuse(work, tmp_path):
    _, model, _ = work
    refused([COMPILE, model, "-o", tmp_path / "out.bitt", f"--prefill-chunk={2**25}"],
            [tmp_path], f"--prefill-chunk={2**25} is more than the runtime takes in one "
            "call (2^24 = 16777216 tokens)")


def test_packed_type_dimensions_are_bounded(tmp_path):
    """`!bitttt.packed_ternary` dimensions whose packed size would overflow
    int64 are a verifier error (before: lowered to a negative dimension, exit
    0)."""
    src = tmp_path / "big.mlir"
    src.write_text("func.func @f(%p: !bitttt.packed_ternary<4x9223372036854775807>) {\n"
                   "  return\n}\n")
    refused([bitt_runner.BUILD + "/bin/bitttt-opt", src, "--bitttt-lower-packed-bitlinear"],
            [tmp_path], f"{src}:1:", "packed_ternary dimensions must be at most 2^40")


# --- The Python package and the C API (in a child process: a crash must show
# as a signal, not take the test run down) -----------------------------------

PY_CASE = """
import sys, bitttt
try:
    {call}
except bitttt.Error as e:
    sys.stderr.write(str(e)); sys.exit(1)
sys.exit(0)
"""


def py_refused(call, watch, *expect):
    env = dict(os.environ, PYTHONPATH=os.path.join(bitt_runner.REPO, "python"))
    before = snapshot(*watch)
    proc = subprocess.run([sys.executable, "-c", PY_CASE.format(call=call)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    for e in expect:
        assert str(e) in proc.stderr, (e, proc.stderr[-2000:])
    assert snapshot(*watch) == before


@pytest.mark.parametrize("case", ["fifo", "dir", "deep_header", "flipped_code", "missing",
                                  "truncated"])
def test_python_model_refuses_bad_files(work, tmp_path, case):
    _, _, bitt = work
    p = tmp_path / "m.bitt"
    if case in ("fifo", "dir"):
        want = not_regular(p, case)
    elif case == "deep_header":
        splice_bitt_header(bitt, p, deep_array(DEEPER))
        want = "deeper than 128 levels"
    elif case == "flipped_code":
        from bitttt_ref import bitt as bitt_ref
        data = bytearray(bitt.read_bytes())
        _, header, tensors, _ = bitt_ref.read(str(bitt))
        art = tensors[header["bitttt"]["artifacts"]["x86-64-v3"]["tensor"]]
        raw = art.numpy().tobytes()
        at = data.find(raw[:4096]) + len(raw) // 2       # the middle of the code
        data[at] ^= 0x5a
        p.write_bytes(data)
        want = "checksum mismatch"
    elif case == "missing":
        want = "cannot open: No such file or directory"
    else:
        p.write_bytes(bitt.read_bytes()[:5000])
        want = "truncated"
    py_refused(f"bitttt.Model({str(p)!r})", [tmp_path], str(p), want)


@pytest.mark.parametrize("case", ["deep", "fifo", "not_json", "number_overflow"])
def test_python_tokenizer_refuses_bad_files(work, tmp_path, case):
    p = tmp_path / "tokenizer.json"
    if case == "deep":
        p.write_text('{"model": ' + deep_array(DEEPER) + "}")
        want = "deeper than 128 levels"
    elif case == "fifo":
        want = not_regular(p, "fifo")
    elif case == "number_overflow":
        # nlohmann's out_of_range.406, not a parse_error (found by fuzz_tokenizer)
        p.write_text('{"version": "1.0", "model": 44e444}')
        want = "malformed JSON: [json.exception.out_of_range.406] number overflow"
    else:
        p.write_text('{"model": [1, 2')
        want = "malformed JSON"
    py_refused(f"bitttt.Tokenizer.from_file({str(p)!r})", [tmp_path], str(p), want)


def test_python_tokenizer_from_json_refuses_deep_text(tmp_path):
    py_refused(f"bitttt.Tokenizer.from_json('{{\"m\": ' + '[' * {DEEPER} + ']' * {DEEPER} + '}}', "
               "'given.json')", [tmp_path], "given.json", "deeper than 128 levels")


C_CASE = r"""
import ctypes, sys
lib = ctypes.CDLL({lib!r})
lib.bitttt_last_error.restype = ctypes.c_char_p
out = ctypes.c_void_p()
{call}
sys.stderr.write(lib.bitttt_last_error().decode()); sys.exit(0 if status == 0 else 1)
"""


@pytest.mark.parametrize("case", ["model_fifo", "file_fifo", "file_deep", "tokenizer_deep"])
def test_c_api_returns_named_errors(work, tmp_path, case):
    _, _, bitt = work
    p = tmp_path / "x"
    if case in ("model_fifo", "file_fifo"):
        want = not_regular(p, "fifo")
    elif case == "file_deep":
        splice_bitt_header(bitt, p, deep_array(DEEPER))
        want = "deeper than 128 levels"
    else:
        p.write_text("[" * DEEPER)
        want = "deeper than 128 levels"
    fn = {"model_fifo": "bitttt_model_load(path, None, ctypes.byref(out))",
          "file_fifo": "bitttt_file_open(path, ctypes.byref(out))",
          "file_deep": "bitttt_file_open(path, ctypes.byref(out))",
          "tokenizer_deep": "bitttt_tokenizer_load(path, ctypes.byref(out))"}[case]
    call = f"path = {str(p).encode()!r}\nstatus = lib.{fn}"
    before = snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-c",
                           C_CASE.format(lib=bitttt_rt.LIB, call=call)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert str(p) in proc.stderr and want in proc.stderr, proc.stderr[-2000:]
    assert snapshot(tmp_path) == before


# --- bitttt-run arguments and token files -------------------------------------

def test_run_refuses_bad_arguments_and_token_files(work, tmp_path):
    """Each a named error with exit 1, nothing written: an id outside the
    vocabulary, a non-number id, a target that is not one, a token file of
    odd length or with an id outside the vocabulary, a tokenizer.json that
    is not an object, an output directory that is a file."""
    _, model, bitt = work
    odd = tmp_path / "odd.bin"
    odd.write_bytes(b"abc")
    oov = tmp_path / "oov.bin"
    oov.write_bytes(struct.pack("<3H", 1, 2, 5000))
    arr = tmp_path / "arr.json"
    arr.write_text("[1, 2]")
    text = tmp_path / "doc.txt"
    text.write_text("hello there")
    cases = [
        ([RUN, "generate", bitt, "--ids", "1,99999", "-n", "1"],
         ["token id 99999 at position 1 is outside the vocabulary [0, 300)"]),
        ([RUN, "generate", bitt, "--ids", "1,x", "-n", "1"], ["--ids: 'x' is not a token id"]),
        ([RUN, "generate", bitt, "--ids", "1", "-n", "1", "--target", "x86-64-v9"],
         ["'x86-64-v9' is not a CPU target (known: x86-64-v4, x86-64-v3)"]),
        ([RUN, "eval", bitt, odd], [str(odd), "3 bytes is not a whole number of u16 tokens"]),
        ([RUN, "eval", bitt, oov], [str(oov), "token 5000 at position 2 is outside the "
                                    "vocabulary [0, 300)"]),
        ([RUN, "tokenizer", "encode", arr, "hi"], [str(arr), "not a JSON object"]),
        ([RUN, "data", "prepare", text, "--tokenizer", model / "tokenizer.json", "-o", text],
         [f"{text}/train.bin", "Not a directory"]),
    ]
    for cmd, expect in cases:
        refused(cmd, [tmp_path], *expect)


# --- bitttt-opt --------------------------------------------------------------

@pytest.mark.parametrize("source,expect", [
    ("func.func @f(%p: !bitttt.packed_ternary<0x4>) {\n  return\n}\n",
     ":1:40: error: packed_ternary dimensions must be positive, got 0x4"),
    ("func.func @f(%p: !bitttt.packed_ternary<4x4, bogus>) {\n  return\n}\n",
     ":1:46: error: unknown packed_ternary layout 'bogus'; expected i2_b128|t5_b160"),
    ("func.func @f(%p: !bitttt.packed_ternary<4x>) {\n  return\n}\n",
     ":1:43: error: invalid dimension"),
    ('func.func @f() {\n  "bitttt.nope"() : () -> ()\n  return\n}\n',
     ":2:3: error: unregistered operation 'bitttt.nope'"),
    ("func.func @f( {\n", ":1:14: error: expected non-function type"),
    ("func.func @f(%p: !bitttt.packed_ternary<2199023255553x4>) {\n  return\n}\n",
     ":1:40: error: packed_ternary dimensions must be at most 2^40"),
    # 20,000 '(' overflowed the stack inside MLIR's parser (fuzz_mlir)
    ("// deep\nfunc.func @f" + "(" * 20000 + "\n",
     ": nests brackets deeper than 256 levels (line 2, column 269)"),
    ("func.func @f() -> tensor<" + "!x.t<" * 300 + "\n",
     ": nests brackets deeper than 256 levels (line 1, column 1305)"),
])
def test_opt_refuses_malformed_ir_at_its_location(tmp_path, source, expect):
    """A located diagnostic (file:line:col), exit 1, and no -o file."""
    src = tmp_path / "in.mlir"
    src.write_text(source)
    refused([bitt_runner.BUILD + "/bin/bitttt-opt", src, "-o", tmp_path / "out.mlir"],
            [tmp_path], f"{src}{expect}")
