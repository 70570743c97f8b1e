"""``collect.yaml``: what the agent reads, how it processes, where it sends.

    url: http://127.0.0.1:3100          # the flightlog (or Loki) server
    tenant: default
    bearer_token: null
    data_dir: ./flightlog-collect       # positions.json and the on-disk buffer
    inputs:
      - paths: ["logs/*.log"]
        exclude: ["*.tmp"]
        labels: {job: train}
        multiline: {start_pattern: '^\\d{4}-\\d{2}-\\d{2}', max_lines: 500, flush_timeout_secs: 1}
        read_gz: false                  # read .gz files matching paths, and the compressed
                                        # rotated siblings (x.log.1.gz, x.log-2024.gz) of
                                        # the files they match, once each
        start_at: beginning             # or `end` for files found at first start
    pipeline: [ {json: {}}, {level: {}} ]
    batch: {max_lines: 10000, max_bytes: 1048576, flush_interval_secs: 1}
                                        # bounds on every push: at most max_lines entries
                                        # and max_bytes line bytes (see batch_max_bytes)
    buffer: {max_bytes: 536870912}
    retry: {initial_backoff_secs: 0.5, max_backoff_secs: 30}
    stdin_drain_timeout_secs: 5         # `collect -`: after Ctrl-C, read stdin to its end this long
    metrics_port: 9080                  # optional: counters on 127.0.0.1:9080/metrics

Validated with pydantic at this edge; the agent takes the frozen ``CollectConfig``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml

from flightlog.collect.multiline import MultilineConfig
from flightlog.collect.shipper import ShipperConfig
from flightlog.errors import ConfigError
from flightlog.pipeline.config import PipelineConfig

__all__ = ["CollectConfig", "FileInput", "load_collect_config"]


@dataclass(frozen=True, slots=True)
class FileInput:
    """A set of files to tail and the labels their lines get."""

    paths: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    multiline: MultilineConfig | None = None
    read_gz: bool = False
    """Read ``.gz`` files the paths match, and the compressed rotated siblings of the files
    they match (``x.log.gz``, ``x.log.1.gz``, ``x.log-20240101.gz``): each once, and
    only past what was already read of it before it was compressed."""
    start_at: str = "beginning"


@dataclass(frozen=True, slots=True)
class CollectConfig:
    """Everything the agent needs."""

    shipper: ShipperConfig
    data_dir: Path
    inputs: tuple[FileInput, ...] = ()
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    batch_max_lines: int = 10_000
    """Most entries in one push; what is read at once is split into several pushes."""
    batch_max_bytes: int = 1 << 20
    """Most bytes in one push, counted as each entry's line in UTF-8 plus one and its
    structured metadata's names and values. The request body adds labels, timestamps and
    JSON quoting (about 30 bytes an entry) on top: keep this below the server's
    ``max_request_bytes`` with room for that. An entry longer than this on its own is
    pushed alone; lines are cut at 1 MiB when read, shorter with the ``truncate`` stage."""
    batch_flush_interval_secs: float = 1.0
    buffer_max_bytes: int = 512 << 20
    poll_interval_secs: float = 0.1
    glob_interval_secs: float = 1.0
    rotate_wait_secs: float = 1.0
    drain_timeout_secs: float = 10.0
    stdin_drain_timeout_secs: float = 5.0
    """Stdin mode: how long to keep reading stdin after a stop signal, for its last lines."""
    metrics_port: int | None = None
    """Serve the agent's counters (and its pipeline's) on 127.0.0.1:<port>/metrics."""

    def validate(self) -> None:
        if not self.shipper.url.startswith(("http://", "https://")):
            raise ConfigError(f"url {self.shipper.url!r} must start with http:// or https://")
        if self.batch_max_lines < 1 or self.batch_max_bytes < 1024:
            raise ConfigError("batch: max_lines must be >= 1 and max_bytes >= 1024")
        if self.buffer_max_bytes < self.batch_max_bytes:
            raise ConfigError("buffer.max_bytes must be at least batch.max_bytes")
        if self.stdin_drain_timeout_secs < 0:
            raise ConfigError(
                f"stdin_drain_timeout_secs {self.stdin_drain_timeout_secs} must be >= 0"
            )
        for item in self.inputs:
            if item.start_at not in ("beginning", "end"):
                raise ConfigError(
                    f"inputs: start_at {item.start_at!r} must be 'beginning' or 'end'"
                )
            if item.multiline is not None:
                item.multiline.validate()


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class _Multiline(_Model):
    start_pattern: str
    max_lines: int = pydantic.Field(500, ge=1)
    max_bytes: int = pydantic.Field(256 * 1024, ge=1)
    flush_timeout_secs: float = pydantic.Field(1.0, gt=0)


class _Input(_Model):
    paths: list[str] = pydantic.Field(min_length=1)
    labels: dict[str, str] = {}
    exclude: list[str] = []
    multiline: _Multiline | None = None
    read_gz: bool = False
    start_at: Literal["beginning", "end"] = "beginning"


class _Batch(_Model):
    max_lines: int = pydantic.Field(10_000, ge=1)
    max_bytes: int = pydantic.Field(1 << 20, ge=1024)
    flush_interval_secs: float = pydantic.Field(1.0, gt=0)


class _Buffer(_Model):
    max_bytes: int = pydantic.Field(512 << 20, ge=1024)


class _Retry(_Model):
    initial_backoff_secs: float = pydantic.Field(0.5, gt=0)
    max_backoff_secs: float = pydantic.Field(30.0, gt=0)


class _Collect(_Model):
    url: str
    tenant: str = "default"
    bearer_token: str | None = None
    data_dir: str = "./flightlog-collect"
    inputs: list[_Input] = []
    pipeline: list[Any] = []
    batch: _Batch = _Batch()
    buffer: _Buffer = _Buffer()
    retry: _Retry = _Retry()
    poll_interval_secs: float = pydantic.Field(0.1, gt=0)
    glob_interval_secs: float = pydantic.Field(1.0, gt=0)
    rotate_wait_secs: float = pydantic.Field(1.0, ge=0)
    drain_timeout_secs: float = pydantic.Field(10.0, ge=0)
    stdin_drain_timeout_secs: float = pydantic.Field(5.0, ge=0)
    metrics_port: int | None = pydantic.Field(None, ge=0, le=65535)


def config_from_mapping(raw: Any, *, where: str = "collect config") -> CollectConfig:
    """Validate a parsed ``collect.yaml``."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping with at least `url:`")
    try:
        model = _Collect.model_validate(raw)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{where}: {key}: {first['msg']}") from exc
    inputs = tuple(
        FileInput(
            paths=tuple(item.paths),
            labels=dict(item.labels),
            exclude=tuple(item.exclude),
            multiline=None
            if item.multiline is None
            else MultilineConfig(**item.multiline.model_dump()),
            read_gz=item.read_gz,
            start_at=item.start_at,
        )
        for item in model.inputs
    )
    config = CollectConfig(
        shipper=ShipperConfig(
            url=model.url,
            tenant=model.tenant,
            bearer_token=model.bearer_token,
            initial_backoff_secs=model.retry.initial_backoff_secs,
            max_backoff_secs=model.retry.max_backoff_secs,
        ),
        data_dir=Path(model.data_dir),
        inputs=inputs,
        pipeline=PipelineConfig.from_yaml_section(model.pipeline),
        batch_max_lines=model.batch.max_lines,
        batch_max_bytes=model.batch.max_bytes,
        batch_flush_interval_secs=model.batch.flush_interval_secs,
        buffer_max_bytes=model.buffer.max_bytes,
        poll_interval_secs=model.poll_interval_secs,
        glob_interval_secs=model.glob_interval_secs,
        rotate_wait_secs=model.rotate_wait_secs,
        drain_timeout_secs=model.drain_timeout_secs,
        stdin_drain_timeout_secs=model.stdin_drain_timeout_secs,
        metrics_port=model.metrics_port,
    )
    config.validate()
    return config


def load_collect_config(path: Path) -> CollectConfig:
    """Read and validate ``collect.yaml``; ConfigError says which key is wrong and how."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    return config_from_mapping(raw, where=str(path))
