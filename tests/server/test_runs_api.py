"""The training runs API through a real `flightlog serve` subprocess and real HTTP:
``GET /api/v1/runs`` and ``GET /api/v1/runs/{run_id}`` (JSON shape, 404, truncation)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

S = 1_000_000_000
NOW = time.time_ns() // S * S
T0 = NOW - 3600 * S

OVERVIEW_KEYS = {
    "run_id",
    "name",
    "status",
    "start",
    "end",
    "duration_s",
    "progress",
    "eta_s",
    "best",
    "errors",
    "last_event",
    "diagnoses_summary",
    "truncated",
    "truncation",
}
DETAIL_KEYS = OVERVIEW_KEYS | {"config", "summary", "series", "diagnoses", "system", "errors"}


OOM = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.77 GiB total capacity)"


def rfc3339(ts_ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ns / S)) + "Z"


def run_events(run_id: str, start_ns: int, steps: int, *, diverge: bool = False) -> list[Any]:
    """The lines a ``flightlog.Run`` ships: run_start, metrics per step, an error, run_end."""
    at = [start_ns + i * S for i in range(steps + 3)]
    events: list[dict[str, Any]] = [
        {"event": "run_start", "run_name": f"{run_id}-name", "config": {"lr": 0.1}},
    ]
    for step in range(1, steps + 1):
        loss = 1.0 / step if not diverge or step < steps - 2 else float(step) * 100
        events.append({"event": "metrics", "step": step, "epoch": 0, "loss": loss})
    events.append({"event": "error", "error_type": "OutOfMemoryError", "error_message": OOM})
    events.append({"event": "run_end", "status": "completed"})
    for event, ts in zip(events, at, strict=False):
        event["ts"] = rfc3339(ts)
    return [[str(ts), orjson.dumps(event).decode()] for event, ts in zip(events, at, strict=False)]


@pytest.fixture(scope="module")
def http(flightlog_module_server: Any) -> Iterator[httpx.Client]:
    with flightlog_module_server.client() as client:
        streams = [
            {"stream": {"app": "train", "run_id": "older"}, "values": run_events("older", T0, 12)},
            {
                "stream": {"app": "train", "run_id": "newer"},
                "values": run_events("newer", T0 + 600 * S, 30),
            },
        ]
        response = client.post("/loki/api/v1/push", json={"streams": streams})
        assert response.status_code == 204, response.text
        yield client


def test_runs_list_shape_newest_first(http: httpx.Client) -> None:
    """The list: one row per run_id, the documented keys, newest run first, not truncated."""
    body = http.get("/api/v1/runs").json()
    assert body["status"] == "success"
    rows = [row for row in body["data"] if row["run_id"] in ("older", "newer")]
    assert [row["run_id"] for row in rows] == ["newer", "older"]
    for row in rows:
        assert set(row) == OVERVIEW_KEYS
        assert row["status"] == "completed"
        assert row["errors"] == 1
        assert row["truncated"] is False and row["truncation"] is None
        assert row["diagnoses_summary"]["covers_curves"] is False
    assert rows[0]["name"] == "newer-name"
    assert rows[0]["start"] == pytest.approx((T0 + 600 * S) / S)


def test_run_detail_shape(http: httpx.Client) -> None:
    """The detail: overview plus config, summary, curves, diagnoses, system and errors."""
    response = http.get("/api/v1/runs/newer")
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == DETAIL_KEYS
    assert data["config"] == {"lr": 0.1}
    (loss,) = [s for s in data["series"] if s["metric"] == "loss"]
    assert loss["split"] == "train"
    assert [p[0] for p in loss["points"]] == list(range(1, 31))
    assert data["summary"]["steps"] == 30
    assert data["errors"] == [
        {"ts": rfc3339(T0 + 631 * S), "type": "OutOfMemoryError", "message": OOM, "operation": None}
    ]
    (oom,) = [d for d in data["diagnoses"] if d["kind"] == "error"]
    assert set(oom) == {"kind", "severity", "message", "evidence", "first_step", "last_step"}
    assert oom["severity"] == "critical" and oom["evidence"]["signature"] == "cuda_oom"
    assert data["truncated"] is False and data["truncation"] is None


def test_unknown_run_is_a_404_saying_what_was_looked_for(http: httpx.Client) -> None:
    """No such run_id: 404 with a message naming the run and the window."""
    response = http.get("/api/v1/runs/nope", params={"since": "2h"})
    assert response.status_code == 404
    assert "'nope'" in response.text and "2h" in response.text


def test_run_outside_the_window_is_a_404(http: httpx.Client) -> None:
    """``since`` bounds the search: a run older than the window is not found."""
    assert http.get("/api/v1/runs/older", params={"since": "5m"}).status_code == 404
    assert http.get("/api/v1/runs/older", params={"since": "2h"}).status_code == 200


def test_long_run_reads_its_newest_events_and_says_it_was_truncated(http: httpx.Client) -> None:
    """Past max_events the newest events are read (the run's start too) and it is said."""
    data = http.get("/api/v1/runs/newer", params={"max_events": 10}).json()["data"]
    assert data["truncated"] is True
    truncation = data["truncation"]
    assert truncation["max_events"] == 10 and truncation["events_read"] == 10
    # the 10 newest events: steps 23-30, the error and run_end (ts T0+623 s .. T0+632 s)
    assert truncation["from_ts"] == (T0 + 623 * S) / S
    assert truncation["to_ts"] == (T0 + 632 * S) / S
    (loss,) = [s for s in data["series"] if s["metric"] == "loss"]
    assert [p[0] for p in loss["points"]] == list(range(23, 31))
    assert data["name"] == "newer-name" and data["config"] == {"lr": 0.1}  # run_start kept
    assert data["status"] == "completed"


def test_max_events_is_bounded(http: httpx.Client) -> None:
    """max_events outside 1..MAX_EVENTS_PER_RUN is a bad request naming the parameter."""
    response = http.get("/api/v1/runs/newer", params={"max_events": 0})
    assert response.status_code == 400
    assert "max_events" in response.text
