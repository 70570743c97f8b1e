"""Bodies outside the push APIs are bounded by server.max_body_bytes; pushes keep their own."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

LIMIT = 4096


@pytest.fixture
def server(flightlog_server_factory: Callable[..., Any]) -> Any:
    return flightlog_server_factory({"server": {"max_body_bytes": LIMIT}})


def _silence(comment: str) -> dict[str, Any]:
    now = time.time()
    return {
        "matchers": [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
        "createdBy": "test",
        "comment": comment,
    }


def test_an_oversize_body_is_413_and_a_small_one_still_works(server: Any) -> None:
    with server.client() as http:
        small = http.post("/api/v2/silences", json=_silence("short"))
        declared = http.post("/api/v2/silences", json=_silence("x" * (2 * LIMIT)))

        def chunks() -> Iterator[bytes]:  # no Content-Length: the bound applies as it streams
            yield b'{"comment": "'
            for _ in range(8):
                yield b"y" * 1024
            yield b'"}'

        streamed = http.post(
            "/api/v2/silences", content=chunks(), headers={"Content-Type": "application/json"}
        )
        listed = http.get("/api/v2/silences").json()
    assert small.status_code == 200, small.text
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert "server.max_body_bytes" in response.json()["error"]
    assert [s["comment"] for s in listed] == ["short"]  # nothing half-stored


def test_pushes_are_bounded_by_their_own_limit_not_this_one(server: Any) -> None:
    line = "z" * (2 * LIMIT)
    body = {"streams": [{"stream": {"app": "big"}, "values": [[str(time.time_ns()), line]]}]}
    with server.client() as http:
        pushed = http.post("/loki/api/v1/push", json=body)
        stored = http.get(
            "/loki/api/v1/query_range", params={"query": '{app="big"}', "since": "1h"}
        ).json()
    assert pushed.status_code == 204, pushed.text
    assert [v[1] for s in stored["data"]["result"] for v in s["values"]] == [line]


def test_a_body_that_stops_arriving_is_408(flightlog_server_factory: Callable[..., Any]) -> None:
    """A client that sends half a body and stalls gets 408 after server.max_request_secs."""
    import http.client
    import socket
    from urllib.parse import urlparse

    server = flightlog_server_factory({"server": {"max_request_secs": "1s"}})
    address = urlparse(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=20) as client:
        client.sendall(
            b"POST /api/v2/silences HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"comment": "'
        )
        reply = http.client.HTTPResponse(client)  # waits for the answer (bounded by timeout)
        reply.begin()
        body = reply.read()
    assert reply.status == 408, body
    assert b"not received within 1s" in body
