"""Correlation IDs across HTTP services: read or create, bind, echo, propagate.

Incoming: ``CorrelationIdMiddleware`` (ASGI: FastAPI, Starlette, ...) and
``WSGICorrelationIdMiddleware`` (Flask, Django, ...) read ``X-Correlation-ID`` -- or
create one when it is missing or malformed -- bind it as ``correlation_id`` in the log
context for the request, and echo it in the response headers. The ID stays bound until
the response is done: for WSGI, while the server iterates a streaming response body and
until it closes it (the app and its body run in one context of their own, so nothing is
left bound in the server's thread afterwards).

Outgoing: ``correlation_headers()`` for any client, ``httpx_event_hooks()`` /
``httpx_async_event_hooks()`` for httpx clients, ``install_requests_correlation(session)``
for requests sessions. httpx and requests are imported only by the helpers that need them.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

import re2

from flightlog.sdk.context import CORRELATION_ID_FIELD, _context, bind, bound_fields

__all__ = [
    "CORRELATION_HEADER",
    "CorrelationIdMiddleware",
    "WSGICorrelationIdMiddleware",
    "correlation_headers",
    "current_correlation_id",
    "httpx_async_event_hooks",
    "httpx_event_hooks",
    "install_requests_correlation",
    "new_correlation_id",
]

CORRELATION_HEADER = "X-Correlation-ID"
# Accept IDs a client may reasonably send; anything else (too long, control characters,
# spaces) is replaced, so a header cannot inject garbage into every log line.
_VALID_ID = re2.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def _accept(value: str | None) -> str:
    if value is not None and _VALID_ID.match(value):
        return value
    return new_correlation_id()


def current_correlation_id() -> str | None:
    value = bound_fields().get(CORRELATION_ID_FIELD)
    return None if value is None else str(value)


def correlation_headers() -> dict[str, str]:
    """``{"X-Correlation-ID": id}`` when one is bound, else ``{}``."""
    value = current_correlation_id()
    return {CORRELATION_HEADER: value} if value is not None else {}


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class CorrelationIdMiddleware:
    """ASGI middleware: bind ``correlation_id`` per request and echo it in the response."""

    def __init__(self, app: ASGIApp, header: str = CORRELATION_HEADER) -> None:
        self.app = app
        self.header = header
        self._header_key = header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope.get("headers", ()):
            if key.lower() == self._header_key:
                incoming = value.decode("latin-1")
                break
        correlation_id = _accept(incoming)
        echoed = (self._header_key, correlation_id.encode("latin-1"))

        async def send_with_header(message: Message) -> None:
            if message.get("type") == "http.response.start":
                headers = [
                    h for h in message.get("headers", ()) if h[0].lower() != self._header_key
                ]
                message = {**message, "headers": [*headers, echoed]}
            await send(message)

        token = bind(**{CORRELATION_ID_FIELD: correlation_id})
        try:
            await self.app(scope, receive, send_with_header)
        finally:
            _context.reset(token)


class WSGICorrelationIdMiddleware:
    """WSGI middleware: bind ``correlation_id`` per request and echo it in the response."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], header: str = CORRELATION_HEADER
    ) -> None:
        self.app = app
        self.header = header
        self._environ_key = "HTTP_" + header.upper().replace("-", "_")

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        correlation_id = _accept(environ.get(self._environ_key))
        lowered = self.header.lower()

        def start_with_header(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            kept = [(k, v) for k, v in headers if k.lower() != lowered]
            return start_response(status, [*kept, (self.header, correlation_id)], exc_info)

        # The app and the iteration of its body run in one copied context with the ID
        # bound: a streaming body logs after __call__ has returned.
        request_context = contextvars.copy_context()
        request_context.run(bind, **{CORRELATION_ID_FIELD: correlation_id})
        body = request_context.run(self.app, environ, start_with_header)
        if isinstance(body, list | tuple):
            return body  # already produced: nothing left to run (and servers may len() it)
        return _BoundBody(body, request_context)


class _BoundBody:
    """A WSGI response body whose iteration and ``close()`` run in the request's context."""

    def __init__(self, body: Iterable[bytes], context: contextvars.Context) -> None:
        self._body = body
        self._iterator: Iterator[bytes] | None = None
        self._context = context

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = self._context.run(iter, self._body)
        return self._context.run(next, self._iterator)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            self._context.run(close)


def _add_header(request: Any) -> None:
    value = current_correlation_id()
    if value is not None and CORRELATION_HEADER not in request.headers:
        request.headers[CORRELATION_HEADER] = value


async def _add_header_async(request: Any) -> None:
    _add_header(request)


def httpx_event_hooks() -> dict[str, list[Callable[[Any], None]]]:
    """Event hooks for ``httpx.Client(event_hooks=...)`` that send the bound correlation ID."""
    return {"request": [_add_header]}


def httpx_async_event_hooks() -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """Event hooks for ``httpx.AsyncClient(event_hooks=...)``."""
    return {"request": [_add_header_async]}


def install_requests_correlation(session: Any) -> Any:
    """Mount an adapter on a ``requests.Session`` that sends the bound correlation ID."""
    from requests.adapters import HTTPAdapter

    class CorrelationIdAdapter(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            _add_header(request)
            return super().send(request, *args, **kwargs)

    adapter = CorrelationIdAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
