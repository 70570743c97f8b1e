"""Model-monitoring API over logged predictions: champion/challenger and drift between windows.

``GET /api/v1/models/compare``: two versions' prediction logs over one period (a LogQL log
query whose lines are ``PredictionLogger`` JSON events), compared by
``flightlog.monitor.compare``: metrics with intervals and a promote/keep/rollback verdict.
``POST /api/v1/models/compare`` gives the same answer from two ``/metrics`` scrapes of the
model server sent in a JSON body (``champion``, ``challenger``, ``model``,
``metrics_before``, ``metrics_after``, thresholds), as ``flightlog compare-models
--metrics-before/--metrics-after`` does.

``GET /api/v1/drift/checks``: the latest result of each scheduled drift check (the
``monitor.drift_checks`` config section, see ``flightlog.monitor.schedule``), per feature,
of the checks whose ``tenant`` is one the caller reads; ``POST
/api/v1/drift/checks/{model}/run`` runs one of the caller's tenant now (a heavy job, so it
needs a ``write`` token; another tenant's model is a 404). Scheduled checks also export
``ml_data_drift_score{model,feature}`` on the server's ``/metrics`` and log one
``drift_check`` event per feature under ``{service="flightlog-monitor", model=...}``, so
LogQL rules in the ruler can alert on drift.

``GET /api/v1/drift``: drift of the current window of a LogQL query against a reference
window (``reference_start``/``reference_end``, optionally another ``reference_query``),
in the same JSON as ``flightlog drift --output json``.

Both read at most ``max_records`` lines per window (oldest first, paged by the query
limit) and answer 400 with Loki's error JSON when the input cannot be used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from flightlog.config import Role
from flightlog.errors import MonitorError, QueryError
from flightlog.model import Direction
from flightlog.query import ast
from flightlog.query.engine import Engine
from flightlog.query.limits import TenantQueryLimits, limits_from_section
from flightlog.query.params import parse_time_ns
from flightlog.query.parser import parse
from flightlog.query.results import StreamsResult
from flightlog.server.deps import get_services, require_role
from flightlog.server.errors import HTTPError
from flightlog.server.services import Services, StopFunction

__all__ = ["router"]

router = APIRouter(tags=["monitor"])

_read = require_role(Role.READ)
_write = require_role(Role.WRITE)
DEFAULT_WINDOW_NS = 3600 * 1_000_000_000
MAX_RECORDS = 200_000


class _JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@router.get("/api/v1/models/compare")
async def compare_models_endpoint(
    request: Request,
    champion: str,
    challenger: str,
    query: str,
    start: str | None = None,
    end: str | None = None,
    version_field: str = "model_version",
    max_latency_increase_ratio: float = 0.10,
    max_error_ratio_increase: float = 0.005,
    max_accuracy_drop: float = 0.01,
    min_predictions: int = 200,
    max_records: int = MAX_RECORDS,
    tenants: tuple[str, ...] = Depends(_read),
) -> Response:
    """Champion vs challenger over [start, end) (default: the last hour)."""
    from flightlog.monitor.compare import (
        ComparisonThresholds,
        compare_models,
        pick_versions,
        samples_from_records,
    )

    services = get_services(request)
    start_ns, end_ns = _window(start, end, services.clock_ns())

    def work() -> dict[str, object]:
        records = _records(services, query, start_ns, end_ns, tenants, max_records)
        pair = pick_versions(
            samples_from_records(records, version_field),
            champion,
            challenger,
            f"records in the window with {version_field}=",
        )
        thresholds = ComparisonThresholds(
            max_latency_increase_ratio=max_latency_increase_ratio,
            max_error_ratio_increase=max_error_ratio_increase,
            max_accuracy_drop=max_accuracy_drop,
            min_predictions=min_predictions,
        )
        return compare_models(*pair, thresholds).to_dict()

    return _JSON({"status": "success", "data": await _run(work)})


class MetricsComparisonBody(BaseModel):
    """``POST /api/v1/models/compare``: two ``/metrics`` scrapes bracketing the period."""

    model_config = ConfigDict(extra="forbid")

    champion: str
    challenger: str
    model: str
    metrics_before: str
    metrics_after: str
    max_latency_increase_ratio: float = 0.10
    max_error_ratio_increase: float = 0.005
    max_accuracy_drop: float = 0.01
    min_predictions: int = 200


@router.post("/api/v1/models/compare")
async def compare_models_from_metrics(
    request: Request,
    body: MetricsComparisonBody,
    tenants: tuple[str, ...] = Depends(_read),
) -> Response:
    """Champion vs challenger from two scrapes of the model server's ``/metrics`` (in the body)."""
    from flightlog.monitor.compare import ComparisonThresholds, compare_models, pick_versions
    from flightlog.monitor.compare_metrics import samples_from_metrics

    def work() -> dict[str, object]:
        pair = pick_versions(
            samples_from_metrics(body.metrics_before, body.metrics_after, body.model),
            body.champion,
            body.challenger,
            f"{body.model!r} series in the scrapes with version=",
        )
        thresholds = ComparisonThresholds(
            max_latency_increase_ratio=body.max_latency_increase_ratio,
            max_error_ratio_increase=body.max_error_ratio_increase,
            max_accuracy_drop=body.max_accuracy_drop,
            min_predictions=body.min_predictions,
        )
        return compare_models(*pair, thresholds).to_dict()

    return _JSON({"status": "success", "data": await _run(work)})


