"""Scheduled drift checks: per model, the latest window of logged predictions vs a reference.

Configured in the ``monitor`` section of ``flightlog.yaml``::

    monitor:
      drift_checks:
        - model: churn
          query: '{service="churn-model"}'     # log query whose lines are prediction events
          reference_file: /srv/churn/reference.parquet
          # or a fixed window of logged predictions:
          # reference_start: "2026-11-01T00:00:00Z"
          # reference_end: "2026-11-02T00:00:00Z"
          window: 1h                            # current window length
          interval: 15m                         # how often the check runs
          categorical: [country]
          tenant: default

``DriftScheduler.run_check`` fetches records through an injected function (the server
passes one backed by its query engine), keeps the latest ``DriftReport`` per model in
memory and as JSON under ``results_dir``, and publishes ``ml_data_drift_score{model,feature}``
(PSI) plus ``flightlog_drift_checks_total{model,outcome}`` on the given registry.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge

from flightlog.errors import ConfigError, MonitorError
from flightlog.monitor import samples, sources
from flightlog.monitor.drift import DriftConfig, DriftReport, detect_drift

__all__ = [
    "DRIFT_EVENT",
    "DriftCheckConfig",
    "DriftCheckResult",
    "DriftScheduler",
    "FetchRecords",
    "drift_events",
    "parse_drift_checks",
]

DRIFT_EVENT = "drift_check"

FetchRecords = Callable[[str, int, int, str], list[dict[str, Any]]]
"""(log query, start_ns, end_ns, tenant) -> JSON records, oldest first."""

_NS = 1_000_000_000
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$")
_UNIT_SECS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_KEYS = {
    "model", "query", "reference_file", "reference_start", "reference_end", "window",
    "interval", "categorical", "tenant",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DriftCheckConfig:
    model: str
    query: str
    reference_file: Path | None = None
    reference_start_ns: int | None = None
    reference_end_ns: int | None = None
    window_secs: float = 3600.0
    interval_secs: float = 900.0
    categorical: tuple[str, ...] = ()
    tenant: str = "default"


@dataclass(frozen=True, slots=True)
class DriftCheckResult:
    model: str
    checked_at_ns: int
    window_start_ns: int
    window_end_ns: int
    report: DriftReport | None
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "checked_at_ns": str(self.checked_at_ns),
            "window": {"start_ns": str(self.window_start_ns), "end_ns": str(self.window_end_ns)},
            "error": self.error,
            **(
                self.report.to_dict()
                if self.report is not None
                else {"features": [], "drifted": []}
            ),
        }


def parse_drift_checks(section: Any) -> tuple[DriftCheckConfig, ...]:
    """The ``monitor.drift_checks`` list, validated; ConfigError names the bad entry."""
    if section is None:
        return ()
    if not isinstance(section, Mapping):
        raise ConfigError("monitor: must be a mapping with a 'drift_checks' list")
    raw_checks = section.get("drift_checks", [])
    if not isinstance(raw_checks, list):
        raise ConfigError("monitor.drift_checks: must be a list of checks")
    checks = []
    models: set[str] = set()
    for index, raw in enumerate(raw_checks):
        where = f"monitor.drift_checks[{index}]"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: must be a mapping")
        unknown = set(raw) - _KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}")
        for key in ("model", "query"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ConfigError(f"{where}.{key}: required, a non-empty string")
        if raw["model"] in models:
            raise ConfigError(f"{where}.model: {raw['model']!r} is configured twice")
        models.add(raw["model"])
        has_file = raw.get("reference_file") is not None
        has_window = raw.get("reference_start") is not None or raw.get("reference_end") is not None
        if has_file == has_window:
            raise ConfigError(
                f"{where}: give either reference_file or reference_start + reference_end"
            )
        start_ns = end_ns = None
        if has_window:
            start_ns = _time_ns(raw.get("reference_start"), f"{where}.reference_start")
            end_ns = _time_ns(raw.get("reference_end"), f"{where}.reference_end")
            if start_ns >= end_ns:
                raise ConfigError(f"{where}: reference_start must be before reference_end")
        categorical = raw.get("categorical", [])
        if not isinstance(categorical, list) or not all(isinstance(c, str) for c in categorical):
            raise ConfigError(f"{where}.categorical: must be a list of feature names")
        checks.append(
            DriftCheckConfig(
                model=raw["model"],
                query=raw["query"],
                reference_file=Path(raw["reference_file"]) if has_file else None,
                reference_start_ns=start_ns,
                reference_end_ns=end_ns,
                window_secs=_duration(raw.get("window", "1h"), f"{where}.window"),
                interval_secs=_duration(raw.get("interval", "15m"), f"{where}.interval"),
                categorical=tuple(categorical),
                tenant=str(raw.get("tenant", "default")),
            )
        )
    return tuple(checks)


@dataclass
class DriftScheduler:
    """Runs drift checks and keeps their latest results; thread-safe."""

    checks: Sequence[DriftCheckConfig]
    fetch_records: FetchRecords
    registry: CollectorRegistry
    results_dir: Path | None = None
    clock_ns: Callable[[], int] = time.time_ns
    drift_config: DriftConfig = field(default_factory=DriftConfig)
    on_result: Callable[[DriftCheckResult], None] | None = None
    """Called after every check (the server logs each result so LogQL rules can alert)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, DriftCheckResult] = {}
        self._references: dict[str, dict[str, samples.FeatureSample]] = {}
        self._score = Gauge(
            "ml_data_drift_score",
            "Drift score (PSI) of a feature against the reference data.",
            ["model", "feature"],
            registry=self.registry,
        )
        self._runs = Counter(
            "flightlog_drift_checks",
            "Scheduled drift checks run, by outcome (ok, drift, error).",
            ["model", "outcome"],
            registry=self.registry,
        )

    def latest(self) -> dict[str, DriftCheckResult]:
        with self._lock:
            return dict(self._latest)

    def run_check(self, check: DriftCheckConfig) -> DriftCheckResult:
        """Run one check now; errors are recorded in the result, never raised."""
        end_ns = self.clock_ns()
        start_ns = end_ns - int(check.window_secs * _NS)
        try:
            reference = self._reference(check)
            records = self.fetch_records(check.query, start_ns, end_ns, check.tenant)
            current = samples.samples_like(reference, sources.columns_from_records(records))
            report = detect_drift(reference, current, self.drift_config)
            result = DriftCheckResult(check.model, end_ns, start_ns, end_ns, report)
            for feature in report.features:
                if not math.isnan(feature.score):
                    self._score.labels(check.model, feature.name).set(feature.score)
            self._runs.labels(check.model, "drift" if report.drifted else "ok").inc()
        except MonitorError as error:
            result = DriftCheckResult(check.model, end_ns, start_ns, end_ns, None, str(error))
            self._runs.labels(check.model, "error").inc()
        with self._lock:
            self._latest[check.model] = result
        self._store(result)
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _reference(self, check: DriftCheckConfig) -> dict[str, samples.FeatureSample]:
        cached = self._references.get(check.model)
        if cached is not None:
            return cached
        if check.reference_file is not None:
            columns = sources.read_table(check.reference_file)
        else:
            assert check.reference_start_ns is not None and check.reference_end_ns is not None
            records = self.fetch_records(
                check.query, check.reference_start_ns, check.reference_end_ns, check.tenant
            )
            columns = sources.columns_from_records(records)
        profiled = samples.profile(columns, check.categorical)
        self._references[check.model] = profiled
        return profiled

    def _store(self, result: DriftCheckResult) -> None:
        if self.results_dir is None:
            return
        self.results_dir.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", result.model)
        target = self.results_dir / f"{safe}.json"
        temporary = target.with_suffix(".json.tmp")
        temporary.write_bytes(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2))
        os.replace(temporary, target)


