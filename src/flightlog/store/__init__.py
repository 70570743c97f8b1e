"""The embedded log store: WAL → in-memory head → Parquet segments + SQLite catalog.

Owns durability (a checksummed, group-committed write-ahead log), the head that makes
entries readable as soon as ``append`` returns, immutable zstd Parquet segments sorted
by (stream, ts) with a per-segment n-gram bloom for needle searches, retention and
delete requests, and the read API the query engine uses. The on-disk layout is
documented in ``FORMAT.md`` beside this file.

Public names: ``Store``, ``StoreConfig``, ``RetentionRule``, ``AppendResult``,
``ScanSources``, ``StreamInfo``, ``IndexStats``, ``StoreFigures``, ``ENTRY_SCHEMA``, ``TOO_FAR_BEHIND``,
``stream_fingerprint``.
"""

from ._config import RetentionRule, StoreConfig
from ._fingerprint import stream_fingerprint
from ._store import Store
from ._values import (
    ENTRY_SCHEMA,
    TOO_FAR_BEHIND,
    AppendResult,
    IndexStats,
    ScanSources,
    StoreFigures,
    StreamInfo,
)

__all__ = [
    "ENTRY_SCHEMA",
    "TOO_FAR_BEHIND",
    "AppendResult",
    "IndexStats",
    "RetentionRule",
    "ScanSources",
    "Store",
    "StoreConfig",
    "StoreFigures",
    "StreamInfo",
    "stream_fingerprint",
]
