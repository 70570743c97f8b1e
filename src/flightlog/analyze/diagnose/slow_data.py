"""``slow_data``: data loading takes a large share of each step (when both are logged).

Looks for a data-time metric (``data_time``, ``dataloader_time``, ``data_wait``...) and a
step-time metric (``step_time``, ``batch_time``, ``iter_time``, ``time``) on ``train``.
"""

from __future__ import annotations

import math

import numpy as np

from flightlog.analyze.diagnose.model import WARNING, Diagnosis, Kind
from flightlog.analyze.diagnose.params import SlowDataParams
from flightlog.analyze.table import NO_STEP, RunTable, Series

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
    data_values = data.values_array()
    data_values = data_values[np.isfinite(data_values)]
    step_values = step.values_array()
    step_values = step_values[np.isfinite(step_values) & (step_values > 0)]
    if not len(data_values) or not len(step_values):
        return []
    # statistics.fmean's correctly rounded sum, without a float object per point
    data_mean = math.fsum(data_values) / len(data_values)
    step_mean = math.fsum(step_values) / len(step_values)
    fraction = data_mean / step_mean
    if fraction <= params.max_fraction:
        return []
    all_steps = data.steps_array()
    steps = all_steps[all_steps != NO_STEP].tolist()
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
