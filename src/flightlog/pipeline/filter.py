"""Drop/keep by LogQL-style line filters, and deterministic sampling.

A filter expression is a chain of LogQL line filters, all of which must hold:
``|= "text"`` (contains), ``!= "text"`` (does not contain), ``|~ "re"`` (RE2 matches),
``!~ "re"`` (does not match); strings are double-quoted with backslash escapes or
back-quoted raw. Optional label matchers (``{level="debug"}`` style, as pairs) narrow it.
``action: drop`` discards matching records, ``action: keep`` discards the others.

Sampling keeps every record at or above ``keep_level`` (warning by default) and a
``rate`` fraction of the rest, chosen by a hash of the trace ID (or of the line when the
record has none) so every line of one trace is kept or dropped together, on every agent.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence

import re2

from flightlog.errors import ConfigError
from flightlog.model import LabelMatcher, MatchOp
from flightlog.pipeline.level import LEVEL_RANK, normalize_level
from flightlog.pipeline.parse import compile_regex
from flightlog.pipeline.record import REASON_FILTERED, REASON_SAMPLED, Drop, LogRecord, StageResult
from flightlog.pipeline.stage import Stage

__all__ = ["FilterStage", "SampleStage", "parse_label_matchers", "parse_line_filters"]

_FILTER = re.compile(r'\s*(\|=|!=|\|~|!~)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)')
_MATCHER = re.compile(
    r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*,?'
)


def _unquote(text: str) -> str:
    if text[0] == "`":
        return text[1:-1]
    body = text[1:-1]
    if "\\" not in body:
        return body
    out = []
    chars = iter(body)
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append(escapes.get(nxt, "\\" + nxt))
        else:
            out.append(char)
    return "".join(out)


def parse_line_filters(expression: str) -> list[Callable[[str], bool]]:
    """Predicates for ``|= "a" != "b" |~ "c"``; ConfigError naming the part it cannot read."""
    tests: list[Callable[[str], bool]] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _FILTER.match(text, position)
        if match is None:
            raise ConfigError(
                f"filter {expression!r}: cannot read {text[position:]!r}; write line filters "
                'like |= "error" != "debug" |~ "time(out)?"'
            )
        op, value = match.group(1), _unquote(match.group(2))
        if op == "|=":
            tests.append(lambda line, v=value: v in line)
        elif op == "!=":
            tests.append(lambda line, v=value: v not in line)
        else:
            regex = compile_regex(value, what="filter")
            if op == "|~":
                tests.append(lambda line, r=regex: r.search(line) is not None)
            else:
                tests.append(lambda line, r=regex: r.search(line) is None)
        position = match.end()
    return tests


def parse_label_matchers(selector: str) -> list[LabelMatcher]:
    """Matchers of a ``{a="1", b=~"x.*"}`` selector (braces optional)."""
    body = selector.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    matchers = []
    position = 0
    while position < len(body.rstrip()):
        match = _MATCHER.match(body, position)
        if match is None:
            raise ConfigError(
                f'selector {selector!r}: cannot read {body[position:]!r}; write {{level="debug"}}'
            )
        if match.group(2) in ("=~", "!~"):
            compile_regex(_unquote(match.group(3)), what=f"selector {selector!r}")
        try:
            matchers.append(
                LabelMatcher(match.group(1), MatchOp(match.group(2)), _unquote(match.group(3)))
            )
        except re2.error as exc:
            raise ConfigError(f"selector {selector!r}: {exc}") from exc
        position = match.end()
    return matchers


class FilterStage(Stage):
    """Drop (or keep only) records whose line passes every filter and whose labels match."""

    kind = "filter"

    def __init__(self, expression: str = "", *, action: str = "drop", selector: str = "") -> None:
        super().__init__()
        if action not in ("drop", "keep"):
            raise ConfigError(f"filter stage: action {action!r} must be 'drop' or 'keep'")
        if not expression.strip() and not selector.strip():
            raise ConfigError('filter stage: give an expression (|= "text") or a selector')
        self.expression = expression
        self.keep = action == "keep"
        self._tests = parse_line_filters(expression) if expression.strip() else []
        self._matchers = parse_label_matchers(selector) if selector.strip() else []
        self._drop = Drop(REASON_FILTERED)

    def __call__(self, record: LogRecord) -> StageResult:
        line = record.line
        hit = all(test(line) for test in self._tests) and all(
            m.matches_labels(record.labels) for m in self._matchers
        )
        if hit != self.keep:
            return self._drop
        return record


class SampleStage(Stage):
    """Keep records at or above ``keep_level`` and ``rate`` of the rest, per trace ID."""

    kind = "sample"

    def __init__(
        self,
        rate: float,
        *,
        keep_level: str = "warning",
        trace_fields: Sequence[str] = ("trace_id", "traceID", "traceId", "trace"),
    ) -> None:
        super().__init__()
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(f"sample stage: rate {rate} must be between 0 and 1")
        if keep_level not in LEVEL_RANK:
            raise ConfigError(
                f"sample stage: keep_level {keep_level!r} must be one of {', '.join(LEVEL_RANK)}"
            )
        self.rate = rate
        self.keep_rank = LEVEL_RANK[keep_level]
        self.trace_fields = tuple(trace_fields)
        self._threshold = int(rate * 2**32)  # crc32 is uniform over [0, 2**32)
        self._drop = Drop(REASON_SAMPLED)

    def _level_rank(self, record: LogRecord) -> int:
        raw = (
            record.labels.get("level") or record.metadata.get("level") or record.fields.get("level")
        )
        level = normalize_level(raw) if raw is not None else None
        return LEVEL_RANK[level] if level is not None else -1

    def _key(self, record: LogRecord) -> str:
        for name in self.trace_fields:
            value = record.metadata.get(name) or record.fields.get(name)
            if value:
                return str(value)
        return record.line

    def __call__(self, record: LogRecord) -> StageResult:
        if self._level_rank(record) >= self.keep_rank:
            return record
        if zlib.crc32(self._key(record).encode("utf-8", "surrogatepass")) < self._threshold:
            return record
        return self._drop
