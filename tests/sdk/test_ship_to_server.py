"""Shipping through a real ``flightlog serve``: down -> buffer -> up, everything stored once."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

import flightlog
from flightlog.model import Direction
from flightlog.sdk.shipper import ShipperConfig
from flightlog.store import Store, StoreConfig

_END = 2**63 - 1


def _stored(data_dir: Path) -> list[tuple[dict[str, str], dict[str, Any], dict[str, str] | None]]:
    """(labels, parsed line, metadata) of every stored entry; call after the server stopped."""
    with Store.open(StoreConfig(data_dir), read_only=True) as store:
        labels = {s.stream_id: dict(s.labels) for s in store.streams(["default"], [], 0, _END)}
        rows = []
        for batch in store.select(["default"], [], 0, _END, direction=Direction.FORWARD):
            for row in batch.to_pylist():
                rows.append(
                    (
                        labels[row["stream_id"]],
                        orjson.loads(row["line"]),
                        dict(row["metadata"]) or None,
                    )
                )
        return rows


def _wait_until(predicate: Any, timeout_secs: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.mark.slow
def test_down_buffer_up_every_line_stored_exactly_once(
    flightlog_server: Any, tmp_path: Path
) -> None:
    """Lines logged while the server is stopped are buffered on disk and stored once after restart."""
    config = flightlog.configure(
        stream=None,
        server=flightlog_server.url,
        service="sdk-test",
        labels={"env": "ci"},
        shipper_config=ShipperConfig(
            flush_interval_secs=0.05,
            backoff_initial_secs=0.05,
            backoff_max_secs=0.2,
            buffer_dir=tmp_path / "spool",
        ),
    )
    shipper = config.shipper
    assert shipper is not None
    logger = logging.getLogger("sdk.ship")
    with flightlog.bound(trace_id="ab" * 16):
        for i in range(40):
            logger.info("before %d", i)
    assert shipper.flush(15.0)
    flightlog_server.stop()
    for i in range(60):
        logger.warning("during %d", i)
    assert _wait_until(
        lambda: shipper.stats()["buffered_entries"] >= 60 and shipper.failed_attempts > 0
    )
    flightlog_server.restart()
    assert shipper.flush(20.0)
    flightlog.shutdown()
    flightlog_server.stop()
    rows = [r for r in _stored(flightlog_server.data_dir) if r[1].get("logger") == "sdk.ship"]
    messages = sorted(line["msg"] for _, line, _ in rows)
    assert messages == sorted(
        [f"before {i}" for i in range(40)] + [f"during {i}" for i in range(60)]
    )
    before = next(r for r in rows if r[1]["msg"] == "before 0")
    assert before[0] == {"service": "sdk-test", "env": "ci", "level": "info"}
    assert before[2] is not None and before[2]["trace_id"] == "ab" * 16


@pytest.mark.slow
def test_run_metrics_reach_the_server(flightlog_server: Any, tmp_path: Path) -> None:
    """A Run's metrics records are stored with the run_id label, queryable as event=metrics."""
    config = flightlog.configure(
        stream=None,
        server=flightlog_server.url,
        service="trainer",
        shipper_config=ShipperConfig(flush_interval_secs=0.05),
    )
    with flightlog.Run("srv", dir=tmp_path / "logs", flush_interval_secs=0.02) as run:
        for step in range(10):
            run.log_batch(step=step, epoch=1, loss=1.0 / (step + 1))
    assert config.shipper is not None and config.shipper.flush(15.0)
    flightlog.shutdown()
    flightlog_server.stop()
    metrics = [
        line
        for labels, line, _ in _stored(flightlog_server.data_dir)
        if labels.get("run_id") == run.run_id and line.get("event") == "metrics"
    ]
    assert sorted(m["step"] for m in metrics) == list(range(10))
