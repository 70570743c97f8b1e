"""Scans over segments of many row groups: the word index prunes row groups, never rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from flightlog.model import PushRequest, StreamBatch, canonical_labels
from flightlog.query.engine import Engine
from flightlog.store import Store, StoreConfig

S = 1_000_000_000
T0 = 1_700_000_000 * S
STREAMS = {
    "trainer": lambda i: (
        "CUDA out of memory. Tried to allocate 2.00 GiB"
        if 5000 <= i < 5011
        else f'{{"msg":"Batch completed","step":{i},"trace_id":"{i:032x}"}}'
    ),
    "gateway": lambda i: f"GET /predict 200 latency_ms={i % 97} timeout=false",
    "loader": lambda i: (
        f"Shard {i} loaded; worker pid {1000 + i % 7} connection refused"
        if i % 1000 == 0
        else f"Shard {i} loaded"
    ),
}
ROWS = 6000  # per stream: 18,000 rows = 5 row groups of 4,096


def _lines() -> dict[str, list[str]]:
    return {name: [make(i) for i in range(ROWS)] for name, make in STREAMS.items()}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    data_dir = tmp_path_factory.mktemp("scan") / "data"
    opened = Store.open(StoreConfig(data_dir=data_dir, fsync=False), clock=lambda: T0 + 10**5 * S)
    batches = tuple(
        StreamBatch(
            canonical_labels({"service": name}),
            [T0 + i * S for i in range(ROWS)],
            lines,
            [None] * ROWS,
        )
        for name, lines in _lines().items()
    )
    assert opened.append(PushRequest("default", batches)).rejected_total == 0
    opened.flush()
    yield opened
    opened.close()


def _count(engine: Engine, query: str) -> float:
    # One step whose [3h] window holds every row.
    outcome = engine.query_range(query, T0 + 7200 * S, T0 + 7200 * S, 3600 * S, ["default"])
    return sum(v for _, points in outcome.result.series for _, v in points)


@pytest.mark.parametrize(
    ("selector", "needle"),
    [
        ('{service=~".+"}', "CUDA out of memory"),
        ('{service=~".+"}', "connection refused"),
        ('{service=~".+"}', "refused"),
        ('{service=~".+"}', "Batch completed"),
        ('{service=~".+"}', "atch complete"),
        ('{service=~".+"}', "timeout=false"),
        ('{service=~".+"}', "no such phrase anywhere"),
        ('{service="trainer"}', "Tried to allocate"),
        ('{service="loader"}', "Shard 4"),
        ('{service=~".+"}', f"{5012:032x}"),
    ],
)
def test_counts_equal_a_plain_scan_of_the_lines(store: Store, selector: str, needle: str) -> None:
    """Every needle counts what a substring search over the pushed lines counts."""
    lines = _lines()
    services = [s for s in lines if selector == '{service=~".+"}' or f'"{s}"' in selector]
    expected = sum(needle in line for s in services for line in lines[s])
    query = f'sum(count_over_time({selector} |= "{needle}" [3h]))'
    assert _count(Engine(store), query) == expected


@pytest.mark.parametrize(
    ("line_filter", "alternatives"),
    [
        (
            '|= "CUDA out of memory" or "connection refused"',
            ["CUDA out of memory", "connection refused"],
        ),
        ('|~ "Tried to allocate|worker pid"', ["Tried to allocate", "worker pid"]),
        ('|= "Shard 1" or "no such phrase"', ["Shard 1", "no such phrase"]),
        ('|= "refused" or "00000000000000000000000000001388"', ["refused", f"{5000:032x}"]),
    ],
)
def test_alternatives_count_lines_holding_any_of_them(
    store: Store, line_filter: str, alternatives: list[str]
) -> None:
    lines = _lines()
    expected = sum(any(a in line for a in alternatives) for s in lines for line in lines[s])
    query = f'sum(count_over_time({{service=~".+"}} {line_filter} [3h]))'
    assert _count(Engine(store), query) == expected


def test_alternatives_read_only_row_groups_holding_one(store: Store) -> None:
    both = [["CUDA out of memory", "connection refused"]]
    sources = store.scan_sources(["default"], [], T0, T0 + ROWS * S, (), both)
    (path,) = sources.segment_paths
    one = store.scan_sources(["default"], [], T0, T0 + ROWS * S, ["CUDA out of memory"])
    assert set(one.segment_blocks[path]) < set(sources.segment_blocks[path])
    groups = pq.ParquetFile(path).metadata.num_row_groups
    assert len(sources.segment_blocks[path]) < groups


def test_a_rare_phrase_reads_only_the_row_groups_holding_it(store: Store) -> None:
    """The scan lists only the row groups whose words cover the needle."""
    sources = store.scan_sources(["default"], [], T0, T0 + ROWS * S, ["CUDA out of memory"])
    (path,) = sources.segment_paths
    groups = pq.ParquetFile(path).metadata.num_row_groups
    blocks = sources.segment_blocks[path]
    assert 0 < len(blocks) < groups
    found = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{path}') WHERE block IN ({', '.join(map(str, blocks))})"
        " AND contains(line, 'CUDA out of memory')"
    ).fetchall()
    assert found == [(11,)]


def test_a_phrase_in_no_row_group_skips_the_segment(store: Store) -> None:
    sources = store.scan_sources(["default"], [], T0, T0 + ROWS * S, ["Gradient exploded"])
    assert sources.segment_paths == ()


def test_segments_without_a_word_index_are_read_whole(tmp_path: Path) -> None:
    """A segment written before word indexes (no block column, no footer key) is read in full."""
    config = StoreConfig(data_dir=tmp_path / "data", fsync=False)
    labels = canonical_labels({"service": "old"})
    with Store.open(config, clock=lambda: T0 + 10**5 * S) as store:
        batch = StreamBatch(labels, [T0, T0 + S], ["CUDA out of memory", "fine"], [None, None])
        store.append(PushRequest("default", (batch,)))
        store.flush()
    (path,) = (tmp_path / "data" / "segments").rglob("*.parquet")
    legacy = pq.read_table(path).drop_columns(["block"]).replace_schema_metadata(None)
    pq.write_table(legacy, path, row_group_size=4096, compression="zstd")
    with Store.open(config, clock=lambda: T0 + 10**5 * S) as store:
        sources = store.scan_sources(["default"], [], T0, T0 + 10 * S, ["CUDA out of memory"])
        assert sources.segment_paths == (path,) and sources.segment_blocks == {}
        query = 'sum(count_over_time({service="old"} |= "CUDA out of memory" [3h]))'
        assert _count(Engine(store), query) == 1
