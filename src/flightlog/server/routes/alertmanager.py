"""Alertmanager's v2 API over the notification pipeline: alerts and silences.

* ``GET /api/v2/alerts`` (filters ``active``, ``silenced``, ``inhibited``, ``filter``),
  ``POST /api/v2/alerts`` (so Prometheus or another ruler can send alerts here)
* ``GET /api/v2/alerts/groups`` (what dashboards such as karma read), ``GET /api/v2/status``
* ``GET/POST /api/v2/silences``, ``GET/DELETE /api/v2/silence/{id}`` (and the same under
  ``/api/v2/silences/{id}``), in Alertmanager's JSON shapes.

* ``GET/POST/DELETE /api/v1/alerts``: the tenant's own Alertmanager configuration, as
  Mimir's config API (admin role). GET answers ``template_files`` and
  ``alertmanager_config`` in YAML with secrets as ``<secret>`` (404 for a tenant routed
  by the default tree); POST takes that shape (or a bare ``alertmanager.yml``), checks
  it, stores it under the data dir and routes the tenant by it (201); DELETE puts the
  tenant back on the default tree. A tenant configured in flightlog.yaml
  (``alerting.tenants``, or ``default``) is refused with 409: edit the file instead.

Every endpoint is scoped to the caller's tenant (``X-Scope-OrgID``, ``default`` without
it), as Mimir's multi-tenant Alertmanager is: a tenant sees, posts, silences and expires
only its own alerts and silences, and is routed by its own tree when it has one
(``/api/v2/status`` shows that tree, redacted). Reads may name several tenants (``a|b``).
"""

from __future__ import annotations

import time
from typing import Any

import yaml
from fastapi import APIRouter, Body, Depends, Query, Request, Response

from flightlog.config import Role
from flightlog.errors import ConfigError
from flightlog.notify.matchers import matches_all, parse_matchers
from flightlog.notify.redact import redact_secrets
from flightlog.notify.service import NotifyService
from flightlog.notify.silences import matcher_from_api
from flightlog.rules.alert import Alert, format_rfc3339, parse_rfc3339
from flightlog.server.deps import get_services, require_role
from flightlog.server.errors import HTTPError
from flightlog.server.services import Services

__all__ = ["router"]

router = APIRouter(tags=["alertmanager"])
_read = require_role(Role.READ)
_write = require_role(Role.WRITE)
_admin = require_role(Role.ADMIN)
MAX_ALERTS_PER_POST = 10_000
MAX_CONFIG_BODY = 1 << 20


def _notify(services: Services = Depends(get_services)) -> NotifyService:
    notify = services.extras.get("notify")
    if not isinstance(notify, NotifyService):
        raise HTTPError(503, "the notification pipeline is not running")
    return notify


def _time(value: Any, name: str) -> float | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise HTTPError(400, f"{name} must be an RFC 3339 time string, got {value!r}")
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise HTTPError(
            400, f"{name} {value!r} is not an RFC 3339 time (e.g. 2026-11-23T22:00:00Z)"
        ) from None


@router.get("/api/v2/alerts")
def get_alerts(
    active: bool = True,
    silenced: bool = True,
    inhibited: bool = True,
    unprocessed: bool = True,
    receiver: str | None = None,
    filter: list[str] = Query(default=[]),
    tenants: tuple[str, ...] = Depends(_read),
    notify: NotifyService = Depends(_notify),
) -> list[dict[str, Any]]:
    try:
        matchers = parse_matchers(filter)
    except ConfigError as exc:
        raise HTTPError(400, str(exc)) from None
    now = time.time()
    out = []
    for alert, marker in notify.dispatcher.alerts(tenants):
        if alert.status_at(now).value != "firing" or not matches_all(matchers, alert.labels):
            continue
        if (marker.silenced_by and not silenced) or (marker.inhibited_by and not inhibited):
            continue
        if marker.state == "active" and not active:
            continue
        if receiver and receiver not in marker.receivers:
            continue
        out.append(_gettable(alert, marker, now))
    out.sort(key=lambda a: (a["labels"].get("alertname", ""), a["fingerprint"]))
    return out


