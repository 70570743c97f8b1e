"""Stages that decide a record's labels and structured metadata.

Labels name streams and must stay few (Loki's best-known trap is a label with a value per
request). ``FieldLabelsStage`` therefore guards cardinality: when a label would take more
than ``max_values_per_window`` distinct values within ``window_secs``, that label is
carried as structured metadata instead, from then on until the pipeline is rebuilt, and
the decision is logged once with what to do about it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flightlog.errors import ConfigError
from flightlog.pipeline.record import LogRecord
from flightlog.pipeline.stage import Stage

__all__ = [
    "FieldLabelsStage",
    "MetadataStage",
    "OutputStage",
    "PathLabelsStage",
    "StaticLabelsStage",
    "field_text",
]

logger = logging.getLogger("flightlog.pipeline")

_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_label_name(name: str, stage: str) -> None:
    if not _LABEL_NAME.match(name):
        raise ConfigError(
            f"{stage} stage: {name!r} is not a valid label name; use letters, digits and _"
        )


def field_text(value: Any) -> str:
    """A field value as the string a label or metadata value holds."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class FieldLabelsStage(Stage):
    """Promote fields to labels (``{label: field}``), with a cardinality guard per label."""

    kind = "labels"

    def __init__(
        self,
        mapping: Mapping[str, str],
        *,
        max_values_per_window: int = 100,
        window_secs: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if max_values_per_window < 1 or window_secs <= 0:
            raise ConfigError(
                "labels stage: max_values_per_window must be >= 1 and window_secs > 0"
            )
        for label in mapping:
            _check_label_name(label, "labels")
        self.mapping = dict(mapping)
        self.max_values = max_values_per_window
        self.window_secs = window_secs
        self._clock = clock
        self._window_start = clock()
        self._seen: dict[str, set[str]] = {label: set() for label in mapping}
        self.demoted: set[str] = set()

    def _admit(self, label: str, value: str) -> bool:
        """Whether ``value`` may be a label value now; demotes the label when it overflows."""
        if label in self.demoted:
            return False
        seen = self._seen[label]
        if value in seen:
            return True
        now = self._clock()
        if now - self._window_start >= self.window_secs:
            self._window_start = now
            for values in self._seen.values():
                values.clear()
        if len(seen) >= self.max_values:
            self.demoted.add(label)
            logger.warning(
                "label %r has more than %d values in %ss: keeping it as structured metadata, "
                'not a label (search it with `| %s="..."`); raise max_values_per_window if '
                "this label really is low-cardinality",
                label,
                self.max_values,
                self.window_secs,
                label,
            )
            return False
        seen.add(value)
        return True

    def __call__(self, record: LogRecord) -> LogRecord:
        fields = record.fields
        if not fields:
            return record
        labels: dict[str, str] | None = None
        metadata: dict[str, str] | None = None
        for label, field in self.mapping.items():
            raw = fields.get(field)
            if raw is None:
                continue
            value = field_text(raw)
            if self._admit(label, value):
                if labels is None:
                    labels = dict(record.labels)
                labels[label] = value
            else:
                if metadata is None:
                    metadata = dict(record.metadata)
                metadata[label] = value
        if labels is None and metadata is None:
            return record
        return LogRecord(
            record.ts_ns,
            record.line,
            record.labels if labels is None else labels,
            record.metadata if metadata is None else metadata,
            record.fields,
            record.source,
        )


class StaticLabelsStage(Stage):
    """Add fixed labels (``job=train``) to every record; existing labels of that name win."""

    kind = "static_labels"

    def __init__(self, labels: Mapping[str, str], *, override: bool = False) -> None:
        super().__init__()
        for name in labels:
            _check_label_name(name, "static_labels")
        self.labels = dict(labels)
        self.override = override

    def __call__(self, record: LogRecord) -> LogRecord:
        if self.override:
            merged = {**record.labels, **self.labels}
        else:
            merged = {**self.labels, **record.labels}
        return record.with_labels(merged)


class PathLabelsStage(Stage):
    """Labels from the record's source path, by a template like ``/var/log/ml/{service}/{run_id}.log``."""

    kind = "path_labels"

    def __init__(self, template: str) -> None:
        super().__init__()
        self.template = template
        parts = re.split(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template)
        names = parts[1::2]
        if not names:
            raise ConfigError(
                f"path_labels stage: template {template!r} names no label; write e.g. /var/log/{{service}}/*.log"
            )
        regex = []
        for index, part in enumerate(parts):
            if index % 2:
                _check_label_name(part, "path_labels")
                regex.append(f"(?P<{part}>[^/]+?)")
            else:
                # `*` in the literal parts matches within one path segment, like a glob.
                regex.append("[^/]*".join(re.escape(piece) for piece in part.split("*")))
        try:
            # An absolute template matches whole paths; a relative one matches a path's tail.
            anchor = "^" if template.startswith("/") else "(?:^|/)"
            self._regex = re.compile(anchor + "".join(regex) + "$")
        except re.error as exc:
            raise ConfigError(f"path_labels stage: template {template!r}: {exc}") from exc
        self._cache: dict[str, dict[str, str] | None] = {}

    def _labels_for(self, path: str) -> dict[str, str] | None:
        found = self._cache.get(path, False)
        if found is False:
            match = self._regex.search(path)
            found = None if match is None else match.groupdict()
            if len(self._cache) < 10_000:
                self._cache[path] = found
        return found  # type: ignore[return-value]

    def __call__(self, record: LogRecord) -> LogRecord:
        if not record.source:
            return record
        extra = self._labels_for(record.source)
        if not extra:
            return record
        return record.with_labels({**record.labels, **extra})


class MetadataStage(Stage):
    """Copy fields into structured metadata (``{name: field}``): trace IDs, user IDs, pods."""

    kind = "metadata"

    def __init__(self, mapping: Mapping[str, str]) -> None:
        super().__init__()
        self.mapping = dict(mapping)

    def __call__(self, record: LogRecord) -> LogRecord:
        fields = record.fields
        if not fields:
            return record
        metadata: dict[str, str] | None = None
        for name, field in self.mapping.items():
            raw = fields.get(field)
            if raw is None:
                continue
            if metadata is None:
                metadata = dict(record.metadata)
            metadata[name] = field_text(raw)
        if metadata is None:
            return record
        return record.with_metadata(metadata)


class OutputStage(Stage):
    """Replace the line with one field's value (the ``message`` of a CRI or syslog line)."""

    kind = "output"

    def __init__(self, field: str) -> None:
        super().__init__()
        self.field = field

    def __call__(self, record: LogRecord) -> LogRecord:
        value = record.fields.get(self.field)
        if value is None:
            return record
        return record.with_line(field_text(value))


def mapping_from(names: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    """``[a, b]`` → ``{a: a, b: b}``; a mapping is taken as ``{target: field}``."""
    if isinstance(names, Mapping):
        return dict(names)
    return {name: name for name in names}
