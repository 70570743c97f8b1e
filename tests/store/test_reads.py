"""The read API over head and segments: select, streams, labels, series, stats."""

from __future__ import annotations

import pytest
from storekit import FakeClock, batch, eq, push, rows

from flightlog.model import Direction, LabelMatcher, MatchOp
from flightlog.store import Store


@pytest.fixture
def filled(store: Store, clock: FakeClock) -> Store:
    """Three streams; the older half of the entries in a segment, the rest in the head."""
    push(
        store,
        "t",
        batch({"app": "api", "env": "prod"}, [10, 20, 30]),
        batch({"app": "api", "env": "dev"}, [11, 21]),
        batch({"app": "worker", "env": "prod"}, [12]),
    )
    store.flush()
    push(
        store,
        "t",
        batch({"app": "api", "env": "prod"}, [40, 50]),
        batch({"app": "worker", "env": "prod"}, [42]),
    )
    push(store, "other", batch({"app": "api", "env": "prod"}, [15, 45]))
    return store


@pytest.mark.parametrize(
    ("matcher", "expected"),
    [
        (LabelMatcher("env", MatchOp.EQ, "prod"), [10, 12, 20, 30, 40, 42, 50]),
        (LabelMatcher("env", MatchOp.NEQ, "prod"), [11, 21]),
        (LabelMatcher("app", MatchOp.RE, "wor.*"), [12, 42]),
        (LabelMatcher("app", MatchOp.NRE, "wor.*"), [10, 11, 20, 21, 30, 40, 50]),
        (LabelMatcher("missing", MatchOp.EQ, ""), [10, 11, 12, 20, 21, 30, 40, 42, 50]),
    ],
)
def test_select_with_each_matcher_op(
    filled: Store, matcher: LabelMatcher, expected: list[int]
) -> None:
    """Each operator selects the right streams across head and segments."""
    assert [r["ts"] for r in rows(filled, matchers=[matcher], direction="forward")] == expected


def test_select_combines_matchers(filled: Store) -> None:
    """All matchers must hold."""
    got = rows(filled, matchers=[eq("app", "api"), eq("env", "prod")], direction="forward")
    assert [r["ts"] for r in got] == [10, 20, 30, 40, 50]


def test_time_range_is_start_inclusive_end_exclusive(filled: Store) -> None:
    """start_ns <= ts < end_ns."""
    got = rows(filled, matchers=[eq("env", "prod")], start=20, end=42, direction="forward")
    assert [r["ts"] for r in got] == [20, 30, 40]


def test_backward_is_newest_first(filled: Store) -> None:
    """The default direction returns the newest entries first."""
    got = rows(filled, matchers=[eq("app", "api")])
    assert [r["ts"] for r in got] == [50, 40, 30, 21, 20, 11, 10]


@pytest.mark.parametrize(
    ("direction", "expected"),
    [(Direction.BACKWARD, [50, 42, 40]), (Direction.FORWARD, [10, 11, 12])],
)
def test_limit_takes_from_the_right_end(
    filled: Store, direction: Direction, expected: list[int]
) -> None:
    """A limit keeps the first rows in the requested direction."""
    got = rows(filled, matchers=[eq("missing", "")], direction=direction, limit=3)
    assert [r["ts"] for r in got] == expected


def test_limit_across_many_segments(store: Store) -> None:
    """With many segments, a limited read still returns the globally newest rows."""
    for i in range(6):
        push(store, "t", batch({"app": "a"}, [i * 100 + j for j in range(5)]))
        store.flush()
    push(store, "t", batch({"app": "a"}, [250]))
    got = rows(store, limit=4)
    assert [r["ts"] for r in got] == [504, 503, 502, 501]
    got = rows(store, limit=4, direction=Direction.FORWARD, start=101)
    assert [r["ts"] for r in got] == [101, 102, 103, 104]


def test_tenants_are_isolated(filled: Store) -> None:
    """A tenant's read never returns another tenant's entries."""
    assert [r["ts"] for r in rows(filled, "other", direction="forward")] == [15, 45]
    assert filled.label_values(["other"], "app", 0, 100) == ["api"]


def test_select_several_tenants(filled: Store) -> None:
    """A multi-tenant read merges the tenants' entries."""
    batches = filled.select(["t", "other"], [eq("app", "api"), eq("env", "prod")], 0, 100)
    assert [ts for b in batches for ts in b.column("ts").to_pylist()] == [
        50,
        45,
        40,
        30,
        20,
        15,
        10,
    ]


def test_streams_give_labels(filled: Store) -> None:
    """streams() lists each matching stream with its id and labels."""
    infos = filled.streams(["t"], [eq("env", "prod")], 0, 100)
    assert [dict(i.labels) for i in infos] == [
        {"app": "api", "env": "prod"},
        {"app": "worker", "env": "prod"},
    ]
    selected = {r["stream_id"] for r in rows(filled, matchers=[eq("app", "worker")])}
    assert selected == {infos[1].stream_id}


