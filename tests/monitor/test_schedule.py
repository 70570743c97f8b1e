"""Scheduled drift checks: config validation, results kept and exported, errors recorded."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from flightlog.errors import ConfigError
from flightlog.monitor.schedule import DriftScheduler, parse_drift_checks

S = 1_000_000_000
NOW = 1_795_000_000 * S


def _records(mean: float, rows: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [{"features": {"age": float(age), "country": "DE"}} for age in rng.normal(mean, 5, rows)]


class _LogWindows:
    """Records by time window, as the server's query engine would return them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int, str]] = []

    def __call__(self, query: str, start_ns: int, end_ns: int, tenant: str) -> list[dict[str, Any]]:
        self.calls.append((query, start_ns, end_ns, tenant))
        return _records(30.0, 2_000, 1) if end_ns <= NOW - 3_600 * S else _records(45.0, 2_000, 2)


def test_parse_drift_checks_reads_durations_and_times() -> None:
    """Durations and RFC 3339 reference windows become seconds and nanoseconds."""
    (check,) = parse_drift_checks(
        {
            "drift_checks": [
                {
                    "model": "churn",
                    "query": '{service="m"}',
                    "reference_start": "2026-11-01T00:00:00Z",
                    "reference_end": "2026-11-02T00:00:00Z",
                    "window": "30m",
                    "interval": "5m",
                    "categorical": ["country"],
                }
            ]
        }
    )
    assert check.window_secs == 1_800 and check.interval_secs == 300
    assert check.reference_end_ns - check.reference_start_ns == 86_400 * S
    assert check.categorical == ("country",)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"drift_checks": [{"query": '{a="b"}', "reference_file": "r.csv"}]}, "model"),
        ({"drift_checks": [{"model": "m", "query": '{a="b"}'}]}, "either reference_file"),
        (
            {
                "drift_checks": [
                    {"model": "m", "query": "q", "reference_file": "r", "window": "soon"}
                ]
            },
            "duration",
        ),
        (
            {"drift_checks": [{"model": "m", "query": "q", "reference_file": "r", "colour": 1}]},
            "unknown key",
        ),
        (
            {
                "drift_checks": [
                    {
                        "model": "m",
                        "query": "q",
                        "reference_start": "yesterday",
                        "reference_end": "today",
                    }
                ]
            },
            "not a time",
        ),
        ({"drift_checks": "all"}, "list"),
    ],
)
def test_bad_config_names_entry_and_fix(section: Any, message: str) -> None:
    """Each invalid entry is a ConfigError pointing at monitor.drift_checks[i]."""
    with pytest.raises(ConfigError, match=message):
        parse_drift_checks(section)


def test_check_stores_result_exports_scores_and_caches_reference(tmp_path: Path) -> None:
    """A drifted window is kept, written as JSON, exported as PSI; the reference is read once."""
    (check,) = parse_drift_checks(
        {
            "drift_checks": [
                {
                    "model": "churn",
                    "query": '{s="m"}',
                    "reference_start": NOW - 7_200 * S,
                    "reference_end": NOW - 3_600 * S,
                    "window": "1h",
                }
            ]
        }
    )
    windows = _LogWindows()
    registry = CollectorRegistry()
    scheduler = DriftScheduler(
        [check], windows, registry, results_dir=tmp_path, clock_ns=lambda: NOW
    )
    result = scheduler.run_check(check)
    scheduler.run_check(check)
    assert result.report is not None and result.report.drifted == ["age"]
    assert len(windows.calls) == 3  # reference once, current twice
    assert windows.calls[1][1:] == (NOW - 3_600 * S, NOW, "default")
    assert (
        registry.get_sample_value("ml_data_drift_score", {"model": "churn", "feature": "age"}) > 0.2
    )
    assert (
        registry.get_sample_value(
            "flightlog_drift_checks_total", {"model": "churn", "outcome": "drift"}
        )
        == 2
    )
    stored = json.loads((tmp_path / "churn.json").read_text())
    assert stored["drifted"] == ["age"] and stored["model"] == "churn"
    assert scheduler.latest()["churn"] is not None


def test_a_new_scheduler_shows_the_results_stored_by_the_last_one(tmp_path: Path) -> None:
    """After a restart the latest stored result is served until the next run replaces it;
    a damaged file is skipped, not fatal."""
    checks = parse_drift_checks(
        {
            "drift_checks": [
                {
                    "model": name,
                    "query": '{s="m"}',
                    "reference_start": NOW - 7_200 * S,
                    "reference_end": NOW - 3_600 * S,
                }
                for name in ("churn", "fraud")
            ]
        }
    )
    first = DriftScheduler(
        checks, _LogWindows(), CollectorRegistry(), results_dir=tmp_path, clock_ns=lambda: NOW
    )
    first.run_check(checks[0])
    (tmp_path / "fraud.json").write_text("{not json")
    later = DriftScheduler(
        checks, _LogWindows(), CollectorRegistry(), results_dir=tmp_path, clock_ns=lambda: NOW + S
    )
    assert later.latest() == {}
    (stored,) = later.latest_dicts().values()
    assert stored["model"] == "churn" and stored["checked_at_ns"] == str(NOW)
    assert stored["drifted"] == ["age"]
    later.run_check(checks[0])
    assert later.latest_dicts()["churn"]["checked_at_ns"] == str(NOW + S)


