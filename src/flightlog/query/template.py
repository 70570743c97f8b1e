"""The subset of Go's text/template that ``line_format`` and ``label_format`` accept.

Supported: text, ``{{ .label }}``, ``{{ __line__ }}``, ``{{ __timestamp__ }}`` (a Go time),
string, number and ``true/false/nil`` literals, pipelines (``{{ .a | upper }}``, the piped
value is the last argument), function calls and parenthesised calls
(``{{ date "2006-01-02" (unixToTime .from) }}``), variables and fields (``$``, ``$v.field``,
``.a.b``), ``{{ if }}…{{ else if }}…{{ else }}…{{ end }}`` and
``{{ range [$i,] [$v :=] pipeline }}…[{{ else }}…]{{ end }}`` over a list or a map (maps in
key order, as Go does). The functions are those on Loki's "Template functions" page
(``flightlog.query.template_functions``) plus Go's comparisons, ``and/or/not`` and ``printf``.
An unknown function fails at parse time; a function that fails when run renders ``""``.
Missing labels render as ``""``. ``{{ $x := … }}`` outside ``range``, ``with``, ``define``
and ``template`` are not supported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import re2

from flightlog.query import template_functions as _tf
from flightlog.query.template_functions import FUNCTIONS as _FUNCTIONS
from flightlog.query.template_functions import (
    GoTime,
    is_empty,
    render_value,
    to_float,
    to_int,
)

__all__ = ["Template", "TemplateError", "compile_template"]


class TemplateError(ValueError):
    """A template cannot be parsed."""


_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||[^\s()|]+')


def _go_bool(value: object) -> bool:
    return not is_empty(value)


def _cmp(a: object, b: object) -> tuple[object, object]:
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return to_float(a), to_float(b)
    return str(a), str(b)


def _printf(fmt: object, *args: object) -> str:
    text = str(fmt)
    pyfmt = re.sub(
        r"%[-+ #0]*\d*(?:\.\d+)?[vdsfgqx]",
        lambda m: m.group(0).replace("v", "s").replace("q", "r"),
        text,
    )
    converted: list[object] = []
    for spec, arg in zip(
        re.findall(r"%[-+ #0]*\d*(?:\.\d+)?([vdsfgqx])", text), args, strict=False
    ):
        if spec == "d":
            converted.append(to_int(arg))
        elif spec in "fgx" and not isinstance(arg, (int, float)):
            converted.append(to_float(arg))
        elif spec in "sv":
            converted.append(render_value(arg))
        else:
            converted.append(arg)
    try:
        return pyfmt % tuple(converted)
    except (TypeError, ValueError):
        return text


FUNCTIONS: dict[str, Callable[..., object]] = {
    **_FUNCTIONS,
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
}

# What a failing function call raises; the action then renders as "".
_CALL_ERRORS = (
    TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError, re2.error,
)  # fmt: skip
_KEYWORDS = {"true": True, "false": False, "nil": None}
_NUMBER = re.compile(r"[-+]?\.\d")


@dataclass(frozen=True, slots=True)
class _Context:
    labels: Mapping[str, str]
    line: str
    ts_ns: int
    dot: object = None
    variables: Mapping[str, object] | None = None

    def with_dot(self, dot: object, variables: Mapping[str, object]) -> _Context:
        return _Context(self.labels, self.line, self.ts_ns, dot, variables)


def _literal(token: str) -> object:
    if token.startswith('"'):
        from flightlog.query.parser import unquote

        return unquote(token)
    if token.startswith("`"):
        return token[1:-1]
    if token in _KEYWORDS:
        return _KEYWORDS[token]
    try:
        return int(token, 0)
    except ValueError:
        return float(token)  # Go's numbers: 1.5, .5, 1e3


# A command is a list of arguments: tokens (str) or parenthesised pipelines.
class _Pipeline:
    def __init__(self, source: str, tokens: list[str] | None = None) -> None:
        self.source = source
        toks = _TOKEN.findall(source) if tokens is None else tokens
        if not toks:
            raise TemplateError("empty action {{ }}")
        self.commands, rest = _parse_commands(toks, 0, source)
        if rest != len(toks):
            raise TemplateError(f"unexpected ) in {source!r}")

    def evaluate(self, ctx: _Context) -> object:
        value: object = None
        for i, command in enumerate(self.commands):
            head = command[0]
            if isinstance(head, str) and head in FUNCTIONS:
                args = [_argument(t, ctx) for t in command[1:]]
                if i > 0:
                    args.append(value)
                try:
                    value = FUNCTIONS[head](*args)
                except _CALL_ERRORS:
                    value = ""
            else:
                value = _argument(head, ctx)
        return value


def _parse_commands(tokens: list[str], i: int, source: str) -> tuple[list[list[object]], int]:
    commands: list[list[object]] = []
    current: list[object] = []
    while i < len(tokens):
        token = tokens[i]
        if token == ")":
            break
        if token == "|":
            if not current:
                raise TemplateError(f"empty command in {source!r}")
            commands.append(current)
            current = []
        elif token == "(":
            inner, i = _parse_commands(tokens, i + 1, source)
            if i >= len(tokens) or tokens[i] != ")":
                raise TemplateError(f"unclosed ( in {source!r}")
            if not inner:
                raise TemplateError(f"empty ( ) in {source!r}")
            nested = _Pipeline.__new__(_Pipeline)
            nested.source, nested.commands = source, inner
            current.append(nested)
        else:
            _check_word(token)
            current.append(token)
        i += 1
    if not current:
        raise TemplateError(f"empty command in {source!r}")
    commands.append(current)
    return commands, i


def _check_word(word: str) -> None:
    """Every bare identifier must be a known function: an unknown one fails at parse time."""
    if not (
        word.startswith((".", "$"))
        or word in ("__line__", "__timestamp__")
        or word in FUNCTIONS
        or word in _KEYWORDS
        or _is_literal(word)
    ):
        raise TemplateError(f'function "{word}" not defined')


def _is_literal(token: str) -> bool:
    if token[:1] in ('"', "`"):
        return True
    try:
        float(token)
    except ValueError:
        try:
            int(token, 0)
        except ValueError:
            return False
    return True


def _fields(value: object, path: list[str]) -> object:
    for name in path:
        if isinstance(value, Mapping):
            value = value.get(name)
        else:
            return None
    return value


def _argument(token: object, ctx: _Context) -> object:
    if isinstance(token, _Pipeline):
        return token.evaluate(ctx)
    assert isinstance(token, str)
    if _NUMBER.match(token):  # ".5" is a number, not a field
        return _literal(token)
    if token.startswith("."):
        dot = ctx.labels if ctx.dot is None else ctx.dot
        return dot if token == "." else _fields(dot, token[1:].split("."))
    if token.startswith("$"):
        name, *path = token[1:].split(".")
        root = ctx.labels if name == "" else (ctx.variables or {}).get(name)
        return _fields(root, path)
    if token == "__line__":
        return ctx.line
    if token == "__timestamp__":
        return GoTime(ctx.ts_ns, _tf.local_zone())
    if token in _KEYWORDS:
        return _KEYWORDS[token]
    if _is_literal(token):
        return _literal(token)
    if token in FUNCTIONS:
        try:
            return FUNCTIONS[token]()
        except _CALL_ERRORS:
            return ""
    raise TemplateError(f'function "{token}" not defined')


_render = render_value


# A node is text (str), an action (_Pipeline), an if-block or a range-block.
@dataclass
class _If:
    condition: _Pipeline
    then: list[object]
    otherwise: list[object]


@dataclass
class _Range:
    variables: list[str]  # [], [$v] or [$i, $v]
    over: _Pipeline
    body: list[object]
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
            node, i = _parse_if(parts, text[2:].strip(), i)
            nodes.append(node)
            continue
        if keyword == "range":
            node, i = _parse_range(parts, text[5:].strip(), i)
            nodes.append(node)
            continue
        nodes.append(_Pipeline(text))
        i += 1
    return nodes, None


def _parse_if(parts: list[tuple[bool, str]], condition: str, i: int) -> tuple[_If, int]:
    """``{{if c}}…{{else if d}}…{{else}}…{{end}}``; returns the node and the index after it."""
    then, stop = _parse_nodes(parts, i + 1, top=False)
    if stop is None:
        raise TemplateError("{{if}} without {{end}}")
    otherwise: list[object] = []
    if stop[0] == "else":
        rest = parts[stop[1]][1][4:].strip()
        if rest.startswith("if") and (len(rest) == 2 or rest[2].isspace()):
            nested, after = _parse_if(parts, rest[2:].strip(), stop[1])
            return _If(_Pipeline(condition), then, [nested]), after
        if rest:
            raise TemplateError(f"unexpected {{{{else {rest}}}}}")
        otherwise, stop = _parse_nodes(parts, stop[1] + 1, top=False)
        if stop is None or stop[0] != "end":
            raise TemplateError("{{if}} without {{end}}")
    return _If(_Pipeline(condition), then, otherwise), stop[1] + 1


def _parse_range(parts: list[tuple[bool, str]], header: str, i: int) -> tuple[_Range, int]:
    """``{{range [$i,] [$v :=] pipeline}}…[{{else}}…]{{end}}``."""
    variables: list[str] = []
    m = re.match(r"(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=\s*", header)
    if m:
        variables = [v[1:] for v in m.groups() if v]
        header = header[m.end() :]
    if not header:
        raise TemplateError("missing value for range")
    over = _Pipeline(header)
    body, stop = _parse_nodes(parts, i + 1, top=False)
    otherwise: list[object] = []
    if stop is not None and stop[0] == "else":
        otherwise, stop = _parse_nodes(parts, stop[1] + 1, top=False)
    if stop is None or stop[0] != "end":
        raise TemplateError("{{range}} without {{end}}")
    return _Range(variables, over, body, otherwise), stop[1] + 1


def _render_nodes(nodes: list[object], ctx: _Context, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Pipeline):
            out.append(_render(node.evaluate(ctx)))
        elif isinstance(node, _If):
            branch = node.then if _go_bool(node.condition.evaluate(ctx)) else node.otherwise
            _render_nodes(branch, ctx, out)
        elif isinstance(node, _Range):
            _render_range(node, ctx, out)


def _render_range(node: _Range, ctx: _Context, out: list[str]) -> None:
    over = node.over.evaluate(ctx)
    if isinstance(over, Mapping):
        items: list[tuple[object, object]] = [(k, over[k]) for k in sorted(over, key=str)]
    elif isinstance(over, (list, tuple)):
        items = list(enumerate(over))
    else:
        items = []  # Go cannot range over a string or a number; nothing is rendered
    if not items:
        _render_nodes(node.otherwise, ctx, out)
        return
    for key, value in items:
        variables = dict(ctx.variables or {})
        if len(node.variables) == 1:
            variables[node.variables[0]] = value
        elif len(node.variables) == 2:
            variables[node.variables[0]], variables[node.variables[1]] = key, value
        _render_nodes(node.body, ctx.with_dot(value, variables), out)


def compile_template(source: str) -> Template:
    """Compile ``source``; raise ``TemplateError`` when it is not valid."""
    return Template(source)
