"""Reference trainer (bitttt_ref/train.py) against docs/training.md.

Every check compares with an independent computation: the RNGs against
published vectors and a numpy-uint64 transcription written here, the windows
re-derived with that transcription, the schedule against the page's formula,
the trainer's steps against torch.optim.AdamW + torch.nn.utils.clip_grad_norm_
on a deep copy of the model.
"""
import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bitttt_ref import BitTTTModel, Config
from bitttt_ref.cli import main as cli_main
from bitttt_ref.train import (RefTrainer, TrainConfig, Xoshiro256ss, decay_mask, lr_at,
                              read_tokens, splitmix64, train_windows, val_windows)

LINEAR = {"arch": "bitttt", "vocab_size": 64, "hidden_dim": 32, "num_layers": 2,
          "intermediate_dim": 64, "rms_eps": 1e-5, "act_bits": 8,
          "ttt": {"variant": "linear", "num_heads": 2, "mini_batch": 4, "base_lr": 1.0}}
SEED = dict(LINEAR, ttt={"variant": "seed", "mini_batch": 2, "inner_lr": 0.1})
CONFIGS = {"linear": LINEAR, "seed": SEED}

U64 = np.uint64


# ---------------------------------------------------------------------------
# independent numpy-uint64 generators (wrapping arithmetic)


def np_splitmix64_stream(seed, n):
    out = []
    with np.errstate(over="ignore"):
        x = U64(seed)
        for _ in range(n):
            x = x + U64(0x9E3779B97F4A7C15)
            z = x
            z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
            out.append(int(z ^ (z >> U64(31))))
    return out


class NpXoshiro:
    def __init__(self, words):
        self.s = np.array(words, dtype=np.uint64)

    @classmethod
    def seeded(cls, seed):
        return cls(np_splitmix64_stream(seed, 4))

    @staticmethod
    def rotl(x, k):
        return (x << U64(k)) | (x >> U64(64 - k))

    def next(self):
        s = self.s
        with np.errstate(over="ignore"):
            result = self.rotl(s[1] * U64(5), 7) * U64(9)
            t = s[1] << U64(17)
            s[2] ^= s[0]
            s[3] ^= s[1]
            s[1] ^= s[2]
            s[0] ^= s[3]
            s[2] ^= t
            s[3] = self.rotl(s[3], 45)
        return int(result)


def np_offsets(seed, count, n, T):
    r = NpXoshiro.seeded(seed)
    return [r.next() % (n - T) for _ in range(count)]


# ---------------------------------------------------------------------------
# random numbers


def test_splitmix64_published_vector():
    published = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F,
                 0xF88BB8A8724C81EC]
    assert np_splitmix64_stream(0, 4) == published
    x, ours = 0, []
    for _ in range(4):
        x, o = splitmix64(x)
        ours.append(o)
    assert ours == published
    # the seeding: four successive splitmix64 outputs from the seed
    assert Xoshiro256ss(0).state() == published


def test_xoshiro_published_vector():
    # Blackman & Vigna's reference code from the state {1, 2, 3, 4}
    # (the vector rand_xoshiro's tests use).
    published = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360,
                 607988272756665600, 16172922978634559625, 8476171486693032832,
                 10595114339597558777, 2904607092377533576]
    r = Xoshiro256ss.from_state([1, 2, 3, 4])
    assert [r.next() for _ in range(10)] == published
    n = NpXoshiro([1, 2, 3, 4])
    assert [n.next() for _ in range(10)] == published
    # seeded through splitmix64(42), as another independent implementation prints it
    r = Xoshiro256ss(42)
    assert [r.next() for _ in range(3)] == [1546998764402558742, 6990951692964543102,
                                            12544586762248559009]


@pytest.mark.parametrize("seed", [0, 1, 42, 12345, 2**63 + 7, 2**64 - 1])
def test_xoshiro_matches_numpy_transcription(seed):
    r, n = Xoshiro256ss(seed), NpXoshiro.seeded(seed)
    assert r.state() == [int(w) for w in n.s]
    for _ in range(200):
        v = r.next()
        assert v == n.next() and 0 <= v < 2**64
    assert r.state() == [int(w) for w in n.s]


