"""Prometheus alert rules and a Grafana dashboard for the metrics ``ModelMonitor`` exports.

``alert_rules(thresholds)`` returns a Prometheus rule file (as a dict; ``alert_rules_yaml``
as text) that ``promtool check rules`` accepts:

- ``ModelLatencyP95High``: p95 of ``ml_model_inference_duration_seconds`` over 5 m above
  the threshold;
- ``ModelErrorRatioHigh``: share of ``status="error"`` predictions over 5 m;
- ``ModelAccuracyBelowFloor``: accuracy from ``ml_model_labelled_predictions_total``
  (exact across worker processes, unlike the per-process rolling gauge) over 1 h;
- ``ModelFeatureDrift``: ``ml_data_drift_score`` (PSI) at or above the alert level;
- ``ModelDataStale``: no prediction for longer than the freshness limit.

``grafana_dashboard()`` returns dashboard JSON importable as is: a ``datasource``
variable (any Prometheus), ``model`` and ``version`` variables from the metrics, and
panels for prediction rate, latency percentiles, error ratio, accuracy, drift and freshness.

Both take ``models`` to cover only some model names. On the command line:
``flightlog monitor export-rules [--model churn]`` and ``flightlog monitor export-dashboard``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from flightlog.errors import MonitorError

__all__ = [
    "ServingAlertThresholds",
    "alert_rules",
    "alert_rules_yaml",
    "grafana_dashboard",
    "model_matcher",
]

_BY = "model, version"


@dataclass(frozen=True, slots=True)
class ServingAlertThresholds:
    """Alert levels; option names carry their units."""

    latency_p95_seconds: float = 0.5
    error_ratio: float = 0.01
    accuracy_floor: float = 0.9
    drift_psi: float = 0.2
    stale_data_seconds: float = 600.0
    latency_for: str = "10m"
    error_for: str = "5m"
    accuracy_for: str = "30m"
    drift_for: str = "15m"
    group_name: str = "flightlog-model-serving"
    runbook_url: str = ""

    def validate(self) -> ServingAlertThresholds:
        if self.latency_p95_seconds <= 0:
            raise MonitorError(f"latency_p95_seconds={self.latency_p95_seconds}: must be > 0")
        for name in ("error_ratio", "accuracy_floor"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise MonitorError(f"{name}={value}: must be a ratio in (0, 1)")
        if self.drift_psi <= 0 or self.stale_data_seconds <= 0:
            raise MonitorError("drift_psi and stale_data_seconds must be > 0")
        return self


def model_matcher(models: Sequence[str]) -> str:
    """The PromQL label matcher for ``models`` (``model="a"``, ``model=~"a|b"``); "" for all."""
    names = list(dict.fromkeys(models))
    for name in names:
        if not name:
            raise MonitorError("a model name to filter on must be non-empty")
    if not names:
        return ""
    if len(names) == 1:
        return f'model="{_promql_string(names[0])}"'
    return f'model=~"{_promql_string("|".join(re.escape(name) for name in names))}"'


def _promql_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _selector(matchers: str, extra: str = "") -> str:
    inside = ", ".join(part for part in (matchers, extra) if part)
    return f"{{{inside}}}" if inside else ""


def alert_rules(
    thresholds: ServingAlertThresholds | None = None, models: Sequence[str] = ()
) -> dict[str, Any]:
    """A Prometheus rule file with one group of recording and alerting rules.

    ``models`` limits every rule to those model names (all models when empty).
    """
    limits = (thresholds or ServingAlertThresholds()).validate()
    only = model_matcher(models)
    everything = _selector(only)
    errors = _selector(only, 'status="error"')
    correct = _selector(only, 'outcome="correct"')
    p95 = "ml_model:inference_duration_seconds:p95_5m"
    error_ratio = "ml_model:predictions:error_ratio_5m"
    accuracy = "ml_model:accuracy:ratio_1h"
    annotations_extra = {"runbook_url": limits.runbook_url} if limits.runbook_url else {}
    rules: list[dict[str, Any]] = [
        {
            "record": p95,
            "expr": (
                f"histogram_quantile(0.95, sum by ({_BY}, le) "
                f"(rate(ml_model_inference_duration_seconds_bucket{everything}[5m])))"
            ),
        },
        {
            "record": error_ratio,
            "expr": (
                f"sum by ({_BY}) (rate(ml_model_predictions_total{errors}[5m]))"
                f" / sum by ({_BY}) (rate(ml_model_predictions_total{everything}[5m]))"
            ),
        },
        {
            "record": accuracy,
            "expr": (
                f"sum by ({_BY}) (rate(ml_model_labelled_predictions_total{correct}[1h]))"
                f" / sum by ({_BY}) (rate(ml_model_labelled_predictions_total{everything}[1h]))"
            ),
        },
        _alert(
            "ModelLatencyP95High",
            f"{p95} > {limits.latency_p95_seconds:g}",
            limits.latency_for,
            "warning",
            "p95 inference latency of {{ $labels.model }} v{{ $labels.version }} is "
            "{{ $value | humanizeDuration }}",
            f"The 5-minute p95 is above {limits.latency_p95_seconds:g}s.",
            annotations_extra,
        ),
        _alert(
            "ModelErrorRatioHigh",
            f"{error_ratio} > {limits.error_ratio:g}",
            limits.error_for,
            "critical",
            "{{ $labels.model }} v{{ $labels.version }} fails {{ $value | humanizePercentage }} "
            "of predictions",
            f"More than {limits.error_ratio:.2%} of predictions ended with status=error over 5m.",
            annotations_extra,
        ),
        _alert(
            "ModelAccuracyBelowFloor",
            f"{accuracy} < {limits.accuracy_floor:g}",
            limits.accuracy_for,
            "warning",
            "Accuracy of {{ $labels.model }} v{{ $labels.version }} is "
            "{{ $value | humanizePercentage }}",
            f"Labelled predictions over 1h are correct less than {limits.accuracy_floor:.0%} "
            "of the time.",
            annotations_extra,
        ),
        _alert(
            "ModelFeatureDrift",
            f"ml_data_drift_score{everything} >= {limits.drift_psi:g}",
            limits.drift_for,
            "warning",
            "Feature {{ $labels.feature }} of {{ $labels.model }} drifted (PSI {{ $value }})",
            f"PSI at or above {limits.drift_psi:g} means the feature's distribution moved "
            "markedly from the reference; run `flightlog drift` for all tests.",
            annotations_extra,
        ),
        _alert(
            "ModelDataStale",
            f"time() - ml_model_last_data_timestamp_seconds{everything}"
            f" > {limits.stale_data_seconds:g}",
            "0m",
            "warning",
            "{{ $labels.model }} v{{ $labels.version }} served nothing for "
            "{{ $value | humanizeDuration }}",
            f"No prediction for more than {limits.stale_data_seconds:g}s.",
            annotations_extra,
        ),
    ]
    return {"groups": [{"name": limits.group_name, "rules": rules}]}


def alert_rules_yaml(
    thresholds: ServingAlertThresholds | None = None, models: Sequence[str] = ()
) -> str:
    return yaml.safe_dump(alert_rules(thresholds, models), sort_keys=False, width=1000)


def _alert(
    name: str,
    expr: str,
    for_duration: str,
    severity: str,
    summary: str,
    description: str,
    extra: dict[str, str],
) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_duration != "0m":
        rule["for"] = for_duration
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "description": description, **extra}
    return rule


_SELECTOR = 'model=~"$model", version=~"$version"'


def grafana_dashboard(
    title: str = "ML model serving",
    uid: str = "flightlog-model-serving",
    models: Sequence[str] = (),
) -> dict[str, Any]:
    """Grafana dashboard JSON (schemaVersion 39) over any Prometheus data source.

    ``models`` limits the ``model`` variable's choices to those model names.
    """
    datasource = {"type": "prometheus", "uid": "${datasource}"}
    only = _selector(model_matcher(models))
    panels = [
        _panel(
            1,
            "Prediction rate",
            "timeseries",
            "reqps",
            (0, 0),
            [
                (
                    f"sum by ({_BY}, status) (rate(ml_model_predictions_total{{{_SELECTOR}}}[$__rate_interval]))",
                    "{{model}} v{{version}} {{status}}",
                )
            ],
        ),
        _panel(
            2,
            "Inference latency percentiles",
            "timeseries",
            "s",
            (12, 0),
            [
                (
                    f"histogram_quantile({q}, sum by ({_BY}, le) (rate(ml_model_inference_duration_seconds_bucket{{{_SELECTOR}}}[$__rate_interval])))",
                    f"p{round(q * 100)} {{{{model}}}} v{{{{version}}}}",
                )
                for q in (0.5, 0.95, 0.99)
            ],
        ),
        _panel(
            3,
            "Error ratio",
            "timeseries",
            "percentunit",
            (0, 8),
            [
                (
                    f'sum by ({_BY}) (rate(ml_model_predictions_total{{{_SELECTOR}, status="error"}}[$__rate_interval]))'
                    f" / sum by ({_BY}) (rate(ml_model_predictions_total{{{_SELECTOR}}}[$__rate_interval]))",
                    "{{model}} v{{version}}",
                )
            ],
        ),
        _panel(
            4,
            "Accuracy (labelled predictions)",
            "timeseries",
            "percentunit",
            (12, 8),
            [
                (f"ml_model_accuracy{{{_SELECTOR}}}", "rolling {{model}} v{{version}}"),
                (
                    f'sum by ({_BY}) (rate(ml_model_labelled_predictions_total{{{_SELECTOR}, outcome="correct"}}[1h]))'
                    f" / sum by ({_BY}) (rate(ml_model_labelled_predictions_total{{{_SELECTOR}}}[1h]))",
                    "1h {{model}} v{{version}}",
                ),
            ],
        ),
        _panel(
            5,
            "Data drift (PSI per feature)",
            "timeseries",
            "none",
            (0, 16),
            [('ml_data_drift_score{model=~"$model"}', "{{model}} {{feature}}")],
        ),
        _panel(
            6,
            "Seconds since last prediction",
            "stat",
            "s",
            (12, 16),
            [
                (
                    f"time() - ml_model_last_data_timestamp_seconds{{{_SELECTOR}}}",
                    "{{model}} v{{version}}",
                )
            ],
        ),
    ]
    for panel in panels:
        panel["datasource"] = datasource
        for target in panel["targets"]:
            target["datasource"] = datasource
    return {
        "uid": uid,
        "title": title,
        "tags": ["flightlog", "ml-serving"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                },
                _query_variable(
                    "model", f"label_values(ml_model_predictions_total{only}, model)", datasource
                ),
                _query_variable(
                    "version",
                    'label_values(ml_model_predictions_total{model=~"$model"}, version)',
                    datasource,
                ),
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def _panel(
    panel_id: int,
    title: str,
    panel_type: str,
    unit: str,
    position: tuple[int, int],
    queries: list[tuple[str, str]],
) -> dict[str, Any]:
    return {
        "id": panel_id,
        "title": title,
        "type": panel_type,
        "gridPos": {"x": position[0], "y": position[1], "w": 12, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [
            {"refId": chr(ord("A") + index), "expr": expr, "legendFormat": legend}
            for index, (expr, legend) in enumerate(queries)
        ],
    }


def _query_variable(name: str, query: str, datasource: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": datasource,
        "query": {"query": query, "refId": f"{name}-variable"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {},
        "hide": 0,
        "sort": 1,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m flightlog.monitor.exports rules|dashboard``: print the file to stdout."""
    import sys

    import orjson

    arguments = sys.argv[1:] if argv is None else argv
    if arguments == ["rules"]:
        sys.stdout.write(alert_rules_yaml())
        return 0
    if arguments == ["dashboard"]:
        sys.stdout.write(
            orjson.dumps(grafana_dashboard(), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        return 0
    sys.stderr.write("usage: python -m flightlog.monitor.exports rules|dashboard\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