@router.get("/api/v1/drift")
async def drift_endpoint(
    request: Request,
    query: str,
    reference_start: str,
    reference_end: str,
    reference_query: str | None = None,
    start: str | None = None,
    end: str | None = None,
    categorical: list[str] = Query(default=[]),
    max_records: int = MAX_RECORDS,
    tenants: tuple[str, ...] = Depends(_read),
) -> Response:
    """Drift of [start, end) of ``query`` against [reference_start, reference_end)."""
    from flightlog.monitor import samples, sources
    from flightlog.monitor.drift import detect_drift

    services = get_services(request)
    start_ns, end_ns = _window(start, end, services.clock_ns())
    reference_start_ns, reference_end_ns = _window(reference_start, reference_end, end_ns)

    def work() -> dict[str, object]:
        reference_records = _records(
            services,
            reference_query or query,
            reference_start_ns,
            reference_end_ns,
            tenants,
            max_records,
        )
        current_records = _records(services, query, start_ns, end_ns, tenants, max_records)
        reference = samples.profile(sources.columns_from_records(reference_records), categorical)
        current = samples.samples_like(reference, sources.columns_from_records(current_records))
        return detect_drift(reference, current).to_dict()

    return _JSON({"status": "success", "data": await _run(work)})


@router.get("/api/v1/drift/checks")
async def drift_checks(request: Request, tenants: tuple[str, ...] = Depends(_read)) -> Response:
    """Latest result of every scheduled drift check of the caller's tenants, by model."""
    scheduler = get_services(request).extras.get(_EXTRAS_KEY)
    if scheduler is None:
        return _JSON({"status": "success", "data": []})
    mine = {check.model for check in scheduler.checks if check.tenant in tenants}
    latest = scheduler.latest_dicts()
    data = [result for model, result in latest.items() if model in mine]
    return _JSON({"status": "success", "data": data})


@router.post("/api/v1/drift/checks/{model}/run")
async def run_drift_check(
    request: Request, model: str, tenants: tuple[str, ...] = Depends(_write)
) -> Response:
    """Run the scheduled drift check of ``model`` (of the caller's tenant) now; needs write."""
    scheduler = get_services(request).extras.get(_EXTRAS_KEY)
    checks = {
        check.model: check
        for check in (scheduler.checks if scheduler else ())
        if check.tenant in tenants
    }
    if model not in checks:
        # Another tenant's check answers the same 404: its existence is not disclosed.
        raise HTTPError(
            404,
            f"no drift check for model {model!r} in tenant {tenants[0]!r}: "
            "add it under monitor.drift_checks",
        )
    result = await anyio.to_thread.run_sync(scheduler.run_check, checks[model])
    return _JSON({"status": "success", "data": result.to_dict()})


_EXTRAS_KEY = "monitor"
MONITOR_SERVICE = "flightlog-monitor"


