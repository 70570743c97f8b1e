"""The ``pipeline:`` YAML section: validated with pydantic at the edge, built into stages.

The section is a list; each item names one stage and its options::

    pipeline:
      - json: {}
      - logfmt: {}
      - level: {}
      - labels: {fields: [service, env], max_values_per_window: 50}
      - metadata: {fields: [trace_id, user_id]}
      - filter: {action: drop, expression: '|= "GET /healthz"'}
      - sample: {rate: 0.1, keep_level: warning}
      - redact: {kinds: [email, bearer, api_key, card], hash_fields: [user_id]}
      - truncate: {max_line_bytes: 16384}

``PipelineConfig.from_yaml_section`` turns that into frozen ``StageConfig`` values (or a
``ConfigError`` naming the item, the key and the fix); ``build_pipeline`` makes stages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pydantic
from prometheus_client import CollectorRegistry

from flightlog.errors import ConfigError
from flightlog.pipeline.filter import FilterStage, SampleStage
from flightlog.pipeline.grok import GrokStage
from flightlog.pipeline.labels import (
    FieldLabelsStage,
    MetadataStage,
    OutputStage,
    PathLabelsStage,
    StaticLabelsStage,
    mapping_from,
)
from flightlog.pipeline.level import DEFAULT_LEVEL_FIELDS, LevelStage
from flightlog.pipeline.limits import TruncateStage
from flightlog.pipeline.parse import JsonStage, LogfmtStage, PatternStage, RegexStage
from flightlog.pipeline.redact import RedactStage
from flightlog.pipeline.stage import Pipeline, Stage
from flightlog.pipeline.timestamp import TimestampStage
from flightlog.redaction import DEFAULT_KINDS

__all__ = ["STAGE_KINDS", "PipelineConfig", "StageConfig", "build_pipeline"]


class _Options(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class _Source(_Options):
    source: str | None = None


class _Regex(_Source):
    expression: str


class _Grok(_Source):
    pattern: str
    custom_patterns: dict[str, str] = {}


class _Timestamp(_Options):
    field: str
    formats: list[str]
    timezone: str = "UTC"


class _Level(_Options):
    fields: list[str] = list(DEFAULT_LEVEL_FIELDS)
    detect_in_line: bool = True
    target: Literal["label", "metadata"] = "label"
    target_name: str = "level"
    default: str | None = None


class _Labels(_Options):
    fields: list[str] | dict[str, str]
    max_values_per_window: int = pydantic.Field(100, ge=1)
    window_secs: float = pydantic.Field(300.0, gt=0)


class _StaticLabels(_Options):
    labels: dict[str, str]
    override: bool = False


class _PathLabels(_Options):
    template: str


class _Metadata(_Options):
    fields: list[str] | dict[str, str]


class _Output(_Options):
    field: str


class _Filter(_Options):
    expression: str = ""
    selector: str = ""
    action: Literal["drop", "keep"] = "drop"


class _Sample(_Options):
    rate: float = pydantic.Field(ge=0.0, le=1.0)
    keep_level: str = "warning"
    trace_fields: list[str] = ["trace_id", "traceID", "traceId", "trace"]


class _Redact(_Options):
    kinds: list[str] = list(DEFAULT_KINDS)
    patterns: list[str] = []
    hash_fields: list[str] = []
    salt: str = ""


class _Truncate(_Options):
    max_line_bytes: int = pydantic.Field(ge=64)
    action: Literal["truncate", "drop"] = "truncate"


def _build(kind: str, options: Mapping[str, Any], clock: Callable[[], float] | None) -> Stage:
    o = dict(options)
    if kind == "json":
        return JsonStage(o["source"])
    if kind == "logfmt":
        return LogfmtStage(o["source"])
    if kind == "regex":
        return RegexStage(o["expression"], o["source"])
    if kind == "pattern":
        return PatternStage(o["expression"], o["source"])
    if kind == "grok":
        return GrokStage(o["pattern"], o["source"], o["custom_patterns"])
    if kind == "timestamp":
        return TimestampStage(o["field"], o["formats"], o["timezone"])
    if kind == "level":
        return LevelStage(
            o["fields"],
            detect_in_line=o["detect_in_line"],
            target=o["target"],
            target_name=o["target_name"],
            default=o["default"],
        )
    if kind == "labels":
        extra = {} if clock is None else {"clock": clock}
        return FieldLabelsStage(
            mapping_from(o["fields"]),
            max_values_per_window=o["max_values_per_window"],
            window_secs=o["window_secs"],
            **extra,
        )
    if kind == "static_labels":
        return StaticLabelsStage(o["labels"], override=o["override"])
    if kind == "path_labels":
        return PathLabelsStage(o["template"])
    if kind == "metadata":
        return MetadataStage(mapping_from(o["fields"]))
    if kind == "output":
        return OutputStage(o["field"])
    if kind == "filter":
        return FilterStage(o["expression"], action=o["action"], selector=o["selector"])
    if kind == "sample":
        return SampleStage(o["rate"], keep_level=o["keep_level"], trace_fields=o["trace_fields"])
    if kind == "redact":
        return RedactStage(
            o["kinds"], patterns=o["patterns"], hash_fields=o["hash_fields"], salt=o["salt"]
        )
    if kind == "truncate":
        return TruncateStage(o["max_line_bytes"], action=o["action"])
    raise ConfigError(f"unknown pipeline stage {kind!r}")  # pragma: no cover - checked earlier


_MODELS: dict[str, type[_Options]] = {
    "json": _Source,
    "logfmt": _Source,
    "regex": _Regex,
    "pattern": _Regex,
    "grok": _Grok,
    "timestamp": _Timestamp,
    "level": _Level,
    "labels": _Labels,
    "static_labels": _StaticLabels,
    "path_labels": _PathLabels,
    "metadata": _Metadata,
    "output": _Output,
    "filter": _Filter,
    "sample": _Sample,
    "redact": _Redact,
    "truncate": _Truncate,
}

STAGE_KINDS: tuple[str, ...] = tuple(_MODELS)


@dataclass(frozen=True, slots=True)
class StageConfig:
    """One validated stage: its kind and its options with defaults filled in."""

    kind: str
    options: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """A validated ``pipeline:`` section."""

    stages: tuple[StageConfig, ...] = ()

    @classmethod
    def from_yaml_section(cls, section: Any, *, where: str = "pipeline") -> PipelineConfig:
        """Validate the parsed YAML of a ``pipeline:`` section (a list of one-key mappings)."""
        if section is None:
            return cls()
        if not isinstance(section, list):
            raise ConfigError(f"{where}: must be a list of stages like `- json: {{}}`")
        stages = []
        for index, item in enumerate(section):
            at = f"{where}[{index}]"
            if isinstance(item, str):
                item = {item: {}}
            if not isinstance(item, dict) or len(item) != 1:
                raise ConfigError(
                    f"{at}: each stage is one mapping like `- json: {{}}`, got {item!r}"
                )
            ((kind, options),) = item.items()
            model = _MODELS.get(kind)
            if model is None:
                raise ConfigError(f"{at}: unknown stage {kind!r}; use one of {', '.join(_MODELS)}")
            try:
                validated = model.model_validate(options or {})
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                key = ".".join(str(part) for part in first["loc"])
                raise ConfigError(f"{at}.{kind}.{key}: {first['msg']}") from exc
            stages.append(StageConfig(kind, validated.model_dump()))
        config = cls(tuple(stages))
        config.validate()
        return config

    def validate(self) -> None:
        """Build every stage once so bad patterns and values fail at load, not at ingest."""
        build_pipeline(self, registry=CollectorRegistry())


# Stages that can copy a field's value into the line, a label or structured metadata.
_PROMOTING_KINDS = frozenset({"labels", "metadata", "output"})


def _skip_dead_field_scrubbing(stages: Sequence[Stage]) -> None:
    for index, stage in enumerate(stages):
        if isinstance(stage, RedactStage):
            stage.scrub_fields = any(
                later.kind in _PROMOTING_KINDS for later in stages[index + 1 :]
            )


def build_pipeline(
    config: PipelineConfig | Sequence[Stage],
    *,
    name: str = "default",
    registry: CollectorRegistry | None = None,
    clock: Callable[[], float] | None = None,
) -> Pipeline:
    """Stages for ``config`` (fresh state each call), counted under pipeline ``name``."""
    if isinstance(config, PipelineConfig):
        stages = []
        for index, stage in enumerate(config.stages):
            try:
                stages.append(_build(stage.kind, stage.options, clock))
            except ConfigError as exc:
                raise ConfigError(f"pipeline[{index}].{stage.kind}: {exc}") from exc
        _skip_dead_field_scrubbing(stages)
        return Pipeline(stages, name=name, registry=registry)
    return Pipeline(list(config), name=name, registry=registry)
