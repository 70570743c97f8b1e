"""Format parsers: detection, and what real logs contain (restarts, several runs, redraws,
interleaved warnings, tracebacks, truncated lines)."""

from __future__ import annotations

import math

import pytest

from flightlog.analyze import detect_format
from flightlog.analyze.parse import parse_text
from flightlog.errors import AnalyzeError

KERAS2 = """Epoch 1/2
 1/10 [==>...........................] - ETA: 1s - loss: 0.9000 - accuracy: 0.1000
10/10 [==============================] - 2s 15ms/step - loss: 0.8000 - accuracy: 0.5000 - val_loss: 0.8500
Epoch 2/2
10/10 [==============================] - 1s 10ms/step - loss: 0.6000 - accuracy: 0.6000 - val_loss: 0.7000
"""
HF = "{'loss': 0.69, 'grad_norm': 1.5, 'learning_rate': 5e-05, 'epoch': 0.5}\n{'eval_loss': 0.7, 'epoch': 1.0}\n"


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (KERAS2, "keras"),
        (HF, "hf"),
        ('{"log_history": [], "global_step": 3}', "hf_state"),
        ("iter 10: loss 2.3000, time 45.00ms, mfu 10.00%\n", "nanogpt"),
        ("[0]\tvalidation_0-logloss:0.5\tvalidation_1-logloss:0.6\n", "boosting"),
        ("[1]\tvalid_0's auc: 0.7\n", "boosting"),
        ("Iteration 1, loss = 0.69314718\n", "sklearn"),
        ("-- Epoch 1\nNorm: 1.0, NNZs: 2, Bias: 0.1, T: 10, Avg. loss: 0.5\n", "sklearn"),
        (" 5%|▌  | 1/20 [00:01<00:19,  1.00it/s, loss=0.5]\n", "tqdm"),
        ('{"step": 1, "loss": 0.5}\n{"step": 2, "loss": 0.4}\n', "jsonl"),
        ("epoch,step,train_loss\n0,1,0.5\n", "csv"),
        ("epoch 1 loss=0.5 val_loss=0.6\n", "generic"),
        ("nothing to see here\n", "generic"),
    ],
)
def test_detect_format(sample: str, expected: str) -> None:
    """Each format is recognised from a sample of its text."""
    assert detect_format(sample) == expected


def test_format_override_beats_detection() -> None:
    """--format forces the parser even when another would be detected."""
    parsed = parse_text("loss=0.5 step=1\n{'loss': 0.4, 'epoch': 1.0}\n", format_name="generic")
    assert parsed.format == "generic"


def test_unknown_format_names_the_valid_ones() -> None:
    """An unknown --format raises AnalyzeError listing the valid names."""
    with pytest.raises(AnalyzeError, match=r"use one of .*keras"):
        parse_text("x", format_name="tensorboard")


def test_keras_restart_starts_a_new_run() -> None:
    """`Epoch 1/N` after a later epoch (a second fit in the same file) is a new run."""
    parsed = parse_text(KERAS2 + KERAS2)
    assert [r.run for r in parsed.runs] == ["run", "run#2"]
    assert parsed.runs[1].get("train", "loss").steps == [10, 20]


def test_keras_interleaved_warning_and_traceback_are_ignored() -> None:
    """Warnings and a traceback between progress lines change nothing."""
    noisy = KERAS2.replace(
        "Epoch 2/2\n",
        "Epoch 2/2\nWARNING:tensorflow:Callback method is slow\nTraceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\nValueError: boom\n',
    )
    assert list(parse_text(noisy).tidy_rows()) == list(parse_text(KERAS2).tidy_rows())


def test_keras_epoch_cut_short_keeps_its_last_values() -> None:
    """An epoch that never finished (crash, NaN) still gets its last redraw's values."""
    parsed = parse_text(KERAS2 + "Epoch 3/3\n 4/10 [====>....] - ETA: 1s - loss: nan\n")
    loss = parsed.runs[0].get("train", "loss")
    assert loss.steps == [10, 20, 24]
    assert math.isnan(loss.values[-1])


def test_carriage_return_redraws_and_ansi_colours() -> None:
    """Redraws separated by \\r and ANSI colour codes parse as if printed plainly."""
    dynamic = KERAS2.replace("\n 1/10", "\r\x1b[1m 1/10\x1b[0m").replace("\n10/10", "\r\b\b\b10/10")
    assert list(parse_text(dynamic).tidy_rows()) == list(parse_text(KERAS2).tidy_rows())


def test_hf_eval_dict_gets_the_step_of_the_training_dict_before_it() -> None:
    """Eval dicts carry no step: they take the last training step."""
    parsed = parse_text(HF + HF.splitlines()[0] + "\n")
    assert parsed.runs[0].get("eval", "loss").steps == [1]
    assert parsed.runs[0].get("train", "loss").steps == [1, 2]


