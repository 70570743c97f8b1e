"""`make run` brings up the server with demo data made by really running things."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT_SECS = 300.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> Any:
    try:
        response = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def _system_metrics(url: str, runs: Any) -> list[str]:
    """Names of the system metrics sampled for the demo's first run that has any."""
    for run in runs["data"] if runs else []:
        detail = _get(f"{url}/api/v1/runs/{run['run_id']}")
        if detail and detail["data"]["system"]:
            return [series["metric"] for series in detail["data"]["system"]]
    return []


def test_make_run_shows_runs_a_firing_alert_and_three_services(tmp_path: Path) -> None:
    """Within a bounded time: a training run with system metrics, a firing alert, 3+ services."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "flightlog-data"
    output = (tmp_path / "make-run.out").open("wb")
    process = subprocess.Popen(
        [
            "make",
            "-s",
            # The suite already runs in the installed venv: never re-install it mid-suite
            # (from a git worktree that would re-point the shared editable install there).
            "-o",
            ".venv/.installed-run",
            "run",
            f"PORT={port}",
            f"DATA_DIR={data_dir}",
            # Two epochs still make both training runs appear; fewer epochs leave the
            # CPU to the server and the rule evaluations the firing alert waits for.
            "DEMO_ARGS=--requests 200 --epochs 2",
        ],
        cwd=REPO,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seen: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + DEMO_TIMEOUT_SECS
        while time.monotonic() < deadline and process.poll() is None:
            runs = _get(f"{url}/api/v1/runs")
            alerts = _get(f"{url}/prometheus/api/v1/alerts")
            services = _get(f"{url}/loki/api/v1/label/service/values")
            seen = {
                "runs": [r["name"] for r in runs["data"]] if runs else [],
                "firing": [
                    a["labels"]["alertname"]
                    for a in alerts["data"]["alerts"]
                    if a["state"] == "firing"
                ]
                if alerts
                else [],
                "services": services["data"] if services else [],
                "system": seen.get("system") or _system_metrics(url, runs),
            }
            if seen["runs"] and seen["firing"] and len(seen["services"]) >= 3 and seen["system"]:
                break
            time.sleep(1)
        assert seen.get("runs"), seen
        assert seen.get("firing"), seen
        assert {"trainer", "gateway", "model-server"} <= set(seen.get("services", [])), seen
        # the run page's System section has CPU and memory to draw
        assert {"cpu_pct", "process_rss_gb"} <= set(seen.get("system", [])), seen
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        output.close()
    # The server flushed on the way out: its data survives the demo as Parquet segments.
    assert list(data_dir.rglob("*.parquet")), (tmp_path / "make-run.out").read_text()[-3000:]
