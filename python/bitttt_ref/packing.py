"""Packed ternary layout i2_b128 (docs/packing.md), written from the spec.

Row r has nb = ceil(cols/128) blocks of 32 bytes; in block b, byte i holds in
bits [2k, 2k+1] the code q = w + 1 of column 128*b + 32*k + i; padding
columns have q = 1 (weight 0).
"""

import numpy as np


def row_bytes(cols: int) -> int:
    return 32 * ((cols + 127) // 128)


def pack_i2_b128(wq: np.ndarray) -> np.ndarray:
    """int8 ternary [rows, cols] → uint8 [rows, row_bytes(cols)]."""
    wq = np.asarray(wq)
    if wq.ndim != 2 or not np.isin(wq, (-1, 0, 1)).all():
        raise ValueError("pack_i2_b128: expects a 2-D matrix of -1/0/+1")
    rows, cols = wq.shape
    padded = np.ones((rows, row_bytes(cols) * 4), dtype=np.uint8)
    padded[:, :cols] = (wq + 1).astype(np.uint8)
    blocks = padded.reshape(rows, -1, 4, 32)          # [r, b, k, i]
    out = np.zeros((rows, blocks.shape[1], 32), dtype=np.uint8)
    for k in range(4):
        out |= blocks[:, :, k, :] << (2 * k)
    return out.reshape(rows, -1)


def unpack_i2_b128(packed: np.ndarray, cols: int) -> np.ndarray:
    """uint8 [rows, row_bytes] → int8 ternary [rows, cols]."""
    rows = packed.shape[0]
    blocks = packed.reshape(rows, -1, 32)
    codes = np.stack([(blocks >> (2 * k)) & 3 for k in range(4)], axis=2)
    return (codes.reshape(rows, -1)[:, :cols].astype(np.int8) - 1)
