"""PagerDuty Events API v2: trigger and resolve, one incident per group.

The ``dedup_key`` is the SHA-256 of the group key (as Alertmanager computes it), so the
same group maps to the same incident across restarts and the resolve closes it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from flightlog.notify.dispatcher import Notification
from flightlog.notify.receivers import text
from flightlog.notify.receivers.failure import post_json
from flightlog.rules.alert import AlertStatus

if TYPE_CHECKING:
    import httpx  # annotations only: importing httpx pulls in rich (~0.3 s of server start)

__all__ = ["dedup_key", "payload", "send"]

_SEVERITIES = {"critical", "error", "warning", "info"}


def dedup_key(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


def payload(notification: Notification, external_url: str) -> dict[str, object]:
    options = notification.integration.options
    firing = notification.status is AlertStatus.FIRING
    body: dict[str, object] = {
        "routing_key": str(options.get("routing_key") or options.get("service_key")),
        "event_action": "trigger" if firing else "resolve",
        "dedup_key": dedup_key(notification.group_key),
    }
    if not firing:
        return body
    common = notification.alerts[0].labels if notification.alerts else {}
    severity = str(options.get("severity") or common.get("severity") or "error").lower()
    body["payload"] = {
        "summary": str(options.get("description") or text.title(notification))[:1024],
        "source": str(options.get("client") or "flightlog"),
        "severity": severity if severity in _SEVERITIES else "error",
        "custom_details": {
            "firing": text.body(notification),
            "num_firing": sum(
                1 for a in notification.alerts if a.status_at(notification.at) is AlertStatus.FIRING
            ),
            **{str(k): str(v) for k, v in dict(options.get("details") or {}).items()},
        },
    }
    body["client"] = str(options.get("client") or "flightlog")
    body["client_url"] = str(options.get("client_url") or external_url)
    links = [
        {"href": a.generator_url, "text": "Query in flightlog"}
        for a in notification.alerts[:1]
        if a.generator_url
    ]
    links += [
        {"href": a.annotations["runbook_url"], "text": "Runbook"}
        for a in notification.alerts[:1]
        if a.annotations.get("runbook_url")
    ]
    body["links"] = links
    return body


def send(
    notification: Notification, external_url: str, timeout_s: float, client: httpx.Client
) -> None:
    post_json(
        client,
        str(notification.integration.options["url"]),
        payload(notification, external_url),
        timeout_s,
    )
