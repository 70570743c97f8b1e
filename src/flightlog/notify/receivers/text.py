"""Human-readable titles and bodies shared by Slack, PagerDuty and email."""

from __future__ import annotations

from flightlog.notify.dispatcher import Notification
from flightlog.rules.alert import AlertStatus

__all__ = ["body", "title"]


def title(notification: Notification) -> str:
    """``[FIRING:2] HighErrorRate (svc=api)`` like Alertmanager's default title."""
    firing = sum(
        1 for a in notification.alerts if a.status_at(notification.at) is AlertStatus.FIRING
    )
    status = notification.status.value.upper()
    count = f":{firing}" if notification.status is AlertStatus.FIRING else ""
    labels = " ".join(
        f"{k}={v}" for k, v in sorted(notification.group_labels.items()) if k != "alertname"
    )
    name = notification.group_labels.get("alertname") or (
        notification.alerts[0].name if notification.alerts else ""
    )
    return f"[{status}{count}] {name}" + (f" ({labels})" if labels else "")


def body(notification: Notification) -> str:
    """One block per alert: summary, description, runbook, labels and the query link."""
    lines: list[str] = []
    for alert in notification.alerts:
        status = alert.status_at(notification.at).value.upper()
        lines.append(f"[{status}] {alert.annotations.get('summary') or alert.name}")
        if alert.annotations.get("description"):
            lines.append(alert.annotations["description"])
        if alert.annotations.get("runbook_url"):
            lines.append(f"Runbook: {alert.annotations['runbook_url']}")
        if alert.generator_url:
            lines.append(f"Query: {alert.generator_url}")
        lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())))
        lines.append("")
    return "\n".join(lines).strip() + "\n"
