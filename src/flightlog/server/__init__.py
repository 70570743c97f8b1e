"""The HTTP server: FastAPI wiring of every stage, one router module per API area.

Contract for other packages
---------------------------
* **A router**: create ``flightlog/server/routes/<area>.py`` with
  ``router = fastapi.APIRouter()`` and add ``"<area>"`` to ``ROUTE_MODULES`` in
  ``flightlog/server/app.py`` (one line; ``ui`` stays last since it owns ``/``).
* **Shared services**: ``flightlog.server.services.Services`` (frozen) lives on
  ``app.state.services`` while the server runs: ``config`` (``flightlog.config.Config``,
  extension sections via ``config.section("rules")``), ``store`` (``flightlog.store.Store``),
  ``ingestor`` (``flightlog.ingest.Ingestor``: decode/validate/limit pushes),
  ``registry`` (the app's prometheus ``CollectorRegistry``: register your metrics
  there, never on the global one), ``ingest_metrics``, ``clock_ns`` / ``monotonic``
  (inject fakes in tests), ``extras`` (a dict a startup hook may publish objects in).
* **Dependencies** (``flightlog.server.deps``): ``get_services``, ``get_store``,
  ``get_config``, ``tenant_id`` (one tenant from ``X-Scope-OrgID``, default
  ``default``), ``tenant_ids`` (``a|b`` for multi-tenant reads), and
  ``require_role(Role.READ | Role.WRITE | Role.ADMIN)`` which enforces bearer tokens
  (401/403) and returns the request's tenants. Use it on every data endpoint.
* **Background work**: a route module may define
  ``def on_startup(services: Services) -> Callable[[], None] | None``. It is called once
  after the store is open and before the first request; start threads/tasks there
  (``flightlog.server.background.PeriodicTask`` is a ready-made periodic thread) and
  return a stop function. Stop functions run in reverse order at shutdown, before the
  head is flushed and the store closed. Tests can pass extra hooks to
  ``create_app(startup_hooks=[...])``.
* **Errors**: raise ``flightlog.server.errors.HTTPError(status, message)`` or a
  ``flightlog.errors`` exception (``QueryError`` → 400, ``AuthError`` → 401, ...); they
  render as Loki's ``{"status": "error", "errorType": ..., "error": ...}``.
* **Running it**: ``flightlog serve`` (``flightlog.cli.serve``) or, in tests, the
  ``flightlog_server`` fixture of ``tests/conftest.py`` (a real subprocess).
"""

from flightlog.server.app import ROUTE_MODULES, create_app
from flightlog.server.services import Services

__all__ = ["ROUTE_MODULES", "Services", "create_app"]
