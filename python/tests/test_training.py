"""Acceptance tests of compiled training (docs/training.md), every result
against the independent PyTorch reference (bitttt_ref: autograd,
RefTrainer, train_windows, lr_at), never against saved outputs of ours.

Four tiny configs (linear / seed TTT, f32 / int8 activations), B = 2,
T = 6 (inside a linear mini-batch of 4), each compiled once with
`bitttt-compile --train` (all in parallel, module fixture):

1. the compiled gradients (the training artifact inside the .bitt, the code
   the runtime trainer calls) equal autograd, every parameter tensor;
2. 30 steps of the runtime trainer (bitttt.Trainer) equal RefTrainer on the
   same windows and schedule; the window generator is the reference's;
   accumulate twice + apply equals the reference's accum = 2 step; int8
   models step for step from the same state;
3. `bitttt-run train` end to end: its losses / validation against
   RefTrainer, resume = uninterrupted (bit for bit), a real SIGINT /
   SIGTERM, the exported model (reference loads it, `bitttt-run eval`
   agrees with the reference's perplexity), keep-N and best.ckpt;
4. bad input: a named error, a non-zero exit, nothing lost.
"""

import json
import math
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

import bitttt
from bitttt_ref.model import BitTTTModel
from bitttt_ref.train import (RefTrainer, TrainConfig, Xoshiro256ss, lr_at, read_tokens,
                              train_windows, val_windows)

import training_fixtures as tf
from training_fixtures import B, CONFIGS, T

VOCAB = 64
STEPS = 30
# Independent trajectories are compared at lr 3e-3. At 3e-2, 2 of 8 random
# token streams gave runs 1e-2 apart in loss by step 30 although the
# gradients at the same parameters agree to 1e-7: AdamW divides by
# sqrt(v) + 1e-8, so an element whose gradient is ~1e-8 (rounding noise)
# moves by a sign-dependent fraction of lr, and a latent weight near a
# ternary rounding boundary flips; either then grows. At 3e-3, 24 of 24
# streams agreed within 2e-7 in loss and 1e-4 of each tensor's movement.
SCHED = dict(lr=3e-3, warmup=5, min_lr=1e-4)
# The `bitttt-run train` options of the runs below (and their TrainConfig).
OPTS = ["--steps", STEPS, "--lr", SCHED["lr"], "--warmup", SCHED["warmup"],
        "--min-lr", SCHED["min_lr"], "--seed", 9, "--eval-every", 5, "--eval-windows", 16,
        "--save-every", 5, "--keep", 2]
