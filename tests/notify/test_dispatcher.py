"""Grouping timers, dedup, silences and inhibition, driven by a fake clock."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from flightlog.model import LabelMatcher, MatchOp
from flightlog.notify.config import load_alerting_config
from flightlog.notify.dispatcher import Dispatcher, Notification
from flightlog.notify.metrics import NotifyMetrics
from flightlog.notify.nflog import NotificationLog
from flightlog.notify.silences import SilenceStore
from flightlog.rules.alert import Alert


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


CONFIG = {
    "route": {
        "receiver": "hook",
        "group_by": ["alertname"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "4h",
    },
    "receivers": [{"name": "hook", "webhook_configs": [{"url": "http://127.0.0.1:1/"}]}],
    "inhibit_rules": [
        {
            "source_matchers": ["severity=critical"],
            "target_matchers": ["severity=warning"],
            "equal": ["service"],
        }
    ],
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(tmp_path: Path, clock: Clock, config: dict = CONFIG) -> tuple[Dispatcher, SilenceStore]:
    silences = SilenceStore(tmp_path / "n.db", clock=clock)
    return Dispatcher(
        load_alerting_config(config), NotificationLog(tmp_path / "n.db"), silences, clock=clock
    ), silences


def firing(clock: Clock, **labels: str) -> Alert:
    return Alert(labels={"alertname": "A", **labels}, starts_at=clock.now, ends_at=clock.now + 3600)


def flush(dispatcher: Dispatcher) -> list[Notification]:
    """Tick and deliver successfully, like a working receiver."""
    out = dispatcher.tick()
    for n in out:
        dispatcher.delivered(n, ok=True)
    return out


def test_group_wait_batches_alerts_into_one_notification(tmp_path: Path, clock: Clock) -> None:
    """Alerts arriving within group_wait go out together, once."""
    dispatcher, _ = make(tmp_path, clock)
    dispatcher.put([firing(clock, service="a")])
    clock.now += 10
    dispatcher.put([firing(clock, service="b")])
    assert flush(dispatcher) == []
    clock.now += 20
    sent = flush(dispatcher)
    assert len(sent) == 1 and len(sent[0].alerts) == 2
    assert sent[0].group_key == '{}:{alertname="A"}'


def test_group_interval_sends_new_alerts_and_repeat_interval_repeats(
    tmp_path: Path, clock: Clock
) -> None:
    """A new alert waits for group_interval; an unchanged group repeats only after repeat_interval."""
    dispatcher, _ = make(tmp_path, clock)
    dispatcher.put([firing(clock, service="a")])
    clock.now += 30
    assert len(flush(dispatcher)) == 1
    clock.now += 60
    dispatcher.put([firing(clock, service="b")])
    assert flush(dispatcher) == []
    clock.now += 240
    sent = flush(dispatcher)
    assert len(sent) == 1 and len(sent[0].alerts) == 2
    clock.now += 300
    dispatcher.put(
        [Alert(a.labels, starts_at=a.starts_at, ends_at=clock.now + 3600) for a in sent[0].alerts]
    )
    assert flush(dispatcher) == []
    clock.now += 4 * 3600
    dispatcher.put(
        [Alert(a.labels, starts_at=a.starts_at, ends_at=clock.now + 3600) for a in sent[0].alerts]
    )
    assert len(flush(dispatcher)) == 1


def test_resolution_is_sent_then_group_is_gone(tmp_path: Path, clock: Clock) -> None:
    """When all alerts resolve, one resolved notification follows and the group is dropped."""
    dispatcher, _ = make(tmp_path, clock)
    alert = firing(clock)
    dispatcher.put([alert])
    clock.now += 30
    flush(dispatcher)
    clock.now += 10
    dispatcher.put([Alert(alert.labels, starts_at=alert.starts_at, ends_at=clock.now)])
    clock.now += 300
    sent = flush(dispatcher)
    assert [n.status.value for n in sent] == ["resolved"]
    assert dispatcher.next_due() is None


def test_failed_delivery_is_retried_next_interval(tmp_path: Path, clock: Clock) -> None:
    """A failed send is not logged, so the next flush tries again."""
    dispatcher, _ = make(tmp_path, clock)
    dispatcher.put([firing(clock)])
    clock.now += 30
    first = dispatcher.tick()
    dispatcher.delivered(first[0], ok=False)
    clock.now += 300
    assert len(flush(dispatcher)) == 1


def test_notification_log_survives_restart(tmp_path: Path, clock: Clock) -> None:
    """A new dispatcher over the same files sends nothing inside repeat_interval."""
    dispatcher, _ = make(tmp_path, clock)
    alert = firing(clock)
    dispatcher.put([alert])
    clock.now += 30
    assert len(flush(dispatcher)) == 1
    clock.now += 60
    restarted, _ = make(tmp_path, clock)
    restarted.put([alert])
    clock.now += 30
    assert flush(restarted) == []
    # ...but a resolution after the restart is still owed and sent.
    restarted.put([Alert(alert.labels, starts_at=alert.starts_at, ends_at=clock.now)])
    clock.now += 300
    assert [n.status.value for n in flush(restarted)] == ["resolved"]


def test_silence_mutes_until_expired(tmp_path: Path, clock: Clock) -> None:
    """A matching active silence suppresses; after expiry the alert is sent."""
    dispatcher, silences = make(tmp_path, clock)
    silence = silences.upsert(
        (LabelMatcher("service", MatchOp.RE, "a|b"),), clock.now, clock.now + 3600, "me", "x"
    )
    dispatcher.put([firing(clock, service="a")])
    clock.now += 30
    assert flush(dispatcher) == []
    assert dispatcher.alerts()[0][1].silenced_by == (silence.id,)
    silences.expire(silence.id)
    clock.now += 300
    assert len(flush(dispatcher)) == 1


def test_negative_silence_matchers(tmp_path: Path, clock: Clock) -> None:
    """`!=` and `!~` silence matchers mute only what they should."""
    dispatcher, silences = make(tmp_path, clock)
    silences.upsert(
        (
            LabelMatcher("alertname", MatchOp.EQ, "A"),
            LabelMatcher("service", MatchOp.NRE, "keep.*"),
        ),
        clock.now,
        clock.now + 60,
        "me",
        "",
    )
    dispatcher.put([firing(clock, service="keepme"), firing(clock, service="mute")])
    clock.now += 30
    sent = flush(dispatcher)
    assert [a.labels["service"] for a in sent[0].alerts] == ["keepme"]


def test_inhibition_needs_equal_labels(tmp_path: Path, clock: Clock) -> None:
    """A critical alert inhibits warnings of the same service only."""
    dispatcher, _ = make(
        tmp_path, clock, {**CONFIG, "route": {**CONFIG["route"], "group_by": ["..."]}}
    )
    dispatcher.put(
        [
            firing(clock, severity="critical", service="api"),
            firing(clock, severity="warning", service="api"),
            firing(clock, severity="warning", service="db"),
        ]
    )
    clock.now += 30
    sent = flush(dispatcher)
    labels = sorted((n.alerts[0].labels["severity"], n.alerts[0].labels["service"]) for n in sent)
    assert labels == [("critical", "api"), ("warning", "db")]


def test_send_resolved_false_gets_no_resolved_alerts(tmp_path: Path, clock: Clock) -> None:
    """An integration with send_resolved: false receives firing alerts only."""
    config = {
        "route": {"receiver": "r", "group_by": ["alertname"], "group_wait": "0s"},
        "receivers": [
            {"name": "r", "webhook_configs": [{"url": "http://x/", "send_resolved": False}]}
        ],
    }
    dispatcher, _ = make(tmp_path, clock, config)
    a, b = firing(clock, service="a"), firing(clock, service="b")
    dispatcher.put([a, b])
    flush(dispatcher)
    dispatcher.put(
        [Alert(b.labels, starts_at=b.starts_at, ends_at=clock.now), firing(clock, service="c")]
    )
    clock.now += 300
    sent = flush(dispatcher)
    assert sorted(x.labels["service"] for x in sent[0].alerts) == ["a", "c"]


def test_old_alert_skips_group_wait(tmp_path: Path, clock: Clock) -> None:
    """An alert that started longer ago than group_wait is flushed at once."""
    dispatcher, _ = make(tmp_path, clock)
    dispatcher.put([Alert({"alertname": "A"}, starts_at=clock.now - 600, ends_at=clock.now + 60)])
    assert len(flush(dispatcher)) == 1


def test_retention_forgets_old_log_entries_and_silences(tmp_path: Path, clock: Clock) -> None:
    """After the retention, nflog entries and expired silences are dropped; recent ones stay."""
    from flightlog.notify.service import RETENTION_S, NotifyService

    service = NotifyService(load_alerting_config(CONFIG), tmp_path / "svc", clock=clock)
    try:
        old = service.silences.upsert(
            (LabelMatcher("a", MatchOp.EQ, "b"),), clock.now, clock.now + 60, "me", ""
        )
        service.put([firing(clock)])
        clock.now += 30
        for n in service.dispatcher.tick():
            service.dispatcher.delivered(n, ok=True)
        clock.now += RETENTION_S + 120
        recent = service.silences.upsert(
            (LabelMatcher("a", MatchOp.EQ, "c"),), clock.now, clock.now + 60, "me", ""
        )
        service.collect_garbage()
        assert [s.id for s in service.silences.all()] == [recent.id]
        assert service.nflog.get('{}:{alertname="A"}', "hook/webhook/0") is None
        assert old.id != recent.id
    finally:
        service.stop()


def test_deduplicated_flushes_are_counted_under_the_groups_tenant(
    tmp_path: Path, clock: Clock
) -> None:
    """Two tenants' groups on the default tree each count their own deduplicated flush."""
    registry = CollectorRegistry()
    dispatcher = Dispatcher(
        load_alerting_config(CONFIG),
        NotificationLog(tmp_path / "n.db"),
        SilenceStore(tmp_path / "n.db", clock=clock),
        clock=clock,
        metrics=NotifyMetrics.create(registry),
    )
    dispatcher.put(
        [replace(firing(clock), tenant="team-c"), replace(firing(clock), tenant="team-d")]
    )
    clock.now += 30
    assert len(flush(dispatcher)) == 2
    clock.now += 300  # group_interval: nothing changed, nothing re-sent
    assert flush(dispatcher) == []
    for tenant in ("team-c", "team-d"):
        labels = {"tenant": tenant, "receiver": "hook", "integration": "webhook"}
        value = registry.get_sample_value("flightlog_notifications_deduplicated_total", labels)
        assert value == 1, tenant
