"""Notification templates: Alertmanager's template data and its default templates' names.

Slack titles and texts, PagerDuty descriptions and details, email headers and bodies are
templates, rendered with the rules' Go-template subset (``flightlog.rules.template``) over
Alertmanager's data for one notification:

* ``.Status`` (``firing``/``resolved``), ``.Receiver``, ``.ExternalURL``, ``.GroupKey``;
* ``.GroupLabels``, ``.CommonLabels``, ``.CommonAnnotations`` (maps: ``.CommonLabels.service``,
  and ``.Names``/``.Values`` as sorted lists, e.g. ``{{ .GroupLabels.Values | join " " }}``);
* ``.Alerts``, ``.Alerts.Firing``, ``.Alerts.Resolved`` (lists, for ``len``).

``{{ template "name" . }}`` knows the names of Alertmanager's ``default.tmpl``
(``slack.default.title``, ``slack.default.text``, ``pagerduty.default.description``,
``email.default.subject``, ``email.default.html`` ...) with flightlog's texts; a
``range``/``if`` or a template of one's own (``templates:`` files) is outside the subset:
``check_field`` reports it when the configuration loads and the field's default is sent
instead, never the raw text.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flightlog.errors import RuleError
from flightlog.rules.alert import Alert, AlertStatus
from flightlog.rules.template import render

if TYPE_CHECKING:
    from flightlog.notify.dispatcher import Notification

__all__ = [
    "DEFAULT_TEMPLATE_NAMES",
    "TEMPLATED_MAPS",
    "TEMPLATED_OPTIONS",
    "NotificationData",
    "body",
    "check_field",
    "common",
    "html_body",
    "render_field",
    "render_text",
    "title",
]

log = logging.getLogger("flightlog.notify")


def common(values: list[dict[str, str]]) -> dict[str, str]:
    """The key/value pairs every mapping shares."""
    if not values:
        return {}
    shared = dict(values[0])
    for other in values[1:]:
        shared = {k: v for k, v in shared.items() if other.get(k) == v}
    return shared


def _firing(notification: Notification) -> list[Alert]:
    return [a for a in notification.alerts if a.status_at(notification.at) is AlertStatus.FIRING]


def title(notification: Notification) -> str:
    """``[FIRING:2] HighErrorRate (svc=api)`` like Alertmanager's default title."""
    status = notification.status.value.upper()
    count = f":{len(_firing(notification))}" if notification.status is AlertStatus.FIRING else ""
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


def html_body(notification: Notification, external_url: str) -> str:
    """A plain HTML page with the same blocks as ``body`` (every value escaped)."""
    parts = [f"<h2>{html.escape(title(notification))}</h2>"]
    for alert in notification.alerts:
        status = alert.status_at(notification.at).value.upper()
        summary = alert.annotations.get("summary") or alert.name
        parts.append(f"<h3>[{status}] {html.escape(summary)}</h3>")
        if alert.annotations.get("description"):
            parts.append(f"<p>{html.escape(alert.annotations['description'])}</p>")
        links = [
            f'<a href="{html.escape(url, quote=True)}">{text}</a>'
            for text, url in (
                ("Runbook", alert.annotations.get("runbook_url", "")),
                ("Query in flightlog", alert.generator_url),
            )
            if url
        ]
        if links:
            parts.append("<p>" + " · ".join(links) + "</p>")
        items = "".join(
            f"<li>{html.escape(k)} = {html.escape(v)}</li>" for k, v in sorted(alert.labels.items())
        )
        parts.append(f"<ul>{items}</ul>")
    if external_url:
        parts.append(
            f'<p>Sent by <a href="{html.escape(external_url, quote=True)}">flightlog</a></p>'
        )
    return "<html><body>" + "\n".join(parts) + "</body></html>\n"


def _alerts_url(data: NotificationData) -> str:
    return f"{data.external_url.rstrip('/')}/alerts" if data.external_url else ""


# Alertmanager's default.tmpl names, with flightlog's texts.
_DEFAULTS: dict[str, Callable[[NotificationData], str]] = {
    "__alertmanager": lambda d: "flightlog",
    "__alertmanagerURL": _alerts_url,
    "__subject": lambda d: d.title,
    "__description": lambda d: "",
    "__text_alert_list": lambda d: d.body,
    "slack.default.title": lambda d: d.title,
    "slack.default.username": lambda d: "flightlog",
    "slack.default.fallback": lambda d: (
        d.title + (f" | {_alerts_url(d)}" if d.external_url else "")
    ),
    "slack.default.callbackid": lambda d: "",
    "slack.default.pretext": lambda d: "",
    "slack.default.titlelink": _alerts_url,
    "slack.default.iconemoji": lambda d: "",
    "slack.default.iconurl": lambda d: "",
    "slack.default.text": lambda d: d.body,
    "slack.default.footer": lambda d: "",
    "pagerduty.default.description": lambda d: d.title,
    "pagerduty.default.client": lambda d: "flightlog",
    "pagerduty.default.clientURL": _alerts_url,
    "pagerduty.default.instances": lambda d: d.body,
    "email.default.subject": lambda d: d.title,
    "email.default.text": lambda d: d.body,
    "email.default.html": lambda d: d.html,
}
DEFAULT_TEMPLATE_NAMES: tuple[str, ...] = tuple(sorted(_DEFAULTS))

