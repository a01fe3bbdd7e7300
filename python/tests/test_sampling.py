"""The sampler (bitttt_sampler_*) against an independent numpy statement of
its documented rule: repetition penalty, temperature, top-k (ties at the
k-th kept), top-p (smallest most-likely set reaching p), min-p, renormalised;
greedy at temperature 0; a fixed seed repeats its draws."""

import numpy as np
import pytest

import bitttt


def reference(logits, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0,
              repeat_penalty=1.0, history=()):
    # The C parameters are floats: the rule sees their float32 values.
    temperature, top_p, min_p, repeat_penalty = (
        float(np.float32(v)) for v in (temperature, top_p, min_p, repeat_penalty))
    z = np.asarray(logits, dtype=np.float64).copy()
    z[np.isnan(z)] = -np.inf
    for i in set(history):
        z[i] = z[i] / repeat_penalty if z[i] > 0 else z[i] * repeat_penalty
    p = np.zeros_like(z)
    if temperature == 0:
        p[int(np.argmax(z))] = 1.0
        return p
    z = z / temperature
    order = sorted(range(len(z)), key=lambda i: (-z[i], i))
    keep = [i for i in order if z[i] > -np.inf] or order[:1]
    if top_k:
        kth = z[order[top_k - 1]] if top_k <= len(order) else -np.inf
        keep = [i for i in keep if z[i] >= kth]

    def soft(ids):
        e = np.exp(np.array([z[i] for i in ids]) - z[ids[0]])
        return e / e.sum()
    if top_p < 1:
        q, mass, n = soft(keep), 0.0, 0
        while n < len(keep) and mass < top_p:
            mass += q[n]
            n += 1
        keep = keep[:max(n, 1)]
    if min_p > 0:
        q = soft(keep)
        keep = [i for i, v in zip(keep, q) if v >= min_p * q[0]]
    q = soft(keep)
    for i, v in zip(keep, q):
        p[i] = v
    return p


LOGITS = np.array([2.0, 1.0, 1.0, 0.5, -1.0, 3.0, np.nan, -np.inf, 1.0, 0.25], np.float32)

CASES = [
    dict(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0),
    dict(temperature=0.7, top_k=3, top_p=1.0, min_p=0.0),     # ties at the 3rd? no
    dict(temperature=1.0, top_k=4, top_p=1.0, min_p=0.0),     # 1.0 ties at the 4th: 5 kept
    dict(temperature=1.0, top_k=0, top_p=0.8, min_p=0.0),
    dict(temperature=1.3, top_k=0, top_p=0.5, min_p=0.0),
    dict(temperature=1.0, top_k=0, top_p=1.0, min_p=0.2),
    dict(temperature=2.0, top_k=6, top_p=0.9, min_p=0.05),
    dict(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.5,
         history=(5, 4, 5)),
    dict(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0),
    dict(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=4.0, history=(5,)),
]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_distribution_equals_the_rule(case):
    history = case.pop("history", ())
    s = bitttt.Sampler(seed=1, repeat_last_n=-1, **case)
    for i in history:
        s.accept(i)
    got = s.probs(LOGITS)
    want = reference(LOGITS, history=history, **case)
    np.testing.assert_array_equal(got > 0, want > 0)              # the mask, exactly
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert abs(got.sum() - 1) < 1e-12


def test_top_k_keeps_ties_at_the_kth():
    s = bitttt.Sampler(temperature=1, top_k=4, top_p=1, min_p=0, seed=0)
    p = s.probs(LOGITS)
    assert set(np.nonzero(p)[0]) == {5, 0, 1, 2, 8}


def test_penalty_window_forgets_old_ids():
    s = bitttt.Sampler(temperature=0, top_k=0, top_p=1, min_p=0, repeat_penalty=100.0,
                       repeat_last_n=2, seed=0)
    s.accept(5)                    # penalised: argmax moves to 0
    assert int(np.argmax(s.probs(LOGITS))) == 0
    s.accept(1)
    s.accept(2)                    # 5 is out of the window of 2
    assert int(np.argmax(s.probs(LOGITS))) == 5


def test_greedy_is_argmax_and_nan_never_wins():
    s = bitttt.Sampler(temperature=0, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.normal(size=97).astype(np.float32)
        x[rng.integers(0, 97)] = np.nan
        want = int(np.nanargmax(np.where(np.isnan(x), -np.inf, x)))
        assert s.sample(x) == want
    with pytest.raises(bitttt.Error, match="every logit is NaN"):
        s.sample(np.full(5, np.nan, np.float32))


def test_a_fixed_seed_repeats_its_draws():
    x = np.random.default_rng(1).normal(size=500).astype(np.float32)
    draws = []
    for _ in range(2):
        s = bitttt.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=1234)
        draws.append([s.sample(x) for _ in range(200)])
    assert draws[0] == draws[1]
    s = bitttt.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=1235)
    assert [s.sample(x) for _ in range(200)] != draws[0]
    s.reset()   # back to the seed's start... of seed 1235
    again = [s.sample(x) for _ in range(200)]
    s2 = bitttt.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=1235)
    assert again == [s2.sample(x) for _ in range(200)]


def test_draws_follow_the_distribution():
    x = np.array([1.0, 0.0, -0.5, 2.0], np.float32)
    s = bitttt.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=7)
    n = 20000
    counts = np.bincount([s.sample(x) for _ in range(n)], minlength=4)
    p = reference(x)
    # 5 standard deviations of a binomial count per bin.
    assert np.all(np.abs(counts - n * p) <= 5 * np.sqrt(n * p * (1 - p)) + 1), (counts, n * p)


@pytest.mark.parametrize("kw,field", [
    (dict(temperature=-1), "temperature"), (dict(top_p=0.0), "top_p"),
    (dict(top_p=1.5), "top_p"), (dict(min_p=2.0), "min_p"),
    (dict(top_k=-2), "top_k"), (dict(repeat_penalty=0.0), "repeat_penalty"),
    (dict(repeat_last_n=-3), "repeat_last_n")])
def test_bad_parameters_name_the_field(kw, field):
    with pytest.raises(bitttt.Error, match=f"params.{field}"):
        bitttt.Sampler(**kw)
