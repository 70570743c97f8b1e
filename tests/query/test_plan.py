"""Golden files "query → plan": what is pushed down to DuckDB and the bloom, what runs in Python.

Each ``golden/<name>.plan`` holds the query on its first line, ``---``, then the plan.
Regenerate after an intended change with ``FLIGHTLOG_UPDATE_GOLDEN=1 pytest tests/query/test_plan.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flightlog.query import ast
from flightlog.query.parser import parse
from flightlog.query.plan import plan_log_query, render_plan

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "selector_only": '{service="api"}',
    "needle": '{env="prod"} |= "trace-0042"',
    "or_filter_needles_are_alternatives": '{env="prod"} |= "a" or "b"',
    "regex_of_plain_words_is_alternatives": '{env="prod"} |~ "connection refused|timeout"',
    "regex_with_metacharacters_has_no_needles": '{env="prod"} |~ "time.?out|refused"',
    "negated_and_regex": '{env="prod"} != "debug" |~ "(?i)timeout" !~ "retry \\\\d+"',
    "filters_after_parser_pushed": '{app="api"} | json | status >= 500 |= "upstream"',
    "filter_after_line_format_stays": '{app="api"} | line_format "{{.msg}}" |= "x"',
    "pattern_filter_stays": '{app="api"} |> "<_> GET <_>"',
    "count_over_time": 'sum(count_over_time({service=~".+"} |= "CUDA out of memory" [1h]))',
    "unwrap": 'avg_over_time({service="inference-gateway"} | json | unwrap latency_ms [1m]) by (env)',
    "binary": 'sum(rate({app="api"} |= "error" [5m])) / sum(rate({app="api"}[5m] offset 1h))',
    "json_error_filter_drops_non_objects_in_duckdb": (
        'sum by (env) (count_over_time({app="api"} | json | __error__="" | level="error" [1m]))'
    ),
}


def _golden_text(query: str) -> str:
    return f"{query}\n---\n{render_plan(parse(query))}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_matches_golden(name: str) -> None:
    """The rendered plan of each query is exactly the golden file."""
    path = GOLDEN / f"{name}.plan"
    text = _golden_text(CASES[name])
    if os.environ.get("FLIGHTLOG_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text


def test_every_golden_file_has_a_case() -> None:
    """No stale golden file lingers after a case is removed."""
    assert {p.stem for p in GOLDEN.glob("*.plan")} == set(CASES)


def test_line_filter_moves_past_parsers_but_not_past_rewrites() -> None:
    query = parse('{a="b"} | logfmt |= "x" | line_format "y" |= "z"')
    assert isinstance(query, ast.LogQuery)
    plan = plan_log_query(query)
    assert [f.values for f in plan.pushed_filters] == [("x",)]
    assert plan.needles == ("x",)
    assert [type(s).__name__ for s in plan.residual] == ["LogfmtParser", "LineFormat", "LineFilter"]
