"""`flightlog collect` as a real process: SIGKILL mid-file and restart, stdin tee, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flightlog.cli.app import app

from .readback import stored_lines


def _collect(
    *args: str, stdin: int | None = None, stdout: int | None = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flightlog", "collect", "--quiet", *args],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
    )


def _wait(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
def test_sigkill_mid_file_then_restart_loses_and_repeats_nothing(tmp_path, flightlog_server):
    """An agent killed with SIGKILL (even right as a push lands) resumes exactly where it was."""
    path = tmp_path / "train.log"
    total = 10_000
    path.write_text("".join(f"step {i:06d} loss=0.{i % 997:03d}\n" for i in range(total // 2)))
    args = (
        str(path),
        "--url",
        flightlog_server.url,
        "--data-dir",
        str(tmp_path / "state"),
        "--label",
        "job=kill",
    )
    config = tmp_path / "collect.yaml"
    config.write_text("url: http://unused\nbatch: {max_lines: 500, flush_interval_secs: 0.05}\n")
    for round_ in range(2):
        agent = _collect("--config", str(config), *args)
        _wait(
            lambda: (
                (tmp_path / "state" / "buffer").exists()
                and len(stored_lines(flightlog_server, '{job="kill"}')) > 0
            )
        )
        time.sleep(0.05 * round_)  # land the kill at different points of the shipping cycle
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        with open(path, "a") as handle:
            start = total // 2 + round_ * 1000
            handle.write(
                "".join(f"step {i:06d} loss=0.{i % 997:03d}\n" for i in range(start, start + 1000))
            )
    with open(path, "a") as handle:
        start = total // 2 + 2000
        handle.write("".join(f"step {i:06d} loss=0.{i % 997:03d}\n" for i in range(start, total)))
    agent = _collect("--config", str(config), *args)
    _wait(lambda: len(stored_lines(flightlog_server, '{job="kill"}')) >= total, timeout=90)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(30) == 0
    counts = Counter(stored_lines(flightlog_server, '{job="kill"}'))
    missing = total - len(counts)
    duplicated = sum(1 for value in counts.values() if value > 1)
    assert (missing, duplicated) == (0, 0)


def test_stdin_is_passed_through_and_shipped(tmp_path, recording_server):
    """`flightlog collect -` copies stdin to stdout byte for byte and ships every line."""
    data = b"epoch 1 loss=0.5\nepoch 2 loss=0.4\n\xff odd bytes\nno newline at end"
    agent = subprocess.run(
        [
            sys.executable,
            "-m",
            "flightlog",
            "collect",
            "-",
            "--url",
            recording_server.url,
            "--label",
            "job=train",
            "--data-dir",
            str(tmp_path / "state"),
            "--quiet",
        ],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert agent.returncode == 0, agent.stderr
    assert agent.stdout == data
    assert recording_server.lines() == [
        "epoch 1 loss=0.5",
        "epoch 2 loss=0.4",
        "\ufffd odd bytes",
        "no newline at end",
    ]
    assert {entry[0]["job"] for entry in recording_server.entries} == {"train"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x.log"], "--url"),
        (["--url", "http://127.0.0.1:1"], "name files"),
        (["x.log", "--url", "ftp://host"], "http://"),
        (["x.log", "--url", "http://h", "--label", "nolabel"], "name=value"),
        (["x.log", "--url", "http://h", "--multiline-start", "("], "RE2"),
        (["--config", "/nonexistent/collect.yaml"], "does not exist"),
    ],
)
def test_bad_arguments_exit_nonzero_with_one_line(tmp_path, args, message):
    """Wrong flags or config give exit code 2 and one line saying what to fix."""
    result = CliRunner().invoke(app, ["collect", *args, "--data-dir", str(tmp_path / "s")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_config_file_with_garbage_is_rejected(tmp_path):
    """A collect.yaml with an unknown key names it."""
    config = tmp_path / "collect.yaml"
    config.write_text("url: http://127.0.0.1:1\ninputs:\n  - paths: [a.log]\n    lables: {a: b}\n")
    result = CliRunner().invoke(app, ["collect", "--config", str(config)])
    assert result.exit_code == 2
    assert "lables" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_config_file_runs(tmp_path, recording_server):
    """A collect.yaml with inputs and a pipeline ships processed lines."""
    log = tmp_path / "svc" / "app.log"
    log.parent.mkdir()
    log.write_text('{"level":"error","msg":"boom","trace_id":"abc"}\n')
    config = tmp_path / "collect.yaml"
    config.write_text(
        f"url: {recording_server.url}\n"
        f"data_dir: {tmp_path / 'state'}\n"
        "batch: {flush_interval_secs: 0.05}\n"
        f"inputs:\n  - paths: ['{tmp_path}/*/*.log']\n    labels: {{job: api}}\n"
        "pipeline:\n  - json: {}\n  - level: {}\n  - metadata: {fields: [trace_id]}\n"
        f"  - path_labels: {{template: '{tmp_path}/{{service}}/app.log'}}\n"
    )
    agent = _collect("--config", str(config))
    recording_server.wait_for(1)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(30) == 0
    labels, _, _, metadata = recording_server.entries[0]
    assert labels == {"job": "api", "level": "error", "service": "svc", "filename": str(log)}
    assert metadata["trace_id"] == "abc"
    assert os.path.exists(tmp_path / "state" / "positions.json")
    assert Path(tmp_path / "state" / "buffer").is_dir()


def test_stdin_after_ctrl_c_is_read_to_its_end(tmp_path, recording_server):
    """SIGINT to the agent (as Ctrl-C sends the whole pipeline) keeps the job's traceback."""
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flightlog",
            "collect",
            "-",
            "--url",
            recording_server.url,
            "--data-dir",
            str(tmp_path / "state"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdin, stdout, stderr = agent.stdin, agent.stdout, agent.stderr
    assert stdin is not None and stdout is not None and stderr is not None
    logged: list[bytes] = []
    passed = bytearray()
    readers = [
        threading.Thread(target=lambda: logged.extend(stderr), daemon=True),
        threading.Thread(target=lambda: passed.extend(stdout.read()), daemon=True),
    ]
    for reader in readers:
        reader.start()
    stdin.write(b"epoch 1 loss=0.5\n")
    stdin.flush()
    recording_server.wait_for(1)
    agent.send_signal(signal.SIGINT)
    _wait(lambda: agent.poll() is not None or b"reading stdin to its end" in b"".join(logged))
    last_words = b"Traceback (most recent call last):\nKeyboardInterrupt\n"
    try:
        stdin.write(last_words)
        stdin.close()
    except BrokenPipeError:
        pass  # the agent is gone: the assertions below say what was lost
    assert agent.wait(30) == 0, b"".join(logged)
    for reader in readers:
        reader.join(10)
    assert bytes(passed) == b"epoch 1 loss=0.5\n" + last_words
    recording_server.wait_for(3, timeout=5)
    assert recording_server.lines() == [
        "epoch 1 loss=0.5",
        "Traceback (most recent call last):",
        "KeyboardInterrupt",
    ]


@pytest.mark.slow
def test_read_gz_flag_reads_compressed_rotated_siblings(tmp_path, recording_server):
    """`flightlog collect 'logs/*.log' --read-gz` also reads logs/x.log.1.gz and friends once."""
    import gzip

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "train.log").write_text("live\n")
    for name, line in [("train.log.1.gz", "rotated 1"), ("train.log-20240101.gz", "dated")]:
        with gzip.open(logs / name, "wt") as handle:
            handle.write(f"{line}\n")
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flightlog",
            "collect",
            "--quiet",
            "logs/*.log",
            "--read-gz",
            "--url",
            recording_server.url,
            "--data-dir",
            str(tmp_path / "state"),
        ],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
    )
    recording_server.wait_for(3)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(30) == 0
    assert Counter(recording_server.lines()) == Counter(["live", "rotated 1", "dated"])


