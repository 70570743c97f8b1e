"""LogQL: grammar → AST → printer → plan → DuckDB execution, with Loki's result shapes.

Public names::

    parse(text) -> Expr                  # flightlog.query.parser; raises ParseError
    to_logql(expr) -> str                # canonical LogQL (format_query)
    render_plan(expr) -> str             # what is pushed down vs run in Python
    Engine(store, limits).query_range(...) / .query_instant(...) -> QueryOutcome
    to_loki_json(result, stats) -> dict  # Loki's /query and /query_range bodies
    QueryLimits, TenantQueryLimits       # per-tenant limits
"""

from flightlog.query.engine import Engine, QueryOutcome
from flightlog.query.limits import QueryLimits, TenantQueryLimits
from flightlog.query.parser import parse
from flightlog.query.plan import render_plan
from flightlog.query.printer import to_logql
from flightlog.query.results import to_loki_json

__all__ = [
    "Engine",
    "QueryLimits",
    "QueryOutcome",
    "TenantQueryLimits",
    "parse",
    "render_plan",
    "to_logql",
    "to_loki_json",
]
