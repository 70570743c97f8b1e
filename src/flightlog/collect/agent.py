"""The collection agent: tail files (or stdin), run the pipeline, spool, ship.

One thread reads and processes; the shipper thread sends. A batch is flushed when it
holds ``batch_max_lines`` lines or ``batch_max_bytes`` bytes or is
``batch_flush_interval_secs`` old: the pipeline runs over the whole batch, the result is
written to the spool together with the read positions it completes, then
``positions.json`` is replaced, and only then may the shipper send it. So a crash at any
moment resumes after the last spooled batch: nothing lost, nothing read twice.
"""

from __future__ import annotations

import fcntl
import fnmatch
import glob
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from flightlog.collect.config import CollectConfig, FileInput
from flightlog.collect.metrics import agent_metrics
from flightlog.collect.multiline import MultilineJoiner
from flightlog.collect.positions import FilePosition, PositionsFile, file_key
from flightlog.collect.shipper import Shipper, encode_push
from flightlog.collect.spool import Spool
from flightlog.collect.tailer import FileTailer, fingerprint_of, read_gz_lines
from flightlog.errors import ConfigError
from flightlog.pipeline.config import build_pipeline
from flightlog.pipeline.record import EMPTY, LogRecord

__all__ = ["Agent"]

logger = logging.getLogger("flightlog.collect")

# File times come from the kernel's coarse clock, which may lag time.time_ns() by a tick.
_FS_CLOCK_SLACK_NS = 20_000_000
# A rotated copy shorter than what we compare and written to less than this long ago
# may still be being copied.
_COPY_SETTLE_NS = 1_000_000_000


class _Source:
    """An open file with the labels and metadata its records share."""

    __slots__ = ("input", "labels", "metadata", "tailer")

    def __init__(self, tailer: FileTailer, item: FileInput) -> None:
        self.tailer = tailer
        self.input = item
        # `filename` is a label, as Promtail sets it: one stream per file, and no per-entry
        # metadata to store (a rotated copy keeps the name of the file it came from).
        self.labels = {**item.labels, "filename": tailer.path}
        self.metadata: dict[str, str] = {}


def _lock_data_dir(data_dir: Path) -> BinaryIO:
    """Hold an exclusive lock on the data directory: two agents on one would read twice."""
    handle = open(data_dir / "lock", "ab")  # noqa: SIM115 - held for the agent's life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(
            f"another flightlog collect is using {data_dir}; give each agent its own --data-dir"
        ) from None
    return handle


