"""`flightlog compare-models` on a JSON-lines file of prediction logs."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from flightlog.cli.app import app

runner = CliRunner()


def _write(path, champion_scale: float, challenger_scale: float) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    lines = []
    for version, scale in (("1", champion_scale), ("2", challenger_scale)):
        for latency in rng.lognormal(np.log(0.02), 0.3, 3_000) * scale:
            lines.append(
                orjson.dumps(
                    {
                        "model_version": version,
                        "latency_seconds": float(latency),
                        "status": "ok",
                        "prediction": 1,
                    }
                )
            )
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_slower_challenger_exits_one_with_rollback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A 2x slower challenger is a rollback: exit 1 and verdict in the JSON."""
    _write(tmp_path / "p.jsonl", 1.0, 2.0)
    result = runner.invoke(
        app,
        [
            "compare-models",
            "--champion",
            "1",
            "--challenger",
            "2",
            "--records",
            str(tmp_path / "p.jsonl"),
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 1, result.output
    document = orjson.loads(result.stdout)
    assert document["verdict"] == "rollback"
    assert document["predictions"] == {"champion": 3_000, "challenger": 3_000}


def test_text_output_for_equal_versions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Equal versions print every metric and a non-rollback verdict, exit 0."""
    _write(tmp_path / "p.jsonl", 1.0, 1.0)
    result = runner.invoke(
        app,
        [
            "compare-models",
            "--champion",
            "1",
            "--challenger",
            "2",
            "--records",
            str(tmp_path / "p.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "latency_p95_seconds" in result.stdout and "verdict:" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"model_version": "1"}\n{not json\n', "not JSON"),
        (b"[1, 2]\n", "JSON object"),
        (b"", "no records"),
    ],
)
def test_bad_files_exit_two_with_one_line(tmp_path, content: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    """Garbage, non-object and empty files exit 2 with one line naming the problem."""
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    result = runner.invoke(
        app, ["compare-models", "--champion", "1", "--challenger", "2", "--records", str(path)]
    )
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_unknown_version_lists_the_known_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Asking for a version that is not in the logs names the versions that are."""
    _write(tmp_path / "p.jsonl", 1.0, 1.0)
    result = runner.invoke(
        app,
        [
            "compare-models",
            "--champion",
            "1",
            "--challenger",
            "9",
            "--records",
            str(tmp_path / "p.jsonl"),
        ],
    )
    assert result.exit_code == 2 and "versions found: 1, 2" in result.stderr


def test_compare_from_two_metrics_scrapes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """--metrics-before/--metrics-after read /metrics scrapes of a ModelMonitor server."""
    from prometheus_client import CollectorRegistry, generate_latest

    from flightlog.monitor.metrics import ModelMonitor

    registry = CollectorRegistry()
    champion, challenger = (
        ModelMonitor("churn", "1", registry=registry),
        ModelMonitor("churn", "2", registry=registry),
    )
    (tmp_path / "before.txt").write_bytes(generate_latest(registry))
    for latency in np.random.default_rng(2).lognormal(np.log(0.02), 0.3, 2_000):
        champion.observe(float(latency))
        challenger.observe(float(latency) * 3)
    (tmp_path / "after.txt").write_bytes(generate_latest(registry))
    result = runner.invoke(
        app,
        [
            "compare-models",
            "--champion",
            "1",
            "--challenger",
            "2",
            "--model",
            "churn",
            "--metrics-before",
            str(tmp_path / "before.txt"),
            "--metrics-after",
            str(tmp_path / "after.txt"),
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 1, result.output
    assert orjson.loads(result.stdout)["verdict"] == "rollback"


def test_two_sources_at_once_are_rejected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """--records and --query together is one clear error."""
    _write(tmp_path / "p.jsonl", 1.0, 1.0)
    result = runner.invoke(
        app,
        [
            "compare-models",
            "--champion",
            "1",
            "--challenger",
            "2",
            "--records",
            str(tmp_path / "p.jsonl"),
            "--query",
            '{a="b"}',
        ],
    )
    assert result.exit_code == 2 and "exactly one of" in result.stderr
