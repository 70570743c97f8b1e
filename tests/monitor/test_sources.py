"""Drift sources: Parquet/CSV files, data frames, prediction-log records and LogQL over HTTP."""

from __future__ import annotations

import http.server
import re
import threading
import urllib.parse
from collections.abc import Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightlog.errors import MonitorError
from flightlog.monitor import sources
from flightlog.monitor.samples import profile


def test_read_parquet_and_csv_give_same_profile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same table read from Parquet and from CSV profiles identically."""
    table = pa.table({"x": [1.5, 2.5, None], "c": ["a", "b", "a"]})
    pq.write_table(table, tmp_path / "t.parquet")
    (tmp_path / "t.csv").write_text("x,c\n1.5,a\n2.5,b\n,a\n")
    from_parquet = profile(sources.read_table(tmp_path / "t.parquet"))
    from_csv = profile(sources.read_table(tmp_path / "t.csv"))
    for name in ("x", "c"):
        assert type(from_parquet[name]) is type(from_csv[name])
    np.testing.assert_array_equal(from_parquet["x"].sorted_values, from_csv["x"].sorted_values)
    assert from_parquet["x"].missing == from_csv["x"].missing == 1
    assert from_parquet["c"].counts == from_csv["c"].counts == {"a": 2, "b": 1}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.parquet", b"\x00\x01not parquet at all"),
        ("empty.csv", b""),
        ("header-only.csv", b"x,y\n"),
        ("ragged.csv", b"x,y\n1,2\n3\n"),
    ],
)
def test_unreadable_files_raise_monitor_error(tmp_path, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    """Garbage, empty and malformed files name the file instead of leaking a traceback."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MonitorError, match=re.escape(name)):
        sources.read_table(path)


def test_truncated_parquet_raises_monitor_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A Parquet file cut in half is reported as unreadable."""
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.table({"x": list(range(1000))}), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MonitorError, match=r"cut\.parquet"):
        sources.read_table(path)


def test_columns_from_frame_accepts_mapping_and_arrow_table() -> None:
    """A dict of columns and a pyarrow Table both become column mappings."""
    assert list(sources.columns_from_frame({"a": [1, 2]})) == ["a"]
    columns = sources.columns_from_frame(pa.table({"a": [1, 2], "b": ["x", "y"]}))
    assert list(columns) == ["a", "b"]
    with pytest.raises(MonitorError, match="not a table"):
        sources.columns_from_frame(42)


def test_columns_from_records_reads_features_and_flattens_summaries() -> None:
    """Feature values come from 'features', nested summaries flatten, absent values are None."""
    records = [
        {"event": "prediction", "features": {"age": 30, "emb": {"mean": 0.5}}},
        {"event": "prediction", "features": {"country": "DE"}},
    ]
    columns = sources.columns_from_records(records)
    assert columns == {"age": [30, None], "emb.mean": [0.5, None], "country": [None, "DE"]}


@pytest.mark.parametrize("records", [[], [[1, 2]], [{"features": "text"}]])
def test_columns_from_bad_records_raise(records) -> None:  # type: ignore[no-untyped-def]
    """No records, non-object records and non-object features are rejected."""
    with pytest.raises(MonitorError):
        sources.columns_from_records(records)


class _FakeLoki(http.server.BaseHTTPRequestHandler):
    """Loki's query_range answering from a fixed list of lines, recording each request."""

    lines: list[tuple[int, str]] = []
    requests: list[dict[str, list[str]]] = []
    status = 200
    raw_body: bytes | None = None

    def do_GET(self) -> None:
        url = urllib.parse.urlparse(self.path)
        params = urllib.parse.parse_qs(url.query)
        type(self).requests.append({"path": [url.path], **params})
        if type(self).raw_body is not None:
            self._reply(200, type(self).raw_body)
            return
        if type(self).status != 200:
            body = orjson.dumps(
                {"status": "error", "errorType": "bad_data", "error": "parse error"}
            )
            self._reply(type(self).status, body)
            return
        start, end, limit = int(params["start"][0]), int(params["end"][0]), int(params["limit"][0])
        chosen = [(ts, line) for ts, line in type(self).lines if start <= ts < end][:limit]
        body = orjson.dumps(
            {
                "status": "success",
                "data": {
                    "resultType": "streams",
                    "result": [
                        {
                            "stream": {"service": "model"},
                            "values": [[str(ts), line] for ts, line in chosen],
                        }
                    ],
                },
            }
        )
        self._reply(200, body)

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_loki() -> Iterator[str]:
    _FakeLoki.lines = []
    _FakeLoki.requests = []
    _FakeLoki.status = 200
    _FakeLoki.raw_body = None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeLoki)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_query_records_pages_and_skips_non_json(fake_loki: str) -> None:
    """All JSON lines come back over several pages; plain-text lines are skipped."""
    _FakeLoki.lines = [
        (1_000 + i, orjson.dumps({"features": {"x": i}}).decode()) for i in range(25)
    ]
    _FakeLoki.lines.append((2_000, "not json"))
    records = sources.query_records(fake_loki, '{service="model"}', 0, 10_000, limit=10)
    assert [record["features"]["x"] for record in records] == list(range(25))
    assert len(_FakeLoki.requests) == 3
    first = _FakeLoki.requests[0]
    assert first["path"] == ["/loki/api/v1/query_range"]
    assert first["query"] == ['{service="model"}'] and first["direction"] == ["forward"]


def test_query_records_reports_server_error(fake_loki: str) -> None:
    """A 400 from the server becomes a MonitorError carrying the server's message."""
    _FakeLoki.status = 400
    with pytest.raises(MonitorError, match="HTTP 400: parse error"):
        sources.query_records(fake_loki, "{", 0, 10)


def test_query_records_unreachable_server() -> None:
    """A closed port is a MonitorError naming the endpoint."""
    with pytest.raises(MonitorError, match="cannot reach"):
        sources.query_records("http://127.0.0.1:9", '{a="b"}', 0, 10)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>proxy error</html>",
        b'{"status": "success", "data": {"resultType": "streams", "result": [{"values": [["1"',
        b'{"status": "success", "data": {"resultType": "matrix", "result": []}}',
        b"x" * 200_000,
    ],
    ids=["html", "truncated", "metric-result", "oversize-garbage"],
)
def test_query_records_rejects_bodies_that_are_not_log_results(fake_loki: str, body: bytes) -> None:
    """Garbage, truncated, metric-shaped and oversized bodies raise MonitorError, not KeyError."""
    _FakeLoki.raw_body = body
    with pytest.raises(MonitorError, match=r"query result|log query"):
        sources.query_records(fake_loki, '{a="b"}', 0, 10)