def on_startup(services: Services) -> StopFunction | None:
    """Start one periodic drift check per configured model."""
    if services.config.section("monitor") is None:
        # Nothing to schedule; the scheduler pulls in scipy (~1-2 s), so don't import it.
        return None
    from flightlog.model import PushRequest, StreamBatch, canonical_labels
    from flightlog.monitor.schedule import (
        DriftCheckResult,
        DriftScheduler,
        drift_events,
        parse_drift_checks,
    )
    from flightlog.server.background import PeriodicTask

    checks = parse_drift_checks(services.config.section("monitor"))
    if not checks:
        return None

    def fetch(query: str, start_ns: int, end_ns: int, tenant: str) -> list[dict[str, Any]]:
        try:
            return _records(services, query, start_ns, end_ns, (tenant,), MAX_RECORDS)
        except QueryError as error:
            # Recorded in the check's result instead of failing the background task.
            raise MonitorError(f"query {query!r}: {error}") from error

    def log_result(result: DriftCheckResult) -> None:
        # Stored like any pushed log so LogQL rules in the ruler can alert on drift.
        tenant = next(check.tenant for check in checks if check.model == result.model)
        labels = canonical_labels({"service": MONITOR_SERVICE, "model": result.model})
        lines = [orjson.dumps(event).decode() for event in drift_events(result)]
        batch = StreamBatch(labels, [result.checked_at_ns] * len(lines), lines, [None] * len(lines))
        prepared = services.ingestor.admit(PushRequest(tenant, (batch,)))
        if prepared.request.streams:
            services.store.append(prepared.request)

    scheduler = DriftScheduler(
        checks,
        fetch,
        services.registry,
        results_dir=services.config.data_dir / "monitor" / "drift",
        clock_ns=services.clock_ns,
        on_result=log_result,
    )
    services.extras[_EXTRAS_KEY] = scheduler
    tasks = [
        PeriodicTask(f"drift-{check.model}", check.interval_secs, _runner(scheduler, check)).start()
        for check in checks
    ]

    def stop() -> None:
        for task in tasks:
            task.stop()

    return stop


def _runner(scheduler: Any, check: Any) -> Any:
    return lambda: scheduler.run_check(check)


async def _run(work: Any) -> Any:
    try:
        return await anyio.to_thread.run_sync(work)
    except MonitorError as error:
        raise HTTPError(400, str(error)) from None


def _window(start: str | None, end: str | None, now_ns: int) -> tuple[int, int]:
    end_ns = parse_time_ns(end, "end") if end else now_ns
    start_ns = parse_time_ns(start, "start") if start else end_ns - DEFAULT_WINDOW_NS
    if start_ns >= end_ns:
        raise HTTPError(400, f"start ({start_ns}) must be before end ({end_ns})")
    return start_ns, end_ns


def _records(
    services: Services,
    query: str,
    start_ns: int,
    end_ns: int,
    tenants: Sequence[str],
    max_records: int,
) -> list[dict[str, Any]]:
    """JSON-object lines of a log query, oldest first, paged by the per-query entry limit."""
    if not isinstance(parse(query), ast.LogQuery):
        raise MonitorError(
            f"{query!r} is a metric query; give a log query (a stream selector with filters)"
        )
    from flightlog.monitor.sources import PagedEntry, page_forward

    tenant_limits = limits_from_section(services.config.section("query_limits"))
    page = tenant_limits.for_tenants(list(tenants)).max_entries_limit_per_query
    # Pages are the tenant's per-query entry limit; only when more entries than that share
    # one timestamp does a page grow past it (up to max_records), so none of them is lost.
    engine = Engine(
        services.store,
        TenantQueryLimits(
            default=replace(
                tenant_limits.for_tenants(list(tenants)),
                max_entries_limit_per_query=max(page, max_records),
            )
        ),
    )

    def fetch(cursor_ns: int, limit: int) -> list[PagedEntry]:
        outcome = engine.query_range(query, cursor_ns, end_ns, 0, tenants, limit, Direction.FORWARD)
        if not isinstance(outcome.result, StreamsResult):
            raise MonitorError("the query is a metric query; give a log query (a stream selector)")
        return [
            (entry.ts_ns, tuple(sorted(stream.labels.items())), entry.line)
            for stream in outcome.result.streams
            for entry in stream.entries
        ]

    records: list[dict[str, Any]] = []
    for line in page_forward(fetch, start_ns, end_ns, page, max_page=max(page, max_records)):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            records.append(value)
            if len(records) >= max_records:
                break
    return records
