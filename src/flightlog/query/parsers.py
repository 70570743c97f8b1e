"""The LogQL parser stages: ``json`` (with parameters), ``logfmt`` (``--strict``,
``--keep-empty``), ``regexp``/``pattern`` and ``unpack``, each a plain callable on an
``Entry`` that adds parsed labels or sets ``__error__`` as Loki does."""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson
import re2

from flightlog.errors import QueryError
from flightlog.query import ast
from flightlog.query.entry import (
    ERROR_LABEL,
    JSON_PARSER_ERR,
    JSON_UNPACK_ERR,
    LOGFMT_PARSER_ERR,
    SANITIZED_NAMES,
    Entry,
    StageFn,
    sanitize_label_name,
)

__all__ = ["json_stage", "logfmt_stage", "parse_logfmt", "regexp_stage", "unpack_stage"]


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
    cached = SANITIZED_NAMES.get
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


def json_stage(stage: ast.JsonParser) -> StageFn:
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


def logfmt_stage(stage: ast.LogfmtParser) -> StageFn:
    wanted = {e.expression or e.label: sanitize_label_name(e.label) for e in stage.extractions}
    keep_empty = stage.keep_empty
    findall = _LOGFMT_FAST.findall
    cached = SANITIZED_NAMES.get

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


def regexp_stage(pattern: str) -> StageFn:
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


def unpack_stage(entry: Entry) -> bool:
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
