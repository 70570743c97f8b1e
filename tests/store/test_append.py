"""Appending: durability in the WAL, visibility, out-of-order window, replay."""

from __future__ import annotations

import shutil
import threading

from storekit import HOUR, SECOND, FakeClock, batch, eq, push, rows

from flightlog.store import TOO_FAR_BEHIND, Store, StoreConfig


def test_entries_are_readable_right_after_append(store: Store) -> None:
    """Lines, timestamps and metadata come back exactly as appended."""
    result = push(
        store, "t", batch({"app": "a"}, [1, 2], ["one", "two"], [None, {"trace_id": "x"}])
    )
    assert result.accepted == 2 and result.rejected == {}
    got = rows(store, direction="forward")
    assert [(r["ts"], r["line"], dict(r["metadata"])) for r in got] == [
        (1, "one", {}),
        (2, "two", {"trace_id": "x"}),
    ]


def test_out_of_order_within_window_is_accepted(store: Store) -> None:
    """An entry older than the newest but inside the window is stored."""
    push(store, "t", batch({"app": "a"}, [10 * HOUR]))
    result = push(store, "t", batch({"app": "a"}, [10 * HOUR - HOUR + 1]))
    assert result.accepted == 1


def test_too_far_behind_is_rejected_with_reason(store: Store) -> None:
    """Entries older than newest minus the window are rejected as too_far_behind."""
    push(store, "t", batch({"app": "a"}, [10 * HOUR]))
    result = push(store, "t", batch({"app": "a"}, [10 * HOUR - HOUR - 1, 10 * HOUR + 5]))
    assert result.accepted == 1
    assert result.rejected == {TOO_FAR_BEHIND: 1}
    assert "too far behind" in result.samples[0]
    assert [r["ts"] for r in rows(store, direction="forward")] == [10 * HOUR, 10 * HOUR + 5]


def test_window_applies_inside_one_push(store: Store) -> None:
    """Within one push, the newest entry so far sets the window for later ones."""
    result = push(store, "t", batch({"app": "a"}, [5 * HOUR, 3 * HOUR, 5 * HOUR + 1]))
    assert result.rejected == {TOO_FAR_BEHIND: 1}
    assert result.accepted == 2


def test_window_is_per_stream(store: Store) -> None:
    """Another stream's newest entry does not reject old entries of this one."""
    push(store, "t", batch({"app": "a"}, [10 * HOUR]))
    result = push(store, "t", batch({"app": "b"}, [HOUR]))
    assert result.accepted == 1


def test_window_survives_restart_after_flush(store_config: StoreConfig, clock: FakeClock) -> None:
    """The newest timestamp of a stream is remembered through segments and a reopen."""
    with Store.open(store_config, clock=clock) as store:
        push(store, "t", batch({"app": "a"}, [10 * HOUR]))
        store.flush()
    with Store.open(store_config, clock=clock) as store:
        result = push(store, "t", batch({"app": "a"}, [HOUR]))
        assert result.rejected == {TOO_FAR_BEHIND: 1}


def test_all_rejected_stores_nothing(store: Store) -> None:
    """A push whose every entry is rejected writes nothing."""
    push(store, "t", batch({"app": "a"}, [10 * HOUR]))
    result = push(store, "t", batch({"app": "a"}, [1, 2]))
    assert result.accepted == 0 and result.rejected == {TOO_FAR_BEHIND: 2}
    assert len(rows(store)) == 1


def test_empty_push_is_a_no_op(store: Store) -> None:
    """A push with no entries is accepted as zero entries."""
    result = push(store, "t", batch({"app": "a"}, []))
    assert result.accepted == 0 and rows(store) == []


def test_replay_restores_the_head(store_config: StoreConfig, clock: FakeClock) -> None:
    """Entries only in the WAL come back after a reopen."""
    with Store.open(store_config, clock=clock) as store:
        push(store, "t", batch({"app": "a"}, [1, 2, 3]))
    with Store.open(store_config, clock=clock) as store:
        assert [r["ts"] for r in rows(store, direction="forward")] == [1, 2, 3]


