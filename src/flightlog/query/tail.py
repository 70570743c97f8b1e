"""Following a log query by polling: which window to read next, and which entries are new.

Loki's tail streams entries from the ingesters as they arrive; flightlog polls the store
instead (``/loki/api/v1/tail``). Each poll reads ``[cursor, now - delay_for]``. Then the
cursor moves on, so an idle tail reads a short window rather than everything since it
started:

* to ``reorder_window_ns`` before the end of the window read, so an entry that arrives a
  little late with an older timestamp (a client shipping in batches, out-of-order
  ingestion) is still sent: up to ``delay_for`` + the reorder window behind now;
* when the poll hit its limit, only as far as the entries it returned: the newest one
  (forward polls, which follow) or the oldest one (the first, backward poll, which shows
  the most recent entries).

Entries already sent at or after the cursor are remembered, so none is sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flightlog.model import Labels
from flightlog.query.results import LogEntry, StreamResult, StreamsResult

__all__ = ["REORDER_WINDOW_NS", "TailCursor"]

REORDER_WINDOW_NS = 5 * 1_000_000_000
"""How far behind a poll's end the next poll starts again (Loki's largest delay_for)."""

_Key = tuple[int, Labels, str]


@dataclass
class TailCursor:
    """Where the next tail poll starts, and the entries sent at or after that point."""

    start_ns: int
    reorder_window_ns: int = REORDER_WINDOW_NS
    _sent: set[_Key] = field(default_factory=set, repr=False)

    def advance(
        self, result: StreamsResult, end_ns: int, *, limit_hit: bool, backward: bool = False
    ) -> StreamsResult:
        """Take the result of a poll over ``[start_ns, end_ns)``: return its entries not
        sent before (oldest first in each stream) and move the cursor past the window."""
        fresh: list[StreamResult] = []
        keys: list[_Key] = []
        for stream in result.streams:
            labels: Labels = tuple(sorted(stream.labels.items()))
            new: list[LogEntry] = []
            for entry in stream.entries:
                key = (entry.ts_ns, labels, entry.line)
                keys.append(key)
                if key not in self._sent:
                    new.append(entry)
            if new:
                new.sort(key=lambda e: e.ts_ns)
                fresh.append(StreamResult(stream.labels, tuple(new)))
        start = max(self.start_ns, end_ns - self.reorder_window_ns)
        if limit_hit and keys:
            stamps = [key[0] for key in keys]
            # forward: entries after the newest returned are unread; backward: entries
            # older than the oldest returned were left out on purpose, newer ones all came
            start = max(start, min(stamps)) if backward else max(self.start_ns, max(stamps))
        self.start_ns = start
        self._sent = {key for key in (*self._sent, *keys) if key[0] >= start}
        return StreamsResult(tuple(fresh), result.categorized)