class Agent:
    """Tails the configured inputs into the server until ``stop`` is set."""

    def __init__(
        self,
        config: CollectConfig,
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock_ns: Callable[[], int] = time.time_ns,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config.validate()
        self.config = config
        self._clock = clock
        self._wall_ns = wall_clock_ns
        self._metrics = agent_metrics(registry)
        self._registry = registry
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock_data_dir(config.data_dir)
        self.pipeline = build_pipeline(config.pipeline, name="collect", registry=registry)
        self.spool = Spool(
            config.data_dir / "buffer", max_bytes=config.buffer_max_bytes, registry=registry
        )
        self.shipper = Shipper(config.shipper, self.spool, registry=registry, transport=transport)
        self._positions_file = PositionsFile(config.data_dir / "positions.json")
        seq, positions = self._positions_file.load()
        recovered = self.spool.recovered_positions(seq)
        if recovered is not None:
            seq, positions = recovered
        self._seq = max(seq, self.spool.last_seq)
        self._positions: dict[str, FilePosition] = positions
        self._positions_file.save(self._seq, self._positions)
        self.spool.commit(self._seq)
        self._sources: dict[str, _Source] = {}
        self._finished: dict[str, str] = {}
        """Rotated files read to their end (identity → fingerprint): never adopted again."""
        self._pending: list[LogRecord] = []
        self._pending_bytes = 0
        self._batch_started = 0.0
        self._last_ts = 0
        self._first_discovery = True
        self.ready = threading.Event()
        """Set once the first look for files is done (every file found is being tailed)."""
        self._dirty = False

    # -- records -------------------------------------------------------------

    def _timestamps(self, count: int) -> int:
        """The first of ``count`` strictly increasing timestamps (read time, in ns)."""
        start = max(self._wall_ns(), self._last_ts + 1)
        self._last_ts = start + count - 1
        return start

    def _emit(
        self, lines: list[str], labels: dict[str, str], metadata: dict[str, str], source: str
    ) -> None:
        if not lines:
            return
        if not self._pending:
            self._batch_started = self._clock()
        ts = self._timestamps(len(lines))
        self._pending.extend(
            [
                LogRecord(ts + i, line, labels, metadata, EMPTY, source)
                for i, line in enumerate(lines)
            ]
        )
        size = sum(map(len, lines)) + len(lines)
        self._pending_bytes += size
        self._metrics.read_lines.inc(len(lines))
        self._metrics.read_bytes.inc(size)

    def _batch_due(self, now: float) -> bool:
        if not self._pending:
            return False
        return (
            len(self._pending) >= self.config.batch_max_lines
            or self._pending_bytes >= self.config.batch_max_bytes
            or now - self._batch_started >= self.config.batch_flush_interval_secs
        )

    def _snapshot_positions(self) -> dict[str, FilePosition]:
        for key, source in self._sources.items():
            self._positions[key] = source.tailer.position()
        return dict(self._positions)

    def flush_batch(self) -> None:
        """Process the pending records, spool them with the positions they complete."""
        records, self._pending, self._pending_bytes = self._pending, [], 0
        positions = self._snapshot_positions()
        kept = self.pipeline.process(records) if records else []
        if kept:
            self._seq += 1
            newest = max(kept, key=lambda record: record.ts_ns)
            probe = {"labels": dict(newest.labels), "ts": newest.ts_ns, "line": newest.line}
            self.spool.append(self._seq, encode_push(kept), len(kept), positions, probe)
        self._positions_file.save(self._seq, positions)
        self._dirty = False
        self.spool.commit(self._seq)

    # -- files ---------------------------------------------------------------

    def _excluded(self, path: str, item: FileInput) -> bool:
        name = os.path.basename(path)
        return any(fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(name, pat) for pat in item.exclude)

    def discover(self) -> None:
        """Open files the globs match that are not open yet; read new .gz files once."""
        seen: set[str] = set()
        for item in self.config.inputs:
            for pattern in item.paths:
                for path in sorted(glob.glob(pattern, recursive=True)):
                    if self._excluded(path, item):
                        continue
                    try:
                        stat = os.stat(path)
                    except OSError:
                        continue
                    if not os.path.isfile(path):
                        continue
                    key = file_key(stat)
                    seen.add(key)
                    if key in self._sources:
                        source = self._sources[key]
                        if source.tailer.rotated_at is None:
                            self._adopt_rotated_siblings(source, self._clock())
                        continue
                    if path.endswith(".gz"):
                        if item.read_gz:
                            self._read_gz_once(path, key, item)
                        continue
                    self._open(path, key, item, stat.st_size)
        for key in list(self._positions):
            if key not in seen and key not in self._sources:
                del self._positions[key]
                self._dirty = True
        self._first_discovery = False
        self.ready.set()

    def _open(
        self, path: str, key: str, item: FileInput, size: int, *, reopen_path: str | None = None
    ) -> None:
        position = self._positions.get(key)
        if position is None and self._first_discovery and item.start_at == "end":
            position = FilePosition(path, size)
        joiner = MultilineJoiner(item.multiline) if item.multiline is not None else None
        try:
            tailer = FileTailer(path, key, position, joiner=joiner)
        except OSError as exc:
            logger.warning("cannot open %s: %s", path, exc)
            return
        if position is not None and position.fingerprint_len == 0 and position.offset > size:
            tailer.offset = 0
        source = _Source(tailer, item)
        if reopen_path is not None:
            # A rotated copy: its lines belong to the file it was rotated from.
            tailer.path = reopen_path
            source.labels = {**item.labels, "filename": reopen_path}
        self._sources[key] = source
        logger.info("tailing %s from offset %d", path, tailer.offset)

    def _read_gz_once(self, path: str, key: str, item: FileInput) -> None:
        known = self._positions.get(key)
        if known is not None and known.done:
            return
        lines = read_gz_lines(path)
        self._emit(lines, {**item.labels, "filename": path}, {}, path)
        self._positions[key] = FilePosition(path, 0, done=True)
        self._dirty = True

    def _check_rotation(self, source: _Source, now: float) -> None:
        tailer = source.tailer
        if tailer.rotated_at is not None:
            return
        current = FileTailer.identity(tailer.path)
        if current is None or file_key(current) != tailer.key:
            # Renamed away: keep reading it until quiet; files that were at the path
            # since we last looked (fast rotations) are read too, then the new file.
            tailer.rotated_at = now
            self._adopt_rotated_siblings(source, now)
            if current is not None and not self._known(file_key(current)):
                self._open(tailer.path, file_key(current), source.input, current.st_size)
            return
        if tailer.truncated():
            lines, used = tailer.recover_truncated()
            if used is not None:
                self._finish(used, "")
            self._feed(source, lines, [], now)
            self._adopt_rotated_siblings(source, now)
            logger.info("%s was truncated (copytruncate); reading it from the start", tailer.path)

    def _known(self, key: str) -> bool:
        return key in self._sources or key in self._finished

    def _finish(self, key: str, fingerprint: str) -> None:
        self._finished[key] = fingerprint
        if len(self._finished) > 10_000:
            del self._finished[next(iter(self._finished))]

    def _adopt_rotated_siblings(self, source: _Source, now: float) -> None:
        """Open rotated copies of a file (``name.1``, ``name-2024...``) made since we last looked.

        A file can be rotated more than once between two looks (or before the first), so
        every copy that appeared since the last scan and is not one we read is read whole;
        a copy of what the file holds now is left alone (its lines are read from the file,
        or recovered from the copy at our offset when the truncation is seen).
        """
        tailer = source.tailer
        path = tailer.path
        since_ns = tailer.scanned_ns - _FS_CLOCK_SLACK_NS
        scan_started_ns = time.time_ns()
        deferred = False
        head: bytes | None = None
        directory = os.path.dirname(path) or "."
        base = os.path.basename(path)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            if name == base or not name.startswith(base) or name.endswith(".gz"):
                continue
            sibling = os.path.join(directory, name)
            stat = FileTailer.identity(sibling)
            if stat is None or stat.st_ctime_ns < since_ns:
                continue
            key = file_key(stat)
            if self._known(key):
                continue
            if tailer.rotated_at is None:
                if head is None:
                    head = tailer.current_head()
                try:
                    with open(sibling, "rb") as handle:
                        sibling_head = handle.read(max(len(head), tailer.fingerprint_len))
                except OSError:
                    continue
                need = max(1, len(head), tailer.fingerprint_len)
                if (
                    len(sibling_head) < need
                    and scan_started_ns - stat.st_mtime_ns < _COPY_SETTLE_NS
                ):
                    # Maybe a copy still being written (copytruncate): too short to tell
                    # whose content it is. Look again next time.
                    deferred = True
                    continue
                if head and sibling_head[: len(head)] == head:
                    # A copy of what the file holds now. If we have read none of it, the
                    # file may be truncated before we do: look again next time.
                    deferred = deferred or not tailer.fingerprint_len
                    continue
                if tailer.fingerprint_len and tailer.fingerprint == fingerprint_of(
                    sibling_head[: tailer.fingerprint_len]
                ):
                    continue  # a copy of what we were reading: recovered at our offset
            self._open(sibling, key, source.input, stat.st_size, reopen_path=path)
            adopted = self._sources.get(key)
            if adopted is not None:
                adopted.tailer.rotated_at = now
        if not deferred:
            tailer.scanned_ns = scan_started_ns

    def _feed(self, source: _Source, lines: list[str], offsets: list[int], now: float) -> None:
        joiner = source.tailer.joiner
        if joiner is None:
            self._emit(lines, source.labels, source.metadata, source.tailer.path)
            return
        entries: list[str] = []
        if offsets:
            for line, offset in zip(lines, offsets, strict=True):
                entries.extend(joiner.feed(line, offset, now))
        else:
            # Recovered lines of a truncated file: their offsets are gone, and so is the
            # position they would hold back; join them and close the entry.
            for line in lines:
                entries.extend(joiner.feed(line, 0, now))
            last = joiner.flush()
            if last is not None:
                entries.append(last)
        self._emit(entries, source.labels, source.metadata, source.tailer.path)

    def poll_files(self) -> int:
        """One pass over every open file; returns how many lines were read."""
        now = self._clock()
        total = 0
        for key, source in list(self._sources.items()):
            tailer = source.tailer
            self._check_rotation(source, now)
            while True:
                room = self.config.batch_max_bytes - self._pending_bytes
                if room <= 0 or len(self._pending) >= self.config.batch_max_lines:
                    self.flush_batch()
                    room = self.config.batch_max_bytes
                lines, offsets = tailer.read_lines(room)
                if not lines:
                    break
                tailer.last_data_at = now
                total += len(lines)
                self._feed(source, lines, offsets, now)
            joiner = tailer.joiner
            if joiner is not None:
                entry = joiner.flush_if_idle(now)
                if entry is not None:
                    self._emit([entry], source.labels, source.metadata, tailer.path)
            if (
                tailer.rotated_at is not None
                and now - max(tailer.rotated_at, tailer.last_data_at)
                >= self.config.rotate_wait_secs
            ):
                if joiner is not None:
                    entry = joiner.flush()
                    if entry is not None:
                        self._emit([entry], source.labels, source.metadata, tailer.path)
                self._positions[key] = tailer.position()
                self._finish(key, tailer.fingerprint)
                tailer.close()
                del self._sources[key]
                self._dirty = True
                logger.info("finished rotated file %s", tailer.path)
        return total

    def run(self, stop: threading.Event) -> None:
        """Tail until ``stop`` is set, then flush the batch and give the shipper time to drain."""
        self._serve_metrics()
        self.shipper.start()
        next_discovery = 0.0
        try:
            while not stop.is_set():
                now = self._clock()
                if now >= next_discovery:
                    self.discover()
                    next_discovery = now + self.config.glob_interval_secs
                read = self.poll_files()
                if self._batch_due(self._clock()) or (self._dirty and not self._pending):
                    self.flush_batch()
                if not read:
                    stop.wait(self.config.poll_interval_secs)
        finally:
            self.flush_batch()
            self._drain()
            for source in self._sources.values():
                source.tailer.close()
            self._lock_file.close()

    def _serve_metrics(self) -> None:
        if self.config.metrics_port is not None:
            start_http_server(
                self.config.metrics_port, addr="127.0.0.1", registry=self._registry or REGISTRY
            )

    def _drain(self) -> None:
        deadline = self._clock() + self.config.drain_timeout_secs
        while self.spool.pending() and self._clock() < deadline:
            time.sleep(0.05)
        self.shipper.stop()

    # -- stdin ---------------------------------------------------------------

    def run_stdin(
        self,
        stdin: BinaryIO,
        stdout: BinaryIO | None,
        stop: threading.Event,
        *,
        labels: dict[str, str] | None = None,
        joiner: MultilineJoiner | None = None,
    ) -> None:
        """Read ``stdin`` to its end, copying it to ``stdout`` unchanged, and ship its lines."""
        self._serve_metrics()
        self.shipper.start()
        fd = stdin.fileno()
        labels = dict(labels or {})
        metadata: dict[str, str] = {}
        partial = b""
        try:
            while not stop.is_set():
                ready, _, _ = select.select([fd], [], [], self.config.poll_interval_secs)
                now = self._clock()
                if ready:
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        break
                    if stdout is not None:
                        stdout.write(chunk)
                        stdout.flush()
                    data = partial + chunk
                    end = data.rfind(b"\n")
                    if end < 0:
                        partial = data
                        continue
                    partial = data[end + 1 :]
                    lines = data[:end].decode("utf-8", "replace").split("\n")
                    if joiner is None:
                        self._emit(lines, labels, metadata, "")
                    else:
                        for line in lines:
                            self._emit(joiner.feed(line, 0, now), labels, metadata, "")
                if joiner is not None:
                    entry = joiner.flush_if_idle(now)
                    if entry is not None:
                        self._emit([entry], labels, metadata, "")
                if self._batch_due(now):
                    self.flush_batch()
            if partial:
                self._emit([partial.decode("utf-8", "replace")], labels, metadata, "")
            if joiner is not None:
                entry = joiner.flush()
                if entry is not None:
                    self._emit([entry], labels, metadata, "")
        finally:
            self.flush_batch()
            self._drain()
            self._lock_file.close()
