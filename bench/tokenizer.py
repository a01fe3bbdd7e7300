"""Tokenizer encode throughput: the runtime's tokenizer (libbitttt.so through
ctypes) against the Hugging Face `tokenizers` package, on the same text and
tokenizer.json, in the same run. JSON on stdout, progress on stderr.

Without --tokenizer, two tokenizers are trained by the package on the text
(a GPT-2-style ByteLevel BPE and a Llama-3-style Split + ByteLevel one,
32000 ids). Both libraries must give the same ids (checked first); then

  one call   the whole text in one encode call on one thread
             (ours: bitttt_tokenizer_encode; package: Tokenizer.encode)
  batch      the text as documents of ~64 KiB on all cores
             (ours: a thread per core calling encode; package: encode_batch)

are timed --reps times each, alternating ours and the package's. Our first
one-call run starts with an empty piece cache and is reported apart.

With --train-mb N it times training instead: the text's lines repeated to N
MB (with --respell, words re-spelt at random so that the corpus has millions
of distinct words) in a temporary file, trained once by us
(bitttt_tokenizer_train) and once by the package's BpeTrainer (same
setup: ByteLevel without prefix space, --vocab ids, min_frequency 2, one
special token); both vocabularies and merge lists are compared.

  PYTHONPATH=python .venv/bin/python bench/tokenizer.py [TEXT_FILE] > out.json
  PYTHONPATH=python .venv/bin/python bench/tokenizer.py TEXT_FILE --train-mb 100
"""

from __future__ import annotations

import argparse
import json
import concurrent.futures
import ctypes
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "python", "tests"))

import common  # noqa: E402
import tokenizer_rt as rt  # noqa: E402
from tokenizers import (Regex, Tokenizer, decoders, models,  # noqa: E402
                        pre_tokenizers, trainers)

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"
                  r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def generated_text(nbytes, seed=0):
    """English-like prose with code, numbers, whitespace runs, CJK and emoji."""
    rng = random.Random(seed)
    words = ("the of and to in a is that for it as was with be by on not he this "
             "are or his from at which but have an they you were her she there "
             "model token stream weight layer ternary compiler runtime merge").split()
    words += [w + s for w in words[:30] for s in ("s", "ed", "ing", "ly")]
    intl = ["café", "naïve", "日本語", "東京", "中文", "한국어", "привет", "😀", "🎉",
            "Straße", "e\u0301"]
    code = ["def f(x):", "    return x ** 2", "for (int i = 0; i < n; ++i) {",
            "\tsum += a[i];", "}", "import numpy as np", "x = {'a': 1, 'b': [2, 3]}"]
    out, size = [], 0
    while size < nbytes:
        r = rng.random()
        if r < 0.75:
            n = rng.randint(4, 20)
            line = " ".join(rng.choice(intl) if rng.random() < 0.03 else
                            rng.choice(words) for _ in range(n))
            line = line[0].upper() + line[1:] + rng.choice([".", ".", ",", "?", "!"])
        elif r < 0.9:
            line = rng.choice(code)
        elif r < 0.95:
            line = " ".join(str(rng.randint(0, 10 ** 6)) for _ in range(rng.randint(1, 6)))
        else:
            line = ""
        out.append(line)
        size += len(line.encode()) + 1
    return "\n".join(out) + "\n"


def train(text, kind, vocab, workdir):
    path = os.path.join(workdir, "train.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[: 8 << 20])
    tok = Tokenizer(models.BPE(ignore_merges=kind == "llama3"))
    if kind == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, min_frequency=2,
                                  special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train([path], trainer)
    out = os.path.join(workdir, f"{kind}.json")
    tok.save(out)
    return out


class OursRaw:
    """bitttt_tokenizer_encode with preallocated buffers (no list building
    inside the timed region)."""

    def __init__(self, tok):
        self.tok = tok
        self.lib = rt.lib()

    def encode_count(self, data: bytes) -> int:
        capacity = len(data) + 8
        ids = (ctypes.c_int32 * capacity)()
        n = ctypes.c_size_t()
        st = self.lib.bitttt_tokenizer_encode(self.tok.handle, data, len(data), 0,
                                              ids, capacity, ctypes.byref(n))
        assert st == 0, self.lib.bitttt_last_error()
        return n.value


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def summary(times, nbytes):
    t = sorted(times)
    return {"reps": len(t), "s_best": t[0], "s_median": statistics.median(t),
            "MBps_best": nbytes / t[0] / 1e6,
            "MBps_median": nbytes / statistics.median(t) / 1e6}


def documents(text, size=64 << 10):
    docs, start = [], 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        docs.append(text[start:end])
        start = end
    return docs


def bench_one(name, path, text, reps, threads):
    hf = Tokenizer.from_file(path)
    ours = rt.Tokenizer.load(path)
    raw = OursRaw(ours)
    data = text.encode("utf-8")
    common.log(f"[{name}] checking ids on {len(data) / 1e6:.1f} MB")
    expected = hf.encode(text, add_special_tokens=False).ids
    got = ours.encode(data)
    entry = {"tokenizer": name, "vocab_size": ours.vocab_size,
             "ids_equal": got == expected, "tokens": len(expected),
             "bytes_per_token": len(data) / max(1, len(expected))}
    t0 = time.perf_counter()
    fresh = OursRaw(rt.Tokenizer.load(path))
    entry["ours_load_s"] = time.perf_counter() - t0
    entry["ours_one_call_cold_cache"] = summary([timed(lambda: fresh.encode_count(data))],
                                                len(data))
    ours_t, hf_t = [], []
    for r in range(reps):
        common.log(f"[{name}] one call, rep {r + 1}/{reps}")
        ours_t.append(timed(lambda: raw.encode_count(data)))
        hf_t.append(timed(lambda: hf.encode(text, add_special_tokens=False)))
    entry["ours_one_call"] = summary(ours_t, len(data))
    entry["package_one_call"] = summary(hf_t, len(data))

    docs = documents(text)
    doc_bytes = [d.encode("utf-8") for d in docs]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)
    ours_b, hf_b = [], []
    for r in range(reps):
        common.log(f"[{name}] batch of {len(docs)} documents, rep {r + 1}/{reps}")
        ours_b.append(timed(lambda: list(pool.map(raw.encode_count, doc_bytes))))
        hf_b.append(timed(lambda: hf.encode_batch(docs, add_special_tokens=False)))
    pool.shutdown()
    entry["batch_threads"] = threads
    entry["ours_batch"] = summary(ours_b, len(data))
    entry["package_encode_batch"] = summary(hf_b, len(data))
    entry["speedup_one_call_median"] = (entry["package_one_call"]["s_median"]
                                        / entry["ours_one_call"]["s_median"])
    entry["speedup_batch_median"] = (entry["package_encode_batch"]["s_median"]
                                     / entry["ours_batch"]["s_median"])
    return entry


