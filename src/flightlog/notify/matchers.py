"""Alertmanager matcher strings (``severity="page"``, ``team=~"ml|data"``) and silences' matchers.

Alertmanager accepts a matcher with a quoted or bare value and an optional ``{...}`` around
a comma-separated list; regexes are anchored RE2 (``flightlog.model.LabelMatcher``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flightlog.errors import ConfigError
from flightlog.model import LabelMatcher, MatchOp

__all__ = ["format_matcher", "matches_all", "parse_matcher", "parse_matchers"]

_MATCHER = re.compile(
    r'^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*")\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$',
    re.DOTALL,
)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        body = text[1:-1]
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)
    return text


def parse_matcher(text: str) -> LabelMatcher:
    """One matcher such as ``severity=~"page|critical"``; ``ConfigError`` names the bad text."""
    found = _MATCHER.match(text)
    if not found:
        raise ConfigError(
            f'matcher {text!r} is not valid: write it like name="value" or name=~"regex"'
        )
    name = _unquote(found.group("name"))
    value = _unquote(found.group("value"))
    try:
        return LabelMatcher(name, MatchOp(found.group("op")), value)
    except Exception as exc:  # re2.error carries no stable type name across versions
        raise ConfigError(f"matcher {text!r} has an invalid regex: {exc}") from exc


def _split_list(text: str) -> list[str]:
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    parts, current, quoted, escaped = [], [], False, False
    for ch in inner:
        if escaped:
            current.append(ch)
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            current.append(ch)
            continue
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current))
    return [p for p in parts if p.strip()]


def parse_matchers(items: Iterable[str]) -> tuple[LabelMatcher, ...]:
    """Every matcher of a ``matchers:`` list; an item may itself be ``{a="1", b="2"}``."""
    out: list[LabelMatcher] = []
    for item in items:
        out.extend(parse_matcher(part) for part in _split_list(item))
    return tuple(out)


def matches_all(matchers: Iterable[LabelMatcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher accepts the label set (an empty list accepts everything)."""
    return all(m.matches_labels(labels) for m in matchers)


def format_matcher(matcher: LabelMatcher) -> str:
    """``name="value"`` text of a matcher, the way Alertmanager prints it."""
    value = matcher.value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{matcher.name}{matcher.op.value}"{value}"'
