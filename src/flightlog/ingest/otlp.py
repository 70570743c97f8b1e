"""OTLP/HTTP logs: decode ``ExportLogsServiceRequest`` bodies (protobuf or JSON) to a push.

Mapping, after OpenTelemetry's semantic conventions and what Loki does with OTLP:

* resource ``service.name`` → label ``service_name`` (``unknown_service`` when absent, as
  the OpenTelemetry SDKs default); a few other low-cardinality resource attributes
  (``service.namespace``, ``deployment.environment[.name]``, ``k8s.namespace.name``,
  ``k8s.container.name``, ``cloud.region``) → labels with ``.`` written ``_``;
* severity number (or text) → label ``level`` in flightlog's vocabulary (``trace``,
  ``debug``, ``info``, ``warning``, ``error``, ``critical``);
* ``trace_id`` / ``span_id`` (hex), the other resource attributes, the scope name and
  the log attributes → structured metadata (names with ``.`` written ``_``);
* the body → the line (a non-string body is written as JSON);
* ``time_unix_nano``, else ``observed_time_unix_nano``, else the time of receipt.

OTLP/JSON differs from protobuf's canonical JSON: trace and span IDs are hex strings,
enums are integers, 64-bit integers may be strings. Both decoders share the mapping.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from flightlog.errors import ValidationError
from flightlog.ingest.reasons import INVALID_BODY
from flightlog.model import PushRequest, StreamBatch

__all__ = [
    "LABEL_RESOURCE_ATTRIBUTES",
    "decode_otlp_json",
    "decode_otlp_protobuf",
    "otlp_level",
]

LABEL_RESOURCE_ATTRIBUTES: tuple[str, ...] = (
    "service.name",
    "service.namespace",
    "deployment.environment",
    "deployment.environment.name",
    "k8s.namespace.name",
    "k8s.container.name",
    "cloud.region",
)

_BY_SEVERITY_GROUP = ("trace", "debug", "info", "warning", "error", "critical")
_TEXT_LEVELS = {
    "trace": "trace", "debug": "debug", "info": "info", "information": "info", "notice": "info",
    "warn": "warning", "warning": "warning", "error": "error", "err": "error",
    "fatal": "critical", "critical": "critical", "crit": "critical", "panic": "critical",
}  # fmt: skip
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


def otlp_level(severity_number: int, severity_text: str) -> str | None:
    """flightlog's level for an OTel severity number (1-24), else its text; None if neither."""
    if 1 <= severity_number <= 24:
        return _BY_SEVERITY_GROUP[(severity_number - 1) // 4]
    if severity_text:
        word = severity_text.strip().lower().rstrip("0123456789")
        return _TEXT_LEVELS.get(word, word or None)
    return None


def _name(key: str) -> str:
    name = _NAME_CHARS.sub("_", key)
    return "_" + name if name[:1].isdigit() else name


class _Entries:
    """Entries grouped into streams by label set, in arrival order."""

    def __init__(self) -> None:
        self.streams: dict[
            tuple[tuple[str, str], ...], tuple[list[int], list[str], list[Mapping[str, str] | None]]
        ] = {}

    def add(
        self, labels: tuple[tuple[str, str], ...], ts: int, line: str, metadata: dict[str, str]
    ) -> None:
        group = self.streams.get(labels)
        if group is None:
            group = self.streams[labels] = ([], [], [])
        group[0].append(ts)
        group[1].append(line)
        group[2].append(metadata or None)

    def request(self, tenant: str) -> PushRequest:
        return PushRequest(
            tenant,
            tuple(
                StreamBatch(labels, ts, lines, md)
                for labels, (ts, lines, md) in self.streams.items()
            ),
        )


def _resource_split(attributes: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    labels: dict[str, str] = {}
    metadata: dict[str, str] = {}
    for key, value in attributes:
        if key in LABEL_RESOURCE_ATTRIBUTES:
            name = (
                "deployment_environment" if key.startswith("deployment.environment") else _name(key)
            )
            labels[name] = value
        else:
            metadata[_name(key)] = value
    labels.setdefault("service_name", "unknown_service")
    return labels, metadata


# ------------------------------------------------------------------ protobuf


def _pb_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return orjson.dumps(value).decode()


def decode_otlp_protobuf(body: bytes, tenant: str, now_ns: Callable[[], int]) -> PushRequest:
    """A push from an OTLP protobuf body; ``ValidationError(invalid_body)`` if it is not one."""
    message = ExportLogsServiceRequest()
    try:
        message.ParseFromString(body)
    except DecodeError as exc:
        raise ValidationError(
            INVALID_BODY, f"body is not an OTLP ExportLogsServiceRequest: {exc}"
        ) from exc
    entries = _Entries()
    received = now_ns()
    for resource_logs in message.resource_logs:
        labels, resource_md = _resource_split(
            (kv.key, _text(_pb_value(kv.value))) for kv in resource_logs.resource.attributes
        )
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for record in scope_logs.log_records:
                level = otlp_level(record.severity_number, record.severity_text)
                stream = dict(labels)
                if level:
                    stream["level"] = level
                metadata = dict(resource_md)
                if scope:
                    metadata["scope_name"] = scope
                if record.trace_id:
                    metadata["trace_id"] = record.trace_id.hex()
                if record.span_id:
                    metadata["span_id"] = record.span_id.hex()
                for kv in record.attributes:
                    metadata[_name(kv.key)] = _text(_pb_value(kv.value))
                ts = record.time_unix_nano or record.observed_time_unix_nano or received
                entries.add(
                    tuple(sorted(stream.items())), ts, _text(_pb_value(record.body)), metadata
                )
    return entries.request(tenant)


# ------------------------------------------------------------------ JSON

_JSON_VALUE_KEYS = (
    "stringValue",
    "boolValue",
    "intValue",
    "doubleValue",
    "bytesValue",
    "arrayValue",
    "kvlistValue",
)


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for key in _JSON_VALUE_KEYS:
        if key in value:
            inner = value[key]
            if key == "intValue":
                return int(inner)
            if key == "doubleValue":
                return float(inner)
            if key == "arrayValue":
                return [_json_value(v) for v in (inner or {}).get("values", [])]
            if key == "kvlistValue":
                return {
                    kv["key"]: _json_value(kv.get("value"))
                    for kv in (inner or {}).get("values", [])
                }
            return inner
    return None


def _json_int(value: Any) -> int:
    if value in (None, ""):
        return 0
    return int(value)


def decode_otlp_json(body: bytes, tenant: str, now_ns: Callable[[], int]) -> PushRequest:
    """A push from an OTLP/JSON body; ``ValidationError(invalid_body)`` if it is not one."""
    try:
        document = orjson.loads(body)
        return _decode_json_document(document, tenant, now_ns())
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ValidationError(
            INVALID_BODY, f"body is not OTLP/JSON logs ({type(exc).__name__}: {exc})"
        ) from exc


def _decode_json_document(document: Any, tenant: str, received: int) -> PushRequest:
    if not isinstance(document, dict):
        raise TypeError("the body must be a JSON object with `resourceLogs`")
    entries = _Entries()
    for resource_logs in document.get("resourceLogs") or []:
        resource = resource_logs.get("resource") or {}
        labels, resource_md = _resource_split(
            (kv["key"], _text(_json_value(kv.get("value"))))
            for kv in resource.get("attributes") or []
        )
        for scope_logs in resource_logs.get("scopeLogs") or []:
            scope = (scope_logs.get("scope") or {}).get("name", "")
            for record in scope_logs.get("logRecords") or []:
                level = otlp_level(
                    _json_int(record.get("severityNumber")), record.get("severityText") or ""
                )
                stream = dict(labels)
                if level:
                    stream["level"] = level
                metadata = dict(resource_md)
                if scope:
                    metadata["scope_name"] = scope
                for key, name in (("traceId", "trace_id"), ("spanId", "span_id")):
                    value = record.get(key)
                    if value:
                        bytes.fromhex(value)  # must be hex, as OTLP/JSON writes IDs
                        metadata[name] = value.lower()
                for kv in record.get("attributes") or []:
                    metadata[_name(kv["key"])] = _text(_json_value(kv.get("value")))
                ts = (
                    _json_int(record.get("timeUnixNano"))
                    or _json_int(record.get("observedTimeUnixNano"))
                    or received
                )
                entries.add(
                    tuple(sorted(stream.items())),
                    ts,
                    _text(_json_value(record.get("body"))),
                    metadata,
                )
    return entries.request(tenant)
