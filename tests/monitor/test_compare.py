"""Champion/challenger: intervals match published values, verdicts follow the tolerances."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from flightlog.errors import MonitorError
from flightlog.monitor.compare import (
    ComparisonThresholds,
    MetricVerdict,
    Verdict,
    compare_models,
    newcombe_difference,
    samples_from_records,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (81, 263, 0.2553, 0.3662)],
)
def test_wilson_interval_matches_published_values(
    successes: int, trials: int, low: float, high: float
) -> None:
    """95 % Wilson intervals equal the textbook values (Newcombe 1998, table I)."""
    interval = wilson_interval(successes, trials)
    assert interval.low == pytest.approx(low, abs=1e-4)
    assert interval.high == pytest.approx(high, abs=1e-4)


def test_newcombe_difference_matches_published_example() -> None:
    """56/70 vs 48/80: difference 0.2, 95 % CI 0.0524 to 0.3339 (Newcombe 1998, method 10)."""
    difference = newcombe_difference(wilson_interval(48, 80), wilson_interval(56, 70))
    assert difference.estimate == pytest.approx(0.2)
    assert difference.low == pytest.approx(0.0524, abs=1e-4)
    assert difference.high == pytest.approx(0.3339, abs=1e-4)


def _records(
    version: str,
    rows: int,
    seed: int,
    latency_scale: float = 1.0,
    error_rate: float = 0.01,
    accuracy: float | None = 0.9,
    positive_rate: float = 0.3,
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    latencies = rng.lognormal(np.log(0.02), 0.4, rows) * latency_scale
    errors = rng.random(rows) < error_rate
    predictions = (rng.random(rows) < positive_rate).astype(int)
    records = []
    for index in range(rows):
        record: dict[str, Any] = {
            "event": "prediction",
            "model_version": version,
            "latency_seconds": float(latencies[index]),
            "status": "error" if errors[index] else "ok",
            "prediction": int(predictions[index]),
        }
        if accuracy is not None:
            correct = rng.random() < accuracy
            record["label"] = int(predictions[index]) if correct else 1 - int(predictions[index])
        records.append(record)
    return records


def _compare(champion: list[dict[str, Any]], challenger: list[dict[str, Any]], **limits: Any):  # type: ignore[no-untyped-def]
    samples = samples_from_records(champion + challenger)
    return compare_models(samples["1"], samples["2"], ComparisonThresholds(**limits))


def test_equivalent_challenger_is_promoted() -> None:
    """Same latency, errors and accuracy on plenty of traffic: every metric non-inferior."""
    result = _compare(_records("1", 20_000, 1), _records("2", 20_000, 2))
    assert result.verdict is Verdict.PROMOTE, result.reasons
    names = {metric.name for metric in result.metrics}
    assert {"latency_p95_seconds", "error_ratio", "accuracy"} <= names


def test_slower_challenger_is_rolled_back() -> None:
    """A challenger 50 % slower at p95 is rolled back, with the reason named."""
    result = _compare(_records("1", 5_000, 1), _records("2", 5_000, 2, latency_scale=1.5))
    assert result.verdict is Verdict.ROLLBACK
    p95 = next(metric for metric in result.metrics if metric.name == "latency_p95_seconds")
    assert p95.verdict is MetricVerdict.WORSE and p95.difference.low > 1.1
    assert any("latency_p95" in reason for reason in result.reasons)


def test_failing_challenger_is_rolled_back() -> None:
    """5 % errors against 1 % is confidently beyond a 0.5-point tolerance."""
    result = _compare(_records("1", 5_000, 1), _records("2", 5_000, 2, error_rate=0.05))
    error_ratio = next(metric for metric in result.metrics if metric.name == "error_ratio")
    assert error_ratio.verdict is MetricVerdict.WORSE
    assert error_ratio.p_value is not None and error_ratio.p_value < 1e-6
    assert result.verdict is Verdict.ROLLBACK


def test_less_accurate_challenger_is_rolled_back() -> None:
    """Accuracy 0.80 against 0.90 with thousands of labels is a rollback."""
    result = _compare(_records("1", 5_000, 1), _records("2", 5_000, 2, accuracy=0.8))
    accuracy = next(metric for metric in result.metrics if metric.name == "accuracy")
    assert accuracy.verdict is MetricVerdict.WORSE
    assert result.verdict is Verdict.ROLLBACK


def test_too_little_traffic_keeps_the_champion() -> None:
    """Below min_predictions nothing is decided."""
    result = _compare(_records("1", 50, 1), _records("2", 50, 2))
    assert result.verdict is Verdict.KEEP
    assert "too few predictions" in result.reasons[0]


def test_moved_predictions_without_labels_keep_the_champion() -> None:
    """Without labels, a challenger predicting positives far more often is not promoted."""
    result = _compare(
        _records("1", 20_000, 1, accuracy=None),
        _records("2", 20_000, 2, accuracy=None, positive_rate=0.7),
    )
    assert result.prediction_js_distance > 0.1
    assert result.verdict is Verdict.KEEP


def test_to_dict_is_json_ready() -> None:
    """The API/CLI document names both versions, every metric and the verdict."""
    document = _compare(_records("1", 500, 1), _records("2", 500, 2)).to_dict()
    assert document["champion"] == "1" and document["challenger"] == "2"
    assert document["verdict"] in ("promote", "keep", "rollback")
    assert all("verdict" in metric and "decides" in metric for metric in document["metrics"])


def test_bad_thresholds_are_rejected() -> None:
    """A confidence level given in percent is rejected by name."""
    with pytest.raises(MonitorError, match="confidence"):
        ComparisonThresholds(confidence=95).validate()


def _scrape(registry) -> str:  # type: ignore[no-untyped-def]
    from prometheus_client import generate_latest

    return generate_latest(registry).decode()


def test_metrics_scrapes_give_counts_and_latency_verdict() -> None:
    """Two /metrics scrapes around a period: error and latency increases decide the verdict."""
    from prometheus_client import CollectorRegistry

    from flightlog.monitor.compare_metrics import samples_from_metrics
    from flightlog.monitor.metrics import ModelMonitor, PredictionStatus

    registry = CollectorRegistry()
    champion, challenger = (
        ModelMonitor("churn", "1", registry=registry),
        ModelMonitor("churn", "2", registry=registry),
    )
    champion.observe(5.0)  # before the period: must not count
    before = _scrape(registry)
    rng = np.random.default_rng(3)
    for latency in rng.lognormal(np.log(0.02), 0.3, 3_000):
        champion.observe(float(latency))
        challenger.observe(float(latency) * 3)
    for _ in range(30):
        challenger.observe(0.01, status=PredictionStatus.ERROR)
    for outcome in [True] * 90 + [False] * 10:
        champion.record_outcome(outcome)
    samples = samples_from_metrics(before, _scrape(registry), "churn")
    assert samples["1"].total == 3_000 and samples["1"].errors == 0
    assert samples["2"].total == 3_030 and samples["2"].errors == 30
    assert (samples["1"].correct, samples["1"].labelled) == (90, 100)
    assert samples["1"].latency_buckets[-1] == (float("inf"), 3_000.0)
    result = compare_models(samples["1"], samples["2"])
    p95 = next(metric for metric in result.metrics if metric.name == "latency_p95_seconds")
    assert p95.difference.low > 1.5 and p95.verdict is MetricVerdict.WORSE
    assert result.verdict is Verdict.ROLLBACK


def test_counter_reset_counts_the_value_after_the_reset() -> None:
    """A lower counter in the later scrape means a restart: its new value is the increase."""
    from flightlog.monitor.compare_metrics import samples_from_metrics

    before = 'ml_model_predictions_total{model="m",version="1",status="ok"} 500\n'
    after = 'ml_model_predictions_total{model="m",version="1",status="ok"} 40\n'
    assert samples_from_metrics(before, after, "m")["1"].total == 40


@pytest.mark.parametrize(
    ("after", "message"),
    [
        ("not { prometheus", "exposition format"),
        (
            'ml_model_predictions_total{model="x",version="1",status="ok"} 1\n',
            "no ml_model_predictions_total",
        ),
    ],
)
def test_bad_scrapes_are_rejected(after: str, message: str) -> None:
    """Garbage text and a scrape without the model are MonitorErrors that say what to check."""
    from flightlog.monitor.compare_metrics import samples_from_metrics

    with pytest.raises(MonitorError, match=message):
        samples_from_metrics("", after, "m")
