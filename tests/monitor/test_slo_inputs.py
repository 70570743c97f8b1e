"""SLIs of a version from logs and from metrics agree on the same predictions."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from flightlog.monitor.compare import samples_from_records
from flightlog.monitor.compare_metrics import samples_from_metrics
from flightlog.monitor.metrics import ModelMonitor, PredictionStatus
from flightlog.monitor.slo import SliKind, SloStatus
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
