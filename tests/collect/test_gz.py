"""Compressed rotated files: read once, never what was already read uncompressed."""

from __future__ import annotations

import gzip
import os
import shutil
from collections import Counter
from pathlib import Path

from flightlog.collect import FileInput
from flightlog.collect.gz import already_read, compressed_patterns
from flightlog.collect.positions import FilePosition, fingerprint_of


def _write(path: Path, lines: list[str]) -> None:
    with open(path, "a") as handle:
        handle.write("".join(line + "\n" for line in lines))


def _compress(path: Path) -> Path:
    """What logrotate's `compress` does: write name.gz, then remove name."""
    target = Path(f"{path}.gz")
    with open(path, "rb") as source, gzip.open(target, "wb") as sink:
        shutil.copyfileobj(source, sink)
    path.unlink()
    return target


def _gz_read(positions: dict[str, dict[str, object]], path: Path) -> bool:
    return any(pos["path"] == str(path) and pos["done"] for pos in positions.values())


def test_a_file_compressed_after_it_was_read_is_not_read_again(
    tmp_path, recording_server, run_agent, fast_config, wait_until, positions_of
):
    """train.log.1 → train.log.1.gz after the agent finished train.log.1: its lines arrive once."""
    path = tmp_path / "train.log"
    state = tmp_path / "state"
    rotated = Path(f"{path}.1")
    _write(path, [f"first {i}" for i in range(50)])
    inputs = (FileInput((str(path), str(tmp_path / "*.gz")), read_gz=True),)
    agent = run_agent(fast_config(recording_server.url, state, inputs))
    recording_server.wait_for(50)
    os.rename(path, rotated)
    _write(rotated, ["late"])
    _write(path, ["second 0"])
    recording_server.wait_for(52)
    wait_until(lambda: _gz_read(positions_of(state), path), what="train.log.1 finished")
    archive = _compress(rotated)
    wait_until(lambda: _gz_read(positions_of(state), archive), what="the .gz looked at")
    _write(path, ["second 1"])
    recording_server.wait_for(53)
    agent.stop()
    expected = [f"first {i}" for i in range(50)] + ["late", "second 0", "second 1"]
    assert Counter(recording_server.lines()) == Counter(expected)


def test_a_file_compressed_while_still_being_read_is_not_read_again(
    tmp_path, recording_server, run_agent, fast_config, wait_until, positions_of
):
    """Compressed while the agent still reads the rotated file, then a restart: lines arrive once."""
    path = tmp_path / "train.log"
    state = tmp_path / "state"
    rotated = Path(f"{path}.1")
    _write(path, [f"first {i}" for i in range(50)])
    inputs = (FileInput((str(path), str(tmp_path / "*.gz")), read_gz=True),)
    agent = run_agent(fast_config(recording_server.url, state, inputs, rotate_wait_secs=30))
    recording_server.wait_for(50)
    os.rename(path, rotated)
    _write(path, ["second 0"])
    recording_server.wait_for(51)  # the rename was seen; train.log.1 stays open 30 s
    _write(rotated, ["late"])
    archive = _compress(rotated)
    recording_server.wait_for(52)  # read from the open (now deleted) file
    agent.stop()
    agent = run_agent(fast_config(recording_server.url, state, inputs))
    wait_until(lambda: _gz_read(positions_of(state), archive), what="the .gz looked at")
    _write(path, ["second 1"])
    recording_server.wait_for(53)
    agent.stop()
    expected = [f"first {i}" for i in range(50)] + ["late", "second 0", "second 1"]
    assert Counter(recording_server.lines()) == Counter(expected)


def test_compressed_while_down_is_read_past_what_was_read(
    tmp_path, recording_server, run_agent, fast_config
):
    """Rotated and compressed while the agent was down: only the unread end of the .gz is read."""
    path = tmp_path / "train.log"
    _write(path, [f"read {i}" for i in range(30)])
    inputs = (FileInput((str(path),), read_gz=True),)
    config = fast_config(recording_server.url, tmp_path / "state", inputs)
    agent = run_agent(config)
    recording_server.wait_for(30)
    agent.stop()
    _write(path, ["unread"])
    rotated = Path(f"{path}.1")
    os.rename(path, rotated)
    _compress(rotated)
    _write(path, ["new"])
    agent = run_agent(config)
    recording_server.wait_for(32, timeout=10)
    agent.stop()
    expected = [f"read {i}" for i in range(30)] + ["unread", "new"]
    assert Counter(recording_server.lines()) == Counter(expected)


