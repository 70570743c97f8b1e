"""Counting range aggregations in DuckDB cells: same values as counting entries per window."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightlog.model import PushRequest, StreamBatch, canonical_labels
from flightlog.query.engine import Engine
from flightlog.store import Store, StoreConfig

S = 1_000_000_000
T0 = 1_700_000_000 * S


def _expected(entries, op, start, end, step, range_s, offset_s):  # type: ignore[no-untyped-def]
    """Loki's definition, entry by entry: window (t - offset - range, t - offset]."""
    out = {}
    t = start
    while t <= end:
        right = t - offset_s * S
        inside = [line for ts, line in entries if right - range_s * S < ts <= right]
        if inside:
            if op == "count_over_time":
                out[t] = float(len(inside))
            elif op == "rate":
                out[t] = len(inside) / range_s
            elif op == "bytes_over_time":
                out[t] = float(sum(len(line.encode()) for line in inside))
            else:  # bytes_rate
                out[t] = sum(len(line.encode()) for line in inside) / range_s
        t += step * S
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=600 * S), min_size=1, max_size=40),
    op=st.sampled_from(["count_over_time", "rate", "bytes_over_time", "bytes_rate"]),
    step_s=st.integers(min_value=1, max_value=90),
    range_s=st.integers(min_value=1, max_value=200),
    offset_s=st.integers(min_value=0, max_value=60),
    flush=st.booleans(),
)
def test_windows_count_what_the_entries_say(
    offsets: list[int], op: str, step_s: int, range_s: int, offset_s: int, flush: bool
) -> None:
    entries = sorted((T0 + o, f"line {'x' * (o % 7)}") for o in set(offsets))
    with tempfile.TemporaryDirectory() as tmp:
        config = StoreConfig(data_dir=Path(tmp) / "data", fsync=False)
        with Store.open(config, clock=lambda: T0 + 10**4 * S) as store:
            labels = canonical_labels({"app": "a"})
            batch = StreamBatch(
                labels, [ts for ts, _ in entries], [x for _, x in entries], [None] * len(entries)
            )
            store.append(PushRequest("default", (batch,)))
            if flush:
                store.flush()
            start, end = T0 + 30 * S, T0 + 700 * S
            query = (
                f'{op}({{app="a"}} [{range_s}s] offset {offset_s}s)'
                if offset_s
                else f'{op}({{app="a"}} [{range_s}s])'
            )
            outcome = Engine(store).query_range(query, start, end, step_s * S, ["default"])
    got = {t: v for _, points in outcome.result.series for t, v in points}
    expected = _expected(entries, op, start, end, step_s, range_s, offset_s)
    assert got.keys() == expected.keys()
    for t, value in expected.items():
        assert abs(got[t] - value) <= 1e-9 * max(1.0, abs(value))
