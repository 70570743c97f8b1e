"""Error-budget arithmetic and SLI builders, table-driven."""

from __future__ import annotations

import math

import pytest

from flightlog.errors import MonitorError, SloError
from flightlog.monitor import slo

DAY = 86_400.0
MONTH = 30 * DAY


@pytest.mark.parametrize(
    ("objective", "eligible", "bad", "budget", "consumed", "ratio", "burn"),
    [
        # 99.9 % of 1,000,000 requests: 1,000 errors allowed.
        (0.999, 1_000_000, 0, 1_000.0, 0.0, 0.0, 0.0),
        (0.999, 1_000_000, 500, 1_000.0, 0.5, 0.0005, 0.5),
        (0.999, 1_000_000, 1_000, 1_000.0, 1.0, 0.001, 1.0),
        (0.999, 1_000_000, 14_400, 1_000.0, 14.4, 0.0144, 14.4),
        # 99 % of 10,000: 100 allowed; 250 bad = 2.5x overspent.
        (0.99, 10_000, 250, 100.0, 2.5, 0.025, 2.5),
        # Time-based: 99.5 % of a 30-day month = 12,960 bad seconds (3.6 h) allowed.
        (0.995, MONTH, 6_480, 12_960.0, 0.5, 6_480 / MONTH, 0.5),
        # No traffic: nothing eligible, nothing burnt.
        (0.999, 0, 0, 0.0, 0.0, 0.0, 0.0),
        # Everything bad at 90 %: burn rate 10.
        (0.9, 50, 50, 5.0, 10.0, 1.0, 10.0),
    ],
)
def test_error_budget_table(objective, eligible, bad, budget, consumed, ratio, burn) -> None:  # type: ignore[no-untyped-def]
    """Budget, consumption, error ratio and burn rate for known cases."""
    assert slo.error_budget(objective, eligible) == pytest.approx(budget)
    assert slo.budget_consumed(bad, eligible, objective) == pytest.approx(consumed)
    assert slo.budget_remaining(bad, eligible, objective) == pytest.approx(1 - consumed)
    assert slo.error_ratio(bad, eligible) == pytest.approx(ratio)
    assert slo.burn_rate(slo.error_ratio(bad, eligible), objective) == pytest.approx(burn)


@pytest.mark.parametrize(
    ("remaining", "burn", "window", "expected"),
    [
        (1.0, 1.0, MONTH, MONTH),
        (0.5, 14.4, MONTH, 0.5 * MONTH / 14.4),
        (0.3, 0.0, MONTH, math.inf),
        (0.0, 2.0, MONTH, 0.0),
        (-0.2, 2.0, MONTH, 0.0),
    ],
)
def test_time_to_exhaustion(remaining: float, burn: float, window: float, expected: float) -> None:
    """At burn rate 1 a full budget lasts one window; not burning lasts forever."""
    assert slo.time_to_exhaustion_seconds(remaining, burn, window) == pytest.approx(expected)


@pytest.mark.parametrize("objective", [0.0, 1.0, 99.9, -0.5])
def test_objective_must_be_a_ratio(objective: float) -> None:
    """99.9 instead of 0.999 is rejected with the fix in the message."""
    with pytest.raises(SloError, match=r"0\.999"):
        slo.error_budget(objective, 100)


@pytest.mark.parametrize(("bad", "eligible"), [(-1, 10), (11, 10), (1, -5)])
def test_impossible_counts_are_rejected(bad: float, eligible: float) -> None:
    """More bad events than eligible ones, or negative counts, are errors."""
    with pytest.raises(SloError):
        slo.error_ratio(bad, eligible)


def test_slo_status_combines_the_functions() -> None:
    """SloStatus of an availability SLI reports the same numbers as the functions."""
    status = slo.SloStatus(slo.availability_sli(successful=99_700, total=100_000), objective=0.999)
    assert status.error_budget == pytest.approx(100)
    assert status.budget_consumed == pytest.approx(3.0)
    assert status.burn_rate == pytest.approx(3.0)
    assert not status.met
    assert status.to_dict()["unit"] == "events"


