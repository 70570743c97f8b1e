"""The records read and not yet spooled, and how they are spooled.

What was read is flushed when it holds ``batch_max_lines`` lines or ``batch_max_bytes``
bytes or is ``batch_flush_interval_secs`` old: the pipeline runs over all of it, the
result is cut into pushes of at most ``batch_max_lines`` entries and ``batch_max_bytes``
bytes (a read, a stdin chunk or the pipeline may give more than one holds) and written to
the spool as one group that carries the read positions it completes, then
``positions.json`` is replaced, and only then may the shipper send it. So a crash at any
moment resumes after the last whole group spooled: nothing lost, nothing read twice.
"""

from __future__ import annotations

from collections.abc import Callable

from flightlog.collect.config import CollectConfig
from flightlog.collect.metrics import AgentMetrics
from flightlog.collect.positions import FilePosition, KnownFiles, PositionsFile
from flightlog.collect.shipper import encode_push, split_batch
from flightlog.collect.spool import Spool
from flightlog.pipeline.record import EMPTY, LogRecord
from flightlog.pipeline.stage import Pipeline

__all__ = ["PendingBatch"]


class PendingBatch:
    """Lines read since the last flush, as records, until ``flush`` spools them."""

    def __init__(
        self,
        config: CollectConfig,
        pipeline: Pipeline,
        spool: Spool,
        positions_file: PositionsFile,
        known: KnownFiles,
        *,
        seq: int,
        metrics: AgentMetrics,
        clock: Callable[[], float],
        wall_clock_ns: Callable[[], int],
    ) -> None:
        self._config = config
        self._pipeline = pipeline
        self._spool = spool
        self._positions_file = positions_file
        self._known = known
        self._seq = seq
        """The sequence number of the last push spooled."""
        self._metrics = metrics
        self._clock = clock
        self._wall_ns = wall_clock_ns
        self._pending: list[LogRecord] = []
        self._pending_bytes = 0
        self._batch_started = 0.0
        self._last_ts = 0

    @property
    def empty(self) -> bool:
        return not self._pending

    def room_bytes(self) -> int:
        """How many more bytes of lines fit before the batch is full."""
        return self._config.batch_max_bytes - self._pending_bytes

    def full(self) -> bool:
        """Whether the batch must be flushed before another line is read into it."""
        return self.room_bytes() <= 0 or len(self._pending) >= self._config.batch_max_lines

    def due(self, now: float) -> bool:
        """Whether the batch is full or old enough to flush."""
        if not self._pending:
            return False
        return (
            len(self._pending) >= self._config.batch_max_lines
            or self._pending_bytes >= self._config.batch_max_bytes
            or now - self._batch_started >= self._config.batch_flush_interval_secs
        )

    def _timestamps(self, count: int) -> int:
        """The first of ``count`` strictly increasing timestamps (read time, in ns)."""
        start = max(self._wall_ns(), self._last_ts + 1)
        self._last_ts = start + count - 1
        return start

    def emit(
        self, lines: list[str], labels: dict[str, str], metadata: dict[str, str], source: str
    ) -> None:
        """Add ``lines`` read from ``source`` as records with these labels and metadata."""
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

    def flush(self, positions: dict[str, FilePosition]) -> None:
        """Process the pending records, spool them with the positions they complete.

        They are spooled as pushes within the batch bounds, in order; only the last one
        carries the positions, so a crash between two of them repeats the whole group.
        """
        records, self._pending, self._pending_bytes = self._pending, [], 0
        kept = self._pipeline.process(records) if records else []
        pushes = split_batch(kept, self._config.batch_max_lines, self._config.batch_max_bytes)
        for index, push in enumerate(pushes):
            self._seq += 1
            newest = max(push, key=lambda record: record.ts_ns)
            probe = {"labels": dict(newest.labels), "ts": newest.ts_ns, "line": newest.line}
            last = index == len(pushes) - 1
            self._spool.append(
                self._seq, encode_push(push), len(push), positions if last else None, probe
            )
        self._positions_file.save(self._seq, positions)
        self._known.changed = False
        self._spool.commit(self._seq)
