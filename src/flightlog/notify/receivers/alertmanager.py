"""Forwarding to an existing Alertmanager through its ``POST /api/v2/alerts`` API.

Alerts of a tenant other than the default are sent with ``X-Scope-OrgID: <tenant>``, which
a multi-tenant Alertmanager (Mimir's, Cortex's) reads as Loki's ruler sends it; a plain
Alertmanager ignores the header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flightlog.model import DEFAULT_TENANT
from flightlog.notify.dispatcher import Notification
from flightlog.notify.receivers.failure import post_json
from flightlog.rules.alert import format_rfc3339

if TYPE_CHECKING:
    import httpx  # annotations only: importing httpx pulls in rich (~0.3 s of server start)

__all__ = ["payload", "send"]


def payload(notification: Notification, external_url: str) -> list[dict[str, object]]:
    return [
        {
            "labels": dict(a.labels),
            "annotations": dict(a.annotations),
            "startsAt": format_rfc3339(a.starts_at),
            "endsAt": format_rfc3339(a.ends_at),
            "generatorURL": a.generator_url,
        }
        for a in notification.alerts
    ]


def send(
    notification: Notification, external_url: str, timeout_s: float, client: httpx.Client
) -> None:
    url = str(notification.integration.options["url"]).rstrip("/") + "/api/v2/alerts"
    headers = (
        {"X-Scope-OrgID": notification.tenant} if notification.tenant != DEFAULT_TENANT else None
    )
    post_json(client, url, payload(notification, external_url), timeout_s, headers=headers)