def test_hf_step_comes_from_the_progress_bar_when_drawn() -> None:
    """With tqdm drawn before each dict, the bar's count is the step."""
    text = (
        " 10%|█         | 5/50 [00:01<00:09,  4.80it/s]\r{'loss': 0.7, 'epoch': 0.1}\n"
        " 20%|██        | 10/50 [00:02<00:08,  4.80it/s]\r{'loss': 0.6, 'epoch': 0.2}\n"
        "100%|██████████| 4/4 [00:00<00:00, 10.00it/s]\r{'eval_loss': 0.65, 'epoch': 0.2}\n"
    )
    run = parse_text(text, format_name="hf").runs[0]
    assert run.get("train", "loss").steps == [5, 10]
    assert run.get("eval", "loss").steps == [10]


def test_hf_quoted_values_and_epoch_going_back_is_a_new_run() -> None:
    """Quoted numbers are read; an epoch counter going back starts a new run."""
    text = "{'loss': '0.5', 'epoch': '1.0'}\n{'loss': '0.4', 'epoch': '2.0'}\n{'loss': '0.9', 'epoch': '0.1'}\n"
    parsed = parse_text(text)
    assert [len(r.get("train", "loss")) for r in parsed.runs] == [2, 1]


def test_hf_summary_dict_goes_to_info_not_curves() -> None:
    """The final train_runtime dict is run info, not a curve point."""
    parsed = parse_text(HF + "{'train_runtime': 12.5, 'train_loss': 0.6, 'epoch': 1.0}\n")
    run = parsed.runs[0]
    assert run.info["train_runtime"] == 12.5
    assert ("train", "runtime") not in run.series


def test_boosting_best_iteration_repeat_is_not_a_restart() -> None:
    """LightGBM repeats the best round after early stopping: no new run, no extra point."""
    text = (
        "[1]\tvalid_0's auc: 0.7\n[2]\tvalid_0's auc: 0.8\n[3]\tvalid_0's auc: 0.75\n"
        "Early stopping, best iteration is:\n[2]\tvalid_0's auc: 0.8\n"
    )
    parsed = parse_text(text)
    assert len(parsed.runs) == 1
    assert parsed.runs[0].get("val", "auc").steps == [1, 2, 3]
    assert parsed.runs[0].info["best_iteration"] == 2


def test_boosting_xgboost_two_sets_are_train_and_val() -> None:
    """XGBoost's validation_0/validation_1 are the train and held-out sets of the idiom."""
    run = parse_text("[0]\tvalidation_0-logloss:0.5\tvalidation_1-logloss:0.6\n").runs[0]
    assert set(run.series) == {("train", "logloss"), ("val", "logloss")}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "[3]\ttrain-rmse:0.5+0.01\ttest-rmse:0.6+0.02",
            {
                ("train", "rmse"): 0.5,
                ("train", "rmse_std"): 0.01,
                ("test", "rmse"): 0.6,
                ("test", "rmse_std"): 0.02,
            },
        ),
        (
            "[3]\tvalid's binary_logloss: 0.5 + 0.01",
            {("val", "binary_logloss"): 0.5, ("val", "binary_logloss_std"): 0.01},
        ),
        (
            "[3]\tcv_agg's train l2: 0.4 + 0.03\tcv_agg's valid l2: 0.5 + 0.01",
            {
                ("train", "l2"): 0.4,
                ("train", "l2_std"): 0.03,
                ("val", "l2"): 0.5,
                ("val", "l2_std"): 0.01,
            },
        ),
        (
            "[3]\tcv_agg's binary_logloss: 0.5 + 0.01",
            {("val", "binary_logloss"): 0.5, ("val", "binary_logloss_std"): 0.01},
        ),
    ],
    ids=["xgb.cv", "lgb.cv 4.6+", "lgb.cv 4.0-4.5", "lgb.cv 3.x"],
)
def test_boosting_cross_validation_mean_and_std(line: str, expected: dict) -> None:
    """xgb.cv / lgb.cv lines are detected as boosting; the std is a metric of its own."""
    text = f"{line}\n{line.replace('[3]', '[4]')}\n"
    parsed = parse_text(text)
    assert parsed.format == "boosting"
    run = parsed.runs[0]
    got = {key: series.values[0] for key, series in run.series.items()}
    assert got == expected
    assert all(series.steps == [3, 4] for series in run.series.values())


def test_cross_validation_std_is_not_judged_as_a_curve() -> None:
    """A ``_std`` metric is a spread, not a loss: no diagnosis reads it."""
    from flightlog.analyze.diagnose.model import direction

    assert direction("rmse_std") == 0
    assert direction("rmse") == -1


