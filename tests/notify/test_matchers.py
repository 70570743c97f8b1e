"""Alertmanager matcher strings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightlog.errors import ConfigError
from flightlog.model import MatchOp
from flightlog.notify.matchers import format_matcher, parse_matcher, parse_matchers


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('severity="page"', "severity", MatchOp.EQ, "page"),
        ("severity=page", "severity", MatchOp.EQ, "page"),
        ('team=~"ml|data"', "team", MatchOp.RE, "ml|data"),
        ('env!="dev"', "env", MatchOp.NEQ, "dev"),
        ('svc!~"test-.*"', "svc", MatchOp.NRE, "test-.*"),
        ('msg="say \\"hi\\""', "msg", MatchOp.EQ, 'say "hi"'),
        ("empty=", "empty", MatchOp.EQ, ""),
    ],
)
def test_parse_matcher(text: str, name: str, op: MatchOp, value: str) -> None:
    """Quoted and bare values, every operator, escapes."""
    matcher = parse_matcher(text)
    assert (matcher.name, matcher.op, matcher.value) == (name, op, value)
    assert parse_matcher(format_matcher(matcher)) == matcher


def test_brace_list() -> None:
    """One item may hold a {a="1", b=~"x,y"} list, commas inside quotes kept."""
    parsed = parse_matchers(['{a="1", b=~"x,y"}', "c!=2"])
    assert [(m.name, m.value) for m in parsed] == [("a", "1"), ("b", "x,y"), ("c", "2")]


@pytest.mark.parametrize("text", ["", "novalue", "=x", "9a=b", 'a=~"("'])
def test_bad_matchers(text: str) -> None:
    """Malformed matchers are ConfigErrors that show the text."""
    with pytest.raises(ConfigError):
        parse_matcher(text)


@given(st.text(max_size=80))
def test_garbage(text: str) -> None:
    """Any text parses or raises ConfigError."""
    try:
        parse_matchers([text])
    except ConfigError:
        pass
