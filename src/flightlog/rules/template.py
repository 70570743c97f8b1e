"""A small, safe subset of Go templates for alert labels and annotations.

Supported: text with ``{{ ... }}`` actions (``{{-``/``-}}`` trim spaces); operands
``$labels.name``, ``.Labels.name``, ``$value``, ``.Value``, ``$externalURL``, string and
number literals; functions used as ``f x`` or in a pipeline ``x | f``: ``humanize``,
``humanize1024``, ``humanizePercentage``, ``humanizeDuration``, ``printf``, ``index``,
``len``, ``join``, ``toUpper``, ``toLower``, ``title``, ``trimSpace``, ``urlquery``,
``safeHtml``. Anything else (``if``, ``range``) is a ``RuleError`` at load time, so a typo
never reaches a 3 a.m. page. Maps print as Go prints them (``map[a:1 b:2]``).

The same engine renders notification templates (``flightlog.notify.templates``): what an
operand means comes from a ``TemplateScope`` (``TemplateData`` is the rules' scope), and a
scope may also offer named templates for ``{{ template "name" . }}``.
"""

from __future__ import annotations

import math
import re
import shlex
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from flightlog.errors import RuleError

__all__ = [
    "TemplateData",
    "TemplateScope",
    "check_template",
    "expand",
    "humanize",
    "humanize_duration",
    "render",
]

_ACTION = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.DOTALL)


class TemplateScope(Protocol):
    """What a template's operands and named templates mean."""

    def resolve(self, word: str) -> object:
        """The value of an operand such as ``$value`` or ``.CommonLabels.x``; ``RuleError`` if unknown."""
        ...

    def template(self, name: str) -> str:
        """What ``{{ template "name" . }}`` writes (final text); ``RuleError`` if there is none."""
        ...


@dataclass(frozen=True, slots=True)
class TemplateData:
    """The rules' scope: one sample's labels and value, and the external URL."""

    labels: Mapping[str, str]
    value: float
    external_url: str = ""

    def resolve(self, word: str) -> object:
        if word in ("$value", ".Value"):
            return self.value
        if word in ("$labels", ".Labels"):
            return dict(self.labels)
        if word == "$externalURL":
            return self.external_url
        for prefix in ("$labels.", ".Labels."):
            if word.startswith(prefix):
                return self.labels.get(word[len(prefix) :], "")
        raise RuleError(
            f"template variable {word!r} is unknown: use $labels.<name>, $value or $externalURL"
        )

    def template(self, name: str) -> str:
        raise RuleError(
            "template action 'template' is not supported in rules: use $labels.x, $value and functions like humanize"
        )


_CHECK_DATA = TemplateData({}, 0.0)


def humanize(value: float) -> str:
    """Prometheus's ``humanize``: SI prefixes, 4 significant digits (``1234567`` → ``1.235M``)."""
    if value == 0 or math.isnan(value) or math.isinf(value):
        return f"{value:.4g}"
    if abs(value) >= 1:
        prefixes = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"]
        index = 0
        while abs(value) >= 1000 and index < len(prefixes) - 1:
            value /= 1000
            index += 1
        return f"{value:.4g}{prefixes[index]}"
    prefixes = ["", "m", "u", "n", "p", "f", "a", "z", "y"]
    index = 0
    while abs(value) < 1 and index < len(prefixes) - 1:
        value *= 1000
        index += 1
    return f"{value:.4g}{prefixes[index]}"


def _humanize1024(value: float) -> str:
    if abs(value) <= 1:
        return f"{value:.4g}"
    prefixes = ["", "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"]
    index = 0
    while abs(value) >= 1024 and index < len(prefixes) - 1:
        value /= 1024
        index += 1
    return f"{value:.4g}{prefixes[index]}"


