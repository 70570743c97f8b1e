"""SLIs of a version from logs and from metrics: agreement, time-based SLIs, error budgets."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from flightlog.errors import MonitorError
from flightlog.monitor.compare import samples_from_records
from flightlog.monitor.compare_metrics import samples_from_metrics
from flightlog.monitor.metrics import ModelMonitor, PredictionStatus
from flightlog.monitor.slo import SliKind, SliUnit, SloStatus
from flightlog.monitor.slo_inputs import version_slis

LATENCIES = [0.004] * 90 + [0.3] * 8 + [2.0] * 2
ERRORS = 3


def test_logs_and_metrics_give_the_same_slis() -> None:
    """Availability and latency (threshold on a bucket bound) match between both sources."""
    registry = CollectorRegistry()
    monitor = ModelMonitor("m", "1", registry=registry)
    before = generate_latest(registry).decode()
    records = []
    for index, latency in enumerate(LATENCIES):
        status = PredictionStatus.ERROR if index < ERRORS else PredictionStatus.OK
        monitor.observe(latency, status)
        records.append(
            {
                "model_version": "1",
                "latency_seconds": latency,
                "status": str(status),
                "prediction": 1,
                "label": 1,
            }
        )
    from_metrics = version_slis(
        samples_from_metrics(before, generate_latest(registry).decode(), "m")["1"], 0.25
    )
    from_logs = version_slis(samples_from_records(records)["1"], 0.25)
    for kind in (SliKind.AVAILABILITY, SliKind.LATENCY):
        assert (from_logs[kind].good, from_logs[kind].eligible) == (
            from_metrics[kind].good,
            from_metrics[kind].eligible,
        )
    assert from_logs[SliKind.AVAILABILITY].good == 97
    assert from_logs[SliKind.LATENCY].good == 90
    assert from_logs[SliKind.QUALITY].ratio == 1.0 and SliKind.QUALITY not in from_metrics
    status = SloStatus(from_logs[SliKind.LATENCY], objective=0.95)
    assert status.burn_rate == pytest.approx(0.10 / 0.05)


T0 = 1_800_000_000.0  # unix seconds; the period is [T0, T0 + 600)
PERIOD = (T0, T0 + 600.0)


def _logged(offsets: list[float], sample_rate: float = 1.0) -> list[dict[str, object]]:
    return [
        {"model_version": "1", "ts": T0 + offset, "status": "ok", "sample_rate": sample_rate}
        for offset in offsets
    ]


def _every(step: float, start: float, stop: float) -> list[float]:
    return [start + step * index for index in range(int((stop - start) / step))]


def _windows(per_window: list[int]) -> list[float]:
    """Logged predictions spread inside consecutive 60 s windows."""
    return [
        60.0 * window + 60.0 * index / count
        for window, count in enumerate(per_window)
        for index in range(count)
    ]


# name, logged predictions, version_slis options, objective ->
#   good, eligible, error budget, budget consumed, burn rate
ERROR_BUDGET_TABLE = [
    (
        "fresh-all-period",
        _logged(_every(10, 0, 600)),
        {"freshness_max_age_seconds": 30.0},
        0.99,
        (600.0, 600.0, 6.0, 0.0, 0.0),
    ),
    (
        # A 70 s gap (290 -> 360) with a 30 s limit is 40 stale seconds.
        "gap-of-70s",
        _logged(_every(10, 0, 300) + _every(10, 360, 600)),
        {"freshness_max_age_seconds": 30.0},
        0.99,
        (560.0, 600.0, 6.0, 40 / 6, (40 / 600) / 0.01),
    ),
    (
        # Nothing after 500 s: stale from 530 s to the end of the period.
        "silent-tail",
        _logged(_every(10, 0, 510)),
        {"freshness_max_age_seconds": 30.0},
        0.99,
        (530.0, 600.0, 6.0, 70 / 6, (70 / 600) / 0.01),
    ),
    (
        # Sampled at 0.1: 6 logged per minute are 60 served (1/s, enough), 5 are 50 (not).
        "throughput-two-slow-minutes",
        _logged(_windows([6] * 8 + [5] * 2), sample_rate=0.1),
        {"min_throughput_per_second": 1.0},
        0.9,
        (480.0, 600.0, 60.0, 2.0, 2.0),
    ),
    (
        "throughput-every-minute",
        _logged(_windows([6] * 10), sample_rate=0.1),
        {"min_throughput_per_second": 1.0},
        0.9,
        (600.0, 600.0, 60.0, 0.0, 0.0),
    ),
]


@pytest.mark.parametrize(
    ("records", "options", "objective", "expected"),
    [row[1:] for row in ERROR_BUDGET_TABLE],
    ids=[row[0] for row in ERROR_BUDGET_TABLE],
)
def test_time_based_slis_and_their_error_budgets(
    records: list[dict[str, object]],
    options: dict[str, float],
    objective: float,
    expected: tuple[float, float, float, float, float],
) -> None:
    """Freshness and throughput in seconds: budget = (1 - objective) x eligible seconds."""
    slis = version_slis(samples_from_records(records)["1"], 0.25, period_seconds=PERIOD, **options)
    kind = SliKind.FRESHNESS if "freshness_max_age_seconds" in options else SliKind.THROUGHPUT
    status = SloStatus(slis[kind], objective)
    good, eligible, budget, consumed, burn = expected
    assert slis[kind].unit is SliUnit.SECONDS
    assert (slis[kind].good, slis[kind].eligible) == (pytest.approx(good), pytest.approx(eligible))
    assert status.error_budget == pytest.approx(budget)
    assert status.budget_consumed == pytest.approx(consumed)
    assert status.burn_rate == pytest.approx(burn)


def test_record_times_are_read_as_the_sdk_writes_them() -> None:
    """RFC 3339 ``ts`` fields (the SDK's JSON lines) become sorted arrival times."""
    records = [
        {"model_version": "1", "ts": "2027-01-15T08:00:00.5Z"},
        {"model_version": "1", "ts": "2027-01-15T08:00:00.25Z"},
        {"model_version": "1"},  # no time: not an arrival
    ]
    sample = samples_from_records(records)["1"]
    assert sample.total == 3
    assert sample.arrival_times_seconds is not None
    assert sample.arrival_times_seconds[0] == pytest.approx(1_800_000_000.25)
    assert np.diff(sample.arrival_times_seconds).tolist() == [pytest.approx(0.25, abs=1e-6)]


@pytest.mark.parametrize(
    ("increase", "min_rate", "good"), [(30_000, 40.0, 600.0), (30_000, 60.0, 0.0)]
)
def test_throughput_from_two_scrapes_is_one_window(
    increase: int, min_rate: float, good: float
) -> None:
    """From metrics the whole period is one window holding the counter's increase."""
    registry = CollectorRegistry()
    monitor = ModelMonitor("m", "1", registry=registry)
    before = generate_latest(registry).decode()
    for _ in range(increase):
        monitor.observe(0.001)
    sample = samples_from_metrics(before, generate_latest(registry).decode(), "m")["1"]
    slis = version_slis(sample, 0.25, period_seconds=PERIOD, min_throughput_per_second=min_rate)
    assert (slis[SliKind.THROUGHPUT].good, slis[SliKind.THROUGHPUT].eligible) == (good, 600.0)
    assert SloStatus(slis[SliKind.THROUGHPUT], 0.9).burn_rate == pytest.approx(
        (1 - good / 600) / 0.1
    )


def test_freshness_from_metrics_is_refused_with_the_reason() -> None:
    """Two scrapes cannot say when predictions arrived: a MonitorError says to use logs."""
    registry = CollectorRegistry()
    monitor = ModelMonitor("m", "1", registry=registry)
    before = generate_latest(registry).decode()
    monitor.observe(0.001)
    sample = samples_from_metrics(before, generate_latest(registry).decode(), "m")["1"]
    with pytest.raises(MonitorError, match="prediction logs with a 'ts' field"):
        version_slis(sample, 0.25, period_seconds=PERIOD, freshness_max_age_seconds=30.0)


def test_time_based_slis_need_a_period() -> None:
    """Without period_seconds a freshness or throughput SLI cannot be measured."""
    sample = samples_from_records(_logged([1.0]))["1"]
    with pytest.raises(MonitorError, match="period_seconds"):
        version_slis(sample, 0.25, min_throughput_per_second=1.0)
