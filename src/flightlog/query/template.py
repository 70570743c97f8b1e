"""The subset of Go's text/template that ``line_format`` and ``label_format`` accept.

Supported: text, ``{{ .label }}``, ``{{ __line__ }}``, ``{{ __timestamp__ }}``, string and
number literals, pipelines (``{{ .a | upper }}``), function calls (``{{ printf "%s-%s" .a .b }}``),
``{{ if ... }} ... {{ else }} ... {{ end }}``, and the functions Loki documents most:
``ToLower/lower, ToUpper/upper, title, trim, trimPrefix, trimSuffix, trimSpace, replace,
default, len, printf, eq, ne, lt, gt, le, ge, and, or, not, contains, hasPrefix,
hasSuffix, regexReplaceAll, substr``. Missing labels render as ``""``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import re2

__all__ = ["Template", "TemplateError", "compile_template"]


class TemplateError(ValueError):
    """A template cannot be parsed."""


_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||[^\s()|]+')


def _go_bool(value: object) -> bool:
    if isinstance(value, str):
        return value != ""
    return bool(value)


def _num(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _cmp(a: object, b: object) -> tuple[object, object]:
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return _num(a), _num(b)
    return str(a), str(b)


def _printf(fmt: object, *args: object) -> str:
    text = str(fmt)
    pyfmt = re.sub(
        r"%[-+ #0]*\d*(?:\.\d+)?[vdsfgqx]",
        lambda m: m.group(0).replace("v", "s").replace("q", "r"),
        text,
    )
    converted = []
    for spec, arg in zip(
        re.findall(r"%[-+ #0]*\d*(?:\.\d+)?([vdsfgqx])", text), args, strict=False
    ):
        converted.append(_num(arg) if spec in "dfgx" and not isinstance(arg, (int, float)) else arg)
        if spec == "d":
            converted[-1] = int(_num(arg))
    try:
        return pyfmt % tuple(converted)
    except (TypeError, ValueError):
        return text


FUNCTIONS: dict[str, Callable[..., object]] = {
    "ToLower": lambda s: str(s).lower(),
    "lower": lambda s: str(s).lower(),
    "ToUpper": lambda s: str(s).upper(),
    "upper": lambda s: str(s).upper(),
    "title": lambda s: str(s).title(),
    "trim": lambda s: str(s).strip(),
    "trimSpace": lambda s: str(s).strip(),
    "TrimSpace": lambda s: str(s).strip(),
    "trimPrefix": lambda prefix, s: str(s).removeprefix(str(prefix)),
    "trimSuffix": lambda suffix, s: str(s).removesuffix(str(suffix)),
    "TrimPrefix": lambda s, prefix: str(s).removeprefix(str(prefix)),
    "TrimSuffix": lambda s, suffix: str(s).removesuffix(str(suffix)),
    "replace": lambda old, new, s: str(s).replace(str(old), str(new)),
    "Replace": lambda s, old, new, n=-1: str(s).replace(str(old), str(new), int(_num(n))),
    "default": lambda d, s="": s if s not in ("", None) else d,
    "len": lambda s: len(str(s)),
    "printf": _printf,
    "eq": lambda a, *bs: any(_cmp(a, b)[0] == _cmp(a, b)[1] for b in bs),
    "ne": lambda a, b: _cmp(a, b)[0] != _cmp(a, b)[1],
    "lt": lambda a, b: _cmp(a, b)[0] < _cmp(a, b)[1],  # type: ignore[operator]
    "le": lambda a, b: _cmp(a, b)[0] <= _cmp(a, b)[1],  # type: ignore[operator]
    "gt": lambda a, b: _cmp(a, b)[0] > _cmp(a, b)[1],  # type: ignore[operator]
    "ge": lambda a, b: _cmp(a, b)[0] >= _cmp(a, b)[1],  # type: ignore[operator]
    "and": lambda *xs: next((x for x in xs if not _go_bool(x)), xs[-1]),
    "or": lambda *xs: next((x for x in xs if _go_bool(x)), xs[-1]),
    "not": lambda x: not _go_bool(x),
    "contains": lambda sub, s: str(sub) in str(s),
    "hasPrefix": lambda s, prefix: str(s).startswith(str(prefix)),
    "hasSuffix": lambda s, suffix: str(s).endswith(str(suffix)),
    "regexReplaceAll": lambda pattern, s, repl: re2.sub(
        str(pattern), re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", str(repl)), str(s)
    ),
    "substr": lambda start, end, s: str(s)[int(_num(start)) : int(_num(end))],
    "add": lambda a, b: _num(a) + _num(b),
    "sub": lambda a, b: _num(a) - _num(b),
    "mul": lambda a, b: _num(a) * _num(b),
    "div": lambda a, b: _num(a) / _num(b) if _num(b) else 0,
}


@dataclass(frozen=True, slots=True)
class _Context:
    labels: Mapping[str, str]
    line: str
    ts_ns: int


def _literal(token: str) -> object:
    if token.startswith('"'):
        from flightlog.query.parser import unquote

        return unquote(token)
    if token.startswith("`"):
        return token[1:-1]
    try:
        return int(token)
    except ValueError:
        return float(token)


class _Pipeline:
    def __init__(self, source: str) -> None:
        tokens = _TOKEN.findall(source)
        if not tokens:
            raise TemplateError("empty action {{ }}")
        self.commands: list[list[object]] = []
        current: list[object] = []
        for token in tokens:
            if token == "|":
                if not current:
                    raise TemplateError(f"empty command in {source!r}")
                self.commands.append(current)
                current = []
            elif token in ("(", ")"):
                raise TemplateError(
                    f"parenthesised template expressions are not supported: {source!r}"
                )
            else:
                current.append(token)
        if not current:
            raise TemplateError(f"empty command in {source!r}")
        self.commands.append(current)
        for command in self.commands:
            for token in command:  # an identifier is a function call, head or argument
                word = str(token)
                if not (
                    word.startswith(".")
                    or word in ("__line__", "__timestamp__")
                    or word in FUNCTIONS
                    or _is_literal(word)
                ):
                    raise TemplateError(f'function "{word}" not defined')

    def evaluate(self, ctx: _Context) -> object:
        value: object = None
        for i, command in enumerate(self.commands):
            args = [_argument(str(t), ctx) for t in command[1:]]
            if i > 0:
                args.append(value)
            head = str(command[0])
            if head in FUNCTIONS:
                try:
                    value = FUNCTIONS[head](*args)
                except (TypeError, ValueError, IndexError, re2.error):
                    value = ""
            else:
                value = _argument(head, ctx)
        return value


def _is_literal(token: str) -> bool:
    if token[:1] in ('"', "`"):
        return True
    try:
        float(token)
    except ValueError:
        return False
    return True


def _argument(token: str, ctx: _Context) -> object:
    if token.startswith("."):
        return ctx.labels.get(token[1:], "") if token != "." else dict(ctx.labels)
    if token == "__line__":
        return ctx.line
    if token == "__timestamp__":
        return datetime.fromtimestamp(ctx.ts_ns / 1e9, tz=UTC).isoformat()
    if _is_literal(token):
        return _literal(token)
    if token in FUNCTIONS:
        return FUNCTIONS[token]()
    raise TemplateError(f'function "{token}" not defined')


def _render(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


# A node is text (str), an action (_Pipeline), or an if-block.
@dataclass
class _If:
    condition: _Pipeline
    then: list[object]
    otherwise: list[object]


class Template:
    """A compiled template; ``render(labels, line, ts_ns)`` returns the text."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.nodes, rest = _parse_nodes(_split(source), 0, top=True)
        assert rest is None

    def render(self, labels: Mapping[str, str], line: str = "", ts_ns: int = 0) -> str:
        ctx = _Context(labels, line, ts_ns)
        out: list[str] = []
        _render_nodes(self.nodes, ctx, out)
        return "".join(out)


