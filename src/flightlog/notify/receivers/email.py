"""Email over SMTP, with STARTTLS when the server offers it (required unless ``require_tls: false``)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flightlog.notify.dispatcher import Notification
from flightlog.notify.receivers import text
from flightlog.notify.receivers.failure import DeliveryFailed, FailureReason

__all__ = ["message", "send"]


def message(notification: Notification, external_url: str) -> EmailMessage:
    options = notification.integration.options
    msg = EmailMessage()
    msg["Subject"] = text.title(notification)
    msg["From"] = str(options["from"])
    msg["To"] = str(options["to"])
    msg["Date"] = formatdate(notification.at)
    msg["Message-Id"] = make_msgid(domain="flightlog")
    for name, value in dict(options.get("headers") or {}).items():
        if name.lower() not in {"subject", "from", "to"}:
            msg[name] = str(value)
        else:
            del msg[name]
            msg[name] = str(value)
    msg.set_content(
        text.body(notification) + (f"\nSent by flightlog: {external_url}\n" if external_url else "")
    )
    return msg


def _tls_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """Verify the server's certificate unless ``tls_config.insecure_skip_verify`` (as in Alertmanager)."""
    tls = dict(options.get("tls_config") or {})
    context = ssl.create_default_context(cafile=tls.get("ca_file") or None)
    if tls.get("insecure_skip_verify"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def send(
    notification: Notification, external_url: str, timeout_s: float, client: object = None
) -> None:
    options = notification.integration.options
    host, _, port = str(options["smarthost"]).rpartition(":")
    require_tls = bool(options.get("require_tls", True))
    try:
        with smtplib.SMTP(
            host or str(options["smarthost"]),
            int(port or 25),
            timeout=timeout_s,
            local_hostname=str(options.get("hello") or "localhost"),
        ) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=_tls_context(options))
                smtp.ehlo()
            elif require_tls:
                raise DeliveryFailed(
                    FailureReason.SMTP,
                    f"SMTP server {options['smarthost']} does not offer STARTTLS; set require_tls: false to send in clear",
                    retryable=False,
                )
            if options.get("auth_username"):
                smtp.login(str(options["auth_username"]), str(options.get("auth_password") or ""))
            smtp.send_message(message(notification, external_url))
    except TimeoutError as exc:
        raise DeliveryFailed(
            FailureReason.TIMEOUT, f"SMTP {options['smarthost']} timed out"
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        reason = (
            FailureReason.SMTP
            if isinstance(exc, smtplib.SMTPException)
            else FailureReason.CONNECTION
        )
        raise DeliveryFailed(reason, f"SMTP {options['smarthost']}: {exc}") from exc
