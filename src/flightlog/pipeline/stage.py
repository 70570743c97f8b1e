"""What a stage is, and the runner that applies a list of stages to batches of records.

A stage is a callable ``record -> LogRecord | Drop``. A stage that cannot process a record
(a line that looks like JSON but is not) passes it on unchanged and adds one to its
``errors`` attribute; the runner turns those into the ``errors`` counter. The runner is
batch-major: each stage sees the whole batch before the next one runs, so counters are
added once per stage per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry

from flightlog.pipeline.metrics import stage_counters
from flightlog.pipeline.record import Drop, LogRecord, StageResult

__all__ = ["Pipeline", "Stage"]


class Stage:
    """Base of the built-in stages: a ``kind`` name and an ``errors`` tally.

    A stage may also define ``process_batch(records) -> list[LogRecord | Drop]`` when it
    can do a batch cheaper than one record at a time (redaction scans a batch at once).
    """

    kind: str = "stage"

    def __init__(self) -> None:
        self.errors = 0

    def __call__(self, record: LogRecord) -> StageResult:  # pragma: no cover - abstract
        raise NotImplementedError


class Pipeline:
    """An ordered list of stages with received/sent/dropped/errors accounting."""

    def __init__(
        self,
        stages: Sequence[Stage],
        *,
        name: str = "default",
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.stages = tuple(stages)
        self.name = name
        counters = stage_counters(registry)
        self._children = []
        for index, stage in enumerate(self.stages):
            label = f"{index}:{stage.kind}"
            self._children.append(
                (
                    counters.received.labels(name, label),
                    counters.sent.labels(name, label),
                    counters.errors.labels(name, label),
                    lambda reason, _label=label: counters.dropped.labels(name, _label, reason),
                )
            )

    def __len__(self) -> int:
        return len(self.stages)

    def process(self, records: Iterable[LogRecord]) -> list[LogRecord]:
        """Run every stage over ``records``; returns the records that were not dropped."""
        batch = records if isinstance(records, list) else list(records)
        for stage, (received, sent, errors, dropped) in zip(
            self.stages, self._children, strict=True
        ):
            if not batch:
                break
            errors_before = stage.errors
            kept: list[LogRecord] = []
            drops: dict[str, int] = {}
            append = kept.append
            batch_method = getattr(stage, "process_batch", None)
            results = batch_method(batch) if batch_method is not None else map(stage, batch)
            for result in results:
                if type(result) is Drop:
                    drops[result.reason] = drops.get(result.reason, 0) + 1
                else:
                    append(result)  # type: ignore[arg-type]
            received.inc(len(batch))
            sent.inc(len(kept))
            if stage.errors != errors_before:
                errors.inc(stage.errors - errors_before)
            for reason, count in drops.items():
                dropped(reason).inc(count)
            batch = kept
        return batch

    def process_one(self, record: LogRecord) -> StageResult:
        """Run one record through; returns the final record or the first ``Drop``."""
        for stage, (received, sent, errors, dropped) in zip(
            self.stages, self._children, strict=True
        ):
            errors_before = stage.errors
            received.inc()
            result = stage(record)
            if stage.errors != errors_before:
                errors.inc(stage.errors - errors_before)
            if type(result) is Drop:
                dropped(result.reason).inc()
                return result
            sent.inc()
            record = result  # type: ignore[assignment]
        return record
