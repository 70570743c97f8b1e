"""Values that travel between the stages of the data path.

Ingest decodes request bodies into ``PushRequest`` values; the pipeline transforms them;
the store appends them. Entries are kept columnar per stream (parallel lists) because the
hot path handles hundreds of thousands of lines per second and a Python object per line
would dominate the cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import re2

__all__ = [
    "DEFAULT_TENANT",
    "Direction",
    "LabelMatcher",
    "Labels",
    "MatchOp",
    "PushRequest",
    "StreamBatch",
    "canonical_labels",
    "format_labels",
]

DEFAULT_TENANT = "default"

Labels = tuple[tuple[str, str], ...]
"""A stream's label set, sorted by name: hashable, comparable, cheap to carry."""


def canonical_labels(labels: Mapping[str, str]) -> Labels:
    """Turn a label mapping into the sorted tuple form used as a stream's identity."""
    return tuple(sorted(labels.items()))


def format_labels(labels: Labels | Mapping[str, str]) -> str:
    """Render labels the way LogQL writes a stream selector: ``{a="1", b="2"}``."""
    items = labels.items() if isinstance(labels, Mapping) else labels
    inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(items))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Direction(StrEnum):
    """Order in which log entries are returned."""

    FORWARD = "forward"
    BACKWARD = "backward"


class MatchOp(StrEnum):
    """Label matcher operators of Prometheus and LogQL selectors."""

    EQ = "="
    NEQ = "!="
    RE = "=~"
    NRE = "!~"


@dataclass(frozen=True, slots=True)
class LabelMatcher:
    """One ``name op "value"`` condition of a stream selector; regexes are RE2, anchored."""

    name: str
    op: MatchOp
    value: str
    _regex: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in (MatchOp.RE, MatchOp.NRE):
            object.__setattr__(self, "_regex", re2.compile(f"^(?:{self.value})$"))

    def matches(self, value: str | None) -> bool:
        """Whether a label value (``None`` when the label is absent) satisfies this matcher."""
        actual = "" if value is None else value
        if self.op is MatchOp.EQ:
            return actual == self.value
        if self.op is MatchOp.NEQ:
            return actual != self.value
        assert self._regex is not None
        found = self._regex.match(actual) is not None
        return found if self.op is MatchOp.RE else not found

    def matches_labels(self, labels: Mapping[str, str]) -> bool:
        """Whether a stream's labels satisfy this matcher."""
        return self.matches(labels.get(self.name))


@dataclass(frozen=True, slots=True)
class StreamBatch:
    """Entries of one stream in a push, as parallel columns.

    ``ts_ns``, ``lines`` and ``metadata`` have the same length; ``metadata[i]`` is the
    entry's structured metadata (``None`` when it has none).
    """

    labels: Labels
    ts_ns: Sequence[int]
    lines: Sequence[str]
    metadata: Sequence[Mapping[str, str] | None]

    def __len__(self) -> int:
        return len(self.ts_ns)


@dataclass(frozen=True, slots=True)
class PushRequest:
    """A decoded push for one tenant, before validation."""

    tenant: str
    streams: tuple[StreamBatch, ...]

    @property
    def entry_count(self) -> int:
        return sum(len(s) for s in self.streams)
