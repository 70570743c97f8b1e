"""Notification fields are templates over Alertmanager's data, with its default names."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from flightlog.errors import RuleError
from flightlog.notify.config import load_alerting_config
from flightlog.notify.dispatcher import Notification
from flightlog.notify.integrations import Integration
from flightlog.notify.metrics import NotifyMetrics
from flightlog.notify.receivers import email, pagerduty, slack
from flightlog.notify.service import NotifyService
from flightlog.notify.templates import (
    DEFAULT_TEMPLATE_NAMES,
    NotificationData,
    check_field,
)
from flightlog.notify.testing import RecordingReceiver
from flightlog.rules.alert import Alert
from flightlog.rules.template import render

NOW = 1_800_000_000.0


def _notification(kind: str = "slack", **options: Any) -> Notification:
    alerts = tuple(
        Alert(
            labels={"alertname": "HighErrorRate", "service": "api", "pod": pod},
            annotations={"summary": "api is failing", "runbook_url": "http://rb"},
            starts_at=NOW - 60,
            ends_at=NOW + 600 if pod != "c" else NOW - 1,
        )
        for pod in ("a", "b", "c")
    )
    integration = Integration("oncall", kind, 0, options, True, 10.0)
    return Notification(
        integration,
        '{}:{alertname="HighErrorRate"}',
        {"alertname": "HighErrorRate"},
        alerts,
        frozenset(),
        frozenset(),
        NOW,
    )


DATA = NotificationData.of(_notification(), "http://fl.example")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ .Status }}", "firing"),
        ("{{ .Status | toUpper }}", "FIRING"),
        ("{{ .Receiver }}", "oncall"),
        ("{{ .ExternalURL }}", "http://fl.example"),
        ("{{ .GroupLabels.alertname }}", "HighErrorRate"),
        ("{{ .CommonLabels.service }} / {{ .CommonLabels.pod }}", "api / "),
        ("{{ .CommonAnnotations.summary }}", "api is failing"),
        ('{{ .CommonLabels.Names | join "," }}', "alertname,service"),
        ('{{ .GroupLabels.Values | join " " }}', "HighErrorRate"),
        ("{{ .CommonLabels }}", "map[alertname:HighErrorRate service:api]"),
        ("{{ len .Alerts }} {{ .Alerts.Firing | len }} {{ .Alerts.Resolved | len }}", "3 2 1"),
        ('{{ template "slack.default.title" . }}', "[FIRING:2] HighErrorRate"),
        ('{{ template "__subject" . }}', "[FIRING:2] HighErrorRate"),
        ('{{ template "slack.default.titlelink" . }}', "http://fl.example/alerts"),
        ('{{ template "slack.default.username" . }}', "flightlog"),
        ('{{ template "pagerduty.default.client" . }}', "flightlog"),
        ('{{ template "slack.default.pretext" . }}', ""),
    ],
)
def test_render_alertmanager_data(template: str, expected: str) -> None:
    """Each operand and default template renders as Alertmanager would fill it."""
    assert render(template, DATA) == expected


def test_default_text_templates_list_every_alert() -> None:
    """slack.default.text (and email/pagerduty bodies) carry every alert's summary and runbook."""
    text = render('{{ template "slack.default.text" . }}', DATA)
    assert text.count("[FIRING] api is failing") == 2 and "[RESOLVED] api is failing" in text
    assert "Runbook: http://rb" in text
    assert "<h2>[FIRING:2] HighErrorRate</h2>" in render(
        '{{ template "email.default.html" . }}', DATA
    )


def test_every_default_name_renders() -> None:
    """Every default.tmpl name renders, to text unless Alertmanager defines it empty."""
    # Empty {{ define }}s in Alertmanager's default.tmpl.
    empty_in_alertmanager = {
        "__description",
        "slack.default.callbackid",
        "slack.default.footer",
        "slack.default.iconemoji",
        "slack.default.iconurl",
        "slack.default.pretext",
    }
    for name in DEFAULT_TEMPLATE_NAMES:
        text = render(f'{{{{ template "{name}" . }}}}', DATA)
        assert "{{" not in text, name
        assert bool(text.strip()) == (name not in empty_in_alertmanager), name


@pytest.mark.parametrize(
    "template",
    [
        "{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}",
        '{{ template "my.custom.title" . }}',
        "{{ $labels.service }}",
        "{{ .Alerts.Firing.Labels }}",
        '{{ if eq .Status "firing" }}x{{ end }}',
    ],
)
def test_templates_outside_the_subset_are_refused(template: str) -> None:
    """What the subset cannot render is a RuleError when the configuration is checked."""
    with pytest.raises(RuleError):
        check_field(template)


