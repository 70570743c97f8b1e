"""Ruler HTTP API (Loki and Prometheus shapes) and the start of rules + notifications.

* ``GET/POST/DELETE /loki/api/v1/rules[/{namespace}[/{group}]]``: Loki's ruler API (YAML);
  a group with ``source_tenants`` (federated, as in Mimir) is accepted only when the
  caller's token is bound to every source tenant (or to ``*``)
* ``GET /prometheus/api/v1/rules`` and ``/prometheus/api/v1/alerts``: Prometheus's shapes,
  what Grafana's alerting view reads
* ``GET /api/v1/slos``: SLO error budget and burn rates
* ``GET /prometheus/api/v1/query`` and ``query_range``: the series recording rules wrote,
  in Prometheus's shapes. Recorded series live in the ruler's state DB, not in the log
  store: LogQL (``/loki/api/v1/query``) does not see them (Loki's ruler remote-writes them
  to a Prometheus instead). Read them here with a selector such as
  ``slo:sli_error:ratio_rate5m{slo=~"api.*"}`` (optionally ``> 0.01``, ``and``/``or``; the
  subset in ``flightlog.rules.recorded_expr``) — in Grafana, a Prometheus data source with
  the URL ``<flightlog>/prometheus`` — or scrape their newest values from ``/metrics``

``on_startup`` builds the ``NotifyService`` (``alerting:``), the ``Ruler`` (``rules:``,
``slos:``) over the store's query engine, publishes them in ``services.extras`` as
``"notify"``, ``"rules"`` and ``"slos"``, and exposes recorded series on ``/metrics``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Request, Response
from prometheus_client.core import GaugeMetricFamily

from flightlog.config import Role
from flightlog.errors import RuleError
from flightlog.rules.alert import format_rfc3339
from flightlog.rules.alerting import ActiveAlert
from flightlog.rules.loader import group_to_dict
from flightlog.rules.model import AlertingRule, AlertState, RuleGroup
from flightlog.rules.ruler import RuleHealth, Ruler
from flightlog.rules.slo import SLO, slo_status
from flightlog.server.deps import authorize, get_services, require_role
from flightlog.server.errors import HTTPError
from flightlog.server.services import Services

__all__ = ["on_startup", "router"]

log = logging.getLogger("flightlog.rules")
router = APIRouter(tags=["rules"])
_read = require_role(Role.READ, multi_tenant=False)
_write = require_role(Role.WRITE)
NS = 1_000_000_000
MAX_RULES_BODY = 1 << 20


class _RecordedCollector:
    """Recorded series on ``/metrics``: the newest sample of each, with a ``tenant`` label."""

    def __init__(self, ruler: Ruler) -> None:
        self._ruler = ruler

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        rows = self._ruler.state.latest_recorded()
        names = {
            name: sorted({k for _, n, labels, _ in rows if n == name for k in labels})
            for _, name, _, _ in rows
        }
        for tenant, name, labels, value in rows:
            keys = names[name]
            family = families.get(name)
            if family is None:
                family = families[name] = GaugeMetricFamily(
                    name, f"Recorded by rule {name}.", labels=["tenant", *keys]
                )
            family.add_metric([tenant, *(labels.get(k, "") for k in keys)], value)
        yield from families.values()


def on_startup(services: Services) -> Callable[[], None]:
    from flightlog.notify.config import load_alerting_config
    from flightlog.notify.metrics import NotifyMetrics
    from flightlog.notify.service import NotifyService
    from flightlog.query.engine import Engine
    from flightlog.query.limits import limits_from_section
    from flightlog.rules.config import load_rule_files, parse_rules_section
    from flightlog.rules.querier import EngineQuerier
    from flightlog.rules.ruler import watchdog_group
    from flightlog.rules.slo import parse_slos, slo_groups
    from flightlog.rules.state_db import RulesStateDB

    config = services.config
    settings = parse_rules_section(config.section("rules"))
    alerting = load_alerting_config(config.section("alerting"))
    for warning in alerting.warnings:
        log.warning("%s", warning)
    slos = parse_slos(config.section("slos"))
    base_dir = (
        Path(config.source).parent if config.source not in ("defaults", "config") else Path.cwd()
    )
    groups = load_rule_files(settings.files, base_dir) + slo_groups(slos)
    if settings.watchdog:
        groups.append(watchdog_group(settings.watchdog_interval_s))
    external_url = settings.external_url or f"http://{config.server.host}:{config.server.port}"
    state_dir = config.data_dir / "alerting"
    notify = NotifyService(
        alerting, state_dir, external_url, metrics=NotifyMetrics.create(services.registry)
    )
    engine = Engine(services.store, limits_from_section(config.section("query_limits")))
    ruler = Ruler(
        EngineQuerier(engine),
        RulesStateDB(state_dir / "rules.db"),
        notify=notify.put,
        clock_ns=services.clock_ns,
        external_url=external_url,
        file_groups=groups,
    )
    services.registry.register(_RecordedCollector(ruler))
    services.extras.update({"notify": notify, "rules": ruler, "slos": slos, "query_engine": engine})
    notify.start()
    ruler.start()

    def stop() -> None:
        ruler.stop()
        notify.stop()
        ruler.state.close()

    return stop


def _ruler(services: Services = Depends(get_services)) -> Ruler:
    ruler = services.extras.get("rules")
    if not isinstance(ruler, Ruler):
        raise HTTPError(503, "the ruler is not running")
    return ruler


def _yaml(body: Any, status: int = 200) -> Response:
    return Response(
        yaml.safe_dump(body, sort_keys=False, allow_unicode=True),
        status_code=status,
        media_type="application/yaml",
    )


def _accepted() -> Response:
    return Response(
        b'{"status":"success","data":null,"errorType":"","error":""}',
        status_code=202,
        media_type="application/json",
    )


def _namespaces(groups: list[RuleGroup]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        out.setdefault(group.namespace, []).append(group_to_dict(group))
    return out


@router.get("/loki/api/v1/rules")
@router.get("/api/prom/rules")
def list_rules(
    tenants: tuple[str, ...] = Depends(_read), ruler: Ruler = Depends(_ruler)
) -> Response:
    groups = ruler.groups(tenants[0])
    if not groups:
        raise HTTPError(404, "no rule groups found")
    return _yaml(_namespaces(groups))


@router.get("/loki/api/v1/rules/{namespace}")
def namespace_rules(
    namespace: str, tenants: tuple[str, ...] = Depends(_read), ruler: Ruler = Depends(_ruler)
) -> Response:
    groups = [g for g in ruler.groups(tenants[0]) if g.namespace == namespace]
    if not groups:
        raise HTTPError(404, f"no rule groups in namespace {namespace!r}")
    return _yaml(_namespaces(groups))


@router.get("/loki/api/v1/rules/{namespace}/{group}")
def group_rules(
    namespace: str,
    group: str,
    tenants: tuple[str, ...] = Depends(_read),
    ruler: Ruler = Depends(_ruler),
) -> Response:
    for candidate in ruler.groups(tenants[0]):
        if candidate.namespace == namespace and candidate.name == group:
            return _yaml(group_to_dict(candidate))
    raise HTTPError(404, f"rule group {group!r} not found in namespace {namespace!r}")


@router.post("/loki/api/v1/rules/{namespace}")
async def set_rules(
    namespace: str,
    request: Request,
    tenants: tuple[str, ...] = Depends(_write),
    ruler: Ruler = Depends(_ruler),
) -> Response:
    body = await request.body()
    if len(body) > MAX_RULES_BODY:
        raise HTTPError(413, f"rule group body is {len(body)} bytes; the limit is {MAX_RULES_BODY}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, "rule group body must be UTF-8 YAML") from None
    if namespace in ruler.file_namespaces(tenants[0]):
        raise HTTPError(
            400, f"namespace {namespace!r} comes from a rule file; edit the file instead"
        )
    import anyio

    try:
        group = await anyio.to_thread.run_sync(ruler.parse_group, tenants[0], namespace, text)
    except RuleError as exc:
        raise HTTPError(400, str(exc)) from None
    if group.source_tenants:
        # A federated group reads other tenants' logs: the token must be bound to each.
        authorize(
            get_services(request).config.auth,
            request.headers.get("authorization"),
            group.source_tenants,
            Role.WRITE,
        )
    try:
        await anyio.to_thread.run_sync(ruler.put_group, tenants[0], namespace, text)
    except RuleError as exc:
        raise HTTPError(400, str(exc)) from None
    return _accepted()


@router.delete("/loki/api/v1/rules/{namespace}")
def delete_namespace(
    namespace: str, tenants: tuple[str, ...] = Depends(_write), ruler: Ruler = Depends(_ruler)
) -> Response:
    if not ruler.delete_groups(tenants[0], namespace):
        raise HTTPError(404, f"no API-managed rule groups in namespace {namespace!r}")
    return _accepted()


@router.delete("/loki/api/v1/rules/{namespace}/{group}")
def delete_group(
    namespace: str,
    group: str,
    tenants: tuple[str, ...] = Depends(_write),
    ruler: Ruler = Depends(_ruler),
) -> Response:
    if not ruler.delete_groups(tenants[0], namespace, group):
        raise HTTPError(404, f"rule group {group!r} not found in namespace {namespace!r}")
    return _accepted()


def _alert_json(alert: ActiveAlert) -> dict[str, Any]:
    return {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "state": alert.state.value,
        "activeAt": format_rfc3339(alert.active_at_ns / NS),
        "value": f"{alert.value:g}",
    }


def _live(alerts: dict[str, ActiveAlert]) -> list[ActiveAlert]:
    return [a for a in alerts.values() if a.state is not AlertState.INACTIVE]


def _rule_json(rule: Any, health: RuleHealth, alerts: dict[str, ActiveAlert]) -> dict[str, Any]:
    common = {
        "name": rule.name,
        "query": rule.expr,
        "labels": dict(rule.labels),
        "health": health.health,
        "lastError": health.last_error,
        "evaluationTime": health.duration_s,
        "lastEvaluation": format_rfc3339(health.last_eval_ns / NS if health.last_eval_ns else None),
    }
    if not isinstance(rule, AlertingRule):
        return {**common, "type": "recording"}
    live = _live(alerts)
    states = {a.state for a in live}
    state = "firing" if AlertState.FIRING in states else "pending" if states else "inactive"
    return {
        **common,
        "state": state,
        "duration": rule.for_s,
        "keepFiringFor": rule.keep_firing_for_s,
        "annotations": dict(rule.annotations),
        "alerts": [_alert_json(a) for a in live],
        "type": "alerting",
    }


@router.get("/prometheus/api/v1/rules")
def prometheus_rules(
    type: str | None = None,
    tenants: tuple[str, ...] = Depends(_read),
    ruler: Ruler = Depends(_ruler),
) -> dict[str, Any]:
    if type not in (None, "alert", "record"):
        raise HTTPError(400, f"type={type!r} is not valid: use alert or record")
    groups = []
    for group, health, alerts, last_eval_ns, duration_s in ruler.snapshot(tenants[0]):
        rules = [
            _rule_json(r, health.get(r.name, RuleHealth()), alerts.get(r.name, {}))
            for r in group.rules
            if type is None or (type == "alert") == isinstance(r, AlertingRule)
        ]
        groups.append(
            {
                "name": group.name,
                "file": group.namespace,
                "rules": rules,
                "interval": group.interval_s,
                "limit": group.limit,
                "evaluationTime": duration_s,
                "lastEvaluation": format_rfc3339(last_eval_ns / NS if last_eval_ns else None),
            }
        )
    return {"status": "success", "data": {"groups": groups}}


@router.get("/prometheus/api/v1/alerts")
def prometheus_alerts(
    tenants: tuple[str, ...] = Depends(_read), ruler: Ruler = Depends(_ruler)
) -> dict[str, Any]:
    out = []
    for _, _, alerts, _, _ in ruler.snapshot(tenants[0]):
        for per_rule in alerts.values():
            out.extend(_alert_json(a) for a in _live(per_rule))
    return {"status": "success", "data": {"alerts": out}}


@router.get("/api/v1/slos")
def slos(
    tenants: tuple[str, ...] = Depends(_read), services: Services = Depends(get_services)
) -> dict[str, Any]:
    from flightlog.rules.querier import EngineQuerier

    declared: list[SLO] = services.extras.get("slos", [])  # type: ignore[assignment]
    ruler = _ruler(services)
    querier = EngineQuerier(services.extras["query_engine"])
    now = services.clock_ns()
    firing: dict[str, list[str]] = {}
    for _, _, alerts, _, _ in ruler.snapshot(tenants[0]):
        for per_rule in alerts.values():
            for alert in per_rule.values():
                if alert.state is AlertState.FIRING and "slo" in alert.labels:
                    firing.setdefault(alert.labels["slo"], []).append(
                        alert.labels.get("severity", "")
                    )
    data = [
        slo_status(s, querier, now, tenants[0], firing.get(s.name, ())).to_json() for s in declared
    ]
    return {"status": "success", "data": data}


def _parse_time_s(value: str | None, default: float, name: str) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        from flightlog.rules.alert import parse_rfc3339

        try:
            parsed = parse_rfc3339(value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise HTTPError(
                400, f"{name}={value!r} is not a Unix time or an RFC 3339 time"
            ) from None
        return parsed


def _recorded(query: str, ruler: Ruler, ts_ns: int, tenant: str) -> list[Any]:
    from flightlog.rules.recorded_expr import evaluate_recorded, is_recorded_expr

    if not is_recorded_expr(query):
        raise HTTPError(
            400,
            f"{query!r} is not a recorded-series expression: this endpoint reads series written by "
            'recording rules (e.g. slo:sli_error:ratio_rate5m{slo="x"}, optionally > 0.01); '
            "use /loki/api/v1/query for LogQL",
        )
    return evaluate_recorded(query, ruler.state.read_recorded, ts_ns, tenant)


@router.get("/prometheus/api/v1/query")
def recorded_query(
    query: str,
    time: str | None = None,
    tenants: tuple[str, ...] = Depends(_read),
    ruler: Ruler = Depends(_ruler),
    services: Services = Depends(get_services),
) -> dict[str, Any]:
    """Recorded series (what recording rules wrote) at one instant, in Prometheus's shape."""
    at = _parse_time_s(time, services.clock_ns() / NS, "time")
    samples = _recorded(query, ruler, int(at * NS), tenants[0])
    result = [{"metric": dict(s.labels), "value": [at, f"{s.value:g}"]} for s in samples]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


@router.get("/prometheus/api/v1/query_range")
def recorded_query_range(
    query: str,
    start: str,
    end: str,
    step: float = 60.0,
    tenants: tuple[str, ...] = Depends(_read),
    ruler: Ruler = Depends(_ruler),
) -> dict[str, Any]:
    """Recorded series over a range (one evaluation per step), in Prometheus's matrix shape."""
    start_s, end_s = _parse_time_s(start, 0, "start"), _parse_time_s(end, 0, "end")
    if step <= 0 or end_s < start_s:
        raise HTTPError(400, "need start <= end and a positive step (seconds)")
    if (end_s - start_s) / step > 11_000:
        raise HTTPError(
            400, "exceeded maximum resolution of 11,000 points per series: increase step"
        )
    series: dict[tuple[tuple[str, str], ...], list[list[Any]]] = {}
    at = start_s
    while at <= end_s:
        for sample in _recorded(query, ruler, int(at * NS), tenants[0]):
            series.setdefault(tuple(sorted(sample.labels.items())), []).append(
                [at, f"{sample.value:g}"]
            )
        at += step
    result = [{"metric": dict(key), "values": values} for key, values in series.items()]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}
