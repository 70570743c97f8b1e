"""Work that rewrites the store's files: writing a cut segment, retention, deletes.

Retention and deletes never edit a segment in place: a touched segment is rewritten to a
new file without the removed rows, the catalog swaps the rows in one transaction, and
the old file is unlinked after a grace period (a reader may have just listed it).
Rows still in the head are first cut to a segment, so the WAL cannot bring them back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from flightlog.errors import StoreError
from flightlog.model import LabelMatcher

from ._head import StreamState, TenantHead
from ._segment import SegmentMeta, write_segment
from ._values import ENTRY_SCHEMA

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["RETIRE_GRACE_NS", "apply_retention", "compact", "delete", "write"]

RETIRE_GRACE_NS = 300 * 1_000_000_000  # longer than any query may run
_NS = 1_000_000_000

# For each segment: a function from its table to the boolean mask of rows to remove.
RemoveMask = Callable[[pa.Table], np.ndarray]


def write(store: Store, tenant: str, table: pa.Table) -> SegmentMeta:
    """Write one segment durably; OS failures become a StoreError naming the folder."""
    try:
        return write_segment(
            store.config.data_dir, tenant, table, store._clock(), fsync=store.config.fsync
        )
    except OSError as exc:
        raise StoreError(
            f"cannot write a segment under {store.config.data_dir / 'segments'}: {exc}"
            " (is the disk full or the folder not writable?); the data stays in the WAL"
        ) from exc


def _cutoffs(store: Store, tenant: str, now_ns: int) -> dict[int, int]:
    """stream id -> oldest ts kept, for streams of ``tenant`` with a finite retention."""
    config = store.config
    result: dict[int, int] = {}
    with store._lock:
        states = dict(store._streams.get(tenant, {}))
    for sid, state in states.items():
        period = config.retention_period_secs
        for rule in config.retention_rules:
            if rule.applies_to(tenant, state.labels):
                period = rule.period_secs
                break
        if period is not None:
            result[sid] = now_ns - int(period * _NS)
    return result


def _mask_older_than(cutoffs: Mapping[int, int]) -> RemoveMask:
    ids = np.array(sorted(cutoffs), dtype=np.uint64)
    limits = np.array([cutoffs[int(i)] for i in ids], dtype=np.int64)

    def mask(table: pa.Table) -> np.ndarray:
        sids = table["stream_id"].to_numpy()
        ts = table["ts"].to_numpy()
        pos = np.searchsorted(ids, sids)
        pos_clipped = np.minimum(pos, max(len(ids) - 1, 0))
        known = (
            (pos < len(ids)) & (ids[pos_clipped] == sids) if len(ids) else np.zeros(len(sids), bool)
        )
        limit = np.where(known, limits[pos_clipped] if len(ids) else 0, np.iinfo(np.int64).min)
        return ts < limit

    return mask


def _mask_deleted(ids: set[int], start_ns: int, end_ns: int) -> RemoveMask:
    id_array = np.array(sorted(ids), dtype=np.uint64)

    def mask(table: pa.Table) -> np.ndarray:
        ts = table["ts"].to_numpy()
        return np.isin(table["stream_id"].to_numpy(), id_array) & (ts >= start_ns) & (ts < end_ns)

    return mask


def _head_has(store: Store, tenant: str, mask: RemoveMask) -> bool:
    with store._lock:
        head = store._heads.get(tenant)
        batches = head.visible() if head else []
    if not batches:
        return False
    return bool(mask(pa.Table.from_batches(batches, schema=ENTRY_SCHEMA)).any())


def _rewrite(store: Store, tenant: str, segments: Sequence[SegmentMeta], mask: RemoveMask) -> int:
    """Rewrite ``segments`` without the rows ``mask`` selects; one catalog transaction."""
    assert store._catalog is not None
    removed = 0
    added: list[SegmentMeta] = []
    dropped: list[SegmentMeta] = []
    for seg in segments:
        table = pq.read_table(store.config.data_dir / seg.path, schema=ENTRY_SCHEMA)
        remove = mask(table)
        count = int(remove.sum())
        if not count:
            continue
        removed += count
        dropped.append(seg)
        if count < table.num_rows:
            added.append(write(store, tenant, table.filter(pa.array(~remove))))
    if not dropped:
        return 0
    dropped_ids = {s.id for s in dropped}
    # Under the store lock, so no append can add a stream between the check and the swap.
    with store._lock:
        kept = [s for s in store._segments.get(tenant, []) if s.id not in dropped_ids]
        first = _first_ts_by_stream([*kept, *added], store._heads.get(tenant))
        known = store._streams.get(tenant, {})
        gone = [sid for sid in known if sid not in first]
        moved = {
            sid: StreamState(dict(state.labels), first[sid], state.last_ts)
            for sid, state in known.items()
            if sid in first and first[sid] != state.first_ts
        }
        committed = store._catalog.commit_changes(
            add=added,
            remove=[s.id for s in dropped],
            streams={tenant: moved},
            drop_streams={tenant: gone},
        )
        store._segments[tenant] = kept + [_without_bloom(store, m) for m in committed]
        for sid in gone:
            del known[sid]
        for sid, state in moved.items():
            known[sid].first_ts = state.first_ts
    for seg in dropped:
        store._retire(store.config.data_dir / seg.path)
    return removed


def _without_bloom(store: Store, meta: SegmentMeta) -> SegmentMeta:
    """Hand a new segment's bloom to the cache; the in-memory index keeps no blobs."""
    store._blooms.put(meta.id, meta.bloom)
    return replace(meta, bloom=b"")


