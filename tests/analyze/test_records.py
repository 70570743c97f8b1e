"""analyze_records: the server's entry point for stored runs; and the public surface."""

from __future__ import annotations

import math

import flightlog.analyze as analyze
from flightlog.analyze import analyze_records


def test_public_api_is_exactly_the_documented_names() -> None:
    """flightlog.analyze exports a small, documented surface."""
    assert set(analyze.__all__) == {
        "FORMATS",
        "Diagnosis",
        "DiagnosisParams",
        "LogAnalysis",
        "RunAnalysis",
        "TidyRow",
        "analyze_path",
        "analyze_records",
        "analyze_text",
        "detect_format",
    }


def metrics(step: int, **values: float) -> dict[str, object]:
    return {
        "event": "metrics",
        "step": step,
        "epoch": step // 10,
        "ts": 1_700_000_000 + step,
        **values,
    }


def test_records_give_series_summary_and_diagnoses() -> None:
    """SDK metric records become curves by split, a summary and diagnoses."""
    records = [metrics(s, loss=1 / s, lr=1e-3) for s in range(1, 31)]
    records += [metrics(s, val_loss=0.3 + 0.01 * (s - 10) ** 2 / 10) for s in range(5, 31, 5)]
    result = analyze_records(records, run="r42")
    assert result.run == "r42"
    assert result.table.get("val", "loss").steps == [5, 10, 15, 20, 25, 30]
    assert result.summary["throughput_steps_per_sec"] == 1.0
    assert "overfitting" in [d.kind for d in result.diagnoses]
    document = result.to_dict()
    assert document["run"] == "r42"
    assert {s["split"] for s in document["series"]} == {"train", "val"}


def test_records_in_any_order_are_sorted_by_step() -> None:
    """Records arriving out of order are sorted by step; a restart does not split the run."""
    records = [metrics(s, loss=1 / s) for s in (3, 1, 2, 5, 4)]
    result = analyze_records(records)
    assert result.table.get("train", "loss").steps == [1, 2, 3, 4, 5]


def test_log_records_are_scanned_for_error_signatures() -> None:
    """A log record whose message is a CUDA OOM gives an error diagnosis at the last step."""
    records = [metrics(s, loss=1 / s) for s in range(1, 4)]
    records.append(
        {
            "event": "log",
            "level": "error",
            "message": "RuntimeError: CUDA out of memory. Tried to allocate 1.00 GiB",
        }
    )
    (error,) = [d for d in analyze_records(records).diagnoses if d.kind == "error"]
    assert error.evidence["signature"] == "cuda_oom"
    assert error.first_step == 3


def test_nan_values_in_records_are_critical() -> None:
    """A NaN loss in the records is a critical nan diagnosis."""
    records = [metrics(1, loss=0.5), metrics(2, loss=math.nan)]
    result = analyze_records(records)
    assert result.worst_severity == "critical"


def test_no_records_is_an_empty_analysis() -> None:
    """No records: no series, no diagnoses, a summary with no steps."""
    result = analyze_records([])
    assert result.to_dict()["series"] == []
    assert result.summary["steps"] is None


def test_sdk_metric_records_with_string_nan_and_iso_timestamps() -> None:
    """The SDK's records: RFC 3339 ns timestamps, split key, "nan" strings for NaN."""
    records = [
        {
            "ts": "2026-11-23T20:34:38.000000001Z",
            "event": "metrics",
            "run_id": "r1",
            "split": "train",
            "step": 1,
            "epoch": 0,
            "loss": 0.9,
        },
        {
            "ts": "2026-11-23T20:34:39.000000001Z",
            "event": "metrics",
            "run_id": "r1",
            "split": "train",
            "step": 2,
            "epoch": 0,
            "loss": "nan",
        },
        {
            "ts": "2026-11-23T20:34:40.000000001Z",
            "event": "metrics",
            "run_id": "r1",
            "split": "val",
            "step": 2,
            "epoch": 0,
            "accuracy": 0.5,
        },
    ]
    result = analyze_records(records)
    loss = result.table.get("train", "loss")
    assert math.isnan(loss.values[1])
    assert loss.times[1] - loss.times[0] == 1.0
    assert result.table.get("val", "accuracy").steps == [2]
    assert [d.kind for d in result.diagnoses] == ["nan"]


def test_sdk_validation_events_take_the_last_training_step() -> None:
    """A step-less "validation" event (nested metrics, split val) lands on the last step."""
    records = [metrics(s, loss=1 / s) for s in range(1, 5)]
    records.append(
        {
            "event": "validation",
            "split": "val",
            "epoch": 0,
            "metrics": {"loss": 0.4},
            "is_best": True,
        }
    )
    result = analyze_records(records)
    assert result.table.get("val", "loss").steps == [4]
    assert ("val", "is_best") not in result.table.series
