"""The app's contract for other packages: services on app.state, startup hooks, error shape."""

from __future__ import annotations

import socket
import time

from fastapi.testclient import TestClient

from flightlog.config import parse_config
from flightlog.server import Services, create_app
from flightlog.server.background import PeriodicTask


def test_startup_hooks_see_services_and_their_stop_runs_at_shutdown(tmp_path):
    """A hook runs once before requests, may publish extras, and is stopped at shutdown."""
    events: list[str] = []

    def hook(services: Services):
        events.append(f"start {services.config.data_dir.name}")
        services.extras["probe"] = "published"
        return lambda: events.append("stop")

    app = create_app(parse_config({}, data_dir=tmp_path / "data"), startup_hooks=[hook])
    with TestClient(app) as client:
        assert events == ["start data"]
        assert app.state.services.extras["probe"] == "published"
        assert client.get("/ready").status_code == 200
    assert events == ["start data", "stop"]
    assert app.state.services is None


def test_unknown_routes_answer_loki_shaped_errors(flightlog_app_client):
    response = flightlog_app_client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json()["status"] == "error"
    assert response.json()["errorType"] == "not_found"


def test_periodic_task_keeps_running_after_a_failure():
    """One failing run is counted; the task goes on."""
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first run fails")

    task = PeriodicTask("probe", 0.01, work).start()
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    task.stop()
    assert len(calls) >= 3
    assert task.failures == 1


def test_a_stalled_body_gets_408(flightlog_server_factory):
    """A client that stops sending mid-body is answered once max_request_secs passes."""
    server = flightlog_server_factory({"server": {"max_request_secs": 0.5}})
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(
            b"POST /loki/api/v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"streams": ['
        )
        answer = b""
        while b"within" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"not received within 0.5s" in answer
