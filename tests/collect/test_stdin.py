"""Stdin tee mode in process: line endings, long partial lines, draining after a stop."""

from __future__ import annotations

import io
import os
import threading
import time

import pytest
from prometheus_client import CollectorRegistry

from flightlog.collect import Agent, MultilineConfig
from flightlog.collect.multiline import MultilineJoiner
from flightlog.collect.stdin import complete_lines


class _Pipe:
    """A real pipe whose read end the agent reads as stdin."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.write_fd = write_fd

    def write(self, data: bytes) -> None:
        os.write(self.write_fd, data)

    def close(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1


@pytest.fixture
def pipe():
    made = _Pipe()
    yield made
    made.close()
    made.reader.close()


def _agent(recording_server, fast_config, tmp_path, **overrides) -> Agent:
    config = fast_config(recording_server.url, tmp_path / "state", (), **overrides)
    return Agent(config, registry=CollectorRegistry())


def _run(agent: Agent, pipe: _Pipe, stop: threading.Event, stdout: io.BytesIO, **kwargs):
    thread = threading.Thread(
        target=agent.run_stdin, args=(pipe.reader, stdout, stop), kwargs=kwargs, daemon=True
    )
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("data", "lines", "rest"),
    [
        (b"a\nb\n", ["a", "b"], b""),
        (b"a\r\nb\r\n", ["a", "b"], b""),
        (b"a\npar", ["a"], b"par"),
        (b"\n\n", ["", ""], b""),
        (b"x" * 10, ["x" * 4, "x" * 4], b"xx"),
    ],
)
def test_complete_lines_splits_like_the_file_tailer(data, lines, rest):
    """Complete lines lose `\\n` and a trailing `\\r`; an unfinished line is cut at the cap."""
    assert complete_lines(data, max_line_bytes=4) == (lines, rest)


def test_crlf_lines_lose_the_carriage_return_but_pass_through_unchanged(
    tmp_path, recording_server, fast_config, pipe
):
    """Windows line endings are stripped from shipped lines; stdout gets the bytes as they came."""
    data = b"epoch 1\r\nepoch 2\r\nlast\r"
    pipe.write(data)
    pipe.close()
    stdout = io.BytesIO()
    agent = _agent(recording_server, fast_config, tmp_path)
    agent.run_stdin(pipe.reader, stdout, threading.Event())
    assert recording_server.lines() == ["epoch 1", "epoch 2", "last"]
    assert stdout.getvalue() == data


def test_a_long_partial_line_does_not_hold_back_earlier_entries(
    tmp_path, recording_server, fast_config, pipe
):
    """While a line without its newline keeps arriving, the entries before it still ship."""
    agent = _agent(recording_server, fast_config, tmp_path, poll_interval_secs=1.0)
    stop = threading.Event()
    joiner = MultilineJoiner(MultilineConfig(r"^\d{4}-", flush_timeout_secs=0.05))
    thread = _run(agent, pipe, stop, io.BytesIO(), joiner=joiner)
    pipe.write(b"2024-05-01 ERROR boom\n  at step 3\n")
    deadline = time.monotonic() + 5
    while not recording_server.lines() and time.monotonic() < deadline:
        pipe.write(b"=")  # a progress bar, one character at a time
        time.sleep(0.002)
    arrived_while_writing = bool(recording_server.lines())
    pipe.close()
    thread.join(30)
    assert arrived_while_writing, "nothing shipped while the partial line was growing"
    assert recording_server.lines()[0] == "2024-05-01 ERROR boom\n  at step 3"
    assert recording_server.lines()[-1].startswith("====")


def test_after_stop_stdin_is_read_to_its_end(tmp_path, recording_server, fast_config, pipe):
    """A stop (Ctrl-C) does not cut off what the writer still had to say."""
    pipe.write(b"epoch 1\nTraceback (most recent call last):\nKeyboardInterrupt\n")
    pipe.close()
    stop = threading.Event()
    stop.set()
    stdout = io.BytesIO()
    agent = _agent(recording_server, fast_config, tmp_path)
    agent.run_stdin(pipe.reader, stdout, stop)
    assert recording_server.lines() == [
        "epoch 1",
        "Traceback (most recent call last):",
        "KeyboardInterrupt",
    ]
    assert stdout.getvalue().endswith(b"KeyboardInterrupt\n")


def test_draining_after_stop_is_bounded(tmp_path, recording_server, fast_config, pipe):
    """If the writer never closes stdin, reading stops stdin_drain_timeout_secs after the stop."""
    agent = _agent(recording_server, fast_config, tmp_path, stdin_drain_timeout_secs=2.0)
    stop = threading.Event()
    thread = _run(agent, pipe, stop, io.BytesIO())
    pipe.write(b"still running\n")
    recording_server.wait_for(1)
    stop.set()
    pipe.write(b"written after the stop\n")  # inside the drain: still read and shipped
    recording_server.wait_for(2)
    thread.join(10)  # the writer never closes stdin: only the drain bound ends the read
    assert not thread.is_alive()
    assert recording_server.lines() == ["still running", "written after the stop"]
