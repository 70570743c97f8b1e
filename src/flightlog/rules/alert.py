"""The alert value that the ruler produces and the notification pipeline consumes.

An ``Alert`` has Alertmanager's shape (labels, annotations, startsAt, endsAt, generatorURL)
and identity: its fingerprint is the FNV-1a-64 hash of its sorted labels, exactly as
Prometheus and Alertmanager compute it, so fingerprints match across both systems.
It also carries the tenant whose rule (or API call) produced it: the notification
pipeline keeps each tenant's alerts, groups and silences apart, as Mimir's multi-tenant
Alertmanager does (``(tenant, fingerprint)`` is an alert's identity there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from flightlog.model import DEFAULT_TENANT

__all__ = ["Alert", "AlertStatus", "fingerprint", "format_rfc3339", "parse_rfc3339"]

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = 0xFF


class AlertStatus(StrEnum):
    """Whether an alert is still burning at a given time."""

    FIRING = "firing"
    RESOLVED = "resolved"


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus's label-set fingerprint as 16 hex digits."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), labels[name].encode()):
            for byte in chunk:
                value = ((value ^ byte) * _FNV_PRIME) & _MASK
            value = ((value ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{value:016x}"


def format_rfc3339(seconds: float | None) -> str:
    """RFC 3339 UTC time as Alertmanager writes it; ``None`` is Go's zero time."""
    if seconds is None:
        return "0001-01-01T00:00:00Z"
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time; Go's zero time gives ``None``."""
    if not text or text.startswith("0001-01-01"):
        return None
    cleaned = text.strip().replace("Z", "+00:00")
    # Python < 3.11 can't read nanosecond fractions; trim to microseconds.
    if "." in cleaned:
        head, rest = cleaned.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        cleaned = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    stamp = dt.datetime.fromisoformat(cleaned)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert instance; ``ends_at`` in the past means resolved (times in epoch seconds)."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: float = 0.0
    ends_at: float | None = None
    generator_url: str = ""
    updated_at: float = 0.0
    tenant: str = DEFAULT_TENANT
    # Computed once: the dispatcher asks for it several times per alert per flush.
    fingerprint: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "fingerprint", fingerprint(self.labels))

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    def status_at(self, now: float) -> AlertStatus:
        """Firing unless ``ends_at`` has passed."""
        if self.ends_at is not None and self.ends_at <= now:
            return AlertStatus.RESOLVED
        return AlertStatus.FIRING

    def to_api(self, now: float) -> dict[str, object]:
        """The Alertmanager webhook/API form of this alert at time ``now``."""
        return {
            "status": self.status_at(now).value,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": format_rfc3339(self.starts_at),
            "endsAt": format_rfc3339(self.ends_at),
            "generatorURL": self.generator_url,
            "fingerprint": self.fingerprint,
        }
