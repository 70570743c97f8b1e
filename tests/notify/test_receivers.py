"""Receivers deliver real HTTP/SMTP messages; one slow receiver does not delay another."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from flightlog.notify.config import load_alerting_config
from flightlog.notify.delivery import RetryPolicy
from flightlog.notify.metrics import NotifyMetrics
from flightlog.notify.receivers.pagerduty import dedup_key
from flightlog.notify.service import NotifyService
from flightlog.notify.testing import RecordingReceiver
from flightlog.rules.alert import Alert


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


REGISTRY = CollectorRegistry()
METRICS = NotifyMetrics.create(REGISTRY)
FAST_RETRY = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05, max_attempts=3)


def service(tmp_path: Path, receivers: list[dict], **route: object) -> NotifyService:
    config = load_alerting_config(
        {
            "route": {
                "receiver": receivers[0]["name"],
                "group_by": ["alertname"],
                "group_wait": "0s",
                "group_interval": "100ms",
                **route,
            },
            "receivers": receivers,
        }
    )
    svc = NotifyService(
        config, tmp_path, external_url="http://flightlog.test", retry=FAST_RETRY, metrics=METRICS
    )
    svc.start()
    return svc


def email_parts(message: Any) -> dict[str, str]:
    """The decoded text of each part of a received email, by content type."""
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


def alert(**labels: str) -> Alert:
    return Alert(
        labels={"alertname": "HighErrorRate", **labels},
        annotations={"summary": "errors", "runbook_url": "http://runbook/x"},
        starts_at=time.time(),
        ends_at=time.time() + 600,
        generator_url="http://flightlog.test/?query=x",
    )


def test_webhook_payload_is_alertmanager_v4(tmp_path: Path) -> None:
    """The webhook body has Alertmanager's version-4 shape with fingerprints."""
    with RecordingReceiver() as hook:
        svc = service(
            tmp_path, [{"name": "h", "webhook_configs": [{"url": hook.url, "max_alerts": 1}]}]
        )
        try:
            svc.put([alert(service="a"), alert(service="b")])
            body = hook.wait_for(1)[0]
        finally:
            svc.stop()
    assert body["version"] == "4"
    assert body["groupKey"] == '{}:{alertname="HighErrorRate"}'
    assert body["status"] == "firing" and body["receiver"] == "h"
    assert body["groupLabels"] == {"alertname": "HighErrorRate"}
    assert body["commonLabels"] == {"alertname": "HighErrorRate"}
    assert body["commonAnnotations"]["runbook_url"] == "http://runbook/x"
    assert body["truncatedAlerts"] == 1 and len(body["alerts"]) == 1
    first = body["alerts"][0]
    assert set(first) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert len(first["fingerprint"]) == 16


def test_slack_pagerduty_and_alertmanager_forwarding(tmp_path: Path) -> None:
    """Slack, PagerDuty v2 and Alertmanager forwarding each get their own body shape."""
    with RecordingReceiver() as slack, RecordingReceiver() as pd, RecordingReceiver() as am:
        svc = service(
            tmp_path,
            [
                {
                    "name": "all",
                    "slack_configs": [{"api_url": slack.url + "/hook", "channel": "#oncall"}],
                    "pagerduty_configs": [{"routing_key": "abc", "url": pd.url + "/v2/enqueue"}],
                    "alertmanager_configs": [{"url": am.url}],
                }
            ],
        )
        try:
            firing = alert(severity="critical")
            svc.put([firing])
            slack_body, pd_body, am_body = (
                slack.wait_for(1)[0],
                pd.wait_for(1)[0],
                am.wait_for(1)[0],
            )
            svc.put([Alert(firing.labels, firing.annotations, firing.starts_at, time.time())])
            resolve = pd.wait_for(2)[1]
        finally:
            svc.stop()
    assert slack_body["channel"] == "#oncall"
    assert slack_body["attachments"][0]["title"].startswith("[FIRING:1] HighErrorRate")
    assert pd_body["event_action"] == "trigger" and pd_body["routing_key"] == "abc"
    assert pd_body["payload"]["severity"] == "critical"
    assert (
        pd_body["dedup_key"] == dedup_key('{}:{alertname="HighErrorRate"}') == resolve["dedup_key"]
    )
    assert resolve["event_action"] == "resolve"
    assert am.requests[0][0] == "/api/v2/alerts" and am_body[0]["labels"]["severity"] == "critical"


