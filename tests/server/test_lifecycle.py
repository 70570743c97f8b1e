"""Server lifecycle: SIGTERM flushes the head; retention from the config file runs in the background."""

from __future__ import annotations

import re
import time

import httpx

from .readback import stored_rows

_DAY_NS = 86_400 * 10**9


def _push(http: httpx.Client, labels: dict[str, str], ts: int, line: str) -> None:
    body = {"streams": [{"stream": labels, "values": [[str(ts), line]]}]}
    response = http.post("/loki/api/v1/push", json=body)
    assert response.status_code == 204, response.text


def test_sigterm_flushes_the_head_to_a_segment_and_empties_the_wal(flightlog_server):
    """After a graceful stop every line is in a Parquet segment and no WAL record is left."""
    now = time.time_ns()
    with flightlog_server.client() as http:
        for i in range(3):
            _push(http, {"app": "x"}, now + i, f"line {i}")
    assert flightlog_server.stop() == 0
    segments = list((flightlog_server.data_dir / "segments").glob("*/*.parquet"))
    assert len(segments) == 1
    wal_bytes = sum(p.stat().st_size for p in (flightlog_server.data_dir / "wal").glob("*.wal"))
    assert wal_bytes <= 8, "only WAL file headers may remain"
    # read_only sees segments only, so finding the lines proves they were flushed.
    assert [r[2] for r in stored_rows(flightlog_server.data_dir)] == ["line 0", "line 1", "line 2"]


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_retention_rules_from_the_config_remove_exactly_what_they_say(flightlog_server_factory):
    """debug kept 7 days, everything else 30 days: only entries past their period go."""
    config = {
        "server": {"maintenance_interval_secs": 0.2},
        "store": {
            "retention_period_secs": "30d",
            "retention_rules": [{"selector": '{level="debug"}', "period_secs": "7d"}],
        },
    }
    server = flightlog_server_factory(config)
    now = time.time_ns()
    with server.client() as http:
        _push(http, {"level": "debug"}, now - 10 * _DAY_NS, "debug 10 days old")
        _push(http, {"level": "debug"}, now - 1 * _DAY_NS, "debug 1 day old")
        _push(http, {"level": "info"}, now - 40 * _DAY_NS, "info 40 days old")
        _push(http, {"level": "info"}, now - 10 * _DAY_NS, "info 10 days old")
        deadline = time.monotonic() + 20
        removed = 0.0
        while time.monotonic() < deadline:
            removed = _metric(
                http.get("/metrics").text, "flightlog_store_retention_removed_entries_total"
            )
            if removed >= 2:
                break
            time.sleep(0.1)
    assert removed == 2
    server.stop()
    assert sorted(r[2] for r in stored_rows(server.data_dir)) == [
        "debug 1 day old",
        "info 10 days old",
    ]