def test_sklearn_sgd_one_block_per_class_are_separate_runs() -> None:
    """SGD one-vs-rest prints an `-- Epoch 1` block per class: each is a run."""
    block = "-- Epoch 1\nNorm: 1.0, NNZs: 2, Bias: 0.1, T: 10, Avg. loss: 0.5\n-- Epoch 2\nNorm: 1.0, NNZs: 2, Bias: 0.1, T: 20, Avg. loss: 0.4\n"
    assert len(parse_text(block * 3).runs) == 3


def test_generic_positions_timestamps_and_bracketed_counters() -> None:
    """`Epoch [3/10], Step [100/600], Loss: 0.2` reads step 100 epoch 3; timestamps give time."""
    run = parse_text(
        "2024-05-01 12:00:00,000 Epoch [3/10], Step [100/600], Loss: 0.2134\n",
        format_name="generic",
    ).runs[0]
    series = run.get("train", "Loss")
    assert series.steps == [100]
    assert series.epochs == [3.0]
    assert series.times[0] == pytest.approx(1714564800.0)


def test_jsonl_nested_metrics_split_key_and_run_ids() -> None:
    """JSON lines: nested metrics, an explicit split, and run_id separating runs."""
    text = (
        '{"run_id": "a", "step": 1, "metrics": {"loss": 0.5}}\n'
        '{"run_id": "a", "step": 1, "split": "val", "loss": 0.6}\n'
        '{"run_id": "b", "step": 1, "loss": 0.9}\n'
        '{"event": "log", "message": "hello", "value": 3}\n'
        "not json at all\n"
    )
    parsed = parse_text(text, format_name="jsonl")
    assert [r.run for r in parsed.runs] == ["a", "b"]
    assert set(parsed.runs[0].series) == {("train", "loss"), ("val", "loss")}


def test_tqdm_one_point_per_count_with_elapsed_time() -> None:
    """Plain tqdm: the last redraw of each count is a point; elapsed time is the time."""
    text = "".join(
        f"\r{i * 10}%|█  | {i}/10 [00:{i:02d}<00:01, 1.00it/s, loss={1 / i:.3f}]"
        for i in (1, 1, 2, 3)
    )
    series = parse_text(text).runs[0].get("train", "loss")
    assert series.steps == [1, 2, 3]
    assert series.times == [1.0, 2.0, 3.0]


def test_lightning_bar_is_one_point_per_epoch_with_global_steps() -> None:
    """Lightning: the epoch's last redraw; steps count across epochs; the reset redraw is ignored."""
    line = "Epoch {e}: 100%|██████████| 4/4 [00:01<00:00, 3.0it/s, v_num=0, train_loss={l}, val_loss={v}]\n"
    text = (
        line.format(e=0, l=0.5, v=0.6)
        + "Epoch 0:   0%|          | 0/4 [00:00<?, ?it/s, v_num=0, train_loss=0.5, val_loss=0.6]\n"
        + line.format(e=1, l=0.4, v=0.5)
    )
    run = parse_text(text).runs[0]
    assert run.get("val", "loss").steps == [4, 8]
    assert ("train", "v_num") not in run.series


def test_nanogpt_restart_and_eval_lines() -> None:
    """`iter` going back is a new run; `step N: train loss, val loss` gives val points."""
    text = (
        "step 0: train loss 4.0, val loss 4.1\niter 0: loss 4.0, time 40.00ms, mfu -100.00%\n"
        "iter 10: loss 3.0, time 40.00ms, mfu 10.00%\niter 0: loss 4.0, time 40.00ms, mfu -100.00%\n"
    )
    parsed = parse_text(text)
    assert len(parsed.runs) == 2
    assert parsed.runs[0].get("val", "loss").values.tolist() == [4.1]
    assert parsed.runs[0].get("train", "loss").times == [pytest.approx(0.04), pytest.approx(0.08)]


def test_truncated_last_line_is_not_a_crash() -> None:
    """A log cut mid-line parses up to the cut (the cut line holds no whole metric)."""
    parsed = parse_text(KERAS2 + "Epoch 3/3\n 4/10 [====>...] - ETA: 1s - loss: 0.5 - acc")
    assert parsed.runs[0].get("train", "loss").values.tolist() == [0.8, 0.6, 0.5]


def test_error_lines_are_pinned_to_run_line_and_step() -> None:
    """An error line records its signature, run, line number and the last step before it."""
    text = KERAS2 + "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB.\n"
    parsed = parse_text(text)
    (error,) = parsed.errors
    assert (error.signature, error.run, error.line_number) == ("cuda_oom", "run", 6)
    assert dict(error.details) == {"tried": "2.00 GiB"}
