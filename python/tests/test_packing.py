"""The packers against the layout rules spelled out digit by digit."""

import numpy as np
import pytest

from bitttt_ref.packing import (pack_i2_b128, pack_t5_b160, row_bytes,
                                unpack_i2_b128, unpack_t5_b160)


@pytest.mark.parametrize("cols", [1, 31, 128, 129, 300])
def test_layout_rule_and_round_trip(cols):
    rng = np.random.default_rng(cols)
    wq = rng.integers(-1, 2, size=(3, cols)).astype(np.int8)
    packed = pack_i2_b128(wq)
    assert packed.shape == (3, row_bytes(cols)) and packed.dtype == np.uint8
    for r in range(3):
        for col in range(row_bytes(cols) * 4):
            b, rest = divmod(col, 128)
            k, i = divmod(rest, 32)
            code = (int(packed[r, 32 * b + i]) >> (2 * k)) & 3
            assert code == (wq[r, col] + 1 if col < cols else 1)
    np.testing.assert_array_equal(unpack_i2_b128(packed, cols), wq)


def test_rejects_non_ternary():
    with pytest.raises(ValueError):
        pack_i2_b128(np.array([[2, 0]], dtype=np.int8))


@pytest.mark.parametrize("cols", [1, 31, 160, 161, 500])
def test_t5_b160_layout_rule_and_round_trip(cols):
    """Byte i of block b is ceil(v·256/243) for the base-3 number v of the
    codes of columns 160·b + 32·k + i, k = 0..4 (most significant first)."""
    rng = np.random.default_rng(cols)
    wq = rng.integers(-1, 2, size=(3, cols)).astype(np.int8)
    packed = pack_t5_b160(wq)
    assert packed.shape == (3, row_bytes(cols, "t5_b160"))
    assert packed.dtype == np.uint8
    for r in range(3):
        for b in range(packed.shape[1] // 32):
            for i in range(32):
                v = 0
                for k in range(5):
                    col = 160 * b + 32 * k + i
                    v = 3 * v + (int(wq[r, col]) + 1 if col < cols else 1)
                assert int(packed[r, 32 * b + i]) == -(-v * 256 // 243)
    np.testing.assert_array_equal(unpack_t5_b160(packed, cols), wq)


def test_t5_b160_every_byte_decodes():
    """All 243 five-trit groups: the kernel's decode (signed state s = q ^ 0x80,
    trit k = (s_k > -43) + (s_k > 42), s_{k+1} = 3·s_k mod 256) and the
    spec's ((3·(q·3^k mod 256)) >> 8) both give the digits back."""
    import itertools
    for digits in itertools.product(range(3), repeat=5):
        wq = np.zeros((1, 160), dtype=np.int8)
        for k, t in enumerate(digits):
            wq[0, 32 * k] = t - 1
        q = int(pack_t5_b160(wq)[0, 0])
        s = ((q ^ 0x80) + 128) % 256 - 128  # as a signed byte
        for k, t in enumerate(digits):
            assert (3 * ((q * 3 ** k) % 256)) >> 8 == t
            assert int(s > -43) + int(s > 42) == t
            s = (3 * s + 128) % 256 - 128


def test_t5_rejects_non_ternary():
    with pytest.raises(ValueError):
        pack_t5_b160(np.array([[0, -2]], dtype=np.int8))
