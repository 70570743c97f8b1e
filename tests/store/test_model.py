"""A model check: random appends, cuts, compactions, deletes and reopens agree with a list."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from storekit import SECOND, FakeClock, batch, eq, push, rows

from flightlog.store import TOO_FAR_BEHIND, Store, StoreConfig

WINDOW_SECS = 1.0
APPS = ("a", "b", "c")


class StoreModel(RuleBasedStateMachine):
    """The store must hold exactly the entries a plain list model says."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp())
        self.config = StoreConfig(
            data_dir=self.folder / "d",
            max_segment_bytes=2048,
            out_of_order_window_secs=WINDOW_SECS,
            fsync=False,
        )
        self.clock = FakeClock()
        self.store = Store.open(self.config, clock=self.clock)
        self.entries: list[tuple[str, int, str]] = []
        self.newest: dict[str, int] = {}
        self.counter = 0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(app=st.sampled_from(APPS), tenths=st.lists(st.integers(0, 50), min_size=1, max_size=8))
    def append(self, app: str, tenths: list[int]) -> None:
        ts = [t * SECOND // 10 for t in tenths]
        lines = []
        for _ in ts:
            self.counter += 1
            lines.append(f"entry {self.counter}")
        result = push(self.store, "t", batch({"app": app}, ts, lines))
        rejected = 0
        for t, line in zip(ts, lines, strict=True):
            newest = max(self.newest.get(app, t), t)
            if t < newest - int(WINDOW_SECS * SECOND):
                rejected += 1
                continue
            self.newest[app] = newest
            self.entries.append((app, t, line))
        assert result.rejected == ({TOO_FAR_BEHIND: rejected} if rejected else {})
        assert result.accepted == len(ts) - rejected

    @rule()
    def cut(self) -> None:
        self.clock.advance(self.config.max_segment_age_secs)
        self.store.maybe_cut()

    @rule()
    def flush(self) -> None:
        self.store.flush()

    @rule()
    def compact(self) -> None:
        self.store.compact()

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = Store.open(self.config, clock=self.clock)

    @rule(app=st.sampled_from(APPS), start=st.integers(0, 50), length=st.integers(0, 20))
    def delete(self, app: str, start: int, length: int) -> None:
        low, high = start * SECOND // 10, (start + length) * SECOND // 10
        removed = self.store.delete("t", [eq("app", app)], low, high)
        kept = [e for e in self.entries if not (e[0] == app and low <= e[1] < high)]
        assert removed == len(self.entries) - len(kept)
        self.entries = kept
        if removed and not any(e[0] == app for e in kept):
            # A stream with no entries left is forgotten (labels may name a person).
            self.newest.pop(app, None)

    @invariant()
    def same_entries(self) -> None:
        got = rows(self.store)
        labels = {s.stream_id: s.labels["app"] for s in self.store.streams(["t"], [], 0, 2**62)}
        assert sorted((labels[r["stream_id"]], r["ts"], r["line"]) for r in got) == sorted(
            self.entries
        )
        assert [r["ts"] for r in got] == sorted((r["ts"] for r in got), reverse=True)


StoreModel.TestCase.settings = settings(max_examples=25, stateful_step_count=12, deadline=None)
test_store_matches_model = StoreModel.TestCase
