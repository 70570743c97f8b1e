"""Why pushed data is rejected: one constant per reason.

The same string appears in HTTP error messages, in the ``rejected{reason}`` metric
label and in the store's ``AppendResult.rejected`` mapping, the way Loki names its
discard reasons. Reasons are plain strings so they serialise as-is everywhere.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALL_REASONS",
    "INVALID_BODY",
    "INVALID_LABELS",
    "LINE_TOO_LONG",
    "RATE_LIMITED",
    "REQUEST_TOO_LARGE",
    "STREAM_LIMIT",
    "TOO_FAR_BEHIND",
    "TOO_MANY_LABELS",
]

LINE_TOO_LONG: Final = "line_too_long"
"""An entry's line (plus its structured metadata) is longer than ``max_line_bytes``."""

TOO_MANY_LABELS: Final = "too_many_labels"
"""A stream has more labels than ``max_labels_per_stream``."""

INVALID_LABELS: Final = "invalid_labels"
"""A stream's labels are empty, unparsable, duplicated, badly named or too long."""

TOO_FAR_BEHIND: Final = "too_far_behind"
"""An entry is older than the out-of-order window behind its stream's newest entry."""

RATE_LIMITED: Final = "rate_limited"
"""The tenant pushes more bytes per second than ``ingestion_rate_bytes_per_sec`` allows."""

REQUEST_TOO_LARGE: Final = "request_too_large"
"""The request body (compressed or not) is larger than ``max_request_bytes``."""

INVALID_BODY: Final = "invalid_body"
"""The body cannot be decoded: garbage, truncated, wrong types, unknown encoding."""

STREAM_LIMIT: Final = "stream_limit"
"""A new stream would take the tenant over ``max_streams_per_tenant``."""

ALL_REASONS: Final = (
    LINE_TOO_LONG,
    TOO_MANY_LABELS,
    INVALID_LABELS,
    TOO_FAR_BEHIND,
    RATE_LIMITED,
    REQUEST_TOO_LARGE,
    INVALID_BODY,
    STREAM_LIMIT,
)