def humanize_duration(seconds: float) -> str:
    """Prometheus's ``humanizeDuration``: ``1d 2h 3m 4s`` or ``250ms`` below a second."""
    if math.isnan(seconds) or math.isinf(seconds):
        return f"{seconds:.4g}"
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        for unit, size in (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
            if seconds >= size:
                return f"{sign}{seconds / size:.4g}{unit}"
        return f"{sign}{seconds:.4g}s"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, _ = divmod(rest, 60)
    secs = seconds - days * 86400 - hours * 3600 - minutes * 60
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    parts.append(f"{secs:.4g}s" if secs else "")
    return sign + " ".join(p for p in parts if p)


def _printf(fmt: object, *args: object) -> str:
    try:
        return str(fmt) % args
    except (TypeError, ValueError) as exc:
        raise RuleError(f"printf {fmt!r}: {exc}") from exc


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise RuleError(f"expected a number, got {value!r}") from exc


def _join(separator: object, items: object) -> str:
    if isinstance(items, Mapping) or not isinstance(items, Sequence) or isinstance(items, str):
        raise RuleError(f"join needs a list (such as .CommonLabels.Values), got {items!r}")
    return str(separator).join(str(i) for i in items)


def _len(value: object) -> int:
    if isinstance(value, Mapping | Sequence):
        return len(value)
    raise RuleError(f"len needs a list, a map or a string, got {value!r}")


FUNCTIONS: dict[str, Callable[..., object]] = {
    "humanize": lambda v: humanize(_number(v)),
    "humanize1024": lambda v: _humanize1024(_number(v)),
    "humanizePercentage": lambda v: f"{_number(v) * 100:.4g}%",
    "humanizeDuration": lambda v: humanize_duration(_number(v)),
    "printf": _printf,
    "index": lambda m, k: str(dict(m).get(str(k), "")) if isinstance(m, Mapping) else "",  # type: ignore[arg-type]
    "toUpper": lambda s: str(s).upper(),
    "toLower": lambda s: str(s).lower(),
    "title": lambda s: str(s).title(),
    "urlquery": lambda s: urllib.parse.quote_plus(str(s)),
    "len": _len,
    "join": _join,
    "trimSpace": lambda s: str(s).strip(),
    "safeHtml": lambda s: str(s),
}


def _words(text: str) -> list[str]:
    try:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        return list(lexer)
    except ValueError as exc:
        raise RuleError(f"template action {{{{{text}}}}} is not valid: {exc}") from exc


def _operand(word: str, scope: TemplateScope) -> object:
    if re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", word):
        return float(word)
    if word.startswith("$") or word.startswith("."):
        return scope.resolve(word)
    return word  # a quoted string literal (quotes removed by the lexer)


_UNSUPPORTED_ACTIONS = frozenset(
    {"if", "range", "with", "define", "block", "end", "else", "and", "or", "not"}
)


def _command(
    words: list[str],
    piped: object | None,
    scope: TemplateScope,
    checking: bool,
    has_input: bool,
) -> object:
    head = words[0]
    if head in FUNCTIONS:
        args = [_operand(w, scope) for w in words[1:]]
        if has_input:
            args.append(piped)
        if checking:
            return ""
        return FUNCTIONS[head](*args)
    if head == "template":
        if len(words) not in (2, 3) or (len(words) == 3 and words[2] != ".") or has_input:
            raise RuleError('write a template call as {{ template "name" . }}')
        text = scope.template(words[1])
        return "" if checking else text
    if head in _UNSUPPORTED_ACTIONS:
        raise RuleError(
            f"template action {head!r} is not supported: use $labels.x, $value and functions like humanize"
        )
    if len(words) > 1 or has_input:
        raise RuleError(
            f"template function {head!r} is unknown: known are {', '.join(sorted(FUNCTIONS))}"
        )
    return _operand(head, scope)


def _text(result: object) -> str:
    """A value as Go's text/template prints it."""
    if isinstance(result, bool):
        return "true" if result else "false"
    if isinstance(result, float):
        if result.is_integer() and abs(result) < 1e15:
            return str(int(result))
        return repr(result)
    if isinstance(result, Mapping):
        return "map[" + " ".join(f"{k}:{_text(v)}" for k, v in sorted(result.items())) + "]"
    if isinstance(result, list | tuple):
        return "[" + " ".join(_text(v) for v in result) + "]"
    return "" if result is None else str(result)


def _evaluate(action: str, scope: TemplateScope, checking: bool) -> str:
    result: object = None
    for index, part in enumerate(action.split("|")):
        words = _words(part.strip())
        if not words:
            raise RuleError(f"template action {{{{{action}}}}} has an empty command")
        result = _command(words, result, scope, checking, has_input=index > 0)
    return _text(result)


def render(text: str, scope: TemplateScope, checking: bool = False) -> str:
    """Expand the actions in ``text`` over ``scope``; ``checking`` only validates them.

    Raises ``RuleError`` for anything outside the subset or a function that cannot take
    its arguments.
    """
    out: list[str] = []
    position = 0
    for found in _ACTION.finditer(text):
        literal = text[position : found.start()]
        if found.group(1):
            literal = literal.rstrip()
        out.append(literal)
        out.append(_evaluate(found.group(2).strip(), scope, checking))
        position = found.end()
        if found.group(3):
            rest = text[position:]
            position += len(rest) - len(rest.lstrip())
    tail = text[position:]
    if "{{" in tail:
        raise RuleError(f"template {text!r} has an unclosed '{{{{'")
    out.append(tail)
    return "".join(out)


def expand(text: str, data: TemplateData | None) -> str:
    """Expand a rule template over one sample; with ``data=None`` only check it."""
    if data is None:
        return render(text, _CHECK_DATA, checking=True)
    return render(text, data)


def check_template(text: str) -> None:
    """Raise ``RuleError`` when a template uses something this subset does not support."""
    expand(text, None)
