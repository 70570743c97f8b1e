"""AdvancedLogger and TrainingProgressTracker: the guide's API on top of Run."""

from __future__ import annotations

from pathlib import Path

import orjson

import flightlog


def _jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_batch_position_is_progress_not_a_metric(tmp_path: Path) -> None:
    """log_batch_progress writes batch/total_batches as the record's progress, not metrics."""
    logger = flightlog.AdvancedLogger(log_dir=tmp_path, experiment_name="pos")
    for batch in (1, 2):
        logger.log_batch_progress(epoch=1, batch=batch, total_batches=2, loss=1.0 / batch)
    summary = logger.end_training()
    batches = [r for r in _jsonl(tmp_path / "pos_metrics.jsonl") if r["event"] == "metrics"]
    assert [b["progress"] for b in batches] == [
        {"batch": 1, "total_batches": 2},
        {"batch": 2, "total_batches": 2},
    ]
    assert all("batch" not in b and "total_batches" not in b for b in batches)
    assert [b["step"] for b in batches] == [1, 2] and batches[1]["loss"] == 0.5
    assert sorted(summary["metrics"]) == ["train/loss"]
    assert "step=2 batch=2/2 loss=0.5" in (tmp_path / "pos_training.log").read_text()


def test_analyze_sees_no_batch_curve(tmp_path: Path) -> None:
    """flightlog analyze reads loss from the guide's records, and no batch/total_batches."""
    from flightlog.analyze import analyze_path

    logger = flightlog.AdvancedLogger(log_dir=tmp_path, experiment_name="curves")
    for batch in (1, 2, 3):
        logger.log_batch_progress(epoch=1, batch=batch, total_batches=3, loss=1.0, accuracy=0.5)
    logger.close()
    analysis = analyze_path(tmp_path / "curves_metrics.jsonl").to_dict()
    curves = {(s["split"], s["metric"]) for run in analysis["runs"] for s in run["series"]}
    assert curves == {("train", "accuracy"), ("train", "loss")}
