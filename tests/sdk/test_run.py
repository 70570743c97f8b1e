"""Run: the files it writes, their contents, the summary, progress, errors, timing."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

import flightlog
from flightlog.sdk.processors import Redactor
from flightlog.sdk.run import RunStatus
from flightlog.sdk.shipper import ShipperConfig
from flightlog.testing import FakeClock, RecordingServer, capture_records


def _jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _train(run: flightlog.Run, clock: FakeClock, epochs: int = 2, batches: int = 4) -> None:
    for epoch in range(1, epochs + 1):
        run.start_epoch(epoch, epochs)
        for batch in range(1, batches + 1):
            clock.advance(0.5)
            step = (epoch - 1) * batches + batch
            run.log_batch(step=step, epoch=epoch, loss=1.0 / step, accuracy=step / 10)
            run.progress(epoch, batch, batches, epochs)
        run.log_validation(epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + epoch / 10})
        run.end_epoch(epoch, {"loss": 1.0 / epoch})


def test_run_writes_the_five_files(tmp_path: Path) -> None:
    """A finished run leaves main, training, errors, metrics and summary files."""
    clock = FakeClock()
    with flightlog.Run("exp", config={"lr": 0.1}, dir=tmp_path, clock=clock) as run:
        _train(run, clock)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "exp_errors.log",
        "exp_main.log",
        "exp_metrics.jsonl",
        "exp_summary.json",
        "exp_training.log",
    ]


def test_metrics_jsonl_has_one_object_per_record(tmp_path: Path) -> None:
    """Each log_batch is one line with event, run_id, split, step, epoch, ts and metrics."""
    clock = FakeClock()
    with flightlog.Run("exp", dir=tmp_path, clock=clock, run_id="r1") as run:
        _train(run, clock, epochs=1, batches=3)
    records = _jsonl(tmp_path / "exp_metrics.jsonl")
    batches = [r for r in records if r["event"] == "metrics"]
    assert [b["step"] for b in batches] == [1, 2, 3]
    assert batches[0] == {
        "ts": flightlog.sdk.formatter.format_ts_ns(clock.time_ns() - int(1.0e9)),
        "event": "metrics",
        "run_id": "r1",
        "split": "train",
        "step": 1,
        "epoch": 1,
        "loss": 1.0,
        "accuracy": 0.1,
    }
    validation = next(r for r in records if r["event"] == "validation")
    assert validation["split"] == "val" and validation["metrics"]["accuracy"] == 0.6
    assert validation["is_best"] is True
    assert {r["event"] for r in records} >= {
        "run_start",
        "metrics",
        "validation",
        "epoch_end",
        "milestone",
        "run_end",
    }


def test_non_finite_metrics_are_strings_not_nulls(tmp_path: Path) -> None:
    """NaN and inf survive as "nan"/"inf" so a diverging run stays visible."""
    with flightlog.Run("nan", dir=tmp_path) as run:
        run.log_batch(step=1, epoch=1, loss=math.nan, grad=math.inf)
    batch = next(r for r in _jsonl(tmp_path / "nan_metrics.jsonl") if r["event"] == "metrics")
    assert batch["loss"] == "nan" and batch["grad"] == "inf"
    summary = orjson.loads((tmp_path / "nan_summary.json").read_bytes())
    assert summary["metrics"]["train/loss"]["non_finite"] == 1


def test_summary_statistics_and_counts(tmp_path: Path) -> None:
    """The summary holds counts, duration and min/max/mean/std per metric."""
    clock = FakeClock()
    with flightlog.Run("exp", dir=tmp_path, clock=clock) as run:
        _train(run, clock, epochs=2, batches=4)
    summary = orjson.loads((tmp_path / "exp_summary.json").read_bytes())
    losses = [1.0 / s for s in range(1, 9)]
    mean = sum(losses) / 8
    stats = summary["metrics"]["train/loss"]
    assert stats["count"] == 8 and stats["min"] == min(losses) and stats["max"] == 1.0
    assert stats["mean"] == pytest.approx(mean)
    assert stats["std"] == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in losses) / 8))
    assert summary["counts"]["batches"] == 8 and summary["counts"]["epochs_completed"] == 2
    assert summary["counts"]["validations"] == 2
    assert summary["status"] == "completed"
    assert summary["duration_secs"] == pytest.approx(4.0)
    assert summary["best"]["epoch"] == 2


def test_summary_is_written_when_the_run_dies(tmp_path: Path) -> None:
    """An exception escaping the with block marks the run failed and records the error."""
    with pytest.raises(RuntimeError), flightlog.Run("dies", dir=tmp_path) as run:
        run.log_batch(step=1, epoch=1, loss=1.0)
        raise RuntimeError("CUDA out of memory")
    summary = orjson.loads((tmp_path / "dies_summary.json").read_bytes())
    assert summary["status"] == RunStatus.FAILED
    assert summary["errors_by_type"] == {"RuntimeError": 1}
    errors = (tmp_path / "dies_errors.log").read_text()
    assert "RuntimeError in run: CUDA out of memory" in errors
    assert "Traceback (most recent call last)" in errors


def test_operation_logs_duration_and_captures_errors(tmp_path: Path) -> None:
    """run.operation times the block; a failure is logged with context and re-raised."""
    clock = FakeClock()
    with flightlog.Run("ops", dir=tmp_path, clock=clock) as run:
        with run.operation("data_preprocessing"):
            clock.advance(2.5)
        with pytest.raises(ValueError), run.operation("load", shard=3):
            raise ValueError("bad shard")
    records = _jsonl(tmp_path / "ops_metrics.jsonl")
    ends = [r for r in records if r["event"] == "operation_end"]
    assert ends[0]["operation"] == "data_preprocessing" and ends[0]["duration_secs"] == 2.5
    assert ends[1]["status"] == "failed"
    error = next(r for r in records if r["event"] == "error")
    assert error["context"] == {"shard": 3, "duration_secs": 0.0}
    assert error["exception"]["type"] == "ValueError"
    assert "data_preprocessing finished in 2.500s" in (tmp_path / "ops_main.log").read_text()


def test_progress_milestones_throughput_and_eta(tmp_path: Path) -> None:
    """Milestones fire once each; throughput and ETA follow the clock."""
    clock = FakeClock()
    with flightlog.Run("prog", dir=tmp_path, clock=clock) as run:
        _train(run, clock, epochs=2, batches=4)
        state = run.progress(2, 4, 4, 2)
    milestones = [
        r["milestone_pct"]
        for r in _jsonl(tmp_path / "prog_metrics.jsonl")
        if r["event"] == "milestone"
    ]
    assert milestones == [25, 50, 75, 90, 100]
    assert state.overall_pct == 100.0 and state.batches_per_sec == pytest.approx(2.0)
    assert state.eta_secs == 0.0
    assert "milestone: 50% of training done" in (tmp_path / "prog_main.log").read_text()


def test_training_log_has_batch_and_validation_lines(tmp_path: Path) -> None:
    """The human training log shows every Nth batch's metrics and the validation results."""
    clock = FakeClock()
    with flightlog.Run("h", dir=tmp_path, clock=clock, training_log_every_n_steps=2) as run:
        _train(run, clock, epochs=1, batches=3)
    text = (tmp_path / "h_training.log").read_text()
    assert "batch epoch=1 step=2 loss=0.5 accuracy=0.2" in text
    assert "step=1 " not in text and "step=3 " not in text
    assert "validation epoch 1: loss=0.5 accuracy=0.6 (best so far)" in text


