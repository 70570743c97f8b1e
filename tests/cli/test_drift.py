"""`flightlog drift` end to end: files in, report out, exit codes for drift and bad input."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flightlog.cli.app import app

runner = CliRunner()


@pytest.fixture
def tables(tmp_path):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    rows = 2_000
    reference = pa.table(
        {"age": rng.normal(40, 10, rows), "country": rng.choice(["DE", "FR"], rows)}
    )
    shifted = pa.table({"age": rng.normal(50, 10, rows), "country": rng.choice(["DE", "FR"], rows)})
    pq.write_table(reference, tmp_path / "ref.parquet")
    pq.write_table(shifted, tmp_path / "cur.parquet")
    return tmp_path


def test_json_output_and_exit_code_one_on_drift(tables) -> None:  # type: ignore[no-untyped-def]
    """A shifted feature is listed in 'drifted' and the command exits 1."""
    result = runner.invoke(
        app,
        [
            "drift",
            "--reference",
            str(tables / "ref.parquet"),
            "--current",
            str(tables / "cur.parquet"),
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 1, result.output
    document = orjson.loads(result.stdout)
    assert document["drifted"] == ["age"]
    kinds = {feature["name"]: feature["kind"] for feature in document["features"]}
    assert kinds == {"age": "numeric", "country": "categorical"}


def test_same_data_exits_zero_with_text_table(tables) -> None:  # type: ignore[no-untyped-def]
    """Comparing a file with itself exits 0 and prints the summary line."""
    reference = str(tables / "ref.parquet")
    result = runner.invoke(app, ["drift", "--reference", reference, "--current", reference])
    assert result.exit_code == 0, result.output
    assert "0 of 2 features drifted" in result.stdout


def test_html_output_to_file(tables) -> None:  # type: ignore[no-untyped-def]
    """--output html writes a standalone page naming each feature."""
    target = tables / "report.html"
    result = runner.invoke(
        app,
        [
            "drift",
            "--reference",
            str(tables / "ref.parquet"),
            "--current",
            str(tables / "cur.parquet"),
            "--output",
            "html",
            "--output-file",
            str(target),
        ],
    )
    assert result.exit_code == 1
    page = target.read_text()
    assert page.startswith("<!doctype html>") and "age" in page and "<script" not in page


@pytest.mark.parametrize(
    "current",
    ["no-such-file.parquet", "garbage.csv"],
)
def test_bad_input_is_one_line_and_exit_two(tables, current: str) -> None:  # type: ignore[no-untyped-def]
    """A missing or unreadable current file gives exit 2 and a single error line."""
    (tables / "garbage.csv").write_bytes(b"\xff\xfe\x00garbage\n1,2,3\n4\n")
    argument = str(tables / current) if current == "garbage.csv" else current
    result = runner.invoke(
        app, ["drift", "--reference", str(tables / "ref.parquet"), "--current", argument]
    )
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--reference", '{service="m"}'], "--reference-start and --reference-end"),
        (
            [
                "--reference",
                '{service="m"}',
                "--reference-start",
                "yesterday",
                "--reference-end",
                "1",
            ],
            "not a time",
        ),
        (["--reference", "missing.parquet"], "not a file and not a LogQL query"),
    ],
)
def test_bad_reference_arguments(tables, arguments: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    """A LogQL reference without its window, a bad time, or a missing file: exit 2, one line."""
    result = runner.invoke(app, ["drift", *arguments, "--current", str(tables / "cur.parquet")])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _files(tables) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        "drift",
        "--reference",
        str(tables / "ref.parquet"),
        "--current",
        str(tables / "cur.parquet"),
        "--output",
        "json",
    ]


def test_threshold_flags_decide_the_verdict(tables) -> None:  # type: ignore[no-untyped-def]
    """With --psi-warning/--psi-alert above the shift's PSI the same files do not drift."""
    result = runner.invoke(app, [*_files(tables), "--psi-warning", "50", "--psi-alert", "100"])
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    assert document["drifted"] == []
    (age,) = (feature for feature in document["features"] if feature["name"] == "age")
    psi = next(test for test in age["tests"] if test["test"] == "psi")
    assert psi["threshold"] == 100


def test_small_sample_and_alpha_flags_reach_the_tests(tables) -> None:  # type: ignore[no-untyped-def]
    """--small-sample-max-rows lets KS decide; its threshold is --p-value-alpha."""
    result = runner.invoke(
        app,
        [*_files(tables), "--small-sample-max-rows", "10000", "--p-value-alpha", "0.001"],
    )
    assert result.exit_code == 1, result.output
    (age,) = (f for f in orjson.loads(result.stdout)["features"] if f["name"] == "age")
    ks = next(test for test in age["tests"] if test["test"] == "ks")
    assert ks["threshold"] == 0.001 and age["drift"] is True


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--psi-alert", "0.05"], "--psi-alert 0.05: must be at least the PSI warning level"),
        (["--psi-bins", "1"], "--psi-bins 1: Input should be greater than or equal to 2"),
        (["--p-value-alpha", "2"], "--p-value-alpha 2.0: Input should be less than 1"),
        (["--small-sample-max-rows", "0"], "--small-sample-max-rows 0"),
    ],
)
def test_bad_threshold_flags_name_the_flag(tables, flags: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    """An out-of-range threshold is exit 2 with one line naming the flag and its value."""
    result = runner.invoke(app, [*_files(tables), *flags])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
