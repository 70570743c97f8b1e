"""Loki JSON push bodies: decoding into columns, and rejecting malformed bodies whole."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightlog.errors import ValidationError
from flightlog.ingest import (
    Rejections,
    decode_loki_json,
    decode_loki_protobuf,
    decode_ndjson,
    encode_loki_json,
    encode_loki_protobuf,
    encode_ndjson,
)
from flightlog.ingest.reasons import INVALID_BODY
from flightlog.model import PushRequest, StreamBatch


def _body(streams: object) -> bytes:
    return orjson.dumps({"streams": streams})


def test_decodes_lines_timestamps_labels_and_metadata():
    """Each stream becomes one batch with sorted labels; the third element is metadata."""
    body = _body(
        [
            {
                "stream": {"service": "api", "env": "prod"},
                "values": [
                    ["1700000000000000001", "one"],
                    ["1700000000000000002", "two", {"trace_id": "abc"}],
                ],
            }
        ]
    )
    request = decode_loki_json(body, "t1")
    assert request == PushRequest(
        "t1",
        (
            StreamBatch(
                (("env", "prod"), ("service", "api")),
                [1700000000000000001, 1700000000000000002],
                ["one", "two"],
                [None, {"trace_id": "abc"}],
            ),
        ),
    )


def test_integer_timestamps_are_accepted():
    """Some clients send numbers instead of strings; both mean nanoseconds."""
    request = decode_loki_json(
        _body([{"stream": {"a": "b"}, "values": [[5, "x"], ["6", "y"]]}]), "t"
    )
    assert list(request.streams[0].ts_ns) == [5, 6]


def test_empty_metadata_object_means_none():
    """``{}`` as the third element is the same as no metadata."""
    request = decode_loki_json(_body([{"stream": {"a": "b"}, "values": [["1", "x", {}]]}]), "t")
    assert list(request.streams[0].metadata) == [None]


def test_streams_without_values_are_dropped():
    """A stream with an empty values list contributes nothing."""
    request = decode_loki_json(_body([{"stream": {"a": "b"}, "values": []}]), "t")
    assert request.streams == ()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"streams": [{"stream": {"a": "b"}, "values": [["1", "x"]]}',  # truncated
        b"[]",
        b'{"streams": {}}',
        b'{"nostreams": []}',
        _body(["not an object"]),
        _body([{"stream": "a=b", "values": [["1", "x"]]}]),
        _body([{"stream": {"a": 1}, "values": [["1", "x"]]}]),
        _body([{"stream": {"a": "b"}, "values": "x"}]),
        _body([{"stream": {"a": "b"}, "values": [["1"]]}]),
        _body([{"stream": {"a": "b"}, "values": [["1", "x", {}, "extra"]]}]),
        _body([{"stream": {"a": "b"}, "values": [("1", "x"), "y"]}]),
        _body([{"stream": {"a": "b"}, "values": [["abc", "x"]]}]),
        _body([{"stream": {"a": "b"}, "values": [["", "x"]]}]),
        _body([{"stream": {"a": "b"}, "values": [["-5", "x"]]}]),
        _body([{"stream": {"a": "b"}, "values": [[1.5, "x"]]}]),
        _body([{"stream": {"a": "b"}, "values": [[-1, "x"]]}]),
        _body([{"stream": {"a": "b"}, "values": [["1", 42]]}]),
        _body([{"stream": {"a": "b"}, "values": [["1", None]]}]),
        _body([{"stream": {"a": "b"}, "values": [["1", "x", "meta"]]}]),
        _body([{"stream": {"a": "b"}, "values": [["1", "x", {"k": 1}]]}]),
    ],
)
def test_malformed_bodies_are_rejected_whole(body):
    """Garbage, truncated and wrong-type bodies raise invalid_body."""
    with pytest.raises(ValidationError) as caught:
        decode_loki_json(body, "t")
    assert caught.value.reason == INVALID_BODY


_labels = st.dictionaries(
    st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
    st.text(min_size=1, max_size=10),
    min_size=1,
    max_size=4,
)
_entries = st.lists(
    st.tuples(
        st.integers(0, 2**62),
        st.text(max_size=30),
        st.none()
        | st.dictionaries(
            st.text(min_size=1, max_size=5), st.text(max_size=5), min_size=1, max_size=2
        ),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_labels, _entries), min_size=1, max_size=3))
def test_encode_then_decode_is_identity(streams):
    """What encode_loki_json writes, decode_loki_json reads back unchanged."""
    request = PushRequest(
        "t",
        tuple(
            StreamBatch(
                tuple(sorted(labels.items())),
                [e[0] for e in entries],
                [e[1] for e in entries],
                [e[2] for e in entries],
            )
            for labels, entries in streams
        ),
    )
    assert decode_loki_json(encode_loki_json(request), "t") == request


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(_labels, _entries),
        min_size=1,
        max_size=3,
        unique_by=lambda s: tuple(sorted(s[0].items())),
    )
)
def test_every_wire_format_carries_the_same_push(streams):
    """Loki JSON, protobuf+snappy and NDJSON all decode to the request that was encoded."""
    request = PushRequest(
        "t",
        tuple(
            StreamBatch(
                tuple(sorted(labels.items())),
                [e[0] for e in entries],
                [e[1] for e in entries],
                [e[2] for e in entries],
            )
            for labels, entries in streams
        ),
    )
    assert (
        decode_loki_protobuf(encode_loki_protobuf(request), "t", 1 << 24, Rejections()) == request
    )
    assert decode_ndjson(encode_ndjson(request), "t", 0) == request
