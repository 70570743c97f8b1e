"""The LogQL grammar: valid queries parse to the expected AST, invalid ones fail at a position."""

from __future__ import annotations

import pytest

from flightlog.errors import ParseError
from flightlog.model import LabelMatcher, MatchOp
from flightlog.query import ast
from flightlog.query.parser import MAX_QUERY_CHARS, parse, parse_bytes, parse_duration_ns

S = 1_000_000_000
SEL = (LabelMatcher("app", MatchOp.EQ, "api"),)


VALID = [
    ('{app="api"}', ast.LogQuery(SEL)),
    ('{app="api", env=~"prod|dev", x!="1", y!~"z.*"}', None),
    ('{app="api"} |= "a" != "b" |~ "c+" !~ "d" |> "<_> x" !> "y <_>"', None),
    (
        '{app="api"} |= "a" or "b"',
        ast.LogQuery(SEL, (ast.LineFilter(ast.LineFilterOp.CONTAINS, ("a", "b")),)),
    ),
    ('{app="api"} | json', ast.LogQuery(SEL, (ast.JsonParser(),))),
    (
        '{app="api"} | json first="servers[0]", ua="request.headers[\\"User-Agent\\"]"',
        ast.LogQuery(
            SEL,
            (
                ast.JsonParser(
                    (
                        ast.Extraction("first", "servers[0]"),
                        ast.Extraction("ua", 'request.headers["User-Agent"]'),
                    )
                ),
            ),
        ),
    ),
    (
        '{app="api"} | logfmt --strict --keep-empty',
        ast.LogQuery(SEL, (ast.LogfmtParser(True, True),)),
    ),
    ('{app="api"} | regexp "(?P<method>\\\\w+) (?P<path>\\\\S+)"', None),
    (
        '{app="api"} | regexp `(?P<method>\\w+)`',
        ast.LogQuery(SEL, (ast.RegexpParser("(?P<method>\\w+)"),)),
    ),
    (
        '{app="api"} | pattern "<ip> - <_> [<ts>]"',
        ast.LogQuery(SEL, (ast.PatternParser("<ip> - <_> [<ts>]"),)),
    ),
    ('{app="api"} | unpack', ast.LogQuery(SEL, (ast.UnpackParser(),))),
    (
        '{app="api"} | logfmt | duration >= 20ms or method="GET" and size <= 20KB',
        ast.LogQuery(
            SEL,
            (
                ast.LogfmtParser(),
                ast.LabelFilter(
                    ast.LabelFilterOr(
                        ast.DurationFilter("duration", ast.CompareOp.GTE, 20_000_000),
                        ast.LabelFilterAnd(
                            ast.StringFilter("method", ast.CompareOp.EQ, "GET"),
                            ast.BytesFilter("size", ast.CompareOp.LTE, 20_000.0),
                        ),
                    )
                ),
            ),
        ),
    ),
    ('{app="api"} | status >= 400, status < 500', None),
    ('{app="api"} | (a="1" or b="2") c="3"', None),
    (
        '{app="api"} | __error__=""',
        ast.LogQuery(SEL, (ast.LabelFilter(ast.StringFilter("__error__", ast.CompareOp.EQ, "")),)),
    ),
    (
        '{app="api"} | x > -1.5',
        ast.LogQuery(SEL, (ast.LabelFilter(ast.NumberFilter("x", ast.CompareOp.GT, -1.5)),)),
    ),
    ('{app="api"} | line_format "{{.msg}}"', ast.LogQuery(SEL, (ast.LineFormat("{{.msg}}"),))),
    (
        '{app="api"} | label_format new=old, t="{{.a}}-{{.b}}"',
        ast.LogQuery(
            SEL,
            (
                ast.LabelFormat(
                    (
                        ast.LabelFormatItem("new", "old", False),
                        ast.LabelFormatItem("t", "{{.a}}-{{.b}}", True),
                    )
                ),
            ),
        ),
    ),
    (
        '{app="api"} | drop a, b="x"',
        ast.LogQuery(SEL, (ast.DropLabels(("a", LabelMatcher("b", MatchOp.EQ, "x"))),)),
    ),
    ('{app="api"} | keep a', ast.LogQuery(SEL, (ast.KeepLabels(("a",)),))),
    ('{app="api"} | decolorize', ast.LogQuery(SEL, (ast.Decolorize(),))),
    (
        '{app="api"} |= ip("10.0.0.0/8")',
        ast.LogQuery(SEL, (ast.LineFilter(ast.LineFilterOp.CONTAINS, ("10.0.0.0/8",), ip=True),)),
    ),
    ('{app="api"} | logfmt | addr != ip("10.0.0.1-10.0.0.9")', None),
    (
        '{app="api"} # a comment\n |= "x"',
        ast.LogQuery(SEL, (ast.LineFilter(ast.LineFilterOp.CONTAINS, ("x",)),)),
    ),
    (
        'count_over_time({app="api"}[5m])',
        ast.RangeAggregation(ast.RangeOp.COUNT_OVER_TIME, ast.LogQuery(SEL), 300 * S),
    ),
    (
        'rate(({app="api"} |= "x")[1m] offset 1h)',
        ast.RangeAggregation(
            ast.RangeOp.RATE,
            ast.LogQuery(SEL, (ast.LineFilter(ast.LineFilterOp.CONTAINS, ("x",)),)),
            60 * S,
            3600 * S,
        ),
    ),
    (
        'quantile_over_time(0.99, {app="api"} | json | unwrap duration(latency) | __error__="" [5m]) by (env)',
        ast.RangeAggregation(
            ast.RangeOp.QUANTILE_OVER_TIME,
            ast.LogQuery(SEL, (ast.JsonParser(),)),
            300 * S,
            unwrap=ast.Unwrap(
                "latency",
                ast.UnwrapConversion.DURATION,
                (ast.StringFilter("__error__", ast.CompareOp.EQ, ""),),
            ),
            param=0.99,
            grouping=ast.Grouping(False, ("env",)),
        ),
    ),
    ('sum_over_time({app="api"} | logfmt | unwrap bytes(size) [1m])', None),
    ('avg_over_time({app="api"} | logfmt | unwrap duration [1m])', None),
    ('sum by (env) (rate({app="api"}[1m]))', None),
    ('sum(rate({app="api"}[1m])) without (env)', None),
    ('topk(3, sum by (env) (rate({app="api"}[1m])))', None),
    ('sort_desc(count_over_time({app="api"}[1m]))', None),
    ("vector(1)+vector(1)", ast.BinaryOp("+", ast.VectorLiteral(1.0), ast.VectorLiteral(1.0))),
    (
        "1 + 2 * 3",
        ast.BinaryOp(
            "+",
            ast.NumberLiteral(1.0),
            ast.BinaryOp("*", ast.NumberLiteral(2.0), ast.NumberLiteral(3.0)),
        ),
    ),
    (
        "2 ^ 3 ^ 2",
        ast.BinaryOp(
            "^",
            ast.NumberLiteral(2.0),
            ast.BinaryOp("^", ast.NumberLiteral(3.0), ast.NumberLiteral(2.0)),
        ),
    ),
    ('rate({app="api"}[1m]) > bool 2', None),
    ('rate({app="api"}[1m]) and on (env) rate({app="web"}[1m])', None),
    ('rate({app="api"}[1m]) unless ignoring (x) rate({app="web"}[1m])', None),
    (
        'sum by (env, pod) (rate({app="api"}[1m])) / on (env) group_left (team) sum by (env, team) (rate({app="web"}[1m]))',
        None,
    ),
    ('label_replace(rate({app="api"}[1m]), "svc", "$1", "app", "(.*)")', None),
    ('absent_over_time({app="api"}[5m])', None),
    ('absent_over_time({app="api"} | logfmt | unwrap latency [5m])', None),
    ('rate({app="api"} | logfmt | unwrap bytes(size) [5m])', None),
    ('rate_counter({app="api"} | logfmt | unwrap requests [5m])', None),
    ('bytes_rate({app="api"}[5m]) or vector(0)', None),
]

