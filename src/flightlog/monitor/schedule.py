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
          tenant: default                       # the tenant whose logs are read and written
          # thresholds of the drift rule (flightlog.monitor.drift_settings), defaults shown:
          psi_warning: 0.1
          psi_alert: 0.2
          p_value_alpha: 0.05                   # KS / chi-square
          psi_bins: 10
          small_sample_max_rows: 1000

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
import pydantic
from prometheus_client import CollectorRegistry, Counter, Gauge

from flightlog.config import parse_duration_secs
from flightlog.errors import ConfigError, MonitorError
from flightlog.monitor import samples, sources
from flightlog.monitor.drift import DriftConfig, DriftReport, detect_drift
from flightlog.monitor.drift_settings import DriftSettings

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
    drift: DriftConfig = field(default_factory=DriftConfig)
    """Thresholds of this check's drift rule (``flightlog.monitor.drift_settings``)."""


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
    """The ``monitor.drift_checks`` list, validated; ConfigError names the bad key."""
    from flightlog.config import config_error

    if section is None:
        return ()
    try:
        parsed = _MonitorSection.model_validate(section)
    except pydantic.ValidationError as error:
        raise config_error(error, prefix="monitor") from None
    checks = []
    models: set[str] = set()
    for index, entry in enumerate(parsed.drift_checks):
        where = f"monitor.drift_checks.{index}"
        if entry.model in models:
            raise ConfigError(f"{where}.model: {entry.model!r} is configured twice")
        models.add(entry.model)
        checks.append(
            DriftCheckConfig(
                model=entry.model,
                query=entry.query,
                reference_file=entry.reference_file,
                reference_start_ns=entry.reference_start,
                reference_end_ns=entry.reference_end,
                window_secs=entry.window,
                interval_secs=entry.interval,
                categorical=tuple(entry.categorical),
                tenant=entry.tenant,
                drift=entry.to_drift_config(),
            )
        )
    return tuple(checks)


def _time_ns(value: Any) -> int:
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
    raise ValueError("is not a time; write RFC 3339 (2026-11-01T00:00:00Z) or unix ns")


_Seconds = Annotated[float, pydantic.BeforeValidator(parse_duration_secs)]
_TimeNs = Annotated[int, pydantic.BeforeValidator(_time_ns)]


class _DriftCheckEntry(DriftSettings):
    """One ``monitor.drift_checks`` entry: what to compare, how often, and the thresholds."""

    model: str = pydantic.Field(min_length=1)
    query: str = pydantic.Field(min_length=1)
    reference_file: Path | None = None
    reference_start: _TimeNs | None = None
    reference_end: _TimeNs | None = None
    window: _Seconds = 3600.0
    interval: _Seconds = 900.0
    categorical: list[str] = []
    tenant: str = pydantic.Field("default", min_length=1)

    @pydantic.model_validator(mode="after")
    def _one_reference(self) -> _DriftCheckEntry:
        has_window = self.reference_start is not None or self.reference_end is not None
        if (self.reference_file is not None) == has_window:
            raise ValueError("give either reference_file or reference_start + reference_end")
        if has_window:
            if self.reference_start is None or self.reference_end is None:
                raise ValueError("a reference window needs both reference_start and reference_end")
            if self.reference_start >= self.reference_end:
                raise ValueError("reference_start must be before reference_end")
        return self


class _MonitorSection(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    drift_checks: list[_DriftCheckEntry] = []


@dataclass
class DriftScheduler:
    """Runs drift checks and keeps their latest results; thread-safe."""

    checks: Sequence[DriftCheckConfig]
    fetch_records: FetchRecords
    registry: CollectorRegistry
    results_dir: Path | None = None
    clock_ns: Callable[[], int] = time.time_ns
    on_result: Callable[[DriftCheckResult], None] | None = None
    """Called after every check (the server logs each result so LogQL rules can alert)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, DriftCheckResult] = {}
        self._stored = self._load_stored()
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

    def latest_dicts(self) -> dict[str, dict[str, object]]:
        """Latest result per model as JSON-able dicts: this process's, else the one stored
        by an earlier run (so a restart does not hide results until the next interval)."""
        with self._lock:
            fresh = {model: result.to_dict() for model, result in self._latest.items()}
        return {**self._stored, **fresh}

    def _load_stored(self) -> dict[str, dict[str, object]]:
        stored: dict[str, dict[str, object]] = {}
        if self.results_dir is None:
            return stored
        for check in self.checks:
            path = self._result_path(check.model)
            try:
                loaded = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue  # none yet, or damaged: the next run writes a new one
            if isinstance(loaded, dict) and loaded.get("model") == check.model:
                stored[check.model] = loaded
        return stored

    def _result_path(self, model: str) -> Path:
        assert self.results_dir is not None
        return self.results_dir / f"{re.sub(r'[^A-Za-z0-9._-]', '_', model)}.json"

    def run_check(self, check: DriftCheckConfig) -> DriftCheckResult:
        """Run one check now; errors are recorded in the result, never raised."""
        end_ns = self.clock_ns()
        start_ns = end_ns - int(check.window_secs * _NS)
        try:
            reference = self._reference(check)
            records = self.fetch_records(check.query, start_ns, end_ns, check.tenant)
            current = samples.samples_like(reference, sources.columns_from_records(records))
            report = detect_drift(reference, current, check.drift)
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
        target = self._result_path(result.model)
        temporary = target.with_suffix(".json.tmp")
        temporary.write_bytes(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2))
        os.replace(temporary, target)


def drift_events(result: DriftCheckResult) -> list[dict[str, object]]:
    """One JSON-able log event per feature of a check (or one carrying the error).

    Logged under ``{service="flightlog-monitor", model=...}``, they make drift alertable
    by the ruler, e.g. ``max by (model, feature) (max_over_time({service="flightlog-monitor"}
    | json | event="drift_check" | unwrap psi | __error__="" [30m])) >= 0.2``. Keep the
    ``__error__=""``: a failed check's event (and a feature without a PSI) has no number
    to unwrap, and without the filter Loki's rule fails instead of skipping it.
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
