"""Durations in rule files and ``alertmanager.yml``: ``1h30m``, ``5m``, ``100ms``, ``2d``.

Rule files and ``alertmanager.yml`` carry times in this form; everything inside flightlog
works in seconds (floats) or nanoseconds (ints). The syntax is ``flightlog.durations``'s
(the one parser); this module adds what rules accept besides (a bare number of seconds)
and reports mistakes as ``ConfigError``.
"""

from __future__ import annotations

from flightlog.durations import format_duration_secs, parse_duration_secs
from flightlog.errors import ConfigError

__all__ = ["format_duration", "parse_duration"]


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
    try:
        return parse_duration_secs(str(text))
    except ValueError:
        raise ConfigError(
            f"duration {text!r} is not valid: write it like 30s, 5m, 1h30m or 100ms"
        ) from None


def format_duration(seconds: float) -> str:
    """The shortest Prometheus-style text for a duration (``90`` → ``1m30s``)."""
    if seconds <= 0:
        return "0s"
    return format_duration_secs(seconds)
