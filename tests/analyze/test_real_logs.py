"""What the real framework logs must show — stated here by hand, so a regenerated golden
file cannot silently drop a finding."""

from __future__ import annotations

from pathlib import Path

from flightlog.analyze import analyze_path

GOLDEN = Path(__file__).parent / "golden"


def kinds(path: Path) -> set[str]:
    return {str(d.kind) for run in analyze_path(path).runs for d in run.diagnoses}


def test_keras3_progress_bars_give_one_point_per_epoch_and_evaluate_as_test() -> None:
    """Keras 3 verbose 1 (ANSI, backspaces, \\r redraws): 6 epochs, val curves, evaluate -> test."""
    run = analyze_path(GOLDEN / "keras" / "keras3_verbose1.log").runs[0]
    assert len(run.table.get("train", "loss")) == 6
    assert len(run.table.get("val", "accuracy")) == 6
    assert run.table.get("train", "loss").steps == [12, 24, 36, 48, 60, 72]
    assert len(run.table.get("test", "loss")) == 1


def test_keras2_eta_lines_are_skipped_for_the_epoch_end_line() -> None:
    """Keras 2: the epoch's value is its last line, not an ETA line; evaluate is test."""
    run = analyze_path(GOLDEN / "handwritten" / "keras2_verbose1.log").runs[0]
    assert run.table.get("train", "loss").steps == [10, 20, 30, 40]
    assert run.table.get("test", "loss").values.tolist() == [0.51]


def test_sklearn_diverging_mlp_is_a_critical_nan() -> None:
    """A huge learning rate: the loss becomes inf/nan -> critical nan diagnosis."""
    analysis = analyze_path(GOLDEN / "sklearn" / "mlp_diverge.log")
    assert analysis.worst_severity == "critical"
    assert "nan" in kinds(GOLDEN / "sklearn" / "mlp_diverge.log")


def test_overfitting_runs_are_flagged() -> None:
    """XGBoost, LightGBM and the MLP built to overfit are flagged as overfitting."""
    for path in ("xgboost/xgb_eval.log", "lightgbm/lgb_eval.log", "sklearn/mlp_overfit.log"):
        assert "overfitting" in kinds(GOLDEN / path), path


def test_plateau_run_says_how_much_early_stopping_saves() -> None:
    """The long MLP run plateaus; the evidence says where early stopping would stop."""
    run = analyze_path(GOLDEN / "sklearn" / "mlp_plateau.log").runs[0]
    plateau = next(d for d in run.diagnoses if d.kind == "plateau")
    assert plateau.evidence["early_stopping_step"] < 400
    assert plateau.evidence["saved_steps"] > 0


def test_healthy_runs_have_no_warnings() -> None:
    """Converging Keras/Lightning/HF/SGD runs get no warning or critical diagnosis."""
    for path in (
        "keras/keras3_verbose1.log",
        "keras/keras3_verbose2.log",
        "lightning/metrics.csv",
        "huggingface/trainer_state.json",
        "sklearn/sgd.log",
    ):
        assert analyze_path(GOLDEN / path).worst_severity in (None, "info"), path


def test_hf_printed_dicts_agree_with_trainer_state() -> None:
    """The printed dicts give the same losses (and eval steps) as trainer_state.json."""
    printed = analyze_path(GOLDEN / "huggingface" / "trainer.log").runs[0].table
    state = analyze_path(GOLDEN / "huggingface" / "trainer_state.json").runs[0].table
    for split in ("eval", "train"):
        shown, exact = printed.get(split, "loss").values, state.get(split, "loss").values
        assert len(shown) == len(exact)
        for a, b in zip(shown, exact, strict=True):  # printed with 4 significant digits
            assert abs(a - b) <= 1e-3 * abs(b)
    # tqdm throttles redraws, so a step read from the bar can lag by one late in a run
    assert printed.get("eval", "loss").steps[:2] == state.get("eval", "loss").steps[:2]


def test_lightning_bar_and_csv_logger_agree_on_validation_loss() -> None:
    """Lightning's progress bar (rounded) and metrics.csv give the same val curve."""
    bar = analyze_path(GOLDEN / "lightning" / "lightning.log").runs[0].table.get("val", "loss")
    csv = analyze_path(GOLDEN / "lightning" / "metrics.csv").runs[0].table.get("val", "loss")
    assert len(bar) == len(csv) == 5
    for shown, exact in zip(bar.values, csv.values, strict=True):
        assert abs(shown - exact) <= 0.01 * abs(exact) + 1e-9
