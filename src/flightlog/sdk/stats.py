"""Running statistics of metrics (Welford): count, min, max, mean, std, last.

Updated by the run's background writer, never on the caller's hot path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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

    def add(self, value: float) -> None:
        self.last = value
        if not math.isfinite(value):
            self.non_finite += 1
            return
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (value - self.mean)
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else 0.0

    def as_dict(self) -> dict[str, Any]:
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
