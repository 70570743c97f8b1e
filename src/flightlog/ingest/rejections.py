"""Counting rejected entries by reason, and saying so in one message.

Decoders and validation both drop entries; the server adds the store's own rejections
(``too_far_behind``) and answers with one summary such as
``3 of 10 entries rejected: line_too_long=2 (line of 300000 bytes exceeds ...); too_far_behind=1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Rejections"]


@dataclass(slots=True)
class Rejections:
    """Rejected entry counts by reason, with the first explanation seen for each reason."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, count: int, example: str | None = None) -> None:
        if count <= 0:
            return
        self.counts[reason] = self.counts.get(reason, 0) + count
        if example is not None:
            self.examples.setdefault(reason, example)

    def merge(self, counts: Mapping[str, int]) -> None:
        for reason, count in counts.items():
            self.add(reason, count)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return self.total > 0

    def summary(self, received: int) -> str:
        """``N of M entries rejected: reason=n (example); ...``, reasons sorted by name."""
        parts = []
        for reason in sorted(self.counts):
            example = self.examples.get(reason)
            detail = f" ({example})" if example else ""
            parts.append(f"{reason}={self.counts[reason]}{detail}")
        return f"{self.total} of {received} entries rejected: " + "; ".join(parts)
