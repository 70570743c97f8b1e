"""``overfitting``: validation gets worse while training keeps improving."""

from __future__ import annotations

import bisect

import numpy as np

from flightlog.analyze.diagnose.model import WARNING, Diagnosis, Kind, direction, round_value
from flightlog.analyze.diagnose.params import OverfittingParams
from flightlog.analyze.table import RunTable, Series

__all__ = ["find_overfitting"]

_HELD_OUT = ("val", "eval", "test")


def _value_at(series: Series, step: int) -> float | None:
    """The training value logged at or just before ``step``."""
    steps, values = series.finite_arrays()
    if len(steps) > 1 and not bool(np.all(steps[1:] >= steps[:-1])):
        index = bisect.bisect_right(steps.tolist(), step) - 1  # unsorted: bisect's own answer
    else:
        index = int(np.searchsorted(steps, step, side="right")) - 1
    return float(values[index]) if index >= 0 else None


def find_overfitting(run: RunTable, params: OverfittingParams) -> list[Diagnosis]:
    found: list[Diagnosis] = []
    for (split, metric), held_out in run.series.items():
        sign = direction(metric)
        if split not in _HELD_OUT or sign == 0:
            continue
        points = held_out.finite_points()
        if len(points) < params.min_points:
            continue
        train = run.series.get(("train", metric)) or run.series.get(("train", "loss"))
        if train is None or not len(train.finite_arrays()[1]):
            continue
        train_sign = direction(train.metric)
        # best held-out point (lowest loss / highest score); first one on ties
        best_index = max(range(len(points)), key=lambda i: (sign * points[i][1], -i))
        best_step, best_value = points[best_index]
        last_step, last_value = points[-1]
        after = len(points) - 1 - best_index
        worsening = sign * (best_value - last_value) / max(abs(best_value), 1e-12)
        if after < params.patience or worsening < params.min_worsening:
            continue
        train_at_best = _value_at(train, best_step)
        train_at_last = _value_at(train, last_step)
        if train_at_best is None or train_at_last is None:
            continue
        if train_sign * (train_at_last - train_at_best) <= 0:
            continue  # training did not improve either: that is not overfitting
        evidence: dict[str, object] = {
            "metric": metric,
            "split": split,
            "best_step": best_step,
            "best_value": round_value(best_value),
            "last_value": round_value(last_value),
            "evaluations_since_best": after,
            "train_metric": train.metric,
            "train_at_best": round_value(train_at_best),
            "train_at_last": round_value(train_at_last),
        }
        if train.metric == metric:
            gap_best = sign * (train_at_best - best_value)
            gap_last = sign * (train_at_last - last_value)
            evidence["gap_at_best"] = round_value(gap_best)
            evidence["gap_at_last"] = round_value(gap_last)
        found.append(
            Diagnosis(
                kind=Kind.OVERFITTING,
                severity=WARNING,
                message=(
                    f"{split} {metric} has been worse than its best ({round_value(best_value)} at "
                    f"step {best_step}) for {after} evaluations, now {round_value(last_value)}, "
                    f"while train {train.metric} kept improving: the model is overfitting. "
                    f"Keep the step-{best_step} checkpoint (early stopping), add regularisation "
                    "(dropout, weight decay, augmentation) or more data."
                ),
                evidence=evidence,
                first_step=best_step,
                last_step=last_step,
            )
        )
    return found
