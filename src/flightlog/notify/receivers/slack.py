"""Slack incoming-webhook integration: one attachment per notification, coloured by status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flightlog.notify.dispatcher import Notification
from flightlog.notify.receivers import text
from flightlog.notify.receivers.failure import post_json
from flightlog.rules.alert import AlertStatus

if TYPE_CHECKING:
    import httpx  # annotations only: importing httpx pulls in rich (~0.3 s of server start)

__all__ = ["payload", "send"]


def payload(notification: Notification, external_url: str) -> dict[str, object]:
    options = notification.integration.options
    firing = notification.status is AlertStatus.FIRING
    title = str(options.get("title") or text.title(notification))
    runbooks = [
        a.annotations.get("runbook_url")
        for a in notification.alerts
        if a.annotations.get("runbook_url")
    ]
    body: dict[str, object] = {
        "attachments": [
            {
                "title": title,
                "title_link": str(options.get("title_link") or external_url),
                "text": str(options.get("text") or text.body(notification)),
                "fallback": title,
                "color": str(options.get("color") or ("danger" if firing else "good")),
                "actions": [
                    {"type": "button", "text": "Runbook", "url": url} for url in runbooks[:1]
                ],
            }
        ]
    }
    for key in ("channel", "username", "icon_emoji", "icon_url"):
        if options.get(key):
            body[key] = str(options[key])
    return body


def send(
    notification: Notification, external_url: str, timeout_s: float, client: httpx.Client
) -> None:
    post_json(
        client,
        str(notification.integration.options["api_url"]),
        payload(notification, external_url),
        timeout_s,
    )