def _gettable(alert: Alert, marker: Any, now: float) -> dict[str, Any]:
    body = alert.to_api(now)
    del body["status"]
    body.update(
        {
            "updatedAt": format_rfc3339(alert.updated_at),
            "receivers": [{"name": r} for r in marker.receivers],
            "status": {
                "state": marker.state,
                "silencedBy": list(marker.silenced_by),
                "inhibitedBy": list(marker.inhibited_by),
            },
        }
    )
    return body


@router.get("/api/v2/alerts/groups")
def get_alert_groups(
    tenants: tuple[str, ...] = Depends(_read), notify: NotifyService = Depends(_notify)
) -> list[dict[str, Any]]:
    now = time.time()
    markers = {
        (alert.tenant, alert.fingerprint): marker
        for alert, marker in notify.dispatcher.alerts(tenants)
    }
    out = []
    for _key, receiver, labels, alerts in notify.dispatcher.groups(tenants):
        firing = [
            a
            for a in alerts
            if a.status_at(now).value == "firing" and (a.tenant, a.fingerprint) in markers
        ]
        if firing:
            out.append(
                {
                    "labels": labels,
                    "receiver": {"name": receiver},
                    "alerts": [
                        _gettable(a, markers[(a.tenant, a.fingerprint)], now) for a in firing
                    ],
                }
            )
    return out


_STARTED = time.time()


@router.get("/api/v2/status")
def get_status(
    tenants: tuple[str, ...] = Depends(_read), notify: NotifyService = Depends(_notify)
) -> dict[str, Any]:
    from flightlog._version import __version__

    source = redact_secrets(notify.dispatcher.config_for(tenants[0]).source)

    return {
        "cluster": {"name": "", "status": "disabled", "peers": []},
        "versionInfo": {
            "version": f"flightlog-{__version__}",
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "",
        },
        "config": {"original": yaml.safe_dump(source, sort_keys=False)},
        "uptime": format_rfc3339(_STARTED),
    }


@router.post("/api/v2/alerts")
def post_alerts(
    alerts: list[dict[str, Any]] = Body(...),
    tenants: tuple[str, ...] = Depends(_write),
    notify: NotifyService = Depends(_notify),
) -> Response:
    if len(alerts) > MAX_ALERTS_PER_POST:
        raise HTTPError(
            400, f"{len(alerts)} alerts in one request; send at most {MAX_ALERTS_PER_POST}"
        )
    now = time.time()
    parsed = []
    for index, item in enumerate(alerts):
        labels = item.get("labels") if isinstance(item, dict) else None
        if (
            not isinstance(labels, dict)
            or not labels
            or not all(isinstance(v, str) for v in labels.values())
        ):
            raise HTTPError(400, f"alerts[{index}].labels must be a non-empty object of strings")
        annotations = item.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise HTTPError(400, f"alerts[{index}].annotations must be an object of strings")
        starts = _time(item.get("startsAt"), f"alerts[{index}].startsAt") or now
        ends = _time(item.get("endsAt"), f"alerts[{index}].endsAt")
        parsed.append(
            Alert(
                labels=labels,
                annotations={str(k): str(v) for k, v in annotations.items()},
                starts_at=starts,
                ends_at=ends,
                generator_url=str(item.get("generatorURL") or ""),
                updated_at=now,
                tenant=tenants[0],
            )
        )
    notify.put(parsed)
    return Response(status_code=200)


@router.get("/api/v2/silences")
def list_silences(
    filter: list[str] = Query(default=[]),
    tenants: tuple[str, ...] = Depends(_read),
    notify: NotifyService = Depends(_notify),
) -> list[dict[str, Any]]:
    try:
        wanted = parse_matchers(filter)
    except ConfigError as exc:
        raise HTTPError(400, str(exc)) from None
    now = time.time()
    out = []
    for silence in notify.silences.all(tenants):
        if wanted and not all(any(m == w for m in silence.matchers) for w in wanted):
            continue
        out.append(silence.to_api(now))
    order = {"active": 0, "pending": 1, "expired": 2}
    out.sort(key=lambda s: (order[s["status"]["state"]], s["endsAt"]))
    return out


