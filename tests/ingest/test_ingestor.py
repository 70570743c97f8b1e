"""The per-push entry point: format detection, decode, validate, rate-limit."""

from __future__ import annotations

import gzip

import orjson
import pytest

from flightlog.errors import ValidationError
from flightlog.ingest import IngestLimits, Ingestor, PushFormat, TenantLimits, loki_push_format
from flightlog.ingest.reasons import INVALID_BODY, RATE_LIMITED, REQUEST_TOO_LARGE

_BODY = orjson.dumps(
    {"streams": [{"stream": {"a": "1"}, "values": [["1", "x" * 100], ["2", "y" * 100]]}]}
)


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", b"", PushFormat.LOKI_JSON),
        ("application/json; charset=utf-8", b"", PushFormat.LOKI_JSON),
        ("application/x-protobuf", b"{", PushFormat.LOKI_PROTOBUF),
        (None, b"{...", PushFormat.LOKI_JSON),
        (None, b"\x10\x00", PushFormat.LOKI_PROTOBUF),
    ],
)
def test_loki_format_follows_content_type(content_type, body, expected):
    assert loki_push_format(content_type, body) is expected


def test_unknown_content_type_is_invalid_body():
    with pytest.raises(ValidationError) as caught:
        loki_push_format("text/plain", b"")
    assert caught.value.reason == INVALID_BODY


def test_gzip_json_push_is_prepared():
    prepared = Ingestor(IngestLimits()).prepare(
        PushFormat.LOKI_JSON, gzip.compress(_BODY), "gzip", "t"
    )
    assert prepared.request.entry_count == 2
    assert prepared.accepted_bytes == 200
    assert not prepared.rejections


def test_body_over_the_tenant_limit_is_too_large():
    limits = IngestLimits(TenantLimits(max_request_bytes=100, ingestion_burst_bytes=100))
    with pytest.raises(ValidationError) as caught:
        Ingestor(limits).prepare(PushFormat.LOKI_JSON, _BODY, None, "t")
    assert caught.value.reason == REQUEST_TOO_LARGE


def test_rate_limit_drops_the_whole_push():
    """Past the burst every entry of the push is rejected as rate_limited."""
    clock = [0.0]
    limits = IngestLimits(
        TenantLimits(
            ingestion_rate_bytes_per_sec=1, ingestion_burst_bytes=1000, max_request_bytes=1000
        )
    )
    ingestor = Ingestor(limits, monotonic=lambda: clock[0])
    first = ingestor.prepare(PushFormat.LOKI_JSON, _BODY, None, "t")
    assert first.request.entry_count == 2
    for _ in range(4):  # 5 x 200 bytes fill the 1000-byte bucket
        ingestor.prepare(PushFormat.LOKI_JSON, _BODY, None, "t")
    limited = ingestor.prepare(PushFormat.LOKI_JSON, _BODY, None, "t")
    assert limited.request.streams == ()
    assert limited.rejections.counts == {RATE_LIMITED: 2}


def test_protobuf_with_content_encoding_snappy_is_accepted():
    """Snappy is the protobuf body's own framing; a sender naming it in the header is fine."""
    from flightlog.ingest import decode_loki_json, encode_loki_protobuf

    body = encode_loki_protobuf(decode_loki_json(_BODY, "t"))
    prepared = Ingestor(IngestLimits()).prepare(PushFormat.LOKI_PROTOBUF, body, "snappy", "t")
    assert prepared.request.entry_count == 2
