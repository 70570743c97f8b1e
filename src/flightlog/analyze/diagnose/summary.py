"""The run summary: best and final values, progress, throughput, ETA, LR schedule."""

from __future__ import annotations

from typing import Any

import numpy as np

from flightlog.analyze.diagnose.model import direction, round_value
from flightlog.analyze.diagnose.stall import timed_arrays
from flightlog.analyze.table import NO_STEP, RunTable, Series

__all__ = ["describe_lr_schedule", "summarize"]

_LR_NAMES = ("learning_rate", "lr")


def describe_lr_schedule(series: Series) -> dict[str, Any]:
    """Shape of the learning-rate curve: constant, warmup, decay, warmup+decay, cyclic."""
    all_values = series.values_array()
    values = all_values[np.isfinite(all_values)]
    if not len(values):
        return {"shape": "unknown"}
    low, high = float(values.min()), float(values.max())
    peak = int(np.argmax(values))  # the first maximum
    tolerance = 1e-9 + 1e-3 * abs(high)
    ups = int(np.count_nonzero(values[1:] > values[:-1] + tolerance))
    downs = int(np.count_nonzero(values[1:] < values[:-1] - tolerance))
    if high - low <= tolerance:
        shape = "constant"
    elif ups and downs:
        tail = values[peak:]
        rising_then_falling = bool(np.all(tail[1:] <= tail[:-1] + tolerance))
        shape = "warmup+decay" if rising_then_falling else "cyclic"
    elif downs:
        limit = max(3, len(values) // 10)
        shape = "step decay" if _distinct_rounded_at_most(values, limit) else "decay"
    else:
        shape = "warmup"
    steps = series.steps_array()
    peak_step = steps[np.flatnonzero(all_values == high)[0]]
    return {
        "shape": shape,
        "first": round_value(float(values[0])),
        "peak": round_value(high),
        "peak_step": None if peak_step == NO_STEP else int(peak_step),
        "last": round_value(float(values[-1])),
        "min": round_value(low),
    }


def _distinct_rounded_at_most(values: np.ndarray, limit: int) -> bool:
    """Whether the values rounded to 4 significant digits take at most ``limit`` values."""
    unique = np.unique(values)
    if len(unique) <= limit:
        return True
    seen: set[float] = set()
    for value in unique.tolist():
        seen.add(round_value(value))
        if len(seen) > limit:
            return False
    return True


def _total_steps(run: RunTable) -> int | None:
    info = run.info
    for key in ("max_steps", "total_steps"):
        value = info.get(key)
        if isinstance(value, int) and value > 0:
            return value
    epochs, per_epoch = info.get("epochs_total"), info.get("steps_per_epoch")
    if isinstance(epochs, int) and isinstance(per_epoch, int) and epochs > 0 and per_epoch > 0:
        return epochs * per_epoch
    return None


def summarize(run: RunTable) -> dict[str, Any]:
    """The summary block of one run (see the JSON schema in ``flightlog.analyze``)."""
    metrics: list[dict[str, Any]] = []
    last_step: int | None = None
    last_epoch: float | None = None
    lr_schedule: dict[str, Any] | None = None
    for (split, metric), series in sorted(run.series.items()):
        all_steps = series.steps_array()
        steps = all_steps[all_steps != NO_STEP]
        if len(steps):
            last_step = max(last_step or int(steps[-1]), int(steps.max()))
        epoch_column = series.epochs_array()
        if epoch_column is not None:
            epochs = epoch_column[~np.isnan(epoch_column)]
            if len(epochs):
                last_epoch = max(last_epoch or float(epochs[-1]), float(epochs.max()))
        if metric in _LR_NAMES and split == "train" and lr_schedule is None:
            lr_schedule = describe_lr_schedule(series)
        values = series.values_array()
        final_step = int(all_steps[-1]) if len(all_steps) else None
        entry: dict[str, Any] = {
            "metric": metric,
            "split": split,
            "points": len(series),
            "final": round_value(float(values[-1])) if len(values) else None,
            "final_step": None if final_step == NO_STEP else final_step,
        }
        sign = direction(metric)
        finite_steps, finite_values = series.finite_arrays()
        if sign and len(finite_values):
            best = int(np.argmax(sign * finite_values))  # the first best
            entry["best"] = round_value(float(finite_values[best]))
            entry["best_step"] = int(finite_steps[best])
            entry["goal"] = "min" if sign < 0 else "max"
        metrics.append(entry)
    summary: dict[str, Any] = {
        "steps": last_step,
        "epochs": last_epoch,
        "points": run.point_count,
        "metrics": metrics,
        "lr_schedule": lr_schedule,
        "throughput_steps_per_sec": None,
        "elapsed_secs": None,
        "eta_secs": None,
        "total_steps": _total_steps(run),
    }
    timed_steps, timed_times = timed_arrays(run)
    if len(timed_steps) >= 2:
        step0, step1 = int(timed_steps[0]), int(timed_steps[-1])
        time0, time1 = float(timed_times[0]), float(timed_times[-1])
        elapsed = time1 - time0
        if elapsed > 0 and step1 > step0:
            rate = (step1 - step0) / elapsed
            summary["throughput_steps_per_sec"] = round(rate, 4)
            summary["elapsed_secs"] = round(elapsed, 3)
            total = summary["total_steps"]
            if total is not None and last_step is not None and last_step < total:
                summary["eta_secs"] = round((total - last_step) / rate, 1)
    info = {
        k: v for k, v in run.info.items() if isinstance(v, str | int | float | bool) or v is None
    }
    if info:
        summary["info"] = info
    return summary
