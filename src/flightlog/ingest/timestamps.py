"""Timestamps as clients write them, turned into integer nanoseconds since the epoch."""

from __future__ import annotations

import calendar
import re

__all__ = ["parse_rfc3339_ns", "parse_timestamp_ns"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))\Z"
)


def parse_rfc3339_ns(text: str) -> int:
    """Parse an RFC 3339 timestamp with up to nanosecond precision; raise ValueError."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"timestamp {text!r} is neither integer nanoseconds nor RFC 3339")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zulu, sign, off_h, off_m = match.groups()[6:]
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(f"timestamp {text!r} has a field out of range")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if not zulu:
        offset = int(off_h) * 3600 + int(off_m) * 60
        seconds -= offset if sign == "+" else -offset
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    return seconds * 1_000_000_000 + nanos


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
