"""SLIs and error budgets as pure functions, shared by model monitoring and SLO alert rules.

An SLI is a ratio good / eligible, measured either in **events** (requests served
without error, requests faster than a threshold) or in **time** (seconds during which
accuracy stayed above its floor, data stayed fresh, throughput stayed above its minimum,
the p95 stayed under its threshold). The arithmetic is the same for both units:

    error ratio  = bad / eligible                      (bad = eligible - good)
    error budget = (1 - objective) x eligible          bad events (or bad seconds) allowed
    consumed     = bad / error budget                  1.0 = budget exhausted
    burn rate    = error ratio / (1 - objective)       1.0 = exactly exhausting it by the
                                                       end of the SLO window

The arithmetic lives in the shared leaf ``flightlog.error_budget`` (SLO alert rules use
the same functions) and is re-exported here: ``error_ratio``, ``error_budget``,
``budget_consumed``, ``budget_remaining``, ``burn_rate``, ``time_to_exhaustion_seconds``,
``validate_objective``; impossible inputs raise ``SloError``. Here: ``SliMeasurement``,
``SloStatus``.
SLI builders: ``availability_sli``, ``latency_sli``, ``latency_sli_from_buckets``,
``latency_quantile_sli``, ``quality_sli``, ``freshness_sli``, ``throughput_sli``, and
``histogram_quantile`` (Prometheus semantics) for percentiles from histogram buckets.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from flightlog.error_budget import (
    budget_consumed,
    budget_remaining,
    burn_rate,
    error_budget,
    error_ratio,
    time_to_exhaustion_seconds,
    validate_objective,
)
from flightlog.errors import MonitorError

__all__ = [
    "SliKind",
    "SliMeasurement",
    "SliUnit",
    "SloStatus",
    "availability_sli",
    "budget_consumed",
    "budget_remaining",
    "burn_rate",
    "error_budget",
    "error_ratio",
    "freshness_sli",
    "histogram_quantile",
    "latency_quantile_sli",
    "latency_sli",
    "latency_sli_from_buckets",
    "quality_sli",
    "throughput_sli",
    "time_to_exhaustion_seconds",
    "validate_objective",
]


class SliKind(StrEnum):
    AVAILABILITY = "availability"
    LATENCY = "latency"
    QUALITY = "quality"
    FRESHNESS = "freshness"
    THROUGHPUT = "throughput"


class SliUnit(StrEnum):
    EVENTS = "events"
    SECONDS = "seconds"


@dataclass(frozen=True, slots=True)
class SliMeasurement:
    """good out of eligible, in events or seconds."""

    kind: SliKind
    good: float
    eligible: float
    unit: SliUnit

    def __post_init__(self) -> None:
        if self.good < 0 or self.eligible < 0 or self.good > self.eligible:
            raise MonitorError(
                f"{self.kind} SLI good={self.good}, eligible={self.eligible}: "
                "need 0 <= good <= eligible"
            )

    @property
    def bad(self) -> float:
        return self.eligible - self.good

    @property
    def ratio(self) -> float:
        """The SLI itself (good / eligible); 1.0 when nothing was eligible."""
        return self.good / self.eligible if self.eligible > 0 else 1.0


@dataclass(frozen=True, slots=True)
class SloStatus:
    """An SLI measured over a window, judged against an objective."""

    measurement: SliMeasurement
    objective: float

    def __post_init__(self) -> None:
        validate_objective(self.objective)

    @property
    def error_ratio(self) -> float:
        return error_ratio(self.measurement.bad, self.measurement.eligible)

    @property
    def error_budget(self) -> float:
        return error_budget(self.objective, self.measurement.eligible)

    @property
    def budget_consumed(self) -> float:
        return budget_consumed(self.measurement.bad, self.measurement.eligible, self.objective)

    @property
    def budget_remaining(self) -> float:
        return 1.0 - self.budget_consumed

    @property
    def burn_rate(self) -> float:
        return burn_rate(self.error_ratio, self.objective)

    @property
    def met(self) -> bool:
        return self.measurement.ratio >= self.objective

    def to_dict(self) -> dict[str, object]:
        return {
            "sli": str(self.measurement.kind),
            "unit": str(self.measurement.unit),
            "good": self.measurement.good,
            "eligible": self.measurement.eligible,
            "ratio": self.measurement.ratio,
            "objective": self.objective,
            "error_budget": self.error_budget,
            "budget_consumed": self.budget_consumed,
            "budget_remaining": self.budget_remaining,
            "burn_rate": self.burn_rate,
            "met": self.met,
        }


def availability_sli(successful: float, total: float) -> SliMeasurement:
    """Requests answered without a server error, out of all requests."""
    return SliMeasurement(SliKind.AVAILABILITY, successful, total, SliUnit.EVENTS)


def latency_sli(latencies_seconds: Sequence[float], threshold_seconds: float) -> SliMeasurement:
    """Requests at or under the threshold, out of all requests (from raw latencies)."""
    good = sum(1 for latency in latencies_seconds if latency <= threshold_seconds)
    return SliMeasurement(SliKind.LATENCY, good, len(latencies_seconds), SliUnit.EVENTS)


def latency_sli_from_buckets(
    buckets: Sequence[tuple[float, float]], threshold_seconds: float
) -> SliMeasurement:
    """Requests under the threshold from cumulative histogram buckets ``(le, count)``.

    The threshold must be one of the bucket bounds: a count *between* bounds is not in
    the data, and guessing it would make the budget wrong in a way nobody can see.
    """
    ordered = _checked_buckets(buckets)
    total = ordered[-1][1]
    for upper, count in ordered:
        if math.isclose(upper, threshold_seconds, rel_tol=1e-9):
            return SliMeasurement(SliKind.LATENCY, count, total, SliUnit.EVENTS)
    bounds = [upper for upper, _ in ordered if math.isfinite(upper)]
    raise MonitorError(
        f"latency threshold {threshold_seconds}s is not a histogram bucket bound {bounds}: "
        "pick a bound as the threshold or add it to the buckets"
    )


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """The q-quantile from cumulative buckets, as PromQL's ``histogram_quantile`` does.

    Linear interpolation inside the bucket that holds the rank; the lowest bucket starts
    at 0; a rank in the +Inf bucket returns the highest finite bound; NaN without data.
    """
    if not 0.0 <= q <= 1.0:
        raise MonitorError(f"quantile {q}: must be within [0, 1]")
    ordered = _checked_buckets(buckets)
    total = ordered[-1][1]
    if total == 0:
        return math.nan
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if math.isinf(upper):
                return lower_bound
            if upper <= 0:
                return upper
            if count == lower_count:
                return upper
            return lower_bound + (upper - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = upper, count
    return lower_bound


def latency_quantile_sli(
    window_quantiles_seconds: Sequence[float], threshold_seconds: float, window_seconds: float
) -> SliMeasurement:
    """Time-based: seconds of windows whose p95/p99 stayed at or under the threshold.

    A window without traffic (NaN quantile) is not eligible.
    """
    return _windowed(
        SliKind.LATENCY,
        [value <= threshold_seconds for value in window_quantiles_seconds if not math.isnan(value)],
        window_seconds,
    )


def quality_sli(
    window_accuracies: Sequence[float], accuracy_floor: float, window_seconds: float
) -> SliMeasurement:
    """Time-based: seconds of windows whose accuracy stayed at or above the floor.

    Windows without labels (NaN) are not eligible.
    """
    return _windowed(
        SliKind.QUALITY,
        [value >= accuracy_floor for value in window_accuracies if not math.isnan(value)],
        window_seconds,
    )


def throughput_sli(
    window_counts: Sequence[float], min_rate_per_second: float, window_seconds: float
) -> SliMeasurement:
    """Time-based: seconds of windows that served at least ``min_rate_per_second``."""
    return _windowed(
        SliKind.THROUGHPUT,
        [count / window_seconds >= min_rate_per_second for count in window_counts],
        window_seconds,
    )


def freshness_sli(
    arrival_times_seconds: Sequence[float],
    start_seconds: float,
    end_seconds: float,
    max_age_seconds: float,
) -> SliMeasurement:
    """Time-based, exact: seconds in [start, end) during which the newest data was fresh.

    At time t the data's age is t minus the last arrival at or before t; each gap between
    arrivals longer than ``max_age_seconds`` contributes its excess as bad time. Before
    the first arrival in the window the data counts as stale from ``start``.
    """
    if end_seconds <= start_seconds:
        raise MonitorError(f"window [{start_seconds}, {end_seconds}) is empty")
    if max_age_seconds < 0:
        raise MonitorError(f"max_age_seconds={max_age_seconds}: must be >= 0")
    eligible = end_seconds - start_seconds
    arrivals = sorted(t for t in arrival_times_seconds if t < end_seconds)
    earlier = [t for t in arrivals if t <= start_seconds]
    inside = [t for t in arrivals if t > start_seconds]
    # The last arrival before the window still ages into it.
    last = earlier[-1] if earlier else start_seconds - max_age_seconds
    bad = 0.0
    for arrival in [*inside, end_seconds]:
        stale_from = max(last + max_age_seconds, start_seconds)
        bad += max(0.0, arrival - stale_from)
        last = arrival
    return SliMeasurement(SliKind.FRESHNESS, eligible - bad, eligible, SliUnit.SECONDS)


def _windowed(kind: SliKind, window_good: Sequence[bool], window_seconds: float) -> SliMeasurement:
    if window_seconds <= 0:
        raise MonitorError(f"window_seconds={window_seconds}: must be > 0")
    good = sum(window_good) * window_seconds
    return SliMeasurement(kind, good, len(window_good) * window_seconds, SliUnit.SECONDS)


def _checked_buckets(buckets: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    ordered = sorted((float(upper), float(count)) for upper, count in buckets)
    if not ordered or not math.isinf(ordered[-1][0]):
        raise MonitorError("histogram buckets need a +Inf bucket (the total count)")
    counts = [count for _, count in ordered]
    if any(later < earlier for earlier, later in itertools.pairwise(counts)):
        raise MonitorError("histogram bucket counts must be cumulative (non-decreasing)")
    return ordered
