"""Grouping, timers, muting and deduplication: from alerts to the notifications owed.

``Dispatcher`` is deterministic and clock-driven: ``put`` takes alerts, ``tick`` looks at
the injected clock and returns the ``Notification`` values due now (one per group and
integration that needs one); whoever delivers them calls ``delivered`` so the
notification log is written only after a successful send, as Alertmanager does. A group
with a delivery in flight is not flushed again until that delivery finishes.

Timers follow Alertmanager: a new group waits ``group_wait`` (or flushes at once when its
alert started longer ago than that), then flushes every ``group_interval``; an unchanged
group is re-sent only after ``repeat_interval``.

Tenants are kept apart as in Mimir's multi-tenant Alertmanager: an alert is identified by
(tenant, fingerprint), groups of a tenant other than the default have keys under
``<tenant>/``, and only the tenant's own silences and firing alerts mute or inhibit it. Each tenant is
routed by its own tree (``alerting.tenants``, or one set with ``set_tenant_config``) or,
without one, by the default tree; inhibit rules and receivers come from the same tree.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace

from flightlog.model import DEFAULT_TENANT
from flightlog.notify.config import AlertingConfig, Integration, Route
from flightlog.notify.inhibit import inhibiting
from flightlog.notify.metrics import NotifyMetrics
from flightlog.notify.nflog import NotificationLog, NotificationLogEntry
from flightlog.notify.routing import group_key, group_labels, match_routes
from flightlog.notify.silences import SilenceStore
from flightlog.rules.alert import Alert, AlertStatus

__all__ = ["AlertMarker", "Dispatcher", "Notification"]

# Resolved alerts stay visible in the store this long so late groups still learn of them.
RESOLVED_RETENTION_S = 15 * 60.0


@dataclass(frozen=True, slots=True)
class Notification:
    """What one integration must be told about one group at ``at``."""

    integration: Integration
    group_key: str
    group_labels: Mapping[str, str]
    alerts: tuple[Alert, ...]
    firing: frozenset[str]
    resolved: frozenset[str]
    at: float
    tenant: str = DEFAULT_TENANT

    @property
    def status(self) -> AlertStatus:
        return (
            AlertStatus.FIRING
            if any(a.status_at(self.at) is AlertStatus.FIRING for a in self.alerts)
            else AlertStatus.RESOLVED
        )


@dataclass(frozen=True, slots=True)
class AlertMarker:
    """Why an alert is or is not being notified, in Alertmanager's API terms."""

    state: str  # "active", "suppressed" or "unprocessed"
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    receivers: tuple[str, ...] = ()


_AlertKey = tuple[str, str]  # (tenant, fingerprint)


def _key(alert: Alert) -> _AlertKey:
    return (alert.tenant, alert.fingerprint)


@dataclass
class _Group:
    route: Route
    key: str
    labels: dict[str, str]
    tenant: str = DEFAULT_TENANT
    alerts: dict[str, Alert] = field(default_factory=dict)
    next_flush: float = 0.0
    has_flushed: bool = False
    in_flight: int = 0


