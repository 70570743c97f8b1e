"""The read API's work over a consistent snapshot of segments, head and streams.

``Store`` takes the snapshot under its lock; everything here runs without it, so reads
never block appends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flightlog.model import Direction, LabelMatcher

from ._bloom import might_contain
from ._head import StreamState, filter_table
from ._segment import ROW_GROUP_ROWS, SegmentMeta, read_segment
from ._values import ENTRY_SCHEMA, IndexStats, ScanSources, StreamInfo
from ._words import WordIndex

__all__ = ["TenantSnapshot", "matching_streams", "scan", "select_rows", "stats_of"]

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class TenantSnapshot:
    """One tenant's state at one moment: segments, visible head batches, streams."""

    tenant: str
    segments: tuple[SegmentMeta, ...]
    head: tuple[pa.RecordBatch, ...]
    streams: Mapping[int, StreamState]


def matching_streams(
    snapshot: TenantSnapshot, matchers: Sequence[LabelMatcher], start_ns: int, end_ns: int
) -> dict[int, dict[str, str]]:
    """Streams whose labels satisfy every matcher and whose time span meets the range."""
    return {
        sid: state.labels
        for sid, state in snapshot.streams.items()
        if state.first_ts < end_ns
        and state.last_ts >= start_ns
        and all(m.matches_labels(state.labels) for m in matchers)
    }


def _segment_candidates(
    snapshot: TenantSnapshot, ids: Mapping[int, object], start_ns: int, end_ns: int
) -> list[SegmentMeta]:
    result = []
    for seg in snapshot.segments:
        if seg.min_ts >= end_ns or seg.max_ts < start_ns:
            continue
        for sid in ids:
            span = seg.streams.get(sid)
            if span is not None and span.min_ts < end_ns and span.max_ts >= start_ns:
                result.append(seg)
                break
    return result


