"""Following one file: read complete lines from an offset, notice rotation.

Rotation by rename: the path now names another file (or none). The tailer keeps its
descriptor, reads what was written to the old file until it has been quiet for
``rotate_wait_secs``, then closes; the agent opens the new file from offset 0.

Rotation by copytruncate: the file shrank below our offset, or its first bytes changed.
Lines written after our last read but before the copy are in the copy, at the same
offsets: the tailer looks for a sibling (``name.1``, ``name-20240101``, ...) that starts
with the same bytes and reads the rest from it, then starts over at offset 0.

Compressed rotated files (``.gz``) are read when the agent is asked to: see ``gz.py``.
"""

from __future__ import annotations

import errno
import os
import time

from flightlog.collect.multiline import MultilineJoiner
from flightlog.collect.positions import (
    FINGERPRINT_BYTES,
    FilePosition,
    file_key,
    fingerprint_of,
)

__all__ = ["MAX_LINE_BYTES", "FileTailer", "renamed_sibling", "rotated_siblings", "split_lines"]

MAX_LINE_BYTES = 1 << 20
"""A line without a newline is cut here (a runaway writer must not hold the agent)."""


def split_lines(data: bytes) -> list[str]:
    """The lines of ``data`` (ending in a newline or not), each without a trailing ``\\r``."""
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    return lines


def line_offsets(data: bytes, start: int, count: int) -> list[int]:
    """Byte offset (from ``start``) where each of the first ``count`` lines of ``data`` begins."""
    offsets: list[int] = []
    position = start
    for line in data.split(b"\n")[:count]:
        offsets.append(position)
        position += len(line) + 1
    return offsets


def rotated_siblings(path: str) -> list[str]:
    """Paths beside ``path`` whose names extend its name (``name.1``, ``name-20240101``).

    Sorted; compressed ones (``.gz``) are other files, not rotated copies to tail.
    """
    directory = os.path.dirname(path) or "."
    base = os.path.basename(path)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [
        os.path.join(directory, name)
        for name in names
        if name != base and name.startswith(base) and not name.endswith(".gz")
    ]


def renamed_sibling(path: str, key: str) -> str | None:
    """The rotated name (``name.1``, ...) that the file of identity ``key`` has now."""
    for sibling in rotated_siblings(path):
        try:
            stat = os.stat(sibling)
        except OSError:
            continue
        if file_key(stat) == key:
            return sibling
    return None


