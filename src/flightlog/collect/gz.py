"""Compressed rotated files (``.gz``): read once, and never what was read uncompressed.

A ``.gz`` the globs match (or, with ``read_gz``, a compressed rotated sibling of a file
they match: ``train.log.1.gz``, ``train.log-20240101.gz``, ``train.log.gz``) is read
whole once, unless its content was already read as an uncompressed file. Logrotate
compresses ``train.log.1`` to ``train.log.1.gz`` while the agent may still be reading
``train.log.1``, or after it read it: the decompressed head is compared with the
fingerprints of the files the agent knows (open, finished, or forgotten lately), and
the archive is read only past the offset the best match was read to (nothing, if that
file is still open and will be read to its end). An archive still being written (not
whole, and modified within the settle time) is looked at again later.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from flightlog.collect.positions import FINGERPRINT_BYTES, FilePosition, fingerprint_of

__all__ = ["GzContent", "already_read", "compressed_patterns", "read_gz", "read_gz_head"]

_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class GzContent:
    """The decompressed bytes of an archive and whether the archive was whole."""

    data: bytes
    complete: bool


def read_gz(path: str) -> GzContent:
    """Decompress ``path`` (a truncated or corrupt archive yields what it holds)."""
    chunks = []
    complete = True
    with gzip.open(path, "rb") as handle:
        try:
            while chunk := handle.read(_CHUNK_BYTES):
                chunks.append(chunk)
        except (EOFError, zlib.error, gzip.BadGzipFile):
            complete = False
    return GzContent(b"".join(chunks), complete)


def read_gz_head(path: str, length: int = FINGERPRINT_BYTES) -> bytes | None:
    """The first ``length`` decompressed bytes of ``path``; None if it cannot be read."""
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(length)
    except (OSError, EOFError, zlib.error):
        return None


def compressed_patterns(pattern: str) -> tuple[str, ...]:
    """Globs for the compressed rotated siblings of the files ``pattern`` matches."""
    if pattern.endswith(".gz"):
        return ()
    return (f"{pattern}.gz", f"{pattern}.*.gz", f"{pattern}-*.gz")


def already_read(
    head: bytes, known: Iterable[tuple[FilePosition, bool]]
) -> tuple[FilePosition, bool] | None:
    """The known file whose content ``head`` (a decompressed start) begins, if any.

    ``known`` holds ``(position, open)`` pairs; an open file will still be read to its
    end. The longest fingerprint wins (then an open file, then the furthest offset): a
    short fingerprint (of a file that was short when read) could be shared by unrelated
    files.
    """
    best: tuple[FilePosition, bool] | None = None
    best_rank = (0, False, 0)
    digests: dict[int, str] = {}
    for position, is_open in known:
        length = position.fingerprint_len
        if not length or len(head) < length:
            continue
        digest = digests.get(length)
        if digest is None:
            digest = digests[length] = fingerprint_of(head[:length])
        if digest != position.fingerprint:
            continue
        rank = (length, is_open, position.offset)
        if best is None or rank > best_rank:
            best, best_rank = (position, is_open), rank
    return best