def test_label_names_and_values(filled: Store) -> None:
    """Label names and values of the streams in the range."""
    assert filled.label_names(["t"], 0, 100) == ["app", "env"]
    assert filled.label_values(["t"], "env", 0, 100) == ["dev", "prod"]
    assert filled.label_values(["t"], "env", 0, 100, [eq("app", "worker")]) == ["prod"]
    assert filled.label_values(["t"], "app", 41, 100) == ["api", "worker"]
    assert filled.label_values(["t"], "env", 51, 100) == []
    assert filled.label_values(["t"], "nope", 0, 100) == []


def test_series_unions_matcher_sets(filled: Store) -> None:
    """series() returns streams matching any of the matcher sets, once each."""
    got = filled.series(
        ["t"], [[eq("env", "dev")], [eq("app", "worker")], [eq("env", "dev")]], 0, 100
    )
    assert got == [{"app": "api", "env": "dev"}, {"app": "worker", "env": "prod"}]


def test_stats(filled: Store) -> None:
    """Stats count streams, chunks (segments + head), entries and line bytes."""
    stats = filled.stats(["t"], [eq("app", "api")], 0, 100)
    assert (stats.streams, stats.chunks, stats.entries) == (2, 2, 7)
    assert stats.bytes == sum(len(r["line"]) for r in rows(filled, matchers=[eq("app", "api")]))


def test_scan_sources(filled: Store, store: Store) -> None:
    """scan_sources lists overlapping segments, head rows and the matching streams."""
    sources = filled.scan_sources(["t"], [eq("app", "worker")], 0, 100)
    assert len(sources.segment_paths) == 1 and sources.segment_paths[0].exists()
    assert sources.head["ts"].to_pylist() == [42]
    assert list(sources.streams.values()) == [{"app": "worker", "env": "prod"}]
    assert sources.stream_ids == tuple(sources.streams)
    later = filled.scan_sources(["t"], [eq("app", "worker")], 35, 100)
    assert later.segment_paths == ()


def test_no_match_is_empty(filled: Store) -> None:
    """A selector that matches nothing returns nothing, without error."""
    assert rows(filled, matchers=[eq("app", "nope")]) == []
    sources = filled.scan_sources(["t"], [eq("app", "nope")], 0, 100)
    assert sources.segment_paths == () and sources.head.num_rows == 0
    assert filled.stats(["t"], [eq("app", "nope")], 0, 100).entries == 0


def test_metadata_survives_segments(store: Store) -> None:
    """Structured metadata reads back the same from a segment as from the head."""
    push(store, "t", batch({"app": "a"}, [1, 2], metadata=[{"trace_id": "abc", "span": "1"}, None]))
    before = rows(store, direction="forward")
    store.flush()
    assert rows(store, direction="forward") == before
    assert dict(before[0]["metadata"]) == {"trace_id": "abc", "span": "1"}


def test_duckdb_scans_segments_and_head_as_one_table(filled: Store) -> None:
    """The query engine's pattern: UNION ALL of head rows and segment files in DuckDB."""
    import duckdb

    sources = filled.scan_sources(["t"], [eq("app", "api")], 0, 100)
    con = duckdb.connect()
    con.register("head_rows", sources.head)
    ids = ", ".join(str(i) for i in sources.stream_ids)
    paths = ", ".join(f"'{p}'" for p in sources.segment_paths)
    where = f"stream_id IN ({ids}) AND ts >= 0 AND ts < 100"
    got = con.execute(
        f"SELECT ts, metadata FROM head_rows WHERE {where}"
        f" UNION ALL SELECT ts, metadata FROM read_parquet([{paths}]) WHERE {where}"
        " ORDER BY ts"
    ).fetchall()
    assert [ts for ts, _ in got] == [10, 11, 20, 21, 30, 40, 50]
    assert all(metadata == {} for _, metadata in got)


def test_scan_sources_says_when_whole_segments_are_selected(filled: Store) -> None:
    """Only a selector covering every stream of the segments, over their whole time span,
    lets the engine drop the stream and time predicates on segments."""
    everything = filled.scan_sources(["t"], [], 0, 1_000)
    assert everything.segment_paths and everything.segments_all_selected
    one_stream = filled.scan_sources(["t"], [eq("env", "prod")], 0, 1_000)
    assert one_stream.segment_paths and not one_stream.segments_all_selected
    part_of_the_time = filled.scan_sources(["t"], [], 15, 1_000)
    assert part_of_the_time.segment_paths and not part_of_the_time.segments_all_selected
    up_to_the_last_entry = filled.scan_sources(["t"], [], 0, 30)  # end is exclusive
    assert not up_to_the_last_entry.segments_all_selected
