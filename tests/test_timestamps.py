"""The shared RFC 3339 reader keeps every nanosecond digit and needs a zone."""

from __future__ import annotations

import pytest

from flightlog.timestamps import parse_rfc3339_ns


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2026-01-01T00:00:20Z", 1767225620_000000000),
        ("2026-01-01T00:00:20.123456789Z", 1767225620_123456789),
        ("2026-01-01T00:00:20.000000001Z", 1767225620_000000001),
        ("2026-01-01T02:30:20.123456789+02:30", 1767225620_123456789),
        ("2026-01-01 00:00:20.5z", 1767225620_500000000),
    ],
)
def test_reads_to_the_nanosecond(text: str, ns: int) -> None:
    """Fraction digits beyond microseconds are kept exactly, in UTC or with an offset."""
    assert parse_rfc3339_ns(text) == ns


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01",
        "2026-01-01T00:00:20",
        "2026-01-01T00:00:20.1234567891Z",
        "٢٠٢٦-01-01T00:00:00Z",
    ],
)
def test_rejects_what_is_not_rfc3339_with_a_zone(text: str) -> None:
    """No zone, a date alone, ten fraction digits or non-ASCII digits are not RFC 3339."""
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_rfc3339_ns(text)
