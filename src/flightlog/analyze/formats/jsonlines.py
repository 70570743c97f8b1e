"""JSON-lines logs: flightlog's own ``*_metrics.jsonl`` and any JSON-per-line log.

A line is a metrics record when it is a JSON object with numeric fields. Recognised keys:

- position: ``step`` (or ``global_step``, ``iter``, ``iteration``), ``epoch``;
- time: ``time``, ``ts``, ``timestamp`` or ``ts_ns`` — seconds, milli/micro/nanoseconds
  (told apart by magnitude) or an ISO-8601 string;
- ``split`` (``"val"``...) applies to every metric of the record; otherwise key prefixes
  (``val_loss``) give the split;
- ``run_id`` (or ``run``) names the run, so one file can hold several runs;
- ``event``: records with an ``event`` other than ``metrics``/``eval`` are not curves
  (they are log lines; their text is still scanned for error signatures);
- a nested ``metrics`` object is flattened;
- ``"nan"``, ``"inf"``, ``"-inf"`` strings are the non-finite values (as the SDK writes them).

Records without a step get the last step seen in their run (an SDK ``validation`` event
after the training steps), or their ordinal (1, 2, 3...) when the run logs no steps.
``add_record`` is shared with ``flightlog.analyze.analyze_records``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

import orjson

from flightlog.analyze.formats.base import FormatParser
from flightlog.analyze.table import RunBuilder, RunTable

__all__ = ["JsonLinesParser", "RecordSink"]

_STEP_KEYS = ("step", "global_step", "iter", "iteration", "trainer/global_step")
_TIME_KEYS = ("time", "ts", "timestamp", "ts_ns", "_timestamp")
_RUN_KEYS = ("run_id", "run")
_NON_FINITE = frozenset({"nan", "inf", "-inf", "+inf", "infinity", "-infinity"})
_METRIC_EVENTS = frozenset({"metrics", "metric", "eval", "evaluation", "validation", "test"})
_NOT_METRICS = frozenset(
    {
        *_STEP_KEYS,
        *_TIME_KEYS,
        *_RUN_KEYS,
        "epoch",
        "split",
        "event",
        "pid",
        "tid",
        "rank",
        "local_rank",
        "world_size",
        "lineno",
        "line",
        "seed",
        "port",
        "thread",
        "process",
    }
)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            return None
        if number > 1e17:
            return number / 1e9
        if number > 1e14:
            return number / 1e6
        if number > 1e11:
            return number / 1e3
        return number
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    return None


class RecordSink:
    """Turns metric records (mappings) into runs; one ``RunBuilder`` per run id."""

    def __init__(
        self, run_name: str = "run", by_run_id: bool = True, split_restarts: bool = True
    ) -> None:
        self.run_name = run_name
        self.by_run_id = by_run_id
        self.split_restarts = split_restarts
        self.builders: dict[str | None, RunBuilder] = {
            None: RunBuilder(run_name, split_restarts=split_restarts)
        }
        self._ordinals: dict[str | None, int] = {}
        self._stepped: set[str | None] = set()
        self.last_builder = self.builders[None]

    def add_record(self, record: Mapping[str, Any]) -> bool:
        """Record the numeric fields of one record; False when it holds no metric."""
        event = record.get("event")
        if isinstance(event, str) and event not in _METRIC_EVENTS:
            return False
        run_key: str | None = None
        for key in _RUN_KEYS if self.by_run_id else ():
            value = record.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                run_key = str(value)
                break
        builder = self.builders.get(run_key)
        if builder is None:
            builder = self.builders[run_key] = RunBuilder(
                run_key or self.run_name, split_restarts=self.split_restarts
            )
        self.last_builder = builder
        fields: dict[str, float] = {}
        for key, value in record.items():
            if key in _NOT_METRICS:
                continue
            if isinstance(value, Mapping) and key in ("metrics", "data", "values"):
                for inner_key, inner in value.items():
                    if isinstance(inner, int | float) and not isinstance(inner, bool):
                        fields[str(inner_key)] = float(inner)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                fields[key] = float(value)
            elif isinstance(value, str) and value.lower() in _NON_FINITE:
                fields[key] = float(value)  # the SDK writes NaN/inf as strings (JSON has none)
        if not fields:
            return False
        step: int | None = None
        for key in _STEP_KEYS:
            value = record.get(key)
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                step = int(value)
                break
        if step is None:
            # after stepped records (an SDK "validation" event), the last step seen;
            # in a log without steps, the record's ordinal
            last = self._ordinals.get(run_key, 0)
            step = last if run_key in self._stepped else last + 1
        else:
            self._stepped.add(run_key)
        self._ordinals[run_key] = step
        raw_epoch = record.get("epoch")
        epoch = (
            float(raw_epoch)
            if isinstance(raw_epoch, int | float) and not isinstance(raw_epoch, bool)
            else None
        )
        time = None
        for key in _TIME_KEYS:
            if key in record:
                time = _seconds(record[key])
                if time is not None:
                    break
        split = record.get("split")
        forced_split = split if isinstance(split, str) and split else None
        builder.check_step(step)
        for key, value in fields.items():
            builder.add(key, value, step, epoch, time, split=forced_split)
        return True

    def finish(self, line_count: int = 0) -> list[RunTable]:
        runs: list[RunTable] = []
        for builder in self.builders.values():
            runs.extend(builder.finish(line_count))
        return runs


class JsonLinesParser(FormatParser):
    name = "jsonl"
    description = "JSON lines, including flightlog's own *_metrics.jsonl"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self.sink = RecordSink(run_name)

    @classmethod
    def score(cls, sample: str) -> float:
        lines = [line for line in sample.splitlines()[:200] if line.strip()]
        if not lines:
            return 0.0
        objects = 0
        numeric = 0
        for line in lines:
            stripped = line.strip()
            if not stripped.startswith("{"):
                continue
            try:
                value = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                objects += 1
                if any(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
                ):
                    numeric += 1
        if not numeric:
            return 0.0
        return 0.3 + 0.65 * objects / len(lines)

    @property
    def last_step(self) -> int | None:
        return self.sink.last_builder._last_step

    @property
    def current_run(self) -> str:
        return self.sink.last_builder.current.run

    @property
    def progress_count(self) -> int:
        return sum(
            max(map(len, run.series.values()), default=0)
            for builder in self.sink.builders.values()
            for run in builder.runs
        )

    def _feed(self, text: str) -> None:
        loads = orjson.loads
        add = self.sink.add_record
        for line in text.split("\n"):
            if not line or line[0] != "{":
                line = line.strip()
                if not line.startswith("{"):
                    continue
            try:
                record = loads(line)
            except orjson.JSONDecodeError:
                try:  # Python's json module writes NaN/Infinity, which orjson rejects
                    record = json.loads(line)
                except ValueError:
                    continue
            if isinstance(record, dict):
                add(record)

    def finish(self) -> list[RunTable]:
        return self.sink.finish(self.lines)