def test_alert_text_is_never_read_as_a_template() -> None:
    """Braces inside an annotation pass through the default templates verbatim."""
    notification = _notification()
    braced = Alert({"alertname": "X"}, {"summary": "{{ .Status }}"}, NOW - 1, NOW + 60)
    notification = Notification(
        notification.integration, "k", {"alertname": "X"}, (braced,), frozenset(), frozenset(), NOW
    )
    text = slack.payload(notification, "")["attachments"][0]["text"]  # type: ignore[index]
    assert "{{ .Status }}" in text


def test_slack_fields_are_rendered() -> None:
    """A pasted Slack config with templates sends the rendered text, never the template."""
    body = slack.payload(
        _notification(
            title='{{ template "slack.default.title" . }}',
            text="{{ .CommonAnnotations.summary }} on {{ .CommonLabels.service }}",
            channel="#{{ .CommonLabels.service }}",
            footer="{{ .Receiver }}",
        ),
        "http://fl.example",
    )
    (attachment,) = body["attachments"]  # type: ignore[misc]
    assert attachment["title"] == "[FIRING:2] HighErrorRate"
    assert attachment["text"] == "api is failing on api"
    assert attachment["footer"] == "oncall"
    assert attachment["title_link"] == "http://fl.example/alerts"
    assert body["channel"] == "#api"


def test_pagerduty_description_and_details_are_rendered() -> None:
    """PagerDuty's description, details and severity are templates."""
    body = pagerduty.payload(
        _notification(
            "pagerduty",
            routing_key="k",
            description='{{ template "pagerduty.default.description" . }} in {{ .CommonLabels.service }}',
            details={"summary": "{{ .CommonAnnotations.summary }}", "count": "{{ len .Alerts }}"},
            severity="{{ if .Status }}x{{ end }}",
            component="{{ .CommonLabels.service }}",
        ),
        "",
    )
    event = body["payload"]  # type: ignore[index]
    assert event["summary"] == "[FIRING:2] HighErrorRate in api"  # type: ignore[index]
    assert event["custom_details"]["summary"] == "api is failing"  # type: ignore[index]
    assert event["custom_details"]["count"] == "3"  # type: ignore[index]
    assert event["component"] == "api"  # type: ignore[index]


def test_unsupported_template_in_config_warns_and_sends_the_default(tmp_path: Path) -> None:
    """A `range` in a Slack title is reported at load; Slack then gets the default title."""
    with RecordingReceiver() as hook:
        config = load_alerting_config(
            {
                "route": {"receiver": "s", "group_wait": "0s"},
                "receivers": [
                    {
                        "name": "s",
                        "slack_configs": [
                            {
                                "api_url": hook.url,
                                "title": "{{ range .Alerts }}{{ .Labels.pod }}{{ end }}",
                                "text": "{{ .CommonAnnotations.summary }}",
                            }
                        ],
                    }
                ],
            }
        )
        assert any("slack_configs[0].title" in w and "range" in w for w in config.warnings)
        svc = NotifyService(config, tmp_path, metrics=NotifyMetrics.create(CollectorRegistry()))
        svc.start()
        try:
            svc.put(
                [
                    Alert(
                        {"alertname": "HighErrorRate"},
                        {"summary": "api is failing"},
                        time.time(),
                        time.time() + 60,
                    )
                ]
            )
            (body,) = hook.wait_for(1)
        finally:
            svc.stop()
    assert body["attachments"][0]["title"] == "[FIRING:1] HighErrorRate"
    assert body["attachments"][0]["text"] == "api is failing"


def test_email_headers_text_and_html_are_rendered() -> None:
    """Subject and custom headers are templates; text and html become two parts."""
    message = email.message(
        _notification(
            "email",
            to="{{ .CommonLabels.service }}-oncall@example.com",
            **{
                "from": "fl@example.com",
                "headers": {
                    "subject": "{{ .Status | toUpper }}: {{ .CommonAnnotations.summary }}",
                    "X-Service": "{{ .CommonLabels.service }}",
                },
                "html": "<b>{{ .CommonAnnotations.summary }}</b>",
                "text": "{{ .CommonAnnotations.summary }} ({{ len .Alerts }} alerts)",
            },
        ),
        "",
    )
    assert message["Subject"] == "FIRING: api is failing"
    assert message["To"] == "api-oncall@example.com"
    assert message["X-Service"] == "api"
    parts = {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}
    assert parts == {
        "text/plain": "api is failing (3 alerts)\n",
        "text/html": "<b>api is failing</b>\n",
    }


def test_email_html_can_be_left_out() -> None:
    """`html: ""` sends a text-only message (and `text: ""` an HTML-only one)."""
    text_only = email.message(_notification("email", to="a@b", html="", **{"from": "c@d"}), "")
    assert [p.get_content_type() for p in text_only.walk()] == ["text/plain"]
    html_only = email.message(_notification("email", to="a@b", text="", **{"from": "c@d"}), "")
    assert [p.get_content_type() for p in html_only.walk()] == ["text/html"]
