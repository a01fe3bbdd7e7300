"""Compiled bitttt ops (bitttt-cpu-pipeline → LLVM → .so) against the
PyTorch reference, op by op."""

import numpy as np
import pytest
import torch

from bitttt_ref import ops

import compiled
import cpu_targets


RNG = np.random.default_rng(7)


def f32(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def ref(fn, *arrays, **kw):
    out = fn(*[torch.from_numpy(a) for a in arrays], **kw)
    if isinstance(out, tuple):
        return tuple(o.detach().numpy() for o in out)
    return out.detach().numpy()


def test_rms_norm():
    x, g = f32(5, 40), f32(40)
    k = compiled.Compiled(
        "%y = bitttt.rms_norm %a0, %a1 : tensor<5x40xf32>, tensor<40xf32>\n"
        "return %y : tensor<5x40xf32>",
        [((5, 40), "f32"), ((40,), "f32")], [((5, 40), "f32")])
    (y,) = k(x, g)
    np.testing.assert_allclose(y, ref(ops.rms_norm, x, g), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("wshape", [(16,), (2, 8)])
def test_layer_norm(wshape):
    x = f32(3, 2, 8, scale=3.0) + 1.5
    w, b = f32(*wshape), f32(*wshape)
    xt, wt = compiled.tensor_type((3, 2, 8), "f32"), compiled.tensor_type(wshape, "f32")
    if len(wshape) == 1:
        x = x.reshape(3, 16)
        xt = compiled.tensor_type((3, 16), "f32")
    k = compiled.Compiled(
        f"%y = bitttt.layer_norm %a0, %a1, %a2 : {xt}, {wt}\nreturn %y : {xt}",
        [(x.shape, "f32"), (wshape, "f32"), (wshape, "f32")], [(x.shape, "f32")])
    (y,) = k(x, w, b)
    np.testing.assert_allclose(y, ref(ops.layer_norm, x, w, b), rtol=1e-5, atol=2e-6)


def test_act_quant_exact():
    x = f32(6, 33, scale=2.0)
    x[1] = 0.0                     # all-zero row: the 1e-5 floor, no NaN
    x[2, :4] = [1.0, -0.5, 0.25, 127.0]
    k = compiled.Compiled(
        "%q, %s = bitttt.act_quant %a0 : tensor<6x33xf32> -> tensor<6x33xi8>, tensor<6xf32>\n"
        "return %q, %s : tensor<6x33xi8>, tensor<6xf32>",
        [((6, 33), "f32")], [((6, 33), "i8"), ((6,), "f32")])
    q, s = k(x)
    rq, rs = ref(ops.act_quant, x)
    np.testing.assert_array_equal(q, rq.astype(np.int8))
    np.testing.assert_array_equal(s, rs[:, 0])


def test_weight_quant():
    w = f32(24, 40, scale=0.05)
    k = compiled.Compiled(
        "%q, %g = bitttt.weight_quant %a0 : tensor<24x40xf32> -> tensor<24x40xi8>\n"
        "%gt = tensor.from_elements %g : tensor<f32>\n"
        "return %q, %gt : tensor<24x40xi8>, tensor<f32>",
        [((24, 40), "f32")], [((24, 40), "i8"), ((), "f32")])
    q, g = k(w)
    rq, rg = ref(ops.weight_quant, w)
    # Both take the mean in f64 and round it to f32: the same γ, so the same
    # codes, bit for bit.
    np.testing.assert_array_equal(g, np.float32(rg))
    np.testing.assert_array_equal(q, rq.astype(np.int8))


@pytest.mark.parametrize("act_bits", [8, 0])
def test_bitlinear_latent(act_bits):
    x, w = f32(7, 50), f32(30, 50, scale=0.1)
    k = compiled.Compiled(
        f"%y = bitttt.bitlinear %a0, %a1 {{act_bits = {act_bits}}} : tensor<7x50xf32>, tensor<30x50xf32> -> tensor<7x30xf32>\n"
        "return %y : tensor<7x30xf32>",
        [((7, 50), "f32"), ((30, 50), "f32")], [((7, 30), "f32")])
    (y,) = k(x, w)
    np.testing.assert_allclose(y, ref(ops.bitlinear, x, w, act_bits=act_bits),
                               rtol=1e-5, atol=1e-5)


def test_swiglu():
    x = f32(4, 24)
    wg, wu, wd = f32(64, 24, scale=0.2), f32(64, 24, scale=0.2), f32(24, 64, scale=0.1)
    k = compiled.Compiled(
        "%y = bitttt.swiglu %a0, %a1, %a2, %a3 {act_bits = 0} : tensor<4x24xf32>, tensor<64x24xf32>, tensor<24x64xf32>\n"
        "return %y : tensor<4x24xf32>",
        [((4, 24), "f32"), ((64, 24), "f32"), ((64, 24), "f32"), ((24, 64), "f32")],
        [((4, 24), "f32")])
    (y,) = k(x, wg, wu, wd)
    np.testing.assert_allclose(y, ref(ops.swiglu, x, wg, wu, wd, act_bits=0),
                               rtol=1e-4, atol=1e-5)


def test_embedding_and_lm_head():
    table, head = f32(37, 12), f32(37, 12)
    ids = np.array([0, 36, 5, 5, 17], dtype=np.int32)
    k = compiled.Compiled(
        "%h = bitttt.embedding %a0[%a1] : tensor<37x12xf32>, tensor<5xi32> -> tensor<5x12xf32>\n"
        "%l = bitttt.lm_head %h, %a2 : tensor<5x12xf32>, tensor<37x12xf32> -> tensor<5x37xf32>\n"
        "return %h, %l : tensor<5x12xf32>, tensor<5x37xf32>",
        [((37, 12), "f32"), ((5,), "i32"), ((37, 12), "f32")],
        [((5, 12), "f32"), ((5, 37), "f32")])
    h, logits = k(table, ids, head)
    np.testing.assert_array_equal(h, table[ids])
    np.testing.assert_allclose(logits, table[ids] @ head.T, rtol=1e-5, atol=1e-5)


TARGETS = cpu_targets.params()


def ptype_of(rows, cols, layout):
    suffix = "" if layout == "i2_b128" else f", {layout}"
    return f"!bitttt.packed_ternary<{rows}x{cols}{suffix}>"


@pytest.mark.parametrize("layout", ["i2_b128", "t5_b160"])
@pytest.mark.parametrize("target", TARGETS)
# Shapes around the register tiles (CpuTargets.def MM_ROWS x MM_TOKENS) and
# the dot width (one or two 32-byte blocks of 128 or 160 weights): remainder
# rows and tokens, odd and even numbers of whole blocks with and without a
# ragged tail, K below one block.
@pytest.mark.parametrize("tokens,rows,cols", [
    (1, 64, 256), (5, 48, 300), (3, 7, 100), (13, 9, 424), (64, 33, 640),
    (2, 3, 128), (7, 5, 384), (1, 11, 552), (4, 6, 160), (1, 9, 320),
    (3, 4, 481)])
def test_packed_bitlinear_is_bit_exact(layout, target, tokens, rows, cols):
    """Packed SIMD kernel == the reference integer BitLinear, bit for bit."""
    from bitttt_ref.packing import pack, row_bytes

    x = f32(tokens, cols, scale=2.0)
    w = f32(rows, cols, scale=0.05)
    wq, gamma = ops.weight_quant(torch.from_numpy(w))
    wq8 = wq.numpy().astype(np.int8)
    packed = pack(wq8, layout).view(np.int8)
    rb = row_bytes(cols, layout)
    ptype = ptype_of(rows, cols, layout)
    k = compiled.Compiled(
        f"%g = tensor.extract %a2[] : tensor<f32>\n"
        f"%y = bitttt.bitlinear %a0, %a1 scale %g : tensor<{tokens}x{cols}xf32>, {ptype} -> tensor<{tokens}x{rows}xf32>\n"
        f"return %y : tensor<{tokens}x{rows}xf32>",
        [((tokens, cols), "f32"), ((rows, rb), "i8", ptype), ((), "f32")],
        [((tokens, rows), "f32")],
        pipeline=f"bitttt-cpu-pipeline=target={target}", march=target)
    (y,) = k(x, packed, np.array(gamma.item(), dtype=np.float32))
    xq, s = ops.act_quant(torch.from_numpy(x))
    expect = ops.bitlinear_int(ops.to_int8(xq), s, torch.from_numpy(wq8), gamma)
    np.testing.assert_array_equal(y, expect.numpy())


@pytest.mark.parametrize("layout", ["i2_b128", "t5_b160"])
@pytest.mark.parametrize("rows,cols", [(8, 130), (3, 64), (5, 333)])
def test_packed_bitlinear_f32_activations(layout, rows, cols):
    from bitttt_ref.packing import pack, row_bytes

    x, w = f32(4, cols), f32(rows, cols, scale=0.05)
    wq, gamma = ops.weight_quant(torch.from_numpy(w))
    packed = pack(wq.numpy().astype(np.int8), layout).view(np.int8)
    ptype = ptype_of(rows, cols, layout)
    k = compiled.Compiled(
        f"%g = tensor.extract %a2[] : tensor<f32>\n"
        f"%y = bitttt.bitlinear %a0, %a1 scale %g {{act_bits = 0}} : tensor<4x{cols}xf32>, {ptype} -> tensor<4x{rows}xf32>\n"
        f"%u = bitttt.unpack_ternary %a1 : {ptype} -> tensor<{rows}x{cols}xi8>\n"
        f"return %y, %u : tensor<4x{rows}xf32>, tensor<{rows}x{cols}xi8>",
        [((4, cols), "f32"), ((rows, row_bytes(cols, layout)), "i8", ptype), ((), "f32")],
        [((4, rows), "f32"), ((rows, cols), "i8")])
    y, u = k(x, packed, np.array(gamma.item(), dtype=np.float32))
    np.testing.assert_array_equal(u, wq.numpy().astype(np.int8))
    np.testing.assert_allclose(y, ref(ops.bitlinear, x, w, act_bits=0), rtol=1e-5, atol=1e-5)


def test_rms_norm_act_quant():
    """Fused norm + quantizer: bit-identical to the unfused compiled pair,
    and equal to the reference up to the row sum's summation order."""
    x, g = f32(9, 200, scale=3.0), f32(200)
    fused = compiled.Compiled(
        "%q, %s = bitttt.rms_norm_act_quant %a0, %a1 : tensor<9x200xf32>, tensor<200xf32> -> tensor<9x200xi8>, tensor<9xf32>\n"
        "return %q, %s : tensor<9x200xi8>, tensor<9xf32>",
        [((9, 200), "f32"), ((200,), "f32")], [((9, 200), "i8"), ((9,), "f32")])
    unfused = compiled.Compiled(
        "%n = bitttt.rms_norm %a0, %a1 : tensor<9x200xf32>, tensor<200xf32>\n"
        "%q, %s = bitttt.act_quant %n : tensor<9x200xf32> -> tensor<9x200xi8>, tensor<9xf32>\n"
        "return %q, %s : tensor<9x200xi8>, tensor<9xf32>",
        [((9, 200), "f32"), ((200,), "f32")], [((9, 200), "i8"), ((9,), "f32")])
    q, s = fused(x, g)
    uq, us = unfused(x, g)
    np.testing.assert_array_equal(q, uq)
    np.testing.assert_array_equal(s, us)
    n = ops.rms_norm(torch.from_numpy(x), torch.from_numpy(g))
    rq, rs = ops.act_quant(n)
    np.testing.assert_allclose(s, rs.numpy()[:, 0], rtol=1e-6)
    off = np.abs(q.astype(np.int32) - rq.numpy().astype(np.int32))
    assert off.max() <= 1 and (off > 0).mean() <= 0.005


@pytest.mark.parametrize("layout", ["i2_b128", "t5_b160"])
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("tokens,rows,cols", [(3, 40, 200), (9, 7, 384)])
def test_gate_up_q_matches_reference(layout, target, tokens, rows, cols):
    from bitttt_ref.packing import pack, row_bytes

    x = f32(tokens, cols)
    wg, wu = f32(rows, cols, scale=0.05), f32(rows, cols, scale=0.05)
    qg, gg = ops.weight_quant(torch.from_numpy(wg))
    qu, gu = ops.weight_quant(torch.from_numpy(wu))
    xq, s = ops.act_quant(torch.from_numpy(x))
    ptype = ptype_of(rows, cols, layout)
    k = compiled.Compiled(
        f"%gg = tensor.extract %a3[] : tensor<f32>\n%gu = tensor.extract %a5[] : tensor<f32>\n"
        f"%h = bitttt.gate_up_q %a0, %a1, %a2 scale %gg, %a4 scale %gu : tensor<{tokens}x{cols}xi8>, tensor<{tokens}xf32>, {ptype}, {ptype} -> tensor<{tokens}x{rows}xf32>\n"
        f"return %h : tensor<{tokens}x{rows}xf32>",
        [((tokens, cols), "i8"), ((tokens,), "f32"), ((rows, row_bytes(cols, layout)), "i8", ptype),
         ((), "f32"), ((rows, row_bytes(cols, layout)), "i8", ptype), ((), "f32")],
        [((tokens, rows), "f32")], pipeline=f"bitttt-cpu-pipeline=target={target}", march=target)
    (h,) = k(ops.to_int8(xq).numpy(), s.numpy()[:, 0],
             pack(qg.numpy().astype(np.int8), layout).view(np.int8), np.float32(gg.item()),
             pack(qu.numpy().astype(np.int8), layout).view(np.int8), np.float32(gu.item()))
    xi = ops.to_int8(xq)
    g = ops.bitlinear_int(xi, s, ops.to_int8(qg), gg)
    u = ops.bitlinear_int(xi, s, ops.to_int8(qu), gu)
    np.testing.assert_allclose(h, (ops.silu(g) * u).numpy(), rtol=1e-5, atol=1e-6)