def test_read_gz_reads_compressed_siblings_of_matched_files(
    tmp_path, recording_server, run_agent, fast_config, wait_until, positions_of
):
    """With read_gz, `*.log` also reads a.log.gz, a.log.1.gz and a.log-DATE.gz once, nothing else."""
    state = tmp_path / "state"
    _write(tmp_path / "a.log", ["live"])
    archives = {"a.log.gz": "plain", "a.log.1.gz": "numbered", "a.log-20240101.gz": "dated"}
    for name, line in archives.items():
        with gzip.open(tmp_path / name, "wt") as handle:
            handle.write(f"{line}\n")
    with gzip.open(tmp_path / "other.gz", "wt") as handle:
        handle.write("not a sibling\n")
    inputs = (FileInput((str(tmp_path / "*.log"),), read_gz=True),)
    agent = run_agent(fast_config(recording_server.url, state, inputs))
    recording_server.wait_for(4)
    agent.stop()
    agent = run_agent(fast_config(recording_server.url, state, inputs))
    _write(tmp_path / "a.log", ["after restart"])
    recording_server.wait_for(5)
    agent.stop()
    assert Counter(recording_server.lines()) == Counter(
        ["live", "plain", "numbered", "dated", "after restart"]
    )


def test_compressed_patterns_cover_the_rotation_names():
    """A glob's compressed siblings: name.gz, name.N.gz, name-DATE.gz; none for a .gz glob."""
    assert compressed_patterns("logs/*.log") == (
        "logs/*.log.gz",
        "logs/*.log.*.gz",
        "logs/*.log-*.gz",
    )
    assert compressed_patterns("logs/*.gz") == ()


def test_already_read_prefers_the_longest_fingerprint():
    """A short fingerprint that a longer one also matches loses to the longer."""
    head = b"2024-05-01 start\n" + b"x" * 300
    short = FilePosition("a.log", 17, fingerprint_of(head[:17]), 17, done=True)
    long = FilePosition("b.log", 200, fingerprint_of(head[:256]), 256, done=True)
    other = FilePosition("c.log", 5, fingerprint_of(b"other"), 5, done=True)
    assert already_read(head[:256], [(short, False), (long, False), (other, False)]) == (
        long,
        False,
    )
    assert already_read(b"unrelated", [(short, False), (long, False)]) is None


