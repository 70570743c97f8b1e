"""The timestamp stage: set a record's time from a field, trying explicit formats in order.

Formats: ``rfc3339`` (also ISO 8601 with a space, any fraction digits, ``Z`` or offset),
``unix`` (seconds, fraction allowed), ``unix_ms``, ``unix_us``, ``unix_ns``, or a
``strptime`` format such as ``%Y-%m-%d %H:%M:%S,%f`` (read in ``timezone``, UTC unless
set). A value no format reads keeps the record's time and counts one error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flightlog.errors import ConfigError
from flightlog.pipeline.record import LogRecord
from flightlog.pipeline.stage import Stage

__all__ = ["NAMED_FORMATS", "TimestampStage", "parse_rfc3339_ns"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9})\d*)?\s*(Z|z|[+-]\d{2}:?\d{2})?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)


def parse_rfc3339_ns(text: str, default_tz: Any = UTC) -> int:
    """Nanoseconds since the epoch of an RFC 3339 / ISO 8601 time; ValueError if it is not one."""
    match = _RFC3339.match(text.strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz: Any = default_tz
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset_minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        tz = timezone(timedelta(minutes=offset_minutes))
    elif zone:
        tz = UTC
    moment = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz
    )
    whole = (moment - _EPOCH) // _ONE_SECOND
    nanos = int((fraction or "0").ljust(9, "0"))
    return whole * 1_000_000_000 + nanos


def _epoch(scale: int) -> Callable[[str, Any], int]:
    def parse(text: str, _tz: Any) -> int:
        try:
            return int(Decimal(text.strip()) * scale)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {text!r}") from exc

    return parse


NAMED_FORMATS: dict[str, Callable[[str, Any], int]] = {
    "rfc3339": parse_rfc3339_ns,
    "rfc3339nano": parse_rfc3339_ns,
    "iso8601": parse_rfc3339_ns,
    "unix": _epoch(1_000_000_000),
    "unix_ms": _epoch(1_000_000),
    "unix_us": _epoch(1_000),
    "unix_ns": _epoch(1),
}


def _strptime(fmt: str) -> Callable[[str, Any], int]:
    def parse(text: str, tz: Any) -> int:
        moment = datetime.strptime(text.strip(), fmt)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        delta = moment - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000

    return parse


class TimestampStage(Stage):
    """Set ``ts_ns`` from ``field`` using the first of ``formats`` that reads it."""

    kind = "timestamp"

    def __init__(self, field: str, formats: Sequence[str], timezone: str = "UTC") -> None:
        super().__init__()
        if not formats:
            raise ConfigError("timestamp stage: list at least one format (e.g. rfc3339, unix_ms)")
        self.field = field
        self.formats = tuple(formats)
        try:
            self._tz: Any = UTC if timezone == "UTC" else ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"timestamp stage: unknown timezone {timezone!r}; use an IANA name like Europe/Berlin"
            ) from exc
        self._parsers = []
        for fmt in self.formats:
            parser = NAMED_FORMATS.get(fmt.lower())
            if parser is None:
                if "%" not in fmt:
                    raise ConfigError(
                        f"timestamp stage: unknown format {fmt!r}; use one of "
                        + ", ".join(NAMED_FORMATS)
                        + " or a strptime format like %Y-%m-%d %H:%M:%S"
                    )
                parser = _strptime(fmt)
            self._parsers.append(parser)

    def __call__(self, record: LogRecord) -> LogRecord:
        value = record.fields.get(self.field)
        if value is None:
            return record
        if type(value) in (int, float) and not isinstance(value, bool):
            value = repr(value) if type(value) is float else str(value)
        if type(value) is not str:
            self.errors += 1
            return record
        for parser in self._parsers:
            try:
                return record.with_ts(parser(value, self._tz))
            except (ValueError, OverflowError):
                continue
        self.errors += 1
        return record
