"""Cutting the head into Parquet segments and the catalog that lists them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from storekit import FakeClock, batch, push, rows

from flightlog.store import ENTRY_SCHEMA, Store, StoreConfig


def _segments(config: StoreConfig) -> list[Path]:
    return sorted((config.data_dir / "segments").rglob("*.parquet"))


def test_no_cut_below_limits(store: Store, store_config: StoreConfig) -> None:
    """A small, young head is not cut."""
    push(store, "t", batch({"app": "a"}, [1, 2]))
    assert store.maybe_cut() == 0
    assert _segments(store_config) == []


def test_cut_by_age(store: Store, store_config: StoreConfig, clock: FakeClock) -> None:
    """A head whose first entry arrived max_segment_age_secs ago is cut."""
    push(store, "t", batch({"app": "a"}, [1, 2]))
    clock.advance(store_config.max_segment_age_secs - 1)
    assert store.maybe_cut() == 0
    clock.advance(1)
    assert store.maybe_cut() == 1
    assert len(_segments(store_config)) == 1
    assert [r["ts"] for r in rows(store, direction="forward")] == [1, 2]


def test_cut_by_size(tmp_path: Path, clock: FakeClock) -> None:
    """A head over max_segment_bytes is cut; the WAL it covered is removed."""
    config = StoreConfig(data_dir=tmp_path / "d", max_segment_bytes=4096, fsync=False)
    with Store.open(config, clock=clock) as store:
        push(store, "t", batch({"app": "a"}, range(10), ["x" * 100] * 10))
        assert store.maybe_cut() == 0
        push(store, "t", batch({"app": "a"}, range(10, 60), ["x" * 100] * 50))
        assert store.maybe_cut() == 1
        assert list((config.data_dir / "wal").glob("*.wal")) == []
        assert len(rows(store)) == 60


def test_flush_writes_one_segment_per_tenant_and_removes_wal(
    store: Store, store_config: StoreConfig
) -> None:
    """flush() cuts every tenant's head and leaves no WAL file behind."""
    push(store, "a", batch({"app": "x"}, [1]))
    push(store, "b/../weird tenant", batch({"app": "x"}, [2]))
    store.flush()
    paths = _segments(store_config)
    assert len(paths) == 2
    assert all(p.parent.parent == store_config.data_dir / "segments" for p in paths)
    assert list((store_config.data_dir / "wal").glob("*.wal")) == []
    assert [r["ts"] for r in rows(store, "b/../weird tenant")] == [2]


def test_segment_schema_and_order(store: Store, store_config: StoreConfig) -> None:
    """Segments have the documented schema (entry columns + block), sorted by (stream_id, ts), zstd."""
    push(
        store,
        "t",
        batch({"app": "b"}, [5, 1, 3], metadata=[{"k": "v"}, None, None]),
        batch({"app": "a"}, [4, 2]),
    )
    store.flush()
    (path,) = _segments(store_config)
    table = pq.read_table(path)
    assert table.select(ENTRY_SCHEMA.names).schema.equals(ENTRY_SCHEMA)
    assert table.column_names == [*ENTRY_SCHEMA.names, "block"]
    assert table["block"].type == pa.int64() and len(set(table["block"].to_pylist())) == 1
    keys = list(zip(table["stream_id"].to_pylist(), table["ts"].to_pylist(), strict=True))
    assert keys == sorted(keys)
    metadata = pq.ParquetFile(path).metadata
    assert metadata.row_group(0).column(2).compression == "ZSTD"
    assert metadata.row_group(0).column(0).statistics.has_min_max


def test_segments_readable_by_duckdb(store: Store, store_config: StoreConfig) -> None:
    """DuckDB reads a segment with the documented columns and types."""
    push(store, "t", batch({"app": "a"}, [1, 2], ["x", "y"], [{"trace_id": "abc"}, None]))
    store.flush()
    (path,) = _segments(store_config)
    con = duckdb.connect()
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    types = {row[0]: row[1] for row in described}
    assert types == {
        "stream_id": "UBIGINT",
        "ts": "BIGINT",
        "line": "VARCHAR",
        "metadata": "MAP(VARCHAR, VARCHAR)",
        "block": "BIGINT",
    }
    found = con.execute(
        f"SELECT line FROM read_parquet('{path}') WHERE metadata['trace_id'] = 'abc'"
    ).fetchall()
    assert found == [("x",)]