def test_xoshiro_state_round_trip():
    r = Xoshiro256ss(7)
    for _ in range(5):
        r.next()
    s = r.state()
    r2 = Xoshiro256ss.from_state(s)
    assert [r.next() for _ in range(20)] == [r2.next() for _ in range(20)]
    s[0] ^= 1                      # state() is a copy
    assert r.state() == r2.state()
    with pytest.raises(ValueError):
        Xoshiro256ss.from_state([0, 0, 0, 0])
    with pytest.raises(ValueError):
        Xoshiro256ss.from_state([1, 2, 3])
    with pytest.raises(ValueError):
        Xoshiro256ss.from_state([1, 2, 3, 2**64])


# ---------------------------------------------------------------------------
# token files


def test_read_tokens_formats(tmp_path):
    a16 = np.array([0, 1, 65535, 513], dtype="<u2")
    a32 = np.array([0, 70000, 2**32 - 1], dtype="<u4")
    (tmp_path / "a.bin").write_bytes(a16.tobytes())
    (tmp_path / "b.u32").write_bytes(a32.tobytes())
    (tmp_path / "c.u32.bin").write_bytes(a32.tobytes())
    # little endian, read back byte by byte
    assert list(read_tokens(str(tmp_path / "a.bin"))) == [0, 1, 65535, 513]
    raw = (tmp_path / "a.bin").read_bytes()
    assert raw[6:8] == bytes([1, 2])
    assert list(read_tokens(str(tmp_path / "b.u32"))) == [0, 70000, 2**32 - 1]
    assert list(read_tokens(str(tmp_path / "c.u32.bin"))) == [0, 70000, 2**32 - 1]
    assert isinstance(read_tokens(str(tmp_path / "a.bin")), np.memmap)


def test_read_tokens_errors(tmp_path):
    (tmp_path / "odd.bin").write_bytes(b"\x01\x00\x02")
    (tmp_path / "odd.u32").write_bytes(b"\x01\x00\x02\x00\x00\x00")
    (tmp_path / "empty.bin").write_bytes(b"")
    (tmp_path / "x.txt").write_bytes(b"\x00\x00")
    for name in ("odd.bin", "odd.u32", "empty.bin", "x.txt"):
        p = str(tmp_path / name)
        with pytest.raises(ValueError, match=name):
            read_tokens(p)
    with pytest.raises(FileNotFoundError):
        read_tokens(str(tmp_path / "missing.bin"))


# ---------------------------------------------------------------------------
# windows


@pytest.mark.parametrize("n,T,B,accum", [(1000, 16, 3, 2), (17, 16, 2, 3), (300, 5, 4, 1)])
def test_train_windows_follow_the_rng(n, T, B, accum):
    tokens = np.arange(n, dtype=np.uint32) * 3 + 1       # token value tells its position
    rng = Xoshiro256ss(99)
    got = train_windows(rng, tokens, B, T, accum) + train_windows(rng, tokens, B, T, accum)
    offs = np_offsets(99, 2 * accum * B, n, T)
    assert len(got) == 2 * accum
    k = 0
    for mb in got:
        assert mb.dtype == np.int64 and mb.shape == (B, T + 1)
        for row in mb:
            o = offs[k]
            k += 1
            assert 0 <= o <= n - T - 1
            np.testing.assert_array_equal(row, tokens[o:o + T + 1].astype(np.int64))
    if n == T + 1:
        assert all(o == 0 for o in offs)


def test_train_windows_too_short(tmp_path):
    p = tmp_path / "short.bin"
    p.write_bytes(np.arange(8, dtype="<u2").tobytes())
    with pytest.raises(ValueError, match="short.bin"):
        train_windows(Xoshiro256ss(0), read_tokens(str(p)), 2, 8)


def test_val_windows(tmp_path):
    n, T, B = 103, 10, 3
    tokens = np.arange(n, dtype=np.uint16)
    W = val_windows(tokens, B, T)            # (103 - 1) // 10 = 10 windows -> 9
    assert W.shape == (9, T + 1) and W.dtype == np.int64
    for k in range(9):
        np.testing.assert_array_equal(W[k], np.arange(k * T, k * T + T + 1))
    assert val_windows(tokens, B, T, eval_windows=7).shape == (6, T + 1)
    assert val_windows(tokens, B, T, eval_windows=100).shape == (9, T + 1)
    assert val_windows(np.arange(101, dtype=np.uint16), 2, 10).shape == (10, 11)
    p = tmp_path / "tiny_val.bin"
    p.write_bytes(np.arange(25, dtype="<u2").tobytes())     # 2 windows of 10
    with pytest.raises(ValueError, match="tiny_val.bin"):
        val_windows(read_tokens(str(p)), 3, 10)
    with pytest.raises(ValueError, match="tiny_val.bin"):
        val_windows(read_tokens(str(p)), 2, 10, eval_windows=1)


