"""Exported alert rules pass promtool and fire on the right series; the dashboard imports as is."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
import yaml

from flightlog.errors import MonitorError
from flightlog.monitor.exports import (
    ServingAlertThresholds,
    alert_rules,
    alert_rules_yaml,
    grafana_dashboard,
)
from flightlog.monitor.metrics import ModelMonitor

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)


def _promtool(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *arguments], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_alert_rules_pass_promtool_check(tmp_path: Path) -> None:
    """promtool check rules accepts the generated file."""
    (tmp_path / "rules.yml").write_text(alert_rules_yaml())
    result = _promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


UNHEALTHY_SERIES = [
    ('ml_model_predictions_total{model="m",version="1",status="ok"}', "0+95x80"),
    ('ml_model_predictions_total{model="m",version="1",status="error"}', "0+5x80"),
    ('ml_model_inference_duration_seconds_bucket{model="m",version="1",le="0.5"}', "0+10x80"),
    ('ml_model_inference_duration_seconds_bucket{model="m",version="1",le="1"}', "0+100x80"),
    ('ml_model_inference_duration_seconds_bucket{model="m",version="1",le="+Inf"}', "0+100x80"),
    ('ml_model_labelled_predictions_total{model="m",version="1",outcome="correct"}', "0+8x80"),
    ('ml_model_labelled_predictions_total{model="m",version="1",outcome="incorrect"}', "0+2x80"),
    ('ml_data_drift_score{model="m",feature="age"}', "0.3x80"),
    ('ml_data_drift_score{model="m",feature="country"}', "0.05x80"),
    ('ml_model_last_data_timestamp_seconds{model="m",version="1"}', "0x80"),
]

HEALTHY_SERIES = [
    ('ml_model_predictions_total{model="m",version="1",status="ok"}', "0+100x80"),
    ('ml_model_predictions_total{model="m",version="1",status="error"}', "0x80"),
    ('ml_model_inference_duration_seconds_bucket{model="m",version="1",le="0.1"}', "0+100x80"),
    ('ml_model_inference_duration_seconds_bucket{model="m",version="1",le="+Inf"}', "0+100x80"),
    ('ml_model_labelled_predictions_total{model="m",version="1",outcome="correct"}', "0+10x80"),
    ('ml_model_labelled_predictions_total{model="m",version="1",outcome="incorrect"}', "0x80"),
    ('ml_data_drift_score{model="m",feature="age"}', "0.05x80"),
    ('ml_model_last_data_timestamp_seconds{model="m",version="1"}', "0+60x80"),
]

MV = {"model": "m", "version": "1"}
EXPECTED_ALERTS = {
    "ModelErrorRatioHigh": (
        {**MV, "severity": "critical"},
        {
            "summary": "m v1 fails 5% of predictions",
            "description": "More than 1.00% of predictions ended with status=error over 5m.",
        },
    ),
    "ModelLatencyP95High": (
        {**MV, "severity": "warning"},
        {
            "summary": "p95 inference latency of m v1 is 972.2ms",
            "description": "The 5-minute p95 is above 0.5s.",
        },
    ),
    "ModelAccuracyBelowFloor": (
        {**MV, "severity": "warning"},
        {
            "summary": "Accuracy of m v1 is 80%",
            "description": "Labelled predictions over 1h are correct less than 90% of the time.",
        },
    ),
    "ModelFeatureDrift": (
        {"model": "m", "feature": "age", "severity": "warning"},
        {
            "summary": "Feature age of m drifted (PSI 0.3)",
            "description": "PSI at or above 0.2 means the feature's distribution moved markedly from the reference; run `flightlog drift` for all tests.",
        },
    ),
    "ModelDataStale": (
        {**MV, "severity": "warning"},
        {
            "summary": "m v1 served nothing for 1h 10m 0s",
            "description": "No prediction for more than 600s.",
        },
    ),
}


@needs_promtool
def test_alerts_fire_on_unhealthy_series_and_stay_quiet_on_healthy(tmp_path: Path) -> None:
    """promtool test rules: each alert fires once on its bad signal and none fires when healthy."""
    (tmp_path / "rules.yml").write_text(alert_rules_yaml())
    unhealthy = [
        {
            "eval_time": "70m",
            "alertname": name,
            "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}],
        }
        for name, (labels, annotations) in EXPECTED_ALERTS.items()
    ]
    healthy = [
        {"eval_time": "70m", "alertname": name, "exp_alerts": []} for name in EXPECTED_ALERTS
    ]
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in UNHEALTHY_SERIES],
                "alert_rule_test": unhealthy,
            },
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in HEALTHY_SERIES],
                "alert_rule_test": healthy,
            },
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = _promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_thresholds_are_validated() -> None:
    """An accuracy floor given in percent is rejected by name."""
    with pytest.raises(MonitorError, match="accuracy_floor"):
        alert_rules(ServingAlertThresholds(accuracy_floor=90))


def test_rules_use_only_exported_metric_names() -> None:
    """Every ml_* name in the rules is a series ModelMonitor really exposes."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    monitor = ModelMonitor("m", "1", registry=registry)
    monitor.observe(0.01)
    monitor.record_outcome(True)
    monitor.set_drift({"age": 0.1})
    exposed = set(re.findall(r"^(ml_[a-z_]+)", generate_latest(registry).decode(), re.MULTILINE))
    text = alert_rules_yaml() + orjson.dumps(grafana_dashboard()).decode()
    used = {name for name in re.findall(r"\b(ml_[a-z_]+)(?![a-z_:])", text)}
    assert used <= exposed, used - exposed


def test_dashboard_structure_is_importable() -> None:
    """schemaVersion, unique panel ids, gridPos, targets with refIds, a datasource variable."""
    dashboard = orjson.loads(orjson.dumps(grafana_dashboard()))
    assert dashboard["schemaVersion"] >= 36 and dashboard["uid"]
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource"
        and variables["datasource"]["query"] == "prometheus"
    )
    assert {"model", "version"} <= set(variables)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) == 6
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in ("prediction rate", "latency", "error ratio", "accuracy", "drift"):
        assert topic in titles
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"] and all(
            target["refId"] and target["expr"] for target in panel["targets"]
        )


@needs_promtool
def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Every panel query, with Grafana variables filled in, parses in promtool."""
    rules = []
    for panel in grafana_dashboard()["panels"]:
        for target in panel["targets"]:
            expr = (
                target["expr"]
                .replace("$__rate_interval", "5m")
                .replace("$model", ".*")
                .replace("$version", ".*")
            )
            rules.append(
                {"record": f"dashboard:panel{panel['id']}:{target['refId']}", "expr": expr}
            )
    (tmp_path / "dashboard.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})
    )
    result = _promtool("check", "rules", "dashboard.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_module_prints_rules_and_dashboard(capsys) -> None:  # type: ignore[no-untyped-def]
    """python -m flightlog.monitor.exports prints either file; anything else is usage + exit 2."""
    from flightlog.monitor.exports import main

    assert main(["rules"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["groups"][0]["name"] == "flightlog-model-serving"
    assert main(["dashboard"]) == 0
    assert orjson.loads(capsys.readouterr().out)["schemaVersion"] == 39
    assert main(["nonsense"]) == 2
    assert "usage" in capsys.readouterr().err
