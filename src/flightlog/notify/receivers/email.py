"""Email over SMTP, with STARTTLS when the server offers it (required unless ``require_tls: false``).

The message has a plain-text part (``text``) and an HTML part (``html``), as a
multipart/alternative; ``headers`` (``Subject``, ``To``, ``From`` and any other, names
case-insensitive), ``to``, ``from``, ``text`` and ``html`` are templates
(``flightlog.notify.templates``), defaulting to ``email.default.subject``,
``email.default.text`` and ``email.default.html``. Set ``text: ""`` or ``html: ""`` to
leave that part out.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flightlog.notify.dispatcher import Notification
from flightlog.notify.receivers.failure import DeliveryFailed, FailureReason
from flightlog.notify.receivers.secrets import read_secret
from flightlog.notify.templates import (
    TEMPLATED_OPTIONS,
    NotificationData,
    render_field,
    render_text,
)

__all__ = ["header_name", "message", "send"]

_SUBJECT = '{{ template "email.default.subject" . }}'


def header_name(name: str) -> str:
    """The canonical form of a header name (``message-id`` → ``Message-Id``), as Go writes it."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in str(name).split("-"))


def message(notification: Notification, external_url: str) -> EmailMessage:
    options = notification.integration.options
    data = NotificationData.of(notification, external_url)
    key = notification.integration.key
    to = render_text(str(options["to"]), str(options["to"]), data, f"{key}.to")
    sender = render_text(str(options["from"]), str(options["from"]), data, f"{key}.from")
    headers = {"Subject": (_SUBJECT, _SUBJECT), "From": (sender, sender), "To": (to, to)}
    for name, value in dict(options.get("headers") or {}).items():
        headers[header_name(name)] = (str(value), headers.get(header_name(name), ("", ""))[1])
    msg = EmailMessage()
    for name, (template, default) in headers.items():
        msg[name] = render_text(template, default, data, f"{key}.headers.{name}")
    msg["Date"] = formatdate(notification.at)
    if "Message-Id" not in headers:
        msg["Message-Id"] = make_msgid(domain="flightlog")
    text = render_field(
        notification, external_url, "text", TEMPLATED_OPTIONS["email"]["text"], data
    )
    html = render_field(
        notification, external_url, "html", TEMPLATED_OPTIONS["email"]["html"], data
    )
    if text and "text" not in options and external_url:
        text += f"\nSent by flightlog: {external_url}\n"
    if text:
        msg.set_content(text)
        if html:
            msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html or data.body, subtype="html" if html else "plain")
    return msg


def _tls_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """Verify the server's certificate unless ``tls_config.insecure_skip_verify`` (as in Alertmanager)."""
    tls = dict(options.get("tls_config") or {})
    context = ssl.create_default_context(cafile=tls.get("ca_file") or None)
    if tls.get("insecure_skip_verify"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _authenticate(smtp: smtplib.SMTP, options: Mapping[str, Any]) -> None:
    """Log in as Alertmanager does: the first mechanism the server lists that we can use.

    CRAM-MD5 with ``auth_secret``; PLAIN with ``auth_identity`` (the authorization identity,
    usually empty), ``auth_username`` and ``auth_password``/``auth_password_file``; LOGIN.
    """
    username = str(options.get("auth_username") or "")
    if not username:
        return
    if not smtp.has_extn("auth"):
        raise DeliveryFailed(
            FailureReason.SMTP,
            f"SMTP server {options['smarthost']} offers no AUTH but auth_username is set",
            retryable=False,
        )
    offered = smtp.esmtp_features["auth"].upper().split()
    for mechanism in offered:
        if mechanism == "CRAM-MD5" and options.get("auth_secret"):
            smtp.user, smtp.password = username, str(options["auth_secret"])
            smtp.auth("CRAM-MD5", smtp.auth_cram_md5)
            return
        if mechanism in ("PLAIN", "LOGIN"):
            password = read_secret(options, "auth_password", required=False)
            if mechanism == "PLAIN":
                identity = str(options.get("auth_identity") or "")
                response = f"{identity}\0{username}\0{password}"
                smtp.auth("PLAIN", lambda challenge=None, response=response: response)
            else:
                smtp.user, smtp.password = username, password
                smtp.auth("LOGIN", smtp.auth_login)
            return
    raise DeliveryFailed(
        FailureReason.SMTP,
        f"SMTP server {options['smarthost']} offers AUTH {' '.join(offered)}; flightlog logs in "
        "with CRAM-MD5 (set auth_secret), PLAIN or LOGIN",
        retryable=False,
    )


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
            _authenticate(smtp, options)
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
