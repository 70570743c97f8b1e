"""LogQL text → AST: the lark LALR parser, literal decoding and semantic checks.

``parse(text)`` is the only entry point. Syntax errors become
``flightlog.errors.ParseError`` with a 1-based line and column; semantic errors (an
``unwrap`` outside a range aggregation, a log query used as a metric) are reported the
same way, at the offending part of the query (see ``flightlog.query.checks``).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from importlib import resources

import lark

from flightlog import durations
from flightlog.errors import ParseError
from flightlog.model import LabelMatcher, MatchOp
from flightlog.query import ast
from flightlog.query.checks import SemanticError as _SemanticError
from flightlog.query.checks import check_ip_pattern as _check_ip_pattern
from flightlog.query.checks import check_regex as _check_regex
from flightlog.query.checks import check_template as _check_template
from flightlog.query.checks import position_of

__all__ = ["MAX_QUERY_CHARS", "parse", "parse_bytes", "parse_duration_ns"]

MAX_QUERY_CHARS = 64 * 1024

_BYTES = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([kmgtpe]i?)?b$", re.IGNORECASE)
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_BYTES_POWER = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}


def parse_duration_ns(text: str) -> int:
    """Nanoseconds in a LogQL duration (``1h30m``, ``250ms``, ``-5m`` for offsets)."""
    return durations.parse_duration_ns(text, negative=True)


def parse_bytes(text: str) -> float:
    """Parse a byte size (``20KB``, ``1.5MiB``, ``300b``; k=1000, ki=1024) into bytes."""
    match = _BYTES.match(text.strip())
    if match is None:
        raise ValueError(f"invalid byte size {text!r}")
    unit = (match.group(2) or "").lower()
    base = 1024 if unit.endswith("i") else 1000
    return float(match.group(1)) * base ** _BYTES_POWER[unit[:1]]


_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "`": "`",
}


def unquote(token: str) -> str:
    """Decode a Go string literal: ``"..."`` with escapes or a raw ```...```."""
    if token.startswith("`"):
        return token[1:-1]
    body = token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "x":
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif nxt == "U":
            out.append(chr(int(body[i + 2 : i + 10], 16)))
            i += 10
        elif nxt in "01234567":
            out.append(chr(int(body[i + 1 : i + 4], 8)))
            i += 4
        else:
            # Unknown escapes (`\d`, `\.`) are kept: users write regexes in double quotes.
            out.append("\\" + nxt)
            i += 2
    return "".join(out)


@functools.cache
def _parser() -> lark.Lark:
    grammar = resources.files("flightlog.query").joinpath("logql.lark").read_text(encoding="utf-8")
    return lark.Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,  # building the LALR tables takes ~1 s; lark keeps them in a temp file
    )


@dataclass(frozen=True, slots=True)
class _LocatedGrouping:
    """A ``by``/``without`` clause and where it starts, for errors that point at it."""

    grouping: ast.Grouping
    position: tuple[int, int]


def _number(token: str) -> float:
    if token.lower().startswith("0x"):
        return float(int(token, 16))
    return float(token)


class _ToAst(lark.Transformer):  # type: ignore[type-arg]
    # ---- terminals & small pieces
    def string(self, items):
        try:
            return unquote(str(items[0]))
        except (ValueError, IndexError):
            raise _SemanticError(f"invalid escape in string {items[0]}") from None

    def _op(self, items):
        return items[0]  # the Token: a str that also knows where it is

    or_op = and_op = cmp_op = add_op = mul_op = pow_op = match_op = line_filter_op = _op
    logfmt_flag = range_op = vector_op = grouping_kw = on_kw = group_kw = unwrap_conv = lf_op = _op

    def label_list(self, items):
        return tuple(str(i) for i in items)

    def signed_number(self, items):
        sign, number = items
        value = _number(str(number))
        return -value if sign == "-" else value

    def number_literal(self, items):
        return ast.NumberLiteral(_number(str(items[0])))

    def vector_literal(self, items):
        return ast.VectorLiteral(items[0])

    def unary_op(self, items):
        sign, operand = items
        if isinstance(operand, ast.NumberLiteral):
            return ast.NumberLiteral(-operand.value if sign == "-" else operand.value)
        if sign == "+":
            return operand
        return ast.BinaryOp("*", operand, ast.NumberLiteral(-1.0))

    # ---- binary expressions
    def bool_kw(self, items):
        return True

    def group_side(self, items):
        side, labels = items
        return side.removeprefix("group_"), labels or ()

    def matching(self, items):
        kw, labels, group = items
        side, include = group if group else (None, ())
        return ast.VectorMatching(on=kw == "on", labels=labels or (), group=side, include=include)

    def bin_mod(self, items):
        return bool(items[0]), items[1]

    def binary(self, items):
        left, op, (return_bool, matching), right = items
        op = str(op)
        if return_bool and op not in ast.COMPARISON_OPS:
            raise _SemanticError(
                f"bool modifier can only be used on comparison operators, not {op!r}", at=(2, 0)
            )
        if matching is not None and matching.group and op in ast.SET_OPS:
            raise _SemanticError(f"no grouping allowed for {op!r} operation", at=(2, 1, 2))
        for index, side in ((0, left), (3, right)):
            if isinstance(side, _RawLogQuery):
                raise _SemanticError(
                    "a log query cannot be an operand of a binary operator: wrap it in a range aggregation",
                    at=(index,),
                )
        return ast.BinaryOp(op, left, right, return_bool, matching)

    # ---- log queries
    def matcher(self, items):
        name, op, value = items
        if op in ("=~", "!~"):
            _check_regex(value, at=(2,))
        return LabelMatcher(str(name), MatchOp(op), value)

    def selector(self, items):
        matchers = tuple(m for m in items if m is not None)
        if not matchers:
            raise _SemanticError(
                'queries require at least one stream matcher, e.g. {service="api"}'
            )
        if all(m.matches("") for m in matchers):
            raise _SemanticError(
                "queries require at least one regexp or equality matcher that does not have"
                " an empty-compatible value"
            )
        return matchers

    def filter_value(self, items):
        return ("text", items[0])

    def ip_value(self, items):
        _check_ip_pattern(items[0])
        return ("ip", items[0])

    def line_filter(self, items):
        op = ast.LineFilterOp(items[0])
        kinds = {kind for kind, _ in items[1:]}
        values = tuple(value for _, value in items[1:])
        if len(kinds) > 1:
            raise _SemanticError("do not mix ip(...) and strings in one line filter")
        is_ip = kinds == {"ip"}
        if is_ip and op not in (ast.LineFilterOp.CONTAINS, ast.LineFilterOp.NOT_CONTAINS):
            raise _SemanticError(f"ip(...) line filters use |= or !=, not {op.value}")
        if op in (ast.LineFilterOp.REGEX, ast.LineFilterOp.NOT_REGEX):
            for v in values:
                _check_regex(v)
        return ast.LineFilter(op, values, is_ip)

    def extraction(self, items):
        return ast.Extraction(str(items[0]), items[1])

    def extraction_list(self, items):
        return tuple(items)

    def json_parser(self, items):
        return ast.JsonParser(items[0] or ())

    def logfmt_parser(self, items):
        *flags, extractions = items
        return ast.LogfmtParser("--strict" in flags, "--keep-empty" in flags, extractions or ())

    def regexp_parser(self, items):
        _check_regex(items[0])
        if "(?P<" not in items[0]:
            raise _SemanticError(
                "regexp parser needs at least one named capture group (?P<name>...)"
            )
        return ast.RegexpParser(items[0])

    def pattern_parser(self, items):
        if "<" not in items[0]:
            raise _SemanticError("pattern parser needs at least one capture such as <name>")
        return ast.PatternParser(items[0])

    def unpack_parser(self, items):
        return ast.UnpackParser()

    def line_format(self, items):
        _check_template(items[0], "line_format")
        return ast.LineFormat(items[0])

    def label_rename(self, items):
        return ast.LabelFormatItem(str(items[0]), str(items[1]), False)

    def label_template(self, items):
        _check_template(items[1], "label_format")
        return ast.LabelFormatItem(str(items[0]), items[1], True)

    def label_format(self, items):
        return ast.LabelFormat(tuple(items))

    def label_selector_item(self, items):
        name, op, value = items
        if op is None:
            return str(name)
        return self.matcher([name, op, value])

    def drop_stage(self, items):
        return ast.DropLabels(tuple(items))

    def keep_stage(self, items):
        return ast.KeepLabels(tuple(items))

    def decolorize(self, items):
        return ast.Decolorize()

    def unwrap_plain(self, items):
        return ast.Unwrap(str(items[0]))

    def unwrap_conv_stage(self, items):
        return ast.Unwrap(str(items[1]), ast.UnwrapConversion(items[0]))

    def unwrap_conv_named(self, items):
        return ast.Unwrap(str(items[0]))

    # label filters
    def lf_compare(self, items):
        name, op, value = items
        name = str(name)
        op = ast.CompareOp(op)
        if isinstance(value, str):
            if op not in (
                ast.CompareOp.EQ,
                ast.CompareOp.EQ2,
                ast.CompareOp.NEQ,
                ast.CompareOp.RE,
                ast.CompareOp.NRE,
            ):
                raise _SemanticError(
                    f"operator {op} needs a number, duration or byte size, not a string"
                )
            if op in (ast.CompareOp.RE, ast.CompareOp.NRE):
                _check_regex(value)
            return ast.StringFilter(name, op, value)
        if op in (ast.CompareOp.RE, ast.CompareOp.NRE):
            raise _SemanticError(f"operator {op} needs a string")
        kind, number = value
        if kind == "ip":
            if op not in (ast.CompareOp.EQ, ast.CompareOp.EQ2, ast.CompareOp.NEQ):
                raise _SemanticError(f"ip(...) label filters use = or !=, not {op}")
            return ast.IpFilter(name, op, number)
        if kind == "duration":
            return ast.DurationFilter(name, op, number)
        if kind == "bytes":
            return ast.BytesFilter(name, op, number)
        return ast.NumberFilter(name, op, number)

    def lf_ip(self, items):
        _check_ip_pattern(items[0])
        return ("ip", items[0])

    def lf_number(self, items):
        return ("number", _number(str(items[0])))

    def lf_signed_number(self, items):
        value = _number(str(items[1]))
        return ("number", -value if items[0] == "-" else value)

    def lf_duration(self, items):
        return ("duration", parse_duration_ns(str(items[0])))

    def lf_bytes(self, items):
        return ("bytes", parse_bytes(str(items[0])))

    def lf_and_node(self, items):
        return ast.LabelFilterAnd(items[0], items[1])

    def lf_or_node(self, items):
        return ast.LabelFilterOr(items[0], items[1])

    def label_filter_stage(self, items):
        return ast.LabelFilter(items[0])

    def log_query(self, items):
        matchers, *stages = items
        return _RawLogQuery(matchers, tuple(stages))

    # ---- metric queries
    def range(self, items):
        value = parse_duration_ns(str(items[0]))
        if value <= 0:
            raise _SemanticError("range must be positive")
        return value

    def offset(self, items):
        return parse_duration_ns(str(items[0]))

    def log_range(self, items):
        raw, range_ns, offset_ns = items
        return raw, range_ns, offset_ns or 0

    def range_param(self, items):
        return items[0]

    @lark.v_args(meta=True)
    def grouping(self, meta, items):
        kw, labels = items
        return _LocatedGrouping(
            ast.Grouping(kw == "without", labels or ()), (meta.line, meta.column)
        )

    def range_agg(self, items):
        op_name, param, (raw, range_ns, offset_ns), located = items
        op = ast.RangeOp(op_name)
        try:
            log, unwrap = raw.split()
        except _SemanticError as exc:
            raise exc.within(2, 0) from None  # log_range -> log_query
        if op is ast.RangeOp.QUANTILE_OVER_TIME:
            if param is None:
                raise _SemanticError(
                    "quantile_over_time needs a quantile parameter, e.g. quantile_over_time(0.99, ...)",
                    at=(0,),
                )
            if math.isnan(param):
                raise _SemanticError("quantile must be a number", at=(1,))
        elif param is not None:
            raise _SemanticError(f"{op} takes no parameter", at=(1,))
        if op in ast.LINE_RANGE_OPS:
            # rate and absent_over_time also take an unwrapped range (Loki's docs list both)
            if unwrap is not None and op not in (ast.RangeOp.RATE, ast.RangeOp.ABSENT_OVER_TIME):
                raise _SemanticError(
                    f"{op} cannot be used with unwrap", at=(2, 0, 1 + raw.unwrap_index())
                )
        elif unwrap is None:
            raise _SemanticError(
                f"{op} needs an unwrapped label, e.g. | unwrap latency_ms", at=(0,)
            )
        if located is not None and op not in ast.GROUPING_RANGE_OPS:
            raise _SemanticError(
                f"{op} does not accept grouping: write sum by (...) ({op}(...)) instead",
                located.position,
            )
        grouping = located.grouping if located is not None else None
        return ast.RangeAggregation(op, log, range_ns, offset_ns, unwrap, param, grouping)

    def agg_param(self, items):
        return items[0]

    def agg_args(self, items):
        if len(items) == 1:
            return None, items[0]
        return items[0], items[1]

    def vector_agg(self, items):
        args = 2 if isinstance(items[1], _LocatedGrouping) else 1
        if args == 2:
            op_name, located, (param, expr) = items
        else:
            op_name, (param, expr), located = items
        grouping = located.grouping if located is not None else None
        op = ast.VectorOp(op_name)
        expr_at = (args, 0 if param is None else 1)
        if isinstance(expr, _RawLogQuery):
            raise _SemanticError(
                f"{op} needs a metric query such as count_over_time(...), not a log query",
                at=expr_at,
            )
        if op in (ast.VectorOp.TOPK, ast.VectorOp.BOTTOMK):
            if param is None:
                raise _SemanticError(
                    f"{op} needs a positive integer parameter, e.g. {op}(5, ...)", at=expr_at
                )
            if param != int(param) or param < 1:
                raise _SemanticError(
                    f"{op} needs a positive integer parameter, e.g. {op}(5, ...)", at=(args, 0)
                )
        elif param is not None:
            raise _SemanticError(f"{op} takes no parameter", at=(args, 0))
        if op in (ast.VectorOp.SORT, ast.VectorOp.SORT_DESC) and located is not None:
            raise _SemanticError(f"{op} does not accept grouping", located.position)
        return ast.VectorAggregation(op, expr, grouping, param)

    def label_replace(self, items):
        expr, dst, replacement, src, regex = items
        if isinstance(expr, _RawLogQuery):
            raise _SemanticError("label_replace needs a metric query, not a log query", at=(0,))
        if not _LABEL_NAME.fullmatch(dst):
            raise _SemanticError(f"invalid destination label name {dst!r}", at=(1,))
        _check_regex(regex, at=(4,))
        return ast.LabelReplace(expr, dst, replacement, src, regex)

    def start(self, items):
        expr = items[0]
        if isinstance(expr, _RawLogQuery):
            try:
                return expr.as_log_query()
            except _SemanticError as exc:
                raise exc.within(0) from None
        return expr


class _RawLogQuery:
    """A log query before we know whether it is inside a range aggregation (unwrap allowed)."""

    def __init__(self, matchers: tuple[LabelMatcher, ...], stages: tuple[object, ...]) -> None:
        self.matchers = matchers
        self.stages = stages

    def unwrap_index(self) -> int:
        """Index of the unwrap among the stages, or -1 (the child paths count the selector
        as child 0, so ``1 + index`` is the unwrap's tree)."""
        return next((i for i, s in enumerate(self.stages) if isinstance(s, ast.Unwrap)), -1)

    def split(self) -> tuple[ast.LogQuery, ast.Unwrap | None]:
        """The log query before ``unwrap`` and the unwrap; errors are relative to the
        log_query node."""
        unwrap_at = self.unwrap_index()
        if unwrap_at < 0:
            return ast.LogQuery(self.matchers, self.stages), None  # type: ignore[arg-type]
        unwrap = self.stages[unwrap_at]
        assert isinstance(unwrap, ast.Unwrap)
        post: list[ast.LabelFilterExpr] = []
        for index, stage in enumerate(self.stages[unwrap_at + 1 :], start=unwrap_at + 2):
            if not isinstance(stage, ast.LabelFilter):
                raise _SemanticError("only label filters may follow unwrap", at=(index,))
            post.append(stage.expr)
        unwrap = ast.Unwrap(unwrap.label, unwrap.conversion, tuple(post))
        return ast.LogQuery(self.matchers, self.stages[:unwrap_at]), unwrap  # type: ignore[arg-type]

    def as_log_query(self) -> ast.LogQuery:
        log, unwrap = self.split()
        if unwrap is not None:
            raise _SemanticError(
                "unwrap is only allowed inside a range aggregation such as sum_over_time(...[5m])",
                at=(1 + self.unwrap_index(),),
            )
        return log


def _describe_expected(expected: set[str]) -> str:
    parser = _parser()
    names = []
    for name in expected:
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            names.append(name)
            continue
        names.append(repr(pattern.value) if pattern.type == "str" else name.lower())
    names.sort()
    if len(names) > 8:
        names = [*names[:8], "..."]
    return ", ".join(names)


def parse(text: str) -> ast.Expr:
    """Parse LogQL ``text``; raise ``ParseError`` (with line and column) when it is invalid."""
    if len(text) > MAX_QUERY_CHARS:
        raise ParseError(
            f"query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}", 1, 1
        )
    if not text.strip():
        raise ParseError('empty query: write a stream selector such as {service="api"}', 1, 1)
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedCharacters as exc:
        raise ParseError(
            f"unexpected character {text[exc.pos_in_stream]!r}", exc.line, exc.column
        ) from None
    except lark.exceptions.UnexpectedEOF as exc:
        line = text.count("\n") + 1
        column = len(text) - (text.rfind("\n") + 1) + 1
        raise ParseError(
            f"unexpected end of query, expected one of: {_describe_expected(exc.expected)}",
            line,
            column,
        ) from None
    except lark.exceptions.UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            line = text.count("\n") + 1
            column = len(text) - (text.rfind("\n") + 1) + 1
            raise ParseError(
                f"unexpected end of query, expected one of: {_describe_expected(exc.expected)}",
                line,
                column,
            ) from None
        raise ParseError(f"unexpected {str(token)!r}", token.line or 1, token.column or 1) from None
    try:
        result = _ToAst().transform(tree)
    except lark.exceptions.VisitError as exc:
        original = exc.orig_exc
        if isinstance(original, (_SemanticError, ValueError)):
            position = getattr(original, "position", None)
            line, column = position or position_of(exc.obj, getattr(original, "at", ()))
            raise ParseError(str(original), line, column) from None
        raise
    except _SemanticError as exc:
        raise ParseError(str(exc), 1, 1) from None
    return result
