"""``nan``: NaN or infinite values, and the first step they appear at."""

from __future__ import annotations

import numpy as np

from flightlog.analyze.diagnose.model import CRITICAL, Diagnosis, Kind, round_value
from flightlog.analyze.table import NO_STEP, RunTable

__all__ = ["find_nan"]


def find_nan(run: RunTable) -> list[Diagnosis]:
    found: list[Diagnosis] = []
    for (split, metric), series in run.series.items():
        values = series.values_array()
        finite = np.isfinite(values)
        if finite.all():
            continue
        steps = series.steps_array()
        bad = np.flatnonzero(~finite)
        first_value = float(values[bad[0]])
        first_step = _step(steps[bad[0]])
        last_step = _step(steps[bad[-1]])
        last_good = None
        if first_step is not None:
            good = np.flatnonzero(finite & (steps != NO_STEP) & (steps < first_step))
            if len(good):
                last_good = (int(steps[good[-1]]), float(values[good[-1]]))
        count = len(bad)
        evidence: dict[str, object] = {
            "metric": metric,
            "split": split,
            "count": count,
            "total_points": len(series),
            "first_value": repr(first_value),
        }
        if last_good is not None:
            evidence["last_finite_step"] = last_good[0]
            evidence["last_finite_value"] = round_value(last_good[1])
        found.append(
            Diagnosis(
                kind=Kind.NAN,
                severity=CRITICAL,
                message=(
                    f"{split} {metric} became {first_value!r} at step {first_step} "
                    f"({count} of {len(series)} points are not finite). Lower the learning "
                    "rate, clip gradients, check for log(0)/division by zero and bad input "
                    "values; with mixed precision, use loss scaling or bf16."
                ),
                evidence=evidence,
                first_step=first_step,
                last_step=last_step,
            )
        )
    return found


def _step(step: np.int64) -> int | None:
    return None if step == NO_STEP else int(step)
