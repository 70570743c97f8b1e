"""`flightlog query`, `labels` and `tail` as a user runs them: real CLI process, real server."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

S = 1_000_000_000


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> Ran:
    """The real typer app in-process (the tail test below runs the console script)."""
    from typer.testing import CliRunner

    from flightlog.cli.app import app

    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return Ran(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def server(flightlog_module_server: Any) -> Iterator[Any]:
    now = time.time_ns()
    streams = [
        {
            "stream": {"service": "cli-api", "env": "prod"},
            "values": [
                [str(now - 30 * S), 'level=error msg="CUDA out of memory"'],
                [str(now - 20 * S), "level=info msg=ok"],
            ],
        }
    ]
    with flightlog_module_server.client() as http:
        assert http.post("/loki/api/v1/push", json={"streams": streams}).status_code == 204
    yield flightlog_module_server


def test_query_text_output(server: Any) -> None:
    result = run_cli("query", '{service="cli-api"}', "--url", server.url, "--since", "5m")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert 'env="prod", service="cli-api"' in lines[0] and "msg=ok" in lines[0]  # newest first
    assert "CUDA out of memory" in lines[1]


def test_query_direction_forward_prints_oldest_first(server: Any) -> None:
    """--direction forward prints the entries oldest first, backward (the default) newest first."""
    args = ("query", '{service="cli-api"}', "--url", server.url, "--since", "5m", "-o", "jsonl")
    forward = run_cli(*args, "--direction", "forward")
    assert forward.returncode == 0, forward.stderr
    lines = [orjson.loads(line)["line"] for line in forward.stdout.splitlines()]
    assert lines == ['level=error msg="CUDA out of memory"', "level=info msg=ok"]
    backward = run_cli(*args)
    assert [orjson.loads(line)["line"] for line in backward.stdout.splitlines()] == lines[::-1]


def test_query_jsonl_and_csv(server: Any) -> None:
    result = run_cli("query", '{service="cli-api"} |= "CUDA"', "--url", server.url, "-o", "jsonl")
    assert result.returncode == 0, result.stderr
    records = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["labels"]["service"] for r in records] == ["cli-api"]
    result = run_cli("query", '{service="cli-api"}', "--url", server.url, "-o", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["ts", "time", "labels", "line"] and len(rows) == 3


def test_query_metric_as_table_and_json(server: Any) -> None:
    query = 'sum(count_over_time({service="cli-api"}[5m]))'
    result = run_cli(
        "query", query, "--url", server.url, "--since", "2m", "--step", "1m", "-o", "json"
    )
    assert result.returncode == 0, result.stderr
    body = orjson.loads(result.stdout)
    assert body["data"]["resultType"] == "matrix"
    assert body["data"]["result"][0]["values"][-1][1] == "2"
    table = run_cli("query", query, "--url", server.url, "--since", "2m", "--step", "1m")
    assert table.returncode == 0 and "value" in table.stdout and "2" in table.stdout


def test_query_errors_are_one_line(server: Any) -> None:
    result = run_cli("query", '{service="cli-api"', "--url", server.url)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "parse error at line 1" in result.stderr
    unreachable = run_cli("query", '{a="b"}', "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
    bad = run_cli("query", '{a="b"}', "--url", server.url, "--since", "soon")
    assert bad.returncode == 1 and "--since" in bad.stderr
    bad = run_cli("query", '{a="b"}', "--url", server.url, "-o", "xml")
    assert bad.returncode == 1 and "--output" in bad.stderr


def test_labels_and_values(server: Any) -> None:
    names = run_cli("labels", "--url", server.url)
    assert names.returncode == 0 and {"env", "service"} <= set(names.stdout.split())
    values = run_cli("labels", "service", "--url", server.url, "-o", "json")
    assert "cli-api" in orjson.loads(values.stdout)


def test_tail_prints_live_entries(server: Any) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    command = [
        sys.executable,
        "-m",
        "flightlog",
        "tail",
        '{service="cli-tail"}',
        "--url",
        server.url,
        "-o",
        "jsonl",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 30
        body = {
            "streams": [
                {"stream": {"service": "cli-tail"}, "values": [[str(time.time_ns()), "live!"]]}
            ]
        }
        assert process.stdout is not None
        with httpx.Client(base_url=server.url) as http:
            # Push until the tail (which starts asynchronously) has printed the line.
            assert http.post("/loki/api/v1/push", json=body).status_code == 204
            line = process.stdout.readline()
            assert time.monotonic() < deadline
        assert orjson.loads(line)["line"] == "live!"
    finally:
        process.terminate()
        process.wait(timeout=10)
