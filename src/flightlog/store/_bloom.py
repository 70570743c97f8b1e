"""Per-segment n-gram bloom filters that let needle searches skip segments.

Every byte n-gram of the segment's line bytes and metadata-value bytes sets one bit.
Hashing the concatenated buffers (n-grams across entry boundaries included) gives a
superset of the grams of each line, which can only keep a segment, never drop one
that holds a needle. Built with numpy over the raw Arrow buffers, in chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["NGRAM", "build_bloom", "might_contain"]

NGRAM = 6
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_MAX_BITS_LOG2 = 25
_MIN_BITS_LOG2 = 10
_MAX_FILL = 0.7
_CHUNK = 1 << 22


_GRAM_MASK = np.uint64((1 << (8 * NGRAM)) - 1)


def _gram_values(data: np.ndarray) -> np.ndarray:
    """Little-endian integer of each NGRAM-byte window of ``data`` (uint8)."""
    count = len(data) - NGRAM + 1
    padded = np.zeros(len(data) + 8, dtype=np.uint8)
    padded[: len(data)] = data
    # An overlapping uint64 view with a one-byte stride reads every window in one pass.
    windows = np.ndarray(shape=(count,), dtype="<u8", buffer=padded, strides=(1,))
    return windows & _GRAM_MASK


def _bit_indexes(grams: np.ndarray, bits_log2: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (grams * _MULTIPLIER) >> np.uint64(64 - bits_log2)


def build_bloom(buffers: Iterable[bytes | memoryview]) -> tuple[bytes, int]:
    """Return (bit array bytes, number of n-gram positions hashed)."""
    arrays = [np.frombuffer(b, dtype=np.uint8) for b in buffers if len(b) >= NGRAM]
    positions = sum(len(a) - NGRAM + 1 for a in arrays)
    bits_log2 = _MIN_BITS_LOG2
    while bits_log2 < _MAX_BITS_LOG2 and (1 << bits_log2) < 2 * positions:
        bits_log2 += 1
    bits = np.zeros(1 << bits_log2, dtype=np.bool_)
    for array in arrays:
        # Chunks overlap by NGRAM - 1 bytes so no gram is missed at a chunk edge.
        for start in range(0, len(array) - NGRAM + 1, _CHUNK):
            piece = array[start : start + _CHUNK + NGRAM - 1]
            bits[_bit_indexes(_gram_values(piece), bits_log2)] = True
    # Fold (OR bit pairs 2i, 2i+1 into bit i: the index with one bit less) while the
    # filter stays sparse enough to prune well.
    while len(bits) > (1 << _MIN_BITS_LOG2):
        folded = bits[0::2] | bits[1::2]
        if folded.mean() > _MAX_FILL:
            break
        bits = folded
    return np.packbits(bits, bitorder="little").tobytes(), positions


def might_contain(bloom: bytes, needles: Sequence[str]) -> bool:
    """False only if some needle certainly is not in the segment."""
    bits_log2 = (len(bloom) * 8).bit_length() - 1
    packed = np.frombuffer(bloom, dtype=np.uint8)
    for needle in needles:
        data = np.frombuffer(needle.encode(), dtype=np.uint8)
        if len(data) < NGRAM:
            continue
        indexes = _bit_indexes(_gram_values(data), bits_log2)
        bytes_ = packed[(indexes >> np.uint64(3)).astype(np.int64)]
        set_ = (bytes_ >> (indexes & np.uint64(7)).astype(np.uint8)) & 1
        if not set_.all():
            return False
    return True