def test_best_tracking_uses_direction_of_the_metric(tmp_path: Path) -> None:
    """Lower is better for loss; with monitor='accuracy' higher is better."""
    with flightlog.Run("b", dir=tmp_path) as run:
        assert run.log_validation(1, {"loss": 0.5}) is True
        assert run.log_validation(2, {"loss": 0.7}) is False
        assert run.log_validation(3, {"loss": 0.4}) is True
    with flightlog.Run("c", dir=tmp_path, monitor="accuracy") as run:
        assert run.log_validation(1, {"loss": 0.5, "accuracy": 0.8}) is True
        assert run.log_validation(2, {"loss": 0.4, "accuracy": 0.7}) is False


def test_run_binds_run_id_for_stdlib_logging(tmp_path: Path) -> None:
    """Inside the with block every logging call carries the run_id."""
    with capture_records() as records, flightlog.Run("ctx", dir=tmp_path, run_id="rid") as run:
        logging.getLogger("user.code").info("inside")
        assert run.run_id == "rid"
    user = [r for r in records if r["logger"] == "user.code"]
    assert user[0]["run_id"] == "rid"
    assert flightlog.current_context() == {}


def test_model_info_counts_without_importing_frameworks(tmp_path: Path) -> None:
    """A plain object is described by class; no framework is imported for it."""
    with flightlog.Run("m", dir=tmp_path) as run:
        info = run.log_model_info(object())
    assert info == {"class": "builtins.object", "framework": None}


def test_system_metrics_sampled_on_interval(tmp_path: Path) -> None:
    """With an interval set, system samples (memory, CPU) land in the metrics file."""
    import time

    with flightlog.Run("sys", dir=tmp_path, system_metrics_interval_secs=0.02) as run:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            run.flush()
            if run.summary()["metrics"].get("system/process_rss_gb"):
                break
            time.sleep(0.02)
    samples = [r for r in _jsonl(tmp_path / "sys_metrics.jsonl") if r["event"] == "system"]
    assert samples and samples[0]["metrics"]["process_rss_gb"] > 0


