"""A fixed data set in a real store (part in Parquet segments, part in the head)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from flightlog.model import PushRequest, StreamBatch, canonical_labels
from flightlog.query.engine import Engine
from flightlog.store import Store, StoreConfig

S = 1_000_000_000
T0 = 1_700_000_000 * S

API_PROD = {"app": "api", "env": "prod"}
API_DEV = {"app": "api", "env": "dev"}
WEB_PROD = {"app": "web", "env": "prod"}


def _json(**fields: object) -> str:
    return orjson.dumps(fields).decode()


# (labels, seconds after T0, line, structured metadata); the first batch goes to a segment.
SEGMENT_ROWS = [
    (API_PROD, 10, _json(level="info", latency_ms=100, status=200, msg="ok", env="shadow"), None),
    (API_PROD, 20, _json(level="error", latency_ms=300, status=500, msg="upstream timeout"), None),
    (API_DEV, 15, 'level=info duration=1.5s size=2KB msg="hello world"', None),
    (WEB_PROD, 30, "GET /index.html 200", {"trace_id": "abc"}),
]
HEAD_ROWS = [
    (API_PROD, 70, _json(level="info", latency_ms=200, status=200, msg="ok"), None),
    (API_PROD, 80, "not json at all", None),
    (API_DEV, 75, "level=warn duration=250ms size=10KB msg=slow", None),
    (WEB_PROD, 90, "POST /login 401", {"trace_id": "def"}),
    (WEB_PROD, 100, "\x1b[31mred alert\x1b[0m", None),
]


def push(
    store: Store,
    rows: list[tuple[dict[str, str], int, str, dict[str, str] | None]],
    tenant: str = "default",
) -> None:
    by_stream: dict[tuple[tuple[str, str], ...], list[tuple[int, str, dict[str, str] | None]]] = {}
    for labels, seconds, line, metadata in rows:
        by_stream.setdefault(canonical_labels(labels), []).append(
            (T0 + seconds * S, line, metadata)
        )
    batches = tuple(
        StreamBatch(key, [r[0] for r in entries], [r[1] for r in entries], [r[2] for r in entries])
        for key, entries in by_stream.items()
    )
    result = store.append(PushRequest(tenant, batches))
    assert result.rejected_total == 0, result


@pytest.fixture
def dataset_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(
        StoreConfig(data_dir=tmp_path / "data", fsync=False), clock=lambda: T0 + 200 * S
    )
    push(store, SEGMENT_ROWS)
    store.flush()
    push(store, HEAD_ROWS)
    yield store
    store.close()


@pytest.fixture
def engine(dataset_store: Store) -> Engine:
    return Engine(dataset_store)
