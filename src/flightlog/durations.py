"""Durations as Prometheus, Loki and Go write them: ``1h30m``, ``250ms``, ``7d``, ``0``.

The one parser and formatter of that syntax (config files, rule files, alertmanager.yml,
LogQL ranges). A duration is a sequence of ``<number><unit>`` parts, numbers may have a
fraction (Go's ``1.5h``), units are ``ns us µs ms s m h d w y`` (``d`` = 24h, ``w`` = 7d,
``y`` = 365d as in Prometheus), in any order; a lone ``0`` is zero. Values are exact
integer nanoseconds (decimal arithmetic, no float rounding); ``*_secs`` are those / 1e9.
Callers wrap ``ValueError`` in their own error type and message (``ConfigError`` in
rules, pydantic's message in ``flightlog.config``).
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = [
    "UNITS_NS",
    "format_duration_ns",
    "format_duration_secs",
    "parse_duration_ns",
    "parse_duration_secs",
]

UNITS_NS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 7 * 86_400_000_000_000,
    "y": 365 * 86_400_000_000_000,
}
# Longest unit names first so "ms" is not read as "m" followed by garbage.
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h|d|w|y)")
_WHOLE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h|d|w|y))+")
# What the formatter writes, largest first (no w/y: they do not divide evenly into d).
_FORMAT_UNITS: tuple[tuple[str, int], ...] = (
    ("d", UNITS_NS["d"]),
    ("h", UNITS_NS["h"]),
    ("m", UNITS_NS["m"]),
    ("s", UNITS_NS["s"]),
    ("ms", UNITS_NS["ms"]),
    ("us", UNITS_NS["us"]),
    ("ns", UNITS_NS["ns"]),
)


def parse_duration_ns(text: str, *, negative: bool = False) -> int:
    """Nanoseconds in ``text``; ``negative=True`` also accepts a leading ``-`` (LogQL offsets).

    Raises ``ValueError("invalid duration '...'")`` for anything else (a bare number
    other than ``0``, spaces inside, unknown units, an empty string).
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}")
    body = text.strip()
    sign = 1
    if negative and body.startswith("-"):
        sign, body = -1, body[1:]
    if body == "0":
        return 0
    if not _WHOLE.fullmatch(body):
        raise ValueError(f"invalid duration {text!r}")
    total = sum(Decimal(number) * UNITS_NS[unit] for number, unit in _PART.findall(body))
    return sign * int(total.to_integral_value())


def parse_duration_secs(text: str, *, negative: bool = False) -> float:
    """Seconds in ``text`` (see ``parse_duration_ns``)."""
    return parse_duration_ns(text, negative=negative) / 1_000_000_000


def format_duration_ns(ns: int, *, largest: str = "d") -> str:
    """The canonical text for ``ns``: ``5400_000_000_000`` → ``1h30m``; ``0`` → ``0s``.

    ``largest`` is the biggest unit written (``"h"`` gives Go's style: ``48h``).
    """
    if ns == 0:
        return "0s"
    units = [unit for unit, _ in _FORMAT_UNITS]
    if largest not in units:
        raise ValueError(f"largest must be one of {units}, got {largest!r}")
    sign = "-" if ns < 0 else ""
    rest = abs(ns)
    parts = []
    for unit, size in _FORMAT_UNITS[units.index(largest) :]:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def format_duration_secs(seconds: float, *, largest: str = "d") -> str:
    """The canonical text for ``seconds``, to the nanosecond (``90`` → ``1m30s``)."""
    return format_duration_ns(round(Decimal(seconds) * 1_000_000_000), largest=largest)