# Loki: unwrapped range aggregations take by/without, except sum_over_time,
# absent_over_time, rate and rate_counter; log range aggregations take none.
GROUPED_RANGE_OK = [
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "first_over_time",
    "last_over_time",
]
GROUPED_RANGE_REFUSED = ["sum_over_time", "absent_over_time", "rate", "rate_counter"]


@pytest.mark.parametrize("op", GROUPED_RANGE_OK)
@pytest.mark.parametrize("keyword", ["by", "without"])
def test_unwrapped_range_aggregations_that_take_grouping(op: str, keyword: str) -> None:
    """The unwrapped range aggregations Loki documents with grouping accept by and without."""
    expr = parse(f'{op}({{app="api"}} | logfmt | unwrap latency [1m]) {keyword} (env)')
    assert isinstance(expr, ast.RangeAggregation)
    assert expr.grouping == ast.Grouping(keyword == "without", ("env",))


@pytest.mark.parametrize("op", GROUPED_RANGE_REFUSED)
@pytest.mark.parametrize("keyword", ["by", "without"])
def test_unwrapped_range_aggregations_without_grouping(op: str, keyword: str) -> None:
    """sum_over_time, absent_over_time, rate and rate_counter refuse grouping, at the keyword."""
    head = f'{op}({{app="api"}} | logfmt | unwrap latency [1m]) '
    with pytest.raises(ParseError, match="does not accept grouping") as caught:
        parse(head + f"{keyword} (env)")
    assert (caught.value.line, caught.value.column) == (1, len(head) + 1)


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[v[0][:60] for v in VALID])
def test_valid_queries_parse(text: str, expected: ast.Expr | None) -> None:
    """Every documented construct parses; where given, to exactly the expected AST."""
    result = parse(text)
    if expected is not None:
        assert result == expected


