"""N-gram blooms: never drop a segment holding a needle; skip the ones that cannot."""

from __future__ import annotations

import secrets

from hypothesis import given, settings
from hypothesis import strategies as st
from storekit import batch, push

from flightlog.store import Store
from flightlog.store._bloom import NGRAM, build_bloom, might_contain

alphabet = st.sampled_from('ab01 =_-"{}é')


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(alphabet, max_size=40), min_size=1, max_size=20),
    pick=st.tuples(st.integers(0, 19), st.integers(0, 40), st.integers(0, 40)),
)
def test_bloom_never_drops_a_contained_substring(
    lines: list[str], pick: tuple[int, int, int]
) -> None:
    """Any substring of any line passes the bloom."""
    index, start, length = pick
    line = lines[index % len(lines)]
    needle = line[start : start + length]
    bloom, _ = build_bloom([b"".join(x.encode() for x in lines)])
    assert might_contain(bloom, [needle])


def test_bloom_rejects_absent_ids() -> None:
    """Random 32-hex ids that are not in the data almost never pass."""
    data = "".join(f"trace_id={secrets.token_hex(16)} msg=ok\n" for _ in range(5000)).encode()
    bloom, _ = build_bloom([data])
    passed = sum(might_contain(bloom, [secrets.token_hex(16)]) for _ in range(500))
    assert passed < 25


def test_short_needles_never_prune() -> None:
    """Needles shorter than the n-gram length cannot be checked, so they pass."""
    bloom, _ = build_bloom([b"nothing here"])
    assert might_contain(bloom, ["z" * (NGRAM - 1)])


@settings(max_examples=12, deadline=None)
@given(
    ids=st.lists(
        st.text("0123456789abcdef", min_size=8, max_size=32), min_size=2, max_size=6, unique=True
    ),
    in_metadata=st.booleans(),
)
def test_scan_sources_keeps_every_segment_with_the_needle(
    tmp_path_factory, ids: list[str], in_metadata: bool
) -> None:
    """Each segment whose lines or metadata contain the needle is returned."""
    from flightlog.store import StoreConfig

    config = StoreConfig(data_dir=tmp_path_factory.mktemp("bloom"), fsync=False)
    with Store.open(config) as store:
        for i, trace in enumerate(ids):
            if in_metadata:
                push(store, "t", batch({"app": "a"}, [i], ["request done"], [{"trace_id": trace}]))
            else:
                push(store, "t", batch({"app": "a"}, [i], [f"request {trace} done"]))
            store.flush()
        for i, trace in enumerate(ids):
            paths = store.scan_sources(["t"], [], 0, 100, needles=[trace]).segment_paths
            holding = [p for p in paths if f"{i:020d}-" in p.name]
            assert holding, f"segment {i} with {trace!r} was pruned"


def test_scan_sources_skips_segments_without_the_needle(store: Store) -> None:
    """With distinct trace ids per segment, a needle search keeps about one segment."""
    traces = [secrets.token_hex(16) for _ in range(10)]
    for i, trace in enumerate(traces):
        lines = [f"GET /api trace={trace if j == 7 else secrets.token_hex(16)}" for j in range(50)]
        push(store, "t", batch({"app": "a"}, range(i * 100, i * 100 + 50), lines))
        store.flush()
    all_paths = store.scan_sources(["t"], [], 0, 10_000).segment_paths
    assert len(all_paths) == 10
    kept = store.scan_sources(["t"], [], 0, 10_000, needles=[traces[3]]).segment_paths
    assert any(f"{300:020d}-" in p.name for p in kept)
    assert len(kept) <= 2
    both = store.scan_sources(["t"], [], 0, 10_000, needles=[traces[3], traces[4]]).segment_paths
    assert len(both) <= 1
    either = store.scan_sources(
        ["t"], [], 0, 10_000, alternatives=[[traces[3], traces[4]]]
    ).segment_paths
    assert {f"{300:020d}-", f"{400:020d}-"} <= {p.name[:21] for p in either}
    assert len(either) <= 4


def test_blooms_load_from_the_catalog_after_reopen(tmp_path) -> None:
    """After a restart (and in a read-only store) needle searches still prune."""
    from flightlog.store import StoreConfig

    config = StoreConfig(data_dir=tmp_path / "d", fsync=False)
    traces = [secrets.token_hex(16) for _ in range(4)]
    with Store.open(config) as store:
        for i, trace in enumerate(traces):
            push(store, "t", batch({"app": "a"}, [i], [f"GET /x trace={trace}"]))
            store.flush()
    for read_only in (False, True):
        with Store.open(config, read_only=read_only) as store:
            kept = store.scan_sources(["t"], [], 0, 100, needles=[traces[2]]).segment_paths
            assert [p.name[:20] for p in kept] == [f"{2:020d}"]
