"""Slack incoming-webhook integration: one attachment per notification, coloured by status.

``title``, ``title_link``, ``text``, ``pretext``, ``fallback``, ``footer``, ``color``,
``channel``, ``username``, ``icon_emoji`` and ``icon_url`` are templates
(``flightlog.notify.templates``), defaulting to Alertmanager's ``slack.default.*``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flightlog.notify.dispatcher import Notification
from flightlog.notify.receivers.failure import post_json
from flightlog.notify.receivers.secrets import read_secret
from flightlog.notify.templates import TEMPLATED_OPTIONS, NotificationData, render_field
from flightlog.rules.alert import AlertStatus

if TYPE_CHECKING:
    import httpx  # annotations only: importing httpx pulls in rich (~0.3 s of server start)

__all__ = ["payload", "send"]


def payload(notification: Notification, external_url: str) -> dict[str, object]:
    data = NotificationData.of(notification, external_url)

    def field(name: str) -> str:
        return render_field(
            notification, external_url, name, TEMPLATED_OPTIONS["slack"][name], data
        )

    firing = notification.status is AlertStatus.FIRING
    runbooks = [
        a.annotations.get("runbook_url")
        for a in notification.alerts
        if a.annotations.get("runbook_url")
    ]
    attachment: dict[str, object] = {
        "title": field("title"),
        "title_link": field("title_link"),
        "text": field("text"),
        "fallback": field("fallback"),
        "color": field("color") or ("danger" if firing else "good"),
        "actions": [{"type": "button", "text": "Runbook", "url": url} for url in runbooks[:1]],
    }
    for optional in ("pretext", "footer"):
        value = field(optional)
        if value:
            attachment[optional] = value
    body: dict[str, object] = {"attachments": [attachment]}
    for key in ("channel", "username", "icon_emoji", "icon_url"):
        value = field(key)
        if value:
            body[key] = value
    return body


def send(
    notification: Notification, external_url: str, timeout_s: float, client: httpx.Client
) -> None:
    url = read_secret(notification.integration.options, "api_url")
    post_json(client, url, payload(notification, external_url), timeout_s)
