"""Multiline joining: lines that do not start a new entry belong to the one before.

A start pattern (RE2; a timestamp or a level, typically) marks the first line of an
entry; the lines after it up to the next start line (a Python traceback, a Java stack
trace) join it with ``\\n``. An entry holds at most ``max_lines`` lines and
``max_bytes`` bytes (UTF-8, the joining newlines included): a line that would take it
past either bound starts the next entry instead (a single line longer than ``max_bytes``
is an entry of its own). An open entry is flushed when no line arrived for
``flush_timeout_secs``. ``pending_offset`` is the file offset where the open entry
began: the agent persists no position past it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flightlog.errors import ConfigError
from flightlog.pipeline.parse import compile_regex

__all__ = ["MultilineConfig", "MultilineJoiner"]


@dataclass(frozen=True, slots=True)
class MultilineConfig:
    """How lines join into entries."""

    start_pattern: str
    max_lines: int = 500
    max_bytes: int = 256 * 1024
    flush_timeout_secs: float = 1.0

    def validate(self) -> None:
        compile_regex(self.start_pattern, what="multiline.start_pattern")
        if self.max_lines < 1 or self.max_bytes < 1 or self.flush_timeout_secs <= 0:
            raise ConfigError("multiline: max_lines, max_bytes and flush_timeout_secs must be > 0")


class MultilineJoiner:
    """Joins the lines of one file into entries."""

    def __init__(self, config: MultilineConfig) -> None:
        config.validate()
        self.config = config
        self._start: Any = compile_regex(config.start_pattern, what="multiline.start_pattern")
        self._lines: list[str] = []
        self._bytes = 0
        self.pending_offset: int | None = None
        self._last_feed = 0.0

    def feed(self, line: str, offset: int, now: float) -> list[str]:
        """Add a line that began at file ``offset``; returns entries this line closed."""
        out: list[str] = []
        size = len(line) if line.isascii() else len(line.encode("utf-8", "surrogatepass"))
        if self._lines and (
            self._bytes + 1 + size > self.config.max_bytes or self._start.search(line) is not None
        ):
            out.append(self._take())
        if self._lines:
            self._bytes += 1 + size
        else:
            self.pending_offset = offset
            self._bytes = size
        self._lines.append(line)
        self._last_feed = now
        if len(self._lines) >= self.config.max_lines or self._bytes >= self.config.max_bytes:
            out.append(self._take())
        return out

    def flush_if_idle(self, now: float) -> str | None:
        """The open entry, if no line arrived for the flush timeout."""
        if self._lines and now - self._last_feed >= self.config.flush_timeout_secs:
            return self._take()
        return None

    def flush(self) -> str | None:
        """The open entry, whatever its age (at shutdown or end of input)."""
        return self._take() if self._lines else None

    def _take(self) -> str:
        text = "\n".join(self._lines)
        self._lines = []
        self._bytes = 0
        self.pending_offset = None
        return text
