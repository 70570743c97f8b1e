"""Push endpoints: ``POST /loki/api/v1/push`` (Loki JSON / protobuf) and ``POST /api/v1/push/ndjson``.

The body is read with a byte limit (413 before it is all in memory) and a deadline
(408 for a client that stalls), decoded and validated by ``flightlog.ingest`` and
appended to the store in one worker thread, so the event loop stays free while lines
are decoded and the WAL is fsynced. Answers, as Loki does:

* 204: every entry stored (durable in the WAL);
* 400 / 429 with ``accepted`` and ``rejected`` counts: some or all entries were dropped
  (429 when the reason is ``rate_limited`` or ``stream_limit``); the valid ones are stored;
* 400 / 413 with ``reason``: the body was rejected whole and nothing was stored.
"""

from __future__ import annotations

import time

import anyio
from fastapi import APIRouter, Depends, Request, Response

from flightlog.config import Role
from flightlog.errors import ValidationError
from flightlog.ingest import PreparedPush, PushFormat, loki_push_format
from flightlog.ingest.body import check_size
from flightlog.ingest.reasons import RATE_LIMITED, STREAM_LIMIT
from flightlog.pipeline.tenants import run_tenant_pipeline
from flightlog.server.deps import get_services, require_role
from flightlog.server.errors import HTTPError, error_response
from flightlog.server.services import Services

__all__ = ["router"]

router = APIRouter(tags=["push"])

_write = require_role(Role.WRITE)


async def _read_body(request: Request, max_bytes: int, deadline_secs: float) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        check_size(int(length), max_bytes)
    chunks: list[bytes] = []
    total = 0
    try:
        with anyio.fail_after(deadline_secs):
            async for chunk in request.stream():
                total += len(chunk)
                check_size(total, max_bytes)
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPError(408, f"request body not received within {deadline_secs:g}s") from None
    return b"".join(chunks)


def _ingest(
    services: Services, push_format: PushFormat, body: bytes, encoding: str | None, tenant: str
) -> tuple[PreparedPush, int]:
    """Decode, validate and append; runs in a worker thread. Returns (prepared, stored)."""
    metrics = services.ingest_metrics
    metrics.bytes_received.labels(tenant).inc(len(body))
    prepared = services.ingestor.prepare(push_format, body, encoding, tenant)
    metrics.entries_received.labels(tenant).inc(prepared.received_entries)
    stored = 0
    request = run_tenant_pipeline(services.extras, prepared.request)
    if request.streams:
        started = time.perf_counter()
        result = services.store.append(request)
        metrics.append_seconds.observe(time.perf_counter() - started)
        prepared.rejections.merge(result.rejected)
        if result.samples:  # the store explains its (only) reason, too_far_behind
            for reason in result.rejected:
                prepared.rejections.examples.setdefault(reason, result.samples[0])
        stored = result.accepted
        metrics.entries_stored.labels(tenant).inc(stored)
        if not result.rejected:
            metrics.bytes_stored.labels(tenant).inc(prepared.accepted_bytes)
    metrics.record_rejections(tenant, prepared.rejections.counts)
    return prepared, stored


async def _push(
    request: Request, services: Services, tenant: str, push_format: PushFormat | None
) -> Response:
    limits = services.ingestor.limits.for_tenant(tenant)
    try:
        body = await _read_body(
            request, limits.max_request_bytes, services.config.server.max_request_secs
        )
        if push_format is None:
            push_format = loki_push_format(request.headers.get("content-type"), body)
        encoding = request.headers.get("content-encoding")
        prepared, stored = await anyio.to_thread.run_sync(
            _ingest, services, push_format, body, encoding, tenant
        )
    except ValidationError as exc:
        services.ingest_metrics.requests_rejected.labels(tenant, exc.reason).inc()
        raise
    rejections = prepared.rejections
    if not rejections:
        return Response(status_code=204)
    status = 429 if rejections.counts.keys() & {RATE_LIMITED, STREAM_LIMIT} else 400
    extra = {"accepted": stored, "rejected": dict(sorted(rejections.counts.items()))}
    return error_response(status, rejections.summary(prepared.received_entries), extra)


@router.post("/loki/api/v1/push", status_code=204, response_class=Response)
async def loki_push(
    request: Request,
    tenants: tuple[str, ...] = Depends(_write),
    services: Services = Depends(get_services),
) -> Response:
    """Loki's push API: JSON (``application/json``) or snappy protobuf (``application/x-protobuf``)."""
    return await _push(request, services, tenants[0], None)


@router.post("/api/v1/push/ndjson", status_code=204, response_class=Response)
async def ndjson_push(
    request: Request,
    tenants: tuple[str, ...] = Depends(_write),
    services: Services = Depends(get_services),
) -> Response:
    """One JSON object per line: ``{"ts", "labels", "line", "metadata"}``."""
    return await _push(request, services, tenants[0], PushFormat.NDJSON)
