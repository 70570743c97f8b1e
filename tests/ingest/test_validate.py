"""Validation of a decoded push against a tenant's limits: what is dropped, and why."""

from __future__ import annotations

import pytest

from flightlog.ingest import IngestLimits, Rejections, TenantLimits
from flightlog.ingest.limits import StreamTracker
from flightlog.ingest.reasons import INVALID_LABELS, LINE_TOO_LONG, STREAM_LIMIT, TOO_MANY_LABELS
from flightlog.ingest.validate import entry_bytes, validate_push
from flightlog.model import PushRequest, StreamBatch

_LIMITS = TenantLimits(
    max_line_bytes=10,
    max_labels_per_stream=2,
    max_streams_per_tenant=3,
    max_label_value_bytes=8,
    max_request_bytes=1000,
    ingestion_burst_bytes=1000,
)


def _batch(labels: dict[str, str], *lines: str) -> StreamBatch:
    return StreamBatch(
        tuple(sorted(labels.items())), list(range(len(lines))), list(lines), [None] * len(lines)
    )


def _validate(*batches: StreamBatch):
    rejections = Rejections()
    tracker = StreamTracker(IngestLimits(_LIMITS))
    result = validate_push(PushRequest("t", batches), _LIMITS, tracker, rejections)
    return result, rejections


def test_valid_push_passes_unchanged():
    result, rejections = _validate(_batch({"a": "1"}, "short", "lines"))
    assert not rejections
    assert result.entries == 2
    assert result.nbytes == 10


def test_too_long_lines_are_dropped_alone():
    """Only the long line goes; its neighbours stay, in order."""
    result, rejections = _validate(_batch({"a": "1"}, "ok", "x" * 11, "fine"))
    assert [list(s.lines) for s in result.request.streams] == [["ok", "fine"]]
    assert list(result.request.streams[0].ts_ns) == [0, 2]
    assert rejections.counts == {LINE_TOO_LONG: 1}
    assert "max_line_bytes=10" in rejections.summary(3)


def test_line_length_counts_utf8_bytes_not_characters():
    """Four 3-byte characters are 12 bytes: over a 10-byte limit."""
    _, rejections = _validate(_batch({"a": "1"}, "€€€€"))
    assert rejections.counts == {LINE_TOO_LONG: 1}


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({}, INVALID_LABELS),
        ({"a": "1", "b": "2", "c": "3"}, TOO_MANY_LABELS),
        ({"1abc": "x"}, INVALID_LABELS),
        ({"a-b": "x"}, INVALID_LABELS),
        ({"a": "x" * 9}, INVALID_LABELS),
        ({"a": ""}, INVALID_LABELS),
    ],
)
def test_streams_with_bad_labels_lose_all_entries(labels, reason):
    result, rejections = _validate(_batch(labels, "x", "y"), _batch({"ok": "1"}, "z"))
    assert [list(s.lines) for s in result.request.streams] == [["z"]]
    assert rejections.counts == {reason: 2}


def test_new_streams_beyond_the_tenant_limit_are_dropped():
    """The fourth distinct stream is refused; known streams keep flowing."""
    batches = [_batch({"s": str(i)}, "x") for i in range(4)] + [_batch({"s": "0"}, "again")]
    result, rejections = _validate(*batches)
    assert rejections.counts == {STREAM_LIMIT: 1}
    assert sum(len(s) for s in result.request.streams) == 4


def test_entry_bytes_counts_metadata_names_and_values():
    assert entry_bytes(["ab", "é"], [{"k": "vv"}, None]) == 2 + 2 + 1 + 2
