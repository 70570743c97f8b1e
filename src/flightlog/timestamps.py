"""RFC 3339 times as clients write them (``2026-01-01T00:00:20.123456789Z``), read to the
nanosecond.

The one reader of that syntax for the stages that take times from the wire: ingest (push
bodies) and query (Loki's ``start``/``end``/``time`` parameters). It works on integers
only, so no fraction digit is lost to a float or a ``datetime`` (which keeps
microseconds). ``T``/``t`` or a space separate date and time, ``Z``/``z`` or ``±hh:mm``
name the zone, which is required. Callers wrap ``ValueError`` in their own error type.
"""

from __future__ import annotations

import calendar
import re

__all__ = ["parse_rfc3339_ns"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))\Z",
    re.ASCII,
)


def parse_rfc3339_ns(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time; raise ValueError if it is not one."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(
            f"timestamp {text!r} is not RFC 3339 with a zone, e.g. 2026-01-01T00:00:20.123456789Z"
        )
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
