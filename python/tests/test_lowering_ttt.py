"""Compiled TTT layers (token-loop lowering) against the reference model's
layers: whole chunks, a start state in the middle of a mini-batch, a
partial last mini-batch, and one-token decodes across several mini-batch
boundaries. The compiled state keeps the current mini-batch's keys and
scaled gradients instead of the reference's running sums (DecomposeTTT.cpp);
the sums are rebuilt from those rows and compared with the reference's."""

import numpy as np
import pytest
import torch

from bitttt_ref.config import Config
from bitttt_ref.model import BitTTTModel

import compiled


def tt(shape):
    return compiled.tensor_type(shape, "f32")


def np32(t):
    return t.detach().numpy().astype(np.float32)


def linear_layer_kernel(T, D, H, b, base_lr, act_bits):
    f = D // H
    body = f"""
%pos0 = tensor.extract %a15[] : tensor<i64>
%posi = arith.index_cast %pos0 : i64 to index
%y, %w, %c, %k, %e, %pos = bitttt.ttt_linear %a0 proj(%a1, %a2, %a3, %a4) lr(%a5, %a6)
    ttt_norm(%a7, %a8) post_norm(%a9, %a10) state(%a11, %a12, %a13, %a14, %posi)
    {{num_heads = {H}, mini_batch = {b}, base_lr = {base_lr} : f32, act_bits = {act_bits}}}
    : {tt((T, D))}, {tt((D, D))}, {tt((H, D))}, {tt((H,))}, {tt((H, f))}, {tt((D,))}, {tt((H, f, f))}, {tt((H, f))}, {tt((H, b, f))}
%pi = arith.index_cast %pos : index to i64
%pt = tensor.from_elements %pi : tensor<i64>
return %y, %w, %c, %k, %e, %pt : {tt((T, D))}, {tt((H, f, f))}, {tt((H, f))}, {tt((H, b, f))}, {tt((H, b, f))}, tensor<i64>"""
    args = [((T, D), "f32")] + [((D, D), "f32")] * 4 + [
        ((H, D), "f32"), ((H,), "f32"), ((H, f), "f32"), ((H, f), "f32"),
        ((D,), "f32"), ((D,), "f32"), ((H, f, f), "f32"), ((H, f), "f32"),
        ((H, b, f), "f32"), ((H, b, f), "f32"), ((), "i64")]
    results = [((T, D), "f32"), ((H, f, f), "f32"), ((H, f), "f32"),
               ((H, b, f), "f32"), ((H, b, f), "f32"), ((), "i64")]
    return compiled.Compiled(body, args, results)


def seed_layer_kernel(T, D, d, b, inner_lr):
    body = f"""
%pos0 = tensor.extract %a6[] : tensor<i64>
%posi = arith.index_cast %pos0 : i64 to index
%y, %w, %k, %e, %pos = bitttt.ttt_seed %a0 proj(%a1, %a2) state(%a3, %a4, %a5, %posi)
    {{mini_batch = {b}, inner_lr = {inner_lr} : f32, act_bits = 0}}
    : {tt((T, D))}, {tt((d, D))}, {tt((D, d))}, {tt((d, d))}, {tt((b, d))}
%pi = arith.index_cast %pos : index to i64
%pt = tensor.from_elements %pi : tensor<i64>
return %y, %w, %k, %e, %pt : {tt((T, D))}, {tt((d, d))}, {tt((b, d))}, {tt((b, d))}, tensor<i64>"""
    return compiled.Compiled(
        body,
        [((T, D), "f32"), ((d, D), "f32"), ((D, d), "f32"), ((d, d), "f32"),
         ((b, d), "f32"), ((b, d), "f32"), ((), "i64")],
        [((T, D), "f32"), ((d, d), "f32"), ((b, d), "f32"), ((b, d), "f32"),
         ((), "i64")])


def linear_model(act_bits, b, seed=3):
    cfg = Config.from_dict({"vocab_size": 16, "hidden_dim": 32, "num_layers": 1,
                            "act_bits": act_bits,
                            "ttt": {"variant": "linear", "num_heads": 2,
                                    "mini_batch": b, "base_lr": 1.0}})
    return BitTTTModel(cfg).init_random(seed).layers[0].ttt


