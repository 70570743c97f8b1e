"""Training runs API: ``GET /api/v1/runs`` and ``GET /api/v1/runs/{run_id}``.

Runs are the streams carrying a ``run_id`` label (what ``flightlog.Run`` ships). The list
condenses each run's events; the detail adds curves and diagnoses computed by
``flightlog.analyze`` from the stored metric records — the same analysis
``flightlog analyze`` gives for a file. The web UI's Runs pages read these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Query

from flightlog.config import Role
from flightlog.model import Direction, LabelMatcher, MatchOp
from flightlog.query.params import parse_step_ns
from flightlog.server.deps import get_services, require_role
from flightlog.server.errors import HTTPError
from flightlog.server.services import Services
from flightlog.store import Store

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])

RUN_LABEL = "run_id"
MAX_EVENTS_PER_RUN = 200_000
MAX_RUNS = 200
_METRICS_MARKER = '"event":"metrics"'


def _window(services: Services, since: str) -> tuple[int, int]:
    lookback_ns = parse_step_ns(since, "since")
    end_ns = services.clock_ns()
    return end_ns - lookback_ns, end_ns + 1


def _events(
    store: Store,
    tenants: Sequence[str],
    run_id: str,
    start_ns: int,
    end_ns: int,
    *,
    skip_metrics: bool,
) -> list[dict[str, Any]]:
    """A run's JSON events, oldest first; lines that are not JSON objects are skipped."""
    matcher = LabelMatcher(RUN_LABEL, MatchOp.EQ, run_id)
    events: list[dict[str, Any]] = []
    for batch in store.select(
        tenants, [matcher], start_ns, end_ns, Direction.FORWARD, MAX_EVENTS_PER_RUN
    ):
        for line in batch.column("line").to_pylist():
            if skip_metrics and _METRICS_MARKER in line:
                continue
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


@router.get("")
async def list_runs(
    since: str = Query("30d", description="how far back to look, e.g. 24h or 30d"),
    services: Services = Depends(get_services),
    tenants: tuple[str, ...] = Depends(require_role(Role.READ)),
) -> dict[str, Any]:
    """Training runs seen in the window, newest first."""
    start_ns, end_ns = _window(services, since)

    def build() -> list[dict[str, Any]]:
        # Imported on first use: flightlog.analyze costs ~0.4 s of every server start.
        from flightlog.analyze.stored_runs import run_overview

        store = services.store
        run_ids = store.label_values(tenants, RUN_LABEL, start_ns, end_ns)
        rows = [
            run_overview(
                run_id, _events(store, tenants, run_id, start_ns, end_ns, skip_metrics=True)
            )
            for run_id in run_ids
        ]
        rows.sort(key=lambda row: row["start"] or 0.0, reverse=True)
        return rows[:MAX_RUNS]

    return {"status": "success", "data": await anyio.to_thread.run_sync(build)}


@router.get("/{run_id}")
async def get_run(
    run_id: str,
    since: str = Query("30d", description="how far back to look, e.g. 24h or 30d"),
    services: Services = Depends(get_services),
    tenants: tuple[str, ...] = Depends(require_role(Role.READ)),
) -> dict[str, Any]:
    """One run: overview, hyperparameters, curves, diagnoses, system metrics and errors."""
    start_ns, end_ns = _window(services, since)

    def build() -> dict[str, Any] | None:
        from flightlog.analyze.stored_runs import run_detail

        events = _events(services.store, tenants, run_id, start_ns, end_ns, skip_metrics=False)
        return run_detail(run_id, events) if events else None

    detail = await anyio.to_thread.run_sync(build)
    if detail is None:
        raise HTTPError(404, f"no run with run_id {run_id!r} in the last {since}")
    return {"status": "success", "data": detail}
