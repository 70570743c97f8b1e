"""``/metrics`` store gauges come from ``Store.figures()`` and follow pushes and flushes."""

from __future__ import annotations

import re
import time

import httpx
import pytest

_HEAD_FLUSH_BYTES = 1024  # store.max_segment_bytes: the smallest the config allows


def _metrics(http: httpx.Client) -> dict[str, float]:
    text = http.get("/metrics").text
    return {
        name: float(value)
        for name, value in re.findall(r"^(flightlog_(?:store|wal)_\w+) (\S+)$", text, re.M)
    }


def _push(http: httpx.Client, line: str, count: int = 1) -> None:
    now = time.time_ns()
    values = [[str(now + i), f"{line} {i}"] for i in range(count)]
    body = {"streams": [{"stream": {"app": "metrics"}, "values": values}]}
    response = http.post("/loki/api/v1/push", json=body)
    assert response.status_code == 204, response.text


def _wait_for(http: httpx.Client, done, timeout_secs: float = 30.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout_secs
    while True:
        figures = _metrics(http)
        if done(figures) or time.monotonic() > deadline:
            return figures
        time.sleep(0.1)


@pytest.mark.slow
def test_head_and_segment_gauges_follow_push_cut_and_shutdown_flush(flightlog_server_factory):
    server = flightlog_server_factory(
        {
            "server": {"maintenance_interval_secs": 0.2},
            "store": {"max_segment_bytes": _HEAD_FLUSH_BYTES},
        }
    )
    with server.client() as http:
        empty = _metrics(http)
        assert empty["flightlog_store_head_bytes"] == 0
        assert empty["flightlog_store_head_entries"] == 0
        assert empty["flightlog_store_segments"] == 0

        _push(http, "small")  # far below max_segment_bytes: stays in the head
        pushed = _metrics(http)
        assert 0 < pushed["flightlog_store_head_bytes"] < _HEAD_FLUSH_BYTES
        assert pushed["flightlog_store_head_entries"] == 1
        assert pushed["flightlog_store_wal_bytes"] > 0
        assert pushed["flightlog_store_streams"] == 1
        assert pushed["flightlog_store_tenants"] == 1
        assert pushed["flightlog_store_segments"] == 0
        assert pushed["flightlog_wal_fsyncs_total"] >= 1

        _push(http, "x" * 200, count=20)  # past max_segment_bytes: maintenance cuts it
        cut = _wait_for(http, lambda f: f.get("flightlog_store_segments", 0) >= 1)
        assert cut["flightlog_store_segments"] >= 1
        assert cut["flightlog_store_segment_entries"] == 21
        assert cut["flightlog_store_segment_bytes"] > 0
        assert cut["flightlog_store_head_bytes"] == 0
        assert cut["flightlog_store_head_entries"] == 0
        assert cut["flightlog_store_flushes_total"] >= 1

        _push(http, "before shutdown")
    assert server.stop() == 0  # the shutdown flush writes the head as one more segment
    server.restart()
    with server.client() as http:
        after = _metrics(http)
    assert after["flightlog_store_segment_entries"] == 22
    assert after["flightlog_store_head_entries"] == 0
    assert after["flightlog_store_head_bytes"] == 0
