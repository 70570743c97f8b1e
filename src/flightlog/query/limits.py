"""Per-tenant query limits (Loki's names, our units in the option names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flightlog.errors import ConfigError

__all__ = ["QueryLimits", "TenantQueryLimits"]


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