class Dispatcher:
    """Alert store + aggregation groups; thread-safe (the API, ruler and ticker share it)."""

    def __init__(
        self,
        config: AlertingConfig,
        nflog: NotificationLog,
        silences: SilenceStore,
        clock: Callable[[], float] = time.time,
        metrics: NotifyMetrics | None = None,
    ) -> None:
        self._config = config
        self._metrics = metrics
        self._nflog = nflog
        self._silences = silences
        self._clock = clock
        self._lock = threading.RLock()
        self._alerts: dict[_AlertKey, Alert] = {}
        self._groups: dict[str, _Group] = {}
        self._tenant_configs: dict[str, AlertingConfig] = {}

    @property
    def config(self) -> AlertingConfig:
        return self._config

    def config_for(self, tenant: str) -> AlertingConfig:
        """The tree routing ``tenant``: one set at runtime, else from ``alerting:``."""
        with self._lock:
            found = self._tenant_configs.get(tenant)
        return found if found is not None else self._config.for_tenant(tenant)

    def set_tenant_config(self, tenant: str, config: AlertingConfig | None) -> None:
        """Route ``tenant`` by ``config`` from now on (``None``: back to ``alerting:``).

        The tenant's groups are rebuilt under the new tree from its alerts, as Mimir
        restarts a tenant's Alertmanager on a new configuration; other tenants are not
        touched.
        """
        now = self._clock()
        with self._lock:
            if config is None:
                self._tenant_configs.pop(tenant, None)
            else:
                self._tenant_configs[tenant] = config
            for key, group in list(self._groups.items()):
                if group.tenant == tenant:
                    del self._groups[key]
            for alert in self._alerts.values():
                if alert.tenant == tenant:
                    self._group(alert, now)

    def put(self, alerts: Iterable[Alert]) -> None:
        """Take new or updated alerts; an alert without ``ends_at`` resolves after ``resolve_timeout``."""
        now = self._clock()
        with self._lock:
            for alert in alerts:
                if alert.ends_at is None:
                    resolve_s = self.config_for(alert.tenant).resolve_timeout_s
                    alert = replace(alert, ends_at=now + resolve_s)
                if not alert.updated_at:
                    alert = replace(alert, updated_at=now)
                previous = self._alerts.get(_key(alert))
                if previous is not None and previous.status_at(now) is AlertStatus.FIRING:
                    alert = replace(alert, starts_at=min(previous.starts_at, alert.starts_at))
                self._alerts[_key(alert)] = alert
                self._group(alert, now)

    def _group(self, alert: Alert, now: float) -> None:
        """Put ``alert`` into the groups of every route of its tenant's tree it reaches."""
        for route in match_routes(self.config_for(alert.tenant).route, alert.labels):
            key = group_key(route, alert.labels, alert.tenant)
            group = self._groups.get(key)
            if group is None:
                group = _Group(
                    route,
                    key,
                    group_labels(route, alert.labels),
                    alert.tenant,
                    next_flush=now + route.group_wait_s,
                )
                self._groups[key] = group
            group.alerts[alert.fingerprint] = alert
            # An alert older than group_wait need not wait again (e.g. after a restart).
            if not group.has_flushed and alert.starts_at + route.group_wait_s <= now:
                group.next_flush = min(group.next_flush, now)

    def alerts(self, tenants: Collection[str] | None = None) -> list[tuple[Alert, AlertMarker]]:
        """The alerts in the store (of ``tenants``, or all) with their markers, for ``GET /api/v2/alerts``."""
        now = self._clock()
        with self._lock:
            alerts = list(self._alerts.values())
        firing = [a for a in alerts if a.status_at(now) is AlertStatus.FIRING]
        out = []
        for alert in alerts:
            if tenants is not None and alert.tenant not in tenants:
                continue
            receivers = tuple(
                dict.fromkeys(
                    r.receiver
                    for r in match_routes(self.config_for(alert.tenant).route, alert.labels)
                )
            )
            out.append((alert, self._marker(alert, firing, now, receivers)))
        return out

    def _marker(
        self, alert: Alert, firing: list[Alert], now: float, receivers: tuple[str, ...] = ()
    ) -> AlertMarker:
        silenced = tuple(self._silences.muting(alert.labels, now, alert.tenant))
        # A generator: inhibiting() reads it only when an inhibit rule targets this alert.
        same_tenant = (a for a in firing if a.tenant == alert.tenant)
        rules = self.config_for(alert.tenant).inhibit_rules
        inhibited = tuple(inhibiting(rules, alert.labels, same_tenant))
        state = "suppressed" if silenced or inhibited else "active"
        return AlertMarker(state, silenced, inhibited, receivers)

    def groups(
        self, tenants: Collection[str] | None = None
    ) -> list[tuple[str, str, dict[str, str], list[Alert]]]:
        """(group key, receiver, group labels, alerts) of every aggregation group (of ``tenants``)."""
        with self._lock:
            return [
                (g.key, g.route.receiver, dict(g.labels), list(g.alerts.values()))
                for g in sorted(self._groups.values(), key=lambda g: g.key)
                if tenants is None or g.tenant in tenants
            ]

    def next_due(self) -> float | None:
        """When the earliest group wants flushing (``None`` with no groups)."""
        with self._lock:
            return min((g.next_flush for g in self._groups.values()), default=None)

    def tick(self) -> list[Notification]:
        """Flush every group that is due and return the notifications owed."""
        now = self._clock()
        out: list[Notification] = []
        with self._lock:
            self._gc(now)
            firing = [a for a in self._alerts.values() if a.status_at(now) is AlertStatus.FIRING]
            for group in list(self._groups.values()):
                if group.next_flush > now or group.in_flight:
                    continue
                group.has_flushed = True
                group.next_flush = now + group.route.group_interval_s
                out.extend(self._flush(group, firing, now))
        return out

    def _flush(self, group: _Group, firing_all: list[Alert], now: float) -> list[Notification]:
        visible = [
            a for a in group.alerts.values() if self._marker(a, firing_all, now).state == "active"
        ]
        if not visible:
            self._drop_resolved(group, now)
            return []
        visible.sort(key=lambda a: (a.starts_at, a.fingerprint))
        firing = frozenset(a.fingerprint for a in visible if a.status_at(now) is AlertStatus.FIRING)
        resolved = frozenset(
            a.fingerprint for a in visible if a.status_at(now) is AlertStatus.RESOLVED
        )
        receiver = self.config_for(group.tenant).receivers[group.route.receiver]
        out = []
        for integration in receiver.integrations:
            entry = self._nflog.get(group.key, integration.key)
            if not _needs_update(
                entry,
                firing,
                resolved,
                integration.send_resolved,
                group.route.repeat_interval_s,
                now,
            ):
                if self._metrics is not None:
                    self._metrics.deduplicated.labels(
                        group.tenant, integration.receiver, integration.kind
                    ).inc()
                continue
            alerts = tuple(
                visible
                if integration.send_resolved
                else [a for a in visible if a.fingerprint in firing]
            )
            out.append(
                Notification(
                    integration,
                    group.key,
                    dict(group.labels),
                    alerts,
                    firing,
                    resolved,
                    now,
                    group.tenant,
                )
            )
        group.in_flight += len(out)
        if not out:
            self._drop_resolved(group, now)
        return out

    def delivered(self, notification: Notification, ok: bool) -> None:
        """Record the outcome of a delivery; only a success enters the notification log.

        The group is released in every case (also when writing the log fails), so it is
        flushed again at its next ``group_interval``.
        """
        try:
            if ok:
                self._nflog.record(
                    NotificationLogEntry(
                        notification.group_key,
                        notification.integration.key,
                        notification.firing,
                        notification.resolved,
                        notification.at,
                    )
                )
        finally:
            with self._lock:
                group = self._groups.get(notification.group_key)
                if group is not None:
                    group.in_flight = max(0, group.in_flight - 1)
                    if ok and not group.in_flight:
                        self._drop_resolved(group, self._clock(), notification.resolved)

    def _drop_resolved(self, group: _Group, now: float, sent: frozenset[str] | None = None) -> None:
        for fp, alert in list(group.alerts.items()):
            if alert.status_at(now) is AlertStatus.RESOLVED and (sent is None or fp in sent):
                del group.alerts[fp]
        if not group.alerts:
            del self._groups[group.key]

    def _gc(self, now: float) -> None:
        for key, alert in list(self._alerts.items()):
            if alert.ends_at is not None and alert.ends_at + RESOLVED_RETENTION_S < now:
                del self._alerts[key]


def _needs_update(
    entry: NotificationLogEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    send_resolved: bool,
    repeat_interval_s: float,
    now: float,
) -> bool:
    """Alertmanager's dedup decision for one integration."""
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        # Everything resolved: tell whoever heard about firing alerts (clears the log too).
        return bool(entry.firing)
    if send_resolved and not resolved <= entry.resolved:
        return True
    return entry.sent_at <= now - repeat_interval_s
