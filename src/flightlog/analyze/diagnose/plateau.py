"""``plateau``: the best value stopped improving; would early stopping have saved time?"""

from __future__ import annotations

import math

import numpy as np

from flightlog.analyze.diagnose.model import INFO, Diagnosis, Kind, direction, round_value
from flightlog.analyze.diagnose.params import PlateauParams
from flightlog.analyze.table import NO_STEP, RunTable, Series

__all__ = ["find_plateau", "main_curve"]


def main_curve(run: RunTable) -> Series | None:
    """The curve a run is judged by: held-out loss if logged, else held-out score,
    else the training loss."""
    candidates: list[tuple[int, Series]] = []
    for (split, metric), series in run.series.items():
        sign = direction(metric)
        if sign == 0 or len(series.finite_arrays()[1]) == 0:
            continue
        rank = {"val": 0, "eval": 0, "test": 2, "train": 3}.get(split, 1) * 4
        rank += (0 if sign < 0 else 2) + (0 if metric == "loss" else 1)
        candidates.append((rank, series))
    if not candidates:
        return None
    return min(candidates, key=lambda pair: pair[0])[1]


def find_plateau(run: RunTable, params: PlateauParams) -> list[Diagnosis]:
    series = main_curve(run)
    if series is None:
        return []
    sign = direction(series.metric)
    steps, values = series.finite_arrays()
    count = len(values)
    if count < params.min_points:
        return []
    # running best, in the "higher is better" orientation
    best_so_far = np.maximum.accumulate(sign * values)
    final_best = float(best_so_far[-1])
    scale = max(abs(final_best), 1e-12)
    # first point from which the best improves by less than the threshold till the end
    close = (final_best - best_so_far) / scale < params.min_relative_improvement
    not_close = np.flatnonzero(~close)
    plateau_index = min(int(not_close[-1]) + 1, count - 1) if len(not_close) else 0
    remaining = count - 1 - plateau_index
    if remaining < params.window:
        return []
    plateau_step = int(steps[plateau_index])
    last_step = int(steps[-1])
    stop_index = min(count - 1, plateau_index + params.window)
    stop_step = int(steps[stop_index])
    first_step = int(steps[0])
    span = max(1, last_step - first_step)
    saved_steps = last_step - stop_step
    evidence: dict[str, object] = {
        "metric": series.metric,
        "split": series.split,
        "plateau_step": plateau_step,
        "best_value": round_value(sign * final_best),
        "points_since_plateau": remaining,
        "early_stopping_step": stop_step,
        "saved_steps": saved_steps,
        "saved_fraction": round(saved_steps / span, 3),
    }
    times = series.times_array()
    if times is not None:
        all_steps = series.steps_array()
        known = np.flatnonzero(all_steps != NO_STEP)
        if len(known) and not math.isnan(times[known[-1]]):
            stop_time = float(times[np.flatnonzero(all_steps == stop_step)[0]])
            if not math.isnan(stop_time):
                evidence["saved_seconds"] = round(float(times[known[-1]]) - stop_time, 1)
    saving = (
        f"early stopping (patience {params.window}) would have stopped at step {stop_step} "
        f"and saved {evidence['saved_fraction']:.0%} of the run"
        if saved_steps > 0
        else "early stopping would not have saved much"
    )
    return [
        Diagnosis(
            kind=Kind.PLATEAU,
            severity=INFO,
            message=(
                f"{series.split} {series.metric} has improved by less than "
                f"{params.min_relative_improvement:.0%} since step {plateau_step} "
                f"({remaining} points): training has converged or stalled; {saving}. "
                "If the value is not good enough, try a learning-rate schedule or a larger model."
            ),
            evidence=evidence,
            first_step=plateau_step,
            last_step=last_step,
        )
    ]