def _split(source: str) -> list[tuple[bool, str]]:
    parts: list[tuple[bool, str]] = []
    pos = 0
    for match in _ACTION.finditer(source):
        text = source[pos : match.start()]
        if match.group(0).startswith("{{-"):
            text = text.rstrip()
        if text:
            parts.append((False, text))
        parts.append((True, match.group(1)))
        pos = match.end()
        if match.group(0).endswith("-}}"):
            while pos < len(source) and source[pos].isspace():
                pos += 1
    if "{{" in source[pos:]:
        raise TemplateError(f"unclosed action in template {source!r}")
    if source[pos:]:
        parts.append((False, source[pos:]))
    return parts


def _parse_nodes(
    parts: list[tuple[bool, str]], index: int, top: bool
) -> tuple[list[object], tuple[str, int] | None]:
    nodes: list[object] = []
    i = index
    while i < len(parts):
        is_action, text = parts[i]
        if not is_action:
            nodes.append(text)
            i += 1
            continue
        keyword = text.split(None, 1)[0] if text else ""
        if keyword in ("else", "end"):
            if top:
                raise TemplateError(f"unexpected {{{{{keyword}}}}}")
            return nodes, (keyword, i)
        if keyword == "if":
            condition = _Pipeline(text[2:].strip())
            then, stop = _parse_nodes(parts, i + 1, top=False)
            otherwise: list[object] = []
            if stop is None:
                raise TemplateError("{{if}} without {{end}}")
            if stop[0] == "else":
                otherwise, stop = _parse_nodes(parts, stop[1] + 1, top=False)
                if stop is None or stop[0] != "end":
                    raise TemplateError("{{if}} without {{end}}")
            nodes.append(_If(condition, then, otherwise))
            i = stop[1] + 1
            continue
        nodes.append(_Pipeline(text))
        i += 1
    if not top:
        return nodes, None
    return nodes, None


def _render_nodes(nodes: list[object], ctx: _Context, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Pipeline):
            out.append(_render(node.evaluate(ctx)))
        elif isinstance(node, _If):
            branch = node.then if _go_bool(node.condition.evaluate(ctx)) else node.otherwise
            _render_nodes(branch, ctx, out)


def compile_template(source: str) -> Template:
    """Compile ``source``; raise ``TemplateError`` when it is not valid."""
    return Template(source)
