"""Prometheus counters every pipeline stage reports through (Vector's component model).

``received``, ``sent``, ``dropped{reason}`` and ``errors`` per pipeline and stage. The
pipeline counts in plain integers over a batch and adds the totals here once per batch,
because a prometheus-client increment per record would cost more than most stages do.
Counters are created on first use (not at import) in the registry given, so importing
this module has no side effect and tests can use a private ``CollectorRegistry``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from flightlog.metric_families import FamiliesPerRegistry

__all__ = ["StageCounters", "stage_counters"]


@dataclass(frozen=True, slots=True)
class StageCounters:
    """The four counter families of pipeline stages in one registry."""

    received: Counter
    sent: Counter
    dropped: Counter
    errors: Counter


def _build(registry: CollectorRegistry) -> StageCounters:
    labels = ["pipeline", "stage"]
    return StageCounters(
        received=Counter(
            "flightlog_pipeline_received_records",
            "Records a pipeline stage received.",
            labels,
            registry=registry,
        ),
        sent=Counter(
            "flightlog_pipeline_sent_records",
            "Records a pipeline stage passed on.",
            labels,
            registry=registry,
        ),
        dropped=Counter(
            "flightlog_pipeline_dropped_records",
            "Records a pipeline stage discarded, by reason.",
            [*labels, "reason"],
            registry=registry,
        ),
        errors=Counter(
            "flightlog_pipeline_errors",
            "Records a pipeline stage could not process (passed on unchanged).",
            labels,
            registry=registry,
        ),
    )


_FAMILIES: FamiliesPerRegistry[StageCounters] = FamiliesPerRegistry()


def stage_counters(registry: CollectorRegistry | None = None) -> StageCounters:
    """The stage counters registered in ``registry`` (the default registry when None)."""
    return _FAMILIES.get(registry, _build)
