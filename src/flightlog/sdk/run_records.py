"""The records a ``Run`` writes besides batches: event name, message, target files, fields.

Each builder here is a pure function from a call's arguments to one ``RunRecord``; the
``Run`` keeps the state (counts, best so far, timers) and queues what these return. The
field order here is the key order in ``<name>_metrics.jsonl`` (``FORMAT.md``), so a
reader sees the same record whichever call wrote it. Batches (``log_batch``) are not
built here: they are the hot path, queued as tuples and laid out by ``RunWriter``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from flightlog.sdk.formatter import _default, exception_event
from flightlog.sdk.progress import Progress
from flightlog.sdk.run_writer import ERRORS, MAIN, METRICS, TRAINING

__all__ = [
    "RunRecord",
    "epoch_end_record",
    "epoch_start_record",
    "error_record",
    "hyperparameters_record",
    "metrics_record",
    "model_record",
    "operation_end_record",
    "operation_start_record",
    "performance_record",
    "progress_records",
    "run_end_record",
    "run_start_record",
    "system_record",
    "validation_record",
]

# A progress line is written each time an epoch crosses another tenth.
_PROGRESS_STEP_PCT = 10.0


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One record to queue: ``targets`` is a mask of ``run_writer``'s file bits.

    ``echo_level`` is the stdlib level the echo is logged at when it differs from the
    record's own ``level`` (progress lines are INFO in the files, DEBUG on the console).
    """

    event: str
    msg: str
    targets: int
    fields: dict[str, Any]
    level: str = "INFO"
    echo_level: str | None = None


def run_start_record(name: str, run_id: str, config: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        "run_start",
        f"run {name} started (run_id={run_id})",
        MAIN | TRAINING | METRICS,
        {
            "run_name": name,
            "config": config,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "python": platform.python_version(),
        },
    )


def run_end_record(
    name: str, status: str, completed: bool, duration_secs: float, final_metrics: Mapping[str, Any]
) -> RunRecord:
    return RunRecord(
        "run_end",
        f"run {name} {status} after {duration_secs:.1f}s",
        MAIN | TRAINING | METRICS,
        {"status": status, "final_metrics": final_metrics},
        level="INFO" if completed else "ERROR",
    )


def metrics_record(
    metrics: Mapping[str, Any], split: str, step: int | None, epoch: int | None, event: str
) -> RunRecord:
    return RunRecord(
        event,
        f"{split} metrics " + " ".join(f"{k}={v}" for k, v in metrics.items()),
        TRAINING | METRICS,
        {"split": split, "step": step, "epoch": epoch, "metrics": dict(metrics)},
    )


def validation_record(epoch: int, metrics: Mapping[str, Any], is_best: bool) -> RunRecord:
    text = " ".join(
        f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
    )
    # A new best also goes to the main log: it is what a reader of that file looks for.
    return RunRecord(
        "validation",
        f"validation epoch {epoch}: {text}" + (" (best so far)" if is_best else ""),
        TRAINING | METRICS | (MAIN if is_best else 0),
        {"split": "val", "epoch": epoch, "metrics": dict(metrics), "is_best": is_best},
    )


def hyperparameters_record(params: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        "hyperparameters",
        "hyperparameters " + orjson.dumps(dict(params), default=_default).decode(),
        MAIN | METRICS,
        {"params": dict(params)},
    )


def model_record(info: Mapping[str, Any]) -> RunRecord:
    counts = (
        f", {info['total_params']:,} parameters ({info['trainable_params']:,} trainable)"
        if "total_params" in info
        else ""
    )
    return RunRecord("model", f"model {info['class']}{counts}", MAIN | METRICS, {"model": info})


def epoch_start_record(epoch: int, total_epochs: int | None) -> RunRecord:
    of = f"/{total_epochs}" if total_epochs else ""
    return RunRecord(
        "epoch_start",
        f"epoch {epoch}{of} started",
        MAIN | TRAINING,
        {"epoch": epoch, "total_epochs": total_epochs},
    )