def _duration(value: Any, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match and float(match.group(1)) > 0:
            return float(match.group(1)) * _UNIT_SECS[match.group(2)]
    raise ConfigError(f"{where}: {value!r} is not a duration; write e.g. 15m, 1h or 3600")


def _time_ns(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):  # YAML parses unquoted timestamps itself
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return int(moment.timestamp() * _NS)
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
            return int(moment.timestamp() * _NS)
    raise ConfigError(f"{where}: {value!r} is not a time; write RFC 3339 (2026-11-01T00:00:00Z)")


def drift_events(result: DriftCheckResult) -> list[dict[str, object]]:
    """One JSON-able log event per feature of a check (or one carrying the error).

    Logged under ``{service="flightlog-monitor", model=...}``, they make drift alertable
    by the ruler, e.g. ``max by (model, feature) (max_over_time({service="flightlog-monitor"}
    | json | event="drift_check" | unwrap psi [30m])) >= 0.2``.
    """
    if result.report is None:
        return [{"event": DRIFT_EVENT, "model": result.model, "error": result.error}]
    return [
        {
            "event": DRIFT_EVENT,
            "model": result.model,
            "feature": feature.name,
            "kind": str(feature.kind),
            "psi": None if math.isnan(feature.score) else feature.score,
            "severity": str(feature.severity),
            "drift": feature.drift,
        }
        for feature in result.report.features
    ]
