"""``GET /ready`` (the store is open and the server takes requests) and ``GET /healthz``.

``/ready`` answers 503 until startup finished and again once shutdown began, so a
process supervisor or a test fixture can wait on it; ``/healthz`` only says the process
answers HTTP.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/ready", response_class=PlainTextResponse)
def ready(request: Request) -> PlainTextResponse:
    if getattr(request.app.state, "services", None) is None:
        return PlainTextResponse("starting or stopping\n", status_code=503)
    return PlainTextResponse("ready\n")


@router.get("/healthz", response_class=PlainTextResponse)
def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok\n")
