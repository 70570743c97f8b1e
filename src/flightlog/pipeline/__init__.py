"""The processing pipeline: stages over immutable log records, shared by agent and server.

A stage is a plain callable ``LogRecord -> LogRecord | Drop`` (STYLE.md habit 2);
``Pipeline`` runs a list of them over batches and counts received / sent /
dropped{reason} / errors per stage in prometheus-client. ``PipelineConfig`` validates the
``pipeline:`` YAML section and ``build_pipeline`` turns it into stages.

Modules: ``record`` (the record, drop reasons), ``stage`` (the runner), ``parse`` (json,
logfmt, regex, pattern), ``grok`` (named-pattern library), ``timestamp``, ``level``,
``labels`` (labels with a cardinality guard, static, path, metadata, output), ``filter``
(drop/keep line filters, sampling), ``redact``, ``limits`` (line length cap), ``config``,
``metrics``, ``push`` (records to and from ``flightlog.model.PushRequest``), ``tenants``
(the server's per-tenant pipelines: ``run_tenant_pipeline`` is the one call receivers make).
Secret patterns live in the shared leaf ``flightlog.redaction``.
"""

from flightlog.pipeline.config import STAGE_KINDS, PipelineConfig, StageConfig, build_pipeline
from flightlog.pipeline.record import (
    REASON_FILTERED,
    REASON_LINE_TOO_LONG,
    REASON_SAMPLED,
    Drop,
    LogRecord,
)
from flightlog.pipeline.stage import Pipeline, Stage

__all__ = [
    "REASON_FILTERED",
    "REASON_LINE_TOO_LONG",
    "REASON_SAMPLED",
    "STAGE_KINDS",
    "Drop",
    "LogRecord",
    "Pipeline",
    "PipelineConfig",
    "Stage",
    "StageConfig",
    "build_pipeline",
]
