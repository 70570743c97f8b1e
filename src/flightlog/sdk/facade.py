"""``AdvancedLogger`` and ``TrainingProgressTracker``: the seed guide's API, built on ``Run``.

The "Advanced Logging System Guide" (our users' request) names these classes, methods and
arguments; its usage examples run unchanged against them. Everything is delegated to a
``Run`` (``advanced_logger.run``), which is the primary API for new code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flightlog.sdk.progress import Progress
from flightlog.sdk.rotating import RotationPolicy
from flightlog.sdk.run import Run, RunStatus
from flightlog.sdk.run_writer import MAIN, METRICS, TRAINING

__all__ = ["AdvancedLogger", "ErrorLog", "TrainingMetrics", "TrainingProgressTracker"]


@dataclass
class TrainingMetrics:
    """One batch's metrics, as the guide's dataclass defines them."""

    epoch: int
    batch: int
    total_batches: int
    loss: float
    accuracy: float | None = None
    learning_rate: float | None = None
    gradient_norm: float | None = None
    memory_usage: dict[str, float] | None = None
    batch_time: float | None = None
    data_time: float | None = None
    timestamp: dt.datetime | None = None


@dataclass
class ErrorLog:
    """One error, as the guide's dataclass defines it."""

    error_type: str
    error_message: str
    operation: str
    timestamp: dt.datetime
    traceback: str
    context: dict[str, Any]
    severity: str = "ERROR"


_EMPTY_STATS = {"count": 0, "min": 0.0, "max": 0.0, "mean": 0.0, "std": 0.0}


class AdvancedLogger:
    """The guide's logger: main/training/errors/metrics files, summaries, rotation."""

    def __init__(
        self,
        log_dir: str | os.PathLike[str] = "logs",
        experiment_name: str = "experiment",
        log_level: int = logging.INFO,
        max_log_files: int = 10,
        max_log_size: int = 10 * 1024 * 1024,
        **run_options: Any,
    ) -> None:
        rotation = RotationPolicy(max_bytes=max_log_size, backup_count=max_log_files)
        self.log_dir = log_dir
        self.experiment_name = experiment_name
        run_options.setdefault("training_log_every_n_steps", 1)  # the guide logs every batch
        self.run = Run(
            experiment_name, dir=log_dir, level=log_level, rotation=rotation, **run_options
        )
        self.error_logs: list[ErrorLog] = []

    # -- training lifecycle ------------------------------------------------------------
    def start_training(self, config: Mapping[str, Any]) -> None:
        self.run.config.update(config)
        self.run._emit(
            "training_start",
            "training started with config " + ", ".join(f"{k}={v}" for k, v in config.items()),
            MAIN | TRAINING | METRICS,
            config=dict(config),
        )

    def end_training(self, final_metrics: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.run.finish(RunStatus.COMPLETED, final_metrics)

    def close(self) -> None:
        self.run.finish(RunStatus.COMPLETED)

    def start_epoch(self, epoch: int, total_epochs: int | None = None) -> None:
        self.run.start_epoch(epoch, total_epochs)

    def end_epoch(self, epoch: int, metrics: Mapping[str, Any] | None = None) -> None:
        self.run.end_epoch(epoch, metrics)

    # -- records -----------------------------------------------------------------------
    def log_hyperparameters(self, hyperparams: Mapping[str, Any]) -> None:
        self.run.log_hyperparameters(hyperparams)

    def log_model_info(self, model: Any) -> dict[str, Any]:
        return self.run.log_model_info(model)

    def log_batch_progress(
        self,
        epoch: int,
        batch: int,
        total_batches: int,
        loss: float,
        accuracy: float | None = None,
        learning_rate: float | None = None,
        gradient_norm: float | None = None,
        **extra: Any,
    ) -> None:
        metrics: dict[str, Any] = {"loss": loss}
        if accuracy is not None:
            metrics["accuracy"] = accuracy
        if learning_rate is not None:
            metrics["learning_rate"] = learning_rate
        if gradient_norm is not None:
            metrics["gradient_norm"] = gradient_norm
        metrics.update(extra)
        step = (epoch - 1) * total_batches + batch
        # batch and total_batches say where the step is, like step and epoch: they go
        # in the record's ``progress`` object, not among the metrics (no curve, no stats).
        self.run._log_batch_progress(
            step, epoch, {"batch": batch, "total_batches": total_batches}, metrics
        )

    def log_training_metrics(self, metrics: TrainingMetrics) -> None:
        """Log a ``TrainingMetrics`` value (timestamp and memory dict are left out)."""
        fields = {
            k: v
            for k, v in dataclasses.asdict(metrics).items()
            if v is not None
            and k not in ("timestamp", "memory_usage", "epoch", "batch", "total_batches", "loss")
        }
        self.log_batch_progress(
            metrics.epoch, metrics.batch, metrics.total_batches, metrics.loss, **fields
        )

    def log_validation(
        self, epoch: int, metrics: Mapping[str, Any], is_best: bool | None = None
    ) -> bool:
        return self.run.log_validation(epoch, metrics, is_best)

    def log_error(
        self,
        error: BaseException,
        operation: str = "unknown",
        context: Mapping[str, Any] | None = None,
        severity: str = "ERROR",
    ) -> ErrorLog:
        record = self.run.log_error(error, operation, context, severity)
        entry = ErrorLog(
            error_type=record["error_type"],
            error_message=record["error_message"],
            operation=operation,
            timestamp=dt.datetime.now(dt.UTC),
            traceback=record["traceback"],
            context=dict(context or {}),
            severity=severity,
        )
        self.error_logs.append(entry)
        return entry

    @contextmanager
    def training_context(self, operation: str, **context: Any) -> Iterator[None]:
        with self.run.operation(operation, **context):
            yield

    def log_memory_usage(self) -> dict[str, float]:
        return self.run.log_system_metrics()

    def log_performance_metrics(self, batch_time: float, data_time: float | None = None) -> None:
        self.run.log_performance(batch_time, data_time)

    # -- summaries ---------------------------------------------------------------------
    def get_training_summary(self) -> dict[str, Any]:
        """The guide's summary keys (``total_metrics``, ``loss_stats``, ...) plus the run's."""
        summary = self.run.summary()
        duration = dt.timedelta(seconds=int(summary["duration_secs"]))
        stats = summary["metrics"]
        return {
            "total_metrics": summary["counts"]["metrics_records"],
            "total_errors": summary["counts"]["errors"],
            "training_duration": str(duration),
            "loss_stats": stats.get("train/loss") or dict(_EMPTY_STATS),
            "accuracy_stats": stats.get("train/accuracy") or dict(_EMPTY_STATS),
            "error_counts": summary["errors_by_type"],
            **{k: v for k, v in summary.items() if k not in ("metrics",)},
            "metric_stats": stats,
        }


class TrainingProgressTracker:
    """The guide's progress tracker: epoch/overall percentage, milestones, throughput, ETA."""

    def __init__(self, logger: AdvancedLogger | Run) -> None:
        self.run = logger.run if isinstance(logger, AdvancedLogger) else logger
        self.last: Progress | None = None

    def update_progress(
        self, epoch: int, batch: int, total_batches: int, total_epochs: int
    ) -> Progress:
        self.last = self.run.progress(epoch, batch, total_batches, total_epochs)
        return self.last
