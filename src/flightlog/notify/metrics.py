"""Prometheus counters of the notification pipeline, labelled by tenant, receiver,
integration and reason.

``tenant`` comes first, as in Mimir's multi-tenant Alertmanager (its ``user`` label): it
is the tenant whose alerts a notification carries, also when the default (top-level)
tree routes them, so two tenants' receivers both named ``pager`` keep separate series.

Created on the registry the server hands out (never the global one), so two servers in
one process, or two tests, do not share counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["NotifyMetrics"]


@dataclass(frozen=True, slots=True)
class NotifyMetrics:
    sent: Counter
    attempts_failed: Counter
    failed: Counter
    latency: Histogram
    deduplicated: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> NotifyMetrics:
        registry = registry if registry is not None else CollectorRegistry()
        return cls(
            sent=Counter(
                "flightlog_notifications_total",
                "Notifications delivered, by tenant, receiver and integration.",
                ["tenant", "receiver", "integration"],
                registry=registry,
            ),
            attempts_failed=Counter(
                "flightlog_notification_attempts_failed_total",
                "Delivery attempts that failed (each retry counts), by tenant, receiver, integration and reason.",
                ["tenant", "receiver", "integration", "reason"],
                registry=registry,
            ),
            failed=Counter(
                "flightlog_notifications_failed_total",
                "Notifications given up after all retries, by tenant, receiver, integration and reason.",
                ["tenant", "receiver", "integration", "reason"],
                registry=registry,
            ),
            latency=Histogram(
                "flightlog_notification_latency_seconds",
                "Time to deliver one notification, retries included, by tenant and integration.",
                ["tenant", "integration"],
                registry=registry,
            ),
            deduplicated=Counter(
                "flightlog_notifications_deduplicated_total",
                "Group flushes that sent nothing because the receiver already knew (notification log), by tenant, receiver and integration.",
                ["tenant", "receiver", "integration"],
                registry=registry,
            ),
        )
