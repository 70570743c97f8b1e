"""The record every pipeline stage takes and returns, and the reasons a stage drops one.

A ``LogRecord`` is immutable: a stage that changes something builds a new record (the
mappings it carries are never mutated in place; a stage copies before it adds a key).
A stage that discards a record returns a ``Drop`` carrying one of the reason constants
below; the same constant is the ``reason`` label of the ``dropped`` counter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn

__all__ = [
    "EMPTY",
    "REASON_FILTERED",
    "REASON_LINE_TOO_LONG",
    "REASON_SAMPLED",
    "Drop",
    "LogRecord",
    "StageResult",
]


class _Empty(Mapping[str, Any]):
    """An empty mapping that cannot be changed (and, unlike a dict, may be a default)."""

    __slots__ = ()

    def __getitem__(self, key: str) -> NoReturn:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


EMPTY: Mapping[str, Any] = _Empty()
"""The shared empty mapping records start with."""

REASON_FILTERED = "filtered"
"""A drop/keep line filter discarded the record."""
REASON_SAMPLED = "sampled"
"""The sampling stage did not keep the record."""
REASON_LINE_TOO_LONG = "line_too_long"
"""The line exceeded the length cap and the stage is configured to drop."""


class LogRecord(NamedTuple):
    """One log entry moving through the pipeline (immutable).

    ``fields`` are values extracted by parser stages; they are scratch space and only
    reach the store when a stage promotes them to ``labels`` or ``metadata``.
    ``source`` is where the line came from (a file path for the agent, ``""`` otherwise).
    A NamedTuple rather than a frozen dataclass: building one costs a quarter as much,
    and stages build one per changed record at hundreds of thousands of lines a second.
    """

    ts_ns: int
    line: str
    labels: Mapping[str, str] = EMPTY
    metadata: Mapping[str, str] = EMPTY
    fields: Mapping[str, Any] = EMPTY
    source: str = ""

    def with_line(self, line: str) -> LogRecord:
        return LogRecord(self.ts_ns, line, self.labels, self.metadata, self.fields, self.source)

    def with_fields(self, fields: Mapping[str, Any]) -> LogRecord:
        return LogRecord(self.ts_ns, self.line, self.labels, self.metadata, fields, self.source)

    def with_labels(self, labels: Mapping[str, str]) -> LogRecord:
        return LogRecord(self.ts_ns, self.line, labels, self.metadata, self.fields, self.source)

    def with_metadata(self, metadata: Mapping[str, str]) -> LogRecord:
        return LogRecord(self.ts_ns, self.line, self.labels, metadata, self.fields, self.source)

    def with_ts(self, ts_ns: int) -> LogRecord:
        return LogRecord(ts_ns, self.line, self.labels, self.metadata, self.fields, self.source)


@dataclass(frozen=True, slots=True)
class Drop:
    """A stage's verdict that the record is discarded, and why (a ``REASON_*`` constant)."""

    reason: str


StageResult = LogRecord | Drop