INVALID = [
    ('{app="api"', 1, 11, "expected one of"),
    ('{app="api"} |= ', 1, 16, "expected one of"),
    ('sum(rate({app="api"}[5m])', 1, 26, "')'"),
    ('{app="api"} | json | x > "y"', 1, 22, "needs a number"),
    ('rate({app="api"})', 1, 17, "unexpected ')'"),
    ('{app="api"} |~ "("', 1, 13, "invalid regex"),
    ('{app="api"} |= "x" @', 1, 20, "unexpected character '@'"),
    ('{app="api"}\n  |= "x"\n  | json |', 3, 11, "unexpected end"),
    ('{app="api"}\n  | unknown(', 2, 12, "unexpected"),
    ("foo", 1, 1, "unexpected 'foo'"),
    ("{}", 1, 1, "at least one stream matcher"),
    ('{app=""}', 1, 1, "empty-compatible value"),
    ('{app="api"} | unwrap x', 1, 15, "only allowed inside a range aggregation"),
    ('count_over_time({app="api"} | unwrap x [1m])', 1, 31, "cannot be used with unwrap"),
    ('sum_over_time({app="api"} [1m])', 1, 1, "needs an unwrapped label"),
    ('topk(rate({app="api"}[1m]))', 1, 6, "positive integer parameter"),
    ('sum by (a) ({app="api"})', 1, 13, "not a log query"),
    ('count_over_time({app="api"}[1m]) by (x)', 1, 34, "does not accept grouping"),
    ('bytes_rate({app="api"}[1m])\n  without (x)', 2, 3, "does not accept grouping"),
    ('sort(rate({app="api"}[1m])) by (x)', 1, 29, "does not accept grouping"),
    ('bytes_over_time({app="api"} | unwrap x [1m])', 1, 31, "cannot be used with unwrap"),
    ('quantile_over_time({app="api"} | unwrap x [1m])', 1, 1, "quantile parameter"),
    ('rate({app="api"}[1m]) + {app="api"}', 1, 25, "cannot be an operand"),
    ('rate({app="api"}[1m]) + bool 1', 1, 25, "bool modifier"),
    ("", 1, 1, "empty query"),
    ('{app="api"} |~ ip("1.2.3.4")', 1, 13, "use |= or !="),
    ('{app="api"} |= ip("1.2.3")', 1, 16, "invalid ip pattern"),
    ('{app="api"} |= "a" or ip("1.2.3.4")', 1, 13, "do not mix"),
    ('{app="api"} | regexp "(\\\\w+)"', 1, 15, "named capture group"),
    ('{app="api"} | line_format "{{ nosuchfn .x }}"', 1, 15, 'function "nosuchfn" not defined'),
    ('{app="api"}\n  | line_format "{{ if .x }}y"', 2, 5, "{{if}} without {{end}}"),
    ('{app="api"} | label_format a=b, c="{{.x"', 1, 33, "unclosed action"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"), INVALID, ids=[i[0][:50] or "empty" for i in INVALID]
)
def test_invalid_queries_fail_at_position(text: str, line: int, column: int, fragment: str) -> None:
    """Syntax and semantic errors carry the line and column Loki's format names."""
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert (caught.value.line, caught.value.column) == (line, column), str(caught.value)
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"parse error at line {line}, col {column}: ")


