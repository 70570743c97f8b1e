"""Ingest: turning push request bodies into validated ``PushRequest`` values.

Owns the wire formats (Loki JSON with structured metadata, Loki protobuf + snappy,
NDJSON, gzip/deflate ``Content-Encoding``), validation with named reasons
(``flightlog.ingest.reasons``) and per-tenant limits (request bytes, ingestion rate,
streams, labels per stream, line length). It never touches the store: the server hands
what ``Ingestor.prepare`` returns to ``Store.append``.

Public names::

    Ingestor, PreparedPush, PushFormat, loki_push_format     the per-push entry point
    IngestLimits, TenantLimits                               limits (config values)
    Rejections                                               dropped entries by reason
    decode_loki_json, decode_loki_protobuf, decode_ndjson    decoders
    encode_loki_json, encode_loki_protobuf, encode_ndjson    encoders (clients, tests)
    parse_label_set, parse_selector                          {a="b"} text
    parse_timestamp_ns                                       ns / RFC 3339
"""

from flightlog.ingest.ingestor import Ingestor, PreparedPush, PushFormat, loki_push_format
from flightlog.ingest.limits import IngestLimits, TenantLimits
from flightlog.ingest.loki_json import decode_loki_json, encode_loki_json
from flightlog.ingest.loki_protobuf import decode_loki_protobuf, encode_loki_protobuf
from flightlog.ingest.ndjson import decode_ndjson, encode_ndjson
from flightlog.ingest.rejections import Rejections
from flightlog.ingest.selectors import parse_label_set, parse_selector
from flightlog.ingest.timestamps import parse_timestamp_ns

__all__ = [
    "IngestLimits",
    "Ingestor",
    "PreparedPush",
    "PushFormat",
    "Rejections",
    "TenantLimits",
    "decode_loki_json",
    "decode_loki_protobuf",
    "decode_ndjson",
    "encode_loki_json",
    "encode_loki_protobuf",
    "encode_ndjson",
    "loki_push_format",
    "parse_label_set",
    "parse_selector",
    "parse_timestamp_ns",
]
