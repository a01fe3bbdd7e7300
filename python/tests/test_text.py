"""Text in, text out, end to end: a random model compiled with a tokenizer
trained by the Hugging Face `tokenizers` package, driven through the
Python package (python/bitttt) and `bitttt-run`, against the PyTorch
reference and the `tokenizers` package: generation (greedy = the
reference's argmax, seeded sampling repeats, stop strings, streaming that
never splits a character), perplexity, data preparation, chat with state
files."""

import ctypes
import json
import os
import random
import subprocess

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

import bitttt
from bitttt import _lib
from bitttt_ref.config import Config
from bitttt_ref.model import BitTTTModel

import bitt_runner
import bitttt_rt

RUN = bitttt_rt.RUN
WORDS = ("the model reads text and learns while it reads ; fast weights change with "
         "every token . tokens , bytes and merges : 12 34 567 test-time training ! "
         "café naïve 東京 世界 🙂 def f(x): return x * 2").split()


def corpus(seed=0, lines=300):
    rng = random.Random(seed)
    return ["".join(rng.choice([" ", " ", " ", "  ", "\t"]) + w
                    for w in rng.choices(WORDS, k=rng.randint(3, 14))).strip()
            for _ in range(lines)]


def hf_tokenizer(lines, vocab_size=330):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(lines, trainer)
    return tok


def build(d, act_bits=0, seed=3, layers=2):
    lines = corpus()
    hf = hf_tokenizer(lines)
    cfg_dict = {"vocab_size": hf.get_vocab_size(), "hidden_dim": 32, "num_layers": layers,
                "act_bits": act_bits,
                "ttt": {"variant": "linear", "num_heads": 2, "mini_batch": 4}}
    ref = BitTTTModel(Config.from_dict(cfg_dict)).init_random(seed)
    model_dir = d / "model"
    ref.save_pretrained(str(model_dir))
    hf.save(str(model_dir / "tokenizer.json"))
    path = bitt_runner.compile_model(str(model_dir), str(d / "m.bitt"), "--prefill-chunk=8")
    return path, ref, hf, lines


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    bitttt_rt.require_built()
    return build(tmp_path_factory.mktemp("text"))


def reference_greedy(ref, ids, n):
    ids = list(ids)
    with torch.no_grad():
        for _ in range(n):
            ids.append(int(ref(torch.tensor(ids))[-1].argmax()))
    return ids


def run(*args, stdin=None):
    # A random model's text is any bytes: bitttt-run prints them as they are,
    # the Python package (like `tokenizers`' decode) replaces invalid ones.
    return subprocess.run([RUN, *map(str, args)], input=stdin, capture_output=True,
                          encoding="utf-8", errors="replace", timeout=300)


def test_the_bitt_carries_the_tokenizer(text_model):
    path, ref, hf, lines = text_model
    model = bitttt.Model(path)
    assert model.tokenizer is not None and len(model.tokenizer) == hf.get_vocab_size()
    for text in lines[:20] + ["", "  spaces  \n\ttabs", "東京 🙂 <|endoftext|> x"]:
        assert model.tokenizer.encode(text).tolist() == hf.encode(text).ids
    assert model.tokenizer.eos == hf.token_to_id("<|endoftext|>")
    out = run("inspect", path).stdout
    assert "tokenizer: BPE, " in out and "special: <|endoftext|>" in out


def test_greedy_generation_is_the_references_argmax(text_model):
    path, ref, hf, _ = text_model
    prompt = "the model reads"
    ids = hf.encode(prompt).ids
    want = reference_greedy(ref, ids, 12)[len(ids):]
    want_text = hf.decode(want, skip_special_tokens=False)
    model = bitttt.Model(path)
    got = "".join(model.generate(prompt, max_tokens=12, temperature=0, ignore_eos=True))
    assert got.encode() == bytes(hf.decode(want).encode()) or got == want_text
    r = run("generate", path, "-p", prompt, "--temp", "0", "-n", 12, "--ignore-eos")
    assert r.returncode == 0, r.stderr
    assert r.stdout == got + "\n"
    assert "prefill: " in r.stderr and "tokens/s" in r.stderr


