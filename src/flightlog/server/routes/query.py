"""Loki's read API: query, query_range, labels, label values, series, index stats and
volume, format_query, and the ``tail`` websocket.

Parameters come from the query string or a form body (GET and POST both work, as in
Loki). Queries run in a worker thread so the event loop stays free; a query that runs
past ``max_query_time_secs`` is interrupted and answered 504 with the reason.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Mapping
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response

from flightlog.config import Role
from flightlog.errors import AuthError, FlightlogError, ForbiddenError, QueryError, QueryLimitError
from flightlog.model import Direction, LabelMatcher
from flightlog.query import ast
from flightlog.query.engine import Engine
from flightlog.query.limits import TenantQueryLimits, limits_from_section
from flightlog.query.params import (
    LABELS_LOOKBACK_NS,
    default_step_ns,
    parse_direction,
    parse_limit,
    parse_step_ns,
    parse_time_ns,
    range_params,
)
from flightlog.query.parser import parse
from flightlog.query.printer import to_logql
from flightlog.query.results import StreamsResult, format_seconds, to_loki_json
from flightlog.query.tail import TailCursor
from flightlog.server.deps import (
    TAIL_SUBPROTOCOL,
    TENANT_HEADER,
    authorize,
    get_services,
    require_role,
    websocket_authorization,
    websocket_tenant_ids,
)
from flightlog.server.errors import HTTPError, error_response
from flightlog.server.services import Services

__all__ = ["router"]

router = APIRouter(tags=["query"])

_read = require_role(Role.READ)
CATEGORIZE_HEADER = "x-loki-response-encoding-flags"
TAIL_POLL_SECS = 0.5
TAIL_POLL_LIMIT = 5000
TAIL_MAX_DELAY_SECS = 5


class _JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


_LIMITS_CACHE: dict[int, TenantQueryLimits] = {}


def _engine(services: Services) -> Engine:
    key = id(services.config)
    limits = _LIMITS_CACHE.get(key)
    if limits is None:
        limits = _LIMITS_CACHE[key] = limits_from_section(services.config.section("query_limits"))
    return Engine(services.store, limits)


MAX_FORM_BYTES = 1024 * 1024


async def _form(request: Request) -> list[tuple[str, str]]:
    """The urlencoded body of a POST (Loki clients send their parameters that way)."""
    if request.method != "POST":
        return []
    content_type = request.headers.get("content-type", "")
    if content_type and "application/x-www-form-urlencoded" not in content_type:
        raise QueryError(
            f"unsupported content type {content_type!r}: send application/x-www-form-urlencoded"
        )
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise QueryError(f"request body is {len(body)} bytes; the limit is {MAX_FORM_BYTES}")
    try:
        return urllib.parse.parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        raise QueryError("the request body is not valid urlencoded UTF-8") from None


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    for key, value in await _form(request):
        params.setdefault(key, value)
    return params


async def _run(function: Any, *args: Any) -> Any:
    """Run a blocking engine call in a thread; map a timeout to 504."""
    try:
        return await anyio.to_thread.run_sync(function, *args)
    except QueryLimitError as exc:
        if exc.limit == "max_query_time":
            return error_response(504, str(exc), {"limit": exc.limit})
        raise


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise QueryError(f"missing required parameter {name!r}")
    return value


def _categorize(request: Request) -> bool:
    return "categorize-labels" in request.headers.get(CATEGORIZE_HEADER, "")


@router.api_route("/loki/api/v1/query", methods=["GET", "POST"])
async def query(request: Request, tenants: tuple[str, ...] = Depends(_read)) -> Response:
    services = get_services(request)
    params = await _params(request)
    text = _required(params, "query")
    time_ns = parse_time_ns(params["time"], "time") if params.get("time") else services.clock_ns()
    limit = parse_limit(params.get("limit"))
    direction = parse_direction(params.get("direction"))
    engine = _engine(services)
    outcome = await _run(
        engine.query_instant, text, time_ns, tenants, limit, direction, _categorize(request)
    )
    if isinstance(outcome, Response):
        return outcome
    return _JSON(to_loki_json(outcome.result, outcome.stats))


@router.api_route("/loki/api/v1/query_range", methods=["GET", "POST"])
async def query_range(request: Request, tenants: tuple[str, ...] = Depends(_read)) -> Response:
    services = get_services(request)
    params = await _params(request)
    text = _required(params, "query")
    window = range_params(params, services.clock_ns())
    step = (
        parse_step_ns(params["step"])
        if params.get("step")
        else default_step_ns(window.start_ns, window.end_ns)
    )
    interval = parse_step_ns(params["interval"], "interval") if params.get("interval") else 0
    limit = parse_limit(params.get("limit"))
    direction = parse_direction(params.get("direction"))
    engine = _engine(services)
    outcome = await _run(
        engine.query_range,
        text,
        window.start_ns,
        window.end_ns,
        step,
        tenants,
        limit,
        direction,
        _categorize(request),
        interval,
    )
    if isinstance(outcome, Response):
        return outcome
    return _JSON(to_loki_json(outcome.result, outcome.stats))


def _selector_matchers(text: str | None) -> tuple[LabelMatcher, ...]:
    if not text:
        return ()
    expr = parse(text)
    if not isinstance(expr, ast.LogQuery):
        raise QueryError(f'expected a stream selector such as {{service="api"}}, got {text!r}')
    return expr.matchers


@router.api_route("/loki/api/v1/labels", methods=["GET", "POST"])
async def labels(request: Request, tenants: tuple[str, ...] = Depends(_read)) -> Response:
    services = get_services(request)
    params = await _params(request)
    window = range_params(params, services.clock_ns(), LABELS_LOOKBACK_NS)
    matchers = _selector_matchers(params.get("query"))
    names = await anyio.to_thread.run_sync(
        lambda: services.store.label_names(tenants, window.start_ns, window.end_ns, matchers)
    )
    return _JSON({"status": "success", "data": names})


@router.api_route("/loki/api/v1/label/{name}/values", methods=["GET", "POST"])
async def label_values(
    name: str, request: Request, tenants: tuple[str, ...] = Depends(_read)
) -> Response:
    services = get_services(request)
    params = await _params(request)
    window = range_params(params, services.clock_ns(), LABELS_LOOKBACK_NS)
    matchers = _selector_matchers(params.get("query"))
    values = await anyio.to_thread.run_sync(
        lambda: services.store.label_values(tenants, name, window.start_ns, window.end_ns, matchers)
    )
    return _JSON({"status": "success", "data": values})


@router.api_route("/loki/api/v1/series", methods=["GET", "POST"])
async def series(request: Request, tenants: tuple[str, ...] = Depends(_read)) -> Response:
    services = get_services(request)
    params = await _params(request)
    selectors = request.query_params.getlist("match[]") or request.query_params.getlist("match")
    if request.method == "POST":
        form = await request.form()
        selectors += [
            v for v in form.getlist("match[]") + form.getlist("match") if isinstance(v, str)
        ]
    if not selectors:
        raise QueryError("missing match[] parameter: give at least one stream selector")
    window = range_params(params, services.clock_ns())
    matcher_sets = [_selector_matchers(s) for s in selectors]
    found = await anyio.to_thread.run_sync(
        lambda: services.store.series(tenants, matcher_sets, window.start_ns, window.end_ns)
    )
    return _JSON({"status": "success", "data": found})


@router.api_route("/loki/api/v1/index/stats", methods=["GET", "POST"])
async def index_stats(request: Request, tenants: tuple[str, ...] = Depends(_read)) -> Response:
    services = get_services(request)
    params = await _params(request)
    window = range_params(params, services.clock_ns())
    matchers = _selector_matchers(_required(params, "query"))
    stats = await anyio.to_thread.run_sync(
        lambda: services.store.stats(tenants, matchers, window.start_ns, window.end_ns)
    )
    return _JSON(
        {
            "streams": stats.streams,
            "chunks": stats.chunks,
            "entries": stats.entries,
            "bytes": stats.bytes,
        }
    )


@router.api_route("/loki/api/v1/index/volume", methods=["GET", "POST"])
async def index_volume(request: Request, tenants: tuple[str, ...] = Depends(_read)) -> Response:
    services = get_services(request)
    params = await _params(request)
    window = range_params(params, services.clock_ns())
    text = _required(params, "query")
    limit = parse_limit(params.get("limit"))
    targets = tuple(t.strip() for t in params.get("targetLabels", "").split(",") if t.strip())
    aggregate_by = params.get("aggregateBy", "series")
    if aggregate_by not in ("series", "labels"):
        raise QueryError(f"invalid aggregateBy {aggregate_by!r}: use series or labels")
    engine = _engine(services)
    rows = await _run(
        engine.volume,
        text,
        window.start_ns,
        window.end_ns,
        tenants,
        limit,
        targets,
        aggregate_by == "labels",
    )
    if isinstance(rows, Response):
        return rows
    ts = format_seconds(window.end_ns)
    result = [{"metric": labels, "value": [ts, str(total)]} for labels, total in rows]
    return _JSON({"status": "success", "data": {"resultType": "vector", "result": result}})


@router.api_route("/loki/api/v1/index/volume_range", methods=["GET", "POST"])
async def index_volume_range(
    request: Request, tenants: tuple[str, ...] = Depends(_read)
) -> Response:
    """Bytes per step and group: ``sum by (groups) (bytes_over_time(selector [step]))``."""
    services = get_services(request)
    params = await _params(request)
    window = range_params(params, services.clock_ns())
    selector = parse(_required(params, "query"))
    if not isinstance(selector, ast.LogQuery):
        raise QueryError('index/volume_range needs a stream selector such as {service="api"}')
    step = (
        parse_step_ns(params["step"])
        if params.get("step")
        else default_step_ns(window.start_ns, window.end_ns)
    )
    targets = tuple(t.strip() for t in params.get("targetLabels", "").split(",") if t.strip())
    names = targets or tuple(dict.fromkeys(m.name for m in selector.matchers))
    range_agg = ast.RangeAggregation(
        ast.RangeOp.BYTES_OVER_TIME, ast.LogQuery(selector.matchers), step
    )
    text = to_logql(ast.VectorAggregation(ast.VectorOp.SUM, range_agg, ast.Grouping(False, names)))
    engine = _engine(services)
    outcome = await _run(engine.query_range, text, window.start_ns, window.end_ns, step, tenants)
    if isinstance(outcome, Response):
        return outcome
    body = to_loki_json(outcome.result, outcome.stats)
    body["data"].pop("stats", None)
    return _JSON(body)


@router.api_route("/loki/api/v1/format_query", methods=["GET", "POST"])
async def format_query(request: Request) -> Response:
    params = await _params(request)
    return _JSON({"status": "success", "data": to_logql(parse(_required(params, "query")))})


# ---- tail -----------------------------------------------------------------------------


def _tail_payload(result: StreamsResult) -> dict[str, Any]:
    streams = [
        {"stream": dict(s.labels), "values": [[str(e.ts_ns), e.line] for e in s.entries]}
        for s in result.streams
    ]
    return {"streams": streams, "dropped_entries": None}


def _tail_error_type(exc: Exception) -> str:
    """The errorType an HTTP route would answer, so the UI can ask for a token."""
    if isinstance(exc, ForbiddenError):
        return "forbidden"
    if isinstance(exc, AuthError):
        return "unauthorized"
    return "bad_data"


@router.websocket("/loki/api/v1/tail")
async def tail(websocket: WebSocket) -> None:
    """Follow a log query: every poll sends the entries not sent yet (``query.tail``)."""
    services: Services | None = getattr(websocket.app.state, "services", None)
    # A browser sends its token as a subprotocol (deps.websocket_authorization) and fails
    # the handshake unless one it offered is chosen: choose ours, never the token's. Its
    # tenants come the same way when it sends no X-Scope-OrgID (websocket_tenant_ids).
    offered: list[str] = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=TAIL_SUBPROTOCOL if TAIL_SUBPROTOCOL in offered else None)
    try:
        if services is None:
            raise QueryError("flightlog is starting or shutting down; retry shortly")
        params = dict(websocket.query_params)
        tenants = websocket_tenant_ids(websocket.headers.get(TENANT_HEADER), offered)
        credentials = websocket_authorization(websocket.headers.get("authorization"), offered)
        authorize(services.config.auth, credentials, tenants, Role.READ)
        text = _required(params, "query")
        expr = parse(text)
        if not isinstance(expr, ast.LogQuery):
            raise QueryError("tail needs a log query, not a metric query")
        limit = parse_limit(params.get("limit"))
        delay_ns = int(min(float(params.get("delay_for", "0") or 0), TAIL_MAX_DELAY_SECS) * 1e9)
        now = services.clock_ns()
        start = (
            parse_time_ns(params["start"], "start")
            if params.get("start")
            else now - 3600 * 1_000_000_000
        )
    except (FlightlogError, HTTPError, ValueError) as exc:
        body = {"status": "error", "errorType": _tail_error_type(exc), "error": str(exc)}
        await websocket.send_text(orjson.dumps(body).decode())
        await websocket.close(code=1008)
        return
    engine = _engine(services)
    # Later polls ask for up to TAIL_POLL_LIMIT entries, never more than the tenants allow.
    tenant_limit = engine.limits.for_tenants(list(tenants)).max_entries_limit_per_query
    poll_limit = min(TAIL_POLL_LIMIT, tenant_limit)
    disconnected = asyncio.ensure_future(_wait_for_disconnect(websocket))
    first = True
    cursor = TailCursor(start)
    try:
        while True:
            end = services.clock_ns() - delay_ns + 1
            if end > cursor.start_ns:
                wanted = limit if first else poll_limit
                outcome = await anyio.to_thread.run_sync(
                    engine.query_range,
                    text,
                    cursor.start_ns,
                    end,
                    1_000_000_000,
                    tenants,
                    wanted,
                    Direction.BACKWARD if first else Direction.FORWARD,
                )
                result = outcome.result
                assert isinstance(result, StreamsResult)
                returned = sum(len(stream.entries) for stream in result.streams)
                fresh = cursor.advance(result, end, limit_hit=returned >= wanted, backward=first)
                if fresh.streams:
                    await websocket.send_text(orjson.dumps(_tail_payload(fresh)).decode())
                first = False
            done, _ = await asyncio.wait([disconnected], timeout=TAIL_POLL_SECS)
            if done:
                return
    except (WebSocketDisconnect, RuntimeError):
        return
    except FlightlogError as exc:
        await websocket.send_text(
            orjson.dumps({"status": "error", "errorType": "bad_data", "error": str(exc)}).decode()
        )
        await websocket.close(code=1011)
    finally:
        disconnected.cancel()


async def _wait_for_disconnect(websocket: WebSocket) -> None:
    """Return when the client goes away (tail clients send nothing after connecting)."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
