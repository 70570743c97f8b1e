"""Error responses in Loki's shape: ``{"status": "error", "errorType": ..., "error": ...}``.

Routes raise ``HTTPError`` (or a ``flightlog.errors`` exception the app maps) and the
handlers installed by ``install_error_handlers`` render them, so every 4xx/5xx has the
same JSON body that Grafana and Loki clients understand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from flightlog.errors import (
    AuthError,
    ConfigError,
    ForbiddenError,
    QueryError,
    QueryLimitError,
    RateLimitedError,
    ValidationError,
)
from flightlog.ingest.reasons import RATE_LIMITED, REQUEST_TOO_LARGE

__all__ = [
    "HTTPError",
    "JSONErrorResponse",
    "error_response",
    "install_error_handlers",
    "status_for_reason",
]

_ERROR_TYPES = {
    400: "bad_data",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "bad_data",
    408: "timeout",
    413: "bad_data",
    415: "bad_data",
    422: "bad_data",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
    504: "timeout",
}


class HTTPError(Exception):
    """Raise in a route to answer ``status`` with Loki's error JSON."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def status_for_reason(reason: str) -> int:
    """The HTTP status of a push rejected whole for ``reason``."""
    if reason == REQUEST_TOO_LARGE:
        return 413
    if reason == RATE_LIMITED:
        return 429
    return 400


class JSONErrorResponse(Response):
    """A JSON body rendered with orjson (fast, and no deprecated FastAPI class)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(
    status: int,
    message: str,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONErrorResponse:
    body: dict[str, Any] = {
        "status": "error",
        "errorType": _ERROR_TYPES.get(status, "bad_data" if status < 500 else "internal"),
        "error": message,
    }
    if extra:
        body.update(extra)
    return JSONErrorResponse(body, status_code=status, headers=dict(headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    """Map our exceptions and FastAPI's own to Loki-shaped JSON errors."""

    @app.exception_handler(HTTPError)
    async def _http_error(_: Request, exc: HTTPError) -> JSONErrorResponse:
        return error_response(exc.status, exc.message, exc.extra)

    @app.exception_handler(ForbiddenError)
    async def _forbidden(_: Request, exc: ForbiddenError) -> JSONErrorResponse:
        return error_response(403, str(exc))

    @app.exception_handler(AuthError)
    async def _unauthorized(_: Request, exc: AuthError) -> JSONErrorResponse:
        return error_response(
            401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="flightlog"'}
        )

    @app.exception_handler(RateLimitedError)
    async def _rate_limited(_: Request, exc: RateLimitedError) -> JSONErrorResponse:
        return error_response(429, str(exc), {"reason": exc.reason})

    @app.exception_handler(ValidationError)
    async def _validation(_: Request, exc: ValidationError) -> JSONErrorResponse:
        return error_response(status_for_reason(exc.reason), str(exc), {"reason": exc.reason})

    @app.exception_handler(QueryLimitError)
    async def _query_limit(_: Request, exc: QueryLimitError) -> JSONErrorResponse:
        return error_response(400, str(exc), {"limit": exc.limit})

    @app.exception_handler(QueryError)
    async def _query(_: Request, exc: QueryError) -> JSONErrorResponse:
        return error_response(400, str(exc))

    @app.exception_handler(ConfigError)
    async def _config(_: Request, exc: ConfigError) -> JSONErrorResponse:
        return error_response(400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _starlette(_: Request, exc: StarletteHTTPException) -> JSONErrorResponse:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONErrorResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return error_response(400, f"invalid request: {problems}")