def test_a_fixed_seed_gives_the_same_text_twice(text_model):
    path, *_ = text_model
    outs = [run("generate", path, "-p", "fast weights", "--temp", "1.0", "-n", 24,
                "--seed", 11, "--ignore-eos").stdout for _ in range(2)]
    assert outs[0] == outs[1] and len(outs[0]) > 1
    other = run("generate", path, "-p", "fast weights", "--temp", "1.0", "-n", 24,
                "--seed", 12, "--ignore-eos").stdout
    assert other != outs[0]
    model = bitttt.Model(path)
    a = "".join(model.generate("fast weights", max_tokens=24, temperature=1.0, seed=11,
                               ignore_eos=True))
    b = "".join(model.generate("fast weights", max_tokens=24, temperature=1.0, seed=11,
                               ignore_eos=True))
    assert a == b


def test_stop_strings_end_the_text_and_are_not_printed(text_model):
    path, *_ = text_model
    model = bitttt.Model(path)
    full = "".join(model.generate("the", max_tokens=40, temperature=0, ignore_eos=True))
    assert len(full) > 6
    # A stop string from the plain ASCII part of the text (a random model
    # also prints bytes that are not UTF-8, shown here as U+FFFD).
    starts = [i for i in range(1, len(full) - 2) if full[i:i + 3].isascii()]
    assert starts, full
    stop = full[starts[0]:starts[0] + 3]
    got = "".join(model.generate("the", max_tokens=40, temperature=0, ignore_eos=True,
                                 stop=[stop]))
    assert got == full[:full.index(stop)]
    r = run("generate", path, "-p", "the", "--temp", "0", "-n", 40, "--ignore-eos",
            "--stop", stop)
    assert r.stdout == got + "\n"


def test_the_text_stream_never_splits_a_character(text_model):
    path, ref, hf, _ = text_model
    model = bitttt.Model(path)
    text = "café 東京 世界 🙂 naïve"
    ids = model.tokenizer.encode(text)
    stream = ctypes.c_void_p()
    empty = (ctypes.c_char_p * 1)()
    assert _lib.lib.bitttt_text_stream_create(model.tokenizer._h, empty, 0,
                                              ctypes.byref(stream)) == 0
    out, pieces = b"", []
    p, n, hit = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_int()
    for i in ids:
        assert _lib.lib.bitttt_text_stream_push(stream, int(i), ctypes.byref(p),
                                                ctypes.byref(n), ctypes.byref(hit)) == 0
        piece = ctypes.string_at(p, n.value)
        piece.decode("utf-8")                     # every piece is whole characters
        pieces.append(piece)
        out += piece
    assert _lib.lib.bitttt_text_stream_flush(stream, ctypes.byref(p), ctypes.byref(n)) == 0
    out += ctypes.string_at(p, n.value)
    _lib.lib.bitttt_text_stream_free(stream)
    assert out.decode() == text
    # Some ids stand for part of a character: those bytes had to wait.
    def whole(b):
        try:
            b.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False
    assert any(not whole(model.tokenizer.decode_bytes([i])) for i in ids)


def reference_nll(ref, ids):
    with torch.no_grad():
        logits = ref(torch.tensor(ids)).double()
    logp = torch.log_softmax(logits, -1)
    nll = -logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
    return float(nll.sum()), len(ids) - 1


