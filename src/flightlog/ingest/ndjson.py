"""Decoding the NDJSON push body: one entry per line.

Each line is ``{"ts": <ns or RFC 3339>, "labels": {...}, "line": "...", "metadata": {...}}``
(the format ``gen_logs.py`` and ``flightlog push`` write). ``ts`` may be left out and then
means "received now"; ``metadata`` is optional. Blank lines are skipped. Any line that is
not such an object rejects the whole body with ``invalid_body``, naming the line number.
Entries are grouped by label set into one ``StreamBatch`` per stream, in arrival order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from flightlog.errors import ValidationError
from flightlog.ingest.reasons import INVALID_BODY
from flightlog.ingest.timestamps import parse_timestamp_ns
from flightlog.model import Labels, PushRequest, StreamBatch

__all__ = ["decode_ndjson", "encode_ndjson"]

_STR = {str}
_NO_LABELS: dict[str, str] = {}
_BAD_LABELS = '"labels" must be an object of string values'


class _Columns:
    __slots__ = ("lines", "metadata", "ts_ns")

    def __init__(self) -> None:
        self.ts_ns: list[int] = []
        self.lines: list[str] = []
        self.metadata: list[Mapping[str, str] | None] = []


def _fail(number: int, message: str) -> ValidationError:
    return ValidationError(INVALID_BODY, f"line {number}: {message}")


def decode_ndjson(body: bytes, tenant: str, now_ns: int) -> PushRequest:
    """Decode an NDJSON body; entries without ``ts`` get ``now_ns``."""
    groups: dict[tuple[tuple[str, Any], ...], _Columns] = {}
    loads = orjson.loads
    for number, raw in enumerate(body.split(b"\n"), start=1):
        if not raw or raw.isspace():
            continue
        try:
            obj = loads(raw)
        except orjson.JSONDecodeError as exc:
            raise _fail(number, f"not valid JSON: {exc}") from None
        if type(obj) is not dict:
            raise _fail(number, "must be a JSON object")
        line = obj.get("line")
        if type(line) is not str:
            raise _fail(number, '"line" must be a string')
        labels = obj.get("labels", _NO_LABELS)
        if type(labels) is not dict:
            raise _fail(number, _BAD_LABELS)
        key = tuple(labels.items())
        try:
            columns = groups.get(key)
        except TypeError:  # a list or object as a label value is unhashable
            raise _fail(number, _BAD_LABELS) from None
        if columns is None:
            # Label values are checked once per distinct label set, not once per line.
            if set(map(type, labels.values())) - _STR:
                raise _fail(number, _BAD_LABELS)
            columns = groups[key] = _Columns()
        metadata = obj.get("metadata")
        if metadata is not None and (
            type(metadata) is not dict or set(map(type, metadata.values())) - _STR
        ):
            raise _fail(number, '"metadata" must be an object of string values')
        ts = obj.get("ts")
        if type(ts) is int and ts >= 0:
            ts_ns = ts
        elif ts is None:
            ts_ns = now_ns
        else:
            try:
                ts_ns = parse_timestamp_ns(ts)
            except ValueError as exc:
                raise _fail(number, str(exc)) from None
        columns.ts_ns.append(ts_ns)
        columns.lines.append(line)
        columns.metadata.append(metadata or None)
    merged: dict[Labels, _Columns] = {}
    for key, columns in groups.items():
        labels_sorted: Labels = tuple(sorted(key))
        into = merged.get(labels_sorted)
        if into is None:
            merged[labels_sorted] = columns
        else:  # same labels written in another key order
            into.ts_ns.extend(columns.ts_ns)
            into.lines.extend(columns.lines)
            into.metadata.extend(columns.metadata)
    return PushRequest(
        tenant,
        tuple(StreamBatch(k, c.ts_ns, c.lines, c.metadata) for k, c in merged.items()),
    )


def encode_ndjson(request: PushRequest) -> bytes:
    """Encode a push as NDJSON (for ``flightlog push``, tests and benchmarks)."""
    out = []
    for batch in request.streams:
        labels = dict(batch.labels)
        for ts, line, md in zip(batch.ts_ns, batch.lines, batch.metadata, strict=True):
            obj: dict[str, Any] = {"ts": ts, "labels": labels, "line": line}
            if md:
                obj["metadata"] = md
            out.append(orjson.dumps(obj))
    return b"\n".join(out) + b"\n" if out else b""
