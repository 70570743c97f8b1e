"""Expressions over recorded series (used by SLO alerts and the watchdog)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightlog.errors import ConfigError, RuleError
from flightlog.rules.durations import format_duration, parse_duration
from flightlog.rules.model import Sample
from flightlog.rules.recorded_expr import evaluate_recorded, is_recorded_expr

SERIES = {
    "slo:ratio_rate1h": [Sample({"slo": "a"}, 0.2), Sample({"slo": "b"}, 0.001)],
    "slo:ratio_rate5m": [Sample({"slo": "a"}, 0.3), Sample({"slo": "b"}, 0.5)],
}


def read(name: str, matchers: Mapping[str, str], ts_ns: int, tenant: str) -> list[Sample]:
    return [
        s for s in SERIES.get(name, []) if all(s.labels.get(k) == v for k, v in matchers.items())
    ]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("slo:ratio_rate1h > 0.1", ["a"]),
        ('slo:ratio_rate1h{slo="b"} > 0.1', []),
        ("slo:ratio_rate1h > 0.1 and slo:ratio_rate5m > 0.1", ["a"]),
        ("slo:ratio_rate1h > 0.1 and slo:ratio_rate5m > 0.4", []),
        ("(slo:ratio_rate1h > 0.1) or (slo:ratio_rate5m > 0.4)", ["a", "b"]),
        ("slo:ratio_rate1h <= 0.001", ["b"]),
        ("slo:ratio_rate1h", ["a", "b"]),
        ('slo:ratio_rate1h{slo="a"}', ["a"]),
        ('slo:ratio_rate1h{slo!="a"}', ["b"]),
        ('slo:ratio_rate1h{slo=~"a|b"} > 0.1', ["a"]),
        ('slo:ratio_rate5m{slo!~"a.*"}', ["b"]),
        ('slo:ratio_rate5m{slo=~"x"}', []),
        ("slo:ratio_rate1h and slo:ratio_rate5m > 0.4", ["b"]),
    ],
)
def test_evaluate(expr: str, expected: list[str]) -> None:
    """Comparisons, and/or keep PromQL's label-matching semantics."""
    assert [s.labels.get("slo") for s in evaluate_recorded(expr, read, 0, "default")] == expected


def test_vector_constant() -> None:
    """vector(1) is one sample without labels (the watchdog's expression)."""
    assert evaluate_recorded("vector(1)", read, 0, "default") == [Sample({}, 1.0)]


@pytest.mark.parametrize(
    "expr",
    [
        'sum(rate({a="b"}[5m]))',
        "no_colon > 1",
        "slo:x >",
        "slo:x > 1 and",
        "slo:x{a=b} > 1",
        "(slo:x > 1",
        'slo:x{a=~"("}',
        'slo:x{a~"b"}',
    ],
)
def test_logql_and_broken_text_is_not_recorded(expr: str) -> None:
    """LogQL and malformed text are not taken for recorded-series expressions."""
    assert not is_recorded_expr(expr)


@given(st.text(max_size=100))
def test_garbage_never_crashes(text: str) -> None:
    """Any text is either accepted or rejected; evaluation errors are RuleError."""
    if is_recorded_expr(text):
        evaluate_recorded(text, read, 0, "default")
    else:
        with pytest.raises(RuleError):
            evaluate_recorded(text, read, 0, "default")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("100ms", 0.1), ("2d", 172800), (90, 90), ("0", 0)],
)
def test_durations(text: str | int, seconds: float) -> None:
    """Prometheus durations parse to seconds and format back."""
    assert parse_duration(text) == seconds
    if seconds:
        assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "5", "5 m", "m5", "-5s", "1.5.5s", "5x", True, -3])
def test_bad_durations(text: object) -> None:
    """Anything else (a unit-less string too, as in Prometheus) is a ConfigError."""
    with pytest.raises(ConfigError):
        parse_duration(text)  # type: ignore[arg-type]
