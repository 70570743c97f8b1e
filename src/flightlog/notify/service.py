"""The running notification pipeline: dispatcher + delivery + a ticker thread, over one state dir.

``NotifyService(config, state_dir)`` is what the server starts: silences, the
notification log and the tenants' configurations set through the API live in
``state_dir/notify.db`` so they survive restarts. ``senders`` replaces the integrations'
send functions (by kind), for tests.

A tenant is routed by, in order: its tree in ``alerting.tenants`` (flightlog.yaml; the
API cannot change it), the configuration it set through the API, the default tree.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from flightlog.errors import ConfigError
from flightlog.model import DEFAULT_TENANT
from flightlog.notify.config import AlertingConfig
from flightlog.notify.delivery import Delivery, RetryPolicy, Sender
from flightlog.notify.dispatcher import Dispatcher
from flightlog.notify.metrics import NotifyMetrics
from flightlog.notify.nflog import NotificationLog
from flightlog.notify.silences import SilenceStore
from flightlog.notify.tenant_configs import TenantConfigStore, parse_tenant_config
from flightlog.rules.alert import Alert

__all__ = ["NotifyService"]

log = logging.getLogger("flightlog.notify")

_MAX_SLEEP_S = 0.5
# Alertmanager's default --data.retention: notification-log entries and expired silences.
RETENTION_S = 120 * 3600.0
_GC_EVERY_S = 3600.0


class NotifyService:
    def __init__(
        self,
        config: AlertingConfig,
        state_dir: Path,
        external_url: str = "",
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
        metrics: NotifyMetrics | None = None,
        senders: dict[str, Sender] | None = None,
    ) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.silences = SilenceStore(state_dir / "notify.db", clock=clock)
        self.nflog = NotificationLog(state_dir / "notify.db")
        self.metrics = metrics or NotifyMetrics.create()
        self.dispatcher = Dispatcher(
            config, self.nflog, self.silences, clock=clock, metrics=self.metrics
        )
        self.delivery = Delivery(
            self.dispatcher.delivered,
            external_url=external_url,
            retry=retry,
            senders=senders,
            metrics=self.metrics,
        )
        self.tenant_configs = TenantConfigStore(state_dir / "notify.db")
        self._tenant_lock = threading.Lock()
        for tenant, text in sorted(self.tenant_configs.all().items()):
            if self.configured_in_file(tenant):
                log.warning(
                    "tenant %r: the configuration set through the API is not used: "
                    "flightlog.yaml configures this tenant",
                    tenant,
                )
                continue
            try:
                self.dispatcher.set_tenant_config(tenant, parse_tenant_config(text, tenant))
            except ConfigError as exc:  # e.g. stored by a version that read more keys
                log.warning("tenant %r: stored configuration not used: %s", tenant, exc)
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def configured_in_file(self, tenant: str) -> bool:
        """Whether flightlog.yaml gives ``tenant`` its tree (``default``: the top-level one)."""
        return tenant == DEFAULT_TENANT or tenant in self.dispatcher.config.tenants

    def tenant_config(self, tenant: str) -> AlertingConfig | None:
        """``tenant``'s own configuration (from flightlog.yaml or the API); ``None`` if it has
        none and uses the default tree."""
        if self.configured_in_file(tenant):
            return self.dispatcher.config.for_tenant(tenant)
        text = self.tenant_configs.get(tenant)
        return None if text is None else self.dispatcher.config_for(tenant)

    def set_tenant_config(self, tenant: str, text: str) -> AlertingConfig:
        """Check, store and apply ``tenant``'s configuration; ``ConfigError`` leaves the
        stored one as it was."""
        config = parse_tenant_config(text, tenant)
        with self._tenant_lock:  # the stored and the running config change together
            self.tenant_configs.put(tenant, text, self._clock())
            self.dispatcher.set_tenant_config(tenant, config)
        for warning in config.warnings:
            log.warning("tenant %r: %s", tenant, warning)
        self._wake.set()
        return config

    def delete_tenant_config(self, tenant: str) -> bool:
        """Forget ``tenant``'s configuration: it uses the default tree again."""
        with self._tenant_lock:
            found = self.tenant_configs.delete(tenant)
            if found:
                self.dispatcher.set_tenant_config(tenant, None)
        self._wake.set()
        return found

    def put(self, alerts: Iterable[Alert]) -> None:
        self.dispatcher.put(alerts)
        self._wake.set()

    def run_once(self) -> int:
        """Flush what is due and hand it to delivery; returns how many notifications left."""
        due = self.dispatcher.tick()
        for notification in due:
            self.delivery.submit(notification)
        return len(due)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="notify-ticker", daemon=True)
        self._thread.start()

    def collect_garbage(self) -> None:
        """Forget notification-log entries and expired silences older than the retention."""
        cutoff = self._clock() - RETENTION_S
        self.nflog.forget_before(cutoff)
        self.silences.forget_expired_before(cutoff)

    def _loop(self) -> None:
        last_gc = self._clock()
        while not self._stop.is_set():
            self.run_once()
            if self._clock() - last_gc > _GC_EVERY_S:
                self.collect_garbage()
                last_gc = self._clock()
            next_due = self.dispatcher.next_due()
            wait = (
                _MAX_SLEEP_S
                if next_due is None
                else min(_MAX_SLEEP_S, max(0.0, next_due - self._clock()))
            )
            self._wake.wait(max(wait, 0.005))
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        self.delivery.stop()
        self.silences.close()
        self.nflog.close()
        self.tenant_configs.close()