BUCKETS = [(0.05, 50.0), (0.1, 80.0), (0.25, 95.0), (0.5, 99.0), (math.inf, 100.0)]


def test_latency_sli_from_buckets_uses_exact_bound() -> None:
    """Requests under 250 ms are read straight from the le=0.25 bucket."""
    measurement = slo.latency_sli_from_buckets(BUCKETS, 0.25)
    assert (measurement.good, measurement.eligible) == (95.0, 100.0)
    with pytest.raises(MonitorError, match="not a histogram bucket bound"):
        slo.latency_sli_from_buckets(BUCKETS, 0.3)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.5, 0.05),
        (0.25, 0.025),
        (0.65, 0.075),
        (0.95, 0.25),
        (0.97, 0.375),
        (0.995, 0.5),
        (1.0, 0.5),
    ],
)
def test_histogram_quantile_matches_promql(q: float, expected: float) -> None:
    """Linear interpolation within the bucket; the +Inf bucket returns the last finite bound."""
    assert slo.histogram_quantile(q, BUCKETS) == pytest.approx(expected)


def test_histogram_quantile_edge_cases() -> None:
    """No data is NaN; non-cumulative or +Inf-less buckets are rejected."""
    assert math.isnan(slo.histogram_quantile(0.9, [(0.1, 0.0), (math.inf, 0.0)]))
    with pytest.raises(MonitorError, match=r"\+Inf"):
        slo.histogram_quantile(0.9, [(0.1, 3.0)])
    with pytest.raises(MonitorError, match="cumulative"):
        slo.histogram_quantile(0.9, [(0.1, 5.0), (math.inf, 3.0)])


def test_event_latency_sli() -> None:
    """Raw latencies at or under the threshold are good."""
    measurement = slo.latency_sli([0.01, 0.2, 0.3, 0.2], 0.2)
    assert (measurement.good, measurement.eligible, measurement.unit) == (3, 4, slo.SliUnit.EVENTS)


@pytest.mark.parametrize(
    ("builder", "values", "threshold", "good_windows", "eligible_windows"),
    [
        (slo.latency_quantile_sli, [0.1, 0.3, math.nan, 0.2], 0.25, 2, 3),
        (slo.quality_sli, [0.95, 0.89, 0.9, math.nan], 0.9, 2, 3),
        (slo.throughput_sli, [600.0, 59.0, 60.0], 1.0, 2, 3),
    ],
)
def test_windowed_slis_count_seconds(
    builder, values, threshold, good_windows, eligible_windows
) -> None:  # type: ignore[no-untyped-def]
    """Time-based SLIs: each 60 s window is good or bad; windows without data are not eligible."""
    measurement = builder(values, threshold, 60.0)
    assert measurement.good == good_windows * 60.0
    assert measurement.eligible == eligible_windows * 60.0
    assert measurement.unit is slo.SliUnit.SECONDS


@pytest.mark.parametrize(
    ("arrivals", "bad_seconds"),
    [
        ([0, 100, 200, 300, 400, 500, 600], 0.0),  # every gap within max age
        ([0, 500], 200.0),  # 500 s gap: stale from 300 to 500, and 500..600 is fresh
        ([-50, 700], 350.0),  # stale from 250 until the end of the window
        ([], 600.0),  # no data at all: the whole window is stale
        ([300], 300.0),  # stale until the first arrival in the window
    ],
)
def test_freshness_sli_is_exact_in_time(arrivals: list[float], bad_seconds: float) -> None:
    """Bad time is the excess of each arrival gap over the maximum age (window 0..600, max 300)."""
    measurement = slo.freshness_sli(arrivals, 0.0, 600.0, 300.0)
    assert measurement.eligible == 600.0
    assert measurement.bad == pytest.approx(bad_seconds)
