"""Prometheus counters of the notification pipeline, labelled by integration and reason."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "NOTIFICATIONS_FAILED",
    "NOTIFICATIONS_SENT",
    "NOTIFICATION_ATTEMPTS",
    "NOTIFICATION_LATENCY",
]

NOTIFICATIONS_SENT = Counter(
    "flightlog_notifications_total",
    "Notifications delivered, by receiver and integration.",
    ["receiver", "integration"],
)
NOTIFICATION_ATTEMPTS = Counter(
    "flightlog_notification_attempts_failed_total",
    "Delivery attempts that failed (each retry counts), by receiver, integration and reason.",
    ["receiver", "integration", "reason"],
)
NOTIFICATIONS_FAILED = Counter(
    "flightlog_notifications_failed_total",
    "Notifications given up after all retries, by receiver, integration and reason.",
    ["receiver", "integration", "reason"],
)
NOTIFICATION_LATENCY = Histogram(
    "flightlog_notification_latency_seconds",
    "Time to deliver one notification, retries included.",
    ["integration"],
)
