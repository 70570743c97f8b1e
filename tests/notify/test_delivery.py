"""Delivery survives whatever a send raises, and counts it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from flightlog.notify.config import load_alerting_config
from flightlog.notify.delivery import RetryPolicy
from flightlog.notify.metrics import NotifyMetrics
from flightlog.notify.receivers import webhook
from flightlog.notify.service import NotifyService
from flightlog.notify.testing import RecordingReceiver
from flightlog.rules.alert import Alert


def _alert(service: str) -> Alert:
    return Alert(
        labels={"alertname": "HighErrorRate", "service": service},
        starts_at=time.time(),
        ends_at=time.time() + 600,
    )


def test_a_send_that_raises_does_not_stop_the_receiver(tmp_path: Path) -> None:
    """A sender bug fails one notification (counted as internal); the group is flushed again."""
    registry = CollectorRegistry()
    calls: list[str] = []

    def flaky(notification: Any, external_url: str, timeout_s: float, client: Any) -> None:
        calls.append(notification.group_key)
        if len(calls) == 1:
            raise RuntimeError("a bug in a sender")
        webhook.send(notification, external_url, timeout_s, client)

    with RecordingReceiver() as hook:
        config = load_alerting_config(
            {
                "route": {
                    "receiver": "h",
                    "group_by": ["alertname"],
                    "group_wait": "0s",
                    "group_interval": "100ms",
                },
                "receivers": [{"name": "h", "webhook_configs": [{"url": hook.url}]}],
            }
        )
        svc = NotifyService(
            config,
            tmp_path,
            retry=RetryPolicy(initial_backoff_s=0.01, max_attempts=3),
            metrics=NotifyMetrics.create(registry),
            senders={"webhook": flaky},
        )
        svc.start()
        try:
            svc.put([_alert("api")])
            (body,) = hook.wait_for(1)
        finally:
            svc.stop()
    assert [a["labels"]["service"] for a in body["alerts"]] == ["api"]
    labels = {"tenant": "default", "receiver": "h", "integration": "webhook", "reason": "internal"}
    assert registry.get_sample_value("flightlog_notifications_failed_total", labels) == 1
    assert registry.get_sample_value("flightlog_notification_attempts_failed_total", labels) == 1
