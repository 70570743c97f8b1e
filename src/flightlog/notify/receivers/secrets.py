"""Secrets given inline or in a file (Alertmanager's ``url_file``, ``api_url_file`` ...).

A ``*_file`` is read at every send, trimmed of surrounding whitespace, as Alertmanager
does, so a rotated secret (a re-mounted Kubernetes secret) is used without a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flightlog.notify.receivers.failure import DeliveryFailed, FailureReason

__all__ = ["read_secret"]


def read_secret(options: Mapping[str, Any], name: str, required: bool = True) -> str:
    """``options[name]``, else the content of the file ``options[name + "_file"]``.

    Raises ``DeliveryFailed`` (reason ``config``, not retried) when the file cannot be read
    or, with ``required``, when neither gives a value.
    """
    value = options.get(name)
    if value:
        return str(value)
    path = options.get(f"{name}_file")
    if path:
        try:
            value = Path(str(path)).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise DeliveryFailed(
                FailureReason.CONFIG,
                f"cannot read {name}_file {path}: {exc}; fix the file or set `{name}`",
                retryable=False,
            ) from exc
        if not value and required:
            raise DeliveryFailed(
                FailureReason.CONFIG, f"{name}_file {path} is empty", retryable=False
            )
        return value
    if required:
        raise DeliveryFailed(
            FailureReason.CONFIG, f"neither `{name}` nor `{name}_file` is set", retryable=False
        )
    return ""
