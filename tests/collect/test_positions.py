"""Positions follow a file's identity: rotation while the agent is down loses nothing."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

from flightlog.collect import FileInput


def _write(path: Path, lines: list[str]) -> None:
    with open(path, "a") as handle:
        handle.write("".join(line + "\n" for line in lines))


def _done(positions: dict[str, dict[str, object]], path: Path) -> bool:
    return any(pos["done"] and pos["path"] == str(path) for pos in positions.values())


def test_rename_while_down_reads_the_rest_of_the_old_file(
    tmp_path, recording_server, run_agent, fast_config, wait_until, positions_of
):
    """Lines written before (and after) a rename done while the agent was down arrive once."""
    path = tmp_path / "train.log"
    state = tmp_path / "state"
    _write(path, [f"read {i}" for i in range(100)])
    config = fast_config(recording_server.url, state, (FileInput((str(path),)),))
    agent = run_agent(config)
    recording_server.wait_for(100)
    agent.stop()
    _write(path, ["unread 1", "unread 2"])
    os.rename(path, f"{path}.1")
    _write(Path(f"{path}.1"), ["late"])  # a writer still holding the old file
    _write(path, ["new 1", "new 2"])
    agent = run_agent(config)
    recording_server.wait_for(105, timeout=10)
    wait_until(lambda: _done(positions_of(state), path), what="the rotated file finished")
    agent.stop()
    expected = [f"read {i}" for i in range(100)] + [
        "unread 1",
        "unread 2",
        "late",
        "new 1",
        "new 2",
    ]
    assert Counter(recording_server.lines()) == Counter(expected)


def test_killed_right_after_a_rename_finishes_the_old_file_on_restart(
    tmp_path, recording_server, run_agent, fast_config
):
    """Stopped while it still waits out a rotated file, the agent reads that file's rest next time."""
    path = tmp_path / "train.log"
    _write(path, ["old 1"])
    config = fast_config(
        recording_server.url, tmp_path / "state", (FileInput((str(path),)),), rotate_wait_secs=30
    )
    agent = run_agent(config)
    recording_server.wait_for(1)
    os.rename(path, f"{path}.1")
    _write(path, ["new 1"])
    recording_server.wait_for(2)  # the rename was seen: the new file is being tailed
    agent.stop()
    _write(Path(f"{path}.1"), ["old 2"])
    _write(path, ["new 2"])
    agent = run_agent(config)
    recording_server.wait_for(4, timeout=10)
    agent.stop()
    assert Counter(recording_server.lines()) == Counter(["old 1", "old 2", "new 1", "new 2"])


def test_a_finished_rotated_file_is_not_read_again_after_restart_and_rotation(
    tmp_path, recording_server, run_agent, fast_config, wait_until, positions_of
):
    """A rotated file read to its end stays known by identity across restarts and renames."""
    path = tmp_path / "train.log"
    state = tmp_path / "state"
    _write(path, ["gen1 a", "gen1 b"])
    config = fast_config(recording_server.url, state, (FileInput((str(path),)),))
    agent = run_agent(config)
    recording_server.wait_for(2)
    os.rename(path, f"{path}.1")
    _write(path, ["gen2 a"])
    recording_server.wait_for(3)
    wait_until(lambda: _done(positions_of(state), path), what="train.log.1 finished")
    agent.stop()
    agent = run_agent(config)
    assert agent.agent.ready.wait(10)
    os.rename(f"{path}.1", f"{path}.2")  # logrotate shifts the old copies along
    os.rename(path, f"{path}.1")
    _write(path, ["gen3 a"])
    recording_server.wait_for(4)
    wait_until(
        lambda: sum(pos["done"] for pos in positions_of(state).values()) == 2,
        what="both rotated files finished",
    )
    agent.stop()
    assert Counter(recording_server.lines()) == Counter(["gen1 a", "gen1 b", "gen2 a", "gen3 a"])


def test_copytruncate_while_down_reads_the_rest_from_the_copy(
    tmp_path, recording_server, run_agent, fast_config
):
    """A file copied and truncated while the agent was down: its unread lines come from the copy."""
    path = tmp_path / "train.log"
    _write(path, [f"read {i}" for i in range(20)])
    config = fast_config(recording_server.url, tmp_path / "state", (FileInput((str(path),)),))
    agent = run_agent(config)
    recording_server.wait_for(20)
    agent.stop()
    _write(path, ["unread"])
    shutil.copyfile(path, f"{path}.1")
    os.truncate(path, 0)
    _write(path, ["after truncation"])
    agent = run_agent(config)
    recording_server.wait_for(22, timeout=10)
    agent.stop()
    expected = [f"read {i}" for i in range(20)] + ["unread", "after truncation"]
    assert Counter(recording_server.lines()) == Counter(expected)


def test_start_at_end_reads_a_file_that_replaced_one_we_tailed(
    tmp_path, recording_server, run_agent, fast_config
):
    """With start_at: end, a new file at a path we tailed (rotated while down) is read whole."""
    path = tmp_path / "train.log"
    _write(path, ["before the agent"])
    inputs = (FileInput((str(path),), start_at="end"),)
    config = fast_config(recording_server.url, tmp_path / "state", inputs)
    agent = run_agent(config)
    assert agent.agent.ready.wait(10)
    _write(path, ["seen"])
    recording_server.wait_for(1)
    agent.stop()
    os.rename(path, f"{path}.1")
    _write(path, ["new file"])
    agent = run_agent(config)
    recording_server.wait_for(2, timeout=10)
    agent.stop()
    assert Counter(recording_server.lines()) == Counter(["seen", "new file"])