def test_failing_check_records_error_instead_of_raising(tmp_path: Path) -> None:
    """A missing reference file is an error result and an error count, not an exception."""
    (check,) = parse_drift_checks(
        {
            "drift_checks": [
                {"model": "m", "query": "q", "reference_file": str(tmp_path / "nope.parquet")}
            ]
        }
    )
    registry = CollectorRegistry()
    scheduler = DriftScheduler([check], _LogWindows(), registry, clock_ns=lambda: NOW)
    result = scheduler.run_check(check)
    assert result.report is None and "no such file" in (result.error or "")
    assert (
        registry.get_sample_value(
            "flightlog_drift_checks_total", {"model": "m", "outcome": "error"}
        )
        == 1
    )


def test_results_are_handed_on_and_become_log_events(tmp_path: Path) -> None:
    """on_result sees every result; drift_events makes one event per feature."""
    from flightlog.monitor.schedule import drift_events

    (check,) = parse_drift_checks(
        {
            "drift_checks": [
                {
                    "model": "churn",
                    "query": "q",
                    "reference_start": NOW - 7_200 * S,
                    "reference_end": NOW - 3_600 * S,
                }
            ]
        }
    )
    seen = []
    scheduler = DriftScheduler(
        [check], _LogWindows(), CollectorRegistry(), clock_ns=lambda: NOW, on_result=seen.append
    )
    result = scheduler.run_check(check)
    assert seen == [result]
    events = {event["feature"]: event for event in drift_events(result)}
    assert events["age"]["drift"] is True and events["age"]["psi"] > 0.2
    assert events["country"]["severity"] == "none"
    json.dumps(list(events.values()))  # JSON-able as logged


def _slightly_shifted(query: str, start_ns: int, end_ns: int, tenant: str) -> list[dict[str, Any]]:
    """Reference ages around 30, current around 31: below every default alert level."""
    return _records(30.0, 2_000, 1) if end_ns <= NOW - 3_600 * S else _records(31.0, 2_000, 2)


def _check_with(**thresholds: Any) -> Any:
    entry = {
        "model": "churn",
        "query": "q",
        "reference_start": NOW - 7_200 * S,
        "reference_end": NOW - 3_600 * S,
        **thresholds,
    }
    (check,) = parse_drift_checks({"drift_checks": [entry]})
    return check


@pytest.mark.parametrize(
    ("thresholds", "drifted"),
    [
        ({}, []),
        ({"psi_warning": 0.01, "psi_alert": 0.02}, ["age"]),
        ({"small_sample_max_rows": 5_000}, ["age"]),
        ({"small_sample_max_rows": 5_000, "p_value_alpha": 1e-30}, []),
    ],
    ids=["defaults", "lower-psi-alert", "ks-decides", "ks-stricter-alpha"],
)
def test_thresholds_in_the_config_decide_the_check(thresholds: Any, drifted: list[str]) -> None:
    """psi_warning/psi_alert, small_sample_max_rows and p_value_alpha of an entry are used."""
    check = _check_with(**thresholds)
    scheduler = DriftScheduler(
        [check], _slightly_shifted, CollectorRegistry(), clock_ns=lambda: NOW
    )
    report = scheduler.run_check(check).report
    assert report is not None and report.drifted == drifted


def test_psi_bins_reach_the_drift_config() -> None:
    """psi_bins is carried into the check's frozen DriftConfig."""
    check = _check_with(psi_bins=20, psi_warning=0.15, psi_alert=0.3)
    assert (check.drift.psi_bins, check.drift.psi_warning, check.drift.psi_alert) == (20, 0.15, 0.3)


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"psi_alert": 0.05}, "monitor.drift_checks.0.psi_alert = 0.05: must be at least"),
        ({"psi_bins": 1}, "monitor.drift_checks.0.psi_bins = 1"),
        ({"p_value_alpha": 1.5}, "monitor.drift_checks.0.p_value_alpha = 1.5"),
        ({"small_sample_max_rows": 0}, "monitor.drift_checks.0.small_sample_max_rows = 0"),
        ({"psi_warning": "high"}, "monitor.drift_checks.0.psi_warning = 'high'"),
    ],
)
def test_bad_thresholds_name_the_key(thresholds: Any, message: str) -> None:
    """A bad threshold is a ConfigError naming monitor.drift_checks.<i>.<key> and its value."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        _check_with(**thresholds)
