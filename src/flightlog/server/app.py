"""``create_app``: the FastAPI application with every router, services and lifecycle.

Routers are modules ``flightlog.server.routes.<name>`` listed in ``ROUTE_MODULES``; each
exposes ``router`` and may expose ``on_startup(services) -> stop | None`` (see the
``flightlog.server`` docstring). The lifespan opens the store (replaying its WAL),
builds ``Services``, starts the maintenance task and the startup hooks, and on shutdown
(SIGTERM through uvicorn) stops them in reverse order, flushes the head to a segment
and closes the store.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from flightlog._version import __version__
from flightlog.config import Config
from flightlog.errors import FlightlogError
from flightlog.ingest import Ingestor
from flightlog.server.background import PeriodicTask
from flightlog.server.body_limit import BodyLimit
from flightlog.server.errors import install_error_handlers
from flightlog.server.metrics import IngestMetrics, StoreCollector
from flightlog.server.services import Services, StartupHook, StopFunction

if TYPE_CHECKING:
    from flightlog.store import Store

__all__ = ["ROUTE_MODULES", "create_app"]

log = logging.getLogger("flightlog.server")

# One line per API area; order matters only for overlapping paths (ui's "/" last).
ROUTE_MODULES: tuple[str, ...] = (
    "health",
    "metrics",
    "push",
    "pipeline",
    "otlp",
    "syslog",
    "query",
    "rules",
    "alertmanager",
    "monitor",
    "runs",
    "ui",
)


class _StoreWatch:
    """Store figures for ``/metrics``, from ``Store.figures()`` at scrape time.

    Flushes (segments written by a cut) are counted where we trigger them: the periodic
    ``maintain`` and the flush at shutdown.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.flushes = 0
        self.retention_removed = 0

    def maintain(self) -> None:
        self.flushes += self.store.maybe_cut()
        self.retention_removed += self.store.apply_retention()

    def flush(self) -> None:
        before = self.store.figures().segments
        self.store.flush()
        # One segment per tenant head cut; retention cannot run meanwhile (we are it).
        self.flushes += max(0, self.store.figures().segments - before)

    def figures(self) -> dict[str, float]:
        figures = self.store.figures()
        return {
            "head_bytes": figures.head_bytes,
            "head_entries": figures.head_rows,
            "segments": figures.segments,
            "segment_bytes": figures.segment_bytes,
            "segment_entries": figures.segment_rows,
            "wal_bytes": figures.wal_bytes,
            "streams": figures.streams,
            "tenants": figures.tenants,
            "flushes": self.flushes,
            "wal_fsyncs": figures.wal_fsyncs,
            "wal_fsync_seconds": figures.wal_fsync_seconds,
            "retention_removed_entries": self.retention_removed,
        }


def create_app(
    config: Config | None = None,
    *,
    store: Store | None = None,
    clock_ns: Callable[[], int] = time.time_ns,
    monotonic: Callable[[], float] = time.monotonic,
    startup_hooks: Sequence[StartupHook] = (),
    route_modules: Sequence[str] = ROUTE_MODULES,
) -> FastAPI:
    """Build the app. The store is opened at startup unless one is given (then not closed).

    ``startup_hooks`` run after those of the route modules (tests use them to add work).
    """
    config = config or Config()
    modules = [importlib.import_module(f"flightlog.server.routes.{name}") for name in route_modules]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from flightlog.store import Store

        owned = store is None
        opened = store or await anyio.to_thread.run_sync(
            lambda: Store.open(config.store, clock=clock_ns)
        )
        registry = CollectorRegistry()
        watch = _StoreWatch(opened)
        registry.register(StoreCollector(watch.figures))
        services = Services(
            config=config,
            store=opened,
            ingestor=Ingestor(config.limits, monotonic=monotonic, clock_ns=clock_ns),
            registry=registry,
            ingest_metrics=IngestMetrics.create(registry),
            clock_ns=clock_ns,
            monotonic=monotonic,
        )
        maintenance = PeriodicTask(
            "store-maintenance", config.server.maintenance_interval_secs, watch.maintain
        )
        stops: list[StopFunction] = [maintenance.stop]
        hooks = [getattr(m, "on_startup", None) for m in modules] + list(startup_hooks)
        try:
            try:
                maintenance.start()
                for hook in hooks:
                    if hook is not None:
                        stop = hook(services)
                        if stop is not None:
                            stops.append(stop)
            except FlightlogError as exc:
                # `flightlog serve` prints this as one line instead of uvicorn's traceback.
                app.state.startup_error = exc
                raise
            app.state.services = services
            yield
        finally:
            app.state.services = None
            for stop in reversed(stops):
                stop()
            # Flush the head so a restart has nothing to replay (graceful shutdown).
            await anyio.to_thread.run_sync(watch.flush)
            if owned:
                await anyio.to_thread.run_sync(opened.close)
            log.info("flightlog stopped; head flushed to segments")

    app = FastAPI(
        title="flightlog",
        version=__version__,
        description="Log aggregation with a Loki-compatible API, alerting and ML run diagnostics.",
        lifespan=lifespan,
    )
    app.state.services = None
    app.state.startup_error = None
    app.state.config = config
    install_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        max_bytes=config.server.max_body_bytes,
        max_secs=config.server.max_request_secs,
    )
    for module in modules:
        app.include_router(module.router)
    return app
