"""AST → canonical LogQL text.

``to_logql(parse(text))`` is the canonical form of ``text`` (what ``format_query``
answers), and ``parse(to_logql(expr)) == expr`` for every AST the parser can produce.
Binary operands that are themselves binary operations are always parenthesised, so the
printed text never depends on precedence rules.
"""

from __future__ import annotations

import math

from flightlog.durations import format_duration_ns
from flightlog.model import LabelMatcher
from flightlog.query import ast

__all__ = [
    "format_duration",
    "format_number",
    "format_selector",
    "format_stage",
    "quote",
    "to_logql",
]


def format_duration(ns: int) -> str:
    """Render nanoseconds as a LogQL duration literal (``1h30m``, ``48h``, ``250ms``, ``0s``)."""
    return format_duration_ns(ns, largest="h")


def format_number(value: float) -> str:
    """Shortest text that parses back to the same float."""
    if math.isinf(value) or math.isnan(value):
        raise ValueError(f"{value} has no LogQL literal")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def quote(value: str) -> str:
    """A double-quoted Go string literal."""
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _matcher(m: LabelMatcher) -> str:
    return f"{m.name}{m.op.value}{quote(m.value)}"


def format_selector(matchers: tuple[LabelMatcher, ...]) -> str:
    return "{" + ", ".join(_matcher(m) for m in matchers) + "}"


def _label_filter(expr: ast.LabelFilterExpr, parent: str = "") -> str:
    if isinstance(expr, ast.LabelFilterOr):
        text = f"{_label_filter(expr.left, 'or')} or {_label_filter(expr.right, 'or-right')}"
        return f"({text})" if parent in ("and", "and-right", "or-right") else text
    if isinstance(expr, ast.LabelFilterAnd):
        text = f"{_label_filter(expr.left, 'and')} and {_label_filter(expr.right, 'and-right')}"
        return f"({text})" if parent == "and-right" else text
    if isinstance(expr, ast.StringFilter):
        return f"{expr.name}{expr.op.value}{quote(expr.value)}"
    if isinstance(expr, ast.NumberFilter):
        return f"{expr.name}{expr.op.value}{format_number(expr.value)}"
    if isinstance(expr, ast.DurationFilter):
        return f"{expr.name}{expr.op.value}{format_duration(expr.value_ns)}"
    if isinstance(expr, ast.IpFilter):
        return f"{expr.name}{expr.op.value}ip({quote(expr.pattern)})"
    if isinstance(expr, ast.BytesFilter):
        return f"{expr.name}{expr.op.value}{format_number(expr.value)}B"
    raise TypeError(f"not a label filter: {expr!r}")


def _extractions(items: tuple[ast.Extraction, ...]) -> str:
    return ", ".join(
        e.label if e.expression is None else f"{e.label}={quote(e.expression)}" for e in items
    )


def _label_items(items: tuple[str | LabelMatcher, ...]) -> str:
    return ", ".join(i if isinstance(i, str) else _matcher(i) for i in items)


def format_stage(stage: ast.Stage) -> str:
    if isinstance(stage, ast.LineFilter):
        if stage.ip:
            return f"{stage.op.value} " + " or ".join(f"ip({quote(v)})" for v in stage.values)
        return f"{stage.op.value} " + " or ".join(quote(v) for v in stage.values)
    if isinstance(stage, ast.JsonParser):
        return "| json" + (f" {_extractions(stage.extractions)}" if stage.extractions else "")
    if isinstance(stage, ast.LogfmtParser):
        flags = (" --strict" if stage.strict else "") + (
            " --keep-empty" if stage.keep_empty else ""
        )
        return (
            "| logfmt"
            + flags
            + (f" {_extractions(stage.extractions)}" if stage.extractions else "")
        )
    if isinstance(stage, ast.RegexpParser):
        return f"| regexp {quote(stage.pattern)}"
    if isinstance(stage, ast.PatternParser):
        return f"| pattern {quote(stage.pattern)}"
    if isinstance(stage, ast.UnpackParser):
        return "| unpack"
    if isinstance(stage, ast.LabelFilter):
        return f"| {_label_filter(stage.expr)}"
    if isinstance(stage, ast.LineFormat):
        return f"| line_format {quote(stage.template)}"
    if isinstance(stage, ast.LabelFormat):
        items = ", ".join(
            f"{i.dst}={quote(i.source) if i.is_template else i.source}" for i in stage.items
        )
        return f"| label_format {items}"
    if isinstance(stage, ast.DropLabels):
        return f"| drop {_label_items(stage.items)}"
    if isinstance(stage, ast.KeepLabels):
        return f"| keep {_label_items(stage.items)}"
    if isinstance(stage, ast.Decolorize):
        return "| decolorize"
    raise TypeError(f"not a pipeline stage: {stage!r}")


