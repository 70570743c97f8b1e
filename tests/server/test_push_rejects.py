"""Bad push bodies on every input path: the right status and reason, and nothing stored."""

from __future__ import annotations

import gzip

import cramjam
import orjson

from flightlog.ingest import encode_loki_json, encode_loki_protobuf, encode_ndjson
from flightlog.ingest.reasons import INVALID_BODY, REQUEST_TOO_LARGE
from flightlog.model import PushRequest, StreamBatch

from .readback import stored_rows

_T0 = 1_767_225_600_000_000_000
_MAX = 64 * 1024
_CONFIG = {"limits": {"defaults": {"max_request_bytes": _MAX, "ingestion_burst_bytes": _MAX}}}

_JSON = {"Content-Type": "application/json"}
_GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
_PROTO = {"Content-Type": "application/x-protobuf"}
_NDJSON = {"Content-Type": "application/x-ndjson"}
_LOKI = "/loki/api/v1/push"
_ND = "/api/v1/push/ndjson"


def _request(lines: int, line: str = "line") -> PushRequest:
    return PushRequest(
        "default",
        (
            StreamBatch(
                (("app", "x"),),
                [_T0 + i for i in range(lines)],
                [f"{line} {i}" for i in range(lines)],
                [None] * lines,
            ),
        ),
    )


_BIG = _request(2000, "x" * 40)  # ~100 KB encoded, over the 64 KiB limit