# ---------------------------------------------------------------------------
# schedule and decay rule


def test_lr_schedule():
    lr, mn, W, S = 3e-3, 3e-4, 10, 110
    assert lr_at(1, S, lr, W, mn) == pytest.approx(lr / W, rel=1e-15)
    assert lr_at(5, S, lr, W, mn) == pytest.approx(lr * 0.5, rel=1e-15)
    assert lr_at(W, S, lr, W, mn) == pytest.approx(lr, rel=1e-15)
    assert lr_at(W + 50, S, lr, W, mn) == pytest.approx((lr + mn) / 2, rel=1e-15)
    t = 37
    hand = mn + 0.5 * (lr - mn) * (1 + math.cos(math.pi * (t - W) / (S - W)))
    assert lr_at(t, S, lr, W, mn) == pytest.approx(hand, rel=1e-15)
    assert lr_at(S, S, lr, W, mn) == pytest.approx(mn, rel=1e-12)
    assert lr_at(S + 5, S, lr, W, mn) == pytest.approx(mn, rel=1e-12)   # p clamps at 1
    # no warmup: t = 1 is already on the cosine
    assert lr_at(1, 4, 1.0, 0, 0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    # steps == warmup: max(1, 0) keeps p finite
    assert lr_at(5, 4, 1.0, 4, 0.25) == pytest.approx(0.25)


def _expected_decay(name):
    leaf = name.rsplit(".", 1)[-1]
    mod = name.rsplit(".", 2)[-2] if "." in name else ""
    if name in ("embed.weight", "lm_head.weight"):
        return True
    if mod in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
               "down_proj", "down", "up") and leaf == "weight":
        return True
    return mod == "lr_proj" and leaf == "weight"


@pytest.mark.parametrize("variant", ["linear", "seed"])
def test_decay_mask(variant):
    m = BitTTTModel(Config.from_dict(CONFIGS[variant]))
    got = {n: decay_mask(n, p) for n, p in m.named_parameters()}
    assert got == {n: _expected_decay(n) for n in got}
    assert any(got.values()) and not all(got.values())
    if variant == "linear":
        assert not got["layers.0.ttt.b0"] and not got["layers.0.ttt.W0"]
        assert not got["layers.1.ttt.ttt_norm.weight"] and got["layers.1.ttt.lr_proj.weight"]


# ---------------------------------------------------------------------------
# the trainer against torch.optim.AdamW + clip_grad_norm_


def make_model(variant, seed=5):
    return BitTTTModel(Config.from_dict(CONFIGS[variant]), torch.float32).init_random(seed)


def corpus(n=4000, V=64, seed=0):
    g = np.random.default_rng(seed)
    # a learnable sequence: mostly +1 steps with noise
    x = np.cumsum(g.integers(0, 3, n)) % V
    return x.astype(np.uint16)


def torch_reference_run(model, cfg, tokens, steps):
    """Independent: deep copy, numpy RNG windows, torch AdamW (two groups), clip_grad_norm_."""
    ref = copy.deepcopy(model)
    decay, no_decay = [], []
    for n, p in ref.named_parameters():
        (decay if _expected_decay(n) else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)
    rng = NpXoshiro.seeded(cfg.seed)
    n, T, B = len(tokens), cfg.context, cfg.batch
    out = []
    for t in range(1, steps + 1):
        if t <= cfg.warmup:
            lr = cfg.lr * t / cfg.warmup
        else:
            p = min(1.0, (t - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
            lr = cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * p))
        lr = float(np.float32(lr))
        opt.zero_grad(set_to_none=True)
        losses = []
        for _ in range(cfg.accum):
            rows = []
            for _ in range(B):
                o = rng.next() % (n - T)
                rows.append(tokens[o:o + T + 1].astype(np.int64))
            w = torch.from_numpy(np.stack(rows))
            loss = ref.loss(w[:, :-1], w[:, 1:])
            loss.backward()                       # .grad sums the micro-batches
            losses.append(float(loss))
        if cfg.accum > 1:
            for p in ref.parameters():
                p.grad.div_(cfg.accum)            # their mean
        norm = float(torch.nn.utils.clip_grad_norm_(ref.parameters(), cfg.max_grad_norm))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        out.append({"loss": sum(losses) / len(losses), "grad_norm": norm, "lr": lr})
    return ref, out


