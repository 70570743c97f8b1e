"""The monitoring API of a real `flightlog serve` with tokens and tenants: paging, scoping, CLI auth."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from typer.testing import CliRunner

from flightlog.cli.app import app
from flightlog.monitor import sources
from flightlog.monitor.metrics import ModelMonitor, PredictionStatus
from time_windows import secs_since

S = 1_000_000_000
# Every entry lies in the last minutes: inside the drift checks' window and --since-secs.
T0 = time.time_ns() // S * S - 240 * S
QUERY = '{service="churn-model"}'
ADMIN = "admin-token-0"
A_READ, A_WRITE, B_READ = "a-reader-token", "a-writer-token", "b-reader-token"
SHARED_TS = 30  # entries of each version at T0 itself
GROUP = 7  # then groups of this many entries per second, so ties cross page boundaries
PER_VERSION = SHARED_TS + 4 * GROUP

pytestmark = pytest.mark.slow


def _timestamps() -> list[int]:
    return [T0] * SHARED_TS + [T0 + (1 + index // GROUP) * S for index in range(4 * GROUP)]


def _stream(version: str, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    values = []
    for index, ts in enumerate(_timestamps()):
        event = {
            "event": "prediction",
            "model_version": version,
            "features": {"age": float(rng.normal(35, 8)), "n": index},
            "latency_seconds": 0.01,
            "status": "ok",
        }
        values.append([str(ts), orjson.dumps(event).decode()])
    return {"stream": {"service": "churn-model", "version": version}, "values": values}


def _headers(token: str, tenant: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if tenant:
        headers["X-Scope-OrgID"] = tenant
    return headers


@pytest.fixture(scope="module")
def server(
    flightlog_module_server_factory: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    reference = tmp_path_factory.mktemp("monitor-api") / "ref.parquet"
    pq.write_table(pa.table({"age": np.random.default_rng(1).normal(35, 8, 2_000)}), reference)
    check = {"query": QUERY, "reference_file": str(reference), "window": "30m", "interval": "1h"}
    config = {
        "auth": {
            "tokens": [
                {"token": ADMIN, "tenant": "*", "role": "admin"},
                {"token": A_READ, "tenant": "a", "role": "read"},
                {"token": A_WRITE, "tenant": "a", "role": "write"},
                {"token": B_READ, "tenant": "b", "role": "read"},
            ]
        },
        # Tenant "paging" reads 10 entries per query: the server pages over the ties.
        "query_limits": {"tenants": {"paging": {"max_entries_limit_per_query": 10}}},
        "monitor": {
            "drift_checks": [
                {"model": "churn", "tenant": "a", **check},
                {"model": "fraud", "tenant": "b", **check},
            ]
        },
    }
    started = flightlog_module_server_factory(config)
    with started.client() as http:
        for tenant in ("a", "b", "paging"):
            response = http.post(
                "/loki/api/v1/push",
                json={"streams": [_stream("1", 1), _stream("2", 2)]},
                headers=_headers(ADMIN, tenant),
            )
            assert response.status_code == 204, response.text
    return started


def test_server_side_paging_keeps_entries_sharing_a_timestamp(server: Any) -> None:
    """With 10 entries per query, 60 entries at one timestamp and ties at page ends all count."""
    with server.client() as http:
        response = http.get(
            "/api/v1/models/compare",
            params={
                "champion": "1",
                "challenger": "2",
                "query": QUERY,
                "start": str(T0),
                "end": str(T0 + 10 * S),
            },
            headers=_headers(ADMIN, "paging"),
        )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["predictions"] == {
        "champion": PER_VERSION,
        "challenger": PER_VERSION,
    }


def test_query_records_pages_entries_sharing_a_timestamp(server: Any) -> None:
    """The HTTP client with limit=10 returns every record exactly once, oldest first."""
    records = sources.query_records(
        server.url, QUERY, T0, T0 + 10 * S, limit=10, headers=_headers(A_READ, "a")
    )
    seen = sorted((record["model_version"], record["features"]["n"]) for record in records)
    assert seen == sorted((version, n) for version in "12" for n in range(PER_VERSION))


def test_drift_checks_list_only_the_callers_tenant(server: Any) -> None:
    """Each tenant sees the results of its own checks, never another tenant's."""
    with server.client() as http:
        for model, tenant in (("churn", "a"), ("fraud", "b")):
            ran = http.post(f"/api/v1/drift/checks/{model}/run", headers=_headers(ADMIN, tenant))
            assert ran.status_code == 200, ran.text
        for token, tenant, models in (
            (A_READ, "a", ["churn"]),
            (B_READ, "b", ["fraud"]),
            (ADMIN, "a|b", ["churn", "fraud"]),
        ):
            listed = http.get("/api/v1/drift/checks", headers=_headers(token, tenant))
            assert listed.status_code == 200, listed.text
            assert sorted(result["model"] for result in listed.json()["data"]) == models


@pytest.mark.parametrize(
    ("token", "tenant", "model", "status"),
    [
        (A_WRITE, "a", "churn", 200),
        (A_READ, "a", "churn", 403),  # a heavy job: read is not enough
        (A_WRITE, "a", "fraud", 404),  # tenant b's check is not visible to tenant a
        (A_WRITE, "b", "fraud", 403),  # a's token is not bound to b
    ],
)
def test_running_a_check_needs_write_in_its_tenant(
    server: Any, token: str, tenant: str, model: str, status: int
) -> None:
    """POST .../run needs a write token of the check's tenant."""
    with server.client() as http:
        response = http.post(f"/api/v1/drift/checks/{model}/run", headers=_headers(token, tenant))
    assert response.status_code == status, response.text


