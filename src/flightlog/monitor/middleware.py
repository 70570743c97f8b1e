"""ASGI middleware for FastAPI/Starlette model servers: time requests, bind the correlation ID.

``ModelMonitorMiddleware`` records every HTTP request on the chosen paths as one
prediction of its ``ModelMonitor`` (a 5xx response or an exception counts as an error),
and — unless told not to — wraps the app in flightlog's SDK ``CorrelationIdMiddleware`` so
``X-Correlation-ID`` is read (or created), bound in the log context for the request, and
echoed in the response. Sampled prediction logs written during the request then carry it.

    app.add_middleware(ModelMonitorMiddleware, monitor=monitor, paths=("/predict",))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from flightlog.monitor.metrics import ModelMonitor, PredictionStatus

__all__ = ["ModelMonitorMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SERVER_ERROR = 500


class ModelMonitorMiddleware:
    """Times requests into ``monitor``; ``paths`` limits which (None: all but ``exclude_paths``)."""

    def __init__(
        self,
        app: ASGIApp,
        monitor: ModelMonitor,
        paths: tuple[str, ...] | None = None,
        exclude_paths: tuple[str, ...] = ("/metrics", "/health", "/ready"),
        bind_correlation_id: bool = True,
    ) -> None:
        self.monitor = monitor
        self.paths = paths
        self.exclude_paths = exclude_paths
        self._inner = app
        if bind_correlation_id:
            from flightlog.sdk.correlation import CorrelationIdMiddleware

            self.app: ASGIApp = CorrelationIdMiddleware(self._timed)
        else:
            self.app = self._timed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    async def _timed(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or not self._monitored(scope.get("path", "")):
            await self._inner(scope, receive, send)
            return
        monitor = self.monitor
        status_code = _SERVER_ERROR

        async def send_recording_status(message: Message) -> None:
            nonlocal status_code
            if message.get("type") == "http.response.start":
                status_code = int(message.get("status", _SERVER_ERROR))
            await send(message)

        start = monitor.clock()
        try:
            await self._inner(scope, receive, send_recording_status)
        except BaseException:
            monitor.observe(monitor.clock() - start, PredictionStatus.ERROR)
            raise
        status = PredictionStatus.ERROR if status_code >= _SERVER_ERROR else PredictionStatus.OK
        monitor.observe(monitor.clock() - start, status)

    def _monitored(self, path: str) -> bool:
        if self.paths is not None:
            return path in self.paths
        return path not in self.exclude_paths