def training_corpus(text, mb, respell, path, seed=1):
    """The text's lines, repeated (or re-spelt) until `mb` MB."""
    rng = random.Random(seed)
    lines = text.split("\n")
    letters = "abcdefghijklmnopqrstuvwxyz"
    extra = ["é", "ß", "ø", "日本", "語", "😀", "ñ", "ç", "Ω", "д"]
    target, size = int(mb * 1e6), 0
    with open(path, "w", encoding="utf-8") as f:
        while size < target:
            if not respell:
                chunk = text
            else:
                words = rng.choice(lines).split(" ")
                for j, w in enumerate(words):
                    r = rng.random()
                    if r < 0.15:
                        words[j] = w + "".join(rng.choices(letters, k=rng.randint(1, 4)))
                    elif r < 0.2:
                        words[j] = w.upper()
                    elif r < 0.25:
                        words[j] = str(rng.randint(0, 10 ** rng.randint(1, 6)))
                    elif r < 0.27:
                        words[j] = w + rng.choice(extra)
                chunk = " ".join(words) + "\n"
            f.write(chunk)
            size += len(chunk.encode("utf-8"))
    return size


def bench_training(text, args, workdir):
    path = os.path.join(workdir, "corpus.txt")
    common.log(f"writing a {args.train_mb} MB corpus")
    size = training_corpus(text, args.train_mb, args.respell, path)
    special = "<|endoftext|>"
    common.log("training: ours")
    t0 = time.perf_counter()
    ours = rt.Tokenizer.train([path], args.vocab, 2, [special])
    ours_s = time.perf_counter() - t0
    ours_path = os.path.join(workdir, "ours.json")
    ours.save(ours_path)
    out = {"corpus_bytes": size, "respell": args.respell, "vocab_size": args.vocab,
           "threads": len(os.sched_getaffinity(0)), "ours_s": ours_s,
           "ours_vocab": ours.vocab_size}
    if not args.no_package:
        common.log("training: the package")
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=args.vocab, min_frequency=2,
                                      special_tokens=[special],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        t0 = time.perf_counter()
        tok.train([path], trainer)
        out["package_s"] = time.perf_counter() - t0
        pkg_path = os.path.join(workdir, "package.json")
        tok.save(pkg_path)
        a = json.load(open(ours_path, encoding="utf-8"))["model"]
        b = json.load(open(pkg_path, encoding="utf-8"))["model"]
        out["same_vocab"] = a["vocab"] == b["vocab"]
        out["same_merges"] = a["merges"] == b["merges"]
        out["merges"] = len(a["merges"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("text", nargs="?", help="UTF-8 text file (default: generated)")
    ap.add_argument("--mb", type=float, default=8.0,
                    help="size of the generated text, or the prefix of TEXT used")
    ap.add_argument("--tokenizer", help="a tokenizer.json to use instead of training two")
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--train-mb", type=float,
                    help="time training on a corpus of this many MB instead")
    ap.add_argument("--respell", action="store_true",
                    help="with --train-mb: re-spell words at random")
    ap.add_argument("--no-package", action="store_true",
                    help="with --train-mb: skip the package's trainer")
    args = ap.parse_args()

    nbytes = int(args.mb * 1e6)
    if args.text:
        with open(args.text, "rb") as f:
            text = f.read(nbytes).decode("utf-8", "replace")
        source = os.path.abspath(args.text)
    else:
        text = generated_text(nbytes)
        source = f"generated (seed 0, {args.mb} MB)"
    out = {"benchmark": "tokenizer encode", "machine": common.machine(),
           "text": {"source": source, "bytes": len(text.encode("utf-8"))},
           "package": {"tokenizers": __import__("tokenizers").__version__},
           "results": []}
    with tempfile.TemporaryDirectory(prefix="bitttt-tok-bench-") as d:
        if args.train_mb:
            out["benchmark"] = "tokenizer training"
            out["training"] = bench_training(text, args, d)
            json.dump(out, sys.stdout, indent=2)
            print()
            return
        if args.tokenizer:
            paths = [("given", args.tokenizer)]
        else:
            paths = []
            for kind in ("gpt2", "llama3"):
                common.log(f"training a {kind}-style tokenizer with the package")
                paths.append((kind, train(text, kind, args.vocab, d)))
        for name, path in paths:
            out["results"].append(bench_one(name, path, text, args.reps, args.threads))
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
