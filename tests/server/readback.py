"""Reading what a (stopped) server stored, through the store's read API."""

from __future__ import annotations

from pathlib import Path

from flightlog.model import Direction
from flightlog.store import Store, StoreConfig

Row = tuple[tuple[tuple[str, str], ...], int, str, dict[str, str] | None]

_END = 2**63 - 1


def stored_rows(data_dir: Path, tenant: str = "default") -> list[Row]:
    """Every entry of ``tenant`` as (labels, ts, line, metadata), sorted.

    Opens the store read-only, so it sees what is in segments: call it after the
    server stopped gracefully (SIGTERM flushes the head) or use ``replayed_rows``.
    """
    with Store.open(StoreConfig(data_dir), read_only=True) as store:
        return _rows(store, tenant)


def replayed_rows(data_dir: Path, tenant: str = "default") -> list[Row]:
    """Like ``stored_rows`` but opens the store as a writer, replaying the WAL (after a crash)."""
    with Store.open(StoreConfig(data_dir)) as store:
        return _rows(store, tenant)


def _rows(store: Store, tenant: str) -> list[Row]:
    labels = {
        s.stream_id: tuple(sorted(s.labels.items())) for s in store.streams([tenant], [], 0, _END)
    }
    rows: list[Row] = []
    for batch in store.select([tenant], [], 0, _END, direction=Direction.FORWARD):
        for row in batch.to_pylist():
            metadata = dict(row["metadata"]) or None
            rows.append((labels[row["stream_id"]], row["ts"], row["line"], metadata))
    return sorted(rows, key=lambda r: (r[0], r[1], r[2]))
