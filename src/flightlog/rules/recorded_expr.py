"""Expressions over recorded series, for rules and dashboards that read what recording rules wrote.

Recorded series live in the ruler's state DB (``RulesStateDB``), not in the log store, so
LogQL (``/loki/api/v1/query``) cannot read them; Loki's own ruler remote-writes them to a
Prometheus instead. flightlog serves them itself: through this small PromQL subset in rules
(the SLO burn-rate alerts compare recorded error ratios), at
``/prometheus/api/v1/query`` and ``query_range`` (a Grafana Prometheus data source pointed
at ``<flightlog>/prometheus``), and on ``/metrics`` (newest sample, for a Prometheus to
scrape)::

    expr    := conj ("or" conj)*
    conj    := cmp ("and" cmp)*
    cmp     := "(" expr ")" | "vector(" number ")" | selector [(">" | ">=" | "<" | "<=" | "==" | "!=") number]
    selector:= metric_name ["{" name ("=" | "!=" | "=~" | "!~") "value", ... "}"]

A bare selector gives every series of that name (matching the matchers); regex matchers are
anchored RE2, as in PromQL.

``and`` keeps left samples whose label set (without ``__name__``) has a right match;
``or`` adds right samples whose label set is not on the left. Metric names must contain a
``:`` (Prometheus's convention for recorded series), which no LogQL expression starts with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flightlog.errors import RuleError
from flightlog.model import LabelMatcher, MatchOp
from flightlog.rules.model import Sample

__all__ = ["RecordedReader", "evaluate_recorded", "is_recorded_expr"]

RecordedReader = Callable[[str, Mapping[str, str], int, str], list[Sample]]
"""(metric name, equality matchers, ts_ns, tenant) → latest samples at or before ts_ns."""

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<mop>=~|!~)|(?P<op>>=|<=|==|!=|>|<)"
    r"|(?P<word>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'|(?P<str>"(?:[^"\\]|\\.)*")|(?P<punct>[(){},=]))'
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, position = [], 0
    stripped = text.rstrip()
    while position < len(stripped):
        found = _TOKEN.match(stripped, position)
        if not found or found.end() == position:
            raise RuleError(
                f"unexpected text at position {position + 1}: {stripped[position : position + 20]!r}"
            )
        kind = found.lastgroup or ""
        out.append((kind, found.group(kind)))
        position = found.end()
    return out


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    position: int = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise RuleError(f"expected {value or 'more'} at token {self.position + 1}")
        self.position += 1
        return token

    def expr(self) -> object:
        node = self.conj()
        while (t := self.peek()) and t == ("word", "or"):
            self.take()
            node = ("or", node, self.conj())
        return node

    def conj(self) -> object:
        node = self.cmp()
        while (t := self.peek()) and t == ("word", "and"):
            self.take()
            node = ("and", node, self.cmp())
        return node

    def cmp(self) -> object:
        token = self.take()
        if token == ("punct", "("):
            node = self.expr()
            self.take(")")
            return node
        if token == ("word", "vector"):
            self.take("(")
            value = float(self.take()[1])
            self.take(")")
            return ("vector", value)
        if token[0] != "word" or ":" not in token[1]:
            raise RuleError("expected a recorded series name (with ':') or vector(N)")
        matchers: list[LabelMatcher] = []
        if self.peek() == ("punct", "{"):
            self.take()
            while self.peek() != ("punct", "}"):
                name = self.take()
                if name[0] != "word":
                    raise RuleError(f"expected a label name, got {name[1]!r}")
                op = self.take()
                if op[1] not in ("=", "!=", "=~", "!~"):
                    raise RuleError(f"expected =, !=, =~ or !~ after {name[1]}, got {op[1]!r}")
                value = self.take()
                if value[0] != "str":
                    raise RuleError("label values must be quoted")
                text = re.sub(r"\\(.)", r"\1", value[1][1:-1])
                try:
                    matchers.append(LabelMatcher(name[1], MatchOp(op[1]), text))
                except Exception as exc:  # re2.error has no stable type name across versions
                    raise RuleError(f"label matcher {name[1]}{op[1]}{value[1]}: {exc}") from None
                if self.peek() == ("punct", ","):
                    self.take()
            self.take("}")
        following = self.peek()
        if following is None or following[0] != "op":
            return ("cmp", token[1], tuple(matchers), None, 0.0)
        op = self.take()
        threshold = self.take()
        if threshold[0] != "num":
            raise RuleError("expected a number after the comparison")
        return ("cmp", token[1], tuple(matchers), op[1], float(threshold[1]))


def _parse(text: str) -> object:
    parser = _Parser(_tokens(text))
    node = parser.expr()
    if parser.peek() is not None:
        raise RuleError(f"unexpected {parser.peek()[1]!r} after the expression")  # type: ignore[index]
    return node


def is_recorded_expr(text: str) -> bool:
    """Whether ``text`` is in this subset (and so is not LogQL)."""
    try:
        _parse(text)
    except RuleError:
        return False
    return True


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


def _run(node: object, read: RecordedReader, ts_ns: int, tenant: str) -> list[Sample]:
    kind = node[0]  # type: ignore[index]
    if kind == "vector":
        return [Sample({}, node[1])]  # type: ignore[index]
    if kind == "cmp":
        _, name, matchers, op, threshold = node  # type: ignore[misc]
        equal = {m.name: m.value for m in matchers if m.op is MatchOp.EQ}
        return [
            s
            for s in read(name, equal, ts_ns, tenant)
            if all(m.matches_labels(s.labels) for m in matchers)
            and (op is None or _OPS[op](s.value, threshold))
        ]
    left = _run(node[1], read, ts_ns, tenant)  # type: ignore[index]
    right = _run(node[2], read, ts_ns, tenant)  # type: ignore[index]
    right_keys = {_key(s.labels) for s in right}
    if kind == "and":
        return [s for s in left if _key(s.labels) in right_keys]
    left_keys = {_key(s.labels) for s in left}
    return left + [s for s in right if _key(s.labels) not in left_keys]


def evaluate_recorded(text: str, read: RecordedReader, ts_ns: int, tenant: str) -> list[Sample]:
    """Evaluate a recorded-series expression at ``ts_ns``."""
    return _run(_parse(text), read, ts_ns, tenant)
