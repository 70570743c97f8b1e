"""Prometheus metric families created once per ``CollectorRegistry``.

prometheus-client refuses to register the same metric name twice in one registry, so
each component builds its families on first use and reuses them afterwards. The cache is
keyed by the registry object itself, weakly: keying by ``id(registry)`` handed a new
registry the families of a dead one whose id it reused (families that the new registry
never exposes), and holding registries strongly would keep every test's registry alive.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from threading import Lock
from typing import Generic, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry

__all__ = ["FamiliesPerRegistry"]

T = TypeVar("T")


class FamiliesPerRegistry(Generic[T]):
    """One value of metric families per registry, built the first time it is asked for."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._known: weakref.WeakKeyDictionary[CollectorRegistry, T] = weakref.WeakKeyDictionary()

    def get(self, registry: CollectorRegistry | None, build: Callable[[CollectorRegistry], T]) -> T:
        """The families in ``registry`` (the default one when None), built by ``build`` once."""
        registry = REGISTRY if registry is None else registry
        with self._lock:
            found = self._known.get(registry)
            if found is None:
                found = build(registry)
                self._known[registry] = found
            return found
