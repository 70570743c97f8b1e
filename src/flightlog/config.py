"""The ``flightlog.yaml`` file: pydantic models at the edge, frozen dataclasses inside.

``load_config(path)`` reads YAML, validates it and returns a frozen ``Config``; every
problem becomes one ``ConfigError`` naming the key path and the bad value, e.g.
``flightlog.yaml: limits.defaults.max_line_bytes = -5: must be > 0``. Zero config works:
``load_config(None)`` gives the defaults.

Sections owned here::

    data_dir: ./flightlog-data
    server:  {host: 127.0.0.1, port: 3100, max_request_secs: 30, max_body_bytes: 16777216,
              maintenance_interval_secs: 10}
    store:   {max_segment_bytes, max_segment_age_secs, out_of_order_window_secs, fsync,
              retention_period_secs: 30d, retention_rules: [{selector: '{level="debug"}',
              period_secs: 7d, tenant: optional}]}
    limits:  {defaults: {max_request_bytes, ingestion_rate_bytes_per_sec, ...},
              tenants: {team-a: {max_line_bytes: 1000}}}
    auth:    {tokens: [{token: s3cret, tenant: team-a, role: write}]}   # tenant "*": any

Fields ending in ``_secs`` take seconds or a Prometheus duration string (``90s``, ``7d``).

Sections owned by other packages (the design choice): the root is *closed* so a typo
such as ``retension:`` is an error, but the names in ``EXTENSION_SECTIONS`` (``rules``,
``alerting``, ``slos``, ``pipeline``, ``monitor``, ``query_limits``, ...) are accepted
as-is and kept raw in ``Config.sections``. The package that owns a section validates it
itself, typically with its own pydantic model and ``config_error(exc, prefix="rules")``
to get the same message style. To add a section, add its name to ``EXTENSION_SECTIONS``
(one-line edit) and read it with ``config.section("name")``.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

import pydantic
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from flightlog import durations
from flightlog.errors import ConfigError
from flightlog.ingest.limits import IngestLimits, TenantLimits
from flightlog.ingest.selectors import parse_selector
from flightlog.store import RetentionRule, StoreConfig

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "EXTENSION_SECTIONS",
    "AuthConfig",
    "AuthToken",
    "Config",
    "Role",
    "ServerConfig",
    "config_error",
    "load_config",
    "parse_config",
    "parse_duration_secs",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3100
DEFAULT_DATA_DIR = Path("flightlog-data")

EXTENSION_SECTIONS: tuple[str, ...] = (
    "alerting",
    "collect",
    "demo",
    "monitor",
    "notify",
    "otlp",
    "pipeline",
    "query_limits",
    "rules",
    "sdk",
    "slos",
    "syslog",
    "ui",
)
"""Top-level sections other packages own; kept raw in ``Config.sections``."""


def parse_duration_secs(value: object) -> float:
    """Seconds from a number or a Prometheus duration (``1h30m``, ``7d``); raise ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"expected seconds or a duration like 7d, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = durations.parse_duration_secs(value)
        except ValueError:
            raise ValueError(
                f"expected seconds or a duration like 90s, 15m, 7d, got {value!r}"
            ) from None
    else:
        raise ValueError(f"expected seconds or a duration like 7d, got {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"must be a positive duration, got {value!r}")
    return seconds


class Role(StrEnum):
    """What a bearer token may do; ``admin`` may do everything."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        return self is Role.ADMIN or self is needed


@dataclass(frozen=True, slots=True)
class AuthToken:
    """A bearer token bound to one tenant (``"*"``: every tenant) and one role."""

    token: str = field(repr=False)
    tenant: str
    role: Role

    def covers(self, tenant: str) -> bool:
        return self.tenant == "*" or self.tenant == tenant


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Bearer tokens; none configured means the server is open (the single-user default)."""

    tokens: tuple[AuthToken, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def find(self, token: str) -> AuthToken | None:
        """The configured token equal to ``token``, compared in constant time."""
        given = token.encode()
        found = None
        for candidate in self.tokens:
            if hmac.compare_digest(candidate.token.encode(), given):
                found = candidate
        return found


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """HTTP server options."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_request_secs: float = 30.0
    """A request body not fully received within this many seconds gets HTTP 408."""
    max_body_bytes: int = 16 * 1024 * 1024
    """Bodies of everything but the push APIs (queries, rules, silences, ...) over this: 413."""
    maintenance_interval_secs: float = 10.0
    """How often the background job cuts segments and applies retention."""


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    data_dir: Path = DEFAULT_DATA_DIR
    server: ServerConfig = field(default_factory=ServerConfig)
    store: StoreConfig = field(default_factory=lambda: StoreConfig(DEFAULT_DATA_DIR))
    limits: IngestLimits = field(default_factory=IngestLimits)
    auth: AuthConfig = field(default_factory=AuthConfig)
    sections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "defaults"
    """Where this came from (a file path), for messages."""

    def section(self, name: str) -> Any:
        """The raw data of an extension section (``None`` when absent)."""
        if name not in EXTENSION_SECTIONS:
            raise KeyError(f"{name!r} is not in flightlog.config.EXTENSION_SECTIONS")
        return self.sections.get(name)


# ---------------------------------------------------------------- pydantic edge models

Seconds = Annotated[float, BeforeValidator(parse_duration_secs)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Server(_Model):
    host: str = DEFAULT_HOST
    port: int = Field(DEFAULT_PORT, ge=0, le=65535)
    max_request_secs: Seconds = 30.0
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    maintenance_interval_secs: Seconds = 10.0


class _RetentionRule(_Model):
    selector: str
    period_secs: Seconds
    tenant: str | None = None

    @pydantic.field_validator("selector")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse_selector(value)
        return value


class _Store(_Model):
    max_segment_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    max_segment_age_secs: Seconds = 300.0
    out_of_order_window_secs: Seconds = 3600.0
    retention_period_secs: Seconds | None = None
    retention_rules: list[_RetentionRule] = []
    fsync: bool = True


_DEFAULT_LIMITS = TenantLimits()


class _Limits(_Model):
    max_request_bytes: int = Field(_DEFAULT_LIMITS.max_request_bytes, gt=0)
    ingestion_rate_bytes_per_sec: float = Field(_DEFAULT_LIMITS.ingestion_rate_bytes_per_sec, gt=0)
    ingestion_burst_bytes: int = Field(_DEFAULT_LIMITS.ingestion_burst_bytes, gt=0)
    max_streams_per_tenant: int = Field(_DEFAULT_LIMITS.max_streams_per_tenant, gt=0)
    max_labels_per_stream: int = Field(_DEFAULT_LIMITS.max_labels_per_stream, gt=0)
    max_line_bytes: int = Field(_DEFAULT_LIMITS.max_line_bytes, gt=0)
    max_label_name_bytes: int = Field(_DEFAULT_LIMITS.max_label_name_bytes, gt=0)
    max_label_value_bytes: int = Field(_DEFAULT_LIMITS.max_label_value_bytes, gt=0)


class _LimitsSection(_Model):
    defaults: _Limits = _Limits()
    tenants: dict[str, dict[str, Any]] = {}


class _Token(_Model):
    token: str = Field(min_length=8)
    tenant: str = Field(min_length=1)
    role: Role


class _Auth(_Model):
    tokens: list[_Token] = []


class _Root(_Model):
    data_dir: Path | None = None
    server: _Server = _Server()
    store: _Store = _Store()
    limits: _LimitsSection = _LimitsSection()
    auth: _Auth = _Auth()


# ---------------------------------------------------------------- errors and conversion


def config_error(
    exc: pydantic.ValidationError, *, source: str = "config", prefix: str = ""
) -> ConfigError:
    """Turn a pydantic error into one ``ConfigError`` line naming the key path and value."""
    problems = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in (prefix, *error["loc"]) if p != "")
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            problems.append(
                f"unknown key {loc!r} (value {error['input']!r}): remove it or check the spelling"
            )
        elif error["type"] == "missing":
            problems.append(f"{loc}: required key is missing")
        else:
            message = message.removeprefix("Value error, ")
            problems.append(f"{loc} = {error['input']!r}: {message}")
    return ConfigError(f"{source}: " + "; ".join(problems))


def _tenant_limits(
    base: _Limits, override: Mapping[str, Any], tenant: str, source: str
) -> TenantLimits:
    try:
        merged = _Limits.model_validate({**base.model_dump(), **override})
    except pydantic.ValidationError as exc:
        raise config_error(exc, source=source, prefix=f"limits.tenants.{tenant}") from None
    return TenantLimits(**merged.model_dump())


def _convert(
    root: _Root, sections: Mapping[str, Any], source: str, data_dir: Path | None
) -> Config:
    directory = data_dir or root.data_dir or DEFAULT_DATA_DIR
    rules = tuple(
        RetentionRule(parse_selector(r.selector), r.period_secs, r.tenant)
        for r in root.store.retention_rules
    )
    store = StoreConfig(
        data_dir=directory,
        max_segment_bytes=root.store.max_segment_bytes,
        max_segment_age_secs=root.store.max_segment_age_secs,
        out_of_order_window_secs=root.store.out_of_order_window_secs,
        retention_period_secs=root.store.retention_period_secs,
        retention_rules=rules,
        fsync=root.store.fsync,
    )
    defaults = TenantLimits(**root.limits.defaults.model_dump())
    tenants = {
        name: _tenant_limits(root.limits.defaults, override, name, source)
        for name, override in root.limits.tenants.items()
    }
    limits = IngestLimits(defaults, MappingProxyType(tenants))
    tokens = tuple(AuthToken(t.token, t.tenant, t.role) for t in root.auth.tokens)
    if len({t.token for t in tokens}) != len(tokens):
        raise ConfigError(
            f"{source}: auth.tokens: the same token is listed twice; give each its own"
        )
    config = Config(
        data_dir=directory,
        server=ServerConfig(**root.server.model_dump()),
        store=store,
        limits=limits,
        auth=AuthConfig(tokens),
        sections=MappingProxyType(dict(sections)),
        source=source,
    )
    try:
        store.validate()
        limits.validate()
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return config


def parse_config(document: Any, *, source: str = "config", data_dir: Path | None = None) -> Config:
    """Validate an already-loaded YAML document (``None`` means empty)."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of sections, got {document!r}"
        )
    sections = {k: v for k, v in document.items() if k in EXTENSION_SECTIONS}
    own = {k: v for k, v in document.items() if k not in EXTENSION_SECTIONS}
    try:
        root = _Root.model_validate(own)
    except pydantic.ValidationError as exc:
        raise config_error(exc, source=source) from None
    return _convert(root, sections, source, data_dir)


def load_config(path: Path | None, *, data_dir: Path | None = None) -> Config:
    """Read and validate a YAML config file; ``None`` gives the defaults.

    ``data_dir`` (the ``--data-dir`` option) overrides the file's ``data_dir``.
    """
    if path is None:
        return parse_config({}, source="defaults", data_dir=data_dir)
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {source}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{source}: not UTF-8 text (byte {exc.start}); save the config as UTF-8"
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        # Reader errors (control characters) span lines; the CLI prints one.
        problem = " ".join(str(getattr(exc, "problem", exc)).split())
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    return parse_config(document, source=source, data_dir=data_dir)