def seed_model(b, seed=5):
    cfg = Config.from_dict({"vocab_size": 16, "hidden_dim": 32, "num_layers": 1,
                            "act_bits": 0,
                            "ttt": {"variant": "seed", "mini_batch": b, "inner_lr": 0.3}})
    return BitTTTModel(cfg).init_random(seed).layers[0].ttt


class LinearRunner:
    """Feeds rows through compiled kernels (one per row count), threading the
    compiled state (W, c, keys, eta_grads, pos) from call to call."""

    def __init__(self, layer, b, act_bits):
        self.layer, self.b, self.act_bits = layer, b, act_bits
        H, f = layer.W0.shape[0], layer.W0.shape[1]
        self.state = [np32(layer.W0), np32(layer.b0),
                      # rows at and after pos are never read: start them as
                      # garbage to prove it
                      np.full((H, b, f), np.nan, np.float32),
                      np.full((H, b, f), np.nan, np.float32),
                      np.array(0, dtype=np.int64)]
        self.kernels = {}

    def __call__(self, x):
        T = x.shape[0]
        if T not in self.kernels:
            self.kernels[T] = linear_layer_kernel(T, 32, 2, self.b, 1.0, self.act_bits)
        L = self.layer
        y, *self.state = self.kernels[T](
            np32(x), np32(L.q_proj.weight), np32(L.k_proj.weight), np32(L.v_proj.weight),
            np32(L.o_proj.weight), np32(L.lr_proj.weight), np32(L.lr_proj.bias),
            np32(L.ttt_norm.weight), np32(L.ttt_norm.bias), np32(L.post_norm.weight),
            np32(L.post_norm.bias), *self.state)
        return y

    def sums(self):
        """The reference's (GW, Gc) from the buffered rows: Σ_j k_jᵀ e_j, Σ_j e_j."""
        _, _, keys, eg, pos = self.state
        n = int(pos)
        return (np.einsum("hja,hjb->hab", keys[:, :n], eg[:, :n]),
                eg[:, :n].sum(axis=1))


def check_output(y, y_ref, act_bits):
    y_ref = np32(y_ref)
    if act_bits == 0:
        np.testing.assert_allclose(y, y_ref, atol=1e-4 * float(np.abs(y_ref).max()), rtol=0)
    else:
        # int8 activations: a value within float noise of a rounding tie may
        # round the other way under another summation order (issue contract).
        nmse = float(((y - y_ref) ** 2).mean() / (y_ref ** 2).mean())
        assert nmse <= 1e-6, nmse


def check_linear_state(run, s_ref):
    W, c, _, _, pos = run.state
    GW, Gc = run.sums()
    assert int(pos) == s_ref.pos
    for got, want in ((W, s_ref.W), (c, s_ref.c), (GW, s_ref.GW), (Gc, s_ref.Gc)):
        np.testing.assert_allclose(got, np32(want),
                                   atol=1e-4 * max(1.0, float(want.abs().max())), rtol=0)


@pytest.mark.parametrize("act_bits", [0, 8])
@pytest.mark.parametrize("T,start,b", [(7, 0, 4), (6, 3, 4), (1, 2, 4), (8, 0, 4),
                                       (11, 2, 3), (37, 5, 16)])
def test_ttt_linear_layer(act_bits, T, start, b):
    """A chunk of T rows from a state `start` rows into the sequence (the
    compiled state there made by the compiled kernel itself)."""
    layer = linear_model(act_bits, b)
    gen = torch.Generator().manual_seed(T * 10 + start)
    x = torch.randn(start + T, 32, generator=gen)
    with torch.no_grad():
        _, state = layer(x[:start], layer.init_state())
        y_ref, s_ref = layer(x[start:], state)
    run = LinearRunner(layer, b, act_bits)
    if start:
        run(x[:start])
        check_linear_state(run, state)
    check_output(run(x[start:]), y_ref, act_bits)
    check_linear_state(run, s_ref)


