"""The embedded store: WAL → head → Parquet segments + SQLite catalog, and its read API.

Locks: ``_lock`` orders WAL records with the head and guards every in-memory index;
it is held only for short, in-memory work. ``_maintenance`` serialises cuts, retention
and deletes (the slow, file-writing work, done outside ``_lock``). The WAL's group
commit has its own lock, so appends wait for fsync without holding ``_lock``.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from flightlog.errors import StoreError
from flightlog.model import Direction, LabelMatcher, Labels, PushRequest, StreamBatch

from . import _maintenance
from ._cache import SegmentCache
from ._catalog import Catalog
from ._config import StoreConfig
from ._cut import cut_heads, drop_covered_wal_files
from ._fingerprint import stream_fingerprint
from ._head import StreamState, TenantHead, batch_of_streams
from ._reads import TenantSnapshot, matching_streams, scan, select_rows, stats_of, stream_infos
from ._segment import SegmentMeta, tenant_dir_name
from ._values import (
    TOO_FAR_BEHIND,
    AppendResult,
    IndexStats,
    ScanSources,
    StoreFigures,
    StreamInfo,
)
from ._wal import WalFile, WalWriter, encode_payload, list_wal_files, read_wal_file
from ._window import check_window, keep_accepted
from ._words import WordIndex, read_word_index

__all__ = ["Store"]

_MAX_SAMPLES = 5
_READ_ATTEMPTS = 3
_NS = 1_000_000_000


def _words_size(index: WordIndex | None) -> int:
    return 64 if index is None else index.nbytes


class Store:
    """One data directory's store. Open with ``Store.open``; thread-safe."""

    def __init__(self, config: StoreConfig, clock: Callable[[], int], *, read_only: bool) -> None:
        self.config = config
        self.read_only = read_only
        self._clock = clock
        self._lock = threading.RLock()
        self._maintenance = threading.Lock()
        self._heads: dict[str, TenantHead] = {}
        self._streams: dict[str, dict[int, StreamState]] = {}
        self._segments: dict[str, list[SegmentMeta]] = {}
        self._flushed: dict[str, int] = {}
        self._ids: dict[Labels, int] = {}
        self._next_seq = 1
        self._retired: list[tuple[int, Path]] = []
        self._lock_fd: int | None = None
        self._wal: WalWriter | None = None
        self._catalog: Catalog | None = None
        self._catalog_version = -1
        self._refresh_lock = threading.Lock()
        self._blooms: SegmentCache[bytes] = SegmentCache(self._load_bloom, len)
        self._words: SegmentCache[WordIndex | None] = SegmentCache(self._load_words, _words_size)
        self._closed = False

    # ---- lifecycle -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        config: StoreConfig,
        clock: Callable[[], int] = time.time_ns,
        *,
        read_only: bool = False,
    ) -> Store:
        """Open (creating if needed) and replay the WAL; a torn tail is truncated.

        ``read_only`` opens another process's store for reading: segments and catalog
        only (the writer's head is not visible), refreshed when the catalog changes.
        """
        config.validate()
        store = cls(config, clock, read_only=read_only)
        if read_only:
            store._open_read_only()
        else:
            store._open_writer()
        return store

    def _open_read_only(self) -> None:
        path = self.config.data_dir / "catalog.sqlite3"
        if not path.exists():
            raise StoreError(
                f"no flightlog store in {str(self.config.data_dir)!r}: "
                "start `flightlog serve` with this --data-dir first"
            )
        self._catalog = Catalog(path, fsync=False, read_only=True)
        self._refresh_from_catalog()

    def _open_writer(self) -> None:
        data_dir = self.config.data_dir
        try:
            (data_dir / "wal").mkdir(parents=True, exist_ok=True)
            (data_dir / "segments").mkdir(exist_ok=True)
            self._lock_fd = os.open(data_dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the data dir {str(data_dir)!r}: {exc}") from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise StoreError(
                f"data dir {str(data_dir)!r} is in use by another flightlog process: "
                "stop it or use another --data-dir"
            ) from exc
        try:
            self._catalog = Catalog(data_dir / "catalog.sqlite3", fsync=self.config.fsync)
            self._refresh_from_catalog()
            self._flushed = self._catalog.flushed_seqs()
            self._remove_orphans()
            self._replay()
        except BaseException:
            if self._catalog is not None:
                self._catalog.close()
            os.close(self._lock_fd)
            self._lock_fd = None
            raise

    def _load_bloom(self, segment: SegmentMeta) -> bytes:
        assert self._catalog is not None
        return self._catalog.load_bloom(segment.id)

    def _load_words(self, segment: SegmentMeta) -> WordIndex | None:
        return read_word_index(self.config.data_dir / segment.path)

    def _refresh_from_catalog(self) -> None:
        assert self._catalog is not None
        with self._refresh_lock:
            self._refresh_locked(self._catalog)

    def _refresh_locked(self, catalog: Catalog) -> None:
        version = catalog.data_version()
        if version == self._catalog_version:
            return
        segments: dict[str, list[SegmentMeta]] = {}
        metas, streams = catalog.load_all()
        for meta in metas:
            segments.setdefault(meta.tenant, []).append(meta)
        with self._lock:
            self._segments = segments
            self._streams = streams
            self._catalog_version = version

    def _remove_orphans(self) -> None:
        """Delete files a crash left behind: ``.tmp`` files and segments with no row."""
        known = {meta.path for metas in self._segments.values() for meta in metas}
        root = self.config.data_dir
        for path in (root / "segments").glob("*/*"):
            relative = str(path.relative_to(root))
            if path.suffix == ".tmp" or (path.suffix == ".parquet" and relative not in known):
                path.unlink(missing_ok=True)

    def _replay(self) -> None:
        wal_dir = self.config.data_dir / "wal"
        files = list_wal_files(wal_dir)
        last_seq = max(self._flushed.values(), default=0)
        closed: list[WalFile] = []
        now = self._clock()
        for index, path in enumerate(files):
            wal_file = WalFile(path)
            newest = index == len(files) - 1
            for record in read_wal_file(path, truncate_torn_tail=newest):
                last_seq = max(last_seq, record.seq)
                wal_file.last_seq_by_tenant[record.tenant] = record.seq
                if record.seq <= self._flushed.get(record.tenant, 0):
                    continue
                self._apply(record.tenant, record.streams, record.seq, now)
            closed.append(wal_file)
        self._next_seq = last_seq + 1
        self._wal = WalWriter(wal_dir, fsync=self.config.fsync)
        self._wal.closed_files.extend(closed)
        drop_covered_wal_files(self)

    def close(self) -> None:
        """Release files and the data-dir lock; the head stays in the WAL (no flush)."""
        if self._closed:
            return
        self._closed = True
        with self._maintenance:
            if self._wal is not None:
                self._wal.close()
            self._unlink_retired(force=True)
            if self._catalog is not None:
                self._catalog.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writes ----------------------------------------------------------------------

    def _stream_id(self, labels: Labels) -> int:
        sid = self._ids.get(labels)
        if sid is None:
            sid = stream_fingerprint(labels)
            self._ids[labels] = sid
        return sid

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError("this store was opened read-only: only the server writes")
        if self._closed:
            raise StoreError("the store is closed")

    def append(self, request: PushRequest) -> AppendResult:
        """Store the entries of a push; returns once they are durable in the WAL.

        Entries older than the stream's newest entry minus the out-of-order window are
        rejected with reason ``too_far_behind``. Thread-safe.
        """
        self._writable()
        assert self._wal is not None
        tenant = request.tenant
        streams = [s for s in request.streams if len(s)]
        if not streams:
            return AppendResult(accepted=0, rejected={}, samples=())
        window_ns = int(self.config.out_of_order_window_secs * _NS)
        ids = [self._stream_id(s.labels) for s in streams]
        ts_arrays = [np.asarray(s.ts_ns, dtype=np.int64) for s in streams]
        # Built before taking the lock: the usual case has no rejections.
        payload = encode_payload(tenant, streams)
        batch = batch_of_streams(ids, streams, ts_arrays)
        with self._lock:
            known = self._streams.setdefault(tenant, {})
            check = check_window(ids, streams, ts_arrays, known, window_ns, _MAX_SAMPLES)
            rejected, samples = check.rejected, check.samples
            if rejected:
                streams, ids, ts_arrays = keep_accepted(streams, ids, ts_arrays, check.masks)
                if not streams:
                    return AppendResult(
                        accepted=0, rejected={TOO_FAR_BEHIND: rejected}, samples=tuple(samples)
                    )
                payload = encode_payload(tenant, streams)
                batch = batch_of_streams(ids, streams, ts_arrays)
            seq = self._next_seq
            self._next_seq += 1
            self._wal.write(seq, tenant, payload)
            self._insert(tenant, ids, streams, ts_arrays, batch, seq, self._clock())
        self._wal.sync(seq)
        return AppendResult(
            accepted=batch.num_rows,
            rejected={TOO_FAR_BEHIND: rejected} if rejected else {},
            samples=tuple(samples),
        )

    def _insert(
        self,
        tenant: str,
        ids: Sequence[int],
        streams: Sequence[StreamBatch],
        ts_arrays: Sequence[np.ndarray],
        batch: pa.RecordBatch,
        seq: int,
        now_ns: int,
    ) -> None:
        known = self._streams.setdefault(tenant, {})
        for sid, stream, ts in zip(ids, streams, ts_arrays, strict=True):
            low, high = int(ts.min()), int(ts.max())
            state = known.get(sid)
            if state is None:
                known[sid] = StreamState(dict(stream.labels), low, high)
            else:
                state.first_ts = min(state.first_ts, low)
                state.last_ts = max(state.last_ts, high)
        self._heads.setdefault(tenant, TenantHead()).add(batch, seq, now_ns)

    def _apply(self, tenant: str, streams: Sequence[StreamBatch], seq: int, now_ns: int) -> None:
        """Put a replayed WAL record into the head (it holds accepted entries only)."""
        streams = [s for s in streams if len(s)]
        if not streams:
            return
        ids = [self._stream_id(s.labels) for s in streams]
        ts_arrays = [np.asarray(s.ts_ns, dtype=np.int64) for s in streams]
        with self._lock:
            self._insert(
                tenant,
                ids,
                streams,
                ts_arrays,
                batch_of_streams(ids, streams, ts_arrays),
                seq,
                now_ns,
            )

    # ---- cutting segments ------------------------------------------------------------

    def maybe_cut(self) -> int:
        """Cut the heads that reached ``max_segment_bytes`` or ``max_segment_age_secs``."""
        self._writable()
        with self._maintenance:
            now = self._clock()
            age_ns = int(self.config.max_segment_age_secs * _NS)
            with self._lock:
                due = [
                    tenant
                    for tenant, head in self._heads.items()
                    if head.rows
                    and (
                        head.bytes >= self.config.max_segment_bytes
                        or now - (head.first_append_ns or now) >= age_ns
                    )
                ]
            written = self._cut(due) if due else 0
            _maintenance.compact(self)
            self._unlink_retired(force=False)
            return written

    def compact(self) -> int:
        """Merge small segments (``maybe_cut`` also does this); returns segments merged."""
        self._writable()
        with self._maintenance:
            merged = _maintenance.compact(self)
            self._unlink_retired(force=False)
            return merged

    def flush(self) -> None:
        """Cut every head to segments (graceful shutdown); the WAL is then removed."""
        self._writable()
        with self._maintenance:
            with self._lock:
                tenants = [t for t, h in self._heads.items() if h.rows]
            self._cut(tenants)

    def _cut(self, tenants: Sequence[str]) -> int:
        """Write each tenant's head as one segment; caller holds ``_maintenance``."""
        return cut_heads(self, tenants)

    def _retire(self, path: Path) -> None:
        """Unlink a replaced segment later, so a reader that just listed it can finish."""
        self._retired.append((self._clock() + _maintenance.RETIRE_GRACE_NS, path))

    def _unlink_retired(self, *, force: bool) -> None:
        now = self._clock()
        keep = []
        for due, path in self._retired:
            if force or due <= now:
                path.unlink(missing_ok=True)
            else:
                keep.append((due, path))
        self._retired = keep

    # ---- retention and deletes ---------------------------------------------------------

    def apply_retention(self) -> int:
        """Remove entries older than their stream's retention; returns rows removed.

        An entry expires when ``ts < now - period``; the period of a stream is that of
        the first retention rule that applies to it, else ``retention_period_secs``.
        """
        self._writable()
        with self._maintenance:
            removed = _maintenance.apply_retention(self, self._clock())
            self._unlink_retired(force=False)
            return removed

    def delete(
        self, tenant: str, matchers: Sequence[LabelMatcher], start_ns: int, end_ns: int
    ) -> int:
        """Delete entries of matching streams with ``start_ns <= ts < end_ns``; rows removed.

        Touched segments are rewritten (head rows are cut to a segment first, so the WAL
        cannot bring them back). A stream left without entries is forgotten entirely:
        its labels leave the catalog and the label APIs.
        """
        self._writable()
        with self._maintenance:
            removed = _maintenance.delete(self, tenant, matchers, start_ns, end_ns)
            self._unlink_retired(force=False)
            return removed

    # ---- reads -----------------------------------------------------------------------

    def _snapshots(self, tenants: Sequence[str]) -> list[TenantSnapshot]:
        if self.read_only and self._catalog is not None:
            self._refresh_from_catalog()
        with self._lock:
            result = []
            for tenant in dict.fromkeys(tenants):
                head = self._heads.get(tenant)
                result.append(
                    TenantSnapshot(
                        tenant=tenant,
                        segments=tuple(self._segments.get(tenant, ())),
                        head=tuple(head.visible()) if head else (),
                        streams=dict(self._streams.get(tenant, {})),
                    )
                )
            return result

    def scan_sources(
        self,
        tenants: Sequence[str],
        matchers: Sequence[LabelMatcher],
        start_ns: int,
        end_ns: int,
        needles: Sequence[str] = (),
        alternatives: Sequence[Sequence[str]] = (),
    ) -> ScanSources:
        """Segments and head rows a query engine must scan (``start_ns <= ts < end_ns``).

        Every selected line holds each of ``needles`` and one of each group of
        ``alternatives``: segments and row groups that cannot are left out."""
        return scan(
            self.config.data_dir,
            self._snapshots(tenants),
            matchers,
            start_ns,
            end_ns,
            needles,
            alternatives,
            self._blooms.get,
            self._words.get,
        )

    def select(
        self,
        tenants: Sequence[str],
        matchers: Sequence[LabelMatcher],
        start_ns: int,
        end_ns: int,
        direction: Direction = Direction.BACKWARD,
        limit: int | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Entries of matching streams in the range, ordered by ts in ``direction``."""
        for attempt in range(_READ_ATTEMPTS):
            try:
                batches = list(
                    select_rows(
                        self.config.data_dir,
                        self._snapshots(tenants),
                        matchers,
                        start_ns,
                        end_ns,
                        direction,
                        limit,
                    )
                )
            except FileNotFoundError:
                # A segment was replaced (compaction, retention) and its grace period
                # ended while this read ran: read again from a fresh snapshot.
                if attempt == _READ_ATTEMPTS - 1:
                    raise
                continue
            return iter(batches)
        raise AssertionError("unreachable")

    def streams(
        self,
        tenants: Sequence[str],
        matchers: Sequence[LabelMatcher],
        start_ns: int,
        end_ns: int,
    ) -> list[StreamInfo]:
        """Matching streams whose time span meets the range, sorted by tenant and labels."""
        return stream_infos(self._snapshots(tenants), matchers, start_ns, end_ns)

    def label_names(
        self,
        tenants: Sequence[str],
        start_ns: int,
        end_ns: int,
        matchers: Sequence[LabelMatcher] = (),
    ) -> list[str]:
        """Sorted label names of the (matching) streams seen in the range."""
        names: set[str] = set()
        for snapshot in self._snapshots(tenants):
            for labels in matching_streams(snapshot, matchers, start_ns, end_ns).values():
                names.update(labels)
        return sorted(names)

    def label_values(
        self,
        tenants: Sequence[str],
        name: str,
        start_ns: int,
        end_ns: int,
        matchers: Sequence[LabelMatcher] = (),
    ) -> list[str]:
        """Sorted values of label ``name`` among the (matching) streams seen in the range."""
        values: set[str] = set()
        for snapshot in self._snapshots(tenants):
            for labels in matching_streams(snapshot, matchers, start_ns, end_ns).values():
                if name in labels:
                    values.add(labels[name])
        return sorted(values)

    def series(
        self,
        tenants: Sequence[str],
        matcher_sets: Sequence[Sequence[LabelMatcher]],
        start_ns: int,
        end_ns: int,
    ) -> list[dict[str, str]]:
        """Label sets of streams matching any matcher set, once each, sorted."""
        found: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        snapshots = self._snapshots(tenants)
        for matchers in matcher_sets:
            for snapshot in snapshots:
                for labels in matching_streams(snapshot, matchers, start_ns, end_ns).values():
                    found.setdefault(tuple(sorted(labels.items())), dict(labels))
        return [found[key] for key in sorted(found)]

    def stats(
        self,
        tenants: Sequence[str],
        matchers: Sequence[LabelMatcher],
        start_ns: int,
        end_ns: int,
    ) -> IndexStats:
        """Loki's ``/index/stats``: segment-granular counts plus the exact head."""
        return stats_of(self._snapshots(tenants), matchers, start_ns, end_ns)

    def figures(self) -> StoreFigures:
        """Sizes for ``/metrics``: head, segments, WAL, streams."""
        with self._lock:
            heads = [h for h in self._heads.values()]
            head_bytes = sum(h.bytes + sum(b.nbytes for b in h.flushing) for h in heads)
            head_rows = sum(h.rows + sum(b.num_rows for b in h.flushing) for h in heads)
            segments = [s for metas in self._segments.values() for s in metas]
            streams = sum(len(s) for s in self._streams.values())
            tenants = len(set(self._streams) | set(self._segments))
        wal_bytes = 0
        for path in (self.config.data_dir / "wal").glob("*.wal"):
            try:
                wal_bytes += path.stat().st_size
            except FileNotFoundError:
                continue  # removed by a cut meanwhile
        return StoreFigures(
            head_bytes=head_bytes,
            head_rows=head_rows,
            segments=len(segments),
            segment_bytes=sum(s.bytes for s in segments),
            segment_rows=sum(s.rows for s in segments),
            wal_bytes=wal_bytes,
            streams=streams,
            tenants=tenants,
            wal_fsyncs=self._wal.fsyncs if self._wal else 0,
            wal_fsync_seconds=self._wal.fsync_seconds if self._wal else 0.0,
        )

    def tenant_dir(self, tenant: str) -> Path:
        """Folder holding a tenant's segments (for engines that glob it)."""
        return self.config.data_dir / "segments" / tenant_dir_name(tenant)
