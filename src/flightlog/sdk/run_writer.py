"""The background writer of a ``Run``: turns queued records into the run's files.

The caller's hot path (``Run.log_batch``) only appends a tuple to a deque; this writer,
on its own thread, drains the deque every ``flush_interval_secs`` (or sooner when it
grows), runs the processors (redaction), writes each record to the files it belongs to,
updates the running statistics, and hands every ``<name>_metrics.jsonl`` record to the
shipper (so the server gets a run's config, validations and status whatever the stdlib
logging level). Files::

    <name>_main.log       human lines: run lifecycle, config, epochs, milestones, errors
    <name>_training.log   human lines: batches, epochs, validation, progress
    <name>_errors.log     human lines with traceback and context, one block per error
    <name>_metrics.jsonl  one JSON object per metrics record (the machine-readable source)

Non-finite metric values are written as the strings ``"nan"``, ``"inf"``, ``"-inf"``
because JSON has no literal for them and ``null`` would hide a diverging run.

Processors on the per-step path: every processor sees every batch record, except that a
chain of Redactors only is skipped for records it provably leaves unchanged (all
values numbers, no field it hashes, blanks or renames), which keeps the common record
free of a redaction pass. A name is judged once, when first seen.

The queue is bounded (``max_queued_records``, ``DEFAULT_MAX_QUEUED_RECORDS``): when the
writer cannot keep up (a stuck disk), the caller drops the oldest batch records (then,
if only events are left, the oldest events) instead of growing without end or waiting.
The bound is checked every 4096 ``log_batch`` calls, so the queue may exceed it by that
many. Drops are counted (``dropped_records["queue_full"]`` in the summary) and reported
by a ``records_dropped`` WARNING record in the main log and the metrics file (shipped
too) once the writer runs again.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from flightlog.sdk.formatter import _default, format_ts_ns, one_line
from flightlog.sdk.processors import LEVELS, Processor, Redactor, run_processors
from flightlog.sdk.rotating import RotatingFile, RotationPolicy
from flightlog.sdk.stats import RunningStats

__all__ = [
    "DEFAULT_MAX_QUEUED_RECORDS",
    "ERRORS",
    "MAIN",
    "METRICS",
    "QUEUE_FULL",
    "TRAINING",
    "RunWriter",
]

MAIN, TRAINING, ERRORS, METRICS = 1, 2, 4, 8
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_LINE_OPTIONS = _OPTIONS | orjson.OPT_APPEND_NEWLINE
_NON_FINITE = {math.inf: "inf", -math.inf: "-inf"}
_NON_FINITE_TEXT = frozenset({"nan", "inf", "-inf"})
_FOLD_AT = 8192
# About 0.5 KB per queued record of 5 metrics: the queue holds at most ~120 MB.
DEFAULT_MAX_QUEUED_RECORDS = 250_000
QUEUE_FULL = "queue_full"  # drop reason: more records waiting than max_queued_records
# The fields of a batch record that are not metrics.
_RECORD_FIELDS = frozenset({"ts", "event", "run_id", "split", "step", "epoch", "progress"})
_PLAIN_VALUES = (int, float, bool, type(None))


def _metric_value(value: Any) -> Any:
    """A plain JSON-able number for ``value`` (tensors and numpy scalars via ``.item()``)."""
    kind = type(value)
    if kind is float:
        if value != value:
            return "nan"
        return _NON_FINITE.get(value, value)
    if kind is int or kind is bool or kind is str or value is None:
        return value
    item = getattr(value, "item", None)
    if item is not None:
        try:
            return _metric_value(item())
        except (ValueError, RuntimeError, TypeError):
            return str(value)
    return value


def _number(value: Any) -> float | None:
    if type(value) is bool:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return None


class RunWriter:
    """Owns the run's files, its statistics and its writer thread."""

    def __init__(
        self,
        directory: Path,
        name: str,
        run_id: str,
        policy: RotationPolicy | None,
        level: int,
        processors: Sequence[Processor],
        ship: Callable[[Mapping[str, Any], int], None] | None,
        flush_interval_secs: float,
        training_log_every_n_steps: int,
        max_queued_records: int = DEFAULT_MAX_QUEUED_RECORDS,
        time_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if max_queued_records <= 0:
            raise ValueError(
                f"max_queued_records={max_queued_records} must be > 0: "
                f"the default is {DEFAULT_MAX_QUEUED_RECORDS}"
            )
        directory.mkdir(parents=True, exist_ok=True)
        self.paths = {
            MAIN: directory / f"{name}_main.log",
            TRAINING: directory / f"{name}_training.log",
            ERRORS: directory / f"{name}_errors.log",
            METRICS: directory / f"{name}_metrics.jsonl",
        }
        self.policy = policy
        self._files = {kind: RotatingFile(path, policy) for kind, path in self.paths.items()}
        self.run_id = run_id
        self.level = level
        self.processors = tuple(processors)
        self._redactors = tuple(p for p in self.processors if isinstance(p, Redactor))
        self._redacted_names: dict[str, bool] = {}
        self.ship = ship
        self.flush_interval_secs = flush_interval_secs
        self.every = max(1, training_log_every_n_steps)
        self.max_queued_records = max_queued_records
        self._time_ns = time_ns
        # Items: (ts_ns, step, epoch, metrics, progress) per batch; [targets, event, ts_ns].
        self.queue: deque[Any] = deque()
        self.stats: dict[str, RunningStats] = {}
        # Metric name -> pending array of its stats; only names a batch record may be
        # written under without the processors (see ``_new_series``).
        self._train_series: dict[str, Any] = {}
        self.metrics_records = 0
        self.batch_records = 0
        self.dropped: dict[str, int] = {}
        self.write_errors = 0
        self.queue_drops = 0
        self._unreported_queue_drops = 0
        self._shed_lock = threading.Lock()
        self._every_record = len(self._redactors) < len(self.processors) or (
            self._redactors_change_fixed_fields()
        )
        # Re-entrant: Run's SIGTERM handler may finish the run while the main thread drains.
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if any(file.closed for file in self._files.values()):
            self._files = {
                kind: RotatingFile(path, self.policy) for kind, path in self.paths.items()
            }
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="flightlog-run-writer", daemon=True)
        self._thread.start()

    def _redactors_change_fixed_fields(self) -> bool:
        """Whether the Redactors change a batch record's own fields (a ``run_id`` with a secret)."""
        probe = {
            "event": "metrics",
            "run_id": self.run_id,
            "split": "train",
            "step": 0,
            "epoch": 0,
            "progress": {"batch": 0, "total_batches": 0},
        }
        return run_processors(self._redactors, probe, {}) != probe

    def wake(self) -> None:
        """Drain now rather than at the next interval (the queue is getting long).

        Called by ``Run.log_batch`` every 4096 records; past ``max_queued_records`` it
        also sheds the oldest records (the writer is stuck: waiting would stop training).
        """
        self._wake.set()
        if len(self.queue) > self.max_queued_records:
            self.shed()

    def shed(self) -> None:
        """Drop the oldest records beyond ``max_queued_records``, batches first; never waits."""
        if not self._shed_lock.acquire(blocking=False):
            return  # another thread is shedding right now
        try:
            queue = self.queue
            excess = len(queue) - self.max_queued_records
            dropped = 0
            events: list[Any] = []
            while dropped < excess:
                try:
                    item = queue.popleft()
                except IndexError:  # the writer drained meanwhile
                    break
                if type(item) is tuple:
                    dropped += 1
                else:
                    events.append(item)  # events (config, validation, errors) stay
            queue.extendleft(reversed(events))
            while len(queue) > self.max_queued_records:  # nothing but events left
                try:
                    queue.popleft()
                except IndexError:
                    break
                dropped += 1
            self.queue_drops += dropped
            self._unreported_queue_drops += dropped
        finally:
            self._shed_lock.release()

    def drop_counts(self) -> dict[str, int]:
        """Records dropped so far, by reason (processors' reasons and ``queue_full``)."""
        counts = dict(self.dropped)
        if self.queue_drops:
            counts[QUEUE_FULL] = counts.get(QUEUE_FULL, 0) + self.queue_drops
        return counts

    def _report_queue_drops(self, buffers: dict[int, list[bytes]]) -> None:
        with self._shed_lock:
            count, self._unreported_queue_drops = self._unreported_queue_drops, 0
        if not count:
            return
        ts_ns = self._time_ns()
        event = {
            "ts": format_ts_ns(ts_ns),
            "event": "records_dropped",
            "run_id": self.run_id,
            "level": "WARNING",
            "msg": (
                f"dropped the {count} oldest queued records: more than "
                f"{self.max_queued_records} were waiting to be written (is the disk stuck?)"
            ),
            "reason": QUEUE_FULL,
            "dropped": count,
        }
        self._guarded(self._event, [MAIN | METRICS, event, ts_ns], buffers)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_secs)
            self._wake.clear()
            self.drain()

    def drain(self) -> None:
        """Write everything queued so far; safe to call from any thread."""
        with self._lock:
            buffers: dict[int, list[bytes]] = {MAIN: [], TRAINING: [], ERRORS: [], METRICS: []}
            queue = self.queue
            steps: list[tuple[int, Any, Any, dict[str, Any]]] = []
            while queue:
                item = queue.popleft()
                if type(item) is tuple:
                    steps.append(item)
                    continue
                if steps:  # keep file order: the steps queued before this event go first
                    self._guarded(self._batches, steps, buffers)
                    steps = []
                self._guarded(self._event, item, buffers)
            if steps:
                self._guarded(self._batches, steps, buffers)
            if self._unreported_queue_drops:
                self._report_queue_drops(buffers)
            self._fold_large()
            for kind, chunks in buffers.items():
                if chunks:
                    data = b"".join(chunks)
                    try:
                        self._files[kind].write(one_line(data) if kind == METRICS else data)
                    except OSError:
                        self.write_errors += 1

    def _guarded(self, function: Callable[..., None], *args: Any) -> None:
        try:
            function(*args)
        except Exception:  # boundary: one bad record must not stop the run's files
            self.write_errors += 1

    def _record_stats(self, split: str, metrics: Mapping[str, Any]) -> None:
        stats = self.stats
        for name, value in metrics.items():
            number = _number(value)
            if number is None:
                continue
            key = f"{split}/{name}"
            entry = stats.get(key)
            if entry is None:
                entry = stats[key] = RunningStats()
            entry.add(number)

    def _series(self, key: str) -> RunningStats:
        entry = self.stats.get(key)
        if entry is None:
            entry = self.stats[key] = RunningStats()
        return entry

    def _new_series(self, name: str) -> Any:
        """The pending array of ``train/<name>``, or None: records with it need the processors."""
        if self._every_record or self._redacts(name):
            return None
        pending = self._train_series[name] = self._series(f"train/{name}").pending
        return pending

    def _redacts(self, name: str) -> bool:
        """Whether a Redactor changes a number under ``name`` (hashes, blanks or renames it)."""
        known = self._redacted_names.get(name)
        if known is None:
            known = self._redacted_names[name] = any(
                redactor.changes_field(name) for redactor in self._redactors
            )
        return known

    def _batches(
        self,
        items: list[tuple[int, Any, Any, dict[str, Any], dict[str, Any] | None]],
        buffers: dict[int, list[bytes]],
    ) -> None:
        """The per-step path: one dict, one orjson call, one array append per metric."""
        run_id = self.run_id
        series = self._train_series
        dumps = orjson.dumps
        metrics_out = buffers[METRICS].append
        training_out = buffers[TRAINING].append
        human = self.level <= 20
        every = self.every
        ship = self.ship
        written_before = self.batch_records
        for ts_ns, step, epoch, metrics, progress in items:
            record: dict[str, Any] = {
                "ts": format_ts_ns(ts_ns),
                "event": "metrics",
                "run_id": run_id,
                "split": "train",
                "step": step,
                "epoch": epoch,
            }
            if progress is not None:
                record["progress"] = progress
            slow: list[str] | None = None
            for name, raw in metrics.items():
                kind = type(raw)
                # finite floats and ints under a name seen before: the common case
                if (kind is float and raw - raw == 0.0) or kind is int:
                    record[name] = raw
                    pending = series.get(name)
                    if pending is None:
                        pending = self._new_series(name)
                    if pending is not None:
                        pending.append(raw)
                        continue
                else:
                    record[name] = _metric_value(raw)
                if slow is None:
                    slow = []
                slow.append(name)
            names: Any = metrics
            if slow is not None:
                names = self._slow_metrics(record, slow, metrics)
                if names is None:
                    continue
            self.batch_records += 1
            metrics_out(dumps(record, default=_default, option=_LINE_OPTIONS))
            if human and (step is None or step % every == 0):
                text = " ".join(
                    [
                        f"{n}={v:.6g}" if type(v := record.get(n)) is float else f"{n}={v}"
                        for n in names
                    ]
                )
                where = f"epoch={epoch} step={step}"
                if progress is not None:
                    where += f" batch={progress.get('batch')}/{progress.get('total_batches')}"
                training_out(f"{record['ts'][:23]}Z INFO     batch {where} {text}\n".encode())
            if ship is not None:
                ship(record, ts_ns)
        self.metrics_records += self.batch_records - written_before

    def _slow_metrics(
        self, record: dict[str, Any], names: list[str], metrics: Mapping[str, Any]
    ) -> Iterable[str] | None:
        """Run the processors if they may change the record; add the ``names`` to the stats.

        Returns the record's metric names as written (a Redactor may rename one), or
        None when a processor dropped the record.
        """
        written: Iterable[str] = metrics
        if self.processors and (
            self._every_record or any(not self._left_alone(n, record[n]) for n in names)
        ):
            processed = run_processors(self.processors, record, self.dropped)
            if processed is None:
                return None
            record.clear()
            record.update(processed)
            written = [n for n in record if n not in _RECORD_FIELDS]
        for name in names:
            number = _number(record.get(name))
            if number is not None:
                self._series(f"train/{name}").add(number)
        return written

    def _left_alone(self, name: str, value: Any) -> bool:
        """Whether the Redactors return ``value`` under ``name`` as it is."""
        if type(value) is str:
            if value not in _NON_FINITE_TEXT:
                return False
        elif not isinstance(value, _PLAIN_VALUES):
            return False  # a path, a set, an object: written as its text
        return not self._redacts(name)

    def _fold_large(self) -> None:
        for name, pending in self._train_series.items():
            if len(pending) >= _FOLD_AT:
                self.stats[f"train/{name}"].fold()

    def _event(self, item: list[Any], buffers: dict[int, list[bytes]]) -> None:
        targets, event, ts_ns = item
        if self.processors:
            processed = run_processors(self.processors, event, self.dropped)
            if processed is None:
                return
            event = processed
        level_no = LEVELS.get(str(event.get("level", "INFO")), 20)
        if targets & METRICS:
            self.metrics_records += 1
            split = event.get("split")
            metrics = event.get("metrics")
            if split and isinstance(metrics, Mapping):
                self._record_stats(str(split), metrics)
            buffers[METRICS].append(orjson.dumps(event, default=_default, option=_OPTIONS) + b"\n")
            if self.ship is not None:
                self.ship(event, ts_ns)
        if level_no < self.level:
            return
        # One record, one line in the human logs: a message cannot forge extra lines.
        text = str(event.get("msg", "")).replace("\r", "\\r").replace("\n", "\\n")
        head = f"{event['ts'][:23]}Z {event.get('level', 'INFO'):<8} {text}"
        if targets & MAIN:
            buffers[MAIN].append((head + "\n").encode())
        if targets & TRAINING:
            buffers[TRAINING].append((head + "\n").encode())
        if targets & ERRORS:
            lines = [head]
            context = event.get("context")
            if context:
                lines.append("  context: " + orjson.dumps(context, default=_default).decode())
            traceback_text = event.get("traceback")
            if traceback_text:
                lines += ["  " + line for line in str(traceback_text).splitlines()]
            buffers[ERRORS].append(("\n".join(lines) + "\n").encode())

    def stats_snapshot(self) -> dict[str, dict[str, Any]]:
        """Every metric's statistics, consistent with what was written so far."""
        with self._lock:
            return {key: stats.as_dict() for key, stats in sorted(self.stats.items())}

    def close(self, timeout_secs: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_secs)
        self.drain()
        for file in self._files.values():
            file.close()
