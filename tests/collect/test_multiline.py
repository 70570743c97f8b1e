"""Multiline joining: start pattern, max_lines and max_bytes (UTF-8) bounds, idle flush."""

from __future__ import annotations

import pytest

from flightlog.collect import MultilineConfig
from flightlog.collect.multiline import MultilineJoiner
from flightlog.errors import ConfigError

TIMESTAMP = r"^\d{4}-\d{2}-\d{2} "

JAVA_TRACE = [
    "2024-05-01 10:00:01,123 ERROR [main] c.e.Trainer - step failed",
    "java.lang.IllegalStateException: checkpoint missing",
    "\tat com.example.Trainer.load(Trainer.java:42)",
    "\tat com.example.Trainer.main(Trainer.java:12)",
    "Caused by: java.io.FileNotFoundException: /ckpt/step-100 (No such file or directory)",
    "\tat java.base/java.io.FileInputStream.open0(Native Method)",
    "\t... 2 more",
]

PYTHON_TRACE = [
    "2024-05-01 10:00:02 ERROR step failed",
    "Traceback (most recent call last):",
    '  File "train.py", line 10, in <module>',
    "    loss.backward()",
    "RuntimeError: CUDA out of memory",
]


def _join(config: MultilineConfig, lines: list[str]) -> list[str]:
    joiner = MultilineJoiner(config)
    entries = [entry for index, line in enumerate(lines) for entry in joiner.feed(line, index, 0)]
    last = joiner.flush()
    return entries if last is None else [*entries, last]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            ["2024-05-01 10:00:00 INFO start", *JAVA_TRACE, "2024-05-01 10:00:03 INFO next"],
            [
                "2024-05-01 10:00:00 INFO start",
                "\n".join(JAVA_TRACE),
                "2024-05-01 10:00:03 INFO next",
            ],
            id="java stack trace with a cause",
        ),
        pytest.param(
            [*PYTHON_TRACE, "2024-05-01 10:00:03 INFO next"],
            ["\n".join(PYTHON_TRACE), "2024-05-01 10:00:03 INFO next"],
            id="python traceback",
        ),
        pytest.param(
            ["  orphan continuation", "2024-05-01 10:00:00 INFO start"],
            ["  orphan continuation", "2024-05-01 10:00:00 INFO start"],
            id="continuation before any start line stands alone",
        ),
        pytest.param([], [], id="nothing"),
    ],
)
def test_lines_join_into_entries(lines, expected):
    """Lines up to the next start line join the entry before them."""
    assert _join(MultilineConfig(TIMESTAMP), lines) == expected


def test_max_lines_bounds_an_entry():
    """No entry holds more than max_lines lines; the rest start the next one."""
    lines = ["2024-05-01 10:00:00 START"] + [f"  cont {i}" for i in range(9)]
    entries = _join(MultilineConfig(TIMESTAMP, max_lines=4), lines)
    assert [len(entry.split("\n")) for entry in entries] == [4, 4, 2]
    assert "\n".join(entries) == "\n".join(lines)


@pytest.mark.parametrize("text", ["ascii-cont", "日本語の続き", "ünïcödé"])
def test_max_bytes_counts_utf8_bytes(text):
    """An entry is at most max_bytes bytes of UTF-8 (newlines included), whatever the script."""
    lines = ["2024-05-01 START"] + [f"  {text} {i}" for i in range(40)]
    entries = _join(MultilineConfig(TIMESTAMP, max_bytes=120), lines)
    assert max(len(entry.encode()) for entry in entries) <= 120
    assert len(entries) > 1
    assert "\n".join(entries) == "\n".join(lines)


def test_a_line_longer_than_max_bytes_is_an_entry_of_its_own():
    """One oversize line is not split; it closes the open entry and stands alone."""
    long_line = "  " + "é" * 100
    entries = _join(
        MultilineConfig(TIMESTAMP, max_bytes=64), ["2024-05-01 START", long_line, "  x"]
    )
    assert entries == ["2024-05-01 START", long_line, "  x"]


def test_pending_offset_is_where_the_open_entry_began():
    """The position the agent may persist stops at the first line of the open entry."""
    joiner = MultilineJoiner(MultilineConfig(TIMESTAMP))
    joiner.feed("2024-05-01 a", 0, 0)
    joiner.feed("  b", 13, 0)
    assert joiner.pending_offset == 0
    assert joiner.feed("2024-05-01 c", 17, 0) == ["2024-05-01 a\n  b"]
    assert joiner.pending_offset == 17


def test_idle_entry_is_flushed_after_the_timeout():
    """An open entry leaves once no line came for flush_timeout_secs, not before."""
    joiner = MultilineJoiner(MultilineConfig(TIMESTAMP, flush_timeout_secs=1.0))
    joiner.feed("2024-05-01 a", 0, 10.0)
    assert joiner.flush_if_idle(10.5) is None
    assert joiner.flush_if_idle(11.0) == "2024-05-01 a"
    assert joiner.pending_offset is None


@pytest.mark.parametrize(
    "config",
    [
        MultilineConfig("("),
        MultilineConfig(TIMESTAMP, max_lines=0),
        MultilineConfig(TIMESTAMP, max_bytes=0),
        MultilineConfig(TIMESTAMP, flush_timeout_secs=0),
    ],
)
def test_bad_config_is_a_config_error(config):
    """A bad pattern or a bound below 1 is refused with a ConfigError."""
    with pytest.raises(ConfigError):
        config.validate()