def test_replay_twice_gives_no_duplicates(store_config: StoreConfig, clock: FakeClock) -> None:
    """Opening twice without new writes replays the same entries once each."""
    with Store.open(store_config, clock=clock) as store:
        push(store, "t", batch({"app": "a"}, [1, 2]))
    for _ in range(2):
        with Store.open(store_config, clock=clock) as store:
            assert len(rows(store)) == 2


def test_replay_after_cut_before_wal_removal(store_config: StoreConfig, clock: FakeClock) -> None:
    """A crash after the segment commit but before WAL removal duplicates nothing."""
    wal_copy = store_config.data_dir.parent / "wal-copy"
    with Store.open(store_config, clock=clock) as store:
        push(store, "t", batch({"app": "a"}, [1, 2]))
        push(store, "u", batch({"app": "a"}, [5]))
        shutil.copytree(store_config.data_dir / "wal", wal_copy)
        store.flush()
        assert not list((store_config.data_dir / "wal").glob("*.wal"))
    shutil.rmtree(store_config.data_dir / "wal")
    shutil.copytree(wal_copy, store_config.data_dir / "wal")
    with Store.open(store_config, clock=clock) as store:
        assert [r["ts"] for r in rows(store, direction="forward")] == [1, 2]
        assert [r["ts"] for r in rows(store, "u")] == [5]
        push(store, "t", batch({"app": "a"}, [3]))
    with Store.open(store_config, clock=clock) as store:
        assert [r["ts"] for r in rows(store, direction="forward")] == [1, 2, 3]


def test_second_writer_on_same_dir_is_refused(store: Store, store_config: StoreConfig) -> None:
    """Two writing processes on one data dir would corrupt it: the second is refused."""
    import pytest

    from flightlog.errors import StoreError

    with pytest.raises(StoreError, match="in use"):
        Store.open(store_config)


def test_concurrent_appends_all_land_once(store_config: StoreConfig, clock: FakeClock) -> None:
    """Appends from many threads (with fsync, group commit) are each stored once."""
    config = StoreConfig(data_dir=store_config.data_dir, fsync=True)
    with Store.open(config, clock=clock) as store:

        def worker(index: int) -> None:
            for j in range(20):
                push(store, "t", batch({"worker": str(index)}, [SECOND * j], [f"{index}-{j}"]))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(rows(store)) == 160
    with Store.open(config, clock=clock) as store:
        lines = sorted(r["line"] for r in rows(store))
        assert lines == sorted(f"{i}-{j}" for i in range(8) for j in range(20))
        assert len(rows(store, matchers=[eq("worker", "3")])) == 20


def test_columns_may_be_numpy_or_tuples(store_config: StoreConfig, clock: FakeClock) -> None:
    """Decoders may hand numpy timestamps and tuple columns; they survive the WAL."""
    import numpy as np

    from flightlog.model import PushRequest, StreamBatch

    stream = StreamBatch(
        (("app", "a"),), np.array([1, 2], dtype=np.int64), ("x", "y"), (None, {"k": "v"})
    )
    with Store.open(store_config, clock=clock) as store:
        assert store.append(PushRequest("t", (stream,))).accepted == 2
    with Store.open(store_config, clock=clock) as store:
        got = rows(store, direction="forward")
        assert [(r["ts"], r["line"], dict(r["metadata"])) for r in got] == [
            (1, "x", {}),
            (2, "y", {"k": "v"}),
        ]


def test_same_stream_twice_in_one_push_shares_the_window(store: Store) -> None:
    """A second batch of the same stream in a push is checked against the first."""
    result = push(store, "t", batch({"app": "a"}, [10 * HOUR]), batch({"app": "a"}, [HOUR]))
    assert result.rejected == {TOO_FAR_BEHIND: 1}
    assert [r["ts"] for r in rows(store)] == [10 * HOUR]


def test_fsyncs_are_counted(store_config: StoreConfig, clock: FakeClock) -> None:
    """With fsync on, every append is covered by a counted WAL fsync."""
    config = StoreConfig(data_dir=store_config.data_dir, fsync=True)
    with Store.open(config, clock=clock) as store:
        for i in range(3):
            push(store, "t", batch({"app": "a"}, [i]))
        figures = store.figures()
        assert figures.wal_fsyncs == 3
        assert figures.wal_fsync_seconds >= 0
