"""Values the store hands out: append results, scan sources, stream info, index stats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

__all__ = [
    "ENTRY_SCHEMA",
    "TOO_FAR_BEHIND",
    "AppendResult",
    "IndexStats",
    "ScanSources",
    "StoreFigures",
    "StreamInfo",
]

TOO_FAR_BEHIND = "too_far_behind"
"""Rejection reason: the entry is older than the stream's newest minus the window."""

METADATA_TYPE = pa.map_(pa.string(), pa.string())

ENTRY_SCHEMA = pa.schema(
    [
        pa.field("stream_id", pa.uint64(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("line", pa.string(), nullable=False),
        pa.field("metadata", METADATA_TYPE, nullable=False),
    ]
)
"""Rows of the head and of every segment (see FORMAT.md)."""


@dataclass(frozen=True)
class AppendResult:
    """Outcome of one append: how many entries were stored and why the rest were not."""

    accepted: int
    rejected: Mapping[str, int]
    samples: tuple[str, ...]

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


@dataclass(frozen=True)
class StreamInfo:
    """One stream of one tenant."""

    tenant: str
    stream_id: int
    labels: Mapping[str, str]


@dataclass(frozen=True)
class IndexStats:
    """Like Loki's ``/index/stats``: streams, chunks (segments + head), entries, bytes."""

    streams: int
    chunks: int
    entries: int
    bytes: int


@dataclass(frozen=True)
class ScanSources:
    """What a query engine scans for one selector and time range.

    ``segment_paths`` are the segments that overlap the range, hold a matching stream and
    (by their bloom) may hold every needle; ``head`` holds the in-memory rows of matching
    streams inside the range. Rows of segments still need filtering by ``stream_ids``
    and time, since a segment holds other streams too. A listed segment that compaction,
    retention or a delete replaces stays readable for 5 minutes after that.
    """

    segment_paths: tuple[Path, ...]
    head: pa.Table
    streams: Mapping[int, Mapping[str, str]]
    stream_ids: tuple[int, ...]
    segments_all_selected: bool = False
    """Every row of every listed segment is of a selected stream and inside the range, so
    the engine may skip the stream and time predicates on segments (a selector such as
    ``{service=~".+"}`` over whole segments saves evaluating them on every row)."""
    segment_blocks: Mapping[Path, tuple[int, ...]] = field(default_factory=dict)
    """Segments of which only some row groups can hold the needles (by their word index):
    the ``block`` values of those row groups. A path not here is read whole."""


@dataclass(frozen=True)
class StoreFigures:
    """Sizes of the store at one moment, for metrics."""

    head_bytes: int
    head_rows: int
    segments: int
    segment_bytes: int
    segment_rows: int
    wal_bytes: int
    streams: int
    tenants: int
    wal_fsyncs: int = 0
    """fsync calls of the WAL since open (one may cover many appends: group commit)."""
    wal_fsync_seconds: float = 0.0
    """Total seconds spent in those fsyncs."""