# Semantic errors point at the offending token, not at the start of the query. Columns
# are counted by hand from the query text (1-based; a tab or newline counts as one).
SEMANTIC_POSITIONS = [
    # a log query as an operand: the log query's "{"
    ('{a="b"} + 1', 1, 1, "cannot be an operand of a binary operator"),
    ('1 + {a="b"}', 1, 5, "cannot be an operand of a binary operator"),
    ('sum(rate({a="b"}[1m])) /\n  ({a="b"})', 2, 4, "cannot be an operand"),
    # selectors without a matcher that needs a value: the selector's "{"
    ("{}", 1, 1, "at least one stream matcher"),
    ('{a=""}', 1, 1, "empty-compatible value"),
    ('{a=~".*"}', 1, 1, "empty-compatible value"),
    ('{a="", b!="c"}', 1, 1, "empty-compatible value"),
    ('rate({a=~".*"}[1m])', 1, 6, "empty-compatible value"),
    ("sum(rate({}[1m]))", 1, 10, "at least one stream matcher"),
    # a bad regex in a matcher: its string
    ('{a=~"("}', 1, 5, "invalid regex"),
    # a range aggregation without its range: the ")" where "[" was expected
    ('count_over_time({a="b"})', 1, 24, "unexpected ')'"),
    # unwrap missing, misplaced or not allowed: the function name or the unwrap keyword
    ('sum_over_time({a="b"}[1m])', 1, 1, "needs an unwrapped label"),
    ('sum(avg_over_time({a="b"}[1m]))', 1, 5, "needs an unwrapped label"),
    ('count_over_time({a="b"} | unwrap x [1m])', 1, 27, "cannot be used with unwrap"),
    ('rate({a="b"} | unwrap x | json [1m])', 1, 27, "only label filters may follow unwrap"),
    ('{a="b"} | json | unwrap x', 1, 18, "only allowed inside a range aggregation"),
    ('sum_over_time(({a="b"} | unwrap x) [1m] offset 0s) + 1 + {a="b"} | json', 1, 58, "operand"),
    # parameters: the missing one's function name, a wrong one itself
    ('quantile_over_time({a="b"} | unwrap x [1m])', 1, 1, "quantile parameter"),
    ('max(quantile_over_time({a="b"} | unwrap x [1m]))', 1, 5, "quantile parameter"),
    ('rate(0.5, {a="b"}[1m])', 1, 6, "takes no parameter"),
    ('topk(1.5, rate({a="b"}[1m]))', 1, 6, "positive integer parameter"),
    ('bottomk(-2, rate({a="b"}[1m]))', 1, 9, "positive integer parameter"),
    ('topk by (x) (0, rate({a="b"}[1m]))', 1, 14, "positive integer parameter"),
    ('topk(rate({a="b"}[1m]))', 1, 6, "positive integer parameter"),
    ('sum(2, rate({a="b"}[1m]))', 1, 5, "takes no parameter"),
    ('sum by (x) ({a="b"} |= "y")', 1, 13, "not a log query"),
    # modifiers of binary operators: "bool", "group_left"
    ("1 + bool 2", 1, 5, "bool modifier can only be used on comparison operators"),
    ('rate({a="b"}[1m]) * bool rate({a="b"}[1m])', 1, 21, "bool modifier"),
    ('rate({a="b"}[1m]) > bool 1 and bool 2', 1, 32, "bool modifier"),
    ('rate({a="b"}[1m]) and on (x) group_left rate({a="b"}[1m])', 1, 30, "no grouping allowed"),
    # label_replace: its arguments
    ('label_replace({a="b"}, "d", "$1", "s", "(.*)")', 1, 15, "needs a metric query"),
    ('label_replace(rate({a="b"}[1m]), "d-x", "$1", "s", "(.*)")', 1, 34, "destination label"),
    ('label_replace(rate({a="b"}[1m]), "d", "$1", "s", "(")', 1, 50, "invalid regex"),
    # label names must be identifiers: the grammar refuses them where they start
    ('{1a="b"}', 1, 2, "unexpected '1'"),
    ('sum(rate({a="b"}[1m])) by (a-b)', 1, 29, "unexpected '-'"),
    ('{a="b"} | json "x"="y"', 1, 16, "unexpected '\"x\"'"),
    ('{a="b"} | drop "x"', 1, 16, "unexpected"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    SEMANTIC_POSITIONS,
    ids=[i[0][:50] for i in SEMANTIC_POSITIONS],
)
def test_semantic_errors_point_at_the_offending_token(
    text: str, line: int, column: int, fragment: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert (caught.value.line, caught.value.column) == (line, column), str(caught.value)
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"parse error at line {line}, col {column}: ")


def test_oversize_query_is_refused() -> None:
    """A query longer than the limit fails fast with a message naming the limit."""
    with pytest.raises(ParseError, match="limit"):
        parse('{app="api"} |= "' + "x" * MAX_QUERY_CHARS + '"')


def test_truncated_queries_never_crash() -> None:
    """Every prefix of a long valid query either parses or raises ParseError."""
    text = 'sum by (env) (rate({app="api", env=~"p.*"} |= "x" | json | latency > 10ms | line_format "{{.a}}" [5m] offset 1m)) > bool 2'
    for end in range(len(text)):
        try:
            parse(text[:end])
        except ParseError:
            pass


def test_keywords_stay_usable_as_label_names() -> None:
    """`rate`, `json`-like words are keywords only where the grammar expects them."""
    query = parse('{rate="1", sum="2", by="3"} | logfmt | count > 1')
    assert isinstance(query, ast.LogQuery)
    assert [m.name for m in query.matchers] == ["rate", "sum", "by"]


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("5m", 300 * S),
        ("1h30m", 5400 * S),
        ("250ms", 250_000_000),
        ("1.5s", 1_500_000_000),
        ("2d", 172800 * S),
        ("10us", 10_000),
    ],
)
def test_durations(text: str, ns: int) -> None:
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize("text", ["", "5", "5x", "m5", "1h 2m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_ns(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("20KB", 20_000), ("1KiB", 1024), ("1.5MB", 1_500_000), ("10b", 10), ("2GiB", 2 * 1024**3)],
)
def test_bytes(text: str, value: float) -> None:
    assert parse_bytes(text) == value
