"""Per-entry evaluation of a LogQL pipeline (the part that is not pushed down to DuckDB).

A compiled ``Pipeline`` turns ``(ts_ns, line, stream labels, structured metadata)`` into
an ``Entry`` (the possibly rewritten line and its labels, split into the three categories
Loki reports: stream labels, structured metadata, parsed labels) or ``None`` when a
stage drops it. Semantics follow Loki's documentation: parsed labels that collide with a
stream label or structured metadata get the ``_extracted`` suffix; failed parsers set
``__error__`` (``JSONParserErr``, ``LogfmtParserErr``, ...) and ``__error_details__``
instead of dropping the line; label filters compare numbers, durations and byte sizes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping

import re2

from flightlog.errors import QueryError
from flightlog.model import LabelMatcher
from flightlog.query import ast
from flightlog.query.entry import (
    ERROR_DETAILS_LABEL,
    ERROR_LABEL,
    LABEL_FILTER_ERR,
    Entry,
    StageFn,
)
from flightlog.query.ipmatch import addresses_in, parse_address, parse_ip_pattern
from flightlog.query.parser import parse_bytes, parse_duration_ns
from flightlog.query.parsers import json_stage, logfmt_stage, regexp_stage, unpack_stage
from flightlog.query.template import TemplateError, compile_template

__all__ = [
    "ERROR_DETAILS_LABEL",
    "ERROR_LABEL",
    "Entry",
    "Pipeline",
    "compile_pipeline",
    "line_matcher",
]

# ---- line filters --------------------------------------------------------------------


def _pattern_regex(pattern: str) -> str:
    """Translate a pattern expression (``<ip> - <_> [<ts>]``) into an RE2 regex."""
    parts = re.split(r"(<[a-zA-Z_][a-zA-Z0-9_]*>)", pattern)
    out = []
    for i, part in enumerate(parts):
        if part.startswith("<") and part.endswith(">") and len(part) > 2:
            name = part[1:-1]
            last = i == len(parts) - 2 and parts[-1] == ""
            group = "(.*)" if last else "(.*?)"
            out.append(group if name == "_" else f"(?P<{name}>{group[1:-1]})")
        else:
            out.append(re2.escape(part) if hasattr(re2, "escape") else re.escape(part))
    return "(?s)^" + "".join(out)


def line_matcher(filt: ast.LineFilter) -> Callable[[str], bool]:
    """A predicate on the line text for one line filter (``or`` alternatives included)."""
    op = filt.op
    if filt.ip:
        matchers = [parse_ip_pattern(v) for v in filt.values]

        def has_address(line: str) -> bool:
            return any(m(a) for a in addresses_in(line) for m in matchers)

        return (
            has_address if op is ast.LineFilterOp.CONTAINS else (lambda line: not has_address(line))
        )
    if op in (ast.LineFilterOp.CONTAINS, ast.LineFilterOp.NOT_CONTAINS):
        needles = filt.values

        def contains(line: str) -> bool:
            return any(n in line for n in needles)

        return contains if op is ast.LineFilterOp.CONTAINS else (lambda line: not contains(line))
    if op in (ast.LineFilterOp.REGEX, ast.LineFilterOp.NOT_REGEX):
        regexes = [re2.compile(v) for v in filt.values]

        def search(line: str) -> bool:
            return any(r.search(line) is not None for r in regexes)

        return search if op is ast.LineFilterOp.REGEX else (lambda line: not search(line))
    patterns = [re2.compile(_pattern_regex(v)) for v in filt.values]

    def pattern(line: str) -> bool:
        return any(p.search(line) is not None for p in patterns)

    return pattern if op is ast.LineFilterOp.PATTERN else (lambda line: not pattern(line))


def _line_filter_stage(filt: ast.LineFilter) -> StageFn:
    predicate = line_matcher(filt)
    return lambda entry: predicate(entry.line)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _decolorize(entry: Entry) -> bool:
    entry.line = _ANSI.sub("", entry.line)
    return True


# ---- label filters -------------------------------------------------------------------

_COMPARE: dict[ast.CompareOp, Callable[[float, float], bool]] = {
    ast.CompareOp.EQ: lambda a, b: a == b,
    ast.CompareOp.EQ2: lambda a, b: a == b,
    ast.CompareOp.NEQ: lambda a, b: a != b,
    ast.CompareOp.GT: lambda a, b: a > b,
    ast.CompareOp.GTE: lambda a, b: a >= b,
    ast.CompareOp.LT: lambda a, b: a < b,
    ast.CompareOp.LTE: lambda a, b: a <= b,
}


def parse_go_duration_seconds(text: str) -> float:
    if text in ("0", "+0", "-0"):
        return 0.0
    return parse_duration_ns(text) / 1e9


def label_predicate(expr: ast.LabelFilterExpr) -> Callable[[Entry], bool]:
    """A predicate on an entry's labels; conversion failures mark ``__error__`` and keep."""
    if isinstance(expr, ast.LabelFilterAnd):
        left, right = label_predicate(expr.left), label_predicate(expr.right)
        return lambda e: left(e) and right(e)
    if isinstance(expr, ast.LabelFilterOr):
        left, right = label_predicate(expr.left), label_predicate(expr.right)
        return lambda e: left(e) or right(e)
    name = expr.name
    if isinstance(expr, ast.IpFilter):
        ip_matcher = parse_ip_pattern(expr.pattern)
        negate = expr.op is ast.CompareOp.NEQ

        def ip_filter(entry: Entry) -> bool:
            raw = entry.get(name)
            address = parse_address(raw) if raw is not None else None
            matched = address is not None and ip_matcher(address)
            return not matched if negate else matched

        return ip_filter
    if isinstance(expr, ast.StringFilter):
        matcher_op = {"=": "=", "==": "=", "!=": "!=", "=~": "=~", "!~": "!~"}[expr.op.value]
        from flightlog.model import MatchOp

        matcher = LabelMatcher(name, MatchOp(matcher_op), expr.value)
        return lambda e: matcher.matches(e.get(name))
    compare = _COMPARE[expr.op]
    convert: Callable[[str], float]
    if isinstance(expr, ast.NumberFilter):
        convert, target = float, expr.value
    elif isinstance(expr, ast.DurationFilter):
        convert, target = parse_go_duration_seconds, expr.value_ns / 1e9
    else:
        convert, target = parse_bytes, expr.value

    def numeric(entry: Entry) -> bool:
        raw = entry.get(name)
        if raw is None:
            return False
        try:
            value = convert(raw)
        except ValueError as exc:
            entry.set_error(LABEL_FILTER_ERR, str(exc))
            return True
        return compare(value, target)

    return numeric


