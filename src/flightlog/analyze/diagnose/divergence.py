"""``divergence``: the training loss climbed far above its minimum and stayed there."""

from __future__ import annotations

import statistics

from flightlog.analyze.diagnose.model import CRITICAL, Diagnosis, Kind, direction, round_value
from flightlog.analyze.diagnose.params import DivergenceParams
from flightlog.analyze.table import RunTable

__all__ = ["find_divergence"]


def find_divergence(run: RunTable, params: DivergenceParams) -> list[Diagnosis]:
    found: list[Diagnosis] = []
    # a held-out loss rising while training improves is overfitting, not divergence:
    # only training losses are checked when the run logs any
    has_train_loss = any(s == "train" and direction(m) < 0 for s, m in run.series)
    for (split, metric), series in run.series.items():
        if direction(metric) >= 0 or (has_train_loss and split != "train"):
            continue
        points = series.finite_points()
        if len(points) < params.min_points:
            continue
        values = [v for _, v in points]
        min_index = min(range(len(values)), key=values.__getitem__)
        minimum = values[min_index]
        first = values[0]
        recent = statistics.median(values[-params.window :])
        drop = max(first - minimum, 0.0)
        rise = recent - minimum
        threshold = max(params.rise_fraction * drop, abs(minimum) * (params.min_ratio - 1.0), 1e-12)
        if min_index >= len(values) - params.window or rise <= threshold:
            continue
        # the first step after the minimum where the loss crossed the threshold
        crossed = next((s for s, v in points[min_index:] if v - minimum > threshold), points[-1][0])
        found.append(
            Diagnosis(
                kind=Kind.DIVERGENCE,
                severity=CRITICAL,
                message=(
                    f"{split} {metric} diverged: it reached {round_value(minimum)} at step "
                    f"{points[min_index][0]} and climbed to {round_value(recent)} (recent median) "
                    f"from step {crossed}. Lower the learning rate, add warmup or gradient "
                    "clipping, and check the data around that step."
                ),
                evidence={
                    "metric": metric,
                    "split": split,
                    "min_value": round_value(minimum),
                    "min_step": points[min_index][0],
                    "first_value": round_value(first),
                    "recent_median": round_value(recent),
                    "threshold": round_value(threshold),
                },
                first_step=crossed,
                last_step=points[-1][0],
            )
        )
    return found
