"""``GET /metrics``: the app's Prometheus registry in the text exposition format."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from flightlog.server.deps import get_services
from flightlog.server.services import Services

__all__ = ["router"]

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
def metrics(services: Services = Depends(get_services)) -> Response:
    return Response(generate_latest(services.registry), media_type=CONTENT_TYPE_LATEST)
