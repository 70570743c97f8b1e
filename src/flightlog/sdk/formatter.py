"""``JSONFormatter``: one JSON object per line for any stdlib ``logging`` record.

An event is a plain dict built from a ``LogRecord``::

    {"ts": "2026-11-23T20:34:38.123456789Z", "level": "INFO", "logger": "app",
     "msg": "...", <bound context>, <extra=...>, "exception": {...}, "traceback": "..."}

The formatter is on the hot path of every log call, so it avoids work it does not need:
the set of standard ``LogRecord`` attributes is computed once, the extras are found
with one C-level set difference, the RFC 3339 date prefix is cached per second, and
OpenTelemetry is consulted only when the application already imported it.

Processors (redaction, sampling, ...) run in ``EventFilter``, attached to a handler,
because only a filter can drop a record; the filter hands its processed event to the
formatter through the record.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import orjson

from flightlog.sdk.context import _context, trace_ids
from flightlog.sdk.processors import Processor, run_processors

__all__ = [
    "SHIPPED_ATTR",
    "EventFilter",
    "JSONFormatter",
    "build_event",
    "exception_event",
    "format_ts_ns",
]

_PROCESSED_ATTR = "_flightlog_event"
# On a record another path already ships (a Run's own records): the ``Shipper`` it went to.
SHIPPED_ATTR = "_flightlog_shipped"

# Every attribute a bare LogRecord has, plus the ones Formatter.format adds and the ones
# newer Pythons add, so that everything else on the record is an ``extra=`` field.
STANDARD_ATTRS: frozenset[str] = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "taskName", _PROCESSED_ATTR, SHIPPED_ATTR}

_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
# How many attributes a record without extra= fields has; more means extras (or a
# ``message`` another formatter added, which the scan then skips).
_PLAIN_RECORD_ATTRS = len(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)


_NEL, _LS, _PS = "\x85".encode(), "\u2028".encode(), "\u2029".encode()


def one_line(data: bytes) -> bytes:
    """Escape U+0085/U+2028/U+2029, which JSON allows raw but ``str.splitlines`` splits on.

    They can only occur inside JSON strings, where ``\\uXXXX`` escapes mean the same.
    """
    if _NEL in data or _LS in data or _PS in data:
        data = data.replace(_NEL, b"\\u0085").replace(_LS, b"\\u2028").replace(_PS, b"\\u2029")
    return data


def _default(value: Any) -> Any:
    """Serialise what orjson cannot: sets as lists, everything else through ``str``."""
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


class _TimestampCache:
    """RFC 3339 UTC timestamps with ns digits; the date-time prefix is cached per second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def format_ns(self, ts_ns: int) -> str:
        second, fraction = divmod(ts_ns, 1_000_000_000)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{fraction:09d}Z"


_timestamps = _TimestampCache()


def format_ts_ns(ts_ns: int) -> str:
    """Render nanoseconds since the epoch as RFC 3339 UTC, e.g. ``...T20:34:38.000000001Z``."""
    return _timestamps.format_ns(ts_ns)


def exception_event(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
    _depth: int = 0,
) -> dict[str, Any]:
    """Structured exception: ``{type, message, frames: [{file, line, function}], cause?}``.

    ``cause`` is the exception this one was raised from (or while handling), the same
    shape, up to 5 levels deep.
    """
    frames = [
        {"file": frame.filename, "line": frame.lineno, "function": frame.name}
        for frame in traceback.extract_tb(tb)
    ]
    event: dict[str, Any] = {
        "type": exc_type.__qualname__ if exc_type is not None else "None",
        "message": str(exc) if exc is not None else "",
        "frames": frames,
    }
    if exc is not None and _depth < 5:
        cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if cause is not None:
            event["cause"] = exception_event(type(cause), cause, cause.__traceback__, _depth + 1)
    return event


def build_event(record: logging.LogRecord) -> dict[str, Any]:
    """The event dict of a record: base fields, bound context, trace IDs, extras, exception."""
    msg = record.msg
    if type(msg) is not str:
        msg = str(msg)
    if record.args:
        msg = msg % record.args
    created = record.created
    second = int(created)
    cache = _timestamps
    if second != cache._second:
        cache._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        cache._second = second
    event: dict[str, Any] = {
        "ts": f"{cache._prefix}.{int((created - second) * 1e9):09d}Z",
        "level": record.levelname,
        "logger": record.name,
        "msg": msg,
    }
    bound = _context.get()
    if bound:
        event.update(bound)
    if "opentelemetry.trace" in sys.modules:
        ids = trace_ids()
        if ids is not None:
            event.setdefault("trace_id", ids[0])
            event.setdefault("span_id", ids[1])
    attrs = record.__dict__
    if len(attrs) > _PLAIN_RECORD_ATTRS:  # only records with extra= fields pay for the scan
        for name in attrs.keys() - STANDARD_ATTRS:
            event[name] = attrs[name]
    if record.exc_info and record.exc_info[0] is not None:
        event["exception"] = exception_event(*record.exc_info)
        event["traceback"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
    elif record.exc_text:
        event["traceback"] = record.exc_text
    if record.stack_info:
        event["stack"] = record.stack_info
    return event


class EventFilter(logging.Filter):
    """Runs processors over a record's event; drops the record when one returns ``None``.

    Attach it to a handler (not a logger) so that it sees records from every logger,
    including third-party libraries'. The processed event rides on the record to that
    handler's ``JSONFormatter``; filters sharing the same ``processors`` tuple reuse it.
    """

    def __init__(self, processors: Sequence[Processor]) -> None:
        super().__init__()
        self.processors = processors if isinstance(processors, tuple) else tuple(processors)
        self.dropped: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        # Several handlers sharing one processor chain process a record once.
        cached = record.__dict__.get(_PROCESSED_ATTR)
        if cached is not None and cached[0] is self.processors:
            return cached[1] is not None
        event = run_processors(self.processors, build_event(record), self.dropped)
        record.__dict__[_PROCESSED_ATTR] = (self.processors, event)
        return event is not None


class JSONFormatter(logging.Formatter):
    """Formats each record as one line of JSON (orjson); see the module docstring."""

    def __init__(self, static_fields: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self._static = dict(static_fields or {})

    def event(self, record: logging.LogRecord) -> Mapping[str, Any]:
        """The processed event for ``record`` (built here when no ``EventFilter`` ran)."""
        cached = record.__dict__.get(_PROCESSED_ATTR)
        event = cached[1] if cached is not None else None
        if event is None:
            event = build_event(record)
        if self._static:
            event = {**self._static, **event}
        return event

    def format(self, record: logging.LogRecord) -> str:
        cached = record.__dict__.get(_PROCESSED_ATTR)
        event = cached[1] if cached is not None else None
        if event is None:
            event = build_event(record)
        if self._static:
            event = {**self._static, **event}
        return one_line(orjson.dumps(event, default=_default, option=_ORJSON_OPTIONS)).decode()
