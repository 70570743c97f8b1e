"""``Services``: the shared things every router needs, built once per server start.

Stored on ``app.state.services`` by the app's lifespan; routers get it (or parts of it)
through the dependency functions in ``flightlog.server.deps``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from flightlog.config import Config
from flightlog.ingest import Ingestor
from flightlog.server.metrics import IngestMetrics

if TYPE_CHECKING:
    from flightlog.store import Store

__all__ = ["Services", "StartupHook", "StopFunction"]

StopFunction = Callable[[], None]
StartupHook = Callable[["Services"], "StopFunction | None"]
"""Called once when the server starts (after the store is open, before requests).

It may start threads or tasks and return a function the server calls at shutdown
(in reverse order, before the head is flushed and the store closed).
"""


@dataclass(frozen=True)
class Services:
    """Everything a route or a background job shares; immutable, its parts are thread-safe."""

    config: Config
    store: Store
    ingestor: Ingestor
    registry: CollectorRegistry
    ingest_metrics: IngestMetrics
    clock_ns: Callable[[], int] = time.time_ns
    """Wall clock in ns since the epoch; tests inject a fake one."""
    monotonic: Callable[[], float] = time.monotonic
    extras: dict[str, object] = field(default_factory=dict)
    """Where a startup hook may publish an object other routes need (e.g. ``"rules"``:
    the rule manager). Keys are package names; write once at startup, then only read."""
