"""Shipping to a server: batching, gzip, labels, retries, disk buffer, exactly-once delivery.

The server here is a real HTTP server in the test that records the Loki push bodies it
receives (the ``flightlog_server`` fixture replaces it once the server is ready).
"""

from __future__ import annotations

import io
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

import flightlog
from flightlog.errors import ConfigError
from flightlog.sdk.shipper import LokiExporter, ShipEntry, Shipper, ShipperConfig
from flightlog.testing import RecordingServer


def _wait_until(predicate: Callable[[], bool], timeout_secs: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def _fast(tmp_path: Path | None = None, **overrides: object) -> ShipperConfig:
    options: dict[str, object] = {
        "flush_interval_secs": 0.02,
        "backoff_initial_secs": 0.02,
        "backoff_max_secs": 0.1,
        "batch_max_entries": 50,
        "buffer_dir": tmp_path,
    }
    options.update(overrides)
    return ShipperConfig(**options)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_configure_ships_json_lines_with_labels_and_metadata(
    recording_server: RecordingServer,
) -> None:
    """Lines arrive gzip'd at the Loki push endpoint with low-cardinality labels only."""
    config = flightlog.configure(
        stream=None,
        server=recording_server.url,
        labels={"env": "test"},
        service="trainer",
        shipper_config=_fast(),
    )
    logger = logging.getLogger("ship.test")
    with flightlog.bound(run_id="r42", correlation_id="c-1", trace_id="t" * 32):
        logger.warning("disk almost full", extra={"free_gb": 1.5})
    assert config.shipper is not None and config.shipper.flush(5.0)
    (labels, ts, line, metadata) = recording_server.entries()[0]
    assert labels == {"env": "test", "service": "trainer", "level": "warning", "run_id": "r42"}
    assert metadata == {"trace_id": "t" * 32, "correlation_id": "c-1", "logger": "ship.test"}
    event = orjson.loads(line)
    assert event["msg"] == "disk almost full" and event["free_gb"] == 1.5
    assert int(ts) > 1_700_000_000 * 10**9


def test_server_down_then_up_delivers_everything_exactly_once(
    recording_server: RecordingServer, tmp_path: Path
) -> None:
    """While the server answers 503 entries go to the disk buffer; once it is back, each arrives once."""
    recording_server.up = False
    shipper = Shipper(LokiExporter(recording_server.url), _fast(tmp_path / "spool"))
    for i in range(300):
        shipper.submit(ShipEntry((("service", "t"),), time.time_ns(), f"line-{i}"))
    assert _wait_until(lambda: shipper.stats()["buffered_entries"] == 300)
    assert shipper.failed_attempts > 0 and recording_server.lines() == []
    recording_server.up = True
    assert shipper.flush(10.0)
    lines = recording_server.lines()
    assert sorted(lines) == sorted(f"line-{i}" for i in range(300))
    assert shipper.stats()["buffered_entries"] == 0
    shipper.close(1.0)
    assert recording_server.lines() == lines


def test_unreachable_server_never_raises_and_keeps_entries(tmp_path: Path) -> None:
    """Nothing listens on the port: submits return, entries wait in the buffer."""
    shipper = Shipper(
        LokiExporter(f"http://127.0.0.1:{_free_port()}", timeout_secs=0.5), _fast(tmp_path)
    )
    for i in range(2000):
        shipper.submit(ShipEntry((("service", "t"),), i, f"l{i}"))
    assert _wait_until(lambda: shipper.stats()["buffered_entries"] == 2000)
    assert "ConnectError" in (shipper.last_error or "")
    assert shipper.flush(0.2) is False
    shipper.close(0.1)


def test_buffer_is_bounded_oldest_dropped_counted_and_reported(
    recording_server: RecordingServer, tmp_path: Path
) -> None:
    """Past max_buffer_bytes the oldest batches go; the drop is counted and shipped as a warning."""
    recording_server.up = False
    reports: list[str] = []
    shipper = Shipper(
        LokiExporter(recording_server.url),
        _fast(tmp_path, max_buffer_bytes=2000, batch_max_entries=10),
        report=reports.append,
    )
    for i in range(400):
        shipper.submit(ShipEntry((("service", "t"),), i, f"entry-{i:05d}-" + "z" * 40))
    assert _wait_until(lambda: shipper.stats()["queued_entries"] == 0 and not shipper._busy)
    dropped = shipper.stats()["dropped"].get("buffer_full", 0)
    assert dropped > 0
    recording_server.up = True
    assert shipper.flush(10.0)
    lines = recording_server.lines()
    delivered = [line for line in lines if line.startswith("entry-")]
    assert len(delivered) + dropped == 400
    assert "entry-00399-" + "z" * 40 in delivered  # newest kept
    assert "entry-00000-" + "z" * 40 not in delivered  # oldest dropped
    assert _wait_until(lambda: any("dropped" in line for line in recording_server.lines()))
    assert reports and "buffer_full" in reports[0]
    shipper.close(1.0)


def test_disk_buffer_survives_a_restart_of_the_process(
    recording_server: RecordingServer, tmp_path: Path
) -> None:
    """What could not be sent before close() is sent by the next shipper on the same buffer."""
    recording_server.up = False
    first = Shipper(LokiExporter(recording_server.url), _fast(tmp_path))
    for i in range(20):
        first.submit(ShipEntry((("service", "t"),), i, f"kept-{i}"))
    first.close(0.3)
    assert recording_server.lines() == []
    recording_server.up = True
    second = Shipper(LokiExporter(recording_server.url), _fast(tmp_path))
    assert second.flush(5.0)
    assert sorted(recording_server.lines()) == sorted(f"kept-{i}" for i in range(20))
    second.close(1.0)


def test_rejected_batches_are_dropped_not_retried(recording_server: RecordingServer) -> None:
    """A 400 answer means the batch will never succeed: it is dropped and counted once."""
    recording_server.reject_status = 400
    shipper = Shipper(LokiExporter(recording_server.url), _fast())
    shipper.submit(ShipEntry((("service", "t"),), 1, "bad"))
    assert shipper.flush(5.0)
    assert shipper.stats()["dropped"] == {"rejected": 1}
    shipper.close(0.5)


def test_queue_bound_drops_oldest(tmp_path: Path) -> None:
    """With the thread unable to keep up, the in-memory queue keeps the newest entries."""
    shipper = Shipper(LokiExporter("http://127.0.0.1:9"), _fast(tmp_path, max_queue_entries=10))
    shipper._thread = object()  # type: ignore[assignment]  # keep the thread from starting
    for i in range(25):
        shipper.submit(ShipEntry((), i, str(i)))
    assert [e.line for e in shipper._queue] == [str(i) for i in range(15, 25)]
    assert shipper.dropped == {"queue_full": 15}
    shipper._thread = None
    shipper.close(0.1)


def test_run_metrics_are_shipped_with_run_id_label(
    recording_server: RecordingServer, tmp_path: Path
) -> None:
    """A Run under configure(server=...) ships each metrics record labelled with its run_id."""
    config = flightlog.configure(
        stream=io.StringIO(), server=recording_server.url, shipper_config=_fast()
    )
    with flightlog.Run("shipped", dir=tmp_path, flush_interval_secs=0.01) as run:
        for step in range(5):
            run.log_batch(step=step, epoch=1, loss=1.0 / (step + 1))
    assert config.shipper is not None and config.shipper.flush(5.0)
    metrics = [
        (labels, orjson.loads(line))
        for labels, _, line, _ in recording_server.entries()
        if orjson.loads(line).get("event") == "metrics"
    ]
    assert [m["step"] for _, m in metrics] == [0, 1, 2, 3, 4]
    assert all(labels["run_id"] == run.run_id for labels, _ in metrics)
    from flightlog.sdk.formatter import format_ts_ns

    shipped = [(ts, orjson.loads(line)) for _, ts, line, _ in recording_server.entries()]
    assert all(
        format_ts_ns(int(ts)) == event["ts"]
        for ts, event in shipped
        if event.get("event") == "metrics"
    )


def test_configure_rejects_a_server_that_is_not_a_url() -> None:
    """The message names the value and shows a valid one."""
    with pytest.raises(ConfigError, match="localhost:3100"):
        flightlog.configure(stream=None, server="localhost:3100")


def test_configure_buffers_on_disk_per_process_by_default() -> None:
    """Without a shipper_config the buffer is a per-process directory under the temp dir."""
    import os
    import tempfile

    config = flightlog.configure(
        stream=None, server=f"http://127.0.0.1:{_free_port()}", service="svc/a"
    )
    assert config.shipper is not None
    buffer_dir = config.shipper.config.buffer_dir
    assert buffer_dir is not None
    assert buffer_dir.parent == Path(tempfile.gettempdir()) / "flightlog-spool"
    assert buffer_dir.name == f"svc_a-{os.getpid()}"


def test_garbage_in_the_buffer_is_ignored_or_rejected(
    recording_server: RecordingServer, tmp_path: Path
) -> None:
    """Stray files are ignored; a truncated batch is rejected by the server and dropped once."""
    import gzip

    from flightlog.sdk.shipper import encode_loki_push

    (tmp_path / "notes.txt").write_text("not a batch")
    (tmp_path / "junk.batch").write_bytes(b"\x00\x01")
    whole = gzip.compress(encode_loki_push([ShipEntry((("service", "t"),), 1, "kept")]))
    (tmp_path / f"{0:020d}-3.batch").write_bytes(whole[: len(whole) // 2])  # truncated
    (tmp_path / f"{1:020d}-1.batch").write_bytes(whole)
    shipper = Shipper(LokiExporter(recording_server.url), _fast(tmp_path))
    assert shipper.flush(5.0)
    lines = recording_server.lines()
    assert lines[0] == "kept" and "dropped 3 entries (rejected)" in lines[1]
    assert shipper.stats()["dropped"] == {"rejected": 3}
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "junk.batch").exists()
    shipper.close(1.0)


def test_forked_child_ships_its_own_lines(recording_server: RecordingServer) -> None:
    """A forked worker process (DataLoader style) ships through its own thread; nothing is sent twice."""
    import multiprocessing

    config = flightlog.configure(stream=None, server=recording_server.url, shipper_config=_fast())
    logger = logging.getLogger("fork.test")
    logger.info("parent before fork")
    assert config.shipper is not None and config.shipper.flush(5.0)

    def child() -> None:
        logging.getLogger("fork.test").info("from child")
        flightlog.shutdown(timeout_secs=5.0)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(20)
    assert process.exitcode == 0
    logger.info("parent after fork")
    assert config.shipper.flush(5.0)
    messages = sorted(
        orjson.loads(line)["msg"] for line in recording_server.lines() if "fork.test" in line
    )
    assert messages == ["from child", "parent after fork", "parent before fork"]


def test_unfinished_run_is_shipped_at_interpreter_exit(
    recording_server: RecordingServer, tmp_path: Path
) -> None:
    """A run never finished by the script is finished at exit before the shipper's last flush."""
    import subprocess
    import sys

    script = (
        "import flightlog\n"
        f"flightlog.configure(stream=None, server={recording_server.url!r}, service='exit-test')\n"
        f"run = flightlog.Run('unfinished', dir={str(tmp_path)!r}, run_id='r-exit')\n"
        "run.log_batch(step=1, epoch=1, loss=0.5)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    events = {
        orjson.loads(line).get("event")
        for labels, _, line, _ in recording_server.entries()
        if labels.get("run_id") == "r-exit"
    }
    assert {"run_start", "metrics", "run_end"} <= events