@pytest.mark.parametrize("act_bits", [0, 8])
@pytest.mark.parametrize("b", [1, 3, 16])
def test_ttt_linear_decode_across_batches(act_bits, b):
    """One-row calls across at least two mini-batch commits against the
    reference's full-sequence (dual form) forward."""
    layer = linear_model(act_bits, b, seed=b)
    n = 2 * b + 3
    x = torch.randn(n, 32, generator=torch.Generator().manual_seed(b))
    with torch.no_grad():
        y_ref, s_ref = layer(x, layer.init_state())
    run = LinearRunner(layer, b, act_bits)
    y = np.concatenate([run(x[t:t + 1]) for t in range(n)])
    check_output(y, y_ref, act_bits)
    check_linear_state(run, s_ref)


def test_ttt_linear_chunk_from_mid_batch_equals_decodes():
    """A chunk that starts mid-mini-batch after decodes equals decoding it."""
    b = 4
    layer = linear_model(0, b, seed=9)
    x = torch.randn(13, 32, generator=torch.Generator().manual_seed(9))
    mixed, one = LinearRunner(layer, b, 0), LinearRunner(layer, b, 0)
    ym = np.concatenate([mixed(x[:1]), mixed(x[1:2]), mixed(x[2:10]), mixed(x[10:])])
    yo = np.concatenate([one(x[t:t + 1]) for t in range(13)])
    np.testing.assert_allclose(ym, yo, atol=1e-4 * float(np.abs(yo).max()), rtol=0)
    with torch.no_grad():
        y_ref, s_ref = layer(x, layer.init_state())
    check_output(ym, y_ref, 0)
    check_linear_state(mixed, s_ref)


class SeedRunner:
    def __init__(self, layer, b, d=8):
        self.layer, self.b, self.d = layer, b, d
        self.state = [np.zeros((d, d), np.float32), np.full((b, d), np.nan, np.float32),
                      np.full((b, d), np.nan, np.float32), np.array(0, dtype=np.int64)]
        self.kernels = {}

    def __call__(self, x):
        T = x.shape[0]
        if T not in self.kernels:
            self.kernels[T] = seed_layer_kernel(T, 32, self.d, self.b, 0.3)
        y, *self.state = self.kernels[T](np32(x), np32(self.layer.down.weight),
                                         np32(self.layer.up.weight), *self.state)
        return y

    def check_state(self, s_ref):
        W, keys, errs, pos = self.state
        n = int(pos)
        assert n == s_ref.pos
        np.testing.assert_allclose(W, np32(s_ref.W), atol=1e-5, rtol=0)
        GW = np.einsum("ji,jk->ik", errs[:n], keys[:n])     # Σ (z − k̂) k̂ᵀ
        np.testing.assert_allclose(GW, np32(s_ref.GW), atol=1e-5, rtol=0)


@pytest.mark.parametrize("T,start,b", [(5, 0, 1), (7, 1, 3), (4, 0, 2), (20, 3, 16)])
def test_ttt_seed_layer(T, start, b):
    layer = seed_model(b)
    gen = torch.Generator().manual_seed(T + 100 * start)
    x = torch.randn(start + T, 32, generator=gen)
    with torch.no_grad():
        _, state = layer(x[:start], layer.init_state())
        y_ref, s_ref = layer(x[start:], state)
    run = SeedRunner(layer, b)
    if start:
        run(x[:start])
        run.check_state(state)
    y = run(x[start:])
    np.testing.assert_allclose(y, np32(y_ref), atol=1e-4 * float(y_ref.abs().max()), rtol=0)
    run.check_state(s_ref)


@pytest.mark.parametrize("b", [1, 3, 16])
def test_ttt_seed_decode_across_batches(b):
    layer = seed_model(b, seed=b)
    n = 2 * b + 3
    x = torch.randn(n, 32, generator=torch.Generator().manual_seed(b))
    with torch.no_grad():
        y_ref, s_ref = layer(x, layer.init_state())
    run = SeedRunner(layer, b)
    y = np.concatenate([run(x[t:t + 1]) for t in range(n)])
    np.testing.assert_allclose(y, np32(y_ref), atol=1e-4 * float(y_ref.abs().max()), rtol=0)
    run.check_state(s_ref)
