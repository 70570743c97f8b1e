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
from dataclasses import dataclass

import orjson
import re2

from flightlog.errors import QueryError
from flightlog.model import LabelMatcher
from flightlog.query import ast
from flightlog.query.ipmatch import addresses_in, parse_address, parse_ip_pattern
from flightlog.query.parser import parse_bytes, parse_duration_ns
from flightlog.query.template import TemplateError, compile_template

__all__ = [
    "ERROR_DETAILS_LABEL",
    "ERROR_LABEL",
    "Entry",
    "Pipeline",
    "compile_pipeline",
    "line_matcher",
]

ERROR_LABEL = "__error__"
ERROR_DETAILS_LABEL = "__error_details__"
JSON_PARSER_ERR = "JSONParserErr"
LOGFMT_PARSER_ERR = "LogfmtParserErr"
LABEL_FILTER_ERR = "LabelFilterErr"
TEMPLATE_FORMAT_ERR = "TemplateFormatErr"
JSON_UNPACK_ERR = "JSONUnpackErr"

_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(slots=True)
class Entry:
    """One log entry travelling through the pipeline (mutable while it is processed)."""

    ts_ns: int
    line: str
    stream: Mapping[str, str]
    metadata: dict[str, str]
    parsed: dict[str, str]

    def get(self, name: str) -> str | None:
        value = self.parsed.get(name)
        if value is not None:
            return value
        value = self.metadata.get(name)
        if value is not None:
            return value
        return self.stream.get(name)

    def has(self, name: str) -> bool:
        return name in self.parsed or name in self.metadata or name in self.stream

    def labels(self) -> dict[str, str]:
        """All labels; parsed override metadata override stream labels."""
        merged = dict(self.stream)
        merged.update(self.metadata)
        merged.update(self.parsed)
        return merged

    def add_parsed(self, name: str, value: str) -> None:
        if name in self.stream or name in self.metadata:
            name = name + "_extracted"
        if name not in self.parsed or name == ERROR_LABEL:
            self.parsed[name] = value

    def set_error(self, kind: str, details: str) -> None:
        if ERROR_LABEL not in self.parsed:
            self.parsed[ERROR_LABEL] = kind
            self.parsed[ERROR_DETAILS_LABEL] = details

    def delete(self, name: str) -> None:
        self.parsed.pop(name, None)
        self.metadata.pop(name, None)
        if name in self.stream:
            self.stream = {k: v for k, v in self.stream.items() if k != name}


StageFn = Callable[[Entry], bool]


_SANITIZED: dict[str, str] = {}
_SANITIZED_MAX = 65_536  # keys repeat across lines; a bound keeps odd data from growing it


def sanitize_label_name(name: str) -> str:
    cleaned = _SANITIZED.get(name)
    if cleaned is not None:
        return cleaned
    cleaned = _INVALID_LABEL_CHARS.sub("_", name)
    if cleaned and cleaned[0].isdigit():
        cleaned = "_" + cleaned
    if len(_SANITIZED) < _SANITIZED_MAX:
        _SANITIZED[name] = cleaned
    return cleaned


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


# ---- parsers -------------------------------------------------------------------------


