"""NDJSON push bodies: one ``{"ts", "labels", "line", "metadata"}`` object per line."""

from __future__ import annotations

import orjson
import pytest

from flightlog.errors import ValidationError
from flightlog.ingest import decode_ndjson, encode_ndjson
from flightlog.ingest.reasons import INVALID_BODY
from flightlog.model import PushRequest, StreamBatch


def _lines(*objects: object) -> bytes:
    return b"\n".join(orjson.dumps(o) for o in objects) + b"\n"


def test_groups_entries_by_label_set_in_arrival_order():
    """Entries of the same labels (in any key order) end up in one batch."""
    body = _lines(
        {"ts": 1, "labels": {"a": "1", "b": "2"}, "line": "x"},
        {"ts": 2, "labels": {"a": "9"}, "line": "y", "metadata": {"trace_id": "t"}},
        {"ts": 3, "labels": {"b": "2", "a": "1"}, "line": "z"},
    )
    request = decode_ndjson(body, "t", now_ns=0)
    assert request == PushRequest(
        "t",
        (
            StreamBatch((("a", "1"), ("b", "2")), [1, 3], ["x", "z"], [None, None]),
            StreamBatch((("a", "9"),), [2], ["y"], [{"trace_id": "t"}]),
        ),
    )


def test_rfc3339_and_missing_timestamps():
    """RFC 3339 keeps nanoseconds; a missing ts means now."""
    body = _lines(
        {"ts": "2026-01-01T00:00:00.123456789Z", "labels": {"a": "1"}, "line": "x"},
        {"ts": "2026-01-01T01:00:00+01:00", "labels": {"a": "1"}, "line": "y"},
        {"labels": {"a": "1"}, "line": "z"},
    )
    request = decode_ndjson(body, "t", now_ns=42)
    assert list(request.streams[0].ts_ns) == [1767225600123456789, 1767225600000000000, 42]


def test_blank_lines_are_skipped():
    """Empty lines and a missing final newline are fine."""
    body = b"\n\n" + orjson.dumps({"ts": 1, "labels": {"a": "1"}, "line": "x"})
    assert decode_ndjson(body, "t", 0).entry_count == 1


@pytest.mark.parametrize(
    ("body", "line_number"),
    [
        (b"garbage\n", 1),
        (_lines({"ts": 1, "labels": {"a": "1"}, "line": "x"}) + b'{"ts": 2, "labels": {"a"', 2),
        (_lines([1, 2]), 1),
        (_lines({"ts": 1, "labels": {"a": "1"}}), 1),
        (_lines({"ts": 1, "labels": {"a": "1"}, "line": 5}), 1),
        (_lines({"ts": 1, "labels": ["a"], "line": "x"}), 1),
        (_lines({"ts": 1, "labels": {"a": 1}, "line": "x"}), 1),
        (_lines({"ts": "yesterday", "labels": {"a": "1"}, "line": "x"}), 1),
        (_lines({"ts": 1.5, "labels": {"a": "1"}, "line": "x"}), 1),
        (_lines({"ts": -1, "labels": {"a": "1"}, "line": "x"}), 1),
        (_lines({"ts": 1, "labels": {"a": "1"}, "line": "x", "metadata": "m"}), 1),
        (_lines({"ts": 1, "labels": {"a": "1"}, "line": "x", "metadata": {"k": 2}}), 1),
    ],
)
def test_malformed_lines_reject_the_whole_body_naming_the_line(body, line_number):
    """One bad line rejects everything, and the message says which line."""
    with pytest.raises(ValidationError) as caught:
        decode_ndjson(body, "t", 0)
    assert caught.value.reason == INVALID_BODY
    assert str(caught.value).startswith(f"line {line_number}:")


def test_encode_then_decode_is_identity():
    """encode_ndjson writes what decode_ndjson reads."""
    request = PushRequest(
        "t", (StreamBatch((("a", "1"),), [1, 2], ["x", "y"], [None, {"k": "v"}]),)
    )
    assert decode_ndjson(encode_ndjson(request), "t", 0) == request
