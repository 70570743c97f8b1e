"""Cutting heads into segments, and dropping the WAL files the segments now cover.

A cut moves a tenant's head batches to ``flushing`` (still readable), writes them as one
segment, commits it to the catalog, and only then lets go of the rows; on failure the
rows go back to the head and the WAL still holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import pyarrow as pa

from ._head import StreamState, TenantHead
from ._maintenance import write
from ._wal import fsync_dir

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["cut_heads", "drop_covered_wal_files"]


def cut_heads(store: Store, tenants: Sequence[str]) -> int:
    """Write each tenant's head as one segment; the caller holds ``store._maintenance``."""
    assert store._wal is not None and store._catalog is not None
    store._wal.rotate()
    written = 0
    for tenant in tenants:
        with store._lock:
            head = store._heads.get(tenant)
            if head is None or not head.batches:
                continue
            head.flushing = head.batches
            seq = head.last_seq
            store._heads[tenant] = TenantHead(flushing=head.flushing, last_seq=seq)
            head = store._heads[tenant]
        try:
            table = pa.Table.from_batches(head.flushing)
            meta = write(store, tenant, table)
            with store._lock:
                known = store._streams.get(tenant, {})
                states = {sid: _copy(known[sid]) for sid in meta.streams if sid in known}
            (added,) = store._catalog.commit_changes(
                add=[meta], streams={tenant: states}, flushed_seq={tenant: seq}
            )
        except BaseException:
            with store._lock:
                head.batches = head.flushing + head.batches
                head.flushing = []
                head.bytes = sum(b.nbytes for b in head.batches)
                head.rows = sum(b.num_rows for b in head.batches)
                head.first_append_ns = head.first_append_ns or store._clock()
            raise
        store._blooms.put(added.id, added.bloom)
        added = replace(added, bloom=b"")
        with store._lock:
            store._segments.setdefault(tenant, []).append(added)
            head.flushing = []
            store._flushed[tenant] = max(store._flushed.get(tenant, 0), seq)
        del table
        # The head's and the cut's buffers are free now: hand them back to the OS
        # rather than let the allocator keep them (the next cut adds its own).
        pa.default_memory_pool().release_unused()
        written += 1
    drop_covered_wal_files(store)
    return written


def drop_covered_wal_files(store: Store) -> None:
    """Delete closed WAL files whose every record is in a committed segment."""
    assert store._wal is not None
    keep = []
    removed = False
    for wal_file in store._wal.closed_files:
        if all(
            store._flushed.get(tenant, 0) >= seq
            for tenant, seq in wal_file.last_seq_by_tenant.items()
        ):
            wal_file.path.unlink(missing_ok=True)
            removed = True
        else:
            keep.append(wal_file)
    store._wal.closed_files[:] = keep
    if removed and store.config.fsync:
        fsync_dir(store.config.data_dir / "wal")


def _copy(state: StreamState) -> StreamState:
    return StreamState(dict(state.labels), state.first_ts, state.last_ts)
