"""The pipeline at the server's ingest (per tenant), and real clients pushing through it."""

from __future__ import annotations

import logging
import time

import pytest

from flightlog.errors import ConfigError
from flightlog.pipeline.tenants import TenantPipelines

PIPELINE_CONFIG = {
    "pipeline": {
        "stages": [
            {"json": {}},
            {"level": {}},
            {"metadata": {"fields": ["trace_id"]}},
            {"filter": {"action": "drop", "expression": '|= "GET /healthz"'}},
            {"redact": {"kinds": ["email", "bearer"]}},
        ],
        "tenants": {"raw": []},
    }
}


def _entries(server, selector: str, tenant: str = "default"):  # type: ignore[no-untyped-def]
    now = time.time_ns()
    with server.client() as http:
        response = http.get(
            "/loki/api/v1/query_range",
            params={
                "query": selector,
                "start": str(now - 3600 * 10**9),
                "end": str(now + 10**9),
                "limit": "100",
            },
            headers={
                "X-Scope-OrgID": tenant,
                "X-Loki-Response-Encoding-Flags": "categorize-labels",
            },
        )
    assert response.status_code == 200, response.text
    return [
        (
            stream["stream"],
            value[1],
            (value[2] if len(value) > 2 else {}).get("structuredMetadata", {}),
        )
        for stream in response.json()["data"]["result"]
        for value in stream["values"]
    ]


def _wait(server, selector: str, count: int, tenant: str = "default"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = _entries(server, selector, tenant)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(
        f"{selector}: {len(_entries(server, selector, tenant))} entries, expected {count}"
    )


@pytest.fixture(scope="module")
def pipeline_server(flightlog_module_server_factory):  # type: ignore[no-untyped-def]
    return flightlog_module_server_factory(PIPELINE_CONFIG)


def _push(server, lines: list[str], tenant: str = "default", job: str = "api") -> int:  # type: ignore[no-untyped-def]
    now = time.time_ns()
    body = {
        "streams": [
            {
                "stream": {"job": job},
                "values": [[str(now + i), line] for i, line in enumerate(lines)],
            }
        ]
    }
    with server.client() as http:
        return http.post(
            "/loki/api/v1/push", json=body, headers={"X-Scope-OrgID": tenant}
        ).status_code


def test_ingest_pipeline_processes_pushes(pipeline_server):
    """Configured stages run on Loki pushes: parse, level label, metadata, filter, redaction."""
    lines = [
        '{"level":"WARN","msg":"slow batch","trace_id":"t-1"}',
        "GET /healthz 200",
        "ERROR login failed for bob@example.com with Bearer abc.def",
    ]
    assert _push(pipeline_server, lines) == 204
    entries = _wait(pipeline_server, '{job="api"}', 2)
    by_level = {labels["level"]: (line, metadata) for labels, line, metadata in entries}
    assert set(by_level) == {"warning", "error"}
    assert by_level["warning"][1]["trace_id"] == "t-1"
    assert by_level["error"][0] == "ERROR login failed for [EMAIL] with Bearer [REDACTED]"


def test_tenant_without_stages_is_stored_as_pushed(pipeline_server):
    """A tenant given an empty stage list bypasses the default stages."""
    assert _push(pipeline_server, ["ERROR mail bob@example.com"], tenant="raw") == 204
    ((labels, line, _),) = _wait(pipeline_server, '{job="api"}', 1, tenant="raw")
    assert labels == {"job": "api"} and line == "ERROR mail bob@example.com"


def test_pipeline_endpoint_shows_stages(pipeline_server):
    """GET /api/v1/pipeline lists the tenant's stages."""
    with pipeline_server.client() as http:
        stages = http.get("/api/v1/pipeline").json()["data"]["stages"]
        raw = http.get("/api/v1/pipeline", headers={"X-Scope-OrgID": "raw"}).json()["data"][
            "stages"
        ]
    assert (stages, raw) == (["json", "level", "metadata", "filter", "redact"], [])


def test_pipeline_counters_on_metrics(pipeline_server):
    """Stage counters (received/sent/dropped{reason}) are exposed on /metrics."""
    _push(pipeline_server, ["GET /healthz 200"], job="metrics")
    with pipeline_server.client() as http:
        text = http.get("/metrics").text
    assert (
        'flightlog_pipeline_dropped_records_total{pipeline="ingest:default",reason="filtered",stage="3:filter"}'
        in text
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ([{"sample": {"rate": 3}}], "rate"),
        ({"stages": [], "tenant": {}}, "tenants"),
        ({"tenants": {"a": [{"jsn": {}}]}}, "pipeline.tenants.a[0]"),
    ],
)
def test_invalid_pipeline_sections_are_refused(section, message):
    """A bad pipeline section raises ConfigError (the server's startup hook lets it stop the start)."""
    with pytest.raises(ConfigError) as caught:
        TenantPipelines.from_section(section)
    assert message in str(caught.value)


def test_python_logging_loki_client_pushes(pipeline_server):
    """The real python-logging-loki handler pushes to flightlog's Loki API."""
    import logging_loki

    handler = logging_loki.LokiHandler(
        url=f"{pipeline_server.url}/loki/api/v1/push", tags={"app": "legacy-svc"}, version="1"
    )
    logger = logging.getLogger("logging-loki-test")
    logger.propagate = False
    logger.addHandler(handler)
    logger.error("payment failed", extra={"tags": {"region": "eu"}})
    handler.close()
    ((labels, line, _),) = _wait(pipeline_server, '{app="legacy-svc"}', 1)
    assert labels["region"] == "eu" and labels["level"] == "error"
    assert "payment failed" in line
