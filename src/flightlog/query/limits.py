"""Per-tenant query limits (Loki's names, our units in the option names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flightlog.errors import ConfigError

__all__ = ["QueryLimits", "TenantQueryLimits", "limits_from_section"]


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_query_length_secs: float = 30 * 24 * 3600.0
    max_query_series: int = 500
    max_entries_limit_per_query: int = 5000
    max_query_time_secs: float = 60.0
    max_points_per_series: int = 11_000

    def validate(self) -> None:
        for name in (
            "max_query_length_secs",
            "max_query_series",
            "max_entries_limit_per_query",
            "max_query_time_secs",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"query limit {name}={getattr(self, name)!r} must be positive")


@dataclass(frozen=True, slots=True)
class TenantQueryLimits:
    """Defaults plus overrides by tenant ID; a multi-tenant query uses the strictest."""

    default: QueryLimits = field(default_factory=QueryLimits)
    overrides: Mapping[str, QueryLimits] = field(default_factory=dict)

    def for_tenants(self, tenants: tuple[str, ...] | list[str]) -> QueryLimits:
        chosen = [self.overrides.get(t, self.default) for t in tenants] or [self.default]
        return QueryLimits(
            max_query_length_secs=min(c.max_query_length_secs for c in chosen),
            max_query_series=min(c.max_query_series for c in chosen),
            max_entries_limit_per_query=min(c.max_entries_limit_per_query for c in chosen),
            max_query_time_secs=min(c.max_query_time_secs for c in chosen),
            max_points_per_series=min(c.max_points_per_series for c in chosen),
        )


_FIELDS = {
    "max_query_length_secs": float,
    "max_query_series": int,
    "max_entries_limit_per_query": int,
    "max_query_time_secs": float,
    "max_points_per_series": int,
}


def _limits_from_mapping(raw: object, base: QueryLimits, where: str) -> QueryLimits:
    from flightlog.config import parse_duration_secs

    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping of limit names to values, got {raw!r}")
    values = {name: getattr(base, name) for name in _FIELDS}
    for key, value in raw.items():
        if key not in _FIELDS:
            raise ConfigError(
                f"{where}.{key} is not a query limit: use one of {', '.join(sorted(_FIELDS))}"
            )
        try:
            converted = parse_duration_secs(value) if key.endswith("_secs") else int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}.{key} = {value!r}: {exc}") from None
        values[key] = _FIELDS[key](converted)
    limits = QueryLimits(**values)
    try:
        limits.validate()
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return limits


def limits_from_section(raw: object) -> TenantQueryLimits:
    """Read the ``query_limits`` config section: ``{defaults: {...}, tenants: {id: {...}}}``."""
    if raw is None:
        return TenantQueryLimits()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"query_limits must be a mapping with defaults and tenants, got {raw!r}")
    unknown = set(raw) - {"defaults", "tenants"}
    if unknown:
        raise ConfigError(
            f"query_limits.{sorted(unknown)[0]} is not known: use defaults or tenants"
        )
    default = _limits_from_mapping(raw.get("defaults"), QueryLimits(), "query_limits.defaults")
    tenants_raw = raw.get("tenants") or {}
    if not isinstance(tenants_raw, Mapping):
        raise ConfigError("query_limits.tenants must map tenant IDs to limits")
    overrides = {
        str(t): _limits_from_mapping(v, default, f"query_limits.tenants.{t}")
        for t, v in tenants_raw.items()
    }
    return TenantQueryLimits(default, overrides)
