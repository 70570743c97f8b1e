"""What each integration reads from alertmanager.yml: secrets in files, globals, warnings."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from flightlog.errors import ConfigError
from flightlog.notify.config import load_alerting_config
from flightlog.notify.delivery import RetryPolicy
from flightlog.notify.metrics import NotifyMetrics
from flightlog.notify.service import NotifyService
from flightlog.notify.testing import RecordingReceiver
from flightlog.rules.alert import Alert


def _config(receiver: dict[str, Any], **top: Any) -> Any:
    return load_alerting_config(
        {
            "route": {"receiver": receiver["name"], "group_by": ["alertname"], "group_wait": "0s"},
            "receivers": [receiver],
            **top,
        }
    )


def test_webhook_url_file_is_read_at_send(tmp_path: Path) -> None:
    """A webhook with only `url_file` posts to the URL written in that file."""
    with RecordingReceiver() as hook:
        url_file = tmp_path / "url"
        url_file.write_text(hook.url + "/from-file\n")
        config = _config({"name": "h", "webhook_configs": [{"url_file": str(url_file)}]})
        svc = NotifyService(config, tmp_path, metrics=NotifyMetrics.create(CollectorRegistry()))
        svc.start()
        try:
            svc.put([Alert({"alertname": "A"}, starts_at=time.time(), ends_at=time.time() + 60)])
            hook.wait_for(1)
        finally:
            svc.stop()
    assert hook.requests[0][0] == "/from-file"


def test_unreadable_url_file_fails_with_reason_config(tmp_path: Path) -> None:
    """A url_file that vanished fails the send once, counted as reason `config`."""
    url_file = tmp_path / "url"
    url_file.write_text("http://127.0.0.1:9/")
    config = _config({"name": "h", "webhook_configs": [{"url_file": str(url_file)}]})
    url_file.unlink()
    registry = CollectorRegistry()
    svc = NotifyService(
        config, tmp_path / "state", metrics=NotifyMetrics.create(registry), retry=RetryPolicy()
    )
    svc.start()
    labels = {"tenant": "default", "receiver": "h", "integration": "webhook", "reason": "config"}
    try:
        svc.put([Alert({"alertname": "A"}, starts_at=time.time(), ends_at=time.time() + 60)])
        deadline = time.monotonic() + 10
        while not registry.get_sample_value("flightlog_notifications_failed_total", labels):
            assert time.monotonic() < deadline, "the failure was not counted"
            time.sleep(0.02)
    finally:
        svc.stop()
    assert registry.get_sample_value("flightlog_notification_attempts_failed_total", labels) == 1


@pytest.mark.parametrize(
    ("receiver", "needle"),
    [
        ({"name": "h", "webhook_configs": [{}]}, "one of `url` or `url_file` is required"),
        (
            {"name": "h", "webhook_configs": [{"url": "http://a", "url_file": "/f"}]},
            "at most one of `url` and `url_file`",
        ),
        (
            {"name": "s", "slack_configs": [{"api_url": "http://a", "api_url_file": "/f"}]},
            "at most one of `api_url` and `api_url_file`",
        ),
        ({"name": "s", "slack_configs": [{}]}, "`api_url` or `api_url_file` is required"),
        ({"name": "p", "pagerduty_configs": [{}]}, "`routing_key`"),
        (
            {"name": "e", "email_configs": [{"to": "a@b", "from": "c@d", "smarthost": "mail"}]},
            "must be host:port",
        ),
        ({"name": "h", "webhook_configs": [{"url": "http://a", "max_alerts": "x"}]}, "max_alerts"),
        ({"name": "h", "webhook_configs": [{"url": "http://a", "timeout": "soon"}]}, ".timeout"),
        (
            {
                "name": "e",
                "email_configs": [
                    {"to": "{{ range .Alerts }}x{{ end }}", "from": "c@d", "smarthost": "m:25"}
                ],
            },
            "email_configs[0].to",
        ),
    ],
)
def test_bad_integration_config(receiver: dict[str, Any], needle: str) -> None:
    """Each mistake is one ConfigError naming the integration and the option."""
    with pytest.raises(ConfigError) as info:
        _config(receiver)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("document", "warned"),
    [
        ({"global": {"http_config": {"proxy_url": "http://p"}}}, "alerting.global.http_config"),
        ({"global": {"opsgenie_api_key": "k"}}, "alerting.global.opsgenie_api_key"),
        ({"global": {"smtp_tls_config": {}}}, "alerting.global.smtp_tls_config"),
        ({"global": {"victorops_api_key": "k"}}, "alerting.global.victorops_api_key"),
        ({"templates": ["/etc/am/*.tmpl"]}, "alerting.templates"),
        ({"time_intervals": []}, "alerting.time_intervals"),
        ({"tracing": {"endpoint": "x"}}, "alerting.tracing"),
        (
            {
                "receiver": {
                    "name": "r",
                    "webhook_configs": [{"url": "http://a", "http_config": {}}],
                }
            },
            "alerting.receivers[r].webhook_configs[0].http_config",
        ),
        (
            {"receiver": {"name": "r", "slack_configs": [{"api_url": "http://a", "fields": []}]}},
            "alerting.receivers[r].slack_configs[0].fields",
        ),
        (
            {"receiver": {"name": "r", "pagerduty_configs": [{"routing_key": "k", "images": []}]}},
            "alerting.receivers[r].pagerduty_configs[0].images",
        ),
        (
            {
                "receiver": {
                    "name": "r",
                    "email_configs": [
                        {
                            "to": "a@b",
                            "from": "c@d",
                            "smarthost": "m:25",
                            "tls_config": {"cert_file": "/c"},
                        }
                    ],
                }
            },
            "alerting.receivers[r].email_configs[0].tls_config.cert_file",
        ),
        (
            {"receiver": {"name": "r", "discord_configs": [{"webhook_url": "http://d"}]}},
            "alerting.receivers[r].discord_configs",
        ),
        (
            {"receiver": {"name": "r", "webhook_configs": [{"url": "http://a", "urll": "x"}]}},
            "alerting.receivers[r].webhook_configs[0].urll",
        ),
    ],
)
def test_every_unsupported_key_is_a_warning(document: dict[str, Any], warned: str) -> None:
    """A key flightlog does not read loads, with a warning that names its path."""
    receiver = document.pop("receiver", {"name": "r"})
    config = _config(receiver, **document)
    assert [w for w in config.warnings if w.startswith(warned)], config.warnings


def test_supported_globals_are_not_warned_about(tmp_path: Path) -> None:
    """smtp_auth_identity/secret, slack_api_url_file and smtp_auth_password_file are read."""
    (tmp_path / "slack").write_text("http://slack\n")
    (tmp_path / "pw").write_text("pw\n")
    config = _config(
        {
            "name": "r",
            "slack_configs": [{}],
            "email_configs": [{"to": "a@b"}],
        },
        **{
            "global": {
                "slack_api_url_file": str(tmp_path / "slack"),
                "smtp_from": "fl@b",
                "smtp_smarthost": "m:25",
                "smtp_auth_username": "u",
                "smtp_auth_password_file": str(tmp_path / "pw"),
                "smtp_auth_identity": "id",
                "smtp_auth_secret": "s",
            }
        },
    )
    assert config.warnings == ()
    slack, email = config.receivers["r"].integrations
    assert slack.options["api_url_file"] == str(tmp_path / "slack")
    assert email.options["auth_identity"] == "id" and email.options["auth_secret"] == "s"
    assert email.options["auth_password_file"] == str(tmp_path / "pw")


def test_missing_secret_file_is_a_warning(tmp_path: Path) -> None:
    """A *_file that does not exist yet loads (it may be mounted later) with a warning."""
    config = _config({"name": "r", "webhook_configs": [{"url_file": str(tmp_path / "nope")}]})
    assert any("url_file" in w and "does not exist" in w for w in config.warnings)
