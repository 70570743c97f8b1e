"""Timestamps as clients write them, turned into integer nanoseconds since the epoch.

RFC 3339 is read by the shared leaf ``flightlog.timestamps`` (query reads its time
parameters with it too); this module adds the push bodies' integer nanoseconds.
"""

from __future__ import annotations

from flightlog.timestamps import parse_rfc3339_ns

__all__ = ["parse_rfc3339_ns", "parse_timestamp_ns"]


def parse_timestamp_ns(value: object) -> int:
    """Accept integer nanoseconds, a string of digits, or RFC 3339; raise ValueError."""
    if type(value) is int:
        if value < 0:
            raise ValueError(f"timestamp {value} is negative")
        return value
    if isinstance(value, str):
        if value.isascii() and value.isdigit():
            return int(value)
        return parse_rfc3339_ns(value)
    raise ValueError(f"timestamp must be integer nanoseconds or an RFC 3339 string, got {value!r}")