def test_catalog_lists_segments(store: Store, store_config: StoreConfig) -> None:
    """Each segment has a catalog row with tenant, path, time range, rows and streams."""
    push(store, "t", batch({"app": "a"}, [1, 9]), batch({"app": "b"}, [5]))
    store.flush()
    db = sqlite3.connect(store_config.data_dir / "catalog.sqlite3")
    (tenant, path, min_ts, max_ts, count, size) = db.execute(
        "SELECT tenant, path, min_ts, max_ts, rows, bytes FROM segments"
    ).fetchone()
    assert (tenant, min_ts, max_ts, count) == ("t", 1, 9, 3)
    assert (store_config.data_dir / path).stat().st_size == size
    assert db.execute("SELECT count(*) FROM segment_streams").fetchone() == (2,)
    labels = {r[0] for r in db.execute("SELECT labels FROM streams")}
    assert labels == {'{"app":"a"}', '{"app":"b"}'}


_READER = """
import sqlite3, sys, pyarrow.parquet as pq
from pathlib import Path
data = Path(sys.argv[1])
db = sqlite3.connect(f"file:{data / 'catalog.sqlite3'}?mode=ro", uri=True)
total = 0
for (path, rows) in db.execute("SELECT path, rows FROM segments"):
    assert pq.read_table(data / path).num_rows == rows
    total += rows
print(total)
"""


@pytest.mark.slow
def test_catalog_readable_from_another_process_while_writing(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Another process reads catalog and segments while this one keeps cutting."""
    config = StoreConfig(data_dir=tmp_path / "d", max_segment_bytes=1024, fsync=False)
    with Store.open(config, clock=clock) as store:
        seen = []
        for round_ in range(4):
            push(store, "t", batch({"app": "a"}, range(round_ * 50, round_ * 50 + 50)))
            store.maybe_cut()
            reader = subprocess.run(
                [sys.executable, "-c", _READER, str(config.data_dir)],
                capture_output=True,
                text=True,
                check=True,
            )
            seen.append(int(reader.stdout))
        assert seen == [50, 100, 150, 200]


def test_read_only_store_sees_committed_segments(tmp_path: Path, clock: FakeClock) -> None:
    """A read-only Store follows the writer's catalog (segments, not the head)."""
    config = StoreConfig(data_dir=tmp_path / "d", fsync=False)
    with Store.open(config, clock=clock) as writer:
        push(writer, "t", batch({"app": "a"}, [1, 2]))
        reader = Store.open(config, clock=clock, read_only=True)
        assert rows(reader) == []
        writer.flush()
        assert [r["ts"] for r in rows(reader, direction="forward")] == [1, 2]
        assert reader.label_values(["t"], "app", 0, 10) == ["a"]
        reader.close()


def test_orphan_segment_from_a_crash_is_removed(
    store_config: StoreConfig, clock: FakeClock
) -> None:
    """A segment file without a catalog row (crash before commit) is deleted at open."""
    with Store.open(store_config, clock=clock) as store:
        push(store, "t", batch({"app": "a"}, [1]))
    orphan = store_config.data_dir / "segments" / "t" / "0-1-abc.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half written")
    (orphan.parent / "x.parquet.tmp").write_bytes(b"tmp")
    with Store.open(store_config, clock=clock) as store:
        assert not orphan.exists()
        assert len(rows(store)) == 1


def test_data_seen_once_while_cut_runs_concurrently(store: Store, clock: FakeClock) -> None:
    """Reads during cuts see every row exactly once (head and segment never overlap)."""
    import threading

    stop = threading.Event()
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                count = len(rows(store))
            except Exception as exc:  # the test reports any reader failure
                errors.append(repr(exc))
                return
            if count % 10:
                errors.append(f"saw {count} rows")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(15):
            push(store, "t", batch({"app": "a"}, range(i * 10, i * 10 + 10)))
            clock.advance(1000)
            store.maybe_cut()
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert len(rows(store)) == 150


def test_garbage_segment_is_a_corruption_error(store: Store, store_config: StoreConfig) -> None:
    """A listed segment that is not Parquet fails the read with a message saying what to do."""
    import pytest

    from flightlog.errors import CorruptionError

    push(store, "t", batch({"app": "a"}, [1]))
    store.flush()
    (path,) = _segments(store_config)
    path.write_bytes(b"not parquet at all")
    with pytest.raises(CorruptionError, match="cannot be read"):
        rows(store)


def test_truncated_segment_is_a_corruption_error(store: Store, store_config: StoreConfig) -> None:
    """A segment cut short (disk trouble) is reported as corruption, not a crash."""
    import pytest

    from flightlog.errors import CorruptionError

    push(store, "t", batch({"app": "a"}, range(100)))
    store.flush()
    (path,) = _segments(store_config)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptionError):
        rows(store)


