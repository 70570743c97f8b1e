"""Label-set and selector text: ``{name="value", ...}``."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightlog.errors import ValidationError
from flightlog.ingest import parse_label_set, parse_selector
from flightlog.ingest.reasons import INVALID_LABELS
from flightlog.model import LabelMatcher, MatchOp, format_labels


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("{}", ()),
        ('{a="1"}', (("a", "1"),)),
        ('{ b = "2" , a="1" }', (("a", "1"), ("b", "2"))),
        (r'{a="q\"uote\\n\n"}', (("a", 'q"uote\\n\n'),)),
        ("{a=`raw\\n`}", (("a", "raw\\n"),)),
        (r'{a="\u00e9"}', (("a", "é"),)),
    ],
)
def test_label_sets_parse(text, labels):
    assert parse_label_set(text) == labels


@pytest.mark.parametrize(
    "text", ["", "a=1", '{a="1"', '{a="1",}', '{a=~"1"}', '{a="1", a="2"}', '{a="1"} x', '{1a="x"}']
)
def test_bad_label_sets_are_invalid_labels(text):
    with pytest.raises(ValidationError) as caught:
        parse_label_set(text)
    assert caught.value.reason == INVALID_LABELS


_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_names, st.text(max_size=20), max_size=5))
def test_format_then_parse_is_identity(labels):
    """format_labels and parse_label_set agree on escaping."""
    assert parse_label_set(format_labels(labels)) == tuple(sorted(labels.items()))


def test_selectors_support_all_four_operators():
    assert parse_selector('{a="1", b!="2", c=~"x|y", d!~"z.*"}') == (
        LabelMatcher("a", MatchOp.EQ, "1"),
        LabelMatcher("b", MatchOp.NEQ, "2"),
        LabelMatcher("c", MatchOp.RE, "x|y"),
        LabelMatcher("d", MatchOp.NRE, "z.*"),
    )


@pytest.mark.parametrize("text", ["{}", "level=debug", '{a=~"("}'])
def test_bad_selectors_raise_value_error(text):
    with pytest.raises(ValueError):
        parse_selector(text)
