"""Loki protobuf + snappy push bodies."""

from __future__ import annotations

import cramjam
import pytest

from flightlog.errors import ValidationError
from flightlog.ingest import Rejections, decode_loki_protobuf, encode_loki_protobuf
from flightlog.ingest.proto.push_pb2 import PushRequest as PushRequestProto
from flightlog.ingest.reasons import INVALID_BODY, INVALID_LABELS, REQUEST_TOO_LARGE
from flightlog.model import PushRequest, StreamBatch

_MAX = 1 << 20


def _request() -> PushRequest:
    return PushRequest(
        "t",
        (
            StreamBatch(
                (("app", "api"), ("env", "prod")),
                [1_700_000_000_123_456_789, 1_700_000_001_000_000_000],
                ["first", "second é"],
                [{"trace_id": "abc", "span_id": "1"}, None],
            ),
        ),
    )


def test_round_trip_keeps_nanoseconds_labels_and_structured_metadata():
    """Timestamps survive the seconds/nanos split; metadata pairs become a mapping."""
    request = _request()
    decoded = decode_loki_protobuf(encode_loki_protobuf(request), "t", _MAX, Rejections())
    assert decoded == request


def test_stream_with_unparsable_labels_is_dropped_and_counted():
    """A bad label string loses its stream only, with reason invalid_labels."""
    message = PushRequestProto()
    bad = message.streams.add()
    bad.labels = "{app=api"
    bad.entries.add().line = "lost"
    good = message.streams.add()
    good.labels = '{app="ok"}'
    entry = good.entries.add()
    entry.line = "kept"
    entry.timestamp.seconds = 1
    rejections = Rejections()
    body = bytes(cramjam.snappy.compress_raw(message.SerializeToString()))
    decoded = decode_loki_protobuf(body, "t", _MAX, rejections)
    assert [list(s.lines) for s in decoded.streams] == [["kept"]]
    assert rejections.counts == {INVALID_LABELS: 1}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage that is not snappy",
        bytes(cramjam.snappy.compress_raw(b"\xff\xff\xff\xff not a protobuf")),
        encode_loki_protobuf(_request())[:-7],  # truncated
        bytes(cramjam.snappy.compress(b"framed, not block format")),
    ],
)
def test_malformed_bodies_are_rejected_whole(body):
    """Not snappy, truncated, or not a PushRequest: invalid_body."""
    with pytest.raises(ValidationError) as caught:
        decode_loki_protobuf(body, "t", _MAX, Rejections())
    assert caught.value.reason == INVALID_BODY


def test_declared_size_over_the_limit_is_refused_before_decompressing():
    """A small body that would inflate past max_request_bytes is request_too_large."""
    body = bytes(cramjam.snappy.compress_raw(b"a" * 5000))
    with pytest.raises(ValidationError) as caught:
        decode_loki_protobuf(body, "t", 1000, Rejections())
    assert caught.value.reason == REQUEST_TOO_LARGE
