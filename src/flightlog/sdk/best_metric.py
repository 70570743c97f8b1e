"""Which validation result is the best so far: the monitored metric and its direction.

``Run.log_validation`` asks these two questions; the answer goes into the record's
``is_best`` and the summary's ``best``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["improves", "lower_is_better", "monitored_metric"]

# Metric names that contain one of these words get better as they fall.
_LOWER_BETTER_WORDS = ("loss", "error", "perplexity", "mse", "mae", "rmse")
# What is monitored when the run names no metric: the first of these the results hold.
_DEFAULT_MONITORED = ("loss", "accuracy", "acc")


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is the better one (losses, errors)."""
    lowered = metric.lower()
    return any(word in lowered for word in _LOWER_BETTER_WORDS)


def monitored_metric(monitor: str | None, metrics: Mapping[str, Any]) -> str | None:
    """The metric that decides "best": ``monitor`` if set, else loss/accuracy if present."""
    return monitor or next((m for m in _DEFAULT_MONITORED if m in metrics), None)


def improves(metric: str, value: Any, best_value: Any) -> bool:
    """Whether ``value`` beats ``best_value`` (``None``: nothing to beat yet)."""
    if best_value is None:
        return True
    return value < best_value if lower_is_better(metric) else value > best_value
