"""Integrations that deliver a ``Notification``: one module per kind, same two functions.

Each module exposes ``payload(notification, external_url) -> object`` (what would be sent,
testable without a network) and ``send(notification, external_url, timeout_s, client)`` which
raises ``DeliveryFailed`` with a reason constant on failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flightlog.notify.dispatcher import Notification
from flightlog.notify.receivers import alertmanager, email, pagerduty, slack, webhook
from flightlog.notify.receivers.failure import DeliveryFailed, FailureReason

__all__ = ["SENDERS", "DeliveryFailed", "FailureReason"]

SENDERS: dict[str, Callable[[Notification, str, float, Any], Any]] = {
    "webhook": webhook.send,
    "slack": slack.send,
    "pagerduty": pagerduty.send,
    "email": email.send,
    "alertmanager": alertmanager.send,
}
