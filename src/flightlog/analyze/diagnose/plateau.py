"""``plateau``: the best value stopped improving; would early stopping have saved time?"""

from __future__ import annotations

from flightlog.analyze.diagnose.model import INFO, Diagnosis, Kind, direction, round_value
from flightlog.analyze.diagnose.params import PlateauParams
from flightlog.analyze.table import RunTable, Series

__all__ = ["find_plateau", "main_curve"]


def main_curve(run: RunTable) -> Series | None:
    """The curve a run is judged by: held-out loss if logged, else held-out score,
    else the training loss."""
    candidates: list[tuple[int, Series]] = []
    for (split, metric), series in run.series.items():
        sign = direction(metric)
        if sign == 0 or len(series.finite_points()) == 0:
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
    points = series.finite_points()
    if len(points) < params.min_points:
        return []
    # running best, in the "higher is better" orientation
    best_so_far: list[float] = []
    best = float("-inf")
    for _, value in points:
        best = max(best, sign * value)
        best_so_far.append(best)
    final_best = best_so_far[-1]
    scale = max(abs(final_best), 1e-12)
    # first point from which the best improves by less than the threshold till the end
    plateau_index = len(points) - 1
    for index in range(len(points) - 1, -1, -1):
        if (final_best - best_so_far[index]) / scale < params.min_relative_improvement:
            plateau_index = index
        else:
            break
    remaining = len(points) - 1 - plateau_index
    if remaining < params.window:
        return []
    plateau_step = points[plateau_index][0]
    last_step = points[-1][0]
    stop_index = min(len(points) - 1, plateau_index + params.window)
    stop_step = points[stop_index][0]
    first_step = points[0][0]
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
    times = [t for t, s in zip(series.times, series.steps, strict=True) if s is not None]
    if times and times[-1] is not None:
        stop_time = series.times[series.steps.index(stop_step)]
        if stop_time is not None:
            evidence["saved_seconds"] = round(times[-1] - stop_time, 1)
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