def test_read_gz_help_says_it_reads_compressed_siblings():
    """--help documents that --read-gz covers the compressed rotated siblings."""
    result = CliRunner().invoke(app, ["collect", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())  # unwrapped, without the box
    assert "compressed rotated siblings" in text


@pytest.mark.slow
def test_sigkill_mid_archive_then_restart_loses_and_repeats_nothing(tmp_path, flightlog_server):
    """An agent killed with SIGKILL while it ships a rotated .gz resumes it exactly."""
    import gzip

    logs = tmp_path / "logs"
    logs.mkdir()
    total = 20_000
    (logs / "train.log").write_text("")
    with gzip.open(logs / "train.log.1.gz", "wt") as handle:
        handle.write("".join(f"archived {i:06d} loss=0.{i % 997:03d}\n" for i in range(total)))
    config = tmp_path / "collect.yaml"
    config.write_text("url: http://unused\nbatch: {max_bytes: 4096, flush_interval_secs: 0.05}\n")
    args = (
        str(logs / "*.log"),
        "--read-gz",
        "--url",
        flightlog_server.url,
        "--data-dir",
        str(tmp_path / "state"),
        "--label",
        "job=gzkill",
    )
    for round_ in range(2):
        agent = _collect("--config", str(config), *args)
        stored_before = len(stored_lines(flightlog_server, '{job="gzkill"}'))
        _wait(
            lambda before=stored_before: (
                len(stored_lines(flightlog_server, '{job="gzkill"}')) > before
            )
        )
        time.sleep(0.05 * round_)  # land the kill at different points of the shipping cycle
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
    assert len(stored_lines(flightlog_server, '{job="gzkill"}')) < total, "killed too late"
    agent = _collect("--config", str(config), *args)
    _wait(lambda: len(stored_lines(flightlog_server, '{job="gzkill"}')) >= total, timeout=90)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(30) == 0
    counts = Counter(stored_lines(flightlog_server, '{job="gzkill"}'))
    missing = total - len(counts)
    duplicated = sum(1 for value in counts.values() if value > 1)
    assert (missing, duplicated) == (0, 0)
