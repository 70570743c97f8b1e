"""From request body to entries the store may append: decode, validate, rate-limit.

``Ingestor.prepare`` is the one call the HTTP layer makes per push (in a worker thread,
since it is CPU-bound). It raises ``ValidationError`` when the body is rejected whole
(``invalid_body``, ``request_too_large``) and otherwise returns a ``PreparedPush`` with
the entries to store and the ones it dropped by reason. ``rate_limited`` drops every
entry of the push (HTTP 429), as Loki does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from flightlog.errors import ValidationError
from flightlog.ingest.body import check_size, decode_content_encoding
from flightlog.ingest.limits import IngestLimits, RateLimiter, StreamTracker
from flightlog.ingest.loki_json import decode_loki_json
from flightlog.ingest.loki_protobuf import decode_loki_protobuf
from flightlog.ingest.ndjson import decode_ndjson
from flightlog.ingest.reasons import INVALID_BODY, RATE_LIMITED
from flightlog.ingest.rejections import Rejections
from flightlog.ingest.validate import validate_push
from flightlog.model import PushRequest

__all__ = ["Ingestor", "PreparedPush", "PushFormat", "loki_push_format"]


class PushFormat(StrEnum):
    """Body formats the push endpoints accept."""

    LOKI_JSON = "loki-json"
    LOKI_PROTOBUF = "loki-protobuf"
    NDJSON = "ndjson"


def loki_push_format(content_type: str | None, body: bytes) -> PushFormat:
    """Pick JSON or protobuf for ``/loki/api/v1/push`` from ``Content-Type``, as Loki does.

    No content type means protobuf unless the body opens like a JSON object (curl users).
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        return PushFormat.LOKI_JSON
    if media in ("application/x-protobuf", "application/protobuf"):
        return PushFormat.LOKI_PROTOBUF
    if media in ("", "application/octet-stream", "application/x-www-form-urlencoded"):
        return PushFormat.LOKI_JSON if body[:1] == b"{" else PushFormat.LOKI_PROTOBUF
    raise ValidationError(
        INVALID_BODY,
        f"unsupported Content-Type {content_type!r}: use application/json or application/x-protobuf",
    )


@dataclass(frozen=True, slots=True)
class PreparedPush:
    """A decoded, validated push: ``request`` holds what may be stored."""

    request: PushRequest
    received_entries: int
    received_bytes: int
    accepted_bytes: int
    rejections: Rejections


class Ingestor:
    """Decodes and validates pushes under per-tenant limits; one per server, thread-safe."""

    def __init__(
        self,
        limits: IngestLimits,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.limits = limits
        self._rate = RateLimiter(limits, monotonic)
        self._streams = StreamTracker(limits)
        self._clock_ns = clock_ns

    def stream_count(self, tenant: str) -> int:
        return self._streams.count(tenant)

    def decode(
        self, push_format: PushFormat, body: bytes, content_encoding: str | None, tenant: str
    ) -> tuple[PushRequest, Rejections]:
        """Decode a body whole; raise ``ValidationError`` if it cannot be."""
        max_bytes = self.limits.for_tenant(tenant).max_request_bytes
        check_size(len(body), max_bytes)
        if push_format is PushFormat.LOKI_PROTOBUF and (content_encoding or "").lower() == "snappy":
            content_encoding = None  # some senders name the snappy framing the body always has
        raw = decode_content_encoding(body, content_encoding, max_bytes)
        rejections = Rejections()
        if push_format is PushFormat.LOKI_JSON:
            request = decode_loki_json(raw, tenant)
        elif push_format is PushFormat.LOKI_PROTOBUF:
            request = decode_loki_protobuf(raw, tenant, max_bytes, rejections)
        else:
            request = decode_ndjson(raw, tenant, self._clock_ns())
        return request, rejections

    def prepare(
        self, push_format: PushFormat, body: bytes, content_encoding: str | None, tenant: str
    ) -> PreparedPush:
        """Decode, validate and rate-limit one push."""
        request, rejections = self.decode(push_format, body, content_encoding, tenant)
        return self.admit(request, rejections, len(body))

    def admit(
        self, request: PushRequest, rejections: Rejections | None = None, received_bytes: int = 0
    ) -> PreparedPush:
        """Validate and rate-limit an already decoded push (OTLP and the SDK use this)."""
        rejections = rejections if rejections is not None else Rejections()
        received = request.entry_count + rejections.total
        limits = self.limits.for_tenant(request.tenant)
        validated = validate_push(request, limits, self._streams, rejections)
        if validated.entries and not self._rate.try_take(request.tenant, validated.nbytes):
            rejections.add(
                RATE_LIMITED,
                validated.entries,
                f"tenant {request.tenant!r} pushes faster than ingestion_rate_bytes_per_sec="
                f"{limits.ingestion_rate_bytes_per_sec:g} (burst {limits.ingestion_burst_bytes} "
                f"bytes); this push carried {validated.nbytes} bytes: slow down or raise the limit",
            )
            return PreparedPush(
                PushRequest(request.tenant, ()), received, received_bytes, 0, rejections
            )
        return PreparedPush(
            validated.request, received, received_bytes, validated.nbytes, rejections
        )
