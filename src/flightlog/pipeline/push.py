"""Run a pipeline over a ``PushRequest``: entries become records and records streams again.

This is the one call the server's ingest makes (per tenant) when a ``pipeline:`` section
is configured; stages may change labels, so records are regrouped into streams after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flightlog.model import PushRequest, StreamBatch
from flightlog.pipeline.record import EMPTY, LogRecord
from flightlog.pipeline.stage import Pipeline

__all__ = ["apply_pipeline", "records_from_push", "streams_from_records"]


def records_from_push(push: PushRequest) -> list[LogRecord]:
    """One record per entry of every stream of ``push``."""
    records: list[LogRecord] = []
    append = records.append
    for stream in push.streams:
        labels = dict(stream.labels)
        for ts_ns, line, metadata in zip(stream.ts_ns, stream.lines, stream.metadata, strict=True):
            append(LogRecord(ts_ns, line, labels, metadata or EMPTY))
    return records


def streams_from_records(records: Iterable[LogRecord]) -> tuple[StreamBatch, ...]:
    """Group records into streams by their (final) label sets, keeping their order."""
    groups: dict[
        tuple[tuple[str, str], ...], tuple[list[int], list[str], list[Mapping[str, str] | None]]
    ] = {}
    last_labels: object = None
    last_key: tuple[tuple[str, str], ...] = ()
    for record in records:
        if record.labels is not last_labels:
            last_labels = record.labels
            last_key = tuple(sorted(record.labels.items()))
        group = groups.get(last_key)
        if group is None:
            group = groups[last_key] = ([], [], [])
        group[0].append(record.ts_ns)
        group[1].append(record.line)
        group[2].append(dict(record.metadata) if record.metadata else None)
    return tuple(
        StreamBatch(key, ts, lines, metadata) for key, (ts, lines, metadata) in groups.items()
    )


def apply_pipeline(pipeline: Pipeline, push: PushRequest) -> PushRequest:
    """``push`` after ``pipeline``: dropped entries removed, labels and lines as stages left them."""
    if not len(pipeline):
        return push
    records = pipeline.process(records_from_push(push))
    return PushRequest(push.tenant, streams_from_records(records))
