"""flightlog.testing: the doubles users get are the ones we rely on."""

from __future__ import annotations

import logging

import flightlog
from flightlog.sdk.shipper import Shipper, ShipperConfig
from flightlog.testing import FakeClock, InMemoryExporter, capture_records


def test_capture_records_restores_root_level_and_handlers() -> None:
    """capture_records collects events and leaves logging as it found it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    with capture_records() as records:
        logging.getLogger("a").debug("d %d", 1)
    assert records[0]["msg"] == "d 1" and records[0]["level"] == "DEBUG"
    assert root.level == level and root.handlers == handlers


def test_fake_clock_moves_only_when_told() -> None:
    """time_ns, time and monotonic advance together by exactly the given seconds."""
    clock = FakeClock(start_ns=10**18)
    assert clock.time_ns() == 10**18 and clock.monotonic() == 0.0
    clock.advance(1.5)
    assert clock.time_ns() == 10**18 + 1_500_000_000 and clock.monotonic() == 1.5
    assert clock.time() == 10**9 + 1.5


def test_in_memory_exporter_down_then_up() -> None:
    """A down exporter makes the shipper buffer; switching it up delivers everything once."""
    exporter = InMemoryExporter(down=True)
    config = flightlog.configure(
        stream=None,
        exporter=exporter,
        shipper_config=ShipperConfig(
            flush_interval_secs=0.01, backoff_initial_secs=0.01, backoff_max_secs=0.02
        ),
    )
    for i in range(30):
        logging.getLogger("x").info("m%d", i)
    shipper = config.shipper
    assert isinstance(shipper, Shipper)
    assert shipper.flush(0.3) is False and exporter.attempts > 0
    exporter.down = False
    assert shipper.flush(5.0)
    assert sorted(e.event["msg"] for e in exporter.entries) == sorted(f"m{i}" for i in range(30))
    assert exporter.entries[0].labels["level"] == "info"