def test_bad_run_name_is_rejected(tmp_path: Path) -> None:
    """A name with a path separator would write outside dir: refused with the name."""
    with pytest.raises(ValueError, match="a/b"):
        flightlog.Run("a/b", dir=tmp_path)


def test_log_batch_accepts_tensor_like_values(tmp_path: Path) -> None:
    """Objects with .item() (torch tensors, numpy scalars) are written as numbers."""
    import numpy as np

    with flightlog.Run("t", dir=tmp_path) as run:
        run.log_batch(step=1, epoch=1, loss=np.float32(0.25), n=np.int64(3))
    batch = next(r for r in _jsonl(tmp_path / "t_metrics.jsonl") if r["event"] == "metrics")
    assert batch["loss"] == 0.25 and batch["n"] == 3


def test_events_carry_the_fields_the_server_run_views_read(tmp_path: Path) -> None:
    """run_start has run_name and config; hyperparameters have params; run_end has status."""
    with flightlog.Run("contract", config={"lr": 0.1}, dir=tmp_path) as run:
        run.log_hyperparameters({"optimizer": "sgd"})
        run.start_epoch(1, total_epochs=3)
        run.log_performance(0.2, 0.05)
    records = {r["event"]: r for r in _jsonl(tmp_path / "contract_metrics.jsonl")}
    assert records["run_start"]["run_name"] == "contract" and records["run_start"]["config"] == {
        "lr": 0.1
    }
    assert records["hyperparameters"]["params"] == {"optimizer": "sgd"}
    assert records["performance"]["metrics"] == {"batch_time": 0.2, "data_time": 0.05}
    assert records["run_end"]["status"] == "completed"


def test_log_batch_from_many_threads_loses_nothing(tmp_path: Path) -> None:
    """Concurrent log_batch calls (e.g. data-parallel workers in threads) all reach the file."""
    import threading

    with flightlog.Run("threads", dir=tmp_path, flush_interval_secs=0.01) as run:

        def work(worker: int) -> None:
            for i in range(500):
                run.log_batch(step=i, epoch=worker, loss=float(i))

        threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    batches = [r for r in _jsonl(tmp_path / "threads_metrics.jsonl") if r["event"] == "metrics"]
    assert len(batches) == 2000
    assert {(b["epoch"], b["step"]) for b in batches} == {
        (w, i) for w in range(4) for i in range(500)
    }
    summary = orjson.loads((tmp_path / "threads_summary.json").read_bytes())
    assert summary["metrics"]["train/loss"]["count"] == 2000