def _log_query(query: ast.LogQuery) -> str:
    return " ".join([format_selector(query.matchers), *(format_stage(s) for s in query.stages)])


def _unwrap(unwrap: ast.Unwrap) -> str:
    if unwrap.conversion is ast.UnwrapConversion.NONE:
        text = f"| unwrap {unwrap.label}"
    else:
        text = f"| unwrap {unwrap.conversion.value}({unwrap.label})"
    return text + "".join(f" | {_label_filter(f)}" for f in unwrap.post_filters)


def _grouping(grouping: ast.Grouping) -> str:
    return f"{'without' if grouping.without else 'by'} ({', '.join(grouping.labels)})"


def _operand(expr: ast.MetricExpr) -> str:
    text = to_logql(expr)
    negative = isinstance(expr, ast.NumberLiteral) and expr.value < 0
    return f"({text})" if isinstance(expr, ast.BinaryOp) or negative else text


def to_logql(expr: ast.Expr) -> str:
    """Print ``expr`` as canonical LogQL."""
    if isinstance(expr, ast.LogQuery):
        return _log_query(expr)
    if isinstance(expr, ast.RangeAggregation):
        inner = _log_query(expr.log)
        if expr.unwrap is not None:
            inner += " " + _unwrap(expr.unwrap)
        inner += f" [{format_duration(expr.range_ns)}]"
        if expr.offset_ns:
            inner += f" offset {format_duration(expr.offset_ns)}"
        param = "" if expr.param is None else f"{format_number(expr.param)}, "
        text = f"{expr.op.value}({param}{inner})"
        if expr.grouping is not None:
            text += f" {_grouping(expr.grouping)}"
        return text
    if isinstance(expr, ast.VectorAggregation):
        grouping = f" {_grouping(expr.grouping)}" if expr.grouping is not None else ""
        param = "" if expr.param is None else f"{format_number(expr.param)}, "
        if grouping:
            return f"{expr.op.value}{grouping} ({param}{to_logql(expr.expr)})"
        return f"{expr.op.value}({param}{to_logql(expr.expr)})"
    if isinstance(expr, ast.BinaryOp):
        modifier = " bool" if expr.return_bool else ""
        if expr.matching is not None:
            m = expr.matching
            modifier += f" {'on' if m.on else 'ignoring'}({', '.join(m.labels)})"
            if m.group is not None:
                modifier += f" group_{m.group}({', '.join(m.include)})"
        return f"{_operand(expr.left)} {expr.op}{modifier} {_operand(expr.right)}"
    if isinstance(expr, ast.NumberLiteral):
        return format_number(expr.value)
    if isinstance(expr, ast.VectorLiteral):
        return f"vector({format_number(expr.value)})"
    if isinstance(expr, ast.LabelReplace):
        args = ", ".join(quote(v) for v in (expr.dst, expr.replacement, expr.src, expr.regex))
        return f"label_replace({to_logql(expr.expr)}, {args})"
    raise TypeError(f"not a LogQL expression: {expr!r}")
