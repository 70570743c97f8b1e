"""``Run``: one training run's logging, from the first config to the final summary.

    with flightlog.Run("resnet", config={"lr": 1e-3}, dir="logs") as run:
        for epoch in range(1, 11):
            run.start_epoch(epoch, total_epochs=10)
            for step, batch in enumerate(loader):
                ...
                run.log_batch(step=step, epoch=epoch, loss=loss, accuracy=acc)
            run.log_validation(epoch, {"loss": val_loss, "accuracy": val_acc})

``log_batch`` is the hot path: it appends one tuple to a deque and returns; the
``RunWriter`` thread does the rest (see ``run_writer``). The deque holds at most
``max_queued_records`` records (about 0.5 KB each with 5 metrics): if the writer cannot
keep up (a stuck disk), the oldest are dropped, counted and reported, and the training
loop never waits. Every other call builds its record at once (``run_records``), queues it
for the files and also logs it through the stdlib logger ``flightlog.run.<name>`` so that
``flightlog.configure()``'s console sees it. Shipping does not depend on that echo: the
writer ships every ``<name>_metrics.jsonl`` record itself (batches, config, validations,
status, errors), whatever the stdlib level, and the echo of such a record is not shipped
again. While the run is entered, ``run_id`` is bound in the log context
(``flightlog.bind``). ``<name>_summary.json`` is written when the run ends, also when it
dies of an exception (``run_summary``).

This module holds the ``Run`` class (its state and lifecycle); what each record looks
like is in ``run_records``, the best-so-far rule in ``best_metric``, SIGTERM handling in
``preemption`` and the status constants in ``run_status`` (re-exported here).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from flightlog.sdk.best_metric import improves, monitored_metric
from flightlog.sdk.clock import Clock, SystemClock
from flightlog.sdk.configure import active_configuration
from flightlog.sdk.context import _context, bind
from flightlog.sdk.formatter import SHIPPED_ATTR, STANDARD_ATTRS, format_ts_ns
from flightlog.sdk.model_info import describe_model
from flightlog.sdk.preemption import install_sigterm_handler
from flightlog.sdk.processors import LevelFilter, Processor, Redactor, Sampler
from flightlog.sdk.progress import Progress, ProgressTracker
from flightlog.sdk.rotating import RotationPolicy
from flightlog.sdk.run_records import (
    RunRecord,
    epoch_end_record,
    epoch_start_record,
    error_record,
    hyperparameters_record,
    metrics_record,
    model_record,
    operation_end_record,
    operation_start_record,
    performance_record,
    progress_records,
    run_end_record,
    run_start_record,
    system_record,
    validation_record,
)
from flightlog.sdk.run_status import RunStatus
from flightlog.sdk.run_summary import write_summary
from flightlog.sdk.run_writer import DEFAULT_MAX_QUEUED_RECORDS, METRICS, RunWriter
from flightlog.sdk.shipper import event_to_entry
from flightlog.sdk.system_metrics import SystemMonitor, sample_system_metrics

__all__ = ["Run", "RunStatus"]

_WAKE_MASK = 4096 - 1


def _new_run_id(name: str, now_ns: int) -> str:
    stamp = dt.datetime.fromtimestamp(now_ns / 1e9, dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{name}-{stamp}-{secrets.token_hex(3)}"


class Run:
    """A training run's logger; see the module docstring."""

    def __init__(
        self,
        name: str,
        config: Mapping[str, Any] | None = None,
        dir: str | os.PathLike[str] = "logs",
        *,
        run_id: str | None = None,
        level: int = logging.INFO,
        rotation: RotationPolicy | None = None,
        monitor: str | None = None,
        system_metrics_interval_secs: float | None = None,
        flush_interval_secs: float = 0.5,
        training_log_every_n_steps: int = 10,
        max_queued_records: int = DEFAULT_MAX_QUEUED_RECORDS,
        processors: tuple[Processor, ...] | None = None,
        console: bool = False,
        handle_sigterm: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if not name or "/" in name or "\\" in name:
            raise ValueError(f"run name {name!r} must be non-empty and contain no path separator")
        self.name = name
        self.clock: Clock = clock or SystemClock()
        self.config: dict[str, Any] = dict(config or {})
        self.dir = Path(dir).absolute()  # atexit may run after a chdir
        self.run_id = run_id or _new_run_id(name, self.clock.time_ns())
        self.level = level
        self.monitor = monitor
        self.status = RunStatus.RUNNING
        active = active_configuration()
        if processors is None:
            # A run's records are its metrics, the source of its curves and summary: the
            # configured sampling and level filter thin log events, never those records.
            processors = (
                tuple(p for p in active.processors if not isinstance(p, Sampler | LevelFilter))
                if active is not None
                else (Redactor(),)
            )
        ship = None
        self._shipper = active.shipper if active is not None else None
        if active is not None and active.shipper is not None:
            shipper, labels = active.shipper, {**active.labels, "run_id": self.run_id}

            def ship(record: Mapping[str, Any], ts_ns: int) -> None:
                shipper.submit(event_to_entry(record, labels, ts_ns))

        # The summary is no event stream: only redaction (not sampling) applies to it.
        self._redactors = tuple(p for p in processors if isinstance(p, Redactor))
        self._writer = RunWriter(
            self.dir,
            name,
            self.run_id,
            rotation,
            level,
            processors,
            ship,
            flush_interval_secs,
            training_log_every_n_steps,
            max_queued_records,
            self.clock.time_ns,
        )
        self._queue = self._writer.queue
        self._time_ns = self.clock.time_ns
        self.logger = logging.getLogger(f"flightlog.run.{name}")
        self._console: logging.Handler | None = None
        if console:
            self._console = logging.StreamHandler(sys.stdout)
            self._console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            self.logger.addHandler(self._console)
        self.hyperparameters: dict[str, Any] = {}
        self.model_info: dict[str, Any] | None = None
        self.errors_by_type: dict[str, int] = {}
        self.epochs_started = 0
        self.epochs_completed = 0
        self.validations = 0
        self.best: dict[str, Any] | None = None
        self.final_metrics: dict[str, Any] = {}
        self._epoch_started: dict[int, float] = {}
        self._started_ns = self.clock.time_ns()
        self._started_mono = self.clock.monotonic()
        self._ended_ns: int | None = None
        self._progress = ProgressTracker(self._started_mono)
        self._interval = system_metrics_interval_secs
        self._system: SystemMonitor | None = None
        self._context_token: Any = None
        self._open = False
        self._status_at_exit = RunStatus.ABORTED
        self.summary_path = self.dir / f"{name}_summary.json"
        self._handle_sigterm = handle_sigterm
        self.paths = dict(
            zip(("main", "training", "errors", "metrics"), self._writer.paths.values(), strict=True)
        )
        self.start()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer (and system metrics); called by the constructor."""
        if self._open:
            return
        self._open = True
        self._writer.start()
        atexit.register(self._at_exit)
        self._emit_record(run_start_record(self.name, self.run_id, self.config))
        # The files show the run at once, even if the process dies before the first flush.
        self._writer.drain()
        if self._interval is not None:
            self._system = SystemMonitor(self._interval, self._system_sample)
            self._system.start()
        if self._handle_sigterm:
            self._install_sigterm_handler()

    def _install_sigterm_handler(self) -> None:
        """On SIGTERM (SLURM/Kubernetes preemption) write the summary, then die of the signal."""
        install_sigterm_handler(lambda: self.finish(RunStatus.TERMINATED))

    def __enter__(self) -> Run:
        self._context_token = bind(run_id=self.run_id)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            status = (
                RunStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
            )
            self.log_error(exc, operation="run", severity="CRITICAL")
            self.finish(status)
        else:
            self.finish(RunStatus.COMPLETED)
        if self._context_token is not None:
            _context.reset(self._context_token)
            self._context_token = None

    def _at_exit(self) -> None:
        if self._open:
            self.finish(self._status_at_exit)

    def _reopen(self) -> None:
        """Logging after ``finish()`` reopens the files; the summary is rewritten at exit."""
        self._open = True
        self._status_at_exit = self.status
        self._writer.start()
        atexit.register(self._at_exit)

    def finish(
        self, status: str = RunStatus.COMPLETED, final_metrics: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """End the run: flush the files, write ``<name>_summary.json``, return the summary."""
        if not self._open:
            return self.summary()
        if final_metrics:
            self.final_metrics.update(final_metrics)
        if self._system is not None:
            self._system.stop()
        self.status = status
        self._ended_ns = self.clock.time_ns()
        self._emit_record(
            run_end_record(
                self.name,
                status,
                status == RunStatus.COMPLETED,
                self._duration_secs(),
                self.final_metrics,
            )
        )
        self._open = False
        self._writer.close()
        summary = write_summary(self.summary_path, self.summary(), self._redactors)
        atexit.unregister(self._at_exit)
        if self._console is not None:
            self.logger.removeHandler(self._console)
        return summary

    def flush(self) -> None:
        """Write everything logged so far to the files now."""
        self._writer.drain()

    # -- records -----------------------------------------------------------------------
    def _emit(
        self,
        event: str,
        msg: str,
        targets: int,
        level: str = "INFO",
        echo_level: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Queue a record for the files (and shipping) and echo it to the stdlib logger."""
        now_ns = self.clock.time_ns()
        record: dict[str, Any] = {
            "ts": format_ts_ns(now_ns),
            "event": event,
            "run_id": self.run_id,
            "level": level,
            "msg": msg,
        }
        record.update(fields)
        if not self._open:
            self._reopen()
        self._queue.append([targets, record, now_ns])
        level_no = logging.getLevelName(echo_level or level)
        if isinstance(level_no, int) and self.logger.isEnabledFor(level_no):
            extra = {
                k: v
                for k, v in record.items()
                if k not in STANDARD_ATTRS and k not in ("ts", "msg", "level")
            }
            if targets & METRICS and self._shipper is not None:
                extra[SHIPPED_ATTR] = self._shipper  # the writer ships it: not twice
            self.logger.log(level_no, msg, extra=extra)
        return record

    def _emit_record(self, record: RunRecord) -> dict[str, Any]:
        """``_emit`` for a record built by ``run_records``."""
        return self._emit(
            record.event,
            record.msg,
            record.targets,
            record.level,
            record.echo_level,
            **record.fields,
        )

    def log_batch(self, step: int | None = None, epoch: int | None = None, **metrics: Any) -> None:
        """Record one training step's metrics (hot path: one deque append)."""
        queue = self._queue
        queue.append((self._time_ns(), step, epoch, metrics, None))
        if not len(queue) & _WAKE_MASK:  # every 4096 queued: wake the writer once, not per call
            self._writer.wake()

    def _log_batch_progress(
        self,
        step: int | None,
        epoch: int | None,
        progress: dict[str, Any],
        metrics: dict[str, Any],
    ) -> None:
        """``log_batch`` with position fields (``batch``, ``total_batches``) that are no metrics.

        They are written as the record's ``progress`` object, so no reader takes them
        for a metric curve.
        """
        queue = self._queue
        queue.append((self._time_ns(), step, epoch, metrics, progress))
        if not len(queue) & _WAKE_MASK:
            self._writer.wake()

    def log_metrics(
        self,
        metrics: Mapping[str, Any],
        *,
        split: str = "train",
        step: int | None = None,
        epoch: int | None = None,
        event: str = "metrics",
    ) -> None:
        """Record named metrics of any split (``"val"``, ``"test"``, ...) as one record."""
        self._emit_record(metrics_record(metrics, split, step, epoch, event))

    def log_validation(
        self, epoch: int, metrics: Mapping[str, Any], is_best: bool | None = None
    ) -> bool:
        """Record validation results; tracks the best so far (by ``monitor``, else loss/accuracy)."""
        self.validations += 1
        metric = monitored_metric(self.monitor, metrics)
        if is_best is None and metric is not None and metric in metrics:
            best_value = None if self.best is None else self.best["metrics"].get(metric)
            is_best = improves(metric, metrics[metric], best_value)
        is_best = bool(is_best)
        if is_best:
            self.best = {"epoch": epoch, "metrics": dict(metrics), "metric": metric}
        self._emit_record(validation_record(epoch, metrics, is_best))
        return is_best

    def log_hyperparameters(self, params: Mapping[str, Any]) -> None:
        self.hyperparameters.update(params)
        self._emit_record(hyperparameters_record(params))

    def log_model_info(self, model: Any, **extra: Any) -> dict[str, Any]:
        info = {**describe_model(model), **extra}
        self.model_info = info
        self._emit_record(model_record(info))
        return info

    def start_epoch(self, epoch: int, total_epochs: int | None = None) -> None:
        self.epochs_started += 1
        self._epoch_started[epoch] = self.clock.monotonic()
        self._emit_record(epoch_start_record(epoch, total_epochs))

    def end_epoch(self, epoch: int, metrics: Mapping[str, Any] | None = None) -> None:
        self.epochs_completed += 1
        started = self._epoch_started.pop(epoch, None)
        duration = self.clock.monotonic() - started if started is not None else None
        self._emit_record(epoch_end_record(epoch, duration, metrics))

    def log_error(
        self,
        error: BaseException,
        operation: str | None = None,
        context: Mapping[str, Any] | None = None,
        severity: str = "ERROR",
    ) -> dict[str, Any]:
        """Record an error with its structured exception, traceback and context."""
        kind = type(error).__qualname__
        # The same exception logged again (by an operation, then by the caller's except
        # block) is written with its new context but counted once.
        repeated = getattr(error, "_flightlog_logged", None) == self.run_id
        if not repeated:
            self.errors_by_type[kind] = self.errors_by_type.get(kind, 0) + 1
            try:
                error._flightlog_logged = self.run_id  # type: ignore[attr-defined]
            except AttributeError:  # exceptions with __slots__ cannot be marked
                pass
        return self._emit_record(error_record(error, operation, context, severity, repeated))

    @contextmanager
    def operation(self, name: str, **context: Any) -> Iterator[None]:
        """Time a named operation; log start, end and duration; record (and re-raise) errors."""
        self._emit_record(operation_start_record(name))
        started = self.clock.monotonic()
        try:
            yield
        except BaseException as exc:
            duration = self.clock.monotonic() - started
            self.log_error(exc, operation=name, context={**context, "duration_secs": duration})
            self._emit_record(operation_end_record(name, duration, failed=True))
            raise
        duration = self.clock.monotonic() - started
        self._emit_record(operation_end_record(name, duration, failed=False))

    def log_performance(self, batch_time: float, data_time: float | None = None) -> None:
        self._emit_record(performance_record(batch_time, data_time))

    def log_system_metrics(self) -> dict[str, float]:
        """Sample memory/CPU/GPU once now and record it."""
        sample = sample_system_metrics()
        self._system_sample(sample)
        return sample

    def _system_sample(self, sample: Mapping[str, float]) -> None:
        self._emit_record(system_record(sample))

    def progress(self, epoch: int, batch: int, total_batches: int, total_epochs: int) -> Progress:
        """Update progress; logs each 10 % of an epoch and the 25/50/75/90/100 % milestones."""
        previous = self._progress.last
        state = self._progress.update(
            epoch, batch, total_batches, total_epochs, self.clock.monotonic()
        )
        for record in progress_records(previous, state, epoch, batch, total_epochs):
            self._emit_record(record)
        return state

    # -- summary -----------------------------------------------------------------------
    def _duration_secs(self) -> float:
        end = self._ended_ns if self._ended_ns is not None else self.clock.time_ns()
        return (end - self._started_ns) / 1e9

    def summary(self) -> dict[str, Any]:
        """Counts, duration, per-metric min/max/mean/std, errors by type, status."""
        if self._queue and not self._open:
            self._reopen()  # log_batch after finish(): keep those records too
        if self._open:
            self._writer.drain()
        writer = self._writer
        return {
            "name": self.name,
            "run_id": self.run_id,
            "status": self.status,
            "started_at": format_ts_ns(self._started_ns),
            "ended_at": format_ts_ns(self._ended_ns) if self._ended_ns is not None else None,
            "duration_secs": self._duration_secs(),
            "config": self.config,
            "hyperparameters": self.hyperparameters,
            "model": self.model_info,
            "counts": {
                "metrics_records": writer.metrics_records,
                "batches": writer.batch_records,
                "epochs_started": self.epochs_started,
                "epochs_completed": self.epochs_completed,
                "validations": self.validations,
                "errors": sum(self.errors_by_type.values()),
            },
            "metrics": writer.stats_snapshot(),
            "best": self.best,
            "final_metrics": self.final_metrics,
            "errors_by_type": dict(self.errors_by_type),
            "dropped_records": writer.drop_counts(),
            "write_errors": writer.write_errors,
            "files": {kind: str(path) for kind, path in self.paths.items()},
        }
