"""The redaction stage: secrets never leave the agent or reach the store.

Secrets (``flightlog.redaction`` kinds and custom RE2 patterns) are replaced in the line,
in label and structured-metadata values and in string fields; ``hash_fields`` values are
replaced by a salted hash everywhere they appear (the field, a label or metadata entry of
the same name, and the raw value inside the line), so they stay joinable but unreadable.
In a batch the stage scans every text of every record in one RE2 pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flightlog.pipeline.record import EMPTY, LogRecord
from flightlog.pipeline.stage import Stage
from flightlog.redaction import DEFAULT_KINDS, Scrubber, hash_value

__all__ = ["RedactStage"]


class RedactStage(Stage):
    """Replace secrets and hash named fields in every text a record carries."""

    kind = "redact"

    def __init__(
        self,
        kinds: Sequence[str] = DEFAULT_KINDS,
        *,
        patterns: Sequence[str] = (),
        hash_fields: Sequence[str] = (),
        salt: str = "",
    ) -> None:
        super().__init__()
        self.scrubber = Scrubber(kinds, patterns)
        self.hash_fields = tuple(hash_fields)
        self.salt = salt
        self.scrub_fields = True
        """Whether string fields are scrubbed too; ``build_pipeline`` turns it off when no
        later stage can copy a field into the line, a label or metadata (fields are then
        thrown away, and scanning them would double the cost of the stage)."""

    def _hash(self, record: LogRecord) -> LogRecord:
        """Hash the named fields' values in fields, labels, metadata and the line."""
        fields = record.fields
        line = record.line
        labels, metadata = record.labels, record.metadata
        hashed_fields: dict[str, Any] | None = None
        for name in self.hash_fields:
            raw = fields.get(name)
            if raw is None:
                raw = metadata.get(name) or labels.get(name)
                if raw is None:
                    continue
            text = raw if type(raw) is str else str(raw)
            digest = hash_value(text, self.salt)
            if name in fields:
                if hashed_fields is None:
                    hashed_fields = dict(fields)
                hashed_fields[name] = digest
            if name in labels:
                labels = {**labels, name: digest}
            if name in metadata:
                metadata = {**metadata, name: digest}
            if text and text in line:
                line = line.replace(text, digest)
        if (
            hashed_fields is None
            and line is record.line
            and labels is record.labels
            and metadata is record.metadata
        ):
            return record
        return LogRecord(
            record.ts_ns,
            line,
            labels,
            metadata,
            fields if hashed_fields is None else hashed_fields,
            record.source,
        )

    def __call__(self, record: LogRecord) -> LogRecord:
        return self.process_batch([record])[0]

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """Redact a batch with one scan over all of its texts."""
        if self.hash_fields:
            records = [self._hash(record) for record in records]
        texts: list[str] = []
        scrub_fields = self.scrub_fields
        for record in records:
            texts.append(record.line)
            for mapping in (
                record.labels,
                record.metadata,
                record.fields if scrub_fields else EMPTY,
            ):
                if mapping:
                    for value in mapping.values():
                        if type(value) is str:
                            texts.append(value)
        scrubbed = self.scrubber.scrub_many(texts)
        if all(a is b for a, b in zip(texts, scrubbed, strict=True)):
            return records
        out = []
        position = 0
        for record in records:
            line = scrubbed[position]
            changed = line is not texts[position]
            position += 1
            rebuilt: list[Mapping[str, Any]] = []
            for mapping in (
                record.labels,
                record.metadata,
                record.fields if scrub_fields else EMPTY,
            ):
                if not mapping:
                    rebuilt.append(mapping)
                    continue
                new: dict[str, Any] | None = None
                for key, value in mapping.items():
                    if type(value) is str:
                        if scrubbed[position] is not texts[position]:
                            if new is None:
                                new = dict(mapping)
                            new[key] = scrubbed[position]
                        position += 1
                if new is not None:
                    changed = True
                    rebuilt.append(new)
                else:
                    rebuilt.append(mapping)
            if changed:
                fields = rebuilt[2] if scrub_fields else record.fields
                record = LogRecord(
                    record.ts_ns, line, rebuilt[0], rebuilt[1], fields, record.source
                )
            out.append(record)
        return out
