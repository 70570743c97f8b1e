"""Query results and their Loki JSON encoding (``streams``, ``matrix``, ``vector``, ``scalar``).

Loki writes sample timestamps as float seconds and values as strings formatted like Go's
``strconv.FormatFloat(v, 'f', -1, 64)``; log timestamps as nanosecond strings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "LogEntry",
    "MatrixResult",
    "QueryResult",
    "QueryStats",
    "ScalarResult",
    "StreamResult",
    "StreamsResult",
    "VectorResult",
    "format_sample_value",
    "format_seconds",
    "to_loki_json",
]


def format_sample_value(value: float) -> str:
    """Go's ``FormatFloat(v, 'f', -1, 64)``: shortest decimal, no exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return np.format_float_positional(value, trim="-")


def format_seconds(ts_ns: int) -> float | int:
    """A sample timestamp in seconds: int when whole (``1700000000``), else float."""
    if ts_ns % 1_000_000_000 == 0:
        return ts_ns // 1_000_000_000
    return ts_ns / 1e9


@dataclass(frozen=True, slots=True)
class LogEntry:
    ts_ns: int
    line: str
    structured_metadata: Mapping[str, str] = field(default_factory=dict)
    parsed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamResult:
    labels: Mapping[str, str]
    entries: tuple[LogEntry, ...]


@dataclass(slots=True)
class QueryStats:
    exec_seconds: float = 0.0
    lines_processed: int = 0
    bytes_processed: int = 0
    entries_returned: int = 0
    segments_read: int = 0

    def to_json(self) -> dict[str, Any]:
        exec_time = max(self.exec_seconds, 1e-9)
        return {
            "summary": {
                "bytesProcessedPerSecond": int(self.bytes_processed / exec_time),
                "linesProcessedPerSecond": int(self.lines_processed / exec_time),
                "totalBytesProcessed": self.bytes_processed,
                "totalLinesProcessed": self.lines_processed,
                "execTime": self.exec_seconds,
                "queueTime": 0,
                "subqueries": 0,
                "totalEntriesReturned": self.entries_returned,
                "splits": 0,
                "shards": 0,
                "totalPostFilterLines": self.lines_processed,
                "totalStructuredMetadataBytesProcessed": 0,
            },
            "querier": {
                "store": {
                    "totalChunksRef": self.segments_read,
                    "totalChunksDownloaded": self.segments_read,
                }
            },
            "ingester": {},
            "cache": {},
        }


@dataclass(frozen=True, slots=True)
class StreamsResult:
    streams: tuple[StreamResult, ...]
    categorized: bool = False

    result_type = "streams"


@dataclass(frozen=True, slots=True)
class MatrixResult:
    """``series``: (labels, [(ts_ns, value)]) in label order."""

    series: tuple[tuple[Mapping[str, str], tuple[tuple[int, float], ...]], ...]

    result_type = "matrix"


@dataclass(frozen=True, slots=True)
class VectorResult:
    ts_ns: int
    samples: tuple[tuple[Mapping[str, str], float], ...]

    result_type = "vector"


@dataclass(frozen=True, slots=True)
class ScalarResult:
    ts_ns: int
    value: float

    result_type = "scalar"


QueryResult = StreamsResult | MatrixResult | VectorResult | ScalarResult


def _result_json(result: QueryResult) -> list[Any]:
    if isinstance(result, StreamsResult):
        out: list[Any] = []
        for stream in result.streams:
            values: list[Any] = []
            for entry in stream.entries:
                value: list[Any] = [str(entry.ts_ns), entry.line]
                if result.categorized:
                    extra: dict[str, Any] = {}
                    if entry.structured_metadata:
                        extra["structuredMetadata"] = dict(entry.structured_metadata)
                    if entry.parsed:
                        extra["parsed"] = dict(entry.parsed)
                    value.append(extra)
                values.append(value)
            out.append({"stream": dict(stream.labels), "values": values})
        return out
    if isinstance(result, MatrixResult):
        return [
            {
                "metric": dict(labels),
                "values": [[format_seconds(t), format_sample_value(v)] for t, v in points],
            }
            for labels, points in result.series
        ]
    if isinstance(result, VectorResult):
        ts = format_seconds(result.ts_ns)
        return [
            {"metric": dict(labels), "value": [ts, format_sample_value(v)]}
            for labels, v in result.samples
        ]
    return [format_seconds(result.ts_ns), format_sample_value(result.value)]


def to_loki_json(result: QueryResult, stats: QueryStats | None = None) -> dict[str, Any]:
    """The whole success body of ``/query`` and ``/query_range``."""
    data: dict[str, Any] = {
        "resultType": result.result_type,
        "result": _result_json(result),
        "stats": (stats or QueryStats()).to_json(),
    }
    if isinstance(result, StreamsResult) and result.categorized:
        data["encodingFlags"] = ["categorize-labels"]
    return {"status": "success", "data": data}