def _stream_groups(seg: SegmentMeta, ids: Mapping[int, object]) -> np.ndarray:
    """Row groups of ``seg`` holding rows of the streams ``ids`` (rows are sorted by
    stream id, so each stream is one run of rows)."""
    groups = []
    offset = 0
    for sid in sorted(seg.streams):
        rows = seg.streams[sid].rows
        if sid in ids and rows:
            groups.append(
                np.arange(offset // ROW_GROUP_ROWS, (offset + rows - 1) // ROW_GROUP_ROWS + 1)
            )
        offset += rows
    return np.unique(np.concatenate(groups)) if groups else np.empty(0, np.int64)


def scan(
    data_dir: Path,
    snapshots: Sequence[TenantSnapshot],
    matchers: Sequence[LabelMatcher],
    start_ns: int,
    end_ns: int,
    needles: Sequence[str],
    alternatives: Sequence[Sequence[str]],
    bloom_of: Callable[[SegmentMeta], bytes],
    words_of: Callable[[SegmentMeta], WordIndex | None],
) -> ScanSources:
    streams: dict[int, dict[str, str]] = {}
    paths: list[Path] = []
    blocks: dict[Path, tuple[int, ...]] = {}
    heads: list[pa.Table] = []
    all_selected = True
    for snapshot in snapshots:
        ids = matching_streams(snapshot, matchers, start_ns, end_ns)
        if not ids:
            continue
        streams.update(ids)
        for seg in _segment_candidates(snapshot, ids, start_ns, end_ns):
            path = data_dir / seg.path
            if needles or alternatives:
                bloom = bloom_of(seg)
                if bloom and not (
                    might_contain(bloom, needles)
                    and all(any(might_contain(bloom, [n]) for n in g) for g in alternatives)
                ):
                    continue
                index = words_of(seg)
                groups = None if index is None else index.candidate_groups(needles, alternatives)
                if groups is not None and index is not None:
                    streams_groups = _stream_groups(seg, ids)
                    kept = np.intersect1d(groups, streams_groups)
                    if not len(kept):
                        continue
                    if len(kept) < len(streams_groups):  # else the stream filter does it all
                        blocks[path] = tuple(index.block_base + int(g) for g in kept)
            paths.append(path)
            all_selected = (
                all_selected
                and start_ns <= seg.min_ts
                and seg.max_ts < end_ns
                and all(sid in ids for sid in seg.streams)
            )
        head = filter_table(snapshot.head, list(ids), start_ns, end_ns)
        if head.num_rows:
            heads.append(head)
    head_table = pa.concat_tables(heads) if heads else ENTRY_SCHEMA.empty_table()
    return ScanSources(
        segment_paths=tuple(paths),
        head=head_table,
        streams=streams,
        stream_ids=tuple(sorted(streams)),
        segments_all_selected=bool(paths) and all_selected,
        segment_blocks=blocks,
    )


def _order(table: pa.Table, direction: Direction) -> pa.Table:
    order = "descending" if direction is Direction.BACKWARD else "ascending"
    keys = [("ts", order), ("stream_id", "ascending")]
    return table.take(pc.sort_indices(table, sort_keys=keys))


def select_rows(
    data_dir: Path,
    snapshots: Sequence[TenantSnapshot],
    matchers: Sequence[LabelMatcher],
    start_ns: int,
    end_ns: int,
    direction: Direction,
    limit: int | None,
) -> Iterator[pa.RecordBatch]:
    """Matching rows in ``direction`` order (ties by stream id), at most ``limit``."""
    tables: list[pa.Table] = []
    segments: list[tuple[SegmentMeta, list[int]]] = []
    for snapshot in snapshots:
        ids = matching_streams(snapshot, matchers, start_ns, end_ns)
        if not ids:
            continue
        head = filter_table(snapshot.head, list(ids), start_ns, end_ns)
        if head.num_rows:
            tables.append(head)
        segments.extend(
            (seg, [sid for sid in ids if sid in seg.streams])
            for seg in _segment_candidates(snapshot, ids, start_ns, end_ns)
        )
    backward = direction is Direction.BACKWARD
    # Newest segments first for backward reads (oldest first forward), so a limit can
    # stop early: a segment entirely beyond the current limit-th row cannot contribute.
    segments.sort(key=lambda item: -item[0].max_ts if backward else item[0].min_ts)
    rows = sum(t.num_rows for t in tables)
    for seg, ids in segments:
        if limit is not None and rows >= limit:
            current = _order(pa.concat_tables(tables), direction).slice(0, limit)
            tables, rows = [current], current.num_rows
            bound = current["ts"][-1].as_py()
            if (backward and seg.max_ts < bound) or (not backward and seg.min_ts > bound):
                continue
        table = read_segment(data_dir / seg.path, ids, start_ns, end_ns)
        if table.num_rows:
            tables.append(table)
            rows += table.num_rows
    if not tables:
        return
    result = _order(pa.concat_tables(tables), direction)
    if limit is not None:
        result = result.slice(0, limit)
    yield from result.combine_chunks().to_batches(max_chunksize=BATCH_ROWS)


def stats_of(
    snapshots: Sequence[TenantSnapshot],
    matchers: Sequence[LabelMatcher],
    start_ns: int,
    end_ns: int,
) -> IndexStats:
    """Counts at segment granularity (like Loki's chunk-level stats) plus the exact head."""
    streams = chunks = entries = size = 0
    for snapshot in snapshots:
        ids = matching_streams(snapshot, matchers, start_ns, end_ns)
        streams += len(ids)
        for seg in _segment_candidates(snapshot, ids, start_ns, end_ns):
            chunks += 1
            for sid in ids:
                span = seg.streams.get(sid)
                if span is not None and span.min_ts < end_ns and span.max_ts >= start_ns:
                    entries += span.rows
                    size += span.line_bytes
        head = filter_table(snapshot.head, list(ids), start_ns, end_ns)
        if head.num_rows:
            chunks += 1
            entries += head.num_rows
            size += int(pc.sum(pc.binary_length(head["line"])).as_py() or 0)
    return IndexStats(streams=streams, chunks=chunks, entries=entries, bytes=size)


def stream_infos(
    snapshots: Sequence[TenantSnapshot],
    matchers: Sequence[LabelMatcher],
    start_ns: int,
    end_ns: int,
) -> list[StreamInfo]:
    infos = [
        StreamInfo(tenant=s.tenant, stream_id=sid, labels=labels)
        for s in snapshots
        for sid, labels in matching_streams(s, matchers, start_ns, end_ns).items()
    ]
    infos.sort(key=lambda i: (i.tenant, sorted(i.labels.items())))
    return infos
