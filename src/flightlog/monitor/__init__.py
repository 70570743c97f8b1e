"""Model-serving monitoring: Prometheus metrics, SLIs and error budgets, drift, comparison.

Public names (imported lazily so ``import flightlog.monitor`` stays light):

- ``ModelMonitor`` (``flightlog.monitor.metrics``): prediction counters, latency
  histogram, accuracy/quality gauges, drift scores and freshness for one model version.
- ``ModelMonitorMiddleware`` (``flightlog.monitor.middleware``): ASGI middleware timing
  requests and binding ``X-Correlation-ID``.
- ``PredictionLogger`` (``flightlog.monitor.prediction_log``): sampled structured
  prediction logs through stdlib ``logging``.
- ``check_drift`` (any two data sets), ``detect_drift``, ``DriftConfig``, ``DriftReport`` (``flightlog.monitor.drift``), with
  samples from ``flightlog.monitor.samples`` and sources from ``flightlog.monitor.sources``.
- ``error_budget``, ``burn_rate`` and the SLI functions (``flightlog.monitor.slo``).
- ``alert_rules``, ``grafana_dashboard`` (``flightlog.monitor.exports``).
- ``compare_models`` (``flightlog.monitor.compare``): champion/challenger verdicts.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DriftConfig",
    "DriftReport",
    "ModelMonitor",
    "ModelMonitorMiddleware",
    "PredictionLogger",
    "alert_rules",
    "burn_rate",
    "check_drift",
    "compare_models",
    "detect_drift",
    "error_budget",
    "grafana_dashboard",
]

_HOMES = {
    "DriftConfig": "drift",
    "DriftReport": "drift",
    "detect_drift": "drift",
    "check_drift": "drift",
    "ModelMonitor": "metrics",
    "ModelMonitorMiddleware": "middleware",
    "PredictionLogger": "prediction_log",
    "alert_rules": "exports",
    "grafana_dashboard": "exports",
    "burn_rate": "slo",
    "error_budget": "slo",
    "compare_models": "compare",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'flightlog.monitor' has no attribute {name!r}")
    return getattr(importlib.import_module(f"flightlog.monitor.{home}"), name)
