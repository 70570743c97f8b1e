"""The entry a LogQL pipeline works on, and Loki's label-naming and error conventions.

``Entry`` holds a line and its labels in Loki's three categories (stream labels,
structured metadata, parsed labels); a parsed label that collides with one of the others
gets the ``_extracted`` suffix, and a failed stage sets ``__error__`` and
``__error_details__`` instead of dropping the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "ERROR_DETAILS_LABEL",
    "ERROR_LABEL",
    "SANITIZED_NAMES",
    "Entry",
    "StageFn",
    "sanitize_label_name",
]

ERROR_LABEL = "__error__"
ERROR_DETAILS_LABEL = "__error_details__"
JSON_PARSER_ERR = "JSONParserErr"
LOGFMT_PARSER_ERR = "LogfmtParserErr"
LABEL_FILTER_ERR = "LabelFilterErr"
TEMPLATE_FORMAT_ERR = "TemplateFormatErr"
JSON_UNPACK_ERR = "JSONUnpackErr"

_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


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


# Read directly by the json and logfmt stages' hot loops (one call less per key).
SANITIZED_NAMES: dict[str, str] = {}
_SANITIZED_MAX = 65_536  # keys repeat across lines; a bound keeps odd data from growing it


def sanitize_label_name(name: str) -> str:
    cleaned = SANITIZED_NAMES.get(name)
    if cleaned is not None:
        return cleaned
    cleaned = _INVALID_LABEL_CHARS.sub("_", name)
    if cleaned and cleaned[0].isdigit():
        cleaned = "_" + cleaned
    if len(SANITIZED_NAMES) < _SANITIZED_MAX:
        SANITIZED_NAMES[name] = cleaned
    return cleaned
