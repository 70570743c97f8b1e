"""The alert state machine of one alerting rule, as Prometheus runs it.

Each evaluation takes the rule's result vector at time ``ts_ns``:

* a new label set becomes ``pending`` (active since ``ts_ns``);
* ``pending`` turns ``firing`` once it has been active for ``for``;
* a label set missing from the result: ``pending`` is dropped; ``firing`` stays firing
  while within ``keep_firing_for`` of when it first went missing, else becomes
  ``inactive`` with ``resolved_at`` and is kept 15 minutes so the resolution is sent;
* a resolved label set that comes back starts over as pending.

The state is plain data (``ActiveAlert``) so it can be saved and restored across restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote

from flightlog.model import DEFAULT_TENANT
from flightlog.rules.alert import Alert, fingerprint
from flightlog.rules.model import AlertingRule, AlertState, Sample
from flightlog.rules.template import TemplateData, expand

__all__ = ["RESOLVED_RETENTION_NS", "ActiveAlert", "evaluate_alerting_rule", "to_notify_alert"]

RESOLVED_RETENTION_NS = 15 * 60 * 1_000_000_000
NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: AlertState
    value: float
    active_at_ns: int
    fired_at_ns: int = 0
    resolved_at_ns: int = 0
    keep_firing_since_ns: int = 0
    last_eval_ns: int = 0

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)


def _labels_and_annotations(
    rule: AlertingRule, sample: Sample, external_url: str
) -> tuple[dict[str, str], dict[str, str]]:
    data = TemplateData(sample.labels, sample.value, external_url)
    labels = {k: v for k, v in sample.labels.items() if k != "__name__"}
    for name, template in rule.labels.items():
        value = expand(template, data)
        if value:
            labels[name] = value
        else:
            labels.pop(name, None)
    labels["alertname"] = rule.name
    full = TemplateData(labels, sample.value, external_url)
    annotations = {name: expand(template, full) for name, template in rule.annotations.items()}
    return labels, annotations


def evaluate_alerting_rule(
    rule: AlertingRule,
    previous: Mapping[str, ActiveAlert],
    result: Iterable[Sample],
    ts_ns: int,
    external_url: str = "",
) -> dict[str, ActiveAlert]:
    """The rule's active alerts after one evaluation (keyed by fingerprint)."""
    current: dict[str, ActiveAlert] = {}
    for sample in result:
        labels, annotations = _labels_and_annotations(rule, sample, external_url)
        fp = fingerprint(labels)
        before = previous.get(fp)
        if before is not None and before.state is not AlertState.INACTIVE:
            current[fp] = replace(
                before,
                value=sample.value,
                annotations=annotations,
                keep_firing_since_ns=0,
                last_eval_ns=ts_ns,
            )
        else:
            current[fp] = ActiveAlert(
                labels, annotations, AlertState.PENDING, sample.value, ts_ns, last_eval_ns=ts_ns
            )
    out: dict[str, ActiveAlert] = {}
    for fp, alert in previous.items():
        if fp in current:
            continue
        if alert.state is AlertState.PENDING:
            continue
        if alert.state is AlertState.INACTIVE:
            if ts_ns - alert.resolved_at_ns <= RESOLVED_RETENTION_NS:
                out[fp] = alert
            continue
        since = alert.keep_firing_since_ns or ts_ns
        if rule.keep_firing_for_s and ts_ns - since < rule.keep_firing_for_s * NS:
            out[fp] = replace(alert, keep_firing_since_ns=since, last_eval_ns=ts_ns)
        else:
            out[fp] = replace(
                alert, state=AlertState.INACTIVE, resolved_at_ns=ts_ns, last_eval_ns=ts_ns
            )
    for fp, alert in current.items():
        if alert.state is AlertState.PENDING and ts_ns - alert.active_at_ns >= rule.for_s * NS:
            alert = replace(alert, state=AlertState.FIRING, fired_at_ns=ts_ns)
        out[fp] = alert
    return out


def generator_url(external_url: str, expr: str) -> str:
    """Link to the explore page of the UI with the rule's query filled in."""
    return f"{external_url.rstrip('/')}/?query={quote(expr, safe='')}&range=1h"


def to_notify_alert(
    alert: ActiveAlert,
    rule: AlertingRule,
    ts_ns: int,
    interval_s: float,
    external_url: str,
    tenant: str = DEFAULT_TENANT,
) -> Alert | None:
    """The Alertmanager alert to send for an active alert (``None`` while pending).

    Firing alerts are valid for four evaluation intervals, so if evaluation stops they
    resolve on their own, as Prometheus does.
    """
    if alert.state is AlertState.PENDING:
        return None
    ends_at = (
        alert.resolved_at_ns / NS
        if alert.state is AlertState.INACTIVE
        else ts_ns / NS + 4 * max(interval_s, 60.0)
    )
    return Alert(
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.active_at_ns / NS,
        ends_at=ends_at,
        generator_url=generator_url(external_url, rule.expr),
        updated_at=ts_ns / NS,
        tenant=tenant,
    )
