"""Batch bounds: every push holds at most ``batch.max_lines`` entries and ``max_bytes`` bytes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry

from flightlog.collect import Agent, FileInput
from flightlog.collect.metrics import agent_metrics

from .readback import stored_lines


def _write(path: Path, lines: Iterable[str]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def _push_bytes(lines: list[str]) -> int:
    """What a push of ``lines`` counts against ``batch.max_bytes`` (UTF-8, +1 a line)."""
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def _assert_within(batches: list[list[str]], max_lines: int, max_bytes: int) -> None:
    too_big = [
        (index, len(lines), _push_bytes(lines))
        for index, lines in enumerate(batches)
        if len(lines) > max_lines or _push_bytes(lines) > max_bytes
    ]
    assert not too_big, f"pushes over {max_lines} lines / {max_bytes} bytes: {too_big[:5]}"


def test_many_lines_read_at_once_are_split_by_max_lines(
    tmp_path, recording_server, run_agent, fast_config
):
    """A file read in one go reaches the server in pushes of at most max_lines, in order."""
    path = tmp_path / "app.log"
    lines = [f"step {i} é" for i in range(3000)]
    _write(path, lines)
    config = fast_config(
        recording_server.url,
        tmp_path / "state",
        (FileInput((str(path),)),),
        batch_max_lines=100,
        batch_max_bytes=64 * 1024,
    )
    agent = run_agent(config)
    recording_server.wait_for(len(lines))
    agent.stop()
    assert recording_server.lines() == lines
    _assert_within(recording_server.batches, 100, 64 * 1024)


def test_max_bytes_bounds_each_push_in_utf8_bytes(
    tmp_path, recording_server, run_agent, fast_config
):
    """Lines of multi-byte characters are counted in UTF-8 bytes, and no push holds more."""
    path = tmp_path / "app.log"
    lines = [f"{i:05d} " + "日本語のログ" * 4 for i in range(2000)]
    _write(path, lines)
    config = fast_config(
        recording_server.url,
        tmp_path / "state",
        (FileInput((str(path),)),),
        batch_max_lines=10_000,
        batch_max_bytes=4096,
    )
    agent = run_agent(config)
    recording_server.wait_for(len(lines))
    agent.stop()
    assert recording_server.lines() == lines
    _assert_within(recording_server.batches, 10_000, 4096)


def test_a_line_longer_than_max_bytes_is_pushed_alone(
    tmp_path, recording_server, run_agent, fast_config
):
    """A single line over max_bytes goes in a push of its own, between its neighbours."""
    path = tmp_path / "app.log"
    long_line = "x" * 5000
    lines = [f"before {i}" for i in range(50)] + [long_line] + [f"after {i}" for i in range(50)]
    _write(path, lines)
    config = fast_config(
        recording_server.url,
        tmp_path / "state",
        (FileInput((str(path),)),),
        batch_max_bytes=1024,
    )
    agent = run_agent(config)
    recording_server.wait_for(len(lines))
    agent.stop()
    assert recording_server.lines() == lines
    assert [long_line] in recording_server.batches
    _assert_within([batch for batch in recording_server.batches if batch != [long_line]], 500, 1024)


def test_a_stdin_chunk_is_split_by_the_bounds(tmp_path, recording_server, fast_config):
    """Stdin read 64 KiB at a time still reaches the server in pushes within the bounds."""
    lines = [f"epoch {i} loss=0.{i:04d}" for i in range(1500)]
    read_fd, write_fd = os.pipe()
    os.write(write_fd, "".join(line + "\n" for line in lines).encode())
    os.close(write_fd)
    config = fast_config(
        recording_server.url, tmp_path / "state", (), batch_max_lines=200, batch_max_bytes=2048
    )
    agent = Agent(config, registry=CollectorRegistry())
    with os.fdopen(read_fd, "rb", buffering=0) as stdin:
        agent.run_stdin(stdin, None, threading.Event())
    assert recording_server.lines() == lines
    _assert_within(recording_server.batches, 200, 2048)


def test_restart_with_bounded_batches_buffered_loses_and_repeats_nothing(
    tmp_path, recording_server, run_agent, fast_config, wait_until, positions_of
):
    """Split pushes buffered while the server is down survive a restart, each line once."""
    recording_server.stop()
    path = tmp_path / "app.log"
    first = [f"first {i}" for i in range(2000)]
    _write(path, first)
    config = fast_config(
        recording_server.url,
        tmp_path / "state",
        (FileInput((str(path),)),),
        batch_max_lines=64,
        batch_max_bytes=1024,
        drain_timeout_secs=0.0,
    )
    agent = run_agent(config)
    size = path.stat().st_size
    wait_until(
        lambda: any(pos["offset"] == size for pos in positions_of(tmp_path / "state").values()),
        what="the whole file read and its batches spooled",
    )
    agent.stop()
    second = [f"second {i}" for i in range(500)]
    _write(path, second)
    recording_server.start()
    agent = run_agent(config)
    recording_server.wait_for(len(first) + len(second))
    agent.stop()
    assert recording_server.lines() == first + second
    _assert_within(recording_server.batches, 64, 1024)


def test_a_crash_in_the_middle_of_a_split_read_reads_it_again_once(
    tmp_path, recording_server, fast_config
):
    """Killed after some pushes of one read were spooled, the agent repeats none of them.

    The state is what a SIGKILL between two spool writes leaves: the group's first batches
    on disk, its last one (with the positions) not, positions.json from before the read.
    """
    recording_server.stop()
    path = tmp_path / "app.log"
    lines = [f"line {i}" for i in range(1000)]
    _write(path, lines)
    state = tmp_path / "state"
    config = fast_config(
        recording_server.url,
        state,
        (FileInput((str(path),)),),
        batch_max_lines=100,
        drain_timeout_secs=0.0,
    )
    agent = Agent(config, registry=CollectorRegistry())
    before_read = (state / "positions.json").read_bytes()
    agent.discover()
    agent.poll_files()
    stopped = threading.Event()
    stopped.set()
    agent.run(stopped)  # the server is down: nothing is sent
    spooled = sorted((state / "buffer").glob("*.batch"))
    assert len(spooled) == 10, "one read of 1000 lines should spool as 10 pushes of 100"
    spooled[-1].unlink()
    (state / "positions.json").write_bytes(before_read)
    recording_server.start()
    registry = CollectorRegistry()
    restarted = Agent(config, registry=registry)
    stop = threading.Event()
    thread = threading.Thread(target=restarted.run, args=(stop,), daemon=True)
    thread.start()
    try:
        recording_server.wait_for(len(lines))
    finally:
        stop.set()
        thread.join(30)
    assert recording_server.lines() == lines
    _assert_within(recording_server.batches, 100, config.batch_max_bytes)
    assert agent_metrics(registry).rejected_lines._value.get() == 0


def test_pushes_within_the_bounds_fit_the_real_servers_request_limit(
    tmp_path, flightlog_server_factory, run_agent, fast_config
):
    """With max_bytes well under the server's max_request_bytes, no push gets a 413."""
    server = flightlog_server_factory({"limits": {"defaults": {"max_request_bytes": 12 * 1024}}})
    path = tmp_path / "app.log"
    lines = [f"{i:05d} " + "日本語のログ" * 4 for i in range(3000)]
    _write(path, lines)
    registry = CollectorRegistry()
    config = fast_config(
        server.url,
        tmp_path / "state",
        (FileInput((str(path),), {"job": "bounded"}),),
        batch_max_lines=10_000,
        batch_max_bytes=4096,
    )
    agent = run_agent(config, registry=registry)
    metrics = agent_metrics(registry)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        settled = metrics.sent_lines._value.get() + metrics.rejected_lines._value.get()
        if settled >= len(lines):
            break
        time.sleep(0.05)
    agent.stop()
    assert metrics.rejected_lines._value.get() == 0, "the server refused a push as too large"
    assert stored_lines(server, '{job="bounded"}') == lines
