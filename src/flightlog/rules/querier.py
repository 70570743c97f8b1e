"""``EngineQuerier``: the LogQL engine as the ruler's ``InstantQuerier``."""

from __future__ import annotations

from typing import Any

from flightlog.errors import RuleError
from flightlog.rules.model import Sample

__all__ = ["EngineQuerier"]


class EngineQuerier:
    """Calls ``engine.query_instant`` and turns a vector (or scalar) result into samples.

    ``tenant`` may name several tenants as ``a|b`` (a federated group): the engine reads
    them all, as for ``X-Scope-OrgID: a|b``, and streams carry ``__tenant_id__``.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def __call__(self, expr: str, ts_ns: int, tenant: str) -> list[Sample]:
        from flightlog.query.results import ScalarResult, VectorResult

        result = self._engine.query_instant(expr, ts_ns, tenant.split("|")).result
        if isinstance(result, VectorResult):
            return [Sample(dict(labels), float(value)) for labels, value in result.samples]
        if isinstance(result, ScalarResult):
            return [Sample({}, float(result.value))]
        raise RuleError(
            f"rule expression {expr!r} returns log lines: wrap it in a metric query such as count_over_time(...[5m])"
        )
