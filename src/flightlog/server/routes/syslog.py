"""The syslog receiver's wiring: a listener the server starts when ``syslog:`` is set.

    syslog:
      host: 127.0.0.1
      tcp_port: 1514        # RFC 6587 framing: octet counting or newlines
      udp_port: 1514
      tenant: default
      labels: {job: syslog}

Messages go the way every push goes: ``Ingestor.admit`` (validation, limits), the
tenant's pipeline, then the store. No HTTP endpoint: the router is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
from fastapi import APIRouter

from flightlog.config import config_error
from flightlog.ingest.syslog import SyslogConfig, SyslogListener
from flightlog.model import PushRequest
from flightlog.pipeline.tenants import run_tenant_pipeline
from flightlog.server.services import Services

__all__ = ["on_startup", "router", "syslog_config"]

router = APIRouter(tags=["syslog"])


class _Syslog(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    tcp_port: int | None = pydantic.Field(None, ge=0, le=65535)
    udp_port: int | None = pydantic.Field(None, ge=0, le=65535)
    tenant: str = "default"
    labels: dict[str, str] = {}
    flush_interval_secs: float = pydantic.Field(0.2, gt=0)


def syslog_config(section: Any) -> SyslogConfig:
    """Validate the ``syslog:`` section (None → disabled)."""
    if section is None:
        return SyslogConfig()
    try:
        model = _Syslog.model_validate(section)
    except pydantic.ValidationError as exc:
        raise config_error(exc, prefix="syslog") from exc
    return SyslogConfig(**model.model_dump())


def on_startup(services: Services) -> Callable[[], None] | None:
    config = syslog_config(services.config.section("syslog"))
    if not config.enabled:
        return None

    def store(request: PushRequest) -> None:
        metrics = services.ingest_metrics
        prepared = services.ingestor.admit(request)
        metrics.entries_received.labels(request.tenant).inc(prepared.received_entries)
        processed = run_tenant_pipeline(services.extras, prepared.request)
        if processed.streams:
            result = services.store.append(processed)
            prepared.rejections.merge(result.rejected)
            metrics.entries_stored.labels(request.tenant).inc(result.accepted)
        metrics.record_rejections(request.tenant, prepared.rejections.counts)

    listener = SyslogListener(config, store, clock_ns=services.clock_ns)
    listener.start()
    services.extras["syslog"] = listener
    return listener.stop