@router.post("/api/v2/silences")
def post_silence(
    body: dict[str, Any] = Body(...),
    tenants: tuple[str, ...] = Depends(_write),
    notify: NotifyService = Depends(_notify),
) -> dict[str, str]:
    raw_matchers = body.get("matchers")
    if not isinstance(raw_matchers, list) or not raw_matchers:
        raise HTTPError(
            400, "a silence needs a non-empty `matchers` list of {name, value, isRegex, isEqual}"
        )
    try:
        matchers = tuple(matcher_from_api(m) for m in raw_matchers if isinstance(m, dict))
        if len(matchers) != len(raw_matchers):
            raise ConfigError("every matcher must be an object {name, value, isRegex, isEqual}")
        now = time.time()
        starts = _time(body.get("startsAt"), "startsAt") or now
        ends = _time(body.get("endsAt"), "endsAt")
        if ends is None:
            raise ConfigError("a silence needs `endsAt`")
        silence = notify.silences.upsert(
            matchers,
            max(starts, now) if starts < now else starts,
            ends,
            str(body.get("createdBy") or ""),
            str(body.get("comment") or ""),
            silence_id=body.get("id") or None,
            tenant=tenants[0],
        )
    except ConfigError as exc:
        raise HTTPError(400, str(exc)) from None
    except KeyError:
        raise HTTPError(404, f"silence {body.get('id')!r} not found") from None
    return {"silenceID": silence.id}


@router.get("/api/v2/silence/{silence_id}")
@router.get("/api/v2/silences/{silence_id}")
def get_silence(
    silence_id: str,
    tenants: tuple[str, ...] = Depends(_read),
    notify: NotifyService = Depends(_notify),
) -> dict[str, Any]:
    silence = notify.silences.get(silence_id, tenants)
    if silence is None:
        raise HTTPError(404, f"silence {silence_id!r} not found")
    return silence.to_api(time.time())


@router.delete("/api/v2/silence/{silence_id}")
@router.delete("/api/v2/silences/{silence_id}")
def expire_silence(
    silence_id: str,
    tenants: tuple[str, ...] = Depends(_write),
    notify: NotifyService = Depends(_notify),
) -> Response:
    try:
        notify.silences.expire(silence_id, tenants)
    except KeyError:
        raise HTTPError(404, f"silence {silence_id!r} not found") from None
    notify.put([])  # wake the ticker: muted groups may be due now
    return Response(status_code=200)


def _file_configured(notify: NotifyService, tenant: str) -> None:
    if notify.configured_in_file(tenant):
        where = "the top-level `alerting:` tree" if tenant == "default" else "alerting.tenants"
        raise HTTPError(
            409,
            f"tenant {tenant!r} is configured in flightlog.yaml ({where}); edit the file "
            "and restart instead",
        )


@router.get("/api/v1/alerts")
def get_tenant_config(
    tenants: tuple[str, ...] = Depends(_admin), notify: NotifyService = Depends(_notify)
) -> Response:
    config = notify.tenant_config(tenants[0])
    if config is None:
        raise HTTPError(
            404,
            f"tenant {tenants[0]!r} has no Alertmanager configuration of its own and is routed "
            "by the default tree; set one with POST /api/v1/alerts",
        )
    inner = yaml.safe_dump(redact_secrets(config.source), sort_keys=False)
    body = yaml.safe_dump({"template_files": {}, "alertmanager_config": inner}, sort_keys=False)
    return Response(body, media_type="application/yaml")


@router.post("/api/v1/alerts")
async def set_tenant_config(
    request: Request,
    tenants: tuple[str, ...] = Depends(_admin),
    notify: NotifyService = Depends(_notify),
) -> Response:
    import anyio

    _file_configured(notify, tenants[0])
    body = await request.body()
    if len(body) > MAX_CONFIG_BODY:
        raise HTTPError(
            413, f"the configuration is {len(body)} bytes; the limit is {MAX_CONFIG_BODY}"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, "the configuration must be UTF-8 YAML") from None
    if not text.strip():
        raise HTTPError(400, "the body is empty: send `alertmanager_config: |` with the file")
    try:
        await anyio.to_thread.run_sync(notify.set_tenant_config, tenants[0], text)
    except ConfigError as exc:
        raise HTTPError(400, str(exc)) from None
    return Response(status_code=201)


@router.delete("/api/v1/alerts")
def delete_tenant_config(
    tenants: tuple[str, ...] = Depends(_admin), notify: NotifyService = Depends(_notify)
) -> Response:
    _file_configured(notify, tenants[0])
    notify.delete_tenant_config(tenants[0])
    return Response(status_code=200)
