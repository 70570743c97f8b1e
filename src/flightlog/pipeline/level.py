"""Level detection and normalization: one vocabulary of levels whatever the source printed.

Levels are ``trace``, ``debug``, ``info``, ``warning``, ``error``, ``critical``: ``WARN``,
``warning`` and ``W`` become ``warning``; ``FATAL``, ``CRITICAL``, ``PANIC``, ``EMERG``
become ``critical``. The stage looks in the record's fields (``level``, ``lvl``,
``severity``, ``levelname``, ...), then in labels of those names, then, if asked, for a
level word in the line itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flightlog.errors import ConfigError
from flightlog.pipeline.record import LogRecord
from flightlog.pipeline.stage import Stage

__all__ = ["LEVELS", "LEVEL_RANK", "LevelStage", "normalize_level"]

LEVELS = ("trace", "debug", "info", "warning", "error", "critical")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}

_ALIASES = {
    "trace": "trace", "trc": "trace", "t": "trace", "verbose": "trace", "finest": "trace",
    "debug": "debug", "dbg": "debug", "d": "debug", "fine": "debug",
    "info": "info", "inf": "info", "i": "info", "information": "info", "informational": "info",
    "notice": "info", "n": "info",
    "warning": "warning", "warn": "warning", "wrn": "warning", "w": "warning",
    "error": "error", "err": "error", "eror": "error", "e": "error", "severe": "error",
    "critical": "critical", "crit": "critical", "fatal": "critical", "ftl": "critical",
    "f": "critical", "c": "critical", "panic": "critical", "emerg": "critical",
    "emergency": "critical", "alert": "critical",
}  # fmt: skip

# OpenTelemetry severity numbers 1-24 in groups of four (TRACE..FATAL), and syslog's 0-7.
_OTEL_BY_GROUP = ("trace", "debug", "info", "warning", "error", "critical")


def normalize_level(value: object) -> str | None:
    """The normalized level for a printed level (word, letter or OTel number); None if unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if 1 <= value <= 24:
            return _OTEL_BY_GROUP[(value - 1) // 4]
        return None
    if not isinstance(value, str):
        return None
    found = _ALIASES.get(value.strip().lower())
    if found is None and value.isdigit():
        return normalize_level(int(value))
    return found


DEFAULT_LEVEL_FIELDS = (
    "level",
    "lvl",
    "severity",
    "levelname",
    "log_level",
    "loglevel",
    "log.level",
)
_IN_LINE = re.compile(
    r"\b(TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERROR|FATAL|CRITICAL|PANIC)\b", re.IGNORECASE
)


class LevelStage(Stage):
    """Put the normalized level in label (or metadata) ``target_name``."""

    kind = "level"

    def __init__(
        self,
        fields: Sequence[str] = DEFAULT_LEVEL_FIELDS,
        *,
        detect_in_line: bool = True,
        target: str = "label",
        target_name: str = "level",
        default: str | None = None,
    ) -> None:
        super().__init__()
        if target not in ("label", "metadata"):
            raise ConfigError(f"level stage: target {target!r} must be 'label' or 'metadata'")
        if default is not None and default not in LEVEL_RANK:
            raise ConfigError(
                f"level stage: default {default!r} must be one of {', '.join(LEVELS)}"
            )
        self.fields = tuple(fields)
        self.detect_in_line = detect_in_line
        self.to_labels = target == "label"
        self.target_name = target_name
        self.default = default
        # Records of one source share one labels mapping; so do their outputs, which
        # keeps regrouping into streams cheap. Keyed by id, holding the input alive.
        self._with_level: dict[tuple[int, str], tuple[object, dict[str, str]]] = {}

    def __call__(self, record: LogRecord) -> LogRecord:
        level: str | None = None
        raw_seen = False
        if record.fields:
            for name in self.fields:
                raw = record.fields.get(name)
                if raw is not None:
                    raw_seen = True
                    level = normalize_level(raw)
                    if level is not None:
                        break
        if level is None and record.labels:
            # Clients such as python-logging-loki send the level as a label (`severity`).
            for name in self.fields:
                raw = record.labels.get(name)
                if raw is not None:
                    level = normalize_level(raw)
                    if level is not None:
                        break
        if level is None and self.detect_in_line:
            match = _IN_LINE.search(record.line, 0, 200)
            if match is not None:
                level = _ALIASES[match.group(1).lower()]
        if level is None:
            if raw_seen:
                self.errors += 1
            level = self.default
            if level is None:
                return record
        if self.to_labels:
            labels = record.labels
            if labels.get(self.target_name) == level:
                return record
            cached = self._with_level.get((id(labels), level))
            if cached is None or cached[0] is not labels:
                if len(self._with_level) > 4096:
                    self._with_level.clear()
                cached = (labels, {**labels, self.target_name: level})
                self._with_level[(id(labels), level)] = cached
            return LogRecord(
                record.ts_ns, record.line, cached[1], record.metadata, record.fields, record.source
            )
        metadata = dict(record.metadata)
        metadata[self.target_name] = level
        return record.with_metadata(metadata)
