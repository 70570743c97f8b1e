"""The shared duration parser/formatter: known values, garbage, and hypothesis round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightlog.durations import (
    UNITS_NS,
    format_duration_ns,
    format_duration_secs,
    parse_duration_ns,
    parse_duration_secs,
)

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("0s", 0),
        ("250ms", 250_000_000),
        ("1h30m", 5400 * S),
        ("1.5h", 5400 * S),
        ("7d", 7 * 86400 * S),
        ("1w", 7 * 86400 * S),
        ("1y", 365 * 86400 * S),
        ("3us", 3_000),
        ("3µs", 3_000),
        ("12ns", 12),
        ("1.1s", 1_100_000_000),
        (" 5m ", 300 * S),
        ("30s1m", 90 * S),  # any order, as the three parsers before it allowed
    ],
)
def test_known_values(text, ns):
    assert parse_duration_ns(text) == ns
    assert parse_duration_secs(text) == ns / S


@pytest.mark.parametrize(
    "text",
    ["", " ", "5", "5 m", "m5", "-5s", "1.5.5s", "5x", "1e3s", ".5s", "5s ms", "\x00", "9" * 5000],
)
def test_garbage_is_value_error(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration_ns(text)


@pytest.mark.parametrize("value", [None, 5, 1.5, True, b"5s"])
def test_non_text_is_value_error(value):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration_ns(value)  # type: ignore[arg-type]


def test_negative_only_when_asked():
    assert parse_duration_ns("-1m", negative=True) == -60 * S
    with pytest.raises(ValueError):
        parse_duration_ns("-1m")


@pytest.mark.parametrize(
    ("ns", "text", "go_text"),
    [
        (0, "0s", "0s"),
        (90 * S, "1m30s", "1m30s"),
        (2 * 86400 * S + 5, "2d5ns", "48h5ns"),
        (-1_500_000, "-1ms500us", "-1ms500us"),
    ],
)
def test_format(ns, text, go_text):
    assert format_duration_ns(ns) == text
    assert format_duration_ns(ns, largest="h") == go_text


def test_format_secs_is_exact_to_the_nanosecond():
    assert format_duration_secs(0.1) == "100ms"
    assert format_duration_secs(5400) == "1h30m"
    with pytest.raises(ValueError):
        format_duration_ns(1, largest="fortnight")


@given(st.integers(min_value=-(10**21), max_value=10**21), st.sampled_from(["d", "h", "s"]))
def test_ns_round_trip(ns, largest):
    text = format_duration_ns(ns, largest=largest)
    assert parse_duration_ns(text, negative=True) == ns


@given(st.integers(min_value=0, max_value=10**12))
def test_millisecond_seconds_round_trip(ms):
    seconds = ms / 1000
    assert parse_duration_secs(format_duration_secs(seconds)) == seconds


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(UNITS_NS))),
        min_size=1,
        max_size=6,
    )
)
def test_any_written_duration_parses_to_its_sum_and_formats_canonically(parts):
    text = "".join(f"{n}{unit}" for n, unit in parts)
    ns = parse_duration_ns(text)
    assert ns == sum(n * UNITS_NS[unit] for n, unit in parts)
    assert parse_duration_ns(format_duration_ns(ns)) == ns
