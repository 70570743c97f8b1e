"""Results of every construct over the fixed data set, worked out from Loki's documented semantics.

Windows: the value at step t covers (t - range, t]; log queries cover [start, end).
"""

from __future__ import annotations

import math

import pytest

from flightlog.errors import QueryError, QueryLimitError
from flightlog.model import Direction
from flightlog.query import ast
from flightlog.query.engine import Engine
from flightlog.query.limits import QueryLimits
from flightlog.query.parser import parse
from flightlog.query.plan import render_plan
from flightlog.query.results import (
    MatrixResult,
    ScalarResult,
    StreamsResult,
    VectorResult,
    to_loki_json,
)
from flightlog.store import Store

from .conftest import T0, S, push

TENANTS = ("default",)


def logs(
    engine: Engine,
    query: str,
    limit: int = 100,
    direction: Direction = Direction.BACKWARD,
    **kw: object,
) -> list[tuple[dict[str, str], int, str]]:
    """Entries as (labels, seconds after T0, line) in the order returned, streams flattened."""
    outcome = engine.query_range(query, T0, T0 + 200 * S, S, TENANTS, limit, direction, **kw)  # type: ignore[arg-type]
    assert isinstance(outcome.result, StreamsResult)
    return [
        (dict(s.labels), (e.ts_ns - T0) // S, e.line)
        for s in outcome.result.streams
        for e in s.entries
    ]


def instant(engine: Engine, query: str, at: int = 120) -> dict[tuple[tuple[str, str], ...], float]:
    outcome = engine.query_instant(query, T0 + at * S, TENANTS)
    assert isinstance(outcome.result, VectorResult), outcome.result
    return {tuple(sorted(labels.items())): value for labels, value in outcome.result.samples}


def matrix(
    engine: Engine, query: str, start: int = 60, end: int = 120, step: int = 60
) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    outcome = engine.query_range(query, T0 + start * S, T0 + end * S, step * S, TENANTS)
    assert isinstance(outcome.result, MatrixResult)
    return {
        tuple(sorted(labels.items())): [((t - T0) // S, v) for t, v in points]
        for labels, points in outcome.result.series
    }


def key(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


# ---- log queries ---------------------------------------------------------------------


def test_backward_limit_returns_newest_across_streams(engine: Engine) -> None:
    """limit applies to all streams together, newest first; segments and head both read."""
    got = logs(engine, '{app="api"}', limit=3)
    assert sorted((t for _, t, _ in got), reverse=True) == [80, 75, 70]


def test_interval_returns_one_entry_per_interval_per_stream(engine: Engine) -> None:
    """Loki's `interval`: per stream, the next entry only once the interval has passed since
    the last one returned (in the query's direction); skipped entries use none of the limit."""
    prod = '{app="api", env="prod"}'  # entries at 10, 20, 70, 80
    forward = logs(engine, prod, direction=Direction.FORWARD, interval_ns=30 * S)
    assert [t for _, t, _ in forward] == [10, 70]
    assert [t for _, t, _ in logs(engine, prod, interval_ns=30 * S)] == [80, 20]
    both = logs(engine, '{app="api"}', 3, Direction.FORWARD, interval_ns=30 * S)
    by_env = {env: [t for labels, t, _ in both if labels["env"] == env] for env in ("prod", "dev")}
    assert by_env == {"prod": [10, 70], "dev": [15]}  # dev also has 75


def test_forward_direction_returns_oldest_first(engine: Engine) -> None:
    got = logs(engine, '{app="api"}', limit=2, direction=Direction.FORWARD)
    assert sorted(t for _, t, _ in got) == [10, 15]


def test_line_filters_contains_regex_and_negations(engine: Engine) -> None:
    assert [t for _, t, _ in logs(engine, '{app="api"} |= "timeout"')] == [20]
    assert sorted(t for _, t, _ in logs(engine, '{app="api"} |~ "lev.l=(info|warn)"')) == [15, 75]
    assert sorted(t for _, t, _ in logs(engine, '{env="prod"} != "json" !~ "^[{]"')) == [
        30,
        90,
        100,
    ]
    assert sorted(t for _, t, _ in logs(engine, '{app="web"} |= "GET" or "POST"')) == [30, 90]
    assert [t for _, t, _ in logs(engine, '{app="web"} |> "<_> /login <_>"')] == [90]


def test_json_parser_adds_labels_and_marks_errors(engine: Engine) -> None:
    """Nested keys flatten; a key colliding with a stream label gets `_extracted`; bad JSON gets __error__."""
    got = {t: labels for labels, t, _ in logs(engine, '{app="api", env="prod"} | json')}
    assert got[10]["env"] == "prod" and got[10]["env_extracted"] == "shadow"
    assert got[20]["status"] == "500" and got[20]["msg"] == "upstream timeout"
    assert got[80]["__error__"] == "JSONParserErr"
    assert "__error_details__" in got[80]


def test_json_extraction_parameters(engine: Engine) -> None:
    got = logs(engine, '{app="api", env="prod"} |= "timeout" | json code="status", m="msg"')
    assert got[0][0]["code"] == "500" and got[0][0]["m"] == "upstream timeout"
    assert "level" not in got[0][0]


def test_numeric_label_filter_and_error_filter(engine: Engine) -> None:
    assert [t for _, t, _ in logs(engine, '{app="api", env="prod"} | json | status >= 500')] == [20]
    assert [t for _, t, _ in logs(engine, '{app="api", env="prod"} | json | __error__ != ""')] == [
        80
    ]
    assert sorted(
        t
        for _, t, _ in logs(
            engine,
            '{app="api", env="prod"} | json | __error__ = "" | level="info" or latency_ms > 250',
        )
    ) == [10, 20, 70]


def test_logfmt_duration_and_bytes_filters(engine: Engine) -> None:
    assert [t for _, t, _ in logs(engine, '{env="dev"} | logfmt | duration > 1s')] == [15]
    assert [t for _, t, _ in logs(engine, '{env="dev"} | logfmt | size > 5KB')] == [75]
    labels = logs(engine, '{env="dev"} | logfmt | msg="hello world"')[0][0]
    assert labels["level"] == "info" and labels["size"] == "2KB"


def test_line_format_and_label_format(engine: Engine) -> None:
    got = logs(
        engine,
        '{app="web"} |= "/" | pattern "<method> <path> <code>" | line_format "{{.method | lower}} {{.path}} ({{.trace_id}})"',
    )
    assert sorted(line for _, _, line in got) == ["get /index.html (abc)", "post /login (def)"]
    got = logs(
        engine,
        '{app="web"} |= "POST" | pattern "<method> <_> <code>" | label_format verb=method, where="{{.env}}-{{.code}}"',
    )
    labels = got[0][0]
    assert labels["verb"] == "POST" and "method" not in labels and labels["where"] == "prod-401"


def test_regexp_drop_keep_and_decolorize(engine: Engine) -> None:
    got = logs(
        engine,
        '{app="web"} | regexp "(?P<verb>[A-Z]+) (?P<path>\\\\S+)" | drop path | keep verb, app',
    )
    assert {frozenset(labels.items()) for labels, _, _ in got} >= {
        frozenset({("verb", "POST"), ("app", "web")})
    }
    assert [line for _, _, line in logs(engine, '{app="web"} |= "alert" | decolorize')] == [
        "red alert"
    ]


def test_categorized_labels_split_metadata_and_parsed(engine: Engine) -> None:
    """With categorize-labels the stream keeps only stream labels; the rest rides per entry."""
    outcome = engine.query_range(
        '{app="web"} |= "POST" | pattern "<method> <_> <_>"',
        T0,
        T0 + 200 * S,
        S,
        TENANTS,
        categorize_labels=True,
    )
    body = to_loki_json(outcome.result, outcome.stats)
    assert body["data"]["encodingFlags"] == ["categorize-labels"]
    stream = body["data"]["result"][0]
    assert stream["stream"] == {"app": "web", "env": "prod"}
    assert stream["values"][0][2] == {
        "structuredMetadata": {"trace_id": "def"},
        "parsed": {"method": "POST"},
    }


def test_catastrophic_regex_completes(dataset_store: Store) -> None:
    """`(a+)+$` on a long line is linear with RE2 (no backtracking); results are right."""
    push(
        dataset_store,
        [
            ({"app": "redos"}, 150, "a" * 50_000 + "!", None),
            ({"app": "redos"}, 151, "a" * 50_000, None),
        ],
    )
    engine = Engine(dataset_store)
    assert [t for _, t, _ in logs(engine, '{app="redos"} |~ "(a+)+$"')] == [151]
    assert [t for _, t, _ in logs(engine, '{app="redos"} | regexp "(?P<x>(a+)+$)" | x != ""')] == [
        151
    ]


# ---- metric queries ------------------------------------------------------------------


def test_count_over_time_windows_are_left_open_right_closed(engine: Engine) -> None:
    got = matrix(engine, 'count_over_time({app="api"}[1m])')
    assert got == {
        key(app="api", env="prod"): [(60, 2.0), (120, 2.0)],
        key(app="api", env="dev"): [(60, 1.0), (120, 1.0)],
    }
    # A step exactly on an entry includes it: (10, 70] holds 20 and 70.
    assert instant(engine, 'count_over_time({app="api", env="prod"}[1m])', at=70) == {
        key(app="api", env="prod"): 2.0
    }


def test_rate_bytes_and_offset(engine: Engine) -> None:
    assert instant(engine, 'rate({app="web"}[1m])') == {key(app="web", env="prod"): 2 / 60}
    size = len(b"POST /login 401") + len(b"\x1b[31mred alert\x1b[0m")
    assert instant(engine, 'bytes_over_time({app="web"}[1m])') == {
        key(app="web", env="prod"): float(size)
    }
    assert instant(engine, 'bytes_rate({app="web"}[1m])') == {key(app="web", env="prod"): size / 60}
    assert instant(engine, 'count_over_time({app="api", env="prod"}[1m] offset 1m)') == {
        key(app="api", env="prod"): 2.0
    }


def test_counts_after_a_parser_and_filter(engine: Engine) -> None:
    got = instant(
        engine,
        'sum(count_over_time({app="api", env="prod"} | json | __error__="" | level="info" [2m]))',
    )
    assert got == {(): 2.0}


def test_unwrap_range_aggregations(engine: Engine) -> None:
    """latency_ms of the prod JSON lines in (0, 120]: 100, 300, 200 (the bad line filtered)."""
    expected = {
        "sum_over_time": 600.0,
        "avg_over_time": 200.0,
        "max_over_time": 300.0,
        "min_over_time": 100.0,
        "first_over_time": 100.0,
        "last_over_time": 200.0,
        "stdvar_over_time": 20000 / 3,
        "rate": 600 / 120,
        "rate_counter": (300 - 100 + 200) / 120,  # 300 -> 200 is a counter reset
    }
    for op, value in expected.items():
        # sum_over_time, rate and rate_counter take no `by`: keep makes the one series
        if ast.RangeOp(op) in ast.GROUPING_RANGE_OPS:
            query = f'{op}({{app="api", env="prod"}} | json | __error__="" | unwrap latency_ms [2m]) by (app)'
        else:
            query = f'{op}({{app="api", env="prod"}} | json | __error__="" | keep app, latency_ms | unwrap latency_ms [2m])'
        got = instant(engine, query)
        assert list(got) == [key(app="api")], op
        assert math.isclose(got[key(app="api")], value), (op, got)


def test_unwrapped_label_leaves_the_series_labels(engine: Engine) -> None:
    got = instant(
        engine,
        'max_over_time({app="api", env="prod"} | json | __error__="" | keep latency_ms, app | unwrap latency_ms [2m])',
    )
    assert got == {key(app="api"): 300.0}


def test_unwrap_with_grouping_and_quantile(engine: Engine) -> None:
    grouped = '({app="api", env="prod"} | json | __error__="" | unwrap latency_ms [2m]) by (env)'
    assert instant(engine, f"avg_over_time{grouped}") == {key(env="prod"): 200.0}
    assert instant(engine, f"quantile_over_time(0.5, {grouped[1:]}") == {key(env="prod"): 200.0}
    assert instant(engine, f"quantile_over_time(0.75, {grouped[1:]}") == {key(env="prod"): 250.0}
    stddev = instant(engine, f"stddev_over_time{grouped}")[key(env="prod")]
    assert math.isclose(stddev, math.sqrt(20000 / 3))


def test_unwrap_conversions(engine: Engine) -> None:
    assert instant(
        engine, 'max_over_time({env="dev"} | logfmt | unwrap duration(duration) [2m]) by (app)'
    ) == {key(app="api"): 1.5}
    assert instant(
        engine, 'sum by (app) (sum_over_time({env="dev"} | logfmt | unwrap bytes(size) [2m]))'
    ) == {key(app="api"): 12000.0}


def test_unwrap_error_fails_the_query_unless_filtered(engine: Engine) -> None:
    with pytest.raises(QueryError, match="pipeline error: 'JSONParserErr'"):
        engine.query_instant(
            'sum_over_time({app="api", env="prod"} | json | unwrap latency_ms [2m])',
            T0 + 120 * S,
            TENANTS,
        )
    with pytest.raises(QueryError, match="SampleExtractionErr"):
        engine.query_instant(
            'sum_over_time({app="api", env="prod"} | json | __error__="" | unwrap msg [2m])',
            T0 + 120 * S,
            TENANTS,
        )
    got = instant(
        engine,
        'sum(sum_over_time({app="api", env="prod"} | json | unwrap msg | __error__="" [2m]))',
    )
    assert got == {}


def test_vector_aggregations(engine: Engine) -> None:
    counts = 'count_over_time({env=~".+"}[2m])'
    assert instant(engine, f"sum by (app) ({counts})") == {key(app="api"): 6.0, key(app="web"): 3.0}
    assert instant(engine, f"sum({counts}) without (env)") == {
        key(app="api"): 6.0,
        key(app="web"): 3.0,
    }
    assert instant(engine, f"count({counts})") == {(): 3.0}
    assert instant(engine, f"max by (env) ({counts})") == {
        key(env="prod"): 4.0,
        key(env="dev"): 2.0,
    }
    assert instant(engine, f"min({counts})") == {(): 2.0}
    assert instant(engine, f"avg({counts})") == {(): 3.0}
    assert instant(engine, f"stdvar({counts})") == {(): ((4 - 3) ** 2 + (2 - 3) ** 2 + 0) / 3}
    assert instant(engine, f"topk(1, {counts})") == {key(app="api", env="prod"): 4.0}
    assert instant(engine, f"bottomk(1, {counts})") == {key(app="api", env="dev"): 2.0}
    outcome = engine.query_instant(f"sort_desc({counts})", T0 + 120 * S, TENANTS)
    assert isinstance(outcome.result, VectorResult)
    assert [v for _, v in outcome.result.samples] == [4.0, 3.0, 2.0]


def test_binary_operators(engine: Engine) -> None:
    counts = 'count_over_time({env=~".+"}[2m])'
    assert instant(engine, f"{counts} > 2") == {
        key(app="api", env="prod"): 4.0,
        key(app="web", env="prod"): 3.0,
    }
    assert instant(engine, f"{counts} > bool 3") == {
        key(app="api", env="prod"): 1.0,
        key(app="api", env="dev"): 0.0,
        key(app="web", env="prod"): 0.0,
    }
    assert instant(engine, f"sum({counts}) * 2 + 1") == {(): 19.0}
    with pytest.raises(QueryError, match="duplicate series"):
        engine.query_instant(
            f"sum by (app) ({counts}) / on (app) group_left sum by (app, env) ({counts})",
            T0 + 120 * S,
            TENANTS,
        )
    ratio = instant(
        engine, f"sum by (env, app) ({counts}) / ignoring (app) group_left sum by (env) ({counts})"
    )
    assert ratio == {
        key(app="api", env="prod"): 4 / 7,
        key(app="web", env="prod"): 3 / 7,
        key(app="api", env="dev"): 1.0,
    }
    assert instant(engine, f'{counts} and count_over_time({{app="web"}}[2m])') == {
        key(app="web", env="prod"): 3.0
    }
    assert instant(engine, f'{counts} unless on (env) count_over_time({{app="web"}}[2m])') == {
        key(app="api", env="dev"): 2.0
    }
    got = instant(engine, 'count_over_time({app="nope"}[2m]) or vector(0)')
    assert got == {(): 0.0}


def test_grafana_health_check_and_scalars(engine: Engine) -> None:
    """Grafana's data-source test runs `vector(1)+vector(1)` and expects 2."""
    outcome = engine.query_instant("vector(1)+vector(1)", T0, TENANTS)
    body = to_loki_json(outcome.result, outcome.stats)
    assert body["data"]["resultType"] == "vector"
    assert body["data"]["result"] == [{"metric": {}, "value": [T0 // S, "2"]}]
    scalar = engine.query_instant("2 ^ 3 - 1", T0, TENANTS)
    assert scalar.result == ScalarResult(T0, 7.0)


def test_one_side_duplicates_are_checked_per_step(engine: Engine) -> None:
    """Two series with one signature on the "one" side are fine while they never share a step."""
    left = 'sum by (app) (count_over_time({app="api"}[5s]))'
    # api/prod has samples at 10, 20, 70, 80 and api/dev at 15, 75: no 5s window holds both
    query = f'{left} / on (app) count_over_time({{app="api"}}[5s])'
    assert matrix(engine, query, 10, 80, 5) == {
        key(app="api"): [(10, 1.0), (15, 1.0), (20, 1.0), (70, 1.0), (75, 1.0), (80, 1.0)]
    }
    with pytest.raises(QueryError, match="duplicate series"):  # both in (10, 20] at step 20
        matrix(engine, query.replace("[5s]", "[10s]"), 10, 80, 10)


def test_absent_and_label_replace(engine: Engine) -> None:
    assert instant(engine, 'absent_over_time({app="nope", env=~".+"}[1m])') == {
        key(app="nope"): 1.0
    }
    assert instant(engine, 'absent_over_time({app="api"}[1m])') == {}
    got = instant(
        engine, 'label_replace(count_over_time({app="web"}[2m]), "tier", "front-$1", "app", "(.*)")'
    )
    assert got == {key(app="web", env="prod", tier="front-web"): 3.0}


def test_absent_over_time_of_an_unwrapped_range(engine: Engine) -> None:
    """absent_over_time takes an unwrapped range too: 1 where no sample survives, else nothing."""
    unwrapped = '| json | __error__="" | unwrap latency_ms [1m])'
    assert instant(engine, f'absent_over_time({{app="api", env="prod"}} {unwrapped}', at=80) == {}
    assert instant(engine, f'absent_over_time({{app="api", env="prod"}} {unwrapped}', at=190) == {
        key(app="api", env="prod"): 1.0
    }


def test_matrix_json_shape(engine: Engine) -> None:
    outcome = engine.query_range(
        'sum(count_over_time({app="api"}[1m]))', T0 + 60 * S, T0 + 120 * S, 30 * S, TENANTS
    )
    body = to_loki_json(outcome.result, outcome.stats)
    assert body["status"] == "success"
    assert body["data"]["result"] == [
        {"metric": {}, "values": [[T0 // S + 60, "3"], [T0 // S + 90, "3"], [T0 // S + 120, "3"]]}
    ]
    assert "summary" in body["data"]["stats"]


def test_multi_tenant_reads_both_with_tenant_label(dataset_store: Store) -> None:
    """`a|b` reads both tenants; every series and stream carries Loki's __tenant_id__."""
    push(
        dataset_store, [({"app": "api", "env": "prod"}, 110, "other tenant", None)], tenant="team-b"
    )
    engine = Engine(dataset_store)
    query = 'count_over_time({app="api", env="prod"}[2m])'
    one = engine.query_instant(query, T0 + 120 * S, ("default",))
    both = engine.query_instant(query, T0 + 120 * S, ("default", "team-b"))
    total = engine.query_instant(f"sum({query})", T0 + 120 * S, ("default", "team-b"))
    assert isinstance(one.result, VectorResult) and isinstance(both.result, VectorResult)
    assert [v for _, v in one.result.samples] == [4.0]
    assert {labels["__tenant_id__"]: v for labels, v in both.result.samples} == {
        "default": 4.0,
        "team-b": 1.0,
    }
    assert isinstance(total.result, VectorResult) and total.result.samples[0][1] == 5.0
    outcome = engine.query_range(
        '{app="api", env="prod"}', T0, T0 + 200 * S, S, ("default", "team-b"), limit=2
    )
    assert isinstance(outcome.result, StreamsResult)
    newest = sorted(
        ((e.ts_ns - T0) // S, s.labels["__tenant_id__"])
        for s in outcome.result.streams
        for e in s.entries
    )
    assert newest == [(80, "default"), (110, "team-b")]


# ---- limits --------------------------------------------------------------------------


def test_limits(dataset_store: Store) -> None:
    strict = Engine(
        dataset_store,
        QueryLimits(max_query_series=1, max_entries_limit_per_query=2, max_query_length_secs=60),
    )
    with pytest.raises(QueryLimitError) as caught:
        strict.query_instant('count_over_time({env=~".+"}[2m])', T0 + 120 * S, TENANTS)
    assert caught.value.limit == "max_query_series"
    with pytest.raises(QueryLimitError) as caught:
        strict.query_range('{app="api"}', T0, T0 + 30 * S, S, TENANTS, limit=3)
    assert caught.value.limit == "max_entries_limit"
    with pytest.raises(QueryLimitError) as caught:
        strict.query_range('{app="api"}', T0, T0 + 61 * S, S, TENANTS, limit=1)
    assert caught.value.limit == "max_query_length"


def test_query_time_limit_interrupts(dataset_store: Store) -> None:
    slow = Engine(dataset_store, QueryLimits(max_query_time_secs=1e-9))
    with pytest.raises(QueryLimitError) as caught:
        slow.query_range('{app="api"}', T0, T0 + 200 * S, S, TENANTS)
    assert caught.value.limit == "max_query_time"
    assert "timed out" in str(caught.value)


def test_too_many_points_is_refused(engine: Engine) -> None:
    with pytest.raises(QueryError, match="maximum resolution"):
        engine.query_range('count_over_time({app="api"}[1m])', T0, T0 + 20_000 * S, S, TENANTS)


def test_json_unwrap_fast_path_equals_general_path(dataset_store: Store) -> None:
    """The DuckDB json_extract path gives exactly what the per-entry pipeline gives."""
    rows = [
        ({"app": "lat", "env": e}, 100 + i, f'{{"latency_ms": {i * 1.5}, "x": "y"}}', None)
        for i, e in enumerate(["a", "b", "a", "b", "a"])
    ]
    rows.append(({"app": "lat", "env": "a"}, 106, "level=info not json", None))
    push(dataset_store, rows)
    engine = Engine(dataset_store)
    fast = 'avg_over_time({app="lat"} | json | __error__="" | unwrap latency_ms [1m]) by (env)'
    general = 'avg_over_time({app="lat"} | json | __error__="" | __error__="" | unwrap latency_ms [1m]) by (env)'
    assert matrix(engine, fast, 100, 130, 10) == matrix(engine, general, 100, 130, 10)
    assert instant(engine, fast, at=110) == {
        key(env="a"): (0 + 3 + 6) / 3,
        key(env="b"): (1.5 + 4.5) / 2,
    }
    with pytest.raises(QueryError, match="JSONParserErr"):
        engine.query_instant(
            'max_over_time({app="lat"} | json | unwrap latency_ms [1m]) by (env)',
            T0 + 110 * S,
            TENANTS,
        )


def test_pipeline_queries_scan_in_slices_in_both_directions(engine: Engine) -> None:
    """With a Python pipeline the range is scanned in slices; order and limit still hold."""
    query = '{app="api", env="prod"} | json | __error__=""'
    assert [t for _, t, _ in logs(engine, query, limit=2, direction=Direction.FORWARD)] == [10, 20]
    newest = logs(engine, query, limit=2)
    assert sorted((t for _, t, _ in newest), reverse=True) == [70, 20]


def test_needle_filter_skips_segments_by_bloom(dataset_store: Store) -> None:
    """`|= "<trace id>"` reads only the segments whose n-gram bloom may hold the needle."""
    dataset_store.flush()  # the head rows become a second segment
    push(
        dataset_store,
        [({"app": "api", "env": "prod"}, 150, "request trace=needle-7f3a9c21 done", None)],
    )
    dataset_store.flush()
    engine = Engine(dataset_store)
    outcome = engine.query_range('{app=~".+"} |= "needle-7f3a9c21"', T0, T0 + 200 * S, S, TENANTS)
    assert isinstance(outcome.result, StreamsResult)
    assert [e.line for s in outcome.result.streams for e in s.entries] == [
        "request trace=needle-7f3a9c21 done"
    ]
    assert outcome.stats.segments_read == 1
    everything = engine.query_range('{app=~".+"} |= "o"', T0, T0 + 200 * S, S, TENANTS)
    assert everything.stats.segments_read == 3


def test_json_error_prefilter_keeps_every_json_object_line(dataset_store: Store) -> None:
    """``| json | __error__=""`` drops non-objects in DuckDB: whitespace-led objects stay."""
    push(
        dataset_store,
        [
            ({"app": "ws", "env": "prod"}, 10, ' \t{"level": "info"}', None),
            ({"app": "ws", "env": "prod"}, 20, '\n{"level": "info"}', None),
            ({"app": "ws", "env": "prod"}, 30, "level=info", None),
            ({"app": "ws", "env": "prod"}, 40, '["level", "info"]', None),
            ({"app": "ws", "env": "prod"}, 50, '{"level": "info"', None),
        ],
    )
    engine = Engine(dataset_store)
    pushed = 'sum(count_over_time({app="ws"} | json | __error__="" | level="info" [2m]))'
    python_only = 'sum(count_over_time({app="ws"} | json | level="info" | __error__="" [2m]))'
    assert "regexp_matches" in render_plan(parse(pushed))
    assert "regexp_matches" not in render_plan(parse(python_only))
    assert instant(engine, pushed) == instant(engine, python_only) == {(): 2.0}
