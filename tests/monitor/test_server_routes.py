"""Monitoring API and LogQL drift through a real `flightlog serve` holding pushed prediction logs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flightlog.cli.app import app
from flightlog.monitor import sources
from time_windows import secs_since

S = 1_000_000_000
NOW = time.time_ns() // S * S
REFERENCE_START = NOW - 1_200 * S
CURRENT_START = NOW - 600 * S
QUERY = '{service="churn-model"}'
ROWS = 400

# A real server subprocess plus the query engine: several seconds on a shared 2-core box.
pytestmark = pytest.mark.slow


def _event(version: str, latency: float, age: float, country: str) -> str:
    return orjson.dumps(
        {
            "event": "prediction",
            "model": "churn",
            "model_version": version,
            "features": {"age": age, "country": country},
            "prediction": int(age > 40),
            "latency_seconds": latency,
            "status": "ok",
        }
    ).decode()


def _values(
    start_ns: int, version: str, latency_scale: float, age_mean: float, seed: int
) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    latencies = rng.lognormal(np.log(0.02), 0.3, ROWS) * latency_scale
    ages = rng.normal(age_mean, 8, ROWS)
    countries = rng.choice(["DE", "FR", "US"], ROWS)
    return [
        [
            str(start_ns + index * S // 2),
            _event(version, float(latencies[index]), float(ages[index]), str(countries[index])),
        ]
        for index in range(ROWS)
    ]


@pytest.fixture(scope="module")
def http(flightlog_module_server: Any) -> Iterator[httpx.Client]:
    with flightlog_module_server.client() as client:
        streams = [
            # Reference window: version 1 only, ages around 35.
            {
                "stream": {"service": "churn-model", "version": "1"},
                "values": _values(REFERENCE_START, "1", 1.0, 35, 1),
            },
            # Current window: version 1 unchanged, version 2 twice as slow; ages drift to 50 for v2.
            {
                "stream": {"service": "churn-model", "version": "1"},
                "values": _values(CURRENT_START, "1", 1.0, 35, 2),
            },
            {
                "stream": {"service": "churn-model", "version": "2"},
                "values": _values(CURRENT_START + S // 4, "2", 2.0, 50, 3),
            },
        ]
        response = client.post("/loki/api/v1/push", json={"streams": streams})
        assert response.status_code == 204, response.text
        yield client


def test_compare_endpoint_rolls_back_slow_challenger(http: httpx.Client) -> None:
    """Version 2 at twice the latency is a rollback, with both versions' counts."""
    response = http.get(
        "/api/v1/models/compare",
        params={
            "champion": "1",
            "challenger": "2",
            "query": QUERY,
            "start": str(CURRENT_START),
            "end": str(NOW),
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["verdict"] == "rollback"
    assert data["predictions"] == {"champion": ROWS, "challenger": ROWS}


def test_drift_endpoint_compares_two_windows(http: httpx.Client) -> None:
    """Ages moving from 35 to a 35/50 mix drift; country does not."""
    response = http.get(
        "/api/v1/drift",
        params={
            "query": QUERY,
            "reference_start": str(REFERENCE_START),
            "reference_end": str(CURRENT_START),
            "start": str(CURRENT_START),
            "end": str(NOW),
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["drifted"] == ["age"]
    kinds = {feature["name"]: feature["kind"] for feature in data["features"]}
    assert kinds == {"age": "numeric", "country": "categorical"}


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (
            "/api/v1/models/compare",
            {"champion": "1", "challenger": "9", "query": QUERY},
            "versions found",
        ),
        (
            "/api/v1/models/compare",
            {"champion": "1", "challenger": "2", "query": "{service="},
            "parse error",
        ),
        (
            "/api/v1/drift",
            {
                "query": f"count_over_time({QUERY}[1m])",
                "reference_start": str(REFERENCE_START),
                "reference_end": str(CURRENT_START),
            },
            "log query",
        ),
        (
            "/api/v1/drift",
            {"query": QUERY, "reference_start": str(NOW), "reference_end": str(REFERENCE_START)},
            "before end",
        ),
    ],
)
def test_bad_requests_answer_400_with_loki_error_json(
    http: httpx.Client, path: str, params: dict[str, str], message: str
) -> None:
    """Unknown versions, bad LogQL, metric queries and inverted windows are 400s that say why."""
    response = http.get(path, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    assert message in body["error"]


def test_query_records_client_reads_the_server(
    http: httpx.Client, flightlog_module_server: Any
) -> None:
    """The LogQL drift source pages through the real query_range and gets every record."""
    records = sources.query_records(
        flightlog_module_server.url, QUERY, CURRENT_START, NOW, limit=300
    )
    assert len(records) == 2 * ROWS
    assert {record["model_version"] for record in records} == {"1", "2"}


def test_cli_drift_with_logql_current(
    http: httpx.Client, flightlog_module_server: Any, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """`flightlog drift --current LOGQL --url` compares a Parquet reference with logged predictions."""
    rng = np.random.default_rng(9)
    reference = pa.table(
        {"age": rng.normal(35, 8, 2_000), "country": rng.choice(["DE", "FR", "US"], 2_000)}
    )
    pq.write_table(reference, tmp_path / "ref.parquet")
    result = CliRunner().invoke(
        app,
        [
            "drift",
            "--reference",
            str(tmp_path / "ref.parquet"),
            "--current",
            QUERY,
            "--url",
            flightlog_module_server.url,
            "--since-secs",
            secs_since(CURRENT_START),
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 1, result.output
    assert orjson.loads(result.stdout)["drifted"] == ["age"]


def test_scheduled_drift_check_runs_stores_and_exports(
    flightlog_server_factory: Any, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A configured check runs on demand, is listed per feature, and exports PSI on /metrics."""
    rng = np.random.default_rng(4)
    reference = pa.table(
        {"age": rng.normal(35, 8, 2_000), "country": rng.choice(["DE", "FR", "US"], 2_000)}
    )
    pq.write_table(reference, tmp_path / "ref.parquet")
    config = {
        "monitor": {
            "drift_checks": [
                {
                    "model": "churn",
                    "query": QUERY,
                    "reference_file": str(tmp_path / "ref.parquet"),
                    "window": "30m",
                    "interval": "1h",
                }
            ]
        }
    }
    server = flightlog_server_factory(config)
    with server.client() as client:
        streams = [
            {
                "stream": {"service": "churn-model"},
                "values": _values(CURRENT_START, "2", 1.0, 50, 5),
            }
        ]
        assert client.post("/loki/api/v1/push", json={"streams": streams}).status_code == 204
        ran = client.post("/api/v1/drift/checks/churn/run")
        assert ran.status_code == 200, ran.text
        assert ran.json()["data"]["drifted"] == ["age"]
        listed = client.get("/api/v1/drift/checks").json()["data"]
        assert [result["model"] for result in listed] == ["churn"]
        assert {feature["name"] for feature in listed[0]["features"]} == {"age", "country"}
        metrics = client.get("/metrics").text
        assert 'ml_data_drift_score{feature="age",model="churn"}' in metrics
        assert client.post("/api/v1/drift/checks/unknown/run").status_code == 404
        # Each result is logged, so a LogQL rule (what the ruler evaluates) can alert on it.
        alert_expr = (
            'max by (feature) (max_over_time({service="flightlog-monitor", model="churn"} '
            '| json | event="drift_check" | unwrap psi [1h])) >= 0.2'
        )
        vector = client.get("/loki/api/v1/query", params={"query": alert_expr}).json()
        assert vector["status"] == "success", vector
        assert [sample["metric"]["feature"] for sample in vector["data"]["result"]] == ["age"]


def test_cli_drift_with_logql_reference_window(
    http: httpx.Client, flightlog_module_server: Any
) -> None:
    """A LogQL reference window of logged predictions against the current window."""
    result = CliRunner().invoke(
        app,
        [
            "drift",
            "--reference",
            QUERY,
            "--reference-start",
            str(REFERENCE_START),
            "--reference-end",
            str(CURRENT_START),
            "--current",
            QUERY,
            "--url",
            flightlog_module_server.url,
            "--since-secs",
            secs_since(CURRENT_START),
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 1, result.output
    assert orjson.loads(result.stdout)["drifted"] == ["age"]
