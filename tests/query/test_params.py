"""Loki's HTTP query parameters: times to the nanosecond, steps, defaults."""

from __future__ import annotations

import pytest

from flightlog.errors import QueryError
from flightlog.query.params import default_step_ns, parse_time_ns, range_params

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2026-01-01T00:00:20.123456789Z", 1767225620 * S + 123456789),
        ("2026-01-01T01:00:20.000000001+01:00", 1767225620 * S + 1),
        ("1767225620.123456789", 1767225620 * S + 123456789),
        ("1767225620", 1767225620 * S),
        ("1767225620123456789", 1767225620 * S + 123456789),
    ],
)
def test_times_keep_every_nanosecond(text: str, ns: int) -> None:
    """RFC3339 and decimal seconds are read exactly, not through a float or a datetime."""
    assert parse_time_ns(text, "start") == ns


@pytest.mark.parametrize("text", ["yesterday", "2026-01-01T00:00:20", "nan", "inf"])
def test_bad_times_name_the_parameter(text: str) -> None:
    """A value that is no time is a QueryError naming the parameter."""
    with pytest.raises(QueryError, match="invalid start"):
        parse_time_ns(text, "start")


@pytest.mark.parametrize(
    ("range_secs", "step_secs"),
    [(3600, 14), (600, 2), (499, 1), (100, 1), (86400, 345)],
)
def test_default_step_is_lokis(range_secs: int, step_secs: int) -> None:
    """Without `step`, Loki uses max(floor(range / 250), 1) whole seconds (1h -> 14s)."""
    assert default_step_ns(0, range_secs * S) == step_secs * S


def test_range_defaults_to_the_lookback_given() -> None:
    """Without start or since, start is end minus the endpoint's lookback (1h unless told)."""
    now = 1767225620 * S
    assert range_params({}, now).start_ns == now - 3600 * S
    assert range_params({}, now, 6 * 3600 * S).start_ns == now - 6 * 3600 * S
    assert range_params({"since": "5m"}, now, 6 * 3600 * S).start_ns == now - 300 * S


def test_since_counts_back_from_end_or_from_now_when_end_is_in_the_future() -> None:
    """Loki's query_range: start = end - since, but now - since when end is in the future."""
    now = 1_000 * 10**9
    past = range_params({"since": "10s", "end": str(500 * 10**9)}, now)
    assert (past.start_ns, past.end_ns) == (490 * 10**9, 500 * 10**9)
    future = range_params({"since": "10s", "end": str(2_000 * 10**9)}, now)
    assert (future.start_ns, future.end_ns) == (990 * 10**9, 2_000 * 10**9)
    given_start = range_params({"since": "10s", "start": "1", "end": str(5 * 10**9)}, now)
    assert given_start.start_ns == 10**9