def _scrape_pair(errors_of_challenger: int) -> tuple[str, str]:
    registry = CollectorRegistry()
    monitors = {version: ModelMonitor("churn", version, registry=registry) for version in "12"}
    before = generate_latest(registry).decode()
    for version, monitor in monitors.items():
        for index in range(1_000):
            failed = version == "2" and index < errors_of_challenger
            monitor.observe(0.01, PredictionStatus.ERROR if failed else PredictionStatus.OK)
    return before, generate_latest(registry).decode()


def test_compare_from_two_metrics_scrapes_in_the_body(server: Any) -> None:
    """POST /api/v1/models/compare judges versions from two /metrics scrapes."""
    before, after = _scrape_pair(errors_of_challenger=100)
    body = {
        "champion": "1",
        "challenger": "2",
        "model": "churn",
        "metrics_before": before,
        "metrics_after": after,
    }
    with server.client() as http:
        response = http.post("/api/v1/models/compare", json=body, headers=_headers(A_READ, "a"))
        unknown = http.post(
            "/api/v1/models/compare",
            json={**body, "challenger": "9"},
            headers=_headers(A_READ, "a"),
        )
        anonymous = http.post("/api/v1/models/compare", json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["verdict"] == "rollback"
    assert data["predictions"] == {"champion": 1_000, "challenger": 1_000}
    assert unknown.status_code == 400 and "versions found: 1, 2" in unknown.json()["error"]
    assert anonymous.status_code == 401


def _reference_file(tmp_path: Path) -> str:
    path = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"age": np.random.default_rng(3).normal(35, 8, 2_000)}), path)
    return str(path)


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        (["--token", A_READ, "--tenant", "a"], {}),
        (["--org-id", "a"], {"FLIGHTLOG_TOKEN": A_READ}),
    ],
    ids=["flags", "org-id-and-env-token"],
)
def test_cli_drift_reads_a_tenant_behind_auth(
    server: Any, tmp_path: Path, flags: list[str], env: dict[str, str]
) -> None:
    """`flightlog drift --current LOGQL` sends the tenant and the bearer token."""
    arguments = ["drift", "--reference", _reference_file(tmp_path), "--current", QUERY]
    arguments += ["--url", server.url, "--since-secs", secs_since(T0), "--output", "json", *flags]
    result = CliRunner().invoke(app, arguments, env=env)
    assert result.exit_code == 0, result.output
    (age,) = orjson.loads(result.stdout)["features"]
    assert age["name"] == "age" and not age["drift"]


def test_cli_drift_without_token_says_401(server: Any, tmp_path: Path) -> None:
    """Without a token the server's 401 is the one error line, exit 2."""
    arguments = ["drift", "--reference", _reference_file(tmp_path), "--current", QUERY]
    result = CliRunner().invoke(app, [*arguments, "--url", server.url, "--tenant", "a"])
    assert result.exit_code == 2
    assert "HTTP 401" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_compare_models_reads_a_tenant_behind_auth(server: Any) -> None:
    """`flightlog compare-models --query` counts both versions of tenant a's logs."""
    result = CliRunner().invoke(
        app,
        [
            "compare-models",
            "--champion",
            "1",
            "--challenger",
            "2",
            "--query",
            QUERY,
            "--url",
            server.url,
            "--since-secs",
            secs_since(T0),
            "--tenant",
            "a",
            "--token",
            A_READ,
            "--output",
            "json",
        ],
    )
    assert result.exit_code in (0, 1), result.output
    assert orjson.loads(result.stdout)["predictions"] == {
        "champion": PER_VERSION,
        "challenger": PER_VERSION,
    }


def test_compare_from_scrapes_rejects_garbage_truncated_and_oversize_bodies(server: Any) -> None:
    """Bad bodies on POST /api/v1/models/compare are a 400/413 with a message, never a 500."""
    before, after = _scrape_pair(errors_of_challenger=100)
    good = orjson.dumps(
        {
            "champion": "1",
            "challenger": "2",
            "model": "churn",
            "metrics_before": before,
            "metrics_after": after,
        }
    )
    headers = {**_headers(A_READ, "a"), "Content-Type": "application/json"}
    with server.client() as http:
        garbage = http.post("/api/v1/models/compare", content=b"\x00\xffnot json", headers=headers)
        truncated = http.post("/api/v1/models/compare", content=good[:-40], headers=headers)
        wrong_type = http.post(
            "/api/v1/models/compare",
            content=orjson.dumps({**orjson.loads(good), "metrics_before": 7}),
            headers=headers,
        )
        not_a_scrape = http.post(
            "/api/v1/models/compare",
            content=orjson.dumps({**orjson.loads(good), "metrics_before": "}{ nonsense"}),
            headers=headers,
        )
        oversize = http.post(
            "/api/v1/models/compare", content=b" " * (200 * 1024 * 1024), headers=headers
        )
    for response in (garbage, truncated, wrong_type, not_a_scrape):
        assert response.status_code == 400, response.text
        assert response.json()["error"]
    assert oversize.status_code == 413, oversize.text
