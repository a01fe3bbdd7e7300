"""Packed ternary layouts (docs/packing.md), written from the spec.

i2_b128: row r has nb = ceil(cols/128) blocks of 32 bytes; in block b, byte i
holds in bits [2k, 2k+1] the code q = w + 1 of column 128*b + 32*k + i.

t5_b160: nb = ceil(cols/160) blocks of 32 bytes; in block b, byte i holds the
codes t_k = w + 1 of columns 160*b + 32*k + i (k = 0..4) as the base-3 number
v = sum t_k * 3**(4-k), stored as ceil(v * 256 / 243) (TQ1_0's encoding), so
t_k = (3 * (byte * 3**k mod 256)) >> 8.

In both, padding columns have code 1 (weight 0).
"""

import numpy as np

LAYOUTS = ("i2_b128", "t5_b160")
_BLOCK = {"i2_b128": 128, "t5_b160": 160}


def row_bytes(cols: int, layout: str = "i2_b128") -> int:
    n = _BLOCK[layout]
    return 32 * ((cols + n - 1) // n)


def _codes(wq: np.ndarray, layout: str) -> np.ndarray:
    """[rows, blocks, k, 32] codes w + 1, padded with 1."""
    wq = np.asarray(wq)
    if wq.ndim != 2 or not np.isin(wq, (-1, 0, 1)).all():
        raise ValueError(f"pack_{layout}: expects a 2-D matrix of -1/0/+1")
    rows, cols = wq.shape
    per = _BLOCK[layout] // 32
    padded = np.ones((rows, row_bytes(cols, layout) * per), dtype=np.uint8)
    padded[:, :cols] = (wq + 1).astype(np.uint8)
    return padded.reshape(rows, -1, per, 32)


def pack_i2_b128(wq: np.ndarray) -> np.ndarray:
    """int8 ternary [rows, cols] → uint8 [rows, row_bytes(cols)]."""
    blocks = _codes(wq, "i2_b128")                    # [r, b, k, i]
    out = np.zeros(blocks.shape[:2] + (32,), dtype=np.uint8)
    for k in range(4):
        out |= blocks[:, :, k, :] << (2 * k)
    return out.reshape(blocks.shape[0], -1)


def unpack_i2_b128(packed: np.ndarray, cols: int) -> np.ndarray:
    """uint8 [rows, row_bytes] → int8 ternary [rows, cols]."""
    rows = packed.shape[0]
    blocks = packed.reshape(rows, -1, 32)
    codes = np.stack([(blocks >> (2 * k)) & 3 for k in range(4)], axis=2)
    return (codes.reshape(rows, -1)[:, :cols].astype(np.int8) - 1)


def pack_t5_b160(wq: np.ndarray) -> np.ndarray:
    """int8 ternary [rows, cols] → uint8 [rows, row_bytes(cols, "t5_b160")]."""
    blocks = _codes(wq, "t5_b160").astype(np.int64)   # [r, b, k, i]
    v = np.zeros(blocks.shape[:2] + (32,), dtype=np.int64)
    for k in range(5):
        v = 3 * v + blocks[:, :, k, :]
    q = (v * 256 + 242) // 243
    return q.astype(np.uint8).reshape(blocks.shape[0], -1)


def unpack_t5_b160(packed: np.ndarray, cols: int) -> np.ndarray:
    """uint8 [rows, row_bytes] → int8 ternary [rows, cols]."""
    rows = packed.shape[0]
    blocks = packed.reshape(rows, -1, 32).astype(np.int64)
    codes = np.stack([(3 * ((blocks * 3 ** k) % 256)) >> 8 for k in range(5)],
                     axis=2)
    return (codes.reshape(rows, -1)[:, :cols].astype(np.int8) - 1)


def pack(wq: np.ndarray, layout: str = "i2_b128") -> np.ndarray:
    return {"i2_b128": pack_i2_b128, "t5_b160": pack_t5_b160}[layout](wq)


def unpack(packed: np.ndarray, cols: int, layout: str = "i2_b128") -> np.ndarray:
    return {"i2_b128": unpack_i2_b128,
            "t5_b160": unpack_t5_b160}[layout](packed, cols)
