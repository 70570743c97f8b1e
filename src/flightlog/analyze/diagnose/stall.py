"""``stall``: a gap between progress points far longer than the usual step time.

Needs a ``time`` column (timestamps, elapsed times or summed step times). The gaps are
taken between consecutive points of the series with the most timed points.

``find_ongoing_stall`` is the same test for a job hung right now (``--follow``): the
silence since the last progress line against the usual gap, with the same threshold;
its evidence has ``"ongoing": true`` and ``since_step``.
"""

from __future__ import annotations

import statistics

from flightlog.analyze.diagnose.model import WARNING, Diagnosis, Kind
from flightlog.analyze.diagnose.params import StallParams
from flightlog.analyze.table import RunTable, Series

__all__ = [
    "find_ongoing_stall",
    "find_stalls",
    "stall_limit_secs",
    "timed_points",
    "usual_gap_secs",
]


def timed_points(run: RunTable) -> list[tuple[int, float]]:
    """``(step, time)`` of the run's most densely timed series, in log order."""
    best: Series | None = None
    best_count = 0
    for series in run.series.values():
        count = sum(1 for t in series.times if t is not None) if series.has_times else 0
        if count > best_count:
            best, best_count = series, count
    if best is None:
        return []
    return [
        (s, t)
        for s, t in zip(best.steps, best.times, strict=True)
        if s is not None and t is not None
    ]


def _gaps(points: list[tuple[int, float]]) -> list[tuple[int, int, float]]:
    return [
        (points[i][0], points[i + 1][0], points[i + 1][1] - points[i][1])
        for i in range(len(points) - 1)
        if points[i + 1][1] >= points[i][1]
    ]


def usual_gap_secs(run: RunTable, params: StallParams) -> float | None:
    """The median time between the run's progress points (None: too few timed points)."""
    points = timed_points(run)
    gaps = _gaps(points) if len(points) >= params.min_points else []
    return statistics.median(g for _, _, g in gaps) if gaps else None


def stall_limit_secs(usual: float, params: StallParams) -> float:
    """How long a gap must be to be a stall."""
    return max(params.factor * usual, params.min_gap_secs)


def find_stalls(run: RunTable, params: StallParams) -> list[Diagnosis]:
    points = timed_points(run)
    if len(points) < params.min_points:
        return []
    gaps = _gaps(points)
    if not gaps:
        return []
    usual = statistics.median(g for _, _, g in gaps)
    limit = stall_limit_secs(usual, params)
    stalls = [gap for gap in gaps if gap[2] > limit]
    if not stalls:
        return []
    longest = max(stalls, key=lambda gap: gap[2])
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
