"""The head: per-tenant recent entries in memory as Arrow record batches.

Each append becomes one record batch (all its streams concatenated), so the hot path
makes one Arrow array per column per append, never a Python object per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from flightlog.model import StreamBatch

from ._values import ENTRY_SCHEMA, METADATA_TYPE

__all__ = [
    "StreamState",
    "TenantHead",
    "batch_of_streams",
    "entries_batch",
    "filter_table",
]

SMALL_BATCH_ROWS = 8192
MERGE_SMALL_BATCHES = 64


@dataclass
class StreamState:
    """What the store remembers of one stream: labels and time span seen so far."""

    labels: dict[str, str]
    first_ts: int
    last_ts: int


@dataclass
class TenantHead:
    """In-memory rows of one tenant not yet in a segment.

    ``flushing`` holds batches being written to a segment: still visible to reads until
    the segment's catalog row commits, so a read sees every row exactly once.
    """

    batches: list[pa.RecordBatch] = field(default_factory=list)
    bytes: int = 0
    rows: int = 0
    first_append_ns: int | None = None
    last_seq: int = 0
    flushing: list[pa.RecordBatch] = field(default_factory=list)

    def add(self, batch: pa.RecordBatch, seq: int, now_ns: int) -> None:
        self.batches.append(batch)
        self._merge_small_tail()
        self.bytes += batch.nbytes
        self.rows += batch.num_rows
        self.last_seq = max(self.last_seq, seq)
        if self.first_append_ns is None:
            self.first_append_ns = now_ns

    def _merge_small_tail(self) -> None:
        """Merge runs of small batches, so many tiny pushes do not make reads slow."""
        small = 0
        for existing in reversed(self.batches):
            if existing.num_rows >= SMALL_BATCH_ROWS:
                break
            small += 1
        if small >= MERGE_SMALL_BATCHES:
            merged = pa.concat_batches(self.batches[-small:])
            self.batches[-small:] = [merged]

    def visible(self) -> list[pa.RecordBatch]:
        return [*self.flushing, *self.batches]


def metadata_array(metadata: Sequence[object]) -> pa.Array:
    """Map array with an empty map (not null) for entries without metadata."""
    if not any(metadata):
        offsets = pa.array(np.zeros(len(metadata) + 1, dtype=np.int32))
        return pa.MapArray.from_arrays(
            offsets, pa.array([], pa.string()), pa.array([], pa.string())
        )
    array = pa.array(metadata, type=METADATA_TYPE)
    if array.null_count:
        array = pa.MapArray.from_arrays(array.offsets, array.keys, array.items)
    return array


def entries_batch(
    stream_ids: Sequence[int],
    counts: Sequence[int],
    ts_ns: Sequence[int],
    lines: Sequence[str],
    metadata: Sequence[object],
) -> pa.RecordBatch:
    """One record batch from concatenated stream columns; ``counts[i]`` rows per stream."""
    ids = np.repeat(np.asarray(stream_ids, dtype=np.uint64), np.asarray(counts, dtype=np.int64))
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ids, pa.uint64()),
            pa.array(ts_ns, pa.int64()),
            pa.array(lines, pa.string()),
            metadata_array(metadata),
        ],
        schema=ENTRY_SCHEMA,
    )


def filter_table(
    batches: Sequence[pa.RecordBatch], stream_ids: Sequence[int], start_ns: int, end_ns: int
) -> pa.Table:
    """Rows of ``batches`` whose stream is in ``stream_ids`` and ``start_ns <= ts < end_ns``."""
    import pyarrow.compute as pc

    if not batches or not stream_ids:
        return ENTRY_SCHEMA.empty_table()
    table = pa.Table.from_batches(batches, schema=ENTRY_SCHEMA)
    ids = pa.array(list(stream_ids), pa.uint64())
    mask = pc.and_(
        pc.is_in(table["stream_id"], value_set=ids),
        pc.and_(pc.greater_equal(table["ts"], start_ns), pc.less(table["ts"], end_ns)),
    )
    return table.filter(mask)


def batch_of_streams(
    ids: Sequence[int], streams: Sequence[StreamBatch], ts_arrays: Sequence[np.ndarray]
) -> pa.RecordBatch:
    """One record batch holding every stream of an append, ``ids[i]`` for ``streams[i]``.

    ``ts_arrays[i]`` is ``streams[i].ts_ns`` as int64 numpy (already made by the caller,
    and Arrow takes numpy without converting each Python int again).
    """
    ts = ts_arrays[0] if len(ts_arrays) == 1 else np.concatenate(ts_arrays)
    if len(streams) == 1:
        s = streams[0]
        return entries_batch(ids, [len(s)], ts, s.lines, s.metadata)
    lines: list[str] = []
    metadata: list[object] = []
    for s in streams:
        lines.extend(s.lines)
        metadata.extend(s.metadata)
    return entries_batch(ids, [len(s) for s in streams], ts, lines, metadata)