@pytest.mark.parametrize("variant,kw", [
    ("linear", dict(lr=1e-2, warmup=2, min_lr=1e-3, steps=5)),       # clipping active
    ("seed", dict(lr=3e-2, warmup=0, min_lr=0.0, steps=3, weight_decay=0.3)),
    ("linear", dict(lr=5e-3, warmup=1, steps=4, max_grad_norm=1e9, accum=2)),  # no clipping
])
def test_trainer_matches_torch_adamw(variant, kw):
    cfg = TrainConfig(batch=2, context=16, seed=11, **kw)
    tokens = corpus()
    model = make_model(variant)
    ref, expect = torch_reference_run(model, cfg, tokens, 3)
    tr = RefTrainer(model, cfg)
    for t, e in enumerate(expect, start=1):
        r = tr.step(tokens)
        assert r["lr"] == e["lr"]
        assert r["loss"] == pytest.approx(e["loss"], rel=1e-6)
        assert r["grad_norm"] == pytest.approx(e["grad_norm"], rel=1e-5)
        if cfg.max_grad_norm == 1.0 and t == 1:
            assert r["grad_norm"] > 1.0          # the clip path is exercised
    assert tr.t == 3 and tr.windows_drawn == 3 * cfg.batch * cfg.accum
    rp = dict(ref.named_parameters())
    moved, init = 0, make_model(variant).state_dict()
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.detach(), rp[n].detach(), rtol=1e-6, atol=1e-7,
                                   msg=lambda m, n=n: f"{n}: {m}")
        moved += int(not torch.equal(p.detach(), init[n]))
    assert moved == len(rp)                      # every parameter was updated
    # the trainer's rng advanced exactly by the draws
    n_rng = NpXoshiro.seeded(cfg.seed)
    for _ in range(tr.windows_drawn):
        n_rng.next()
    assert tr.rng.state() == [int(w) for w in n_rng.s]


def test_clip_matches_torch():
    g = torch.Generator().manual_seed(0)
    shapes = [(5, 3), (7,), (2, 2, 2)]
    for scale, max_norm in [(10.0, 1.0), (0.01, 1.0), (1.0, 0.5)]:
        gs = {str(i): torch.randn(*s, generator=g) * scale for i, s in enumerate(shapes)}
        ps = [torch.zeros(*s, requires_grad=True) for s in shapes]
        for p, v in zip(ps, gs.values()):
            p.grad = v.clone()
        want = float(torch.nn.utils.clip_grad_norm_(ps, max_norm))
        exact = math.sqrt(sum(float((v.double() ** 2).sum()) for v in gs.values()))
        got = RefTrainer.clip(gs, max_norm)
        assert got == want and got == pytest.approx(exact, rel=1e-6)
        for p, v in zip(ps, gs.values()):
            assert torch.equal(p.grad, v)
    # max_norm 0: no clipping, the norm still reported
    gs = {"a": torch.full((4,), 3.0)}
    assert RefTrainer.clip(gs, 0.0) == 6.0 and torch.equal(gs["a"], torch.full((4,), 3.0))


