"""The on-disk buffer: every batch is written here before it is sent.

Each batch is one file ``<seq>.batch``: a JSON header line (line count, the read
positions it completes) then the gzip'd push body exactly as it will be sent. Files are
written aside, fsynced and renamed into place, so a batch is either whole or absent. A
batch leaves the spool only when the server accepted it (or rejected it as bad data).
Because the header carries the positions, a restart resumes reading exactly after the
last spooled batch: no line is lost or read twice by a crash of the agent.

What the agent read at once may take several batches (each within ``batch.max_lines``
and ``batch.max_bytes``). They are written in order as one group, and only the last one
carries the positions; the others have ``"positions": null``. A crash in the middle of a
group leaves batches newer than every saved position and with none of their own: they
were never committed (so never sent), their lines are read again, and the restart
deletes them (``recovered_positions``).

The spool is bounded: past ``max_bytes`` the oldest batches are deleted first and their
lines counted as dropped (``flightlog_collect_buffer_dropped_lines``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry

from flightlog.collect.metrics import agent_metrics
from flightlog.collect.positions import FilePosition

__all__ = ["Spool", "SpoolFile"]

logger = logging.getLogger("flightlog.collect")

_SUFFIX = ".batch"
_IN_FLIGHT = "in-flight"


@dataclass(frozen=True, slots=True)
class SpoolFile:
    """One buffered batch."""

    seq: int
    path: Path
    size: int
    lines: int


class Spool:
    """A directory of batches waiting to be sent, oldest first."""

    def __init__(
        self, directory: Path, *, max_bytes: int, registry: CollectorRegistry | None = None
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._metrics = agent_metrics(registry)
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._files: dict[int, SpoolFile] = {}
        self._bytes = 0
        self.committed_seq = 0
        """Batches up to this seq may be sent: their positions are saved."""
        for entry in sorted(directory.iterdir()):
            if entry.suffix == ".tmp":
                entry.unlink(missing_ok=True)
            elif entry.suffix == _SUFFIX and entry.stem.isdigit():
                try:
                    header = self._read_header(entry)
                except (orjson.JSONDecodeError, OSError) as exc:
                    # Not written by us whole (batches are renamed into place complete):
                    # set it aside rather than refuse to start or send garbage.
                    entry.rename(entry.with_suffix(".corrupt"))
                    logger.error(
                        "spool file %s is unreadable (%s); moved aside as .corrupt", entry, exc
                    )
                    continue
                item = SpoolFile(
                    int(entry.stem), entry, entry.stat().st_size, int(header.get("lines", 0))
                )
                self._files[item.seq] = item
                self._bytes += item.size
        self._metrics.buffer_bytes.set(self._bytes)

    @staticmethod
    def _read_header(path: Path) -> dict[str, object]:
        with open(path, "rb") as handle:
            return orjson.loads(handle.readline())

    @staticmethod
    def _read(path: Path) -> tuple[dict[str, object], bytes]:
        raw = path.read_bytes()
        newline = raw.index(b"\n")
        return orjson.loads(raw[:newline]), raw[newline + 1 :]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return max(self._files, default=0)

    def recovered_positions(self, after_seq: int) -> tuple[int, dict[str, FilePosition]] | None:
        """Positions of the newest batch newer than ``after_seq`` (a crash came between).

        Batches after the newest one that carries positions are the start of a group the
        crash cut short: they are deleted, and their lines are read again.
        """
        with self._lock:
            newer = sorted((seq for seq in self._files if seq > after_seq), reverse=True)
        for seq in newer:
            item = self._files[seq]
            files = self._read_header(item.path).get("positions")
            if isinstance(files, dict):
                return seq, {key: FilePosition.from_json(value) for key, value in files.items()}
            with self._lock:
                self._files.pop(seq, None)
                self._bytes -= item.size
                self._metrics.buffer_bytes.set(self._bytes)
            item.path.unlink(missing_ok=True)
            logger.info(
                "batch %d was part of a group cut short by a crash; its %d lines are read again",
                seq,
                item.lines,
            )
        return None

    def append(
        self,
        seq: int,
        body: bytes,
        lines: int,
        positions: Mapping[str, FilePosition] | None,
        probe: Mapping[str, object] | None = None,
    ) -> None:
        """Write one batch durably; then enforce the bound (oldest first).

        ``positions`` is None for a batch that more of its group follow (see above).
        ``probe`` names the batch's newest entry (labels, ts, line) so that a batch that
        was in flight when the agent died can be looked up on the server before resending.
        """
        header = orjson.dumps(
            {
                "lines": lines,
                "positions": None
                if positions is None
                else {key: pos.to_json() for key, pos in positions.items()},
                "probe": probe,
            }
        )
        final = self.directory / f"{seq:016d}{_SUFFIX}"
        tmp = final.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            handle.write(header + b"\n" + body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        item = SpoolFile(seq, final, len(header) + 1 + len(body), lines)
        with self._lock:
            self._files[seq] = item
            self._bytes += item.size
            self._enforce_bound()
            self._metrics.buffer_bytes.set(self._bytes)

    def _enforce_bound(self) -> None:
        while self._bytes > self.max_bytes and len(self._files) > 1:
            oldest = min(self._files)
            item = self._files.pop(oldest)
            self._bytes -= item.size
            item.path.unlink(missing_ok=True)
            self._metrics.buffer_dropped_lines.inc(item.lines)

    def commit(self, seq: int) -> None:
        """Mark batches up to ``seq`` sendable (their positions are saved)."""
        with self._lock:
            self.committed_seq = max(self.committed_seq, seq)
            self._ready.notify_all()

    def next_ready(self, timeout: float) -> tuple[SpoolFile, bytes] | None:
        """The oldest committed batch and its body, waiting up to ``timeout`` for one."""
        with self._lock:
            if not self._has_ready():
                self._ready.wait(timeout)
            while self._has_ready():
                item = self._files[min(self._files)]
                try:
                    _, body = self._read(item.path)
                except FileNotFoundError:
                    self._files.pop(item.seq, None)
                    continue
                return item, body
        return None

    def _has_ready(self) -> bool:
        return bool(self._files) and min(self._files) <= self.committed_seq

    def remove(self, item: SpoolFile) -> None:
        """Forget a batch the server accepted."""
        with self._lock:
            if self._files.pop(item.seq, None) is not None:
                self._bytes -= item.size
            item.path.unlink(missing_ok=True)
            self._metrics.buffer_bytes.set(self._bytes)
            self._ready.notify_all()

    def header(self, item: SpoolFile) -> dict[str, object]:
        """The JSON header of a batch."""
        return self._read_header(item.path)

    def get(self, seq: int) -> SpoolFile | None:
        with self._lock:
            return self._files.get(seq)

    def mark_in_flight(self, item: SpoolFile) -> None:
        """Note that ``item`` is being sent (survives a crash of the agent, not of the host)."""
        (self.directory / _IN_FLIGHT).write_text(str(item.seq))

    def clear_in_flight(self) -> None:
        (self.directory / _IN_FLIGHT).unlink(missing_ok=True)

    def in_flight(self) -> SpoolFile | None:
        """The batch that was being sent when the agent stopped, if it is still here."""
        try:
            text = (self.directory / _IN_FLIGHT).read_text().strip()
        except FileNotFoundError:
            return None
        return self.get(int(text)) if text.isdigit() else None

    def pending(self) -> int:
        """Batches not yet sent."""
        with self._lock:
            return len(self._files)

    def wake(self) -> None:
        with self._lock:
            self._ready.notify_all()
