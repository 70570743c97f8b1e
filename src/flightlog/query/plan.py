"""What a log query pushes down to the store/DuckDB and what stays in Python.

``plan_log_query`` splits a ``LogQuery`` into:

* **pushed down**: the stream matchers (stream pruning in the catalog), the time range
  (segment pruning and a ``ts`` predicate), line filters that run on the original line
  (``|=``, ``!=``, ``|~``, ``!~`` as DuckDB ``contains`` / ``regexp_matches`` — DuckDB's
  regex engine is RE2, the same as Loki's, and every pattern has been validated with
  google-re2 by the parser) and the needles (a ``|=`` with one value) that the store's
  per-segment n-gram blooms and per-row-group word indexes check;
* **residual**: every other stage (parsers, label filters, formats, pattern filters and
  line filters that follow a stage rewriting the line), run per entry in Python.

A line filter can move ahead of parsers and label filters because they leave the line
untouched; it cannot move past ``line_format``, ``decolorize`` or ``unpack``.
``render()`` gives the textual plan used by the golden tests and ``EXPLAIN``-style output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flightlog.model import LabelMatcher
from flightlog.query import ast
from flightlog.query.printer import format_duration, format_selector, format_stage, quote

__all__ = [
    "LogPlan",
    "MetricPlan",
    "plan_log_query",
    "plan_query",
    "render_plan",
    "sql_line_predicate",
]

_LINE_REWRITERS = (ast.LineFormat, ast.Decolorize, ast.UnpackParser)
_SQL_OPS = (
    ast.LineFilterOp.CONTAINS,
    ast.LineFilterOp.NOT_CONTAINS,
    ast.LineFilterOp.REGEX,
    ast.LineFilterOp.NOT_REGEX,
)


@dataclass(frozen=True, slots=True)
class LogPlan:
    matchers: tuple[LabelMatcher, ...]
    pushed_filters: tuple[ast.LineFilter, ...]
    needles: tuple[str, ...]
    residual: tuple[ast.Stage, ...]
    alternatives: tuple[tuple[str, ...], ...] = ()
    """Per ``|= "a" or "b"`` (or ``|~ "a|b"`` of plain words): a matching line holds one."""

    @property
    def needs_line_in_python(self) -> bool:
        return bool(self.residual)


def plan_log_query(query: ast.LogQuery) -> LogPlan:
    pushed: list[ast.LineFilter] = []
    residual: list[ast.Stage] = []
    line_rewritten = False
    for stage in query.stages:
        if isinstance(stage, _LINE_REWRITERS):
            line_rewritten = True
        if (
            isinstance(stage, ast.LineFilter)
            and not line_rewritten
            and stage.op in _SQL_OPS
            and not stage.ip
        ):
            pushed.append(stage)
        else:
            residual.append(stage)
    needles = tuple(
        f.values[0]
        for f in pushed
        if f.op is ast.LineFilterOp.CONTAINS and len(f.values) == 1 and f.values[0]
    )
    alternatives = tuple(
        group for f in pushed if (group := _alternatives_of(f)) is not None and len(group) > 1
    )
    if _drops_non_json(residual):
        pushed.append(JSON_OBJECT_PREFILTER)
    return LogPlan(query.matchers, tuple(pushed), needles, tuple(residual), alternatives)


_LITERAL_ALTERNATION = re.compile(r"[A-Za-z0-9 _:/=-]+(?:\|[A-Za-z0-9 _:/=-]+)*")


def _alternatives_of(filt: ast.LineFilter) -> tuple[str, ...] | None:
    """The literals one of which every line passing ``filt`` contains, if it says so."""
    if filt.op is ast.LineFilterOp.CONTAINS and all(filt.values):
        return tuple(filt.values)
    # A regex counts only as an alternation of plain words: no metacharacter to change it.
    if (
        filt.op is ast.LineFilterOp.REGEX
        and len(filt.values) == 1
        and _LITERAL_ALTERNATION.fullmatch(filt.values[0])
    ):
        return tuple(filt.values[0].split("|"))
    return None


JSON_OBJECT_PREFILTER = ast.LineFilter(ast.LineFilterOp.REGEX, (r"^[\t\n\v\f\r \x{FEFF}]*\{",))
"""Lines that can be JSON objects: ``{`` after (a superset of) JSON whitespace."""

_NO_ERROR = tuple(
    ast.LabelFilter(ast.StringFilter("__error__", op, ""))
    for op in (ast.CompareOp.EQ, ast.CompareOp.EQ2)
)


def _drops_non_json(residual: list[ast.Stage]) -> bool:
    """``| json | __error__=""`` first: a line that is not a JSON object gets
    ``JSONParserErr`` and is dropped, so DuckDB may drop it before Python parses it."""
    return (
        len(residual) >= 2 and isinstance(residual[0], ast.JsonParser) and residual[1] in _NO_ERROR
    )


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_line_predicate(filt: ast.LineFilter) -> str:
    """The DuckDB boolean expression over column ``line`` for one pushed line filter."""
    if filt.op in (ast.LineFilterOp.CONTAINS, ast.LineFilterOp.NOT_CONTAINS):
        parts = [f"contains(line, {_sql_string(v)})" for v in filt.values]
    else:
        parts = [f"regexp_matches(line, {_sql_string(v)})" for v in filt.values]
    expr = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    if filt.op in (ast.LineFilterOp.NOT_CONTAINS, ast.LineFilterOp.NOT_REGEX):
        return f"NOT {expr}"
    return expr


@dataclass(frozen=True, slots=True)
class MetricPlan:
    """For a range aggregation: its log plan, window, and what Python still computes."""

    range_agg: ast.RangeAggregation
    log: LogPlan

    @property
    def sql_only(self) -> bool:
        """No residual stage and no unwrap: counts and bytes come from DuckDB columns alone."""
        return not self.log.residual and self.range_agg.unwrap is None


def _range_aggregations(expr: ast.Expr) -> list[ast.RangeAggregation]:
    if isinstance(expr, ast.RangeAggregation):
        return [expr]
    if isinstance(expr, ast.VectorAggregation):
        return _range_aggregations(expr.expr)
    if isinstance(expr, ast.LabelReplace):
        return _range_aggregations(expr.expr)
    if isinstance(expr, ast.BinaryOp):
        return _range_aggregations(expr.left) + _range_aggregations(expr.right)
    return []


def plan_query(expr: ast.Expr) -> LogPlan | list[MetricPlan]:
    if isinstance(expr, ast.LogQuery):
        return plan_log_query(expr)
    return [MetricPlan(r, plan_log_query(r.log)) for r in _range_aggregations(expr)]


def _render_log(plan: LogPlan, indent: str) -> list[str]:
    lines = [f"{indent}scan streams {format_selector(plan.matchers)}"]
    if plan.needles:
        lines.append(
            f"{indent}  needles (segment blooms, row-group words): {', '.join(quote(n) for n in plan.needles)}"
        )
    for group in plan.alternatives:
        lines.append(
            f"{indent}  one of (segment blooms, row-group words): {', '.join(quote(n) for n in group)}"
        )
    for f in plan.pushed_filters:
        lines.append(f"{indent}  duckdb where: {sql_line_predicate(f)}")
    for stage in plan.residual:
        lines.append(f"{indent}  python: {format_stage(stage)}")
    return lines


def render_plan(expr: ast.Expr) -> str:
    """Human-readable plan: one line per decision."""
    if isinstance(expr, ast.LogQuery):
        return "\n".join(["log query", *_render_log(plan_log_query(expr), "  ")]) + "\n"
    lines = ["metric query"]
    for metric in plan_query(expr):
        assert isinstance(metric, MetricPlan)
        agg = metric.range_agg
        window = f"[{format_duration(agg.range_ns)}]" + (
            f" offset {format_duration(agg.offset_ns)}" if agg.offset_ns else ""
        )
        lines.append(f"  range {agg.op.value} {window}")
        lines.extend(_render_log(metric.log, "    "))
        if agg.unwrap is not None:
            conv = f" ({agg.unwrap.conversion.value})" if agg.unwrap.conversion.value else ""
            lines.append(f"    python: unwrap {agg.unwrap.label}{conv}")
        lines.append(
            f"    windows: {'numpy over duckdb row counts per (stream, grid cell)' if metric.sql_only else 'numpy over python samples'}"
        )
    return "\n".join(lines) + "\n"
