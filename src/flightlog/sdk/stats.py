"""Running statistics of metrics: count, min, max, mean, std (population), last.

Updated by the run's background writer, never on the caller's hot path. Per-step values
are appended to a compact ``array('d')`` and folded in vectorised chunks (numpy), which
costs a fraction of a per-value Welford update in Python.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunningStats"]


@dataclass(slots=True)
class RunningStats:
    """Population statistics over the finite values seen; non-finite ones are counted apart."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    last: float | None = None
    non_finite: int = 0

    pending: array = field(default_factory=lambda: array("d"))

    def add(self, value: float) -> None:
        """Record one value (non-finite ones are counted apart); folded lazily."""
        self.pending.append(value)

    def fold(self) -> None:
        """Merge the values appended to ``pending`` (vectorised, Chan et al.'s update)."""
        if not self.pending:
            return
        import numpy as np

        values = np.array(self.pending, dtype=np.float64)
        del self.pending[:]  # in place: the writer keeps a reference to this array
        self.last = float(values[-1])
        finite = values[np.isfinite(values)]
        self.non_finite += int(values.size - finite.size)
        if not finite.size:
            return
        count = int(finite.size)
        mean = float(finite.mean())
        m2 = float(((finite - mean) ** 2).sum())
        total = self.count + count
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * count / total
        self.mean += delta * count / total
        self.count = total
        self.min = min(self.min, float(finite.min()))
        self.max = max(self.max, float(finite.max()))

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else 0.0

    def as_dict(self) -> dict[str, Any]:
        self.fold()
        if not self.count:
            return {"count": 0, "non_finite": self.non_finite, "last": _json_float(self.last)}
        return {
            "count": self.count,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
            "last": _json_float(self.last),
            "non_finite": self.non_finite,
        }


def _json_float(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return str(value)
