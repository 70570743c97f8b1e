"""The per-segment word index: which row groups can hold a needle."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightlog.store._words import WordIndex, build_word_index, needle_terms


def _index(lines: list[str], rows_per_group: int) -> WordIndex:
    blob = build_word_index(pa.array(lines, pa.string()), rows_per_group)
    groups = -(-len(lines) // rows_per_group)
    return WordIndex.parse(blob, groups, block_base=0)


def _groups_holding(lines: list[str], rows_per_group: int, needles: list[str]) -> set[int]:
    return {
        i // rows_per_group
        for i, line in enumerate(lines)
        if all(needle in line for needle in needles)
    }


@pytest.mark.parametrize(
    ("needle", "terms"),
    [
        ("CUDA out of memory", [("CUDA", True, False), ("memory", False, True)]),
        ("error", [("error", True, True)]),
        ("refused by redis", [("refused", True, False), ("redis", False, True)]),
        (" connection refused ", [("connection", False, False), ("refused", False, False)]),
        ("61b15c6772685a195becbf9c879c3f50", []),  # hex letter runs never prune
        ("face", []),  # a-f only: it could sit inside a hex id, which is not indexed
        ("abc", []),  # too short
        ("naïve", []),  # only ASCII letter runs count: "na" and "ve" are too short
        ("user=u012345 login", [("user", True, False), ("login", False, True)]),
    ],
)
def test_needle_terms(needle: str, terms: list[tuple[str, bool, bool]]) -> None:
    assert needle_terms(needle) == terms


def test_index_holds_words_not_hex_ids() -> None:
    """Letter runs with a letter past f are indexed; random hex adds nothing."""
    lines = [
        'level=info msg="Batch completed" trace_id=deadbeefcafe0123',
        "CUDA out of memory. Tried to allocate 2.00 GiB",
        "Prefetch queue empty, GPU is waiting for data",
        'level=info msg="Batch completed" trace_id=facade99aced',
    ]
    index = _index(lines, rows_per_group=2)
    assert "deadbeefcafe" not in index.words and "facade" not in index.words
    assert {"level", "info", "Batch", "completed", "trace", "CUDA", "memory", "Tried"} <= set(
        index.words
    )
    assert index.candidate_groups(["CUDA out of memory"]).tolist() == [0]
    assert index.candidate_groups(["Prefetch queue"]).tolist() == [1]
    assert index.candidate_groups(["Batch completed"]).tolist() == [0, 1]
    assert index.candidate_groups(["no such words"]).tolist() == []
    assert index.candidate_groups(["deadbeef"]) is None  # nothing to prune by
    # Needles together: a group must be able to hold a line with all of them.
    assert index.candidate_groups(["Batch", "waiting"]).tolist() == [1]
    # One of each group of alternatives: the union of their row groups.
    assert index.candidate_groups([], [["CUDA out", "Prefetch"]]).tolist() == [0, 1]
    assert index.candidate_groups(["Batch"], [["Tried", "nothing here"]]).tolist() == [0]
    # An alternative the index cannot judge (hex) could be anywhere: no pruning by it.
    assert index.candidate_groups([], [["CUDA out", "deadbeef"]]) is None


def test_edge_runs_match_longer_words() -> None:
    """A needle's first run may end a word of the line, its last may start one."""
    lines = ["connection timeout after 30s", "shutting down", "timeouts: 3", "xtimeout"]
    index = _index(lines, rows_per_group=1)
    assert index.candidate_groups(["timeout"]).tolist() == [0, 2, 3]  # inside a word
    assert index.candidate_groups([" timeout"]).tolist() == [0, 2]  # starts a word
    assert index.candidate_groups(["timeout "]).tolist() == [0, 3]  # ends a word
    assert index.candidate_groups([" timeout "]).tolist() == [0]  # is a word


_WORDS = [
    "timeout",
    "out",
    "memory",
    "CUDA",
    "Gradient",
    "deadbeef",
    "u0123",
    "ab12cd",
    "naïve",
    "x",
]
_SEPARATORS = [" ", "", "=", ".", "-", "_", '"', "7", "é"]
_LINE = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPARATORS)), max_size=6).map(
    lambda parts: "".join(word + sep for word, sep in parts)
)


_PICK = st.tuples(st.integers(min_value=0), st.integers(min_value=0), st.integers(1, 16))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(_LINE, min_size=1, max_size=30),
    rows_per_group=st.integers(min_value=1, max_value=7),
    picks=st.lists(_PICK, min_size=0, max_size=2),
    alternative_picks=st.lists(_PICK, min_size=0, max_size=3),
)
def test_candidates_cover_every_group_holding_the_needles(
    lines: list[str],
    rows_per_group: int,
    picks: list[tuple[int, int, int]],
    alternative_picks: list[tuple[int, int, int]],
) -> None:
    """Never drops a row group that holds a line containing every needle and one of the
    alternatives."""

    def needle(pick: tuple[int, int, int]) -> str:
        line_pick, start_pick, length = pick
        line = lines[line_pick % len(lines)]
        start = start_pick % (len(line) + 1)
        return line[start : start + length] or "x"

    needles = [needle(p) for p in picks]
    alternatives = [[needle(p) for p in alternative_picks]] if alternative_picks else []
    index = _index(lines, rows_per_group)
    chosen = index.candidate_groups(needles, alternatives)
    holding = {
        i // rows_per_group
        for i, line in enumerate(lines)
        if all(n in line for n in needles) and all(any(a in line for a in g) for g in alternatives)
    }
    if chosen is None:
        return  # no pruning: every group is read
    assert holding <= set(chosen.tolist())
