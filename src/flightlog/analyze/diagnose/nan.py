"""``nan``: NaN or infinite values, and the first step they appear at."""

from __future__ import annotations

import math

from flightlog.analyze.diagnose.model import CRITICAL, Diagnosis, Kind, round_value
from flightlog.analyze.table import RunTable

__all__ = ["find_nan"]


def find_nan(run: RunTable) -> list[Diagnosis]:
    found: list[Diagnosis] = []
    for (split, metric), series in run.series.items():
        bad = [
            (step, value)
            for step, value in zip(series.steps, series.values, strict=True)
            if not math.isfinite(value)
        ]
        if not bad:
            continue
        first_step, first_value = bad[0]
        before = [
            (s, v) for s, v in zip(series.steps, series.values, strict=True) if math.isfinite(v)
        ]
        last_good = next(
            (
                (s, v)
                for s, v in reversed(before)
                if s is not None and first_step is not None and s < first_step
            ),
            None,
        )
        evidence: dict[str, object] = {
            "metric": metric,
            "split": split,
            "count": len(bad),
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
                    f"({len(bad)} of {len(series)} points are not finite). Lower the learning "
                    "rate, clip gradients, check for log(0)/division by zero and bad input "
                    "values; with mixed precision, use loss scaling or bf16."
                ),
                evidence=evidence,
                first_step=first_step,
                last_step=bad[-1][0],
            )
        )
    return found
