"""Correlation IDs: middleware reads/creates, binds and echoes; client helpers propagate."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import requests

import flightlog
from flightlog.testing import capture_records


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    logging.getLogger("svc").info("handling")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    body = str(flightlog.current_context().get("correlation_id")).encode()
    await send({"type": "http.response.body", "body": body})


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    logging.getLogger("svc").info("handling")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(flightlog.current_context().get("correlation_id")).encode()]


async def _asgi_get(headers: dict[str, str]) -> httpx.Response:
    app = flightlog.CorrelationIdMiddleware(_asgi_app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as client:
        return await client.get("/", headers=headers)


def test_asgi_reads_binds_and_echoes_incoming_id() -> None:
    """A valid incoming X-Correlation-ID is bound for the request and echoed back."""
    import asyncio

    with capture_records() as records:
        response = asyncio.run(_asgi_get({"X-Correlation-ID": "abc-123"}))
    assert response.headers["x-correlation-id"] == "abc-123"
    assert response.text == "abc-123"
    assert [r["correlation_id"] for r in records if r["logger"] == "svc"] == ["abc-123"]
    assert flightlog.current_context() == {}


@pytest.mark.parametrize(
    "incoming", [None, "", "bad id with spaces", "x" * 500, "evil\r\nSet-Cookie: a"]
)
def test_asgi_creates_an_id_when_missing_or_garbage(incoming: str | None) -> None:
    """Missing, oversize or malformed IDs are replaced with a fresh one."""
    import asyncio

    headers = {} if incoming is None else {"X-Correlation-ID": incoming.replace("\r\n", " ")}
    response = asyncio.run(_asgi_get(headers))
    created = response.headers["x-correlation-id"]
    assert len(created) == 32 and created == response.text


def test_wsgi_reads_binds_and_echoes() -> None:
    """The WSGI middleware behaves like the ASGI one."""
    app = flightlog.WSGICorrelationIdMiddleware(_wsgi_app)
    with (
        capture_records() as records,
        httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://svc") as client,
    ):
        echoed = client.get("/", headers={"X-Correlation-ID": "w-1"})
        created = client.get("/")
    assert echoed.headers["x-correlation-id"] == "w-1" and echoed.text == "w-1"
    assert len(created.headers["x-correlation-id"]) == 32
    assert next(r["correlation_id"] for r in records if r["logger"] == "svc") == "w-1"


class _EchoHeaders(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        value = self.headers.get("X-Correlation-ID", "none").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(value)))
        self.end_headers()
        self.wfile.write(value)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def echo_url() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHeaders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_httpx_hooks_send_the_bound_id(echo_url: str) -> None:
    """Outgoing httpx requests carry the bound correlation ID, and none when unbound."""
    with httpx.Client(event_hooks=flightlog.httpx_event_hooks()) as client:
        with flightlog.bound(correlation_id="out-1"):
            assert client.get(echo_url).text == "out-1"
        assert client.get(echo_url).text == "none"


def test_httpx_async_hooks_send_the_bound_id(echo_url: str) -> None:
    """The async hooks do the same for httpx.AsyncClient."""
    import asyncio

    async def call() -> str:
        async with httpx.AsyncClient(event_hooks=flightlog.httpx_async_event_hooks()) as client:
            with flightlog.bound(correlation_id="async-1"):
                return (await client.get(echo_url)).text

    assert asyncio.run(call()) == "async-1"


def test_requests_session_sends_the_bound_id(echo_url: str) -> None:
    """A requests session with the adapter installed carries the bound ID."""
    session = flightlog.install_requests_correlation(requests.Session())
    with flightlog.bound(correlation_id="req-9"):
        assert session.get(echo_url, timeout=5).text == "req-9"
    assert flightlog.correlation_headers() == {}


def _streaming_wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
    """A body produced while the server iterates it, logging as it goes."""
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body() -> Any:
        for index in range(3):
            logging.getLogger("svc.stream").info("chunk %d", index)
            yield f"{flightlog.current_context().get('correlation_id')}\n".encode()

    return body()


@pytest.fixture
def streaming_wsgi_url() -> Any:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

    app = flightlog.WSGICorrelationIdMiddleware(_streaming_wsgi_app)
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_wsgi_keeps_the_id_bound_while_a_streaming_body_is_iterated(
    streaming_wsgi_url: str,
) -> None:
    """Logs written while the server iterates a generator body carry the request's ID."""
    with capture_records() as records:
        first = httpx.get(streaming_wsgi_url, headers={"X-Correlation-ID": "s-1"})
        second = httpx.get(streaming_wsgi_url, headers={"X-Correlation-ID": "s-2"})
    assert first.text.split() == ["s-1"] * 3 and second.text.split() == ["s-2"] * 3
    chunks = [r.get("correlation_id") for r in records if r["logger"] == "svc.stream"]
    assert chunks == ["s-1"] * 3 + ["s-2"] * 3


def test_wsgi_body_close_runs_bound_and_leaves_nothing_bound() -> None:
    """close() of the body runs with the ID; the caller's context is untouched after."""
    closed_with: list[Any] = []

    class Body:
        def __iter__(self) -> Any:
            yield b"x"

        def close(self) -> None:
            closed_with.append(flightlog.current_context().get("correlation_id"))

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        return Body()

    middleware = flightlog.WSGICorrelationIdMiddleware(app)
    body = middleware({"HTTP_X_CORRELATION_ID": "c-1"}, lambda status, headers, exc=None: None)
    assert flightlog.current_context() == {}
    assert list(body) == [b"x"]
    body.close()  # type: ignore[attr-defined]
    assert closed_with == ["c-1"] and flightlog.current_context() == {}