def test_eval_perplexity_equals_the_reference(text_model, tmp_path):
    path, ref, hf, lines = text_model
    text = "\n".join(lines[:30])
    f = tmp_path / "eval.txt"
    f.write_text(text)
    r = run("eval", path, f, "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    ids = hf.encode(text).ids
    total, count = reference_nll(ref, ids)
    assert got["scored"] == count
    assert abs(got["perplexity"] - np.exp(total / count)) <= 1e-4 * np.exp(total / count)
    # The Python API, fed in pieces, sums to the same.
    s = bitttt.Model(path).session()
    parts = [s.nll(ids[a:a + 37]) for a in range(0, len(ids), 37)]
    assert sum(c for _, c in parts) == count
    assert abs(sum(t for t, _ in parts) - total) <= 1e-4 * total


def test_data_prepare_round_trips_and_eval_reads_token_files(text_model, tmp_path):
    path, ref, hf, lines = text_model
    tok_json = tmp_path / "tokenizer.json"
    hf.save(str(tok_json))
    a, b = tmp_path / "a.txt", tmp_path / "b.jsonl"
    a.write_text("\n".join(lines[:40]) + "\n")
    records = [{"text": l, "id": i} for i, l in enumerate(lines[40:60])]
    b.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    out = tmp_path / "data"
    r = run("data", "prepare", "--tokenizer", tok_json, "--val-fraction", 0.2, a, b, "-o", out)
    assert r.returncode == 0, r.stderr
    train = np.fromfile(out / "train.bin", dtype="<u2")
    val = np.fromfile(out / "val.bin", dtype="<u2")
    assert len(train) and len(val)
    docs = [a.read_text()] + [rec["text"] for rec in records]
    eos = "<|endoftext|>"
    assert hf.decode(np.concatenate([train, val]).tolist(), skip_special_tokens=False) == \
        "".join(d + eos for d in docs)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["dtype"] == "u16" and meta["train_tokens"] == len(train)
    # A single document is cut at a line.
    r = run("data", "prepare", "--tokenizer", tok_json, a, "-o", tmp_path / "one")
    t1 = np.fromfile(tmp_path / "one" / "train.bin", dtype="<u2").tolist()
    v1 = np.fromfile(tmp_path / "one" / "val.bin", dtype="<u2").tolist()
    assert hf.decode(t1) + hf.decode(v1, skip_special_tokens=False) == a.read_text() + eos
    # eval takes the token file.
    r = run("eval", path, out / "val.bin", "--json")
    assert r.returncode == 0, r.stderr
    total, count = reference_nll(ref, val.tolist())
    assert abs(json.loads(r.stdout)["perplexity"] - np.exp(total / count)) <= \
        1e-4 * np.exp(total / count)


def test_data_and_eval_bad_input_is_named(text_model, tmp_path):
    path, ref, hf, _ = text_model
    tok_json = tmp_path / "tokenizer.json"
    hf.save(str(tok_json))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": 3}\nnot json\n')
    r = run("data", "prepare", "--tokenizer", tok_json, bad, "-o", tmp_path / "o")
    assert r.returncode == 1 and f"{bad}:2: field 'text' is number" in r.stderr
    ids = tmp_path / "big.bin"
    np.array([1, 2, 60000], dtype="<u2").tofile(ids)
    r = run("eval", path, ids)
    assert r.returncode == 1
    assert f"{ids}: token 60000 at position 2 is outside the vocabulary" in r.stderr
    odd = tmp_path / "odd.bin"
    odd.write_bytes(b"\x01\x00\x02")
    r = run("eval", path, odd)
    assert r.returncode == 1 and "is not a whole number of u16 tokens" in r.stderr
    r = run("generate", path, "-p", "")
    assert r.returncode == 1 and "the prompt (-p) is empty" in r.stderr
    r = run("generate", path, "-f", tok_json.parent / "absent.txt")
    assert r.returncode == 1 and "absent.txt" in r.stderr
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"caf\xe9 au lait")
    r = run("generate", path, "-f", latin1)
    assert r.returncode == 1
    assert f"{latin1}: the prompt is not UTF-8 text: byte 0xE9 at offset 3" in r.stderr
    assert not (tmp_path / "o" / "train.bin").exists()


def test_chat_state_files_and_reset(text_model, tmp_path):
    path, *_ = text_model
    state = tmp_path / "s.state"
    script = (f"the model\n/save {state}\n/logits 6\nreads text\nmore words here\n"
              f"/load {state}\n/logits 6\n/reset\n/logits 6\ntokens\n/quit\n")
    r = run("chat", path, "--temp", "0", "-n", 6, "--ignore-eos", stdin=script)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    logit_lines = [l for l in out if l and l[0].isdigit() and ":" in l.split()[0]]
    assert len(logit_lines) == 2
    assert logit_lines[0] == logit_lines[1]          # /load: as at /save
    # /reset empties the state: nothing has been fed, so no logits yet.
    assert "no token has been fed yet" in r.stderr
    # After /reset the reply equals a fresh chat's first reply.
    after_reset = out[-1]
    fresh = run("chat", path, "--temp", "0", "-n", 6, "--ignore-eos", stdin="tokens\n")
    assert fresh.stdout.splitlines()[-1] == after_reset
    # Commands report problems and the chat goes on.
    r = run("chat", path, stdin=f"/load {tmp_path / 'absent'}\n/temp x\n/nope\n/help\n")
    assert r.returncode == 0
    assert "cannot open" in r.stderr and "/temp needs a number" in r.stderr
    assert "unknown command /nope" in r.stderr and "/save FILE" in r.stdout