def _cases():
    """(name, path, headers, body, status, reason)."""
    json_ok = encode_loki_json(_request(3))
    nd_ok = encode_ndjson(_request(3))
    proto_ok = encode_loki_protobuf(_request(3))
    wrong_type_json = orjson.dumps({"streams": [{"stream": {"app": "x"}, "values": [[1.5, 7]]}]})
    return [
        ("json garbage", _LOKI, _JSON, b"\x00garbage{", 400, INVALID_BODY),
        ("json truncated", _LOKI, _JSON, json_ok[:-5], 400, INVALID_BODY),
        ("json oversize", _LOKI, _JSON, encode_loki_json(_BIG), 413, REQUEST_TOO_LARGE),
        ("json wrong type", _LOKI, _JSON, wrong_type_json, 400, INVALID_BODY),
        ("json empty", _LOKI, _JSON, b"", 400, INVALID_BODY),
        ("gzip garbage", _LOKI, _GZIP_JSON, b"not gzip at all", 400, INVALID_BODY),
        ("gzip truncated", _LOKI, _GZIP_JSON, gzip.compress(json_ok)[:-10], 400, INVALID_BODY),
        ("gzip bomb", _LOKI, _GZIP_JSON, gzip.compress(b" " * 5_000_000), 413, REQUEST_TOO_LARGE),
        ("gzip wrong type", _LOKI, _GZIP_JSON, gzip.compress(wrong_type_json), 400, INVALID_BODY),
        ("proto garbage", _LOKI, _PROTO, b"\x00\x01garbage", 400, INVALID_BODY),
        ("proto truncated", _LOKI, _PROTO, proto_ok[: len(proto_ok) // 2], 400, INVALID_BODY),
        ("proto oversize", _LOKI, _PROTO, encode_loki_protobuf(_BIG), 413, REQUEST_TOO_LARGE),
        (
            "proto bomb",
            _LOKI,
            _PROTO,
            bytes(cramjam.snappy.compress_raw(b"\0" * 1_000_000)),
            413,
            REQUEST_TOO_LARGE,
        ),
        (
            "proto wrong type",
            _LOKI,
            _PROTO,
            bytes(cramjam.snappy.compress_raw(json_ok)),
            400,
            INVALID_BODY,
        ),
        ("ndjson garbage", _ND, _NDJSON, b"garbage\n", 400, INVALID_BODY),
        ("ndjson truncated", _ND, _NDJSON, nd_ok[:-10], 400, INVALID_BODY),
        ("ndjson oversize", _ND, _NDJSON, encode_ndjson(_BIG), 413, REQUEST_TOO_LARGE),
        (
            "ndjson wrong type",
            _ND,
            _NDJSON,
            b'{"ts": "soon", "labels": {"app": "x"}, "line": "x"}\n',
            400,
            INVALID_BODY,
        ),
        ("unknown content type", _LOKI, {"Content-Type": "text/csv"}, b"a,b", 400, INVALID_BODY),
        (
            "unknown encoding",
            _LOKI,
            {**_JSON, "Content-Encoding": "br"},
            json_ok,
            400,
            INVALID_BODY,
        ),
    ]


def _chunks(body: bytes):
    for start in range(0, len(body), 8192):
        yield body[start : start + 8192]


def test_bad_bodies_get_status_and_reason_and_change_nothing(flightlog_server_factory):
    """Each bad body is refused whole with its reason; the baseline data stays exactly as it was."""
    server = flightlog_server_factory(_CONFIG)
    baseline = _request(5, "baseline")
    with server.client() as http:
        assert (
            http.post(_LOKI, content=encode_loki_json(baseline), headers=_JSON).status_code == 204
        )
        for name, path, headers, body, status, reason in _cases():
            response = http.post(path, content=body, headers=headers)
            assert response.status_code == status, (name, response.text)
            payload = response.json()
            assert (payload["status"], payload["reason"]) == ("error", reason), name
            assert payload["error"], name
        # Oversize without Content-Length (chunked): refused while streaming.
        chunked = http.post(_LOKI, content=_chunks(encode_loki_json(_BIG)), headers=_JSON)
        assert chunked.status_code == 413
        assert chunked.json()["reason"] == REQUEST_TOO_LARGE
        metrics = http.get("/metrics").text
    assert 'flightlog_ingest_entries_stored_total{tenant="default"} 5.0' in metrics
    assert server.stop() == 0
    assert [r[2] for r in stored_rows(server.data_dir)] == [f"baseline {i}" for i in range(5)]


def test_invalid_entries_in_a_good_body_are_dropped_and_counted(flightlog_server):
    """Loki's behaviour: valid entries stored, 400 says how many were dropped and why."""
    body = {
        "streams": [
            {
                "stream": {"app": "ok"},
                "values": [[str(_T0 + 7200 * 10**9), "newest"], [str(_T0), "two hours behind"]],
            },
            {"stream": {"app": "ok", "bad-name": "x"}, "values": [[str(_T0), "bad label"]]},
            {
                "stream": {"app": "long"},
                "values": [[str(_T0), "x" * 300_000], [str(_T0 + 1), "short"]],
            },
        ]
    }
    with flightlog_server.client() as http:
        response = http.post(_LOKI, json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["accepted"] == 2
    assert payload["rejected"] == {"invalid_labels": 1, "line_too_long": 1, "too_far_behind": 1}
    assert payload["error"].startswith("3 of 5 entries rejected: invalid_labels=1")
    assert "max_line_bytes" in payload["error"]
    flightlog_server.stop()
    assert sorted(r[2] for r in stored_rows(flightlog_server.data_dir)) == ["newest", "short"]


def test_rate_limited_push_is_429_and_stores_nothing(flightlog_server_factory):
    """Past the tenant's burst, the whole push is refused with rate_limited."""
    limits = {
        "max_request_bytes": 4000,
        "ingestion_burst_bytes": 4000,
        "ingestion_rate_bytes_per_sec": 1,
    }
    server = flightlog_server_factory({"limits": {"defaults": limits}})
    body = {
        "streams": [
            {"stream": {"app": "x"}, "values": [[str(_T0 + i), "y" * 1000] for i in range(3)]}
        ]
    }
    with server.client() as http:
        assert http.post(_LOKI, json=body).status_code == 204
        response = http.post(_LOKI, json=body)
    assert response.status_code == 429
    assert response.json()["rejected"] == {"rate_limited": 3}
    server.stop()
    assert len(stored_rows(server.data_dir)) == 3
