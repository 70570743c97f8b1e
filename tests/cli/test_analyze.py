"""`flightlog analyze` end to end: outputs, exit codes, errors as one line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
from typer.testing import CliRunner

from flightlog.cli.app import app

GOLDEN = Path(__file__).parents[1] / "analyze" / "golden"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["analyze", *args])


def test_text_report_of_a_healthy_run_exits_0() -> None:
    """A healthy Keras log: a table with the curves, exit code 0."""
    result = invoke(str(GOLDEN / "keras" / "keras3_verbose2.log"))
    assert result.exit_code == 0, result.output
    assert "run keras3_verbose2" in result.output
    assert "val_loss" not in result.output  # split and metric are separate columns


def test_critical_diagnosis_exits_2_for_ci_gating() -> None:
    """A run that went NaN makes the command exit with code 2."""
    result = invoke(str(GOLDEN / "sklearn" / "mlp_diverge.log"), "--output", "json")
    assert result.exit_code == 2
    document = orjson.loads(result.stdout)
    assert document["runs"][0]["diagnoses"][0]["kind"] == "nan"


def test_json_csv_and_html_outputs(tmp_path: Path) -> None:
    """--output json/csv/html produce their formats; --out writes a file."""
    log = str(GOLDEN / "xgboost" / "xgb_eval.log")
    json_result = invoke(log, "-o", "json")
    assert orjson.loads(json_result.stdout)["format"] == "boosting"
    csv_result = invoke(log, "-o", "csv")
    assert next(csv.reader(io.StringIO(csv_result.stdout))) == [
        "run",
        "step",
        "epoch",
        "split",
        "metric",
        "value",
        "time",
    ]
    report = tmp_path / "report.html"
    html_result = invoke(log, "-o", "html", "--out", str(report))
    assert html_result.exit_code == 0
    assert report.read_text().startswith("<!DOCTYPE html>")


def test_format_override_and_list_formats() -> None:
    """--format forces a parser; --list-formats names them all."""
    forced = invoke(str(GOLDEN / "handwritten" / "generic.log"), "--format", "keras", "-o", "json")
    assert orjson.loads(forced.stdout)["format"] == "keras"
    listed = invoke("--list-formats")
    assert "nanogpt" in listed.stdout and "hf_state" in listed.stdout


def test_missing_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A missing log: exit 1 and one line saying what is wrong, no traceback."""
    result = invoke(str(tmp_path / "missing.log"))
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_bad_options_are_one_line_errors() -> None:
    """Unknown output/format, webhook without follow: exit 1 with the fix."""
    log = str(GOLDEN / "sklearn" / "sgd.log")
    for args, message in (
        (["-o", "xml"], "use one of text, json, html, csv"),
        (["--format", "tensorboard"], "use one of"),
        (["--alert-webhook", "http://127.0.0.1:9/x"], "needs --follow"),
    ):
        result = invoke(log, *args)
        assert result.exit_code == 1
        assert message in result.output


def test_no_path_is_a_one_line_error() -> None:
    """Without a log path: exit 1 and an example of the right call."""
    result = invoke()
    assert result.exit_code == 1
    assert "give at least one log file" in result.output


def test_several_logs_in_one_call() -> None:
    """Two paths: JSON wraps both logs."""
    result = invoke(
        str(GOLDEN / "sklearn" / "sgd.log"),
        str(GOLDEN / "keras" / "keras3_verbose2.log"),
        "-o",
        "json",
    )
    assert [log["format"] for log in orjson.loads(result.stdout)["logs"]] == ["sklearn", "keras"]


def test_follow_refreshes_the_out_file_and_stops_on_interrupt(tmp_path: Path) -> None:
    """--follow keeps rewriting --out as the log grows; Ctrl-C (SIGINT) ends it cleanly."""
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "train.log"
    log.write_text("epoch 1 loss=0.9\n")
    out = tmp_path / "report.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flightlog",
            "analyze",
            str(log),
            "--follow",
            "--interval-secs",
            "0.05",
            "-o",
            "json",
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def points() -> int:
            try:
                document = orjson.loads(out.read_bytes())
            except (FileNotFoundError, orjson.JSONDecodeError):
                return 0
            return sum(len(s["points"]) for run in document["runs"] for s in run["series"])

        deadline = time.monotonic() + 30
        while points() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(log, "a") as handle:
            handle.write("epoch 2 loss=0.8\n")
        while points() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert points() == 2
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


def test_threshold_overrides() -> None:
    """--set changes a threshold; a bad one is a one-line error naming the choices."""
    log = str(GOLDEN / "sklearn" / "mlp_plateau.log")
    default = orjson.loads(invoke(log, "-o", "json").stdout)
    relaxed = orjson.loads(invoke(log, "-o", "json", "--set", "plateau.window=1000").stdout)
    assert [d["kind"] for d in default["runs"][0]["diagnoses"]] == ["plateau"]
    assert relaxed["runs"][0]["diagnoses"] == []
    bad = invoke(log, "--set", "plateau.windw=3")
    assert bad.exit_code == 1
    assert "use one of min_points, min_relative_improvement, window" in bad.output