def test_session_files_refuse_other_models_and_damage(text_model, tmp_path):
    path, ref, hf, _ = text_model
    model = bitttt.Model(path)
    s = model.session()
    s.prefill(hf.encode("the model reads text").ids)
    at_save = s.logits()
    names = [f"layers.1.ttt.{n}" for n in ("w", "c", "keys", "eta_grads", "pos")]
    state_at_save = {n: s.state(n) for n in names}
    assert 0 < int(state_at_save["layers.1.ttt.pos"]) < 4, "save mid-mini-batch"
    f = tmp_path / "a.state"
    s.save(str(f))
    s.decode(5)
    s.decode(7)
    after = s.logits()
    s.load(str(f))
    np.testing.assert_array_equal(s.logits(), at_save)
    for n in names:
        np.testing.assert_array_equal(s.state(n), state_at_save[n], err_msg=n)
    assert s.n_past == len(hf.encode("the model reads text").ids)
    # The buffered rows of the mini-batch came back too: decoding on from
    # the load (across the commit) equals decoding on from the save.
    s.decode(5)
    s.decode(7)
    np.testing.assert_array_equal(s.logits(), after)
    s.load(str(f))

    # Another model (other weights): refused, session unchanged.
    other_path, *_ = build(tmp_path / "other", seed=9)
    other = bitttt.Model(other_path)
    o = other.session()
    o.prefill([1, 2, 3])
    before = o.logits()
    with pytest.raises(bitttt.Error, match="saved from another model"):
        o.load(str(f))
    np.testing.assert_array_equal(o.logits(), before)

    data = f.read_bytes()
    cut = tmp_path / "cut.state"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(bitttt.Error, match="cut.state"):
        s.load(str(cut))
    flipped = bytearray(data)
    flipped[-5] ^= 0x40
    bad = tmp_path / "flip.state"
    bad.write_bytes(bytes(flipped))
    s.decode(3)
    keep = s.logits()
    with pytest.raises(bitttt.Error, match="checksum mismatch"):
        s.load(str(bad))
    np.testing.assert_array_equal(s.logits(), keep)
    with pytest.raises(bitttt.Error, match="not a session file"):
        s.load(path)
    assert model.identity != other.identity and len(model.identity) == 32


def test_python_session_matches_the_reference(text_model):
    path, ref, hf, _ = text_model
    model = bitttt.Model(path, n_threads=2)
    assert model.n_threads == 2 and model.vocab_size == hf.get_vocab_size()
    assert model.state_range("layers.0.ttt.pos") == (0, 4)
    ids = hf.encode("fast weights change with every token").ids
    with torch.no_grad():
        want = ref(torch.tensor(ids)).numpy()
    s = model.session()
    got = [s.prefill(ids[:9])]
    for t in ids[9:]:
        got.append(s.decode(t))
    got = np.stack(got)
    scale = np.abs(want).max()
    assert np.abs(got - want[8:]).max() <= 1e-4 * scale
    view = s.logits_view()
    assert not view.flags.writeable
    np.testing.assert_array_equal(view, got[-1])
    s.reset()
    assert s.n_past == 0
    with pytest.raises(bitttt.Error, match="outside its valid range"):
        s.set_state("layers.0.ttt.pos", 4)


