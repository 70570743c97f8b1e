"""Semantic errors come back from /loki/api/v1/query in Loki's shape, with their position."""

from __future__ import annotations

from typing import Any

import pytest

# (query, expected "line, col" and a fragment of the message); columns counted by hand.
CASES = [
    ('{a="b"} + 1', 1, 1, "cannot be an operand of a binary operator"),
    ('1 + {a="b"}', 1, 5, "cannot be an operand of a binary operator"),
    ('rate({a=~".*"}[1m])', 1, 6, "empty-compatible value"),
    ('sum(sum_over_time({a="b"}[1m]))', 1, 5, "needs an unwrapped label"),
    ('topk(1.5, rate({a="b"}[1m]))', 1, 6, "positive integer parameter"),
    ("1 + bool 2", 1, 5, "bool modifier"),
    ('{a="b"}\n  | json | unwrap x', 2, 12, "only allowed inside a range aggregation"),
]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(("query", "line", "column", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_query_semantic_error_is_loki_shaped(
    flightlog_module_server: Any, method: str, query: str, line: int, column: int, fragment: str
) -> None:
    with flightlog_module_server.client() as client:
        if method == "GET":
            response = client.get("/loki/api/v1/query", params={"query": query})
        else:
            response = client.post("/loki/api/v1/query", data={"query": query})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data", body
    assert body["error"].startswith(f"parse error at line {line}, col {column}: "), body
    assert fragment in body["error"]
