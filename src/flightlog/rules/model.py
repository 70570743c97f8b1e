"""Values of the ruler: rule groups as written in YAML, samples, and the query protocol.

The ruler depends on the query engine only through ``InstantQuerier``: a callable that
evaluates an expression at one instant for one tenant and returns a vector of samples.
``flightlog.rules.querier.EngineQuerier`` adapts ``flightlog.query.Engine`` to it; tests of
the state machine feed sample vectors directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

__all__ = [
    "AlertState",
    "AlertingRule",
    "InstantQuerier",
    "RecordingRule",
    "Rule",
    "RuleGroup",
    "Sample",
]


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector."""

    labels: Mapping[str, str]
    value: float


class InstantQuerier(Protocol):
    """Evaluate ``expr`` at ``ts_ns``; ``tenant`` is one tenant ID, or several joined with
    ``|`` (Loki's multi-tenant form) for a federated group's ``source_tenants``."""

    def __call__(self, expr: str, ts_ns: int, tenant: str) -> list[Sample]: ...


class AlertState(StrEnum):
    """Prometheus's alert states; a resolved alert is ``inactive`` with a ``resolved_at``."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass(frozen=True, slots=True)
class AlertingRule:
    """An ``alert:`` rule; ``line`` is where it starts in its file (0 when not from a file)."""

    name: str
    expr: str
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class RecordingRule:
    """A ``record:`` rule: its samples become the series named ``record``."""

    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def name(self) -> str:
        return self.record


Rule = AlertingRule | RecordingRule


@dataclass(frozen=True, slots=True)
class RuleGroup:
    """A named list of rules evaluated together every ``interval_s``.

    ``namespace`` is the Loki ruler namespace (the file path for groups loaded from files).
    ``query_offset_s`` (``query_offset``, or Mimir's older ``evaluation_delay``) makes the
    queries of an evaluation at ``t`` run at ``t - offset``, so late-arriving lines are in.
    ``source_tenants`` (a federated group, as in Mimir) makes its LogQL queries read those
    tenants' logs; its alerts and recorded series belong to ``tenant``.
    """

    name: str
    rules: tuple[Rule, ...]
    interval_s: float = 60.0
    namespace: str = "default"
    tenant: str = "default"
    limit: int = 0
    source: str = ""
    query_offset_s: float = 0.0
    source_tenants: tuple[str, ...] = ()

    @property
    def query_tenants(self) -> tuple[str, ...]:
        """The tenants whose logs the group's LogQL queries read."""
        return self.source_tenants or (self.tenant,)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.tenant, self.namespace, self.name)
