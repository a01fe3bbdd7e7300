"""The i2_b128 packer against the layout rule spelled out bit by bit."""

import numpy as np
import pytest

from bitttt_ref.packing import pack_i2_b128, row_bytes, unpack_i2_b128


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
