"""Parser stages: turn a line (or a field) into ``fields``: json, logfmt, regex, pattern.

A line a parser does not recognise at all (a plain-text line reaching the ``json`` stage)
passes on unchanged and is not an error; a line that claims the format and breaks it (a
``{`` that is not valid JSON) passes on unchanged and counts one error. Regular
expressions users write are RE2 (google-re2), so a pattern cannot hang the agent or server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
import re2

from flightlog.errors import ConfigError
from flightlog.pipeline.record import LogRecord
from flightlog.pipeline.stage import Stage

__all__ = [
    "JsonStage",
    "LogfmtStage",
    "PatternStage",
    "RegexStage",
    "compile_pattern",
    "flatten_json",
    "parse_logfmt",
]


def flatten_json(obj: Mapping[str, Any], into: dict[str, Any], prefix: str = "") -> None:
    """Copy a decoded JSON object into ``into``, nested keys joined with ``_`` (as LogQL's json)."""
    for key, value in obj.items():
        name = prefix + key if not prefix else f"{prefix}_{key}"
        if type(value) is dict:
            flatten_json(value, into, name)
        elif type(value) is list:
            into[name] = orjson.dumps(value).decode()
        else:
            into[name] = value


class JsonStage(Stage):
    """Parse a JSON object line (or field ``source``) into fields."""

    kind = "json"

    def __init__(self, source: str | None = None) -> None:
        super().__init__()
        self.source = source

    def __call__(self, record: LogRecord) -> LogRecord:
        text = record.line if self.source is None else record.fields.get(self.source)
        if type(text) is not str or not text:
            return record
        if text[0] != "{":
            text = text.lstrip()
            if not text.startswith("{"):
                return record
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.errors += 1
            return record
        if type(obj) is not dict:
            self.errors += 1
            return record
        if record.fields:
            fields = dict(record.fields)
            flatten_json(obj, fields)
        else:
            # The decoded object is ours: use it as the fields unless it nests (a second
            # `{` or any `[` in the text is the cheap test; the loop confirms).
            fields = obj
            if text.find("{", 1) >= 0 or "[" in text:
                for value in obj.values():
                    if type(value) is dict or type(value) is list:
                        fields = {}
                        flatten_json(obj, fields)
                        break
        return LogRecord(
            record.ts_ns, record.line, record.labels, record.metadata, fields, record.source
        )

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """The same as calling the stage on each record, in one tight loop (the hot path)."""
        if self.source is not None:
            return [self(record) for record in records]
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        out: list[LogRecord] = []
        append = out.append
        for record in records:
            text = record.line
            if text[:1] != "{" and not text.lstrip().startswith("{"):
                append(record)
                continue
            try:
                obj = loads(text)
            except decode_error:
                self.errors += 1
                append(record)
                continue
            if type(obj) is not dict:
                self.errors += 1
                append(record)
                continue
            if record.fields:
                fields = dict(record.fields)
                flatten_json(obj, fields)
            elif text.find("{", 1) >= 0 or "[" in text:
                fields = {}
                flatten_json(obj, fields)
            else:
                fields = obj
            append(
                LogRecord(record.ts_ns, text, record.labels, record.metadata, fields, record.source)
            )
        return out


# A logfmt pair: key=value, key="quoted \" value" or key= (empty). Stdlib `re` is safe here
# because this pattern is ours and has no nested quantifiers that can backtrack badly.
_LOGFMT_PAIR = re.compile(r'([^\s="]+)=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*)')


def parse_logfmt(text: str) -> dict[str, str]:
    """The key/value pairs of a logfmt line (unquoted); keys without ``=`` are ignored."""
    out: dict[str, str] = {}
    for key, value in _LOGFMT_PAIR.findall(text):
        if value[:1] == '"':
            value = value[1:-1]
            if "\\" in value:
                value = value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        out[key] = value
    return out


class LogfmtStage(Stage):
    """Parse a logfmt line (``key=value key="quoted value"``) into fields."""

    kind = "logfmt"

    def __init__(self, source: str | None = None) -> None:
        super().__init__()
        self.source = source

    def __call__(self, record: LogRecord) -> LogRecord:
        text = record.line if self.source is None else record.fields.get(self.source)
        if type(text) is not str or "=" not in text or text[:1] == "{":
            return record
        pairs = parse_logfmt(text)
        if not pairs:
            return record
        if record.fields:
            merged = dict(record.fields)
            merged.update(pairs)
            pairs = merged
        return record.with_fields(pairs)

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """The same as calling the stage on each record, in one tight loop (the hot path)."""
        if self.source is not None:
            return [self(record) for record in records]
        findall = _LOGFMT_PAIR.findall
        out: list[LogRecord] = []
        append = out.append
        for record in records:
            text = record.line
            if "=" not in text or text[:1] == "{":
                append(record)
                continue
            pairs: dict[str, Any] = dict(record.fields) if record.fields else {}
            found = False
            for key, value in findall(text):
                found = True
                if value[:1] == '"':
                    value = value[1:-1]
                    if "\\" in value:
                        value = value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                pairs[key] = value
            if not found:
                append(record)
                continue
            append(
                LogRecord(record.ts_ns, text, record.labels, record.metadata, pairs, record.source)
            )
        return out


def _quiet_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the error goes into our message, not raw to stderr
    return options


def compile_regex(expression: str, *, what: str) -> Any:
    """Compile a user's RE2 expression, or raise ConfigError naming it."""
    try:
        return re2.compile(expression, options=_quiet_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ConfigError(
            f"{what}: invalid RE2 regular expression {expression!r}: {reason}"
        ) from exc


class NamedGroupStage(Stage):
    """Base of the stages that copy the named groups of a compiled RE2 match into fields.

    Subclasses set ``_regex`` (searched in the line, or in field ``source``) and ``source``.
    """

    _regex: Any
    source: str | None

    def __call__(self, record: LogRecord) -> LogRecord:
        text = record.line if self.source is None else record.fields.get(self.source)
        if type(text) is not str:
            return record
        try:
            match = self._regex.search(text)
        except UnicodeEncodeError:  # a lone surrogate: no regex can read it
            self.errors += 1
            return record
        if match is None:
            return record
        fields = dict(record.fields)
        for name, value in match.groupdict().items():
            if value is not None:
                fields[name] = value
        return record.with_fields(fields)


class RegexStage(NamedGroupStage):
    """Extract the named groups of an RE2 expression (searched in the line) into fields."""

    kind = "regex"

    def __init__(self, expression: str, source: str | None = None) -> None:
        super().__init__()
        self.expression = expression
        self.source = source
        self._regex = compile_regex(expression, what="regex stage")
        if not self._regex.groupindex:
            raise ConfigError(
                f"regex stage: expression {expression!r} has no named group; "
                "name what to extract with (?P<name>...)"
            )


_PATTERN_TOKEN = re.compile(r"<(_|[A-Za-z_][A-Za-z0-9_]*)>")


def compile_pattern(expression: str) -> tuple[Any, tuple[str, ...]]:
    """Compile Loki pattern syntax (``<name>`` captures, ``<_>`` skips, literal text) to RE2.

    The line must start with the pattern's first element; a capture takes everything up to
    the first occurrence of the literal after it, and a final capture takes the rest.
    """
    parts = _PATTERN_TOKEN.split(expression)
    # split gives literal, name, literal, name, ..., literal
    names = parts[1::2]
    if not names:
        raise ConfigError(f"pattern {expression!r} has no capture; add one like <name> or <_>")
    regex = ["^"]
    seen: set[str] = set()
    for index, part in enumerate(parts):
        if index % 2 == 0:
            regex.append(re2.escape(part) if part else "")
            continue
        if index > 1 and parts[index - 1] == "":
            raise ConfigError(
                f"pattern {expression!r}: captures <{parts[index - 2]}> and <{part}> touch; "
                "separate them with literal text"
            )
        last = index == len(parts) - 2 and parts[-1] == ""
        body = ".*" if last else ".*?"
        if part == "_":
            regex.append(f"(?:{body})")
        else:
            if part in seen:
                raise ConfigError(f"pattern {expression!r}: capture <{part}> appears twice")
            seen.add(part)
            regex.append(f"(?P<{part}>{body})")
    return compile_regex("".join(regex), what=f"pattern {expression!r}"), tuple(
        n for n in names if n != "_"
    )


class PatternStage(NamedGroupStage):
    """Extract fields with Loki's pattern syntax, e.g. ``<ip> - - [<_>] "<method> <path> <_>"``."""

    kind = "pattern"

    def __init__(self, expression: str, source: str | None = None) -> None:
        super().__init__()
        self.expression = expression
        self.source = source
        # Anchored at the start, so the inherited search behaves as a match.
        self._regex, self.names = compile_pattern(expression)