class FileTailer:
    """Reads lines appended to one file (one inode), from a persisted offset."""

    def __init__(
        self,
        path: str,
        key: str,
        position: FilePosition | None,
        *,
        joiner: MultilineJoiner | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        read_chunk_bytes: int = 1 << 20,
    ) -> None:
        self.path = path
        self.key = key
        self.fd = os.open(path, os.O_RDONLY)
        if file_key(os.fstat(self.fd)) != key:
            # Renamed away between the caller's stat and our open (fast rotation): the
            # path names another file now, whose lines are not the ones asked for.
            os.close(self.fd)
            raise FileNotFoundError(errno.ENOENT, "the file was renamed away", path)
        self.joiner = joiner
        self.max_line_bytes = max_line_bytes
        self.read_chunk_bytes = read_chunk_bytes
        self.offset = 0
        self.fingerprint = ""
        self.fingerprint_len = 0
        self.rotated_at: float | None = None
        """Monotonic time the path stopped naming this file (rename rotation), else None."""
        self.last_data_at = 0.0
        self.scanned_ns = time.time_ns()
        """Wall time (filesystem clock) of the last look for rotated copies of this file."""
        # The fingerprint covers only bytes we consumed, so it always describes the
        # content our offset counts in (the file may be rewritten under us meanwhile).
        self._head_bytes = b""
        self.resumed = position is not None and self._matches(position)
        """Whether ``position`` described this file's content and reading resumed there."""
        if position is not None and self.resumed:
            self.offset = position.offset
            self._head_bytes = self._head(min(position.offset, FINGERPRINT_BYTES))
            self.fingerprint = position.fingerprint
            self.fingerprint_len = position.fingerprint_len
            if len(self._head_bytes) > self.fingerprint_len:
                self._set_fingerprint()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _head(self, length: int) -> bytes:
        return os.pread(self.fd, length, 0)

    def current_head(self) -> bytes:
        """The first bytes of the file now (what a fresh copy of it would start with)."""
        return self._head(FINGERPRINT_BYTES)

    def _matches(self, position: FilePosition) -> bool:
        """Whether a saved position belongs to this file's content (inodes get reused)."""
        if not position.fingerprint_len:
            return True
        head = self._head(position.fingerprint_len)
        return (
            len(head) == position.fingerprint_len and fingerprint_of(head) == position.fingerprint
        )

    def _set_fingerprint(self) -> None:
        self.fingerprint = fingerprint_of(self._head_bytes)
        self.fingerprint_len = len(self._head_bytes)

    def position(self) -> FilePosition:
        """The position to persist: past every line handed on, not past an open entry."""
        offset = self.offset
        if self.joiner is not None and self.joiner.pending_offset is not None:
            offset = self.joiner.pending_offset
        return FilePosition(self.path, offset, self.fingerprint, self.fingerprint_len)

    def truncated(self) -> bool:
        """Whether the file was truncated (copytruncate) since we read it."""
        size = os.fstat(self.fd).st_size
        if size < self.offset:
            return True
        if self.fingerprint_len:
            head = self._head(self.fingerprint_len)
            return fingerprint_of(head) != self.fingerprint
        return False

    def recover_truncated(self) -> tuple[list[str], str | None, FilePosition | None]:
        """Lines between our offset and the truncation, read from the rotated copy.

        Returns the lines, the identity (``device:inode``) of the copy they came from and
        the finished position to keep for that copy (so it is not read again, nor a
        compressed copy of it).
        """
        lines: list[str] = []
        used: str | None = None
        finished: FilePosition | None = None
        for candidate in rotated_siblings(self.path):
            try:
                with open(candidate, "rb") as handle:
                    stat = os.fstat(handle.fileno())
                    head = handle.read(self.fingerprint_len)
                    if (
                        len(head) != self.fingerprint_len
                        or fingerprint_of(head) != self.fingerprint
                    ):
                        continue
                    handle.seek(self.offset)
                    rest = handle.read()
            except OSError:
                continue
            used = file_key(stat)
            # The copy is final: a last line without its newline is kept too (the writer
            # goes on with the line in the truncated file, so it arrives in two parts).
            lines = split_lines(rest)
            finished = FilePosition(
                self.path, self.offset + len(rest), self.fingerprint, self.fingerprint_len, True
            )
            break
        self.offset = 0
        self.fingerprint = ""
        self.fingerprint_len = 0
        self._head_bytes = b""
        return lines, used, finished

    def recover_from(
        self, position: FilePosition
    ) -> tuple[list[str], str | None, FilePosition | None]:
        """``recover_truncated`` for a file truncated while nobody read it: from ``position``."""
        self.offset = position.offset
        self.fingerprint = position.fingerprint
        self.fingerprint_len = position.fingerprint_len
        if not self.fingerprint_len:
            self.offset = 0
            return [], None, None
        return self.recover_truncated()

    def read_lines(self, max_bytes: int | None = None) -> tuple[list[str], list[int]]:
        """Complete lines appended since the last call, and (with a joiner) their offsets.

        Reads at most ``max_bytes`` (the room left in the agent's batch) unless a single
        line is longer. A trailing line without its newline stays unread until the
        newline arrives, unless it grew past ``max_line_bytes`` (then it is cut there).
        """
        want = (
            self.read_chunk_bytes
            if max_bytes is None
            else max(1, min(max_bytes, self.read_chunk_bytes))
        )
        data = os.pread(self.fd, want, self.offset)
        if data and len(data) == want and data.rfind(b"\n") < 0 and want < self.max_line_bytes:
            data = os.pread(self.fd, self.max_line_bytes, self.offset)  # one long line
            newline = data.find(b"\n")
            if newline >= 0:
                data = data[: newline + 1]
        if not data:
            return [], []
        if (
            self.fingerprint_len
            and fingerprint_of(self._head(self.fingerprint_len)) != self.fingerprint
        ):
            # Truncated (and rewritten) under us, maybe during the read: what we read may
            # be the new content at our old offset. Keep nothing; `truncated` will say so.
            return [], []
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) < self.max_line_bytes:
                return [], []
            complete = data[: self.max_line_bytes]
        else:
            complete = data[: end + 1]
        start = self.offset
        self.offset += len(complete)
        if start == len(self._head_bytes) < FINGERPRINT_BYTES:
            self._head_bytes += complete[: FINGERPRINT_BYTES - start]
            self._set_fingerprint()
        lines = split_lines(complete)
        offsets = line_offsets(complete, start, len(lines)) if self.joiner is not None else []
        return lines, offsets

    @staticmethod
    def identity(path: str) -> os.stat_result | None:
        try:
            return os.stat(path)
        except OSError:
            return None
