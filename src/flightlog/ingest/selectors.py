"""Parsing label sets and stream selectors written in LogQL's ``{name="value", ...}`` form.

Loki's protobuf push carries each stream's labels as such a string, and config files
name retention rules by selector (``{level="debug"}``). This is a small tokenizer for
that one production, not a LogQL parser (``flightlog.query`` owns the language).
Values are double-quoted with Go escapes or backtick-quoted raw strings.
"""

from __future__ import annotations

import re

import re2

from flightlog.errors import ValidationError
from flightlog.ingest.reasons import INVALID_LABELS
from flightlog.model import LabelMatcher, Labels, MatchOp

__all__ = ["LABEL_NAME_PATTERN", "parse_label_set", "parse_selector"]

LABEL_NAME_PATTERN = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
"""Prometheus label names; Loki accepts the same set."""

_MATCHER = re.compile(
    r"""\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"""
    r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|`(?P<bq>[^`]*)`)\s*(?P<end>,|\})""",
    re.DOTALL,
)
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[0-7]{3}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {
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
}


def _unescape_one(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] in "uUx":
        return chr(int(code[1:], 16))
    if code[0].isdigit():
        return chr(int(code, 8))
    if code in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[code]
    raise ValueError(f"unknown escape sequence \\{code}")


def _unescape(value: str) -> str:
    return _ESCAPE.sub(_unescape_one, value) if "\\" in value else value


def _matchers(text: str) -> list[tuple[str, MatchOp, str]]:
    """Split ``{a="1", b=~"x"}`` into (name, op, value) triples; raise ValueError if malformed."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        raise ValueError(f"expected '{{' at the start of {text!r}")
    if stripped == "{}":
        return []
    out: list[tuple[str, MatchOp, str]] = []
    pos = 1
    while True:
        match = _MATCHER.match(stripped, pos)
        if match is None:
            raise ValueError(f'cannot parse {text!r} at offset {pos}: expected name="value"')
        raw = match.group("dq")
        value = _unescape(raw) if raw is not None else match.group("bq")
        out.append((match.group("name"), MatchOp(match.group("op")), value))
        pos = match.end()
        if match.group("end") == "}":
            break
    if pos != len(stripped):
        raise ValueError(f"unexpected text after '}}' in {text!r}")
    return out


def parse_label_set(text: str) -> Labels:
    """Parse a stream's label set; raise ``ValidationError(invalid_labels)`` if malformed.

    Only ``=`` is allowed, names must be unique; the result is sorted by name.
    """
    try:
        parts = _matchers(text)
    except ValueError as exc:
        raise ValidationError(INVALID_LABELS, str(exc)) from None
    labels: dict[str, str] = {}
    for name, op, value in parts:
        if op is not MatchOp.EQ:
            raise ValidationError(
                INVALID_LABELS, f"label set {text!r} may only use '=', not {op.value!r}"
            )
        if name in labels:
            raise ValidationError(INVALID_LABELS, f"duplicate label name {name!r} in {text!r}")
        labels[name] = value
    return tuple(sorted(labels.items()))


def parse_selector(text: str) -> tuple[LabelMatcher, ...]:
    """Parse a stream selector such as ``{level="debug", service=~"api|web"}``.

    Raises ``ValueError`` naming the problem (callers turn it into their own error).
    An empty selector is refused: it would match every stream by accident.
    """
    parts = _matchers(text)
    if not parts:
        raise ValueError(f"selector {text!r} has no matchers")
    try:
        return tuple(LabelMatcher(name, op, value) for name, op, value in parts)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"invalid regular expression in {text!r}: {detail}") from None
