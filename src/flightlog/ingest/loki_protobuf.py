"""Decoding Loki's protobuf push body (snappy block-compressed ``logproto.PushRequest``).

This is what Promtail, Grafana Alloy, Fluent Bit and Vector send with
``Content-Type: application/x-protobuf``. The message definitions are in
``proto/push.proto``. A stream's labels arrive as selector text (``{a="1"}``); a stream
whose labels cannot be parsed is dropped with ``invalid_labels`` while the rest of the
push is kept, as Loki does. A body that is not snappy or not the message is rejected
whole with ``invalid_body``; the declared uncompressed size is checked against the limit
before any decompression.
"""

from __future__ import annotations

from collections.abc import Mapping

import cramjam
from google.protobuf.message import DecodeError

from flightlog.errors import ValidationError
from flightlog.ingest.body import check_size
from flightlog.ingest.proto.push_pb2 import PushRequest as PushRequestProto
from flightlog.ingest.reasons import INVALID_BODY, INVALID_LABELS
from flightlog.ingest.rejections import Rejections
from flightlog.ingest.selectors import parse_label_set
from flightlog.model import Labels, PushRequest, StreamBatch, format_labels

__all__ = ["decode_loki_protobuf", "encode_loki_protobuf"]

_NS = 1_000_000_000


def _unsnappy(body: bytes, max_bytes: int) -> bytes:
    try:
        declared = cramjam.snappy.decompress_raw_len(body)
    except cramjam.DecompressionError as exc:
        raise ValidationError(INVALID_BODY, f"body is not snappy block-compressed: {exc}") from None
    check_size(declared, max_bytes, "snappy-decompressed body")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise ValidationError(INVALID_BODY, f"body is not valid snappy data: {exc}") from None


def decode_loki_protobuf(
    body: bytes, tenant: str, max_bytes: int, rejections: Rejections
) -> PushRequest:
    """Decode a snappy-compressed Loki protobuf push; count dropped streams in ``rejections``."""
    raw = _unsnappy(body, max_bytes)
    try:
        message = PushRequestProto.FromString(raw)
    except DecodeError as exc:
        raise ValidationError(INVALID_BODY, f"body is not a Loki PushRequest: {exc}") from None
    parsed: dict[str, Labels | ValidationError] = {}
    batches: list[StreamBatch] = []
    for stream in message.streams:
        entries = stream.entries
        if not entries:
            continue
        labels = parsed.get(stream.labels)
        if labels is None:
            try:
                labels = parse_label_set(stream.labels)
            except ValidationError as exc:
                labels = exc
            parsed[stream.labels] = labels
        if isinstance(labels, ValidationError):
            rejections.add(INVALID_LABELS, len(entries), str(labels))
            continue
        # One pass with each field read once: every attribute access on a upb message
        # builds a wrapper object, so this halves the cost of three comprehensions.
        ts_ns: list[int] = []
        lines: list[str] = []
        metadata: list[Mapping[str, str] | None] = []
        add_ts, add_line, add_metadata = ts_ns.append, lines.append, metadata.append
        for entry in entries:
            stamp = entry.timestamp
            add_ts(stamp.seconds * _NS + stamp.nanos)
            add_line(entry.line)
            pairs = entry.structuredMetadata
            add_metadata({p.name: p.value for p in pairs} if pairs else None)
        batches.append(StreamBatch(labels, ts_ns, lines, metadata))
    return PushRequest(tenant, tuple(batches))


def encode_loki_protobuf(request: PushRequest) -> bytes:
    """Encode a push the way Loki clients do (for ``flightlog push``, tests and benchmarks)."""
    message = PushRequestProto()
    for batch in request.streams:
        stream = message.streams.add()
        stream.labels = format_labels(batch.labels)
        for ts, line, md in zip(batch.ts_ns, batch.lines, batch.metadata, strict=True):
            entry = stream.entries.add()
            entry.timestamp.seconds, entry.timestamp.nanos = divmod(ts, _NS)
            entry.line = line
            if md:
                for name, value in md.items():
                    pair = entry.structuredMetadata.add()
                    pair.name, pair.value = name, value
    return bytes(cramjam.snappy.compress_raw(message.SerializeToString()))