def _first_ts_by_stream(segments: Sequence[SegmentMeta], head: TenantHead | None) -> dict[int, int]:
    """Oldest remaining ts of every stream that still has entries."""
    first: dict[int, int] = {}
    for seg in segments:
        for sid, span in seg.streams.items():
            first[sid] = min(first.get(sid, span.min_ts), span.min_ts)
    batches = head.visible() if head else []
    if batches:
        table = pa.Table.from_batches(batches, schema=ENTRY_SCHEMA).select(["stream_id", "ts"])
        grouped = table.group_by("stream_id").aggregate([("ts", "min")])
        for sid, low in zip(
            grouped["stream_id"].to_pylist(), grouped["ts_min"].to_pylist(), strict=True
        ):
            first[sid] = min(first.get(sid, low), low)
    return first


def apply_retention(store: Store, now_ns: int) -> int:
    config = store.config
    if config.retention_period_secs is None and not config.retention_rules:
        return 0
    removed = 0
    with store._lock:
        tenants = sorted(set(store._streams) | set(store._segments))
    for tenant in tenants:
        cutoffs = _cutoffs(store, tenant, now_ns)
        if not cutoffs:
            continue
        mask = _mask_older_than(cutoffs)
        if _head_has(store, tenant, mask):
            store._cut([tenant])
        with store._lock:
            segments = list(store._segments.get(tenant, []))
        touched = [
            seg
            for seg in segments
            if any(
                sid in cutoffs and span.min_ts < cutoffs[sid] for sid, span in seg.streams.items()
            )
        ]
        removed += _rewrite(store, tenant, touched, mask)
    return removed


def delete(
    store: Store, tenant: str, matchers: Sequence[LabelMatcher], start_ns: int, end_ns: int
) -> int:
    with store._lock:
        states = dict(store._streams.get(tenant, {}))
    ids = {sid for sid, st in states.items() if all(m.matches_labels(st.labels) for m in matchers)}
    if not ids:
        return 0
    mask = _mask_deleted(ids, start_ns, end_ns)
    if _head_has(store, tenant, mask):
        store._cut([tenant])
    with store._lock:
        segments = list(store._segments.get(tenant, []))
    touched = [
        seg
        for seg in segments
        if any(
            span.min_ts < end_ns and span.max_ts >= start_ns
            for sid, span in seg.streams.items()
            if sid in ids
        )
    ]
    return _rewrite(store, tenant, touched, mask)


COMPACT_MIN_SEGMENTS = 8
"""A tenant's small segments are merged once there are at least this many."""

COMPACT_SPAN_NS = 2 * 3600 * _NS
"""A merged segment spans at most this much time, so time pruning stays useful."""


def compact(store: Store) -> int:
    """Merge each tenant's small segments (under 1/4 of a full one); returns segments merged.

    Segments are merged in time order into files of at most half ``max_segment_bytes`` of
    line bytes covering at most 2 hours, so age-based cuts of quiet tenants do not leave
    thousands of tiny files.
    """
    assert store._catalog is not None
    limit = store.config.max_segment_bytes // 2
    merged = 0
    with store._lock:
        per_tenant = {t: list(s) for t, s in store._segments.items()}
    for tenant, segments in per_tenant.items():
        small = sorted(
            (s for s in segments if s.line_bytes < store.config.max_segment_bytes // 4),
            key=lambda s: (s.min_ts, s.id),
        )
        if len(small) < COMPACT_MIN_SEGMENTS:
            continue
        groups: list[list[SegmentMeta]] = [[]]
        size = 0
        for seg in small:
            too_far = groups[-1] and seg.max_ts - groups[-1][0].min_ts > COMPACT_SPAN_NS
            if groups[-1] and (size + seg.line_bytes > limit or too_far):
                groups.append([])
                size = 0
            groups[-1].append(seg)
            size += seg.line_bytes
        for group in groups:
            if len(group) < 2:
                continue
            tables = [
                pq.read_table(store.config.data_dir / s.path, schema=ENTRY_SCHEMA) for s in group
            ]
            meta = write(store, tenant, pa.concat_tables(tables))
            (added,) = store._catalog.commit_changes(add=[meta], remove=[s.id for s in group])
            added = _without_bloom(store, added)
            gone = {s.id for s in group}
            with store._lock:
                kept = [s for s in store._segments.get(tenant, []) if s.id not in gone]
                store._segments[tenant] = [*kept, added]
            for seg in group:
                store._retire(store.config.data_dir / seg.path)
            merged += len(group)
    return merged