def test_sigterm_writes_the_summary_then_exits_with_the_signal(tmp_path: Path) -> None:
    """With handle_sigterm=True a preempted job leaves a 'terminated' summary and dies of SIGTERM."""
    import signal
    import subprocess
    import sys

    script = (
        "import sys, time, flightlog\n"
        f"run = flightlog.Run('pre', dir={str(tmp_path)!r}, handle_sigterm=True)\n"
        "run.log_batch(step=1, epoch=1, loss=0.5)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == -signal.SIGTERM
    summary = orjson.loads((tmp_path / "pre_summary.json").read_bytes())
    assert summary["status"] == "terminated" and summary["counts"]["batches"] == 1


def test_hash_fields_are_hashed_in_batch_records_whatever_the_value_type(
    tmp_path: Path,
) -> None:
    """log_batch(user_id=123) writes the hash, in the metrics file and the training log."""
    with flightlog.Run("hash", dir=tmp_path, training_log_every_n_steps=1) as run:
        run.log_batch(step=1, epoch=1, loss=0.5, user_id=123)
        run.log_batch(step=2, epoch=1, loss=0.4, user_id=123.0)
    hashed = [Redactor().hash_value(123), Redactor().hash_value(123.0)]
    batches = [r for r in _jsonl(tmp_path / "hash_metrics.jsonl") if r["event"] == "metrics"]
    assert [b["user_id"] for b in batches] == hashed
    assert [b["loss"] for b in batches] == [0.5, 0.4]
    training = (tmp_path / "hash_training.log").read_text()
    assert "user_id=123" not in training and f"user_id={hashed[0]}" in training
    summary = orjson.loads((tmp_path / "hash_summary.json").read_bytes())
    assert "train/user_id" not in summary["metrics"]
    assert summary["metrics"]["train/loss"]["count"] == 2


def test_a_secret_in_a_metric_name_is_redacted_in_every_file(tmp_path: Path) -> None:
    """A metric named after an email is written under the redacted name, numbers or not."""
    with flightlog.Run("named", dir=tmp_path, training_log_every_n_steps=1) as run:
        run.log_batch(step=1, epoch=1, **{"loss a@b.io": 0.5})
    assert "a@b.io" not in "".join(p.read_text() for p in tmp_path.iterdir())
    batch = next(r for r in _jsonl(tmp_path / "named_metrics.jsonl") if r["event"] == "metrics")
    assert batch["loss [EMAIL]"] == 0.5


def test_processors_other_than_redactors_see_every_batch_record(tmp_path: Path) -> None:
    """Only a Redactor is skipped for records it leaves unchanged; other processors run."""

    def tag(event: Mapping[str, Any]) -> dict[str, Any]:
        return {**event, "host_group": "a"}

    with flightlog.Run("tagged", dir=tmp_path, processors=(Redactor(), tag)) as run:
        for step in range(3):
            run.log_batch(step=step, epoch=1, loss=0.5)
    batches = [r for r in _jsonl(tmp_path / "tagged_metrics.jsonl") if r["event"] == "metrics"]
    assert [b.get("host_group") for b in batches] == ["a", "a", "a"]


@pytest.mark.parametrize("level", ["WARNING", "INFO"])
def test_run_records_are_shipped_once_whatever_the_logging_level(
    tmp_path: Path, recording_server: RecordingServer, level: str
) -> None:
    """Config, hyperparameters, validation and status reach the server once each."""
    config = flightlog.configure(
        level=level,
        stream=None,
        server=recording_server.url,
        shipper_config=ShipperConfig(flush_interval_secs=0.05),
    )
    with flightlog.Run("shipped", config={"lr": 0.1}, dir=tmp_path / "logs") as run:
        run.log_hyperparameters({"optimizer": "sgd"})
        run.log_batch(step=1, epoch=1, loss=0.5)
        run.log_validation(1, {"loss": 0.4})
    assert config.shipper is not None and config.shipper.flush(10.0)
    shipped = [
        orjson.loads(line)
        for labels, _, line, _ in recording_server.entries()
        if labels.get("run_id") == run.run_id
    ]
    assert sorted(r["event"] for r in shipped) == [
        "hyperparameters",
        "metrics",
        "run_end",
        "run_start",
        "validation",
    ]
    start = next(r for r in shipped if r["event"] == "run_start")
    assert start["config"] == {"lr": 0.1}
    assert next(r for r in shipped if r["event"] == "run_end")["status"] == "completed"


def test_writer_queue_is_bounded_when_the_writer_is_stuck(tmp_path: Path) -> None:
    """A stuck writer costs bounded memory: the oldest batches are dropped, counted, reported."""
    run = flightlog.Run("stuck", dir=tmp_path, max_queued_records=5000)
    run.log_hyperparameters({"lr": 0.1})
    writer = run._writer
    longest = 0
    with writer._lock:  # the writer thread is stuck in a drain, as on a dead disk
        for step in range(40_000):  # log_batch never waits: this loop ends
            run.log_batch(step=step, epoch=1, loss=1.0)
            longest = max(longest, len(writer.queue))
    summary = run.finish()
    assert longest <= 5000 + 4096
    records = _jsonl(tmp_path / "stuck_metrics.jsonl")
    steps = [r["step"] for r in records if r["event"] == "metrics"]
    dropped = summary["dropped_records"]["queue_full"]
    assert dropped == 40_000 - len(steps) > 0
    assert steps == list(range(dropped, 40_000))  # the newest are kept, in order
    assert any(r["event"] == "hyperparameters" for r in records)  # events are kept
    reports = [r for r in records if r["event"] == "records_dropped"]
    assert sum(r["dropped"] for r in reports) == dropped
    assert reports[0]["level"] == "WARNING" and reports[0]["reason"] == "queue_full"
    assert "oldest queued records" in (tmp_path / "stuck_main.log").read_text()


def test_max_queued_records_must_be_positive(tmp_path: Path) -> None:
    """A bound of 0 or less is refused, naming the value and the default."""
    with pytest.raises(ValueError, match="max_queued_records=0"):
        flightlog.Run("q", dir=tmp_path, max_queued_records=0)


def test_configured_sampling_never_thins_a_runs_metrics(tmp_path: Path) -> None:
    """Sampling and the level filter apply to log events; every batch and validation stays."""
    from flightlog.sdk.processors import LevelFilter, Sampler

    flightlog.configure(stream=None, processors=(Sampler(rate=0.0), LevelFilter("WARNING")))
    try:
        with flightlog.Run("sampled", dir=tmp_path) as run:
            for step in range(1, 51):
                run.log_batch(step=step, epoch=1, loss=1.0 / step)
            run.log_validation(1, {"loss": 0.5})
    finally:
        flightlog.shutdown()
    records = _jsonl(tmp_path / "sampled_metrics.jsonl")
    assert [r["step"] for r in records if r["event"] == "metrics"] == list(range(1, 51))
    assert any(r["event"] == "validation" for r in records)
