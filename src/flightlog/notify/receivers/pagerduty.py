"""PagerDuty Events API v2: trigger and resolve, one incident per group.

The ``dedup_key`` is the SHA-256 of the group key (as Alertmanager computes it), so the
same group maps to the same incident across restarts and the resolve closes it.
``description``, ``client``, ``client_url``, ``severity``, ``class``, ``component``,
``group``, ``source`` and every value of ``details`` are templates
(``flightlog.notify.templates``), defaulting to Alertmanager's ``pagerduty.default.*``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from flightlog.notify.dispatcher import Notification
from flightlog.notify.receivers.failure import post_json
from flightlog.notify.receivers.secrets import read_secret
from flightlog.notify.templates import (
    TEMPLATED_OPTIONS,
    NotificationData,
    render_field,
    render_text,
)
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
        "routing_key": read_secret(options, "routing_key", required=False)
        or read_secret(options, "service_key"),
        "event_action": "trigger" if firing else "resolve",
        "dedup_key": dedup_key(notification.group_key),
    }
    if not firing:
        return body
    data = NotificationData.of(notification, external_url)

    def field(name: str) -> str:
        return render_field(
            notification, external_url, name, TEMPLATED_OPTIONS["pagerduty"][name], data
        )

    first = notification.alerts[0].labels if notification.alerts else {}
    severity = (field("severity") or first.get("severity") or "error").lower()
    details: dict[str, object] = {"firing": data.body, "num_firing": len(data.firing)}
    for key, template in dict(options.get("details") or {}).items():
        where = f"{notification.integration.key}.details.{key}"
        details[str(key)] = render_text(str(template), "", data, where)
    event: dict[str, object] = {
        "summary": field("description")[:1024],
        "source": field("source"),
        "severity": severity if severity in _SEVERITIES else "error",
        "custom_details": details,
    }
    for optional in ("class", "component", "group"):
        value = field(optional)
        if value:
            event[optional] = value
    body["payload"] = event
    body["client"] = field("client")
    body["client_url"] = field("client_url")
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
