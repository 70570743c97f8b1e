"""Training runs API: ``GET /api/v1/runs`` and ``GET /api/v1/runs/{run_id}``.

Runs are the streams carrying a ``run_id`` label (what ``flightlog.Run`` ships). The list
condenses each run's events; the detail adds curves and diagnoses computed by
``flightlog.analyze`` from the stored metric records — the same analysis
``flightlog analyze`` gives for a file. The web UI's Runs pages read these.

A run may hold more events than one answer reads (``MAX_EVENTS_PER_RUN``, or the
detail's ``max_events``): then its NEWEST events are read — a long run shows where it
is now, not how it began — plus the non-metrics events among its first
``HEAD_EVENTS`` (``run_start``, hyperparameters), and the answer says so:
``"truncated": true`` and ``"truncation": {"max_events", "events_read",
"from_ts", "to_ts"}`` (the span of newest events read, Unix seconds; older metrics
are not in the curves). Otherwise ``"truncated": false, "truncation": null``.
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
#: A truncated run's first events scanned for its non-metrics events (run_start...).
HEAD_EVENTS = 1_000
MAX_RUNS = 200
_METRICS_MARKER = '"event":"metrics"'


def _window(services: Services, since: str) -> tuple[int, int]:
    lookback_ns = parse_step_ns(since, "since")
    end_ns = services.clock_ns()
    return end_ns - lookback_ns, end_ns + 1


def _decode(lines: Sequence[str], skip_metrics: bool) -> list[dict[str, Any]]:
    """The JSON objects among ``lines``; other lines (and metrics, if asked) skipped."""
    events: list[dict[str, Any]] = []
    for line in lines:
        if skip_metrics and _METRICS_MARKER in line:
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _events(
    store: Store,
    tenants: Sequence[str],
    run_id: str,
    start_ns: int,
    end_ns: int,
    *,
    skip_metrics: bool,
    max_events: int = MAX_EVENTS_PER_RUN,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A run's JSON events, oldest first, and what was left out (None: nothing).

    Past ``max_events`` the newest ``max_events`` are read, plus the non-metrics events
    among the run's first ``HEAD_EVENTS``, which say what the run is."""
    matcher = LabelMatcher(RUN_LABEL, MatchOp.EQ, run_id)
    lines: list[str] = []
    stamps: list[int] = []
    for batch in store.select(
        tenants, [matcher], start_ns, end_ns, Direction.BACKWARD, max_events + 1
    ):
        lines.extend(batch.column("line").to_pylist())
        stamps.extend(batch.column("ts").cast("int64").to_pylist())
    if len(lines) <= max_events:
        return _decode(lines[::-1], skip_metrics), None
    newest = lines[:max_events][::-1]
    oldest_kept_ns = stamps[max_events - 1]
    head: list[str] = []
    for batch in store.select(
        tenants, [matcher], start_ns, oldest_kept_ns, Direction.FORWARD, HEAD_EVENTS
    ):
        head.extend(batch.column("line").to_pylist())
    truncation = {
        "max_events": max_events,
        "events_read": max_events,
        "from_ts": oldest_kept_ns / 1e9,
        "to_ts": stamps[0] / 1e9,
    }
    return _decode(head, skip_metrics=True) + _decode(newest, skip_metrics), truncation


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
        rows = []
        for run_id in store.label_values(tenants, RUN_LABEL, start_ns, end_ns):
            events, truncation = _events(
                store, tenants, run_id, start_ns, end_ns, skip_metrics=True
            )
            rows.append({**run_overview(run_id, events), **_truncated(truncation)})
        rows.sort(key=lambda row: row["start"] or 0.0, reverse=True)
        return rows[:MAX_RUNS]

    return {"status": "success", "data": await anyio.to_thread.run_sync(build)}


@router.get("/{run_id}")
async def get_run(
    run_id: str,
    since: str = Query("30d", description="how far back to look, e.g. 24h or 30d"),
    max_events: int = Query(
        MAX_EVENTS_PER_RUN,
        ge=1,
        le=MAX_EVENTS_PER_RUN,
        description="read at most this many of the run's newest events",
    ),
    services: Services = Depends(get_services),
    tenants: tuple[str, ...] = Depends(require_role(Role.READ)),
) -> dict[str, Any]:
    """One run: overview, hyperparameters, curves, diagnoses, system metrics and errors."""
    start_ns, end_ns = _window(services, since)

    def build() -> dict[str, Any] | None:
        from flightlog.analyze.stored_runs import run_detail

        events, truncation = _events(
            services.store,
            tenants,
            run_id,
            start_ns,
            end_ns,
            skip_metrics=False,
            max_events=max_events,
        )
        return {**run_detail(run_id, events), **_truncated(truncation)} if events else None

    detail = await anyio.to_thread.run_sync(build)
    if detail is None:
        raise HTTPError(404, f"no run with run_id {run_id!r} in the last {since}")
    return {"status": "success", "data": detail}


def _truncated(truncation: dict[str, Any] | None) -> dict[str, Any]:
    return {"truncated": truncation is not None, "truncation": truncation}