def test_email_arrives_at_real_smtp_server(tmp_path: Path) -> None:
    """An email integration delivers to a real aiosmtpd server."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list = []

    class Collect(Message):
        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            received.append(message)

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        svc = service(
            tmp_path,
            [
                {
                    "name": "mail",
                    "email_configs": [
                        {
                            "to": "oncall@example.com",
                            "from": "fl@example.com",
                            "smarthost": f"127.0.0.1:{port}",
                            "require_tls": False,
                        }
                    ],
                }
            ],
        )
        try:
            svc.put([alert(service="api")])
            deadline = time.monotonic() + 10
            while not received and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            svc.stop()
    finally:
        controller.stop()
    assert received, "no email arrived"
    assert received[0]["To"] == "oncall@example.com"
    assert received[0]["Subject"] == "[FIRING:1] HighErrorRate"
    parts = email_parts(received[0])
    assert "Runbook: http://runbook/x" in parts["text/plain"]
    assert '<a href="http://runbook/x">Runbook</a>' in parts["text/html"]


def test_email_over_starttls(tmp_path: Path) -> None:
    """With STARTTLS offered (self-signed cert from openssl), the email is sent encrypted."""
    import ssl
    import subprocess

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed: cannot make a certificate for the STARTTLS server")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    received: list = []

    class Collect(Message):
        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            received.append(message)

    port = free_port()
    controller = Controller(
        Collect(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        svc = service(
            tmp_path,
            [
                {
                    "name": "tls",
                    "email_configs": [
                        {
                            "to": "a@b.c",
                            "from": "fl@b.c",
                            "smarthost": f"127.0.0.1:{port}",
                            "tls_config": {"ca_file": str(cert)},
                        }
                    ],
                }
            ],
        )
        try:
            svc.put([alert()])
            deadline = time.monotonic() + 10
            while not received and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            svc.stop()
    finally:
        controller.stop()
    assert received and received[0]["Subject"] == "[FIRING:1] HighErrorRate"


def test_email_requires_tls_unless_disabled(tmp_path: Path) -> None:
    """Without STARTTLS offered and require_tls left on, the send fails and is counted."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        before = (
            REGISTRY.get_sample_value(
                "flightlog_notifications_failed_total",
                {"tenant": "default", "receiver": "tls", "integration": "email", "reason": "smtp"},
            )
            or 0
        )
        svc = service(
            tmp_path,
            [
                {
                    "name": "tls",
                    "email_configs": [
                        {"to": "a@b", "from": "c@d", "smarthost": f"127.0.0.1:{port}"}
                    ],
                }
            ],
        )
        try:
            svc.put([alert()])
            deadline = time.monotonic() + 10
            labels = {
                "tenant": "default",
                "receiver": "tls",
                "integration": "email",
                "reason": "smtp",
            }
            while (
                REGISTRY.get_sample_value("flightlog_notifications_failed_total", labels) or 0
            ) == before:
                assert time.monotonic() < deadline, "failure was not counted"
                time.sleep(0.02)
        finally:
            svc.stop()
    finally:
        controller.stop()


def test_slow_receiver_does_not_delay_another(tmp_path: Path) -> None:
    """A receiver that hangs until its timeout leaves the other receiver's delivery on time."""
    with RecordingReceiver(delay_s=1.5) as slow, RecordingReceiver() as fast:
        svc = service(
            tmp_path,
            [
                {"name": "slow", "webhook_configs": [{"url": slow.url, "timeout": "1s"}]},
                {"name": "fast", "webhook_configs": [{"url": fast.url}]},
            ],
            routes=[
                {"matchers": ["alertname=~.+"], "receiver": "slow", "continue": True},
                {"receiver": "fast"},
            ],
        )
        try:
            svc.put([alert()])
            fast.wait_for(1, timeout_s=10)
            slow.wait_for(1, timeout_s=10)
            # The slow receiver records a request only after its delay; the fast one came first.
            assert fast.requests[0][2] < slow.requests[0][2]
        finally:
            svc.stop()


def test_failures_are_counted_by_reason(tmp_path: Path) -> None:
    """A receiver answering 500 is retried and its failure counted as http_5xx."""
    labels = {
        "tenant": "default",
        "receiver": "bad",
        "integration": "webhook",
        "reason": "http_5xx",
    }
    before = REGISTRY.get_sample_value("flightlog_notification_attempts_failed_total", labels) or 0
    with RecordingReceiver(status=500) as bad:
        svc = service(tmp_path, [{"name": "bad", "webhook_configs": [{"url": bad.url}]}])
        try:
            svc.put([alert()])
            bad.wait_for(3)
        finally:
            svc.stop()
    assert (
        REGISTRY.get_sample_value("flightlog_notification_attempts_failed_total", labels) or 0
    ) - before >= 3


