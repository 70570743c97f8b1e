"""The run summary: best and final values, progress, throughput, ETA, LR schedule."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from flightlog.analyze.diagnose.model import direction, round_value
from flightlog.analyze.diagnose.stall import timed_points
from flightlog.analyze.table import RunTable, Series

__all__ = ["describe_lr_schedule", "summarize"]

_LR_NAMES = ("learning_rate", "lr")


def describe_lr_schedule(series: Series) -> dict[str, Any]:
    """Shape of the learning-rate curve: constant, warmup, decay, warmup+decay, cyclic."""
    values = [v for v in series.values if math.isfinite(v)]
    if not values:
        return {"shape": "unknown"}
    low, high = min(values), max(values)
    peak = values.index(high)
    tolerance = 1e-9 + 1e-3 * abs(high)
    ups = sum(1 for a, b in pairwise(values) if b > a + tolerance)
    downs = sum(1 for a, b in pairwise(values) if b < a - tolerance)
    if high - low <= tolerance:
        shape = "constant"
    elif ups and downs:
        rising_then_falling = all(
            b <= a + tolerance for a, b in zip(values[peak:], values[peak + 1 :], strict=False)
        )
        shape = "warmup+decay" if rising_then_falling else "cyclic"
    elif downs:
        distinct = len({round_value(v) for v in values})
        shape = "step decay" if distinct <= max(3, len(values) // 10) else "decay"
    else:
        shape = "warmup"
    return {
        "shape": shape,
        "first": round_value(values[0]),
        "peak": round_value(high),
        "peak_step": series.steps[series.values.index(high)],
        "last": round_value(values[-1]),
        "min": round_value(low),
    }


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
        steps = [s for s in series.steps if s is not None]
        if steps:
            last_step = max(last_step or steps[-1], max(steps))
        epochs = [e for e in series.epochs if e is not None]
        if epochs:
            last_epoch = max(last_epoch or epochs[-1], max(epochs))
        if metric in _LR_NAMES and split == "train" and lr_schedule is None:
            lr_schedule = describe_lr_schedule(series)
        entry: dict[str, Any] = {
            "metric": metric,
            "split": split,
            "points": len(series),
            "final": round_value(series.values[-1]) if series.values else None,
            "final_step": series.steps[-1] if series.steps else None,
        }
        sign = direction(metric)
        finite = series.finite_points()
        if sign and finite:
            step, value = max(finite, key=lambda p: sign * p[1])
            entry["best"] = round_value(value)
            entry["best_step"] = step
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
    timed = timed_points(run)
    if len(timed) >= 2:
        (step0, time0), (step1, time1) = timed[0], timed[-1]
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
