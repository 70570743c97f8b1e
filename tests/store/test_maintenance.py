"""Compaction of small segments, head batch merging, figures, the public surface."""

from __future__ import annotations

from storekit import FakeClock, batch, eq, push, rows

import flightlog.store
from flightlog.store import Store, StoreConfig


def test_public_names() -> None:
    """The package exports exactly its documented public names."""
    assert sorted(flightlog.store.__all__) == sorted(
        [
            "ENTRY_SCHEMA",
            "TOO_FAR_BEHIND",
            "AppendResult",
            "IndexStats",
            "RetentionRule",
            "ScanSources",
            "Store",
            "StoreConfig",
            "StoreFigures",
            "StreamInfo",
            "stream_fingerprint",
        ]
    )


def test_small_segments_are_compacted(
    store: Store, store_config: StoreConfig, clock: FakeClock
) -> None:
    """Many small segments merge into one with the same rows, also after a reopen."""
    for i in range(10):
        push(store, "t", batch({"app": "a" if i % 2 else "b"}, [i * 10, i * 10 + 1]))
        store.flush()
    before = rows(store, direction="forward")
    assert store.figures().segments == 10
    assert store.compact() == 10
    assert store.figures().segments == 1
    assert rows(store, direction="forward") == before
    assert len(rows(store, matchers=[eq("app", "a")])) == 10
    clock.advance(400)
    store.maybe_cut()
    folder = store_config.data_dir / "segments" / "t"
    assert len(list(folder.glob("*.parquet"))) == 1
    store.close()
    with Store.open(store_config, clock=clock) as reopened:
        assert rows(reopened, direction="forward") == before


def test_few_small_segments_are_left_alone(store: Store) -> None:
    """Below the threshold nothing is rewritten."""
    for i in range(3):
        push(store, "t", batch({"app": "a"}, [i]))
        store.flush()
    assert store.compact() == 0
    assert store.figures().segments == 3


def test_many_tiny_appends_are_merged_in_the_head(store: Store) -> None:
    """Thousands of one-line pushes do not leave thousands of head batches."""
    for i in range(1000):
        push(store, "t", batch({"app": "a"}, [i]))
    assert len(store._heads["t"].batches) < 100
    assert [r["ts"] for r in rows(store, direction="forward")] == list(range(1000))


def test_figures(store: Store) -> None:
    """figures() reports head, segments, WAL and streams."""
    push(store, "t", batch({"app": "a"}, [1, 2]), batch({"app": "b"}, [3]))
    figures = store.figures()
    assert (figures.head_rows, figures.segments, figures.streams, figures.tenants) == (3, 0, 2, 1)
    assert figures.head_bytes > 0 and figures.wal_bytes > 0
    store.flush()
    figures = store.figures()
    assert (figures.head_rows, figures.segments, figures.segment_rows) == (0, 1, 3)
    assert figures.wal_bytes == 0 and figures.segment_bytes > 0


def test_read_only_store_refuses_writes(store: Store, store_config: StoreConfig) -> None:
    """A read-only store raises a StoreError that says who writes."""
    import pytest

    from flightlog.errors import StoreError

    reader = Store.open(store_config, read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        push(reader, "t", batch({"app": "a"}, [1]))
    reader.close()


def test_read_only_on_missing_dir_says_what_to_do(tmp_path) -> None:
    """Opening a read-only store where none exists names the directory."""
    import pytest

    from flightlog.errors import StoreError

    with pytest.raises(StoreError, match="no flightlog store"):
        Store.open(StoreConfig(tmp_path / "nothing"), read_only=True)


def test_compaction_keeps_distant_times_apart(store: Store) -> None:
    """Small segments hours apart are not merged into one wide segment."""
    hour = 3600 * 1_000_000_000
    for i in range(8):
        push(store, "t", batch({"app": "a"}, [i * 10]))
        store.flush()
    for i in range(8):
        push(store, "t", batch({"app": "a"}, [5 * hour + i]))
        store.flush()
    assert store.compact() == 16
    assert store.figures().segments == 2
    sources = store.scan_sources(["t"], [], 5 * hour, 6 * hour)
    assert len(sources.segment_paths) == 1
