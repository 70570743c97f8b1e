"""Every push format, end to end: a real server, real HTTP, read back through the store."""

from __future__ import annotations

import gzip

import orjson

from flightlog.ingest import encode_loki_json, encode_loki_protobuf, encode_ndjson
from flightlog.model import PushRequest, StreamBatch

from .readback import stored_rows

_T0 = 1_767_225_600_000_000_000


def _request(tenant: str) -> PushRequest:
    return PushRequest(
        tenant,
        (
            StreamBatch(
                (("env", "prod"), ("service", "api")),
                [_T0 + 1, _T0 + 2, _T0 + 3],
                ["GET /a 200", "naïve ünïcode ✓", '{"level":"error","msg":"boom"}'],
                [{"trace_id": "4bf92f3577b34da6", "span_id": "00f067aa"}, None, {"user": "u1"}],
            ),
            StreamBatch(
                (("service", "trainer"),), [_T0 + 10, _T0 + 5], ["step 2", "step 1"], [None, None]
            ),
        ),
    )


def _expected(request: PushRequest):
    rows = [
        (batch.labels, ts, line, md)
        for batch in request.streams
        for ts, line, md in zip(batch.ts_ns, batch.lines, batch.metadata, strict=True)
    ]
    return sorted(rows, key=lambda r: (r[0], r[1], r[2]))


def test_every_format_round_trips_lines_timestamps_labels_and_metadata(flightlog_server):
    """Loki JSON, gzip JSON, protobuf+snappy and NDJSON all store exactly what was sent."""
    pushes = {
        "json": ("/loki/api/v1/push", encode_loki_json, {"Content-Type": "application/json"}),
        "gzip-json": (
            "/loki/api/v1/push",
            lambda r: gzip.compress(encode_loki_json(r)),
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        ),
        "protobuf": (
            "/loki/api/v1/push",
            encode_loki_protobuf,
            {"Content-Type": "application/x-protobuf"},
        ),
        "ndjson": ("/api/v1/push/ndjson", encode_ndjson, {"Content-Type": "application/x-ndjson"}),
    }
    with flightlog_server.client() as http:
        for tenant, (path, encode, headers) in pushes.items():
            response = http.post(
                path, content=encode(_request(tenant)), headers={**headers, "X-Scope-OrgID": tenant}
            )
            assert response.status_code == 204, (tenant, response.text)
        # No X-Scope-OrgID: the tenant is "default".
        assert (
            http.post(
                "/loki/api/v1/push", content=encode_loki_json(_request("default"))
            ).status_code
            == 204
        )
    assert flightlog_server.stop() == 0
    for tenant in [*pushes, "default"]:
        assert stored_rows(flightlog_server.data_dir, tenant) == _expected(_request(tenant)), tenant


def test_metrics_count_received_stored_and_rejected(flightlog_module_server):
    """/metrics exposes entries received, stored and rejected{reason}."""
    tenant = {"X-Scope-OrgID": "metrics-test"}
    good = {"streams": [{"stream": {"a": "b"}, "values": [[str(_T0), "x"], [str(_T0 + 1), "y"]]}]}
    bad_labels = {"streams": [{"stream": {"1bad": "b"}, "values": [[str(_T0), "x"]]}]}
    with flightlog_module_server.client(headers=tenant) as http:
        assert http.post("/loki/api/v1/push", json=good).status_code == 204
        assert http.post("/loki/api/v1/push", json=bad_labels).status_code == 400
        junk = http.post(
            "/loki/api/v1/push", content=b"junk", headers={"Content-Type": "application/json"}
        )
        assert junk.status_code == 400
        text = http.get("/metrics").text
    assert 'flightlog_ingest_entries_received_total{tenant="metrics-test"} 3.0' in text
    assert 'flightlog_ingest_entries_stored_total{tenant="metrics-test"} 2.0' in text
    assert (
        'flightlog_ingest_entries_rejected_total{reason="invalid_labels",tenant="metrics-test"} 1.0'
        in text
    )
    assert (
        'flightlog_ingest_requests_rejected_total{reason="invalid_body",tenant="metrics-test"} 1.0'
        in text
    )
    assert "flightlog_wal_append_fsync_seconds_count" in text
    assert "flightlog_store_head_bytes" in text


def test_health_endpoints(flightlog_module_server):
    with flightlog_module_server.client() as http:
        assert http.get("/ready").status_code == 200
        assert http.get("/healthz").text == "ok\n"
        assert orjson.loads(http.get("/openapi.json").content)["info"]["title"] == "flightlog"