RUN_CFG = dict(batch=B, context=T, steps=STEPS, seed=9, eval_windows=16, **SCHED)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The reference's tensors here are tiny: one thread (two threads spin
    against each other and anything else running, 25x slower)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return tf.build_all(str(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(3)
    train = tf.write_tokens(d / "train.bin", rng.integers(0, VOCAB, 3000))
    val = tf.write_tokens(d / "val.bin", rng.integers(0, VOCAB, 400))
    return str(train), str(val)


@pytest.fixture(scope="module")
def run_a(built, data, tmp_path_factory):
    """An uninterrupted 30-step run of linear-f32 (OPTS)."""
    out = tmp_path_factory.mktemp("runs") / "A"
    r = tf.run_train(built["linear-f32"].bitt, out, *data, *OPTS)
    assert r.returncode == 0, r.stderr
    return str(out), json.loads(r.stdout)


def params_of(ref):
    return {n: p.detach().numpy().copy() for n, p in ref.named_parameters()}


def trainer_params(tr, like):
    return {n: tr.param(n).reshape(v.shape).copy() for n, v in like.items()}


def rel(a, b):
    return abs(a - b) / abs(b)


def assert_same_trajectory(got, want, init, tol=2e-3):
    """Each parameter tensor ended where the reference's did, within `tol`
    of how far it moved (‖got − want‖ ≤ tol ‖want − init‖), and it moved."""
    for n in want:
        moved = float(np.linalg.norm(want[n] - init[n]))
        assert float(np.abs(want[n] - init[n]).max()) > 1e-3, f"{n} did not move"
        e = float(np.linalg.norm(got[n].reshape(want[n].shape) - want[n])) / moved
        assert e <= tol, f"{n}: |p - p_ref| / |p_ref - p_0| = {e:.3g}"


# ---------------------------------------------------------------------------
# 1. gradients

BATCHES = [np.random.default_rng(11).integers(0, VOCAB, (B, T + 1)),
           # repeated ids (the embedding gradient sums rows), both ends of the vocabulary
           np.array([[5, 5, 5, 9, 5, 9, 1], [63, 0, 63, 0, 5, 5, 63]])]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_compiled_gradients_equal_autograd(built, name):
    b = built[name]
    art = tf.TrainArtifact(b.bitt)
    ref = b.reference()
    params = params_of(ref)
    for n, v in params.items():           # the .bitt's latent weights are the model's
        np.testing.assert_array_equal(art.latent[n].reshape(v.shape), v, err_msg=n)
    bad = []
    for k, tokens in enumerate(BATCHES):
        loss, grads = art.grad(params, tokens)
        want_loss, want = tf.reference_grads(ref, tokens)
        assert rel(loss, want_loss) <= 1e-5, (k, loss, want_loss)
        assert sorted(grads) == sorted(want)
        for n, w in want.items():
            norm = float(np.linalg.norm(w))
            assert norm > 0, f"{n}: zero reference gradient (the check would have no power)"
            assert grads[n].shape == w.shape, n
            e = float(np.linalg.norm(grads[n].astype(np.float64) - w)) / norm
            if not e <= 1e-4:
                bad.append(f"batch {k} {n}: |g - g_ref| / |g_ref| = {e:.3g}")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------------
# 2. the runtime trainer against RefTrainer


def test_optimizer_constants_are_the_reference_defaults(built):
    c = TrainConfig()
    for b in built.values():
        opt = tf.TrainArtifact(b.bitt).train["optimizer"]
        assert opt == {"beta1": c.beta1, "beta2": c.beta2, "eps": c.eps,
                       "max_grad_norm": c.max_grad_norm, "weight_decay": c.weight_decay}, b.name


@pytest.mark.parametrize("dtype,suffix", [("<u2", ".bin"), ("<u4", ".u32")])
def test_draw_windows_follow_the_reference_generator(built, tmp_path, dtype, suffix):
    path = tf.write_tokens(tmp_path / f"tokens{suffix}",
                           np.random.default_rng(5).integers(0, VOCAB, 1001), dtype)
    tokens = read_tokens(str(path))               # the reference's reader (memmap)
    seed = 2**64 - 12345                          # a u64 beyond int64
    model = bitttt.Model(built["linear-f32"].bitt, n_threads=1)
    tr = bitttt.Trainer(model, seed)
    got = np.concatenate([tr.draw_windows(np.asarray(tokens), 7),
                          tr.draw_windows(np.asarray(tokens), 5)])   # the stream continues
    rng = Xoshiro256ss(seed)
    want = train_windows(rng, tokens, 12, T)[0]
    np.testing.assert_array_equal(got, want)
    assert tr.windows_drawn == 12
    # The generator's words and the count are what a checkpoint keeps.
    tr.save(str(tmp_path), "w.ckpt")
    meta, _ = tf.checkpoint(tmp_path / "w.ckpt")
    assert meta["rng"] == [str(w) for w in rng.state()]
    assert meta["windows_drawn"] == 12 and meta["step"] == 0
    # n = T + 1: one window, offset 0.
    short = np.arange(T + 1, dtype=np.uint16)
    np.testing.assert_array_equal(tr.draw_windows(short, 3), np.tile(short, (3, 1)))


@pytest.mark.parametrize("name", ["linear-f32", "seed-f32"])
def test_30_steps_equal_the_reference_trainer(built, data, name):
    b = built[name]
    tr = bitttt.Trainer(bitttt.Model(b.bitt, n_threads=1), 5)
    ref = b.reference()
    init = params_of(ref)
    rt = RefTrainer(ref, TrainConfig(batch=B, context=T, steps=STEPS, seed=5, **SCHED))
    tokens = read_tokens(data[0])
    windows = tr.draw_windows(np.asarray(tokens), B * STEPS)      # one draw for both
    losses = []
    for s in range(STEPS):
        w = windows[s * B:(s + 1) * B]
        lr = lr_at(s + 1, STEPS, **SCHED)
        loss, norm = tr.step(w, lr)
        r = rt.step_on([w.astype(np.int64)])
        assert rel(loss, r["loss"]) <= 1e-3, (s + 1, loss, r["loss"])
        assert rel(norm, r["grad_norm"]) <= 1e-3, (s + 1, norm, r["grad_norm"])
        losses.append(r["loss"])
    assert tr.step_count == STEPS
    assert np.std(losses) > 0.05                  # the losses move: the check has power
    want = params_of(ref)
    assert_same_trajectory(trainer_params(tr, want), want, init)


@pytest.mark.parametrize("name", ["linear-f32", "seed-f32"])
def test_accumulate_twice_then_apply_equals_reference_accum_2(built, data, name):
    b = built[name]
    tr = bitttt.Trainer(bitttt.Model(b.bitt, n_threads=1), 21)
    ref = b.reference()
    init = params_of(ref)
    steps = 4
    cfg = TrainConfig(batch=B, context=T, steps=steps, seed=21, accum=2, lr=SCHED["lr"],
                      warmup=1)
    rt = RefTrainer(ref, cfg)
    tokens = read_tokens(data[0])
    for s in range(steps):
        w0, w1 = train_windows(rt.rng, tokens, B, T, accum=2)   # the reference's draw ...
        d0, d1 = (tr.draw_windows(np.asarray(tokens), B) for _ in range(2))
        np.testing.assert_array_equal(np.stack([d0, d1]), np.stack([w0, w1]))  # ... is ours
        l0 = tr.accumulate(d0)
        l1 = tr.accumulate(d1)
        norm = tr.apply(lr_at(s + 1, steps, cfg.lr, cfg.warmup, cfg.min_lr))
        r = rt.step_on([w0, w1])
        assert rel((l0 + l1) / 2, r["loss"]) <= 1e-5, s + 1
        # the norm of the mean of the two gradients, not of their sum
        assert rel(norm, r["grad_norm"]) <= 1e-4, (s + 1, norm, r["grad_norm"])
    assert tr.step_count == steps and tr.windows_drawn == steps * 2 * B
    want = params_of(ref)
    assert_same_trajectory(trainer_params(tr, want), want, init)


@pytest.mark.parametrize("name", ["linear-int8", "seed-int8"])
def test_int8_steps_equal_the_reference_from_the_same_state(built, data, name, tmp_path):
    """int8 activations: f32 rounding can also flip the rounding of an
    activation, and over 30 independent steps such a flip grows into another
    trajectory (even at lr 3e-3, 1 of 12 token streams ended 5e-3 apart in
    loss), so each step starts the reference from the runtime's state
    (parameters and AdamW moments read from its checkpoint) and checks that
    one step: loss, grad norm, the update and the moments."""
    b = built[name]
    tr = bitttt.Trainer(bitttt.Model(b.bitt, n_threads=1), 5)
    ref = b.reference()
    rt = RefTrainer(ref, TrainConfig(batch=B, context=T, steps=STEPS, seed=5, **SCHED))
    windows = tr.draw_windows(np.asarray(read_tokens(data[0])), B * STEPS)
    ck = str(tmp_path / "s.ckpt")
    for s in range(STEPS + 1):
        tr.save(str(tmp_path), "s.ckpt")
        meta, st = tf.checkpoint(ck)
        assert meta["step"] == s
        if s > 0:   # the moments of the last step equal the reference's
            for n in rt.params:
                for part, mine in (("adam_m.", rt.m[n]), ("adam_v.", rt.v[n])):
                    want = mine.numpy()
                    e = np.linalg.norm(st[part + n] - want) / np.linalg.norm(want)
                    assert e <= 1e-2, (s, part + n, e)
        if s == STEPS:
            break
        with torch.no_grad():
            for n, p in rt.params.items():
                p.copy_(torch.from_numpy(st["param." + n]))
                rt.m[n] = torch.from_numpy(st["adam_m." + n].copy())
                rt.v[n] = torch.from_numpy(st["adam_v." + n].copy())
        before = params_of(ref)
        w = windows[s * B:(s + 1) * B]
        lr = lr_at(s + 1, STEPS, **SCHED)
        loss, norm = tr.step(w, lr)
        r = rt.step_on([w.astype(np.int64)])
        assert rel(loss, r["loss"]) <= 1e-3, (s + 1, loss, r["loss"])
        assert rel(norm, r["grad_norm"]) <= 1e-3, (s + 1, norm, r["grad_norm"])
        want = params_of(ref)
        got = trainer_params(tr, want)
        # AdamW moves a parameter by up to ~lr a step; the update agrees far
        # closer than that (a flipped activation rounding moved one by 1.7% of lr).
        assert max(float(np.abs(want[n] - before[n]).max()) for n in want) > 0.5 * lr
        for n in want:
            assert float(np.abs(got[n] - want[n]).max()) <= 0.1 * lr, (s + 1, n)


# ---------------------------------------------------------------------------
# 3. bitttt-run train end to end


def expected_records(steps, eval_every=5):
    keys = []
    for s in range(1, steps + 1):
        keys.append((s, ("grad_norm", "loss", "lr", "step")))
        if s % eval_every == 0 or s == STEPS:
            keys.append((s, ("step", "val_loss", "val_ppl")))
    return keys


def test_cli_run_equals_the_reference_trainer(built, data, run_a):
    out, summary = run_a
    recs = tf.metrics(os.path.join(out, "metrics.jsonl"))
    assert [(r["step"], tuple(sorted(r))) for r in recs] == expected_records(STEPS)
    ref = built["linear-f32"].reference()
    rt = RefTrainer(ref, TrainConfig(**RUN_CFG))
    train, val = read_tokens(data[0]), read_tokens(data[1])
    it = iter(recs)
    for s in range(1, STEPS + 1):
        r = rt.step(train)
        got = next(it)
        assert got["lr"] == r["lr"], s                     # the f32 of lr_at
        assert rel(got["loss"], r["loss"]) <= 1e-3, (s, got["loss"], r["loss"])
        assert rel(got["grad_norm"], r["grad_norm"]) <= 1e-3, s
        if s % 5 == 0:
            v = next(it)
            want, ppl = rt.evaluate(val)
            assert rel(v["val_loss"], want) <= 1e-4, (s, v["val_loss"], want)
            assert v["val_ppl"] == pytest.approx(math.exp(v["val_loss"]), rel=1e-12)
    assert rt.windows_drawn == STEPS * B
    assert summary["steps"] == STEPS and summary["val_loss"] == recs[-1]["val_loss"]
    assert summary["checkpoint"] == os.path.join(out, "checkpoints", "step-00000030.ckpt")
    meta, _ = tf.checkpoint(summary["checkpoint"])
    assert meta["step"] == STEPS and meta["windows_drawn"] == STEPS * B
    assert meta["rng"] == [str(w) for w in rt.rng.state()]
    exported = load_file(os.path.join(out, "model", "model.safetensors"))
    assert_same_trajectory(exported, params_of(ref), params_of(built["linear-f32"].reference()))
    assert os.path.getsize(os.path.join(out, "loss.png")) > 0


def test_resume_names_a_bad_metrics_line(built, data, tmp_path):
    """A metrics line whose number is beyond double's range (nlohmann's
    out_of_range, not a parse_error) is refused naming the file and the line,
    and the file stays as it was."""
    out = str(tmp_path / "B")
    bitt = built["linear-f32"].bitt
    r = tf.run_train(bitt, out, *data, *OPTS, "--stop-at", 6)
    assert r.returncode == 130, r.stderr
    path = os.path.join(out, "metrics.jsonl")
    with open(path) as f:
        lines = f.read().splitlines(keepends=True)
    lines.insert(1, '{"step": 1e999}\n')
    with open(path, "w") as f:
        f.write("".join(lines))
    before = open(path, "rb").read()
    r = tf.run_train(bitt, out, *data, *OPTS, "--resume", out)
    assert r.returncode == 1, r.stderr
    assert f"{path}:2: not a JSON object: " in r.stderr and "number overflow" in r.stderr, r.stderr
    assert open(path, "rb").read() == before


def test_resume_equals_uninterrupted(built, data, run_a, tmp_path):
    """Stopped at 13 (--stop-at, as SIGINT), resumed and stopped again at 21,
    resumed to the end: metrics, checkpoints and exports are A's, bit for bit."""
    a, _ = run_a
    out = str(tmp_path / "B")
    bitt = built["linear-f32"].bitt
    ck = os.path.join(out, "checkpoints")
    r = tf.run_train(bitt, out, *data, *OPTS, "--stop-at", 13)
    assert r.returncode == 130, r.stderr
    assert f"stopped by SIGINT after step 13; resume with --resume {out}" in r.stderr
    assert json.loads(r.stdout)["steps"] == 13
    assert sorted(os.listdir(ck)) == ["best.ckpt", "step-00000010.ckpt", "step-00000013.ckpt"]
    full = tf.metrics(os.path.join(a, "metrics.jsonl"))
    assert tf.metrics(os.path.join(out, "metrics.jsonl")) == \
        [x for x in full if x["step"] <= 13]            # a stop adds no record
    r = tf.run_train(bitt, out, *data, *OPTS, "--resume", out, "--stop-at", 21)
    assert r.returncode == 130, r.stderr
    assert f"resumed from {ck}/step-00000013.ckpt at step 13" in r.stderr
    r = tf.run_train(bitt, out, *data, *OPTS, "--resume", out)
    assert r.returncode == 0, r.stderr
    assert f"resumed from {ck}/step-00000021.ckpt at step 21" in r.stderr
    assert tf.metrics(os.path.join(out, "metrics.jsonl")) == full
    for f in ("model/model.safetensors", "model/config.json", "model.bitt",
              "checkpoints/step-00000025.ckpt", "checkpoints/step-00000030.ckpt"):
        with open(os.path.join(a, f), "rb") as x, open(os.path.join(out, f), "rb") as y:
            assert x.read() == y.read(), f
    assert sorted(os.listdir(ck)) == sorted(os.listdir(os.path.join(a, "checkpoints")))


def test_resume_before_the_first_validation(built, data, tmp_path):
    """A run without --val (or stopped before a validation at a checkpoint)
    saves best_val null; --resume continues it like any other run."""
    bitt = built["linear-f32"].bitt
    opts = ["--steps", 12, "--lr", 3e-2, "--warmup", 2, "--seed", 1, "--save-every", 5]
    a, b = str(tmp_path / "A"), str(tmp_path / "B")
    r = tf.run_train(bitt, a, data[0], None, *opts)
    assert r.returncode == 0, r.stderr
    r = tf.run_train(bitt, b, data[0], None, *opts, "--stop-at", 7)
    assert r.returncode == 130, r.stderr
    meta, _ = tf.checkpoint(os.path.join(b, "checkpoints", "step-00000007.ckpt"))
    assert meta["extra"]["best_val"] is None
    r = tf.run_train(bitt, b, data[0], None, *opts, "--resume", b)
    assert r.returncode == 0, r.stderr
    assert "at step 7" in r.stderr
    assert tf.metrics(os.path.join(a, "metrics.jsonl")) == \
        tf.metrics(os.path.join(b, "metrics.jsonl"))
    with open(os.path.join(a, "model", "model.safetensors"), "rb") as x, \
            open(os.path.join(b, "model", "model.safetensors"), "rb") as y:
        assert x.read() == y.read()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_real_signal_stops_saves_and_resumes(built, data, tmp_path, sig):
    bitt = built["linear-f32"].bitt
    long = ["--steps", 100000, "--lr", 3e-2, "--warmup", 5, "--seed", 4,
            "--eval-every", 1000000, "--save-every", 1000000]
    out = str(tmp_path / "S")
    metrics_path = os.path.join(out, "metrics.jsonl")
    p = subprocess.Popen(tf.train_cmd(bitt, out, *data, *long), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert p.poll() is None, p.communicate()
            if os.path.exists(metrics_path):
                with open(metrics_path) as f:
                    if sum(1 for _ in f) >= 5:
                        break
            assert time.monotonic() < deadline, "no 5 metrics records in 60 s"
            time.sleep(0.005)
        sent = time.monotonic()
        p.send_signal(sig)
        stdout, stderr = p.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 128 + sig, stderr
    assert took < 5, took
    name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
    k = json.loads(stdout)["steps"]
    assert 5 <= k < 100000
    assert f"stopped by {name} after step {k}; resume with --resume {out}" in stderr
    ck = os.path.join(out, "checkpoints")
    assert os.listdir(ck) == [f"step-{k:08d}.ckpt"]
    assert [x["step"] for x in tf.metrics(metrics_path)] == list(range(1, k + 1))
    # --resume continues from it; the same as an uninterrupted run to k + 3.
    r = tf.run_train(bitt, out, *data, *long, "--resume", out, "--stop-at", k + 3)
    assert r.returncode == 130, r.stderr
    assert f"resumed from {ck}/step-{k:08d}.ckpt at step {k}" in r.stderr
    c = str(tmp_path / "C")
    r = tf.run_train(bitt, c, *data, *long, "--stop-at", k + 3)
    assert r.returncode == 130, r.stderr
    assert tf.metrics(metrics_path) == tf.metrics(os.path.join(c, "metrics.jsonl"))
    with open(os.path.join(out, "model", "model.safetensors"), "rb") as x, \
            open(os.path.join(c, "model", "model.safetensors"), "rb") as y:
        assert x.read() == y.read()


def reference_nll(model_dir, ids):
    ref = BitTTTModel.from_pretrained(model_dir)
    with torch.no_grad():
        logits = ref(torch.from_numpy(ids.astype(np.int64))).double()
    logp = torch.log_softmax(logits, -1)
    nll = -logp[torch.arange(len(ids) - 1), torch.from_numpy(ids[1:].astype(np.int64))]
    return float(nll.mean()), len(ids) - 1


@pytest.mark.parametrize("name", ["linear-f32", "linear-int8", "seed-int8", "linear-int8-t5"])
def test_exported_model_is_the_trained_one(built, data, tmp_path, name):
    b = built[name]
    out = str(tmp_path / "E")
    r = tf.run_train(b.bitt, out, *data, *OPTS)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["bitt"] == os.path.join(out, "model.bitt")
    assert summary["model_dir"] == os.path.join(out, "model")
    model_dir = summary["model_dir"]
    with open(os.path.join(model_dir, "config.json")) as f:
        assert json.load(f) == b.cfg
    # The exported weights are the trainer's (the last checkpoint's) exactly.
    _, ck = tf.checkpoint(summary["checkpoint"])
    exported = load_file(os.path.join(model_dir, "model.safetensors"))
    ref = BitTTTModel.from_pretrained(model_dir)           # the reference loads it
    names = [n for n, _ in ref.named_parameters()]
    assert sorted(exported) == sorted(names)
    init = params_of(b.reference())
    for n, p in ref.named_parameters():
        np.testing.assert_array_equal(exported[n], ck["param." + n], err_msg=n)
        np.testing.assert_array_equal(p.detach().numpy(), exported[n], err_msg=n)
        assert not np.array_equal(exported[n], init[n]), f"{n} was not trained"
    # The exported .bitt carries them: its trainer starts from them ...
    tr = bitttt.Trainer(bitttt.Model(summary["bitt"], n_threads=1))
    for n in names:
        np.testing.assert_array_equal(tr.param(n), exported[n].ravel(), err_msg=n)
    # ... and its inference path (packed ternary weights) scores val.bin as
    # the reference model of the exported directory does.
    r = subprocess.run([tf.RUN, "eval", summary["bitt"], data[1], "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    ids = np.fromfile(data[1], dtype="<u2")
    want, count = reference_nll(model_dir, ids)
    assert got["scored"] == count
    assert rel(got["perplexity"], math.exp(want)) <= 1e-3, (got, math.exp(want))
    before, _ = reference_nll(b.model_dir, ids)
    assert rel(math.exp(before), math.exp(want)) > 1e-2    # training changed it: power


def test_keep_n_and_best(built, tmp_path):
    """Validation on other ids than training ([32, 64) vs [0, 32)) gets worse
    after the first evaluations, so best.ckpt is a step file long pruned."""
    rng = np.random.default_rng(8)
    train = tf.write_tokens(tmp_path / "train.bin", rng.integers(0, 32, 2000))
    val = tf.write_tokens(tmp_path / "val.bin", rng.integers(32, 64, 300))
    out = str(tmp_path / "K")
    r = tf.run_train(built["linear-f32"].bitt, out, train, val, *OPTS)
    assert r.returncode == 0, r.stderr
    ck = os.path.join(out, "checkpoints")
    assert sorted(os.listdir(ck)) == ["best.ckpt", "step-00000025.ckpt", "step-00000030.ckpt"]
    vals = [(x["step"], x["val_loss"]) for x in tf.metrics(os.path.join(out, "metrics.jsonl"))
            if "val_loss" in x]
    assert [s for s, _ in vals] == [5, 10, 15, 20, 25, 30]
    best_val = min(v for _, v in vals)
    best_step = max(s for s, v in vals if v == best_val)
    assert best_step < 25, vals                           # the case under test
    meta, st = tf.checkpoint(os.path.join(ck, "best.ckpt"))
    assert meta["step"] == best_step
    assert meta["extra"]["val_loss"] == best_val
    # Its content is that step's: its validation loss, recomputed, is the recorded one.
    tr = bitttt.Trainer(bitttt.Model(built["linear-f32"].bitt, n_threads=1))
    for n, _ in built["linear-f32"].reference().named_parameters():
        tr.param(n)[:] = st["param." + n].ravel()
    W = val_windows(read_tokens(str(val)), B, T, 16)
    loss = np.mean([tr.loss(W[i:i + B]) for i in range(0, len(W), B)])
    assert rel(loss, best_val) <= 1e-6
    for s in (25, 30):
        meta, _ = tf.checkpoint(os.path.join(ck, f"step-{s:08d}.ckpt"))
        assert meta["step"] == s and meta["windows_drawn"] == s * B


# ---------------------------------------------------------------------------
# 4. bad input


def _bad_files(d, val):
    """(case, train file, val file, message) with the message naming the file."""
    rng = np.random.default_rng(1)
    ids = rng.integers(0, VOCAB, 500)
    ids[321] = VOCAB
    big = tf.write_tokens(d / "big.bin", ids)
    empty = d / "empty.bin"
    empty.write_bytes(b"")
    odd = d / "odd.bin"
    odd.write_bytes(b"\x01\x00\x02")
    short = tf.write_tokens(d / "short.bin", np.arange(T))
    vshort = tf.write_tokens(d / "vshort.bin", np.arange(2 * T))    # 1 window < B
    missing = d / "absent.bin"
    return {
        "train-id": (big, val, f"{big}: token {VOCAB} at position 321 is outside the "
                               f"vocabulary [0, {VOCAB})"),
        "train-empty": (empty, val, f"{empty}: 0 bytes is not a non-empty whole number"),
        "train-odd": (odd, val, f"{odd}: 3 bytes is not a non-empty whole number of u16"),
        "train-short": (short, val, f"{short}: {T} tokens, fewer than a window of "
                                    f"context + 1 = {T + 1}"),
        "train-missing": (missing, val, f"{missing}: cannot open"),
        "val-id": (None, big, f"{big}: token {VOCAB} at position 321 is outside"),
        "val-short": (None, vshort, f"{vshort}: {2 * T} tokens give fewer than batch = {B} "
                                    f"validation windows"),
    }


CASES = ["train-id", "train-empty", "train-odd", "train-short", "train-missing", "val-id",
         "val-short"]


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_bad_token_files_are_named_and_lose_nothing(built, data, run_a, tmp_path, case, resume):
    train, val, message = _bad_files(tmp_path, data[1])[case]
    train = train or data[0]
    out = str(tmp_path / "run")
    shutil.copytree(run_a[0], out)
    before = tf.tree_digest(out)
    extra = ["--resume", out] if resume else []
    r = tf.run_train(built["linear-f32"].bitt, out, train, val, *OPTS, *extra)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert message in r.stderr, r.stderr
    assert r.stdout == ""
    assert tf.tree_digest(out) == before                 # the run there is intact


@pytest.mark.parametrize("other,field", [("linear-int8", "config.act_bits"),
                                         ("seed-f32", "config.ttt.")])
def test_resume_refuses_a_checkpoint_of_another_model(built, data, run_a, tmp_path, other,
                                                      field):
    """linear-int8 has the same shapes as linear-f32 (only act_bits differs):
    the config, not the shapes, must refuse it."""
    out = str(tmp_path / "run")
    shutil.copytree(run_a[0], out)
    before = tf.tree_digest(out)
    r = tf.run_train(built[other].bitt, out, *data, *OPTS, "--resume", out)
    assert r.returncode == 1, r.stderr
    newest = os.path.join(out, "checkpoints", "step-00000030.ckpt")
    assert f"{newest}: field '{field}" in r.stderr, r.stderr
    assert "differs from the model's config" in r.stderr
    assert tf.tree_digest(out) == before


def test_resume_refuses_another_schedule(built, data, run_a, tmp_path):
    out = str(tmp_path / "run")
    shutil.copytree(run_a[0], out)
    before = tf.tree_digest(out)
    opts = [x if x != SCHED["lr"] else 0.01 for x in OPTS]
    r = tf.run_train(built["linear-f32"].bitt, out, *data, *opts, "--resume", out)
    assert r.returncode == 1, r.stderr
    assert f"field 'schedule.lr' is {SCHED['lr']}, this run has 0.01" in r.stderr, r.stderr
    assert tf.tree_digest(out) == before


def _damage(path, how):
    size = os.path.getsize(path)
    if how == "truncate":
        os.truncate(path, size - 1000)
    else:                                  # flip the last byte: inside the data section
        with open(path, "r+b") as f:
            f.seek(size - 1)
            byte = f.read(1)[0]
            f.seek(size - 1)
            f.write(bytes([byte ^ 0xFF]))


@pytest.mark.parametrize("how,why", [("truncate", "truncated"), ("flip", "checksum mismatch")])
def test_resume_skips_a_damaged_newest_checkpoint(built, data, run_a, tmp_path, how, why):
    bitt = built["linear-f32"].bitt
    out = str(tmp_path / "D")
    ck = os.path.join(out, "checkpoints")
    r = tf.run_train(bitt, out, *data, *OPTS, "--stop-at", 13)
    assert r.returncode == 130, r.stderr
    p10, p13 = (os.path.join(ck, f"step-{s:08d}.ckpt") for s in (10, 13))
    _damage(p13, how)
    r = tf.run_train(bitt, out, *data, *OPTS, "--resume", out)
    assert r.returncode == 0, r.stderr
    assert f"skipping checkpoint {p13}: {why}" in r.stderr, r.stderr
    assert f"resumed from {p10} at step 10" in r.stderr, r.stderr
    a = run_a[0]
    assert tf.metrics(os.path.join(out, "metrics.jsonl")) == \
        tf.metrics(os.path.join(a, "metrics.jsonl"))
    with open(os.path.join(a, "model", "model.safetensors"), "rb") as x, \
            open(os.path.join(out, "model", "model.safetensors"), "rb") as y:
        assert x.read() == y.read()
    # Every step file damaged: a named error, nothing changed.
    for f in os.listdir(ck):
        if f.startswith("step-"):
            _damage(os.path.join(ck, f), how)
    before = tf.tree_digest(out)
    r = tf.run_train(bitt, out, *data, *OPTS, "--resume", out)
    assert r.returncode == 1
    assert f"{ck}: no valid checkpoint to resume" in r.stderr, r.stderr
    assert tf.tree_digest(out) == before


def _fresh(built, name="linear-f32", seed=0):
    b = built[name]
    tr = bitttt.Trainer(bitttt.Model(b.bitt, n_threads=1), seed)
    return tr, b.reference()


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -1.0])
def test_step_refuses_a_bad_learning_rate_and_changes_nothing(built, tmp_path, lr):
    tr, ref = _fresh(built)
    before = trainer_params(tr, params_of(ref))
    with pytest.raises(bitttt.Error, match="is not a finite value >= 0"):
        tr.step(BATCHES[0], lr)
    assert tr.step_count == 0
    after = trainer_params(tr, before)
    for n in before:
        np.testing.assert_array_equal(after[n], before[n], err_msg=n)
    tr.save(str(tmp_path), "x.ckpt")
    _, st = tf.checkpoint(tmp_path / "x.ckpt")
    for n in before:
        assert not st["adam_m." + n].any() and not st["adam_v." + n].any(), n


def test_a_refused_step_leaves_no_pending_gradient(built):
    """After step() refused its learning rate, the trainer is as before: the
    next step() is the reference's first step, and apply() has nothing to
    apply (the refused batch's gradient must not linger)."""
    tr, ref = _fresh(built)
    with pytest.raises(bitttt.Error, match="not a finite value"):
        tr.step(BATCHES[1], float("nan"))
    loss, norm = tr.step(BATCHES[0], 1e-2)
    rt = RefTrainer(ref, TrainConfig(batch=B, context=T, steps=1, lr=1e-2, warmup=1))
    r = rt.step_on([BATCHES[0]])
    assert rel(loss, r["loss"]) <= 1e-5 and rel(norm, r["grad_norm"]) <= 1e-4
    assert tr.step_count == 1
    with pytest.raises(bitttt.Error, match="no gradient accumulated"):
        tr.apply(1e-2)


@pytest.mark.parametrize("bad,pos", [(VOCAB, 10), (-1, 3), (2**31 - 1, 13)])
def test_bad_token_ids_are_refused_by_the_trainer(built, bad, pos):
    tr, ref = _fresh(built)
    before = trainer_params(tr, params_of(ref))
    tokens = BATCHES[0].copy()
    tokens.flat[pos] = bad
    msg = f"token id {bad} at position {pos} of the batch is outside \\[0, {VOCAB}\\)"
    for call in (lambda: tr.step(tokens, 1e-2), lambda: tr.accumulate(tokens),
                 lambda: tr.loss(tokens)):
        with pytest.raises(bitttt.Error, match=msg):
            call()
    with pytest.raises(bitttt.Error, match="no gradient accumulated"):
        tr.apply(1e-2)
    assert tr.step_count == 0
    for n, v in trainer_params(tr, before).items():
        np.testing.assert_array_equal(v, before[n], err_msg=n)
    loss, _ = tr.step(BATCHES[0], 1e-2)                  # and it goes on
    assert rel(loss, tf.reference_grads(ref, BATCHES[0])[0]) <= 1e-5


@pytest.mark.parametrize("other,field", [("linear-int8", "config.act_bits"),
                                         ("seed-f32", "config.ttt.")])
def test_trainer_load_refuses_another_model_and_changes_nothing(built, tmp_path, other, field):
    src, _ = _fresh(built, other)
    src.step(BATCHES[0], 1e-2)
    src.save(str(tmp_path), "other.ckpt")
    tr, ref = _fresh(built, seed=3)
    tr.step(BATCHES[1], 1e-2)
    before = trainer_params(tr, params_of(ref))
    path = str(tmp_path / "other.ckpt")
    with pytest.raises(bitttt.Error) as e:
        tr.load(path)
    assert f"{path}: field '{field}" in str(e.value)
    assert tr.step_count == 1
    for n, v in trainer_params(tr, before).items():
        np.testing.assert_array_equal(v, before[n], err_msg=n)


def test_config_file_and_accumulation_match_flags(built, data, tmp_path):
    """`--config FILE` sets the same options as flags (the command line wins
    over the file); `--accum 2` equals the reference's accumulated step."""
    cfg = tmp_path / "train.json"
    cfg.write_text(json.dumps({"steps": 4, "lr": 3e-3, "warmup": 2, "accum": 2,
                               "eval-every": 2, "save-every": 2, "seed": 5}))
    a = tf.run_train(built["linear-f32"].bitt, tmp_path / "A", *data, "--config", cfg,
                     "--steps", "3")
    assert a.returncode == 0, a.stderr
    b = tf.run_train(built["linear-f32"].bitt, tmp_path / "B", *data, "--steps", "3",
                     "--lr", "3e-3", "--warmup", "2", "--accum", "2", "--eval-every", "2",
                     "--save-every", "2", "--seed", "5")
    assert b.returncode == 0, b.stderr
    ma = tf.metrics(str(tmp_path / "A" / "metrics.jsonl"))
    assert ma == tf.metrics(str(tmp_path / "B" / "metrics.jsonl"))
    assert [r["step"] for r in ma if "loss" in r] == [1, 2, 3]
    # The reference, accum 2, same windows (same seed), same schedule.
    ref = built["linear-f32"].reference()
    rt = RefTrainer(ref, TrainConfig(batch=B, context=T, steps=3, lr=3e-3, warmup=2,
                                     min_lr=1e-5, accum=2, seed=5))
    toks = read_tokens(data[0])
    for r in (x for x in ma if "loss" in x):
        got = rt.step(toks)
        assert rel(r["loss"], got["loss"]) <= 1e-4, (r, got)


def test_config_file_errors_name_the_field(built, data, tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"stpes": 4}))
    r = tf.run_train(built["linear-f32"].bitt, tmp_path / "C", *data, "--config", cfg)
    assert r.returncode == 1
    assert "unknown field 'stpes'" in r.stderr and str(cfg) in r.stderr
    cfg.write_text(json.dumps({"steps": "many"}))
    r = tf.run_train(built["linear-f32"].bitt, tmp_path / "C", *data, "--config", cfg)
    assert r.returncode == 1 and "field 'steps'" in r.stderr, r.stderr
