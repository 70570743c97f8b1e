"""Stdin tee mode: ``python train.py 2>&1 | flightlog collect - --label job=train``.

Every chunk read is written to stdout unchanged (and flushed), then cut into lines the
way a file is (a trailing ``\\r`` dropped, a line without its newline cut at
``MAX_LINE_BYTES``), joined into entries when a multiline joiner is given, and handed on.
The joiner's idle flush and the batch checks run on every wake-up, whether a whole line
arrived or only part of one, so a long line arriving in pieces holds back nothing.

Ctrl-C reaches every process of the pipeline. When ``stop`` is set, reading goes on until
the writer closes its end or ``drain_timeout_secs`` have passed, so the job's last lines
(its traceback) are still passed through and shipped. If stdout goes away (the pager
quit), stdin is still read and shipped.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable
from typing import BinaryIO

from flightlog.collect.multiline import MultilineJoiner
from flightlog.collect.tailer import MAX_LINE_BYTES, split_lines

__all__ = ["complete_lines", "tee_stdin"]

logger = logging.getLogger("flightlog.collect")

_READ_BYTES = 1 << 16


def complete_lines(data: bytes, max_line_bytes: int = MAX_LINE_BYTES) -> tuple[list[str], bytes]:
    """The complete lines at the start of ``data`` and the bytes of the unfinished last one.

    An unfinished line of ``max_line_bytes`` or more is cut there and handed on.
    """
    end = data.rfind(b"\n")
    lines = split_lines(data[: end + 1]) if end >= 0 else []
    rest = data[end + 1 :]
    while len(rest) >= max_line_bytes:
        lines.extend(split_lines(rest[:max_line_bytes]))
        rest = rest[max_line_bytes:]
    return lines, rest


def _tee(stdout: BinaryIO | None, chunk: bytes) -> BinaryIO | None:
    """Write ``chunk`` through; None from now on if stdout is gone."""
    if stdout is None:
        return None
    try:
        stdout.write(chunk)
        stdout.flush()
    except BrokenPipeError:
        logger.warning("stdout was closed; still reading and shipping stdin")
        try:
            # What is still buffered must not fail again when the interpreter exits.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return None
    return stdout


def tee_stdin(
    stdin: BinaryIO,
    stdout: BinaryIO | None,
    stop: threading.Event,
    *,
    emit: Callable[[list[str]], None],
    tick: Callable[[float], None],
    clock: Callable[[], float],
    joiner: MultilineJoiner | None = None,
    poll_interval_secs: float = 0.1,
    drain_timeout_secs: float = 5.0,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> None:
    """Copy ``stdin`` to ``stdout`` and hand its lines (or entries) to ``emit``.

    ``tick(now)`` is called on every wake-up (the agent flushes a due batch there). Returns
    at the end of stdin, or ``drain_timeout_secs`` after ``stop`` is set.
    """
    fd = stdin.fileno()
    partial = b""
    deadline: float | None = None

    def hand_on(lines: list[str], now: float) -> None:
        if joiner is None:
            emit(lines)
            return
        entries: list[str] = []
        for line in lines:
            entries.extend(joiner.feed(line, 0, now))
        emit(entries)

    while True:
        now = clock()
        wait = poll_interval_secs
        if stop.is_set():
            if deadline is None:
                deadline = now + drain_timeout_secs
                logger.info(
                    "stopping: reading stdin to its end (at most %gs) to keep its last lines",
                    drain_timeout_secs,
                )
            if now >= deadline:
                logger.warning(
                    "stdin still open %gs after the stop signal; not reading further",
                    drain_timeout_secs,
                )
                break
            wait = min(wait, deadline - now)
        ready, _, _ = select.select([fd], [], [], wait)
        now = clock()
        if ready:
            chunk = os.read(fd, _READ_BYTES)
            if not chunk:
                break
            stdout = _tee(stdout, chunk)
            lines, partial = complete_lines(partial + chunk, max_line_bytes)
            if lines:
                hand_on(lines, now)
        if joiner is not None:
            entry = joiner.flush_if_idle(now)
            if entry is not None:
                emit([entry])
        tick(now)
    if partial:
        hand_on(split_lines(partial), clock())
    if joiner is not None:
        entry = joiner.flush()
        if entry is not None:
            emit([entry])
