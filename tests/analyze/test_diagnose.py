"""Every diagnosis kind: one run that must trigger it and one that must not."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from flightlog.analyze.diagnose import DiagnosisParams, diagnose_run
from flightlog.analyze.diagnose.params import PlateauParams
from flightlog.analyze.diagnose.summary import describe_lr_schedule, summarize
from flightlog.analyze.table import ErrorLine, RunBuilder, RunTable


def run_of(
    curves: dict[tuple[str, str], list[float]],
    times: list[float] | None = None,
    steps: list[int] | None = None,
) -> RunTable:
    builder = RunBuilder("r", split_restarts=False)
    for (split, metric), values in curves.items():
        for index, value in enumerate(values):
            step = steps[index] if steps else index + 1
            time = times[index] if times else None
            builder.add(metric, value, step, None, time, split=split)
    return builder.current


def kinds(
    run: RunTable, errors: list[ErrorLine] | None = None, params: DiagnosisParams | None = None
) -> list[str]:
    return [str(d.kind) for d in diagnose_run(run, errors or [], params)]


DECREASING = [1.0 / (i + 1) for i in range(40)]


def test_overfitting_fires_when_val_worsens_while_train_improves() -> None:
    """Val loss rising for 5 evaluations while train falls is overfitting, with the gap."""
    val = [1.0, 0.8, 0.6, 0.5, 0.52, 0.56, 0.6, 0.65, 0.7]
    train = [1.0, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1]
    run = run_of({("train", "loss"): train, ("val", "loss"): val})
    (diagnosis,) = [d for d in diagnose_run(run) if d.kind == "overfitting"]
    assert diagnosis.first_step == 4
    assert diagnosis.evidence["best_value"] == 0.5
    assert diagnosis.evidence["gap_at_last"] > diagnosis.evidence["gap_at_best"]


def test_overfitting_does_not_fire_when_both_improve() -> None:
    """Train and val both falling is healthy."""
    run = run_of(
        {("train", "loss"): DECREASING[:9], ("val", "loss"): [v + 0.1 for v in DECREASING[:9]]}
    )
    assert "overfitting" not in kinds(run)


def test_overfitting_does_not_fire_when_training_also_worsens() -> None:
    """Both curves rising is not overfitting (it is something else)."""
    rising = [0.5, 0.4, 0.3, 0.35, 0.4, 0.45, 0.5]
    run = run_of({("train", "loss"): rising, ("val", "loss"): rising})
    assert "overfitting" not in kinds(run)


def test_plateau_fires_and_estimates_the_early_stopping_saving() -> None:
    """A curve flat for 30 points after step 10: plateau with saved steps."""
    values = [1.0 / (i + 1) for i in range(10)] + [0.1] * 30
    run = run_of({("val", "loss"): values})
    (plateau,) = [d for d in diagnose_run(run) if d.kind == "plateau"]
    assert plateau.severity == "info"
    assert plateau.evidence["plateau_step"] == 10
    assert plateau.evidence["early_stopping_step"] == 20
    assert plateau.evidence["saved_steps"] == 20


def test_plateau_does_not_fire_on_a_steadily_improving_curve() -> None:
    """A curve still improving by more than 1 % per window is no plateau."""
    run = run_of({("val", "loss"): [0.97**i for i in range(40)]})
    assert "plateau" not in kinds(run)


def test_plateau_threshold_is_a_parameter() -> None:
    """Raising min_relative_improvement turns the slow curve into a plateau."""
    run = run_of({("val", "loss"): [0.99**i for i in range(40)]})
    params = replace(DiagnosisParams(), plateau=PlateauParams(min_relative_improvement=0.2))
    assert "plateau" in kinds(run, params=params)


def test_divergence_fires_when_the_loss_climbs_far_above_its_minimum() -> None:
    """Loss falls to 0.2 then climbs to 5: critical divergence from the crossing step."""
    values = [1.0, 0.6, 0.4, 0.2, 0.3, 1.5, 3.0, 5.0, 6.0]
    (diagnosis,) = [
        d for d in diagnose_run(run_of({("train", "loss"): values})) if d.kind == "divergence"
    ]
    assert diagnosis.severity == "critical"
    assert diagnosis.evidence["min_step"] == 4
    assert diagnosis.first_step == 6


def test_divergence_does_not_fire_on_noise_around_the_minimum() -> None:
    """Small bumps after the minimum are not divergence."""
    values = [1.0, 0.6, 0.4, 0.2, 0.22, 0.21, 0.23, 0.22]
    assert "divergence" not in kinds(run_of({("train", "loss"): values}))


def test_nan_fires_with_the_first_bad_step() -> None:
    """The first NaN/inf step and the last finite value are reported."""
    values = [1.0, 0.5, 0.4, math.inf, math.nan, math.nan]
    (diagnosis,) = [d for d in diagnose_run(run_of({("train", "loss"): values})) if d.kind == "nan"]
    assert diagnosis.first_step == 4
    assert diagnosis.evidence["count"] == 3
    assert diagnosis.evidence["last_finite_step"] == 3


def test_nan_does_not_fire_on_finite_values() -> None:
    """All finite: no nan diagnosis."""
    assert "nan" not in kinds(run_of({("train", "loss"): DECREASING}))


def test_spike_fires_on_an_isolated_outlier() -> None:
    """One value 20x the neighbourhood in a noisy curve is a spike at its step."""
    values = [1.0 + 0.01 * ((i * 7) % 5) for i in range(60)]
    values[45] = 20.0
    (diagnosis,) = [
        d for d in diagnose_run(run_of({("train", "loss"): values})) if d.kind == "spike"
    ]
    assert diagnosis.first_step == 46
    assert diagnosis.evidence["spikes"][0]["step"] == 46


def test_spike_does_not_fire_on_a_smooth_trend_or_downward_jumps() -> None:
    """A steady decline, even with a sudden drop, has no (upward) spike."""
    values = [1.0 - 0.01 * i for i in range(60)]
    values[40] = 0.1
    assert "spike" not in kinds(run_of({("train", "loss"): values}))


def test_stall_fires_on_a_long_gap_between_progress_points() -> None:
    """Steps 1 s apart, then a 300 s gap: a stall between those steps."""
    times = [float(i) for i in range(20)] + [319.0 + i for i in range(10)]
    (diagnosis,) = [
        d
        for d in diagnose_run(run_of({("train", "loss"): DECREASING[:30]}, times=times))
        if d.kind == "stall"
    ]
    assert (diagnosis.first_step, diagnosis.last_step) == (20, 21)
    assert diagnosis.evidence["longest_gap_secs"] == 300.0


def test_stall_does_not_fire_on_regular_progress_or_without_time() -> None:
    """Regular gaps, or no time column at all: no stall."""
    times = [float(i) for i in range(30)]
    assert "stall" not in kinds(run_of({("train", "loss"): DECREASING[:30]}, times=times))
    assert "stall" not in kinds(run_of({("train", "loss"): DECREASING[:30]}))


def test_slow_data_fires_when_data_time_dominates() -> None:
    """Data time 0.8 s of a 1 s step is slow data."""
    run = run_of({("train", "data_time"): [0.8] * 10, ("train", "step_time"): [1.0] * 10})
    (diagnosis,) = [d for d in diagnose_run(run) if d.kind == "slow_data"]
    assert diagnosis.evidence["fraction"] == 0.8


def test_slow_data_does_not_fire_when_data_is_cheap_or_not_logged() -> None:
    """Data time 5 % of the step, or not logged: no slow_data."""
    run = run_of({("train", "data_time"): [0.05] * 10, ("train", "step_time"): [1.0] * 10})
    assert "slow_data" not in kinds(run)
    assert "slow_data" not in kinds(run_of({("train", "step_time"): [1.0] * 10}))


def test_error_signatures_are_grouped_with_counts_first_line_and_sizes() -> None:
    """Two OOM lines are one diagnosis with count 2, the first line and the sizes."""
    errors = [
        ErrorLine("cuda_oom", "r", 10, "CUDA out of memory", 5, (("tried", "2.00 GiB"),)),
        ErrorLine("cuda_oom", "r", 20, "CUDA out of memory", 7, (("tried", "4.00 GiB"),)),
    ]
    (diagnosis,) = diagnose_run(run_of({}), errors)
    assert diagnosis.kind == "error"
    assert diagnosis.severity == "critical"
    assert diagnosis.evidence["count"] == 2
    assert diagnosis.evidence["first_line"] == 10
    assert diagnosis.evidence["details"] == {"tried": "2.00 GiB"}
    assert "tried 2.00 GiB" in diagnosis.message
    assert (diagnosis.first_step, diagnosis.last_step) == (5, 7)


def test_no_error_lines_no_error_diagnosis() -> None:
    """A clean run has no error diagnosis."""
    assert "error" not in kinds(run_of({("train", "loss"): DECREASING}))


def test_diagnoses_are_ordered_by_severity() -> None:
    """Critical first, then warnings, then info."""
    values = [1.0, 0.5, 0.3, math.nan] + [0.3] * 30
    run = run_of({("train", "loss"): values, ("val", "loss"): [0.5] * 34})
    severities = [d.severity for d in diagnose_run(run)]
    order = {"critical": 0, "warning": 1, "info": 2}
    assert severities == sorted(severities, key=order.__getitem__)
    assert severities[0] == "critical"


@pytest.mark.parametrize(
    ("values", "shape"),
    [
        ([1e-3] * 10, "constant"),
        ([1e-4 * i for i in range(1, 6)] + [5e-4 - 4e-5 * i for i in range(10)], "warmup+decay"),
        ([1e-3] * 5 + [1e-4] * 5 + [1e-5] * 5, "step decay"),
        ([1e-3 * 0.9**i for i in range(30)], "decay"),
    ],
)
def test_lr_schedule_shape(values: list[float], shape: str) -> None:
    """The LR schedule is described by its shape."""
    series = run_of({("train", "learning_rate"): values}).get("train", "learning_rate")
    assert describe_lr_schedule(series)["shape"] == shape


def test_summary_has_best_final_throughput_and_eta() -> None:
    """Best/final per metric, throughput from the time column, ETA from the total steps."""
    run = run_of({("train", "loss"): [1.0, 0.5, 0.7]}, times=[0.0, 10.0, 20.0], steps=[10, 20, 30])
    run.info["max_steps"] = 60
    summary = summarize(run)
    (loss,) = summary["metrics"]
    assert (loss["best"], loss["best_step"], loss["final"]) == (0.5, 20, 0.7)
    assert summary["throughput_steps_per_sec"] == 1.0
    assert summary["eta_secs"] == 30.0