def epoch_end_record(
    epoch: int, duration_secs: float | None, metrics: Mapping[str, Any] | None
) -> RunRecord:
    took = f" in {duration_secs:.2f}s" if duration_secs is not None else ""
    return RunRecord(
        "epoch_end",
        f"epoch {epoch} finished{took}",
        MAIN | TRAINING | METRICS,
        {
            "split": "epoch",
            "epoch": epoch,
            "duration_secs": duration_secs,
            "metrics": dict(metrics or {}),
        },
    )


def error_record(
    error: BaseException,
    operation: str | None,
    context: Mapping[str, Any] | None,
    severity: str,
    repeated: bool,
) -> RunRecord:
    """The error with its structured exception, its traceback text and the caller's context."""
    kind = type(error).__qualname__
    where = f" in {operation}" if operation else ""
    return RunRecord(
        "error",
        f"{kind}{where}: {error}",
        MAIN | ERRORS | METRICS,
        {
            "operation": operation,
            "error_type": kind,
            "error_message": str(error),
            "exception": exception_event(type(error), error, error.__traceback__),
            "traceback": "".join(
                traceback.format_exception(type(error), error, error.__traceback__)
            ).rstrip(),
            "context": dict(context or {}),
            "repeated": repeated,
        },
        level=severity.upper(),
    )


def operation_start_record(name: str) -> RunRecord:
    return RunRecord("operation_start", f"{name} started", MAIN, {"operation": name})


def operation_end_record(name: str, duration_secs: float, failed: bool) -> RunRecord:
    how = f"failed after {duration_secs:.3f}s" if failed else f"finished in {duration_secs:.3f}s"
    return RunRecord(
        "operation_end",
        f"{name} {how}",
        MAIN | METRICS,
        {
            "operation": name,
            "duration_secs": duration_secs,
            "status": "failed" if failed else "ok",
        },
        level="ERROR" if failed else "INFO",
    )


def performance_record(batch_time: float, data_time: float | None) -> RunRecord:
    metrics = {"batch_time": batch_time} | (
        {"data_time": data_time} if data_time is not None else {}
    )
    return RunRecord(
        "performance",
        "performance " + " ".join(f"{k}={v:.4f}s" for k, v in metrics.items()),
        METRICS,
        {"split": "perf", "metrics": metrics},
    )


def system_record(sample: Mapping[str, float]) -> RunRecord:
    text = f"memory rss={sample.get('process_rss_gb', 0):.2f}GB cpu={sample.get('cpu_pct', 0):.0f}%"
    return RunRecord("system", text, METRICS, {"split": "system", "metrics": dict(sample)})


def progress_records(
    previous: Progress | None,
    state: Progress,
    epoch: int,
    batch: int,
    total_epochs: int,
) -> list[RunRecord]:
    """What one progress update writes: a line per tenth of an epoch, one per new milestone."""
    crossed = (
        previous is None
        or previous.epoch != epoch
        or int(state.epoch_pct // _PROGRESS_STEP_PCT)
        != int(previous.epoch_pct // _PROGRESS_STEP_PCT)
    )
    eta = (
        f", ETA {dt.timedelta(seconds=round(state.eta_secs))}" if state.eta_secs is not None else ""
    )
    rate = f", {state.batches_per_sec:.1f} batches/s" if state.batches_per_sec else ""
    records: list[RunRecord] = []
    if crossed:
        records.append(
            RunRecord(
                "progress",
                f"epoch {epoch}/{total_epochs} {state.epoch_pct:.0f}% | overall {state.overall_pct:.1f}%{rate}{eta}",
                TRAINING,
                {
                    "epoch": epoch,
                    "batch": batch,
                    "epoch_pct": state.epoch_pct,
                    "overall_pct": state.overall_pct,
                    "batches_per_sec": state.batches_per_sec,
                    "eta_secs": state.eta_secs,
                },
                echo_level="DEBUG",
            )
        )
    for milestone in state.new_milestones:
        records.append(
            RunRecord(
                "milestone",
                f"milestone: {milestone}% of training done{eta}",
                MAIN | TRAINING | METRICS,
                {
                    "milestone_pct": milestone,
                    "epoch": epoch,
                    "batch": batch,
                    "batches_per_sec": state.batches_per_sec,
                    "eta_secs": state.eta_secs,
                },
            )
        )
    return records
