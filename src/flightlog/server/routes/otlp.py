"""``POST /otlp/v1/logs``: OpenTelemetry's OTLP/HTTP logs receiver (protobuf or JSON).

Bodies are decoded by ``flightlog.ingest.otlp``, validated and limited like every push
(``Ingestor.admit``), run through the tenant's pipeline and appended to the store. The
answer is an ``ExportLogsServiceResponse`` in the request's encoding: 200 with
``partial_success`` when some records were rejected, 429 when the tenant is over its
rate (OpenTelemetry exporters retry 429), 400 for a body that is not OTLP.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Depends, Request, Response
from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from flightlog.config import Role
from flightlog.errors import ValidationError
from flightlog.ingest.body import check_size, decode_content_encoding
from flightlog.ingest.otlp import decode_otlp_json, decode_otlp_protobuf
from flightlog.ingest.reasons import RATE_LIMITED, STREAM_LIMIT
from flightlog.pipeline.tenants import run_tenant_pipeline
from flightlog.server.deps import get_services, require_role
from flightlog.server.services import Services

__all__ = ["router"]

router = APIRouter(tags=["otlp"])

_write = require_role(Role.WRITE)
_PROTOBUF = "application/x-protobuf"


def _ingest(
    services: Services, body: bytes, is_json: bool, encoding: str | None, tenant: str
) -> tuple[int, int, str]:
    """Decode, admit, process, append. Returns (received, rejected, message)."""
    metrics = services.ingest_metrics
    metrics.bytes_received.labels(tenant).inc(len(body))
    max_bytes = services.ingestor.limits.for_tenant(tenant).max_request_bytes
    raw = decode_content_encoding(body, encoding, max_bytes)
    decode = decode_otlp_json if is_json else decode_otlp_protobuf
    request = decode(raw, tenant, services.clock_ns)
    prepared = services.ingestor.admit(request, None, len(body))
    metrics.entries_received.labels(tenant).inc(prepared.received_entries)
    processed = run_tenant_pipeline(services.extras, prepared.request)
    if processed.streams:
        result = services.store.append(processed)
        prepared.rejections.merge(result.rejected)
        metrics.entries_stored.labels(tenant).inc(result.accepted)
    metrics.record_rejections(tenant, prepared.rejections.counts)
    rejections = prepared.rejections
    message = rejections.summary(prepared.received_entries) if rejections else ""
    return prepared.received_entries, rejections.total, message


@router.post("/otlp/v1/logs")
async def otlp_logs(
    request: Request,
    tenants: tuple[str, ...] = Depends(_write),
    services: Services = Depends(get_services),
) -> Response:
    """OTLP/HTTP logs export (``application/x-protobuf`` or ``application/json``)."""
    tenant = tenants[0]
    max_bytes = services.ingestor.limits.for_tenant(tenant).max_request_bytes
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        check_size(int(length), max_bytes)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        check_size(total, max_bytes)
        chunks.append(chunk)
    is_json = "json" in request.headers.get("content-type", "").lower()
    try:
        received, rejected, message = await anyio.to_thread.run_sync(
            _ingest,
            services,
            b"".join(chunks),
            is_json,
            request.headers.get("content-encoding"),
            tenant,
        )
    except ValidationError as exc:
        services.ingest_metrics.requests_rejected.labels(tenant, exc.reason).inc()
        raise
    answer = ExportLogsServiceResponse()
    if rejected:
        answer.partial_success.rejected_log_records = rejected
        answer.partial_success.error_message = message
    status = 200
    if rejected and rejected == received and (RATE_LIMITED in message or STREAM_LIMIT in message):
        status = 429
    if is_json:
        return Response(MessageToJson(answer), status_code=status, media_type="application/json")
    return Response(answer.SerializeToString(), status_code=status, media_type=_PROTOBUF)
