"""Timestamps: integer nanoseconds and RFC 3339."""

from __future__ import annotations

import pytest

from flightlog.ingest import parse_timestamp_ns


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        (0, 0),
        ("1767225600000000001", 1767225600000000001),
        ("2026-01-01T00:00:00Z", 1767225600000000000),
        ("2026-01-01T00:00:00.5Z", 1767225600500000000),
        ("2026-01-01t00:00:00.000000001z", 1767225600000000001),
        ("2026-01-01T02:30:00+02:30", 1767225600000000000),
        ("2025-12-31T23:00:00-01:00", 1767225600000000000),
    ],
)
def test_parses(value, ns):
    assert parse_timestamp_ns(value) == ns


@pytest.mark.parametrize(
    "value", [-1, 1.5, None, "", "2026-01-01", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00", "٣"]
)
def test_rejects(value):
    with pytest.raises(ValueError):
        parse_timestamp_ns(value)