def _label_filter_stage(stage: ast.LabelFilter) -> StageFn:
    return label_predicate(stage.expr)


# ---- formats, drop, keep -------------------------------------------------------------


def _line_format_stage(stage: ast.LineFormat) -> StageFn:
    try:
        template = compile_template(stage.template)
    except TemplateError as exc:
        raise QueryError(f"invalid line_format template: {exc}") from None

    def run(entry: Entry) -> bool:
        entry.line = template.render(entry.labels(), entry.line, entry.ts_ns)
        return True

    return run


def _label_format_stage(stage: ast.LabelFormat) -> StageFn:
    items = []
    for item in stage.items:
        if item.is_template:
            try:
                items.append((item.dst, None, compile_template(item.source)))
            except TemplateError as exc:
                raise QueryError(f"invalid label_format template: {exc}") from None
        else:
            items.append((item.dst, item.source, None))

    def run(entry: Entry) -> bool:
        labels = entry.labels()
        for dst, source, template in items:
            if template is None:
                value = labels.get(source, "")  # type: ignore[arg-type]
                entry.delete(source)  # type: ignore[arg-type]
            else:
                value = template.render(labels, entry.line, entry.ts_ns)
            if dst in entry.stream:
                entry.stream = {**entry.stream, dst: value}
            elif dst in entry.metadata:
                entry.metadata[dst] = value
            else:
                entry.parsed[dst] = value
        return True

    return run


