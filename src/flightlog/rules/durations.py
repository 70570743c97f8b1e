"""Durations as Prometheus and Alertmanager write them: ``1h30m``, ``5m``, ``100ms``, ``2d``.

Rule files and ``alertmanager.yml`` carry times in this form; everything inside flightlog
works in seconds (floats) or nanoseconds (ints), so the text is parsed once, here.
"""

from __future__ import annotations

import re

from flightlog.errors import ConfigError

__all__ = ["format_duration", "parse_duration"]

_UNITS_S = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|y|w|d|h|m|s))+$")


def parse_duration(text: str | int | float) -> float:
    """Seconds in a duration such as ``1h30m``; a bare number is read as seconds.

    Raises ``ConfigError`` naming the text when it is not a duration.
    """
    if isinstance(text, bool):
        raise ConfigError(f"duration {text!r} is not valid: write it like 30s, 5m, 1h30m or 100ms")
    if isinstance(text, int | float):
        if text < 0:
            raise ConfigError(f"duration {text!r} is negative: use 0 or more seconds")
        return float(text)
    stripped = str(text).strip()
    if stripped == "0":
        return 0.0
    if not _WHOLE.match(stripped):
        raise ConfigError(f"duration {text!r} is not valid: write it like 30s, 5m, 1h30m or 100ms")
    return sum(float(n) * _UNITS_S[u] for n, u in _PART.findall(stripped))


def format_duration(seconds: float) -> str:
    """The shortest Prometheus-style text for a duration (``90`` → ``1m30s``)."""
    if seconds <= 0:
        return "0s"
    ms_total = round(seconds * 1000)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms_total = divmod(ms_total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
