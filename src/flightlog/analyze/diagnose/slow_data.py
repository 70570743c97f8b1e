"""``slow_data``: data loading takes a large share of each step (when both are logged).

Looks for a data-time metric (``data_time``, ``dataloader_time``, ``data_wait``...) and a
step-time metric (``step_time``, ``batch_time``, ``iter_time``, ``time``) on ``train``.
"""

from __future__ import annotations

import math
import statistics

from flightlog.analyze.diagnose.model import WARNING, Diagnosis, Kind
from flightlog.analyze.diagnose.params import SlowDataParams
from flightlog.analyze.table import RunTable, Series

__all__ = ["find_slow_data"]

_DATA = (
    "data_time",
    "dataloader_time",
    "data_wait",
    "data_load_time",
    "data_secs",
    "data_ms",
    "time_data",
)
_STEP = (
    "step_time",
    "batch_time",
    "iter_time",
    "step_time_s",
    "time_step",
    "step_secs",
    "step_ms",
    "time",
)


def _find(run: RunTable, names: tuple[str, ...]) -> Series | None:
    for name in names:
        series = run.series.get(("train", name))
        if series is not None and len(series):
            return series
    return None


def find_slow_data(run: RunTable, params: SlowDataParams) -> list[Diagnosis]:
    data = _find(run, _DATA)
    step = _find(run, _STEP)
    if data is None or step is None:
        return []
    data_values = [v for v in data.values if math.isfinite(v)]
    step_values = [v for v in step.values if math.isfinite(v) and v > 0]
    if not data_values or not step_values:
        return []
    data_mean = statistics.fmean(data_values)
    step_mean = statistics.fmean(step_values)
    fraction = data_mean / step_mean
    if fraction <= params.max_fraction:
        return []
    steps = [s for s in data.steps if s is not None]
    return [
        Diagnosis(
            kind=Kind.SLOW_DATA,
            severity=WARNING,
            message=(
                f"data loading takes {fraction:.0%} of each step on average "
                f"({data.metric} {data_mean:.4g} vs {step.metric} {step_mean:.4g}): the "
                "accelerator waits for input. Raise num_workers, use pin_memory and "
                "persistent workers, prefetch, or cache/preprocess the data."
            ),
            evidence={
                "data_metric": data.metric,
                "step_metric": step.metric,
                "mean_data": round(data_mean, 6),
                "mean_step": round(step_mean, 6),
                "fraction": round(fraction, 3),
            },
            first_step=steps[0] if steps else None,
            last_step=steps[-1] if steps else None,
        )
    ]