def _selects(item: str | LabelMatcher, entry: Entry, name: str) -> bool:
    if isinstance(item, str):
        return item == name
    return item.name == name and item.matches(entry.get(name))


def _drop_stage(stage: ast.DropLabels) -> StageFn:
    def run(entry: Entry) -> bool:
        for name in list(entry.labels()):
            if any(_selects(item, entry, name) for item in stage.items):
                entry.delete(name)
        return True

    return run


def _keep_stage(stage: ast.KeepLabels) -> StageFn:
    def run(entry: Entry) -> bool:
        for name in list(entry.labels()):
            if not any(_selects(item, entry, name) for item in stage.items):
                entry.delete(name)
        return True

    return run


def _compile_stage(stage: ast.Stage) -> StageFn:
    if isinstance(stage, ast.LineFilter):
        return _line_filter_stage(stage)
    if isinstance(stage, ast.JsonParser):
        return json_stage(stage)
    if isinstance(stage, ast.LogfmtParser):
        return logfmt_stage(stage)
    if isinstance(stage, ast.RegexpParser):
        return regexp_stage(stage.pattern)
    if isinstance(stage, ast.PatternParser):
        return regexp_stage(_pattern_regex(stage.pattern))
    if isinstance(stage, ast.UnpackParser):
        return unpack_stage
    if isinstance(stage, ast.LabelFilter):
        return _label_filter_stage(stage)
    if isinstance(stage, ast.LineFormat):
        return _line_format_stage(stage)
    if isinstance(stage, ast.LabelFormat):
        return _label_format_stage(stage)
    if isinstance(stage, ast.DropLabels):
        return _drop_stage(stage)
    if isinstance(stage, ast.KeepLabels):
        return _keep_stage(stage)
    if isinstance(stage, ast.Decolorize):
        return _decolorize
    raise TypeError(f"unknown stage {stage!r}")


class Pipeline:
    """Compiled stages; ``run`` returns the processed entry or ``None`` when dropped."""

    def __init__(self, stages: Iterable[ast.Stage]) -> None:
        self.stages = tuple(stages)
        self._functions = [_compile_stage(s) for s in self.stages]

    @property
    def empty(self) -> bool:
        return not self._functions

    def run(
        self, ts_ns: int, line: str, stream: Mapping[str, str], metadata: Mapping[str, str] | None
    ) -> Entry | None:
        entry = Entry(ts_ns, line, stream, dict(metadata) if metadata else {}, {})
        for function in self._functions:
            if not function(entry):
                return None
        return entry


def compile_pipeline(stages: Iterable[ast.Stage]) -> Pipeline:
    return Pipeline(stages)


def unwrap_value(entry: Entry, unwrap: ast.Unwrap) -> float | None:
    """The unwrapped sample value; on failure mark ``__error__`` and return ``None``."""
    raw = entry.get(unwrap.label)
    try:
        if raw is None:
            raise ValueError(f"label {unwrap.label!r} not found")
        if unwrap.conversion in (
            ast.UnwrapConversion.DURATION,
            ast.UnwrapConversion.DURATION_SECONDS,
        ):
            return parse_go_duration_seconds(raw.strip())
        if unwrap.conversion is ast.UnwrapConversion.BYTES:
            return parse_bytes(raw)
        value = float(raw.strip())
        if math.isnan(value) and raw.strip().lower() not in ("nan",):
            raise ValueError(raw)
        return value
    except ValueError as exc:
        entry.set_error("SampleExtractionErr", str(exc))
        return None
