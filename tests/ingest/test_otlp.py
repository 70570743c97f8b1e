"""OTLP/HTTP logs: the real OpenTelemetry SDK exporter into a real server, and the decoders."""

from __future__ import annotations

import logging
import time

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from flightlog.errors import ValidationError
from flightlog.ingest import IngestLimits
from flightlog.ingest.otlp import decode_otlp_json, decode_otlp_protobuf, otlp_level

# The SDK's own LoggingHandler is what the OpenTelemetry docs still show; it warns that
# it moves to opentelemetry-instrumentation-logging, which is not installed here.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`LoggingHandler` in `opentelemetry-sdk` is deprecated"
)


def _query(server, selector: str) -> list[tuple[dict[str, str], str, str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    """(labels, ts, line, structured metadata) of every entry of ``selector``."""
    now = time.time_ns()
    with server.client() as http:
        response = http.get(
            "/loki/api/v1/query_range",
            params={
                "query": selector,
                "start": str(now - 3600 * 10**9),
                "end": str(now + 10**9),
                "limit": "1000",
            },
            headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"},
        )
    assert response.status_code == 200, response.text
    out = []
    for stream in response.json()["data"]["result"]:
        for value in stream["values"]:
            extra = value[2] if len(value) > 2 else {}
            out.append((stream["stream"], value[0], value[1], extra.get("structuredMetadata", {})))
    return out


def _wait_for(server, selector: str, count: int):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = _query(server, selector)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(
        f"{selector} has {len(_query(server, selector))} entries, expected {count}"
    )


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_opentelemetry_sdk_exporter_pushes_logs(flightlog_module_server, compression):
    """Python logging → OpenTelemetry SDK → OTLP/HTTP exporter → flightlog, mapped by the conventions."""
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = LoggerProvider(
        resource=Resource.create(
            {"service.name": f"trainer-{compression}", "deployment.environment": "dev"}
        )
    )
    exporter = OTLPLogExporter(
        endpoint=f"{flightlog_module_server.url}/otlp/v1/logs",
        compression=Compression.Gzip if compression == "gzip" else Compression.NoCompression,
    )
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger(f"otel-test-{compression}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(logger_provider=provider))
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("step") as span:
        logger.warning("loss spiked to %s", 9.5, extra={"run.id": "r42", "step": 120})
        trace_id = format(span.get_span_context().trace_id, "032x")
    logger.info("epoch done")
    provider.shutdown()

    entries = _wait_for(flightlog_module_server, f'{{service_name="trainer-{compression}"}}', 2)
    by_line = {line: (labels, metadata) for labels, _, line, metadata in entries}
    labels, metadata = by_line["loss spiked to 9.5"]
    assert labels == {
        "service_name": f"trainer-{compression}",
        "deployment_environment": "dev",
        "level": "warning",
    }
    assert metadata["trace_id"] == trace_id and len(metadata["span_id"]) == 16
    assert metadata["run_id"] == "r42" and metadata["step"] == "120"
    assert by_line["epoch done"][0]["level"] == "info"


def test_json_body_and_partial_answer(flightlog_module_server):
    """OTLP/JSON is accepted; the answer is an ExportLogsServiceResponse in JSON."""
    body = {
        "resourceLogs": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}},
                                        {"key": "host.name", "value": {"stringValue": "gpu-7"}}]},
            "scopeLogs": [{"scope": {"name": "uvicorn"}, "logRecords": [{
                "timeUnixNano": str(time.time_ns()), "severityNumber": 17, "severityText": "ERROR",
                "body": {"stringValue": "request failed"},
                "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
                "attributes": [{"key": "http.status_code", "value": {"intValue": "503"}}],
            }]}],
        }]
    }  # fmt: skip
    with flightlog_module_server.client() as http:
        response = http.post(
            "/otlp/v1/logs",
            content=orjson.dumps(body),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {}
    ((labels, _, line, metadata),) = _wait_for(flightlog_module_server, '{service_name="api"}', 1)
    assert (labels, line) == ({"service_name": "api", "level": "error"}, "request failed")
    assert metadata["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert metadata["http_status_code"] == "503" and metadata["host_name"] == "gpu-7"
    assert metadata["scope_name"] == "uvicorn"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\x0a\xff\xff\xff", "application/x-protobuf"),
        (b"not json", "application/json"),
        (
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}',
            "application/json",
        ),
        (b"[]", "application/json"),
    ],
)
def test_garbage_bodies_are_400(flightlog_module_server, body, content_type):
    """Garbage, truncated or ill-typed bodies get HTTP 400 with a message; nothing stored."""
    with flightlog_module_server.client() as http:
        response = http.post("/otlp/v1/logs", content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.json()["status"] == "error"


def test_oversize_body_is_413(flightlog_module_server):
    """A body over the tenant's max_request_bytes is refused before it is decoded."""
    too_big = IngestLimits().for_tenant("default").max_request_bytes + 1
    with flightlog_module_server.client() as http:
        response = http.post(
            "/otlp/v1/logs",
            content=b"x" * too_big,
            headers={"content-type": "application/x-protobuf"},
        )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("number", "text", "level"),
    [(1, "", "trace"), (5, "", "debug"), (9, "", "info"), (13, "", "warning"), (17, "", "error"),
     (21, "", "critical"), (24, "", "critical"), (0, "WARN", "warning"), (0, "Fatal", "critical"), (0, "", None)],
)  # fmt: skip
def test_severity_to_level(number, text, level):
    """Severity numbers map by their group of four; text is the fallback."""
    assert otlp_level(number, text) == level


def test_protobuf_decoder_maps_fields():
    """Resource, scope, record fields land on labels, metadata, line and timestamp."""
    message = ExportLogsServiceRequest()
    resource_logs = message.resource_logs.add()
    resource_logs.resource.attributes.add(key="k8s.namespace.name").value.string_value = "ml"
    record = resource_logs.scope_logs.add().log_records.add()
    record.observed_time_unix_nano = 123
    record.body.kvlist_value.values.add(key="event").value.string_value = "metrics"
    record.trace_id = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")
    record.attributes.add(key="loss").value.double_value = 0.25
    push = decode_otlp_protobuf(message.SerializeToString(), "t", lambda: 999)
    (stream,) = push.streams
    assert dict(stream.labels) == {"service_name": "unknown_service", "k8s_namespace_name": "ml"}
    assert (list(stream.ts_ns), list(stream.lines)) == ([123], ['{"event":"metrics"}'])
    assert stream.metadata[0] == {"trace_id": "0102030405060708090a0b0c0d0e0f10", "loss": "0.25"}


def test_json_decoder_rejects_non_objects():
    """A JSON body that is not an object is invalid_body."""
    with pytest.raises(ValidationError) as caught:
        decode_otlp_json(b"[1]", "t", lambda: 0)
    assert caught.value.reason == "invalid_body"