@pytest.mark.parametrize("variant", ["linear", "seed"])
def test_accumulation_equals_big_batch(variant):
    tokens = corpus(seed=3)
    base = make_model(variant, seed=2)
    a = RefTrainer(copy.deepcopy(base), TrainConfig(batch=2, accum=2, context=12, seed=4,
                                                     lr=1e-2, steps=2))
    b = RefTrainer(copy.deepcopy(base), TrainConfig(batch=4, accum=1, context=12, seed=4,
                                                     lr=1e-2, steps=2))
    wa = train_windows(Xoshiro256ss(4), tokens, 2, 12, 2)
    wb = train_windows(Xoshiro256ss(4), tokens, 4, 12, 1)
    np.testing.assert_array_equal(np.concatenate(wa), wb[0])    # same windows, same order
    la, ga = a.grads(wa)
    lb, gb = b.grads(wb)
    assert la == pytest.approx(lb, rel=1e-6)
    for n in ga:
        torch.testing.assert_close(ga[n], gb[n], rtol=1e-5, atol=1e-7)
    # and the gradient is the mean of the micro-batch gradients (not their sum)
    _, g0 = a.grads(wa[:1])
    _, g1 = a.grads(wa[1:])
    for n in ga:
        torch.testing.assert_close(ga[n], (g0[n] + g1[n]) / 2, rtol=0, atol=0)
    ra, rb = a.step(tokens), b.step(tokens)
    assert ra["loss"] == pytest.approx(rb["loss"], rel=1e-6)
    assert ra["grad_norm"] == pytest.approx(rb["grad_norm"], rel=1e-5)
    pb = dict(b.model.named_parameters())
    for n, p in a.model.named_parameters():
        torch.testing.assert_close(p, pb[n], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant", ["linear", "seed"])
def test_evaluate_matches_direct(variant):
    model = make_model(variant, seed=8)
    val = corpus(n=16 * 9 + 1, seed=5)                       # exactly 9 windows of 16
    tr = RefTrainer(model, TrainConfig(batch=4, context=16, eval_windows=None))
    loss, ppl = tr.evaluate(val)
    offs = np.arange(8) * 16                                 # 9 rounded down to 8
    W = torch.from_numpy(np.stack([val[o:o + 17].astype(np.int64) for o in offs]))
    with torch.no_grad():
        lg = model(W[:, :-1]).double()
        direct = float(F.cross_entropy(lg.reshape(-1, lg.shape[-1]), W[:, 1:].reshape(-1)))
    assert loss == pytest.approx(direct, rel=1e-6)
    assert ppl == pytest.approx(math.exp(direct), rel=1e-6)
    tr2 = RefTrainer(model, TrainConfig(batch=4, context=16, eval_windows=5))
    l4, _ = tr2.evaluate(val)                                # 5 -> 4 windows
    with torch.no_grad():
        lg = model(W[:4, :-1]).double()
        d4 = float(F.cross_entropy(lg.reshape(-1, lg.shape[-1]), W[:4, 1:].reshape(-1)))
    assert l4 == pytest.approx(d4, rel=1e-6)


def test_train_config_checks():
    with pytest.raises(ValueError, match="batch"):
        TrainConfig(batch=0)
    with pytest.raises(ValueError, match="beta2"):
        TrainConfig(beta2=1.0)
    with pytest.raises(ValueError):
        RefTrainer(BitTTTModel(Config.from_dict(LINEAR), torch.float64), TrainConfig())


# ---------------------------------------------------------------------------
# command line


def test_cli_train(tmp_path, capsys):
    md = tmp_path / "model"
    make_model("linear", seed=1).save_pretrained(str(md))
    corpus(n=3000).astype("<u2").tofile(str(tmp_path / "train.bin"))
    corpus(n=400, seed=9).astype("<u4").tofile(str(tmp_path / "val.u32"))
    metrics = tmp_path / "m.jsonl"
    args = ["train", "--model-dir", str(md), "--train", str(tmp_path / "train.bin"),
            "--val", str(tmp_path / "val.u32"), "--steps", "3", "--batch", "2",
            "--context", "16", "--lr", "1e-2", "--warmup", "1", "--seed", "11",
            "--metrics", str(metrics), "--eval-windows", "8", "--out", str(tmp_path / "out")]
    assert cli_main(args) == 0
    lines = [json.loads(x) for x in metrics.read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3]
    for x in lines:
        assert set(x) == {"step", "loss", "grad_norm", "lr", "tokens_per_s"}
        assert x["tokens_per_s"] > 0 and math.isfinite(x["loss"])
    # the same run in-process gives the same numbers
    cfg = TrainConfig(batch=2, context=16, steps=3, lr=1e-2, warmup=1, seed=11,
                      eval_windows=8)
    tr = RefTrainer(make_model("linear", seed=1), cfg)
    toks = read_tokens(str(tmp_path / "train.bin"))
    for x in lines:
        r = tr.step(toks)
        assert (r["loss"], r["grad_norm"], r["lr"]) == (x["loss"], x["grad_norm"], x["lr"])
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["val_loss"] == tr.evaluate(read_tokens(str(tmp_path / "val.u32")))[0]
    saved = BitTTTModel.from_pretrained(str(tmp_path / "out"))
    for n, p in saved.named_parameters():
        assert torch.equal(p, dict(tr.model.named_parameters())[n])
    # --init-seed: weights from init_random(K), not from the directory
    assert cli_main(args[:-2] + ["--init-seed", "1", "--steps", "1"]) == 0
    first = json.loads(metrics.read_text().splitlines()[0])
    assert first["loss"] == lines[0]["loss"]
    # errors name the file
    (tmp_path / "big.bin").write_bytes(np.array([0, 64], dtype="<u2").tobytes() * 20)
    assert cli_main(args[:3] + ["--train", str(tmp_path / "big.bin")] + args[5:]) == 1
    assert "big.bin" in capsys.readouterr().err
