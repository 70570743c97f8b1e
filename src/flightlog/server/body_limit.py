"""A size bound on every request body that no receiver bounds itself.

The push receivers (Loki, NDJSON, OTLP) read their bodies under the tenant's
``max_request_bytes`` and answer 413 with a reason of their own; every other body
(queries sent as forms, rule groups, silences, alerts, model comparisons) is held to
``ServerConfig.max_body_bytes`` here, before any route parses it. A declared
Content-Length over the bound is refused unread; a body that turns out longer while it
streams in is refused as soon as it passes the bound.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from flightlog.server.errors import error_response

__all__ = ["PUSH_PATH_PREFIXES", "BodyLimit"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Bounded per tenant by the receivers themselves (flightlog.ingest.limits).
PUSH_PATH_PREFIXES = ("/loki/api/v1/push", "/api/v1/push/", "/otlp/")


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``max_bytes`` outside the push paths.

    The body is read here (up to the bound) and handed to the route whole: a route's own
    body parser would turn an error raised mid-read into a generic 400.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_secs: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_secs = max_secs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUSH_PATH_PREFIXES):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        try:
            with anyio.fail_after(self.max_secs):
                body = await self._read(receive)
        except TimeoutError:
            await self._refuse(
                scope, receive, send, 408, f"request body not received within {self.max_secs:g}s"
            )
            return
        if body is None:
            return  # the client went away before its body was complete
        if len(body) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or as much as passes the bound plus one chunk; None on disconnect."""
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            received += len(chunk)
            if received > self.max_bytes or not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int = 413, message: str = ""
    ) -> None:
        message = message or (
            f"request body over {self.max_bytes} bytes: send less, or raise "
            "server.max_body_bytes in flightlog.yaml"
        )
        await error_response(status, message)(scope, receive, send)