def test_garbage_catalog_is_a_store_error(tmp_path: Path) -> None:
    """A data dir whose catalog is not SQLite is refused with a clear message."""
    import pytest

    from flightlog.errors import StoreError

    data_dir = tmp_path / "d"
    data_dir.mkdir()
    (data_dir / "catalog.sqlite3").write_bytes(b"garbage" * 100)
    with pytest.raises(StoreError, match="catalog"):
        Store.open(StoreConfig(data_dir=data_dir, fsync=False))


def test_other_format_version_is_refused(store_config: StoreConfig, clock: FakeClock) -> None:
    """A catalog written by another format version is not silently misread."""
    import pytest

    from flightlog.errors import StoreError

    Store.open(store_config, clock=clock).close()
    db = sqlite3.connect(store_config.data_dir / "catalog.sqlite3")
    with db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'format_version'")
    db.close()
    with pytest.raises(StoreError, match="format version '99'"):
        Store.open(store_config, clock=clock)


def test_failed_open_releases_the_data_dir(store_config: StoreConfig, clock: FakeClock) -> None:
    """After an open fails, fixing the cause lets the same process open the store."""
    import pytest

    from flightlog.errors import StoreError

    Store.open(store_config, clock=clock).close()
    db = sqlite3.connect(store_config.data_dir / "catalog.sqlite3")
    with db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'format_version'")
    with pytest.raises(StoreError):
        Store.open(store_config, clock=clock)
    with db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'format_version'")
    db.close()
    Store.open(store_config, clock=clock).close()


def test_failed_cut_keeps_head_and_wal(store_config: StoreConfig, clock: FakeClock) -> None:
    """If a segment cannot be written, rows stay readable, in the WAL, and cut later."""
    import pytest

    from flightlog.errors import StoreError

    blocker = store_config.data_dir / "segments" / "t"
    with Store.open(store_config, clock=clock) as store:
        push(store, "t", batch({"app": "a"}, [1, 2]))
        blocker.write_bytes(b"a file where the tenant folder should be")
        with pytest.raises(StoreError, match="cannot write a segment"):
            store.flush()
        assert [r["ts"] for r in rows(store, direction="forward")] == [1, 2]
        assert list((store_config.data_dir / "wal").glob("*.wal"))
        push(store, "t", batch({"app": "a"}, [3]))
        blocker.unlink()
        store.flush()
        assert [r["ts"] for r in rows(store, direction="forward")] == [1, 2, 3]
    with Store.open(store_config, clock=clock) as store:
        assert [r["ts"] for r in rows(store, direction="forward")] == [1, 2, 3]
        assert store.figures().segments == 1


def test_format_md_example_reads_segments(store: Store, store_config: StoreConfig) -> None:
    """The external-engine example in FORMAT.md runs and finds the rows it promises."""
    import flightlog.store

    start = 1_700_000_000_000_000_000
    push(
        store,
        "default",
        batch({"app": "api"}, [start + 1, start + 2], ["a", "b"]),
        batch({"app": "db"}, [start + 3], ["c"]),
    )
    store.flush()
    text = (Path(flightlog.store.__file__).parent / "FORMAT.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    result = subprocess.run(
        [sys.executable, "-c", code + "\nprint(rows)"],
        cwd=store_config.data_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f"[({start + 1}, 'a'), ({start + 2}, 'b')]"


@pytest.mark.parametrize("tenant", ["", ".", "..", "a/b", "x" * 300, "é" * 200, "%"])
def test_any_tenant_string_gets_its_own_folder(
    store: Store, store_config: StoreConfig, tenant: str
) -> None:
    """Odd, empty and very long tenant IDs are cut to segments inside segments/."""
    push(store, tenant, batch({"app": "a"}, [1]))
    push(store, "default", batch({"app": "a"}, [2]))
    store.flush()
    (path,) = (p for p in _segments(store_config) if p.parent.name != "default")
    assert path.parent.parent == store_config.data_dir / "segments"
    assert len(path.parent.name) <= 120
    assert [r["ts"] for r in rows(store, tenant)] == [1]


def test_flipped_byte_in_segment_is_detected(store: Store, store_config: StoreConfig) -> None:
    """A bit flip inside a data page fails the page checksum instead of returning garbage."""
    from flightlog.errors import CorruptionError

    push(
        store, "t", batch({"app": "a"}, range(2000), [f"line number {i}" * 3 for i in range(2000)])
    )
    store.flush()
    (path,) = _segments(store_config)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptionError):
        rows(store)
