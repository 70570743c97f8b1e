"""The tail cursor: which window the next poll reads, and which entries are new."""

from __future__ import annotations

from flightlog.query.results import LogEntry, StreamResult, StreamsResult
from flightlog.query.tail import TailCursor

S = 1_000_000_000
T0 = 1_700_000_000 * S
APP = {"app": "api"}


def result(*seconds: int, labels: dict[str, str] = APP) -> StreamsResult:
    """One stream with an entry `line <s>` at each T0 + s seconds."""
    entries = tuple(LogEntry(T0 + s * S, f"line {s}") for s in seconds)
    return StreamsResult((StreamResult(labels, entries),) if entries else ())


def sent(fresh: StreamsResult) -> list[str]:
    return [e.line for s in fresh.streams for e in s.entries]


def test_an_idle_tail_moves_its_cursor_to_the_reorder_window() -> None:
    """With nothing matching, the next poll starts just behind the last window, not at the start."""
    cursor = TailCursor(T0 - 3600 * S, reorder_window_ns=5 * S)
    cursor.advance(result(), T0, limit_hit=False, backward=True)
    assert cursor.start_ns == T0 - 5 * S
    cursor.advance(result(), T0 + S, limit_hit=False)
    assert cursor.start_ns == T0 - 4 * S


def test_a_late_entry_inside_the_window_is_sent_once() -> None:
    """An entry older than the newest one sent but within the window still goes out, once."""
    cursor = TailCursor(T0, reorder_window_ns=5 * S)
    assert sent(cursor.advance(result(8), T0 + 10 * S, limit_hit=False)) == ["line 8"]
    # the next poll reads [T0 + 5s, T0 + 11s): the entry at 8 again, and a late one at 6
    fresh = cursor.advance(result(6, 8), T0 + 11 * S, limit_hit=False)
    assert sent(fresh) == ["line 6"]
    assert cursor.start_ns == T0 + 6 * S
    assert sent(cursor.advance(result(6, 8), T0 + 11 * S, limit_hit=False)) == []


def test_same_time_and_line_in_two_streams_are_two_entries() -> None:
    """Entries are told apart by stream labels too, not only by time and line."""
    cursor = TailCursor(T0)
    cursor.advance(result(1), T0 + 2 * S, limit_hit=False)
    assert sent(cursor.advance(result(1, labels={"app": "web"}), T0 + 2 * S, limit_hit=False)) == [
        "line 1"
    ]


def test_a_forward_poll_at_its_limit_resumes_at_its_newest_entry() -> None:
    """When the poll returned as many entries as it asked for, the rest of the window is unread."""
    cursor = TailCursor(T0, reorder_window_ns=5 * S)
    cursor.advance(result(1, 2, 3), T0 + 100 * S, limit_hit=True)
    assert cursor.start_ns == T0 + 3 * S
    assert sent(cursor.advance(result(3, 4), T0 + 100 * S, limit_hit=False)) == ["line 4"]


def test_the_first_backward_poll_at_its_limit_never_goes_back_past_its_oldest_entry() -> None:
    """The first poll shows the newest entries; older ones it left out are not sent later."""
    cursor = TailCursor(T0 - 3600 * S, reorder_window_ns=5 * S)
    fresh = cursor.advance(result(99, 98), T0 + 100 * S, limit_hit=True, backward=True)
    assert sent(fresh) == ["line 98", "line 99"]  # oldest first
    assert cursor.start_ns == T0 + 98 * S
