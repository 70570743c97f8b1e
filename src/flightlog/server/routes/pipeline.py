"""The ingest pipeline's wiring: builds per-tenant pipelines at startup; shows them.

``on_startup`` validates the ``pipeline:`` section of flightlog.yaml and publishes a
``flightlog.pipeline.tenants.TenantPipelines`` in ``services.extras["pipeline"]``; the
push, OTLP and syslog receivers run it through ``run_tenant_pipeline``.
``GET /api/v1/pipeline`` shows the stages a tenant's pushes go through.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends

from flightlog.config import Role
from flightlog.pipeline.tenants import EXTRAS_KEY, TenantPipelines
from flightlog.server.deps import get_services, require_role
from flightlog.server.services import Services

__all__ = ["on_startup", "router"]

router = APIRouter(tags=["pipeline"])

_read = require_role(Role.READ)


def on_startup(services: Services) -> Callable[[], None] | None:
    services.extras[EXTRAS_KEY] = TenantPipelines.from_section(
        services.config.section("pipeline"), registry=services.registry
    )
    return None


@router.get("/api/v1/pipeline")
def show_pipeline(
    tenants: tuple[str, ...] = Depends(_read),
    services: Services = Depends(get_services),
) -> dict[str, object]:
    """The stages pushes of the request's tenant go through, in order."""
    pipelines = services.extras.get(EXTRAS_KEY)
    if not isinstance(pipelines, TenantPipelines) or pipelines.empty:
        return {"status": "success", "data": {"tenant": tenants[0], "stages": []}}
    stages = [stage.kind for stage in pipelines.for_tenant(tenants[0]).stages]
    return {"status": "success", "data": {"tenant": tenants[0], "stages": stages}}
