"""f32 GEMMs (linalg.matmul / linalg.batch_matmul) through bitttt-cpu-pipeline,
tiled and vectorized by bitttt-vectorize-matmul, against numpy (float64
products, so the reference itself is not the error)."""

import numpy as np
import pytest

import compiled
import cpu_targets

TARGETS = cpu_targets.params()
RNG = np.random.default_rng(11)


def f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def check(got, a, b, acc=None):
    expect = np.matmul(a.astype(np.float64), b.astype(np.float64))
    if acc is not None:
        expect = expect + acc
    # Relative to the size of the terms: a K-term sum in f32 in another order.
    k = a.shape[-1]
    scale = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    if acc is not None:
        scale = scale + np.abs(acc)
    err = np.abs(got - expect) / np.maximum(scale, 1e-30)
    assert err.max() < 1e-5 * max(1.0, np.sqrt(k) / 8), err.max()


def matmul_kernel(target, shape_a, shape_b, fill=True):
    """C = A·B; C starts from linalg.fill(0) or from a third argument."""
    batch = len(shape_a) == 3
    shape_c = (*shape_a[:-1], shape_b[-1])
    ta, tb, tc = (compiled.tensor_type(s, "f32") for s in (shape_a, shape_b, shape_c))
    op = "linalg.batch_matmul" if batch else "linalg.matmul"
    if fill:
        init = (f"%z = arith.constant 0.0 : f32\n"
                f"%e = tensor.empty() : {tc}\n"
                f"%c = linalg.fill ins(%z : f32) outs(%e : {tc}) -> {tc}\n")
        cname, args = "%c", [(shape_a, "f32"), (shape_b, "f32")]
    else:
        init, cname = "", "%a2"
        args = [(shape_a, "f32"), (shape_b, "f32"), (shape_c, "f32")]
    body = (init +
            f"%y = {op} ins(%a0, %a1 : {ta}, {tb}) outs({cname} : {tc}) -> {tc}\n"
            f"return %y : {tc}")
    return compiled.Compiled(body, args, [(shape_c, "f32")],
                             pipeline=f"bitttt-cpu-pipeline=target={target}",
                             march=target)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("m,k,n", [
    (1, 1, 1), (1, 7, 1), (5, 40, 7), (5, 40, 40), (13, 3, 33), (2, 1, 17),
    (6, 16, 16), (12, 9, 32), (37, 65, 70), (64, 256, 96), (130, 33, 257)])
def test_matmul(target, m, k, n):
    a, b = f32(m, k), f32(k, n)
    (y,) = matmul_kernel(target, (m, k), (k, n))(a, b)
    check(y, a, b)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("fill", [True, False])
@pytest.mark.parametrize("m,k,n", [
    (301, 128, 160),   # tasks over row blocks, remainder rows on their own
    (300, 520, 64),    # row blocks, K in blocks of 260
    (20, 600, 300)])   # B too big for L2: tasks over column blocks, K blocks
def test_matmul_large_parallel(target, fill, m, k, n):
    a, b = f32(m, k), f32(k, n)
    if fill:
        (y,) = matmul_kernel(target, (m, k), (k, n))(a, b)
        check(y, a, b)
    else:
        c = f32(m, n)
        (y,) = matmul_kernel(target, (m, k), (k, n), fill=False)(a, b, c)
        check(y, a, b, acc=c.astype(np.float64))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("m,k,n", [(5, 40, 7), (24, 16, 48)])
def test_matmul_accumulates_into_init(target, m, k, n):
    a, b, c = f32(m, k), f32(k, n), f32(m, n)
    (y,) = matmul_kernel(target, (m, k), (k, n), fill=False)(a, b, c)
    check(y, a, b, acc=c.astype(np.float64))


MAPS = {"a": "[affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, "
             "affine_map<(m, n, k) -> (m, n)>]",
        "b": "[affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, "
             "affine_map<(m, n, k) -> (m, n)>]"}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("transposed", ["a", "b"])
@pytest.mark.parametrize("m,k,n", [(5, 40, 7), (25, 9, 40)])
def test_matmul_transposed_maps(target, transposed, m, k, n):
    """linalg.matmul with a transposing indexing map (MLIR 22's form of
    matmul_transpose_a/b): the tiles read A or B through the map."""
    a, b = f32(m, k), f32(k, n)
    at = a.T.copy() if transposed == "a" else a
    bt = b.T.copy() if transposed == "b" else b
    ta, tb = compiled.tensor_type(at.shape, "f32"), compiled.tensor_type(bt.shape, "f32")
    tc = compiled.tensor_type((m, n), "f32")
    body = (f"%z = arith.constant 0.0 : f32\n"
            f"%e = tensor.empty() : {tc}\n"
            f"%c = linalg.fill ins(%z : f32) outs(%e : {tc}) -> {tc}\n"
            f"%y = linalg.matmul indexing_maps = {MAPS[transposed]}\n"
            f"    ins(%a0, %a1 : {ta}, {tb}) outs(%c : {tc}) -> {tc}\n"
            f"return %y : {tc}")
    k_ = compiled.Compiled(body, [(at.shape, "f32"), (bt.shape, "f32")], [((m, n), "f32")],
                           pipeline=f"bitttt-cpu-pipeline=target={target}", march=target)
    (y,) = k_(at, bt)
    check(y, a, b)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("bsz,m,k,n", [
    (64, 16, 16, 16), (3, 5, 7, 9), (1, 1, 1, 1), (40, 32, 64, 48)])
def test_batch_matmul(target, bsz, m, k, n):
    a, b = f32(bsz, m, k), f32(bsz, k, n)
    (y,) = matmul_kernel(target, (bsz, m, k), (bsz, k, n))(a, b)
    check(y, a, b)


@pytest.mark.parametrize("target", TARGETS)
def test_batch_matmul_accumulates_into_init(target):
    a, b, c = f32(6, 5, 20), f32(6, 20, 3), f32(6, 5, 3)
    (y,) = matmul_kernel(target, a.shape, b.shape, fill=False)(a, b, c)
    check(y, a, b, acc=c.astype(np.float64))
