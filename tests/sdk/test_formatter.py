"""JSONFormatter: one JSON object per record with ts, level, logger, msg, extras, context."""

from __future__ import annotations

import io
import logging
import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flightlog
from flightlog.sdk.formatter import STANDARD_ATTRS, JSONFormatter, format_ts_ns


def _logger_to(stream: io.StringIO, name: str = "test.formatter") -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger


def _lines(stream: io.StringIO) -> list[dict]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_base_fields_in_order() -> None:
    """A record becomes ts, level, logger and the formatted msg, in that order."""
    stream = io.StringIO()
    _logger_to(stream).info("hello %s", "world")
    (event,) = _lines(stream)
    assert list(event)[:4] == ["ts", "level", "logger", "msg"]
    assert event["level"] == "INFO" and event["logger"] == "test.formatter"
    assert event["msg"] == "hello world"


def test_timestamp_is_rfc3339_utc_with_nanoseconds() -> None:
    """ts has nine fractional digits and a Z suffix."""
    stream = io.StringIO()
    _logger_to(stream).warning("x")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", _lines(stream)[0]["ts"])


@pytest.mark.parametrize(
    ("ts_ns", "expected"),
    [
        (0, "1970-01-01T00:00:00.000000000Z"),
        (1_795_000_000_000_000_001, "2026-11-18T11:06:40.000000001Z"),
        (1_795_000_000_999_999_999, "2026-11-18T11:06:40.999999999Z"),
        (1_795_000_001_000_000_000, "2026-11-18T11:06:41.000000000Z"),
    ],
)
def test_format_ts_ns(ts_ns: int, expected: str) -> None:
    """Nanoseconds render exactly, also across the cached-second boundary."""
    assert format_ts_ns(ts_ns) == expected


def test_extras_and_bound_context_are_fields() -> None:
    """extra= fields and flightlog.bind fields appear; extras win over context."""
    stream = io.StringIO()
    with flightlog.bound(request_id="r-1", shard=1):
        _logger_to(stream).info("m", extra={"shard": 2, "items": {1, 2}})
    event = _lines(stream)[0]
    assert event["request_id"] == "r-1"
    assert event["shard"] == 2
    assert sorted(event["items"]) == [1, 2]


def test_unserialisable_extra_falls_back_to_str() -> None:
    """An object orjson cannot encode is written with str(), not an exception."""

    class Thing:
        def __str__(self) -> str:
            return "<thing>"

    stream = io.StringIO()
    _logger_to(stream).info("m", extra={"obj": Thing()})
    assert _lines(stream)[0]["obj"] == "<thing>"


def test_exception_is_structured_with_frames_and_traceback() -> None:
    """logger.exception adds {type, message, frames} and the formatted traceback."""
    stream = io.StringIO()
    logger = _logger_to(stream)

    def inner() -> None:
        raise KeyError("missing")

    try:
        inner()
    except KeyError:
        logger.exception("failed")
    event = _lines(stream)[0]
    assert event["exception"]["type"] == "KeyError"
    assert event["exception"]["message"] == "'missing'"
    assert event["exception"]["frames"][-1]["function"] == "inner"
    assert event["traceback"].startswith("Traceback (most recent call last)")
    assert "KeyError: 'missing'" in event["traceback"]


def test_opentelemetry_trace_and_span_ids_are_added() -> None:
    """Inside an active OTel span, trace_id and span_id (hex) are fields."""
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    stream = io.StringIO()
    logger = _logger_to(stream)
    with tracer.start_as_current_span("op") as span:
        logger.info("in span")
        context = span.get_span_context()
    event = _lines(stream)[0]
    assert event["trace_id"] == format(context.trace_id, "032x")
    assert event["span_id"] == format(context.span_id, "016x")


def test_third_party_logger_goes_through_configure(capsys: pytest.CaptureFixture[str]) -> None:
    """configure() makes any library's logging.getLogger(...) call a JSON line."""
    stream = io.StringIO()
    flightlog.configure(stream=stream)
    logging.getLogger("urllib3.connectionpool").warning("retrying %d", 3)
    event = orjson.loads(stream.getvalue().splitlines()[0])
    assert event["logger"] == "urllib3.connectionpool" and event["msg"] == "retrying 3"


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda n: n not in STANDARD_ATTRS and n not in ("ts", "level", "logger", "msg")
)


@settings(max_examples=150, deadline=None)
@given(message=st.text(max_size=200), extras=st.dictionaries(_names, _json_values, max_size=5))
def test_any_message_and_extras_round_trip(message: str, extras: dict) -> None:
    """Whatever text and JSON-able extras are logged, the line parses back to them."""
    stream = io.StringIO()
    _logger_to(stream, "test.formatter.roundtrip").info("%s", message, extra=extras)
    (line,) = stream.getvalue().splitlines()
    event = orjson.loads(line)
    assert event["msg"] == message
    for name, value in extras.items():
        assert event[name] == value


def test_exception_cause_chain_is_structured() -> None:
    """``raise X from Y`` gives the structured exception a ``cause`` of the same shape."""
    stream = io.StringIO()
    logger = _logger_to(stream, "test.formatter.cause")
    try:
        try:
            {}["shard"]
        except KeyError as missing:
            raise RuntimeError("data loader failed") from missing
    except RuntimeError:
        logger.exception("epoch aborted")
    exception = _lines(stream)[0]["exception"]
    assert exception["type"] == "RuntimeError"
    assert exception["cause"]["type"] == "KeyError" and exception["cause"]["message"] == "'shard'"
    assert "cause" not in exception["cause"]