# Per integration kind: option → the template sent when it is not set. ``""`` means the
# integration computes its own default (Slack's colour by status, PagerDuty's severity
# from the alert's label, email's To/From as written).
TEMPLATED_OPTIONS: dict[str, dict[str, str]] = {
    "slack": {
        "title": '{{ template "slack.default.title" . }}',
        "title_link": '{{ template "slack.default.titlelink" . }}',
        "text": '{{ template "slack.default.text" . }}',
        "pretext": '{{ template "slack.default.pretext" . }}',
        "fallback": '{{ template "slack.default.fallback" . }}',
        "footer": '{{ template "slack.default.footer" . }}',
        "color": "",
        "channel": "",
        "username": "",
        "icon_emoji": "",
        "icon_url": "",
    },
    "pagerduty": {
        "description": '{{ template "pagerduty.default.description" . }}',
        "client": '{{ template "pagerduty.default.client" . }}',
        "client_url": '{{ template "pagerduty.default.clientURL" . }}',
        "source": '{{ template "pagerduty.default.client" . }}',
        "severity": "",
        "class": "",
        "component": "",
        "group": "",
    },
    "email": {
        "to": "",
        "from": "",
        "text": '{{ template "email.default.text" . }}',
        "html": '{{ template "email.default.html" . }}',
    },
}
# Per integration kind: the option whose values are each a template.
TEMPLATED_MAPS: dict[str, str] = {"pagerduty": "details", "email": "headers"}

_MAP_FIELDS = {
    ".GroupLabels": "group_labels",
    ".CommonLabels": "common_labels",
    ".CommonAnnotations": "common_annotations",
}


@dataclass(frozen=True, slots=True)
class NotificationData:
    """Alertmanager's template data for one notification (``.Status``, ``.CommonLabels`` ...)."""

    status: str = "firing"
    receiver: str = ""
    group_key: str = ""
    external_url: str = ""
    group_labels: Mapping[str, str] = None  # type: ignore[assignment]
    common_labels: Mapping[str, str] = None  # type: ignore[assignment]
    common_annotations: Mapping[str, str] = None  # type: ignore[assignment]
    alerts: tuple[Alert, ...] = ()
    firing: tuple[Alert, ...] = ()
    title: str = ""
    body: str = ""
    html: str = ""

    @classmethod
    def of(cls, notification: Notification, external_url: str) -> NotificationData:
        return cls(
            status=notification.status.value,
            receiver=notification.integration.receiver,
            group_key=notification.group_key,
            external_url=external_url,
            group_labels=dict(notification.group_labels),
            common_labels=common([dict(a.labels) for a in notification.alerts]),
            common_annotations=common([dict(a.annotations) for a in notification.alerts]),
            alerts=notification.alerts,
            firing=tuple(_firing(notification)),
            title=title(notification),
            body=body(notification),
            html=html_body(notification, external_url),
        )

    def resolve(self, word: str) -> object:
        scalars = {
            ".Status": self.status,
            ".Receiver": self.receiver,
            ".GroupKey": self.group_key,
            ".ExternalURL": self.external_url,
            ".Alerts": list(self.alerts),
            ".Alerts.Firing": list(self.firing),
            ".Alerts.Resolved": [a for a in self.alerts if a not in self.firing],
        }
        if word in scalars:
            return scalars[word]
        for prefix, attribute in _MAP_FIELDS.items():
            values: Mapping[str, str] = getattr(self, attribute) or {}
            if word == prefix:
                return dict(values)
            if word.startswith(prefix + "."):
                key = word[len(prefix) + 1 :]
                if key == "Names":
                    return sorted(values)
                if key == "Values":
                    return [values[k] for k in sorted(values)]
                return values.get(key, "")
        raise RuleError(
            f"template variable {word!r} is unknown: use .Status, .Receiver, .ExternalURL, "
            ".GroupLabels.<name>, .CommonLabels.<name>, .CommonAnnotations.<name> or .Alerts"
        )

    def template(self, name: str) -> str:
        default = _DEFAULTS.get(name)
        if default is None:
            raise RuleError(
                f"template {name!r} is not one of Alertmanager's default templates flightlog "
                "provides (templates: files are not read); e.g. slack.default.title"
            )
        return default(self)  # final text: braces in alert text are never read as actions


def check_field(text: str) -> None:
    """Raise ``RuleError`` when a notification template is outside the supported subset."""
    render(text, NotificationData(), checking=True)


def render_text(
    template: str | None, default: str, data: NotificationData, where: str = "template"
) -> str:
    """``template`` rendered over ``data`` (``default`` when it is unset; ``""`` stays empty).

    A template that fails at send time (``printf`` of a label that is not a number) is
    logged and the default is sent instead: a page with the default text beats no page.
    """
    if template is None:
        return render(default, data)
    try:
        return render(str(template), data)
    except RuleError as exc:
        log.warning("%s: template failed (%s); sending the default instead", where, exc)
        return render(default, data)


def render_field(
    notification: Notification,
    external_url: str,
    name: str,
    default: str,
    data: NotificationData | None = None,
) -> str:
    """The integration's option ``name`` rendered as a template (``default`` when unset)."""
    scope = data or NotificationData.of(notification, external_url)
    template = notification.integration.options.get(name)
    return render_text(
        None if template is None else str(template),
        default,
        scope,
        f"{notification.integration.key}.{name}",
    )
