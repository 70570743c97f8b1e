"""Webhook integration: Alertmanager's webhook payload (version 4), so existing consumers work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flightlog.notify.dispatcher import Notification
from flightlog.notify.receivers.failure import post_json
from flightlog.notify.receivers.secrets import read_secret
from flightlog.notify.templates import common

if TYPE_CHECKING:
    import httpx  # annotations only: importing httpx pulls in rich (~0.3 s of server start)

__all__ = ["payload", "send"]


def payload(notification: Notification, external_url: str) -> dict[str, object]:
    max_alerts = int(notification.integration.options.get("max_alerts") or 0)
    alerts = [a.to_api(notification.at) for a in notification.alerts]
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    return {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": truncated,
        "status": notification.status.value,
        "receiver": notification.integration.receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": common([dict(a.labels) for a in notification.alerts]),
        "commonAnnotations": common([dict(a.annotations) for a in notification.alerts]),
        "externalURL": external_url,
        "alerts": alerts,
    }


def send(
    notification: Notification, external_url: str, timeout_s: float, client: httpx.Client
) -> None:
    url = read_secret(notification.integration.options, "url")
    post_json(client, url, payload(notification, external_url), timeout_s)
