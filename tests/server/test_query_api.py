"""Loki's read API through a real `flightlog serve` subprocess and real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from .tailing import tail_lines_until

S = 1_000_000_000
NOW = time.time_ns() // S * S
T0 = NOW - 600 * S


@pytest.fixture(scope="module")
def http(flightlog_module_server: Any) -> Iterator[httpx.Client]:
    with flightlog_module_server.client() as client:
        streams = [
            {
                "stream": {"app": "api", "env": "prod"},
                "values": [
                    [str(T0 + 10 * S), orjson.dumps({"level": "info", "latency_ms": 100}).decode()],
                    [
                        str(T0 + 20 * S),
                        orjson.dumps({"level": "error", "latency_ms": 300}).decode(),
                    ],
                    [str(T0 + 70 * S), orjson.dumps({"level": "info", "latency_ms": 200}).decode()],
                ],
            },
            {
                "stream": {"app": "web", "env": "dev"},
                "values": [[str(T0 + 30 * S), "GET /index.html 200", {"trace_id": "abc"}]],
            },
        ]
        response = client.post("/loki/api/v1/push", json={"streams": streams})
        assert response.status_code == 204, response.text
        other = {
            "streams": [
                {
                    "stream": {"app": "api", "env": "prod"},
                    "values": [[str(T0 + 40 * S), "tenant b line"]],
                }
            ]
        }
        response = client.post("/loki/api/v1/push", json=other, headers={"X-Scope-OrgID": "team-b"})
        assert response.status_code == 204, response.text
        yield client


def test_grafana_health_check(http: httpx.Client) -> None:
    """Grafana's Loki data-source test: instant `vector(1)+vector(1)` answers 2."""
    body = http.get(
        "/loki/api/v1/query", params={"query": "vector(1)+vector(1)", "time": str(T0)}
    ).json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"
    assert body["data"]["result"] == [{"metric": {}, "value": [T0 // S, "2"]}]


def test_query_range_logs(http: httpx.Client) -> None:
    params = {
        "query": '{app="api"} | json | level="info"',
        "start": str(T0),
        "end": str(T0 + 100 * S),
        "limit": "10",
    }
    body = http.get("/loki/api/v1/query_range", params=params).json()
    assert body["data"]["resultType"] == "streams"
    values = [v for s in body["data"]["result"] for v in s["values"]]
    assert sorted((v[0] for v in values), reverse=True) == [str(T0 + 70 * S), str(T0 + 10 * S)]
    assert all(s["stream"]["level"] == "info" for s in body["data"]["result"])


def test_query_range_logs_with_interval(http: httpx.Client) -> None:
    """`interval` returns at most one entry per interval per stream, in the query's direction."""
    params = {"query": '{app="api"}', "start": str(T0), "end": str(T0 + 100 * S), "interval": "30s"}
    stamps = {}
    for direction in ("forward", "backward"):
        body = http.get("/loki/api/v1/query_range", params={**params, "direction": direction})
        stamps[direction] = [int(v[0]) for s in body.json()["data"]["result"] for v in s["values"]]
    assert stamps["forward"] == [T0 + 10 * S, T0 + 70 * S]  # 20 is within 30s of 10
    assert stamps["backward"] == [T0 + 70 * S, T0 + 20 * S]  # 10 is within 30s of 20


def test_query_range_matrix_with_grafana_step_and_rfc3339(http: httpx.Client) -> None:
    """Grafana sends `step` as `<n>ms`; times may be RFC3339 or float seconds."""
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((T0 + 60 * S) // S))
    params = {
        "query": 'sum(count_over_time({app="api"}[1m]))',
        "start": start,
        "end": f"{(T0 + 120 * S) / S:.1f}",
        "step": "60000ms",
    }
    body = http.post("/loki/api/v1/query_range", data=params).json()
    assert body["data"]["resultType"] == "matrix"
    assert body["data"]["result"] == [
        {"metric": {}, "values": [[T0 // S + 60, "2"], [T0 // S + 120, "1"]]}
    ]


def test_multi_tenant_read(http: httpx.Client) -> None:
    params = {"query": 'count_over_time({app="api"}[2m])', "time": str(T0 + 100 * S)}
    one = http.get("/loki/api/v1/query", params=params).json()["data"]["result"]
    both = http.get(
        "/loki/api/v1/query", params=params, headers={"X-Scope-OrgID": "default|team-b"}
    ).json()["data"]["result"]
    assert one[0]["value"][1] == "3"
    assert {r["metric"]["__tenant_id__"]: r["value"][1] for r in both} == {
        "default": "3",
        "team-b": "1",
    }


def test_categorize_labels_header(http: httpx.Client) -> None:
    params = {"query": '{app="web"}', "start": str(T0), "end": str(T0 + 100 * S)}
    plain = http.get("/loki/api/v1/query_range", params=params).json()["data"]
    assert len(plain["result"][0]["values"][0]) == 2
    assert plain["result"][0]["stream"]["trace_id"] == "abc"
    headers = {"X-Loki-Response-Encoding-Flags": "categorize-labels"}
    flagged = http.get("/loki/api/v1/query_range", params=params, headers=headers).json()["data"]
    assert flagged["encodingFlags"] == ["categorize-labels"]
    assert flagged["result"][0]["stream"] == {"app": "web", "env": "dev"}
    assert flagged["result"][0]["values"][0][2] == {"structuredMetadata": {"trace_id": "abc"}}


def test_parse_error_is_loki_shaped(http: httpx.Client) -> None:
    response = http.get(
        "/loki/api/v1/query_range", params={"query": '{app="api"} |= ', "start": str(T0)}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    assert body["error"].startswith("parse error at line 1, col 16:")


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"query": '{app="api"}', "start": "yesterday"}, "invalid start"),
        ({"query": '{app="api"}', "step": "-5s", "start": str(T0)}, "step"),
        ({"query": '{app="api"}', "limit": "many"}, "invalid limit"),
        ({"query": '{app="api"}', "direction": "sideways"}, "invalid direction"),
        ({}, "missing required parameter 'query'"),
        ({"query": "x" * 70_000}, "limit"),
        ({"query": '{app="api"}', "start": str(T0 + 10 * S), "end": str(T0)}, "end timestamp"),
    ],
)
def test_bad_parameters_are_400(http: httpx.Client, params: dict[str, str], fragment: str) -> None:
    response = http.post("/loki/api/v1/query_range", data=params)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]


def test_labels_values_series_stats_volume(http: httpx.Client) -> None:
    window = {"start": str(T0), "end": str(T0 + 100 * S)}
    assert http.get("/loki/api/v1/labels", params=window).json() == {
        "status": "success",
        "data": ["app", "env"],
    }
    values = http.get("/loki/api/v1/label/app/values", params=window).json()
    assert values["data"] == ["api", "web"]
    scoped = http.get(
        "/loki/api/v1/label/env/values", params={**window, "query": '{app="web"}'}
    ).json()
    assert scoped["data"] == ["dev"]
    series = http.get("/loki/api/v1/series", params={**window, "match[]": '{app=~".+"}'}).json()
    assert series["data"] == [{"app": "api", "env": "prod"}, {"app": "web", "env": "dev"}]
    stats = http.get("/loki/api/v1/index/stats", params={**window, "query": '{app="api"}'}).json()
    assert stats["streams"] == 1 and stats["entries"] == 3
    volume = http.get("/loki/api/v1/index/volume", params={**window, "query": '{app=~".+"}'}).json()
    assert volume["data"]["resultType"] == "vector"
    by_app = {r["metric"]["app"]: int(r["value"][1]) for r in volume["data"]["result"]}
    assert by_app["web"] == len("GET /index.html 200")


def test_labels_and_values_look_back_six_hours_by_default(http: httpx.Client) -> None:
    """Without start, /labels and /label/<name>/values cover the last 6h, as Loki documents."""
    three_hours_ago = time.time_ns() - 3 * 3600 * S
    old = {"streams": [{"stream": {"old_only": "x"}, "values": [[str(three_hours_ago), "old"]]}]}
    assert http.post("/loki/api/v1/push", json=old).status_code == 204
    assert "old_only" in http.get("/loki/api/v1/labels").json()["data"]
    assert http.get("/loki/api/v1/label/old_only/values").json()["data"] == ["x"]


def test_garbage_form_body_is_400(http: httpx.Client) -> None:
    response = http.post(
        "/loki/api/v1/query",
        content=b"\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "urlencoded" in response.json()["error"]


def test_volume_range_is_a_matrix_of_bytes(http: httpx.Client) -> None:
    params = {"query": '{app="web"}', "start": str(T0), "end": str(T0 + 60 * S), "step": "60s"}
    body = http.get("/loki/api/v1/index/volume_range", params=params).json()
    assert body["data"]["resultType"] == "matrix"
    assert body["data"]["result"] == [
        {"metric": {"app": "web"}, "values": [[T0 // S + 60, str(len("GET /index.html 200"))]]}
    ]


def test_format_query(http: httpx.Client) -> None:
    body = http.get(
        "/loki/api/v1/format_query", params={"query": 'sum(rate({app="api"}|="x"[60s])) by (env)'}
    ).json()
    assert body == {"status": "success", "data": 'sum by (env) (rate({app="api"} |= "x" [1m]))'}


def test_format_query_rejects_an_invalid_template(http: httpx.Client) -> None:
    """A line_format template that cannot compile is a parse error with its position."""
    response = http.get(
        "/loki/api/v1/format_query",
        params={"query": '{app="api"} | line_format "{{ nosuchfn .x }}"'},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errorType"] == "bad_data"
    assert body["error"].startswith("parse error at line 1, col 15:")
    assert 'function "nosuchfn" not defined' in body["error"]


def test_tail_websocket_follows_new_entries(
    http: httpx.Client, flightlog_module_server: Any
) -> None:
    """A tail client gets recent entries, then an entry pushed after it connected."""
    from websockets.sync.client import connect

    url = flightlog_module_server.url.replace("http://", "ws://") + "/loki/api/v1/tail"
    start = str(time.time_ns() - 60 * S)
    with connect(f"{url}?query=%7Bapp%3D%22tail%22%7D&start={start}") as socket:
        pushed = time.time_ns()
        body = {
            "streams": [{"stream": {"app": "tail"}, "values": [[str(pushed), "first live line"]]}]
        }
        assert http.post("/loki/api/v1/push", json=body).status_code == 204
        message = orjson.loads(socket.recv(timeout=20))
        lines = [v[1] for s in message["streams"] for v in s["values"]]
        assert lines == ["first live line"]


def test_idle_tail_reads_only_a_short_window_behind_now(
    http: httpx.Client, flightlog_module_server: Any
) -> None:
    """An idle tail moves on: later polls reread seconds, not everything since its start, yet
    an entry a couple of seconds late still arrives."""
    from websockets.sync.client import connect

    url = flightlog_module_server.url.replace("http://", "ws://") + "/loki/api/v1/tail"
    start = str(time.time_ns() - 120 * S)
    with connect(f"{url}?query=%7Bapp%3D%22tail-idle%22%7D&start={start}") as socket:
        # A marker that arrives proves a poll ran and moved the cursor to just behind now.
        marker = {"stream": {"app": "tail-idle"}, "values": [[str(time.time_ns()), "marker"]]}
        assert http.post("/loki/api/v1/push", json={"streams": [marker]}).status_code == 204
        assert tail_lines_until(socket, "marker") == ["marker"]
        now = time.time_ns()
        values = [[str(now - 60 * S), "older than the window"], [str(now - 2 * S), "late"]]
        values.append([str(now), "live"])
        body = {"streams": [{"stream": {"app": "tail-idle"}, "values": values}]}
        assert http.post("/loki/api/v1/push", json=body).status_code == 204
        assert tail_lines_until(socket, "live") == ["late", "live"]


def test_tail_polls_within_a_lower_tenant_entries_limit(flightlog_server_factory: Any) -> None:
    """A tenant whose max_entries_limit_per_query is under 5000 can tail past the first poll."""
    from websockets.sync.client import connect

    server = flightlog_server_factory(
        {"query_limits": {"defaults": {"max_entries_limit_per_query": 50}}}
    )
    url = server.url.replace("http://", "ws://") + "/loki/api/v1/tail"
    with (
        connect(f"{url}?query=%7Bapp%3D%22tail%22%7D&limit=10") as socket,
        server.client() as client,
    ):
        # "x" arrives in a later poll than "first": the poll that used to fail.
        for line in ("first", "x"):
            body = {
                "streams": [{"stream": {"app": "tail"}, "values": [[str(time.time_ns()), line]]}]
            }
            assert client.post("/loki/api/v1/push", json=body).status_code == 204
            assert tail_lines_until(socket, line) == [line]


def test_tail_rejects_a_metric_query(flightlog_module_server: Any) -> None:
    from websockets.sync.client import connect

    url = flightlog_module_server.url.replace("http://", "ws://") + "/loki/api/v1/tail"
    with connect(f"{url}?query=rate(%7Ba%3D%22b%22%7D%5B1m%5D)") as socket:
        message = orjson.loads(socket.recv(timeout=20))
    assert message["status"] == "error" and "log query" in message["error"]


@pytest.mark.slow
def test_query_time_limit_answers_504(flightlog_server_factory: Any) -> None:
    """A query past max_query_time is interrupted and answered 504 with the reason."""
    server = flightlog_server_factory({"query_limits": {"defaults": {"max_query_time_secs": 1e-9}}})
    with server.client() as client:
        response = client.get(
            "/loki/api/v1/query_range", params={"query": '{app="api"}', "start": str(T0)}
        )
    assert response.status_code == 504
    body = response.json()
    assert body["errorType"] == "timeout"
    assert "max_query_time" in body["error"]


def test_an_instant_log_query_is_refused_as_loki_does(http: httpx.Client) -> None:
    """Loki (3.2 and later) answers a log selector on the instant endpoint with a 400."""
    response = http.get("/loki/api/v1/query", params={"query": '{app="api"}', "time": str(T0)})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    assert "log queries are not supported as an instant query type" in body["error"]
