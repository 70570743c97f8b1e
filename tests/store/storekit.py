"""Helpers of the store tests (imported as ``storekit``; unique name on sys.path)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from flightlog.model import LabelMatcher, MatchOp, PushRequest, StreamBatch, canonical_labels
from flightlog.store import ENTRY_SCHEMA, AppendResult, Store

BASE_NS = 1_700_000_000 * 1_000_000_000
SECOND = 1_000_000_000
HOUR = 3600 * SECOND


class FakeClock:
    """A clock in ns that moves only when a test says so."""

    def __init__(self, now_ns: int = BASE_NS) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += int(seconds * SECOND)


def batch(
    labels: Mapping[str, str],
    ts_ns: Sequence[int],
    lines: Sequence[str] | None = None,
    metadata: Sequence[Mapping[str, str] | None] | None = None,
) -> StreamBatch:
    return StreamBatch(
        labels=canonical_labels(labels),
        ts_ns=list(ts_ns),
        lines=list(lines) if lines is not None else [f"line {t}" for t in ts_ns],
        metadata=list(metadata) if metadata is not None else [None] * len(ts_ns),
    )


def push(store: Store, tenant: str, *batches: StreamBatch) -> AppendResult:
    return store.append(PushRequest(tenant=tenant, streams=tuple(batches)))


def eq(name: str, value: str) -> LabelMatcher:
    return LabelMatcher(name, MatchOp.EQ, value)


def rows(
    store: Store,
    tenant: str = "t",
    matchers: Sequence[LabelMatcher] = (),
    start: int = 0,
    end: int = 2**62,
    **options: object,
) -> list[dict]:
    """Every selected row as a dict, in the order ``select`` returned them."""
    batches = list(store.select([tenant], list(matchers), start, end, **options))
    return pa.Table.from_batches(batches, schema=ENTRY_SCHEMA).to_pylist()
