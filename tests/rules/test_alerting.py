"""The alert state machine: pending → firing → resolved, `for` and `keep_firing_for`."""

from __future__ import annotations

from flightlog.rules.alerting import RESOLVED_RETENTION_NS, evaluate_alerting_rule, to_notify_alert
from flightlog.rules.model import AlertingRule, AlertState, Sample

S = 1_000_000_000
T0 = 1_767_225_600 * S
RULE = AlertingRule(
    "HighErrorRate",
    'sum by (service) (count_over_time({service="api"} |= "error" [1m])) > 5',
    for_s=120,
    labels={"severity": "high", "team": "{{ $labels.service }}-oncall"},
    annotations={"summary": "{{ $labels.service }} logs {{ $value | humanize }} errors/min"},
)
API = [Sample({"service": "api"}, 12.0)]


def states(alerts: dict) -> list[str]:
    return [a.state.value for a in alerts.values()]


def test_pending_until_for_elapses_then_firing() -> None:
    """A breach is pending for `for`, then firing with fired_at set."""
    active = evaluate_alerting_rule(RULE, {}, API, T0)
    assert states(active) == ["pending"]
    active = evaluate_alerting_rule(RULE, active, API, T0 + 60 * S)
    assert states(active) == ["pending"]
    active = evaluate_alerting_rule(RULE, active, API, T0 + 120 * S)
    (alert,) = active.values()
    assert (
        alert.state is AlertState.FIRING
        and alert.fired_at_ns == T0 + 120 * S
        and alert.active_at_ns == T0
    )


def test_labels_and_annotations_are_templated() -> None:
    """Rule labels and annotations expand $labels and $value; alertname is added."""
    (alert,) = evaluate_alerting_rule(RULE, {}, API, T0).values()
    assert alert.labels == {
        "service": "api",
        "severity": "high",
        "team": "api-oncall",
        "alertname": "HighErrorRate",
    }
    assert alert.annotations == {"summary": "api logs 12 errors/min"}


def test_pending_that_clears_is_dropped_silently() -> None:
    """A pending alert whose condition clears never fires and leaves nothing to send."""
    active = evaluate_alerting_rule(RULE, {}, API, T0)
    assert evaluate_alerting_rule(RULE, active, [], T0 + 60 * S) == {}


def test_firing_that_clears_is_resolved_and_kept_for_retention() -> None:
    """A firing alert resolves with resolved_at and stays 15 minutes so the resolution is sent."""
    rule = AlertingRule("A", "x", for_s=0)
    active = evaluate_alerting_rule(rule, {}, API, T0)
    assert states(active) == ["firing"]
    active = evaluate_alerting_rule(rule, active, [], T0 + 60 * S)
    (alert,) = active.values()
    assert alert.state is AlertState.INACTIVE and alert.resolved_at_ns == T0 + 60 * S
    sent = to_notify_alert(alert, rule, T0 + 60 * S, 60, "http://fl")
    assert sent is not None and sent.ends_at == T0 / S + 60
    later = evaluate_alerting_rule(rule, active, [], T0 + 60 * S + RESOLVED_RETENTION_NS + S)
    assert later == {}


def test_keep_firing_for_holds_firing_through_a_gap() -> None:
    """With keep_firing_for, a firing alert survives short gaps and resolves after the hold."""
    rule = AlertingRule("A", "x", keep_firing_for_s=120)
    active = evaluate_alerting_rule(rule, {}, API, T0)
    active = evaluate_alerting_rule(rule, active, [], T0 + 60 * S)
    assert states(active) == ["firing"]
    active = evaluate_alerting_rule(rule, active, API, T0 + 120 * S)  # back: the hold resets
    active = evaluate_alerting_rule(rule, active, [], T0 + 180 * S)
    active = evaluate_alerting_rule(rule, active, [], T0 + 240 * S)
    assert states(active) == ["firing"]
    active = evaluate_alerting_rule(rule, active, [], T0 + 300 * S)
    assert states(active) == ["inactive"]


def test_resolved_alert_that_returns_starts_pending_again() -> None:
    """A label set that comes back after resolving waits `for` again."""
    rule = AlertingRule("A", "x", for_s=60)
    active = evaluate_alerting_rule(rule, {}, API, T0)
    active = evaluate_alerting_rule(rule, active, API, T0 + 60 * S)
    active = evaluate_alerting_rule(rule, active, [], T0 + 120 * S)
    active = evaluate_alerting_rule(rule, active, API, T0 + 180 * S)
    (alert,) = active.values()
    assert alert.state is AlertState.PENDING and alert.active_at_ns == T0 + 180 * S


def test_pending_alerts_are_not_sent_and_generator_url_links_the_query() -> None:
    """Only firing or resolved alerts reach notify, with a link to the explore page."""
    (pending,) = evaluate_alerting_rule(RULE, {}, API, T0).values()
    assert to_notify_alert(pending, RULE, T0, 60, "http://fl") is None
    (firing,) = evaluate_alerting_rule(AlertingRule("A", "x"), {}, API, T0).values()
    sent = to_notify_alert(firing, RULE, T0, 60, "http://fl:3100/")
    assert sent is not None
    assert sent.generator_url.startswith("http://fl:3100/?query=sum%20by%20%28service%29")
    assert sent.status_at(T0 / S).value == "firing"
