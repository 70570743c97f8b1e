"""Metric families are built once per registry, and a new registry never gets a dead one's."""

from __future__ import annotations

import gc
import weakref

from prometheus_client import CollectorRegistry, Counter

from flightlog.collect.metrics import agent_metrics
from flightlog.metric_families import FamiliesPerRegistry
from flightlog.pipeline.metrics import stage_counters


def _names(registry: CollectorRegistry) -> set[str]:
    return {family.name for family in registry.collect()}


def test_the_same_registry_gets_the_same_families():
    cache: FamiliesPerRegistry[Counter] = FamiliesPerRegistry()
    registry = CollectorRegistry()
    built = []

    def build(target: CollectorRegistry) -> Counter:
        built.append(target)
        return Counter("things", "Things.", registry=target)

    first = cache.get(registry, build)
    assert cache.get(registry, build) is first
    assert built == [registry]


def test_fresh_registries_each_expose_their_own_counters():
    """Registries made and dropped in a row reuse ids; each must still get its own families."""
    for _ in range(50):
        registry = CollectorRegistry()
        stage_counters(registry).dropped.labels("p", "0:filter", "filtered").inc()
        agent_metrics(registry).read_lines.inc()
        names = _names(registry)
        assert "flightlog_pipeline_dropped_records" in names
        assert "flightlog_collect_read_lines" in names
        del registry
        gc.collect()


def test_a_dropped_registry_is_not_kept_alive():
    cache: FamiliesPerRegistry[Counter] = FamiliesPerRegistry()
    registry = CollectorRegistry()
    cache.get(registry, lambda target: Counter("things", "Things.", registry=target))
    alive = weakref.ref(registry)
    del registry
    gc.collect()
    assert alive() is None
