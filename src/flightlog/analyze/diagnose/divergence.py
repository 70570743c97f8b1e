"""``divergence``: the training loss climbed far above its minimum and stayed there."""

from __future__ import annotations

import statistics

import numpy as np

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
        steps, values = series.finite_arrays()
        count = len(values)
        if count < params.min_points:
            continue
        min_index = int(np.argmin(values))  # the first minimum
        minimum = float(values[min_index])
        first = float(values[0])
        recent = statistics.median(values[-params.window :].tolist())
        drop = max(first - minimum, 0.0)
        rise = recent - minimum
        threshold = max(params.rise_fraction * drop, abs(minimum) * (params.min_ratio - 1.0), 1e-12)
        if min_index >= count - params.window or rise <= threshold:
            continue
        # the first step after the minimum where the loss crossed the threshold
        above = np.flatnonzero(values[min_index:] - minimum > threshold)
        crossed = int(steps[min_index + above[0]]) if len(above) else int(steps[-1])
        min_step, last_step = int(steps[min_index]), int(steps[-1])
        found.append(
            Diagnosis(
                kind=Kind.DIVERGENCE,
                severity=CRITICAL,
                message=(
                    f"{split} {metric} diverged: it reached {round_value(minimum)} at step "
                    f"{min_step} and climbed to {round_value(recent)} (recent median) "
                    f"from step {crossed}. Lower the learning rate, add warmup or gradient "
                    "clipping, and check the data around that step."
                ),
                evidence={
                    "metric": metric,
                    "split": split,
                    "min_value": round_value(minimum),
                    "min_step": min_step,
                    "first_value": round_value(first),
                    "recent_median": round_value(recent),
                    "threshold": round_value(threshold),
                },
                first_step=crossed,
                last_step=last_step,
            )
        )
    return found
