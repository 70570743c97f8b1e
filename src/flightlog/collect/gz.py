"""Compressed rotated files (``.gz``): read once, and never what was read uncompressed.

A ``.gz`` the globs match (or, with ``read_gz``, a compressed rotated sibling of a file
they match: ``train.log.1.gz``, ``train.log-20240101.gz``, ``train.log.gz``) is read
once, unless its content was already read as an uncompressed file. It is read as it
is decompressed (``GzReader``), in the agent's normal batches, however large it is; its
position (decompressed bytes of the lines shipped, with ``done`` once all are) goes into
``positions.json`` with each batch, so a restart mid-archive decompresses up to it again
and goes on from there: no line lost or read twice. Logrotate
compresses ``train.log.1`` to ``train.log.1.gz`` while the agent may still be reading
``train.log.1``, or after it read it: the decompressed head is compared with the
fingerprints of the files the agent knows (open, finished, or forgotten lately), and
the archive is read only past the offset the best match was read to (nothing, if that
file is still open and will be read to its end). An archive still being written (not
whole, and modified within the settle time) is looked at again later.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterable

from flightlog.collect.multiline import MultilineJoiner
from flightlog.collect.positions import FINGERPRINT_BYTES, FilePosition, fingerprint_of
from flightlog.collect.tailer import MAX_LINE_BYTES, line_offsets, split_lines

__all__ = ["GzReader", "already_read", "compressed_patterns", "read_gz_head"]

_CHUNK_BYTES = 1 << 20


class GzReader:
    """Reads the lines of one archive as it decompresses it, from a decompressed offset.

    Memory stays bounded whatever the archive's size: at most one read's worth (the
    room left in the agent's batch, or one line up to ``max_line_bytes``) is held. The
    position it reports counts decompressed bytes of the lines handed on (not past an
    open multiline entry), so a restart decompresses up to it again and goes on there.
    A truncated or corrupt archive yields what it holds; ``settling`` says whether it
    ended early while still being written (then the agent looks at it again later).
    """

    def __init__(
        self,
        path: str,
        key: str,
        position: FilePosition,
        *,
        joiner: MultilineJoiner | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        read_chunk_bytes: int = _CHUNK_BYTES,
    ) -> None:
        self.path = path
        self.key = key
        self.stream = position.stream or position.path
        """The file the lines belong to (their ``filename``)."""
        self.fingerprint = position.fingerprint
        self.fingerprint_len = position.fingerprint_len
        self.joiner = joiner
        self.max_line_bytes = max_line_bytes
        self.read_chunk_bytes = read_chunk_bytes
        self._raw = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._handle = gzip.GzipFile(fileobj=self._raw, mode="rb")
        self._buffer = b""
        self._eof = False
        self.complete = True
        """False once the archive turned out truncated or corrupt."""
        self.offset = 0
        self.waiting = False
        """Whether the last read left a line longer than the room it was given."""
        self._skip(position.offset)

    def close(self) -> None:
        self._handle.close()
        self._raw.close()

    def _read(self, size: int) -> bytes:
        if self._eof:
            return b""
        try:
            data = self._handle.read(size)
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError):
            data = b""
            self.complete = False
        if not data:
            self._eof = True
        return data

    def _skip(self, offset: int) -> None:
        """Decompress and drop the first ``offset`` bytes (read before a restart)."""
        while self.offset < offset:
            chunk = self._read(min(self.read_chunk_bytes, offset - self.offset))
            if not chunk:
                break
            self.offset += len(chunk)

    def _fill(self, size: int) -> None:
        while len(self._buffer) < size:
            chunk = self._read(size - len(self._buffer))
            if not chunk:
                return
            self._buffer += chunk

    @property
    def ended(self) -> bool:
        """Whether decompression reached the archive's end (or where it breaks off)."""
        return self._eof

    def settling(self, now_ns: int, settle_ns: int) -> bool:
        """Whether the archive ended early and was written to less than ``settle_ns`` ago."""
        if self.complete or not self._eof:
            return False
        return now_ns - os.fstat(self._raw.fileno()).st_mtime_ns < settle_ns

    def position(self, *, done: bool = False) -> FilePosition:
        """The position to persist: past every line handed on, not past an open entry."""
        offset = self.offset
        if not done and self.joiner is not None and self.joiner.pending_offset is not None:
            offset = self.joiner.pending_offset
        stream = self.stream if self.stream != self.path else ""
        return FilePosition(self.path, offset, self.fingerprint, self.fingerprint_len, done, stream)

    def read_lines(self, max_bytes: int, *, over: bool = True) -> tuple[list[str], list[int]]:
        """The next complete lines, at most ``max_bytes`` of them, and (with a joiner)
        their offsets. When the next line alone is longer, it is handed on by itself, or,
        with ``over`` false, left for a later call (``waiting`` is then true: the agent
        sends what it has first). A last line without a newline is handed on once the
        archive ended, unless it ended early and is ``settling``: see the agent."""
        want = max(1, min(max_bytes, self.read_chunk_bytes))
        self._fill(want + 1)  # one byte more: is a line longer than `want` next?
        data = self._buffer
        end = data.rfind(b"\n", 0, want)
        self.waiting = False
        if end >= 0:
            cut = end + 1
        elif not over and len(data) > want:
            self.waiting = True
            return [], []
        else:
            newline = data.find(b"\n", 0, self.max_line_bytes)
            size = want
            while newline < 0 and len(data) < self.max_line_bytes and not self._eof:
                size = min(size * 2, self.max_line_bytes)
                self._fill(size)
                data = self._buffer
                newline = data.find(b"\n", 0, self.max_line_bytes)
            if newline >= 0:
                cut = newline + 1
            elif len(data) >= self.max_line_bytes:
                cut = self.max_line_bytes  # a runaway line is cut, as in a plain file
            elif self.complete:
                cut = len(data)  # the archive's last line, without its newline
            else:
                cut = 0  # ended early: the agent decides (see `settling`)
        if not cut:
            return [], []
        complete, self._buffer = data[:cut], data[cut:]
        start = self.offset
        self.offset += cut
        lines = split_lines(complete)
        offsets = line_offsets(complete, start, len(lines)) if self.joiner is not None else []
        return lines, offsets

    def take_rest(self) -> list[str]:
        """What is left of an archive that ended early for good (its cut last line)."""
        rest, self._buffer = self._buffer, b""
        self.offset += len(rest)
        return split_lines(rest)


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
