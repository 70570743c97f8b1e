"""Decoding Loki's JSON push body straight into columnar ``StreamBatch`` values.

The body is ``{"streams": [{"stream": {label: value}, "values": [[ts, line], [ts, line,
{metadata}]]}]}`` with ``ts`` a string of integer nanoseconds (integers are accepted
too). Type checks run over whole columns (``set(map(type, column))``) rather than per
entry so a 10,000-line batch costs a few list comprehensions. Any structural or type
error rejects the whole body with ``invalid_body``: Loki refuses such a body outright.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from flightlog.errors import ValidationError
from flightlog.ingest.reasons import INVALID_BODY
from flightlog.model import PushRequest, StreamBatch

__all__ = ["decode_loki_json", "encode_loki_json"]

_LIST = {list}
_STR = {str}
_LENGTHS = {2, 3}


def _fail(message: str) -> ValidationError:
    return ValidationError(INVALID_BODY, message)


def _timestamps(values: list[list[Any]], where: str) -> list[int]:
    raw = [v[0] for v in values]
    kinds = set(map(type, raw))
    if kinds == _STR:
        joined = "".join(raw)
        if not (joined.isascii() and joined.isdigit()) or "" in raw:
            bad = next(t for t in raw if not (t.isascii() and t.isdigit()))
            raise _fail(f"{where}: timestamp {bad!r} is not integer nanoseconds")
        return list(map(int, raw))
    if kinds <= {str, int}:
        out = []
        for t in raw:
            if type(t) is str and not (t.isascii() and t.isdigit()):
                raise _fail(f"{where}: timestamp {t!r} is not integer nanoseconds")
            out.append(int(t))
        if min(out) < 0:
            raise _fail(f"{where}: timestamps must not be negative")
        return out
    bad = next(t for t in raw if type(t) not in (str, int))
    raise _fail(f"{where}: timestamp must be a string of nanoseconds, got {bad!r}")


def _metadata(values: list[list[Any]], where: str) -> list[Mapping[str, str] | None]:
    out: list[Mapping[str, str] | None] = []
    for v in values:
        if len(v) == 2:
            out.append(None)
            continue
        md = v[2]
        if type(md) is not dict:
            raise _fail(f"{where}: structured metadata must be an object, got {md!r}")
        if not md:
            out.append(None)
            continue
        if set(map(type, md.values())) != _STR:
            raise _fail(f"{where}: structured metadata values must be strings, got {md!r}")
        out.append(md)
    return out


def _stream(index: int, stream: Any) -> StreamBatch:
    where = f"streams[{index}]"
    if type(stream) is not dict:
        raise _fail(f"{where} must be an object")
    labels = stream.get("stream", stream.get("labels"))
    values = stream.get("values")
    if type(labels) is not dict:
        raise _fail(f'{where}: "stream" must be an object of label names to values')
    if set(map(type, labels.values())) - _STR:
        raise _fail(f'{where}: label values in "stream" must be strings')
    if type(values) is not list:
        raise _fail(f'{where}: "values" must be a list of [timestamp, line] pairs')
    if not values:
        return StreamBatch(tuple(sorted(labels.items())), [], [], [])
    if set(map(type, values)) != _LIST:
        raise _fail(
            f"{where}: each value must be [timestamp, line] or [timestamp, line, {{metadata}}]"
        )
    lengths = set(map(len, values))
    if not lengths <= _LENGTHS:
        raise _fail(
            f"{where}: each value must be [timestamp, line] or [timestamp, line, {{metadata}}]"
        )
    ts_ns = _timestamps(values, where)
    lines = [v[1] for v in values]
    if set(map(type, lines)) != _STR:
        raise _fail(f"{where}: log lines must be strings")
    if lengths == {2}:
        metadata: list[Mapping[str, str] | None] = [None] * len(values)
    else:
        metadata = _metadata(values, where)
    return StreamBatch(tuple(sorted(labels.items())), ts_ns, lines, metadata)


def decode_loki_json(body: bytes, tenant: str) -> PushRequest:
    """Decode a Loki JSON push body; raise ``ValidationError(invalid_body)`` if malformed."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _fail(f"body is not valid JSON: {exc}") from None
    if type(document) is not dict or type(document.get("streams")) is not list:
        raise _fail('body must be an object with a "streams" list')
    streams = tuple(_stream(i, s) for i, s in enumerate(document["streams"]))
    return PushRequest(tenant, tuple(s for s in streams if len(s)))


def encode_loki_json(request: PushRequest) -> bytes:
    """Encode a push the way Loki clients do (for ``flightlog push``, tests and benchmarks)."""
    streams = []
    for batch in request.streams:
        values: list[list[Any]] = [
            [str(ts), line, md] if md else [str(ts), line]
            for ts, line, md in zip(batch.ts_ns, batch.lines, batch.metadata, strict=True)
        ]
        streams.append({"stream": dict(batch.labels), "values": values})
    return orjson.dumps({"streams": streams})
