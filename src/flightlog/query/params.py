"""Loki's HTTP query parameters: timestamps, steps, ranges, limits, direction.

Times are nanosecond integers, seconds (an integer of at most 10 digits, or a decimal
with a fraction) or RFC3339 strings, all read to the exact nanosecond (RFC3339 through
the shared ``flightlog.timestamps``); steps and ``since`` are durations (``15s``,
``250ms``) or float seconds. Every bad value raises ``QueryError`` naming the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from flightlog.errors import QueryError
from flightlog.model import Direction
from flightlog.query.parser import parse_duration_ns
from flightlog.timestamps import parse_rfc3339_ns

__all__ = [
    "DEFAULT_LOOKBACK_NS",
    "LABELS_LOOKBACK_NS",
    "RangeParams",
    "default_step_ns",
    "parse_direction",
    "parse_limit",
    "parse_step_ns",
    "parse_time_ns",
    "range_params",
]

S = 1_000_000_000
DEFAULT_LOOKBACK_NS = 3600 * S
"""``start`` when neither it nor ``since`` is given: query, query_range, series, index."""
LABELS_LOOKBACK_NS = 6 * 3600 * S
"""``start`` of ``/labels`` and ``/label/<name>/values`` by default (Loki documents 6h)."""


def parse_time_ns(value: str, name: str = "time") -> int:
    text = value.strip()
    if not text:
        raise QueryError(f"invalid {name}: empty value; use ns since the epoch, seconds or RFC3339")
    if text.lstrip("-").isdigit():
        number = int(text)
        return number * S if len(text.lstrip("-")) <= 10 else number
    try:
        seconds = Decimal(text)
    except InvalidOperation:
        pass
    else:
        if not seconds.is_finite():
            raise QueryError(f"invalid {name} {value!r}: not a finite number")
        return int((seconds * S).to_integral_value(ROUND_HALF_EVEN))
    try:
        return parse_rfc3339_ns(text)
    except ValueError:
        raise QueryError(
            f"invalid {name} {value!r}: use ns since the epoch, seconds (1700000000.5) "
            "or RFC3339 with a zone (2026-01-01T00:00:20.123456789Z)"
        ) from None


def parse_step_ns(value: str, name: str = "step") -> int:
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            step = parse_duration_ns(text)
        except ValueError:
            raise QueryError(
                f"invalid {name} {value!r}: use a duration (15s, 250ms) or seconds"
            ) from None
    else:
        if math.isnan(seconds) or math.isinf(seconds):
            raise QueryError(f"invalid {name} {value!r}")
        step = round(seconds * S)
    if step <= 0:
        raise QueryError(
            f"zero or negative query resolution step widths are not accepted ({name}={value!r}): try a positive value"
        )
    return step


def default_step_ns(start_ns: int, end_ns: int) -> int:
    """Loki's default step: ``max(floor(range_seconds / 250), 1)`` whole seconds."""
    return max((end_ns - start_ns) // (250 * S), 1) * S


def parse_limit(value: str | None, default: int = 100) -> int:
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except ValueError:
        raise QueryError(f"invalid limit {value!r}: use a positive integer") from None
    if limit <= 0:
        raise QueryError(f"limit must be a positive value, got {limit}")
    return limit


def parse_direction(value: str | None) -> Direction:
    if not value:
        return Direction.BACKWARD
    try:
        return Direction(value.lower())
    except ValueError:
        raise QueryError(f"invalid direction {value!r}: use forward or backward") from None


@dataclass(frozen=True, slots=True)
class RangeParams:
    start_ns: int
    end_ns: int


def range_params(
    params: Mapping[str, str], now_ns: int, lookback_ns: int = DEFAULT_LOOKBACK_NS
) -> RangeParams:
    """``start``/``end``/``since`` with Loki's defaults (end = now, start = end - lookback)."""
    end = parse_time_ns(params["end"], "end") if params.get("end") else now_ns
    if params.get("start"):
        start = parse_time_ns(params["start"], "start")
    elif params.get("since"):
        # Loki: relative to end, but to now when end is in the future.
        start = min(end, now_ns) - parse_step_ns(params["since"], "since")
    else:
        start = end - lookback_ns
    if end < start:
        raise QueryError("end timestamp must not be before or equal to start time")
    return RangeParams(start, end)