def _archive(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt") as handle:
        handle.write("".join(line + "\n" for line in lines))
    return path


def _archive_position(positions: dict[str, dict[str, object]], path: Path) -> dict[str, object]:
    found = [pos for pos in positions.values() if pos["path"] == str(path)]
    return found[0] if found else {}


_BATCH_BYTES = 16 * 1024


def test_a_large_archive_streams_in_bounded_batches_once(
    tmp_path, recording_server, run_agent, fast_config, wait_until, positions_of
):
    """A .gz of many batches' worth arrives exactly once, in order, no batch over the bound."""
    state = tmp_path / "state"
    lines = [f"step {i:06d} loss=0.{i % 997:03d} lr=3e-4" for i in range(20_000)]
    archive = _archive(tmp_path / "train.log.1.gz", lines)
    inputs = (FileInput((str(tmp_path / "*.gz"),), read_gz=True),)
    config = fast_config(
        recording_server.url,
        state,
        inputs,
        batch_max_lines=100_000,
        batch_max_bytes=_BATCH_BYTES,
    )
    agent = run_agent(config)
    recording_server.wait_for(len(lines))
    wait_until(lambda: _gz_read(positions_of(state), archive), what="the .gz finished")
    agent.stop()
    assert recording_server.lines() == lines
    sizes = [sum(len(line) + 1 for line in batch) for batch in recording_server.batches]
    assert len(sizes) >= sum(len(line) + 1 for line in lines) // _BATCH_BYTES
    assert max(sizes) <= _BATCH_BYTES
    agent = run_agent(config)  # read once: not again after a restart
    _write(tmp_path / "train.log", ["after"])
    wait_until(lambda: agent.agent.ready.is_set(), what="the restarted agent looked")
    agent.stop()
    assert recording_server.lines() == lines


def test_stopped_mid_archive_resumes_without_loss_or_duplicates(
    tmp_path, recording_server, run_agent, fast_config, wait_until, positions_of
):
    """Stopped partway through a .gz (some sent, some spooled), restarted: every line once."""
    state = tmp_path / "state"
    lines = [f"line {i:06d} " + "x" * 40 for i in range(20_000)]
    total_bytes = sum(len(line) + 1 for line in lines)
    archive = _archive(tmp_path / "big.log.gz", lines)
    inputs = (FileInput((str(tmp_path / "*.gz"),), read_gz=True),)
    settings = {
        "batch_max_lines": 100_000,
        "batch_max_bytes": _BATCH_BYTES,
        "drain_timeout_secs": 0.2,
    }
    config = fast_config(recording_server.url, state, inputs, **settings)
    recording_server.status = 503
    agent = run_agent(config)
    # The shipper cannot send: the agent reads a few batches ahead, then waits.
    wait_until(lambda: agent.agent.spool.pending() >= 2, what="batches spooled")
    recording_server.status = 204
    recording_server.wait_for(1)
    recording_server.status = 503
    wait_until(lambda: agent.agent.spool.pending() >= 2, what="batches spooled again")
    agent.stop()
    position = _archive_position(positions_of(state), archive)
    assert position and not position["done"]
    assert 0 < int(position["offset"]) < total_bytes  # type: ignore[call-overload]
    assert 0 < len(recording_server.lines()) < len(lines)
    recording_server.status = 204
    agent = run_agent(config)
    recording_server.wait_for(len(lines))
    wait_until(lambda: _gz_read(positions_of(state), archive), what="the .gz finished")
    agent.stop()
    assert Counter(recording_server.lines()) == Counter(lines)
    assert recording_server.lines() == lines


def test_multiline_entries_across_batches_and_a_restart_arrive_whole(
    tmp_path, recording_server, run_agent, fast_config, wait_until, positions_of
):
    """Tracebacks in a .gz are joined as in a plain file, also across a stop mid-archive."""
    from flightlog.collect.multiline import MultilineConfig

    state = tmp_path / "state"
    entries = [
        f"2024-05-01 ERROR step {i}\nTraceback (most recent call last):\n  File x, line {i}"
        for i in range(3_000)
    ]
    archive = _archive(tmp_path / "job.log.gz", entries)
    item = FileInput(
        (str(tmp_path / "*.gz"),), read_gz=True, multiline=MultilineConfig(r"^\d{4}-\d\d-\d\d ")
    )
    config = fast_config(
        recording_server.url,
        state,
        (item,),
        batch_max_lines=100_000,
        batch_max_bytes=_BATCH_BYTES,
        drain_timeout_secs=0.2,
    )
    recording_server.status = 503
    agent = run_agent(config)
    wait_until(lambda: agent.agent.spool.pending() >= 2, what="batches spooled")
    agent.stop()
    assert not _archive_position(positions_of(state), archive)["done"]
    recording_server.status = 204
    agent = run_agent(config)
    recording_server.wait_for(len(entries))
    wait_until(lambda: _gz_read(positions_of(state), archive), what="the .gz finished")
    agent.stop()
    assert recording_server.lines() == entries


def test_gz_reader_holds_at_most_one_read(tmp_path):
    """GzReader hands on at most the room asked for (a whole line when one is longer)."""
    from flightlog.collect.gz import GzReader

    lines = [f"{i:05d} " + "y" * (i % 300) for i in range(5_000)]
    archive = _archive(tmp_path / "a.log.gz", lines)
    reader = GzReader(str(archive), "k", FilePosition(str(archive), 0), read_chunk_bytes=4096)
    got: list[str] = []
    while True:
        batch, _ = reader.read_lines(1024)
        if not batch:
            break
        assert sum(len(line) + 1 for line in batch) <= max(1024, len(batch[0]) + 1)
        assert len(reader._buffer) <= 4096
        got.extend(batch)
    assert reader.ended and reader.complete and got == lines
    middle = reader.offset // 2
    reader.close()
    resumed = GzReader(str(archive), "k", FilePosition(str(archive), 0), read_chunk_bytes=4096)
    first, _ = resumed.read_lines(middle)
    resumed.close()
    rest_reader = GzReader(str(archive), "k", FilePosition(str(archive), resumed.offset))
    rest: list[str] = []
    while batch := rest_reader.read_lines(1 << 16)[0]:
        rest.extend(batch)
    rest_reader.close()
    assert first + rest == lines