def test_compile_accepts_a_bitt_v1_and_v2(text_model, tmp_path):
    """bitttt-compile takes a .bitt as input: the original engine's v1
    (config + tokenizer in the header, latent weights) and our v2 (its
    packed weights reused); both give the same model."""
    path, ref, hf, _ = text_model
    from bitttt_ref import bitt
    from safetensors.numpy import load_file
    model_dir = os.path.join(os.path.dirname(path), "model")
    tensors = load_file(os.path.join(model_dir, "model.safetensors"))
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    tok = json.load(open(os.path.join(model_dir, "tokenizer.json")))
    v1 = tmp_path / "old.bitt"
    bitt.write_v1(str(v1), {"config": cfg, "tokenizer": tok}, tensors)
    out1 = tmp_path / "from-v1.bitt"
    out2 = tmp_path / "from-v2.bitt"
    for src, dst in ((v1, out1), (path, out2)):
        r = subprocess.run([bitt_runner.COMPILE, str(src), "-o", str(dst), "--prefill-chunk=8"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    ids = hf.encode("the model reads").ids
    logits = []
    for p in (path, out1, out2):
        m = bitttt.Model(str(p))
        assert m.tokenizer.encode("the model reads").tolist() == ids
        logits.append(m.session().prefill(ids))
        assert m.identity == bitttt.Model(path).identity
    np.testing.assert_array_equal(logits[0], logits[1])
    np.testing.assert_array_equal(logits[0], logits[2])


def test_tokenizer_command_trains_encodes_and_decodes(tmp_path):
    """`bitttt-run tokenizer train` writes a tokenizer.json the `tokenizers`
    package loads and encodes identically; `encode`/`decode` agree with it."""
    bitttt_rt.require_built()
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(corpus(seed=5, lines=400)) + "\n")
    out = tmp_path / "tok.json"
    r = run("tokenizer", "train", "--vocab-size", 300, "--special", "<|endoftext|>",
            "-o", out, text)
    assert r.returncode == 0, r.stderr
    assert "trained a 300-token byte-level BPE" in r.stderr
    hf = Tokenizer.from_file(str(out))
    assert hf.get_vocab_size() == 300 and hf.token_to_id("<|endoftext|>") == 0
    sample = "the model reads 東京 🙂 <|endoftext|>  def f(x):\n\treturn"
    r = run("tokenizer", "encode", out, sample)
    assert r.returncode == 0, r.stderr
    ids = [int(v) for v in r.stdout.split()]
    assert ids == hf.encode(sample).ids
    r = run("tokenizer", "decode", out, ",".join(map(str, ids)))
    assert r.returncode == 0 and r.stdout == sample + "\n"
    # Bad input: named, and no output file.
    bad = tmp_path / "bad.json"
    r = run("tokenizer", "train", "--vocab-size", 100, "-o", bad, text)
    assert r.returncode == 1 and "--vocab-size" in r.stderr and not bad.exists()
    r = run("tokenizer", "train", "-o", bad, tmp_path / "absent.txt")
    assert r.returncode == 1 and "absent.txt" in r.stderr and not bad.exists()
    r = run("tokenizer", "decode", out, "1,300")
    assert r.returncode == 1 and "id 300" in r.stderr


def test_compile_refuses_a_broken_tokenizer(text_model, tmp_path):
    import shutil
    path, *_ = text_model
    model_dir = tmp_path / "model"
    shutil.copytree(os.path.join(os.path.dirname(path), "model"), model_dir)
    doc = json.loads((model_dir / "tokenizer.json").read_text())
    doc["model"]["merges"][0] = ["nosuch", doc["model"]["merges"][0][1]]
    (model_dir / "tokenizer.json").write_text(json.dumps(doc))
    out = tmp_path / "m.bitt"
    r = subprocess.run([bitt_runner.COMPILE, str(model_dir), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{model_dir / 'tokenizer.json'}: model.merges[0]: 'nosuch' is not in model.vocab" \
        in r.stderr, r.stderr
    assert not out.exists()
    doc["model"]["type"] = "WordPiece"
    (model_dir / "tokenizer.json").write_text(json.dumps(doc))
    r = subprocess.run([bitt_runner.COMPILE, str(model_dir), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "model.type" in r.stderr and "WordPiece" in r.stderr
    assert not out.exists()


def test_pip_install_gives_an_importable_package(text_model, tmp_path):
    """`pip install ./python` into a fresh venv: bitttt imports from any
    directory (the runtime library travels inside the package) and runs."""
    import shutil
    import sys
    path, ref, hf, _ = text_model
    src = tmp_path / "src"
    shutil.copytree(os.path.join(bitt_runner.REPO, "python"), src,
                    ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    env = dict(os.environ, BITTTT_BUILD=bitt_runner.BUILD)
    env.pop("PYTHONPATH", None)
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
                        "--no-index", str(src)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    env.pop("BITTTT_BUILD")
    code = ("import bitttt, sys; m = bitttt.Model(sys.argv[1]); "
            "print(bitttt.__file__); print(m.tokenizer.encode('the model reads').tolist())")
    r = subprocess.run([py, "-c", code, path], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    where, ids = r.stdout.splitlines()
    assert where.startswith(str(venv)), where
    assert json.loads(ids) == hf.encode("the model reads").ids