def _json_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, float):
        return (
            repr(value)
            if not value.is_integer()
            else str(int(value))
            if abs(value) < 1e15
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    return orjson.dumps(value).decode()


def _flatten(prefix: str, obj: Mapping[str, object], entry: Entry) -> None:
    # Entry.add_parsed inlined: this runs for every key of every JSON line.
    stream, metadata, parsed = entry.stream, entry.metadata, entry.parsed
    cached = _SANITIZED.get
    for key, value in obj.items():
        full = prefix + "_" + key if prefix else key
        name = cached(full) or sanitize_label_name(full)
        kind = type(value)
        if kind is str:
            text = value
        elif kind is dict:
            _flatten(name, value, entry)  # type: ignore[arg-type]
            continue
        elif kind is list:
            continue  # Loki skips arrays when flattening.
        else:
            text = _json_value(value)
        if name in stream or name in metadata:
            name = name + "_extracted"
        if name not in parsed or name == ERROR_LABEL:
            parsed[name] = text  # type: ignore[assignment]


_JSON_PATH = re.compile(r'\.?([a-zA-Z_][a-zA-Z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def _json_path(expression: str) -> list[str | int]:
    path: list[str | int] = []
    pos = 0
    while pos < len(expression):
        match = _JSON_PATH.match(expression, pos)
        if match is None:
            raise QueryError(
                f'invalid json expression {expression!r}: use a path such as a.b[0] or a["b c"]'
            )
        if match.group(1) is not None:
            path.append(match.group(1))
        elif match.group(2) is not None:
            path.append(int(match.group(2)))
        else:
            path.append(match.group(3).replace('\\"', '"'))
        pos = match.end()
    return path


def _json_stage(stage: ast.JsonParser) -> StageFn:
    extractions = [
        (sanitize_label_name(e.label), _json_path(e.expression or e.label))
        for e in stage.extractions
    ]

    def run(entry: Entry) -> bool:
        try:
            obj = orjson.loads(entry.line)
        except orjson.JSONDecodeError as exc:
            entry.set_error(JSON_PARSER_ERR, str(exc))
            return True
        if not isinstance(obj, dict):
            entry.set_error(JSON_PARSER_ERR, "line is not a JSON object")
            return True
        if not extractions:
            _flatten("", obj, entry)
            return True
        for label, path in extractions:
            value: object = obj
            for step in path:
                if (isinstance(step, int) and isinstance(value, list) and step < len(value)) or (
                    isinstance(step, str) and isinstance(value, dict) and step in value
                ):
                    value = value[step]
                else:
                    value = None
                    break
            if value is not None:
                entry.add_parsed(label, _json_value(value))
        return True

    return run


_LOGFMT_TOKEN = re.compile(r'\s*([^\s="]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?')
_LOGFMT_STRICT_BAD = re.compile(r'"(?:[^"\\]|\\.)*$')
# The same tokens without the leading \s* (a search skips whitespace anyway) and with the
# quoted value as an unrolled loop: ~30% less time per line in Python's re.
_LOGFMT_FAST = re.compile(r'([^\s="]+)(?:=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*))?')


def _logfmt_value(raw: str | None) -> str | None:
    if raw is None or not raw.startswith('"'):
        return raw
    if "\\" not in raw:
        return raw[1:-1]  # what JSON decoding gives for a quoted string without escapes
    try:
        return str(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return raw[1:-1]


def parse_logfmt(line: str, strict: bool) -> tuple[list[tuple[str, str | None]], str | None]:
    """Key/value pairs of a logfmt line (value ``None`` for a bare key) and an error text."""
    # One finditer: where the careful loop below skips a character (a stray quote, an
    # "=" that cannot start a key), the regex search skips it too, so without ``strict``
    # (which never reports errors) the pairs are the same. Strict lines go to the loop
    # when the tokens are not back to back.
    pairs: list[tuple[str, str | None]] = []
    end = 0
    for match in _LOGFMT_FAST.finditer(line):
        start = match.start()
        if strict and start != end and not line[end:start].isspace():
            return _parse_logfmt_slow(line, strict)
        end = match.end()
        key, raw = match.groups()
        pairs.append((key, _logfmt_value(raw)))
    if strict and end != len(line) and not line[end:].isspace():
        return _parse_logfmt_slow(line, strict)
    return pairs, None


def _parse_logfmt_slow(line: str, strict: bool) -> tuple[list[tuple[str, str | None]], str | None]:
    pairs: list[tuple[str, str | None]] = []
    pos = 0
    n = len(line)
    while pos < n:
        while pos < n and line[pos].isspace():
            pos += 1
        if pos >= n:
            break
        match = _LOGFMT_TOKEN.match(line, pos)
        if match is None or match.end() == pos:
            if strict:
                return pairs, f"unexpected character {line[pos]!r} at {pos}"
            pos += 1
            continue
        key, raw = match.group(1), match.group(2)
        pos = match.end()
        if raw is None:
            if pos < n and line[pos] == "=":
                pos += 1
            pairs.append((key, None))
        elif raw.startswith('"'):
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                value = raw[1:-1]
            pairs.append((key, str(value)))
        else:
            pairs.append((key, raw))
        if pos < n and line[pos] == '"':
            if strict:
                return pairs, f"unterminated quote at {pos}"
            pos += 1
    return pairs, None


def _logfmt_stage(stage: ast.LogfmtParser) -> StageFn:
    wanted = {e.expression or e.label: sanitize_label_name(e.label) for e in stage.extractions}
    keep_empty = stage.keep_empty
    findall = _LOGFMT_FAST.findall
    cached = _SANITIZED.get

    def run_lenient(entry: Entry) -> bool:
        # Without --strict there are no errors; findall gives "" for a bare key, which
        # this stage treats like an empty value (dropped unless --keep-empty).
        for key, raw in findall(entry.line):
            if raw[:1] == '"':
                raw = _logfmt_value(raw) or ""
            if not raw and not keep_empty:
                continue
            if wanted:
                name = wanted.get(key)
                if name is None:
                    continue
            else:
                name = cached(key) or sanitize_label_name(key)
            entry.add_parsed(name, raw)
        return True

    if not stage.strict:
        return run_lenient

    def run(entry: Entry) -> bool:
        pairs, error = parse_logfmt(entry.line, stage.strict)
        if error is not None:
            entry.set_error(LOGFMT_PARSER_ERR, error)
            if stage.strict:
                return True
        for key, value in pairs:
            if value is None:
                if not stage.keep_empty:
                    continue
                value = ""
            elif value == "" and not stage.keep_empty:
                continue
            if wanted:
                if key not in wanted:
                    continue
                entry.add_parsed(wanted[key], value)
            else:
                entry.add_parsed(sanitize_label_name(key), value)
        return True

    return run


def _regexp_stage(pattern: str) -> StageFn:
    regex = re2.compile(pattern)
    names = [sanitize_label_name(n) for n in regex.groupindex]
    if not names:
        raise QueryError("regexp parser needs at least one named capture group")

    def run(entry: Entry) -> bool:
        match = regex.search(entry.line)
        if match is not None:
            for name, value in match.groupdict().items():
                if value is not None:
                    entry.add_parsed(sanitize_label_name(name), value)
        return True

    return run


def _unpack_stage(entry: Entry) -> bool:
    try:
        obj = orjson.loads(entry.line)
    except orjson.JSONDecodeError as exc:
        entry.set_error(JSON_UNPACK_ERR, str(exc))
        return True
    if not isinstance(obj, dict):
        entry.set_error(JSON_UNPACK_ERR, "line is not a JSON object")
        return True
    for key, value in obj.items():
        if key == "_entry":
            entry.line = _json_value(value)
        elif isinstance(value, str):
            entry.add_parsed(sanitize_label_name(key), value)
    return True


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
        return _json_stage(stage)
    if isinstance(stage, ast.LogfmtParser):
        return _logfmt_stage(stage)
    if isinstance(stage, ast.RegexpParser):
        return _regexp_stage(stage.pattern)
    if isinstance(stage, ast.PatternParser):
        return _regexp_stage(_pattern_regex(stage.pattern))
    if isinstance(stage, ast.UnpackParser):
        return _unpack_stage
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
