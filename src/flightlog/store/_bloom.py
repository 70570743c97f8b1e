"""Per-segment n-gram blooms that let needle searches skip segments.

The n-grams starting at every second byte (``STRIDE``) of the segment's line bytes and
metadata-value bytes each set one bit. Hashing the concatenated buffers (grams across
entry boundaries included) gives a superset of each line's grams, which can only keep a
segment, never drop one that holds a needle. A needle occurring at byte ``P`` has all
its grams at offsets ``i`` with ``(P + i) % STRIDE == 0`` indexed, so a needle passes
if for some residue every gram of that residue class is set. Indexing every second
gram halves the work and, for the same bytes, gives fewer false positives than
indexing all of them. Built with numpy over the raw Arrow buffers, in chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["NGRAM", "STRIDE", "build_bloom", "might_contain"]

NGRAM = 6
STRIDE = 2
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_GRAM_MASK = np.uint64((1 << (8 * NGRAM)) - 1)
_MAX_BITS_LOG2 = 23  # an 8 MB build bitmap stays in cache: builds ~1.5x faster
_MIN_BITS_LOG2 = 10
_CHUNK = STRIDE << 21  # a multiple of STRIDE, so offsets keep their residue across chunks


def _gram_values(data: np.ndarray, stride: int) -> np.ndarray:
    """Little-endian integer of the NGRAM-byte windows of ``data`` starting at 0, stride, ..."""
    count = len(data) - NGRAM + 1
    padded = np.zeros(len(data) + 8, dtype=np.uint8)
    padded[: len(data)] = data
    # An overlapping uint64 view with a small byte stride reads the windows in one pass.
    windows = np.ndarray(
        shape=((count + stride - 1) // stride,), dtype="<u8", buffer=padded, strides=(stride,)
    )
    return windows & _GRAM_MASK


def _big_indexes(grams: np.ndarray, big_log2: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (grams * _MULTIPLIER) >> np.uint64(64 - big_log2)


def _final_indexes(big: np.ndarray, big_log2: int, bits: int) -> np.ndarray:
    """Map indexes of the 2^big_log2 build bitmap onto ``bits`` bits (monotone, fastrange)."""
    return (big.astype(np.uint64) * np.uint64(bits)) >> np.uint64(big_log2)


def build_bloom(
    buffers: Iterable[bytes | memoryview], max_bytes: int | None = None
) -> tuple[bytes, int]:
    """Return (bloom blob, number of n-grams hashed).

    Built in a big power-of-two bitmap, then mapped onto as many bits as keep the fill
    near 0.63 (one bit per distinct gram), or onto ``max_bytes`` when that is smaller:
    bytes on disk matter too.
    """
    arrays = [np.frombuffer(b, dtype=np.uint8) for b in buffers if len(b) >= NGRAM]
    grams = sum((len(a) - NGRAM + STRIDE) // STRIDE for a in arrays)
    big_log2 = _MIN_BITS_LOG2
    while big_log2 < _MAX_BITS_LOG2 and (1 << big_log2) < 2 * grams:
        big_log2 += 1
    big = np.zeros(1 << big_log2, dtype=np.bool_)
    for array in arrays:
        # Chunks overlap by NGRAM - 1 bytes so no gram is missed at a chunk edge.
        for start in range(0, len(array) - NGRAM + 1, _CHUNK):
            piece = array[start : start + _CHUNK + NGRAM - 1]
            # int64 indexes: numpy scatters them about twice as fast as uint64 ones.
            big[_big_indexes(_gram_values(piece, STRIDE), big_log2).view(np.int64)] = True
    set_bits = np.flatnonzero(big)
    filled = len(set_bits) / len(big)
    distinct = -len(big) * np.log1p(-min(filled, 1 - 1e-9))
    bits = max(1 << _MIN_BITS_LOG2, int(distinct))
    if max_bytes is not None:
        bits = min(bits, max(1 << _MIN_BITS_LOG2, 8 * max_bytes))
    bits = min(-(-bits // 8) * 8, len(big))
    final = np.zeros(bits, dtype=np.bool_)
    final[_final_indexes(set_bits, big_log2, bits).view(np.int64)] = True
    return bytes([big_log2]) + np.packbits(final, bitorder="little").tobytes(), grams


def might_contain(bloom: bytes, needles: Sequence[str]) -> bool:
    """False only if some needle certainly is in none of the bloom's lines or values."""
    big_log2, packed = bloom[0], np.frombuffer(bloom, dtype=np.uint8, offset=1)
    bits = len(packed) * 8
    for needle in needles:
        data = np.frombuffer(needle.encode(), dtype=np.uint8)
        if len(data) < NGRAM + STRIDE - 1:
            continue  # some residue class has no gram: this needle cannot prune
        indexes = _final_indexes(_big_indexes(_gram_values(data, 1), big_log2), big_log2, bits)
        byte_values = packed[(indexes >> np.uint64(3)).astype(np.int64)]
        present = ((byte_values >> (indexes & np.uint64(7)).astype(np.uint8)) & 1).astype(bool)
        if not any(present[residue::STRIDE].all() for residue in range(STRIDE)):
            return False
    return True