@pytest.mark.parametrize("status", [400, 404])
def test_client_errors_are_not_retried(tmp_path: Path, status: int) -> None:
    """A 4xx answer cannot change on retry: each notification is tried once, then given up."""
    labels = {"tenant": "default", "receiver": "c", "integration": "webhook", "reason": "http_4xx"}

    def count(name: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0

    before = (
        count("flightlog_notifications_failed_total"),
        count("flightlog_notification_attempts_failed_total"),
    )
    with RecordingReceiver(status=status) as bad:
        svc = service(tmp_path, [{"name": "c", "webhook_configs": [{"url": bad.url}]}])
        try:
            svc.put([alert()])
            deadline = time.monotonic() + 10
            while count("flightlog_notifications_failed_total") == before[0]:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        finally:
            svc.stop()
    given_up = count("flightlog_notifications_failed_total") - before[0]
    attempts = count("flightlog_notification_attempts_failed_total") - before[1]
    assert given_up >= 1 and attempts == given_up


def _smtp_with_auth(mechanisms: dict[str, Any]) -> tuple[Any, int, list]:
    """An aiosmtpd server that offers only the given AUTH mechanisms (handler methods)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list = []

    class Collect(Message):
        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            received.append(message)

    for name, method in mechanisms.items():
        setattr(Collect, "auth_" + name.replace("-", "__"), method)
    port = free_port()
    controller = Controller(
        Collect(),
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        auth_required=True,
        auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in mechanisms],
    )
    controller.start()
    return controller, port, received


def _wait(received: list) -> None:
    deadline = time.monotonic() + 10
    while not received:
        assert time.monotonic() < deadline, "no email arrived"
        time.sleep(0.02)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_auth_identity_is_sent_with_plain(tmp_path: Path) -> None:
    """global.smtp_auth_identity is the PLAIN authorization identity, as in Alertmanager."""
    from base64 import b64decode

    from aiosmtpd.smtp import AuthResult

    seen: list[bytes] = []

    async def plain(self, server, args):  # type: ignore[no-untyped-def]
        seen.append(b64decode(args[1]))
        return AuthResult(success=True)

    controller, port, received = _smtp_with_auth({"PLAIN": plain})
    (tmp_path / "pw").write_text("s3cret\n")
    try:
        config = load_alerting_config(
            {
                "global": {
                    "smtp_from": "fl@b.c",
                    "smtp_smarthost": f"127.0.0.1:{port}",
                    "smtp_require_tls": False,
                    "smtp_auth_username": "bot",
                    "smtp_auth_password_file": str(tmp_path / "pw"),
                    "smtp_auth_identity": "ops",
                },
                "route": {"receiver": "mail", "group_wait": "0s"},
                "receivers": [{"name": "mail", "email_configs": [{"to": "a@b.c"}]}],
            }
        )
        assert config.warnings == ()
        svc = NotifyService(config, tmp_path / "state", metrics=METRICS, retry=FAST_RETRY)
        svc.start()
        try:
            svc.put([alert()])
            _wait(received)
        finally:
            svc.stop()
    finally:
        controller.stop()
    assert seen == [b"ops\x00bot\x00s3cret"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_auth_secret_logs_in_with_cram_md5(tmp_path: Path) -> None:
    """With auth_secret and a server offering CRAM-MD5, the login is CRAM-MD5 over that secret."""
    import hmac

    from aiosmtpd.smtp import AuthResult

    challenge = b"<1896.697170952@flightlog.test>"
    answers: list[bytes] = []

    async def cram_md5(self, server, args):  # type: ignore[no-untyped-def]
        answer = await server.challenge_auth(challenge)
        answers.append(answer)
        user, digest = answer.split(b" ")
        expected = hmac.new(b"cram-secret", challenge, "md5").hexdigest().encode()
        return AuthResult(success=user == b"bot" and digest == expected)

    controller, port, received = _smtp_with_auth({"CRAM-MD5": cram_md5})
    try:
        svc = service(
            tmp_path,
            [
                {
                    "name": "mail",
                    "email_configs": [
                        {
                            "to": "a@b.c",
                            "from": "fl@b.c",
                            "smarthost": f"127.0.0.1:{port}",
                            "require_tls": False,
                            "auth_username": "bot",
                            "auth_secret": "cram-secret",
                        }
                    ],
                }
            ],
        )
        try:
            svc.put([alert()])
            _wait(received)
        finally:
            svc.stop()
    finally:
        controller.stop()
    assert answers and answers[0].startswith(b"bot ")
