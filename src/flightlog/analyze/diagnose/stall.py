"""``stall``: a gap between progress points far longer than the usual step time.

Needs a ``time`` column (timestamps, elapsed times or summed step times). The gaps are
taken between consecutive points of the series with the most timed points.

``find_ongoing_stall`` is the same test for a job hung right now (``--follow``): the
silence since the last progress line against the usual gap, with the same threshold;
its evidence has ``"ongoing": true`` and ``since_step``.
"""

from __future__ import annotations

import numpy as np

from flightlog.analyze.diagnose.model import WARNING, Diagnosis, Kind
from flightlog.analyze.diagnose.params import StallParams
from flightlog.analyze.table import NO_STEP, RunTable, Series

__all__ = [
    "find_ongoing_stall",
    "find_stalls",
    "stall_limit_secs",
    "timed_arrays",
    "timed_points",
    "usual_gap_secs",
]


def timed_arrays(run: RunTable) -> tuple[np.ndarray, np.ndarray]:
    """``timed_points`` as two arrays (steps int64, times float64)."""
    best: Series | None = None
    best_count = 0
    best_times: np.ndarray | None = None
    for series in run.series.values():
        times = series.times_array() if series.has_times else None
        count = int(np.count_nonzero(~np.isnan(times))) if times is not None else 0
        if count > best_count:
            best, best_count, best_times = series, count, times
    if best is None or best_times is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    steps = best.steps_array()
    keep = (steps != NO_STEP) & ~np.isnan(best_times)
    return steps[keep], best_times[keep]


def timed_points(run: RunTable) -> list[tuple[int, float]]:
    """``(step, time)`` of the run's most densely timed series, in log order."""
    steps, times = timed_arrays(run)
    return list(zip(steps.tolist(), times.tolist(), strict=True))


def _gap_arrays(steps: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(after_step, before_step, gap) of each pair of consecutive points not going back."""
    keep = times[1:] >= times[:-1]
    return steps[:-1][keep], steps[1:][keep], (times[1:] - times[:-1])[keep]


def _median(values: np.ndarray) -> float:
    """``statistics.median`` of a non-empty array."""
    ordered = np.sort(values)
    n = len(ordered)
    if n % 2:
        return float(ordered[n // 2])
    return (float(ordered[n // 2 - 1]) + float(ordered[n // 2])) / 2


def usual_gap_secs(run: RunTable, params: StallParams) -> float | None:
    """The median time between the run's progress points (None: too few timed points)."""
    steps, times = timed_arrays(run)
    if len(steps) < params.min_points:
        return None
    gaps = _gap_arrays(steps, times)[2]
    return _median(gaps) if len(gaps) else None


def stall_limit_secs(usual: float, params: StallParams) -> float:
    """How long a gap must be to be a stall."""
    return max(params.factor * usual, params.min_gap_secs)


def find_stalls(run: RunTable, params: StallParams) -> list[Diagnosis]:
    steps, times = timed_arrays(run)
    if len(steps) < params.min_points:
        return []
    after, before, gap = _gap_arrays(steps, times)
    if not len(gap):
        return []
    usual = _median(gap)
    limit = stall_limit_secs(usual, params)
    over = np.flatnonzero(gap > limit)
    if not len(over):
        return []
    stalls = [(int(after[i]), int(before[i]), float(gap[i])) for i in over.tolist()]
    longest = max(stalls, key=lambda g: g[2])
    return [
        Diagnosis(
            kind=Kind.STALL,
            severity=WARNING,
            message=(
                f"progress stalled {len(stalls)} time(s); the longest gap was {longest[2]:.0f} s "
                f"between steps {longest[0]} and {longest[1]} (usual gap {usual:.3g} s). Look "
                "for a hung data loader, a slow checkpoint or evaluation, or a blocked collective."
            ),
            evidence={
                "count": len(stalls),
                "usual_gap_secs": round(usual, 3),
                "longest_gap_secs": round(longest[2], 3),
                "stalls": [
                    {"after_step": a, "before_step": b, "gap_secs": round(g, 3)}
                    for a, b, g in stalls[:10]
                ],
            },
            first_step=stalls[0][0],
            last_step=stalls[-1][1],
        )
    ]


def find_ongoing_stall(
    silent_secs: float, usual: float, since_step: int | None, params: StallParams
) -> Diagnosis | None:
    """A stall happening now: ``silent_secs`` since the last progress line (at step
    ``since_step``) against the ``usual`` gap between progress lines."""
    limit = stall_limit_secs(usual, params)
    if silent_secs <= limit:
        return None
    where = f"after step {since_step}" if since_step is not None else "so far"
    return Diagnosis(
        kind=Kind.STALL,
        severity=WARNING,
        message=(
            f"no progress for {silent_secs:.0f} s {where} (usual gap {usual:.3g} s, "
            f"stall above {limit:.0f} s): the job may be hung right now. Look for a hung data "
            "loader, a slow checkpoint or evaluation, or a blocked collective (py-spy dump "
            "shows where each process waits)."
        ),
        evidence={
            "ongoing": True,
            "since_step": since_step,
            "silent_secs": round(silent_secs, 3),
            "usual_gap_secs": round(usual, 3),
            "limit_secs": round(limit, 3),
        },
        first_step=since_step,
        last_step=since_step,
    )
