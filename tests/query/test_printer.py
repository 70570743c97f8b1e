"""The printer: canonical LogQL that parses back to the same AST (hypothesis round-trip)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlog.model import LabelMatcher, MatchOp
from flightlog.query import ast
from flightlog.query.parser import parse
from flightlog.query.printer import to_logql

S = 1_000_000_000
KEYWORDS = {
    "by", "without", "and", "or", "unless", "bool", "on", "ignoring", "group_left", "group_right", "offset",
    "json", "logfmt", "regexp", "pattern", "unpack", "line_format", "label_format", "drop", "keep",
    "decolorize", "unwrap", "vector", "label_replace", "duration", "duration_seconds", "bytes",
}  # fmt: skip

names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: n not in KEYWORDS)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
# line_format / label_format templates must compile (the parser checks them)
templates = st.one_of(
    text.filter(lambda t: "{{" not in t),
    st.sampled_from(["{{.app}}", "{{ .a | upper }}", '{{ if .a }}x{{ else }}{{ "y" }}{{ end }}']),
)
safe_regex = st.sampled_from(["a.*", "(?i)err", "x|y", "[0-9]+", ".+", "\\d{2,}"])
durations = st.integers(1, 10**6).map(lambda ms: ms * 1_000_000)
numbers = st.one_of(
    st.integers(-1000, 1000).map(float),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: round(f, 3)),
)


@st.composite
def matchers(draw: st.DrawFn) -> LabelMatcher:
    op = draw(st.sampled_from(list(MatchOp)))
    value = draw(safe_regex if op in (MatchOp.RE, MatchOp.NRE) else text)
    return LabelMatcher(draw(names), op, value)


@st.composite
def selectors(draw: st.DrawFn) -> tuple[LabelMatcher, ...]:
    first = LabelMatcher(draw(names), MatchOp.EQ, draw(text.filter(bool)))
    return (first, *draw(st.lists(matchers(), max_size=2)))


string_ops = st.sampled_from([ast.CompareOp.EQ, ast.CompareOp.EQ2, ast.CompareOp.NEQ])
number_ops = st.sampled_from(
    [
        ast.CompareOp.EQ2,
        ast.CompareOp.NEQ,
        ast.CompareOp.GT,
        ast.CompareOp.GTE,
        ast.CompareOp.LT,
        ast.CompareOp.LTE,
    ]
)

leaf_filters = st.one_of(
    st.builds(ast.StringFilter, names, string_ops, text),
    st.builds(
        ast.StringFilter, names, st.sampled_from([ast.CompareOp.RE, ast.CompareOp.NRE]), safe_regex
    ),
    st.builds(ast.NumberFilter, names, number_ops, numbers),
    st.builds(ast.DurationFilter, names, number_ops, durations),
    st.builds(ast.BytesFilter, names, number_ops, st.integers(0, 10**9).map(float)),
    st.builds(
        ast.IpFilter,
        names,
        st.sampled_from([ast.CompareOp.EQ, ast.CompareOp.NEQ]),
        st.sampled_from(["10.0.0.0/8", "::1", "1.2.3.4-1.2.3.9"]),
    ),
)
label_filters = st.recursive(
    leaf_filters,
    lambda inner: st.one_of(
        st.builds(ast.LabelFilterAnd, inner, inner), st.builds(ast.LabelFilterOr, inner, inner)
    ),
    max_leaves=5,
)

stages = st.one_of(
    st.builds(ast.LineFilter, st.sampled_from([ast.LineFilterOp.CONTAINS, ast.LineFilterOp.NOT_CONTAINS]), st.lists(text, min_size=1, max_size=3).map(tuple)),
    st.builds(ast.LineFilter, st.sampled_from([ast.LineFilterOp.REGEX, ast.LineFilterOp.NOT_REGEX]), st.lists(safe_regex, min_size=1, max_size=2).map(tuple)),
    st.builds(ast.LineFilter, st.sampled_from([ast.LineFilterOp.CONTAINS, ast.LineFilterOp.NOT_CONTAINS]), st.just(("192.168.0.0/16",)), st.just(True)),
    st.builds(ast.JsonParser, st.lists(st.builds(ast.Extraction, names, st.sampled_from(["a.b", "a[0]", 'a["x y"]'])), max_size=2).map(tuple)),
    st.builds(ast.LogfmtParser, st.booleans(), st.booleans()),
    st.just(ast.RegexpParser("(?P<x>\\d+)")),
    st.just(ast.PatternParser("<ip> - <_>")),
    st.just(ast.UnpackParser()),
    st.builds(ast.LabelFilter, label_filters),
    st.builds(ast.LineFormat, templates),
    st.builds(ast.LabelFormat, st.lists(st.one_of(st.builds(ast.LabelFormatItem, names, names, st.just(False)), st.builds(ast.LabelFormatItem, names, templates, st.just(True))), min_size=1, max_size=2).map(tuple)),
    st.builds(ast.DropLabels, st.lists(st.one_of(names, matchers()), min_size=1, max_size=2).map(tuple)),
    st.builds(ast.KeepLabels, st.lists(names, min_size=1, max_size=2).map(tuple)),
    st.just(ast.Decolorize()),
)  # fmt: skip


def _unambiguous(stage_list: list[ast.Stage]) -> bool:
    """`| drop a != "x"` reads as a drop matcher in LogQL (as in Loki): skip that shape."""
    for current, following in itertools.pairwise(stage_list):
        if (
            isinstance(current, (ast.DropLabels, ast.KeepLabels))
            and isinstance(current.items[-1], str)
            and isinstance(following, ast.LineFilter)
            and following.op.value in ("!=", "!~")
        ):
            return False
    return True


log_queries = st.builds(
    ast.LogQuery, selectors(), st.lists(stages, max_size=4).filter(_unambiguous).map(tuple)
)
groupings = st.builds(ast.Grouping, st.booleans(), st.lists(names, max_size=2).map(tuple))


@st.composite
def range_aggregations(draw: st.DrawFn) -> ast.RangeAggregation:
    op = draw(st.sampled_from(list(ast.RangeOp)))
    log = draw(log_queries)
    range_ns = draw(durations)
    offset = draw(st.one_of(st.just(0), durations))
    unwrap_optional = op in (ast.RangeOp.RATE, ast.RangeOp.ABSENT_OVER_TIME)
    if op in ast.LINE_RANGE_OPS and not (unwrap_optional and draw(st.booleans())):
        return ast.RangeAggregation(op, log, range_ns, offset)
    unwrap = ast.Unwrap(
        draw(names),
        draw(st.sampled_from(list(ast.UnwrapConversion))),
        tuple(draw(st.lists(label_filters, max_size=2))),
    )
    param = (
        draw(st.floats(0, 1).map(lambda f: round(f, 2)))
        if op is ast.RangeOp.QUANTILE_OVER_TIME
        else None
    )
    grouping = draw(st.one_of(st.none(), groupings)) if op in ast.GROUPING_RANGE_OPS else None
    return ast.RangeAggregation(op, log, range_ns, offset, unwrap, param, grouping)


@st.composite
def vector_aggregations(draw: st.DrawFn, inner: st.SearchStrategy) -> ast.VectorAggregation:
    op = draw(st.sampled_from(list(ast.VectorOp)))
    param = (
        float(draw(st.integers(1, 10))) if op in (ast.VectorOp.TOPK, ast.VectorOp.BOTTOMK) else None
    )
    grouping = (
        None
        if op in (ast.VectorOp.SORT, ast.VectorOp.SORT_DESC)
        else draw(st.one_of(st.none(), groupings))
    )
    return ast.VectorAggregation(op, draw(inner), grouping, param)


@st.composite
def binary_ops(draw: st.DrawFn, inner: st.SearchStrategy) -> ast.BinaryOp:
    op = draw(st.sampled_from(sorted(ast.ARITHMETIC_OPS | ast.COMPARISON_OPS | ast.SET_OPS)))
    return_bool = op in ast.COMPARISON_OPS and draw(st.booleans())
    matching = None
    if draw(st.booleans()):
        group = None if op in ast.SET_OPS else draw(st.sampled_from([None, "left", "right"]))
        include = tuple(draw(st.lists(names, max_size=2))) if group else ()
        matching = ast.VectorMatching(
            draw(st.booleans()), tuple(draw(st.lists(names, max_size=2))), group, include
        )
    return ast.BinaryOp(op, draw(inner), draw(inner), return_bool, matching)


metric_leaves = st.one_of(
    range_aggregations(),
    st.builds(ast.NumberLiteral, numbers),
    st.builds(ast.VectorLiteral, numbers),
)
metric_exprs = st.recursive(
    metric_leaves,
    lambda inner: st.one_of(
        vector_aggregations(inner),
        binary_ops(inner),
        st.builds(ast.LabelReplace, inner, names, text, names, safe_regex),
    ),
    max_leaves=4,
)


@settings(max_examples=100, deadline=None)
@given(log_queries)
def test_log_query_round_trip(query: ast.LogQuery) -> None:
    """parse(print(ast)) == ast for every log query."""
    assert parse(to_logql(query)) == query


@settings(max_examples=100, deadline=None)
@given(metric_exprs)
def test_metric_query_round_trip(expr: ast.MetricExpr) -> None:
    """parse(print(ast)) == ast for every metric query."""
    assert parse(to_logql(expr)) == expr


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ('{app="api",env="prod"}|="x"', '{app="api", env="prod"} |= "x"'),
        ("vector(1)+vector(1)", "vector(1) + vector(1)"),
        ('sum(rate({app="api"}[60s])) by (env)', 'sum by (env) (rate({app="api"} [1m]))'),
        (
            'topk(2,count_over_time({app="api"}[1h30m]))',
            'topk(2, count_over_time({app="api"} [1h30m]))',
        ),
        (
            '{app="api"} | json | latency > 1.5s and size < 1KiB',
            '{app="api"} | json | latency>1s500ms and size<1024B',
        ),
    ],
)
def test_canonical_form(text: str, canonical: str) -> None:
    """The printer normalises spacing, durations, grouping position and units."""
    assert to_logql(parse(text)) == canonical
