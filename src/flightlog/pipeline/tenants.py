"""Pipelines per tenant at the server's ingest: the ``pipeline:`` section of flightlog.yaml.

    pipeline:
      stages:                 # every tenant
        - level: {}
        - redact: {kinds: [email, bearer, api_key, card]}
      tenants:
        team-a:               # replaces `stages` for this tenant
          - json: {}
          - labels: {fields: [service]}

A plain list is ``stages`` for every tenant. The server builds ``TenantPipelines`` once at
startup and publishes it in ``services.extras["pipeline"]``; every receiver (Loki push,
NDJSON, OTLP, syslog) hands its validated push to ``run_tenant_pipeline`` before the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from flightlog.errors import ConfigError
from flightlog.model import PushRequest
from flightlog.pipeline.config import PipelineConfig, build_pipeline
from flightlog.pipeline.push import apply_pipeline
from flightlog.pipeline.stage import Pipeline

__all__ = ["EXTRAS_KEY", "TenantPipelines", "run_tenant_pipeline"]

EXTRAS_KEY = "pipeline"


class TenantPipelines:
    """The pipeline each tenant's pushes go through (none: stored as pushed)."""

    def __init__(
        self,
        default: PipelineConfig,
        per_tenant: Mapping[str, PipelineConfig],
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._default_config = default
        self._configs = dict(per_tenant)
        self._registry = registry
        self._built: dict[str, Pipeline] = {}

    @classmethod
    def from_section(
        cls, section: Any, *, registry: CollectorRegistry | None = None
    ) -> TenantPipelines:
        """Validate the ``pipeline:`` section (None → no processing)."""
        if section is None:
            return cls(PipelineConfig(), {}, registry=registry)
        if isinstance(section, list):
            return cls(PipelineConfig.from_yaml_section(section), {}, registry=registry)
        if not isinstance(section, dict) or set(section) - {"stages", "tenants"}:
            raise ConfigError(
                "pipeline: must be a list of stages, or a mapping with `stages:` and `tenants:`"
            )
        tenants = section.get("tenants") or {}
        if not isinstance(tenants, dict):
            raise ConfigError("pipeline.tenants: must map tenant names to lists of stages")
        return cls(
            PipelineConfig.from_yaml_section(section.get("stages"), where="pipeline.stages"),
            {
                str(name): PipelineConfig.from_yaml_section(
                    stages, where=f"pipeline.tenants.{name}"
                )
                for name, stages in tenants.items()
            },
            registry=registry,
        )

    @property
    def empty(self) -> bool:
        return not self._default_config.stages and not any(c.stages for c in self._configs.values())

    def for_tenant(self, tenant: str) -> Pipeline:
        """The tenant's pipeline, built on first use (stages keep per-tenant state)."""
        found = self._built.get(tenant)
        if found is None:
            config = self._configs.get(tenant, self._default_config)
            found = build_pipeline(config, name=f"ingest:{tenant}", registry=self._registry)
            self._built[tenant] = found
        return found

    def apply(self, request: PushRequest) -> PushRequest:
        """``request`` after its tenant's pipeline."""
        if self.empty:
            return request
        return apply_pipeline(self.for_tenant(request.tenant), request)


def run_tenant_pipeline(extras: Mapping[str, object], request: PushRequest) -> PushRequest:
    """The one call receivers make: the tenant's pipeline when the server has one."""
    pipelines = extras.get(EXTRAS_KEY)
    if not isinstance(pipelines, TenantPipelines):
        return request
    return pipelines.apply(request)
