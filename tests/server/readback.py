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


def queried_rows(
    url: str, selector: str, tenant: str = "default"
) -> list[tuple[dict[str, str], int, str]]:
    """Entries of the last week a running server returns for ``selector``: (labels, ts, line).

    Goes through the LogQL HTTP API (``query_range``, at most 5000 entries), so the server
    keeps running; structured metadata shows up among the labels, as in Loki's answer.
    """
    import time

    import httpx

    end = time.time_ns() + 3600 * 10**9
    params = {
        "query": selector,
        "start": str(end - 7 * 86400 * 10**9),
        "end": str(end),
        "direction": "forward",
        "limit": "5000",
    }
    response = httpx.get(
        f"{url}/loki/api/v1/query_range",
        params=params,
        headers={"X-Scope-OrgID": tenant},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    rows = [
        (stream["stream"], int(ts), line)
        for stream in response.json()["data"]["result"]
        for ts, line in stream["values"]
    ]
    return sorted(rows, key=lambda r: (r[1], r[2]))
