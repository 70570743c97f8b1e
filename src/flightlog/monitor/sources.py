"""Where drift and comparison data come from: files, data frames, prediction-log records, LogQL.

Every source ends as ``dict[str, column]`` (column = pyarrow array, numpy array or list),
which ``flightlog.monitor.samples`` turns into feature samples.

- ``read_table``: a Parquet or CSV file, read with pyarrow.
- ``columns_from_frame``: a pandas/polars DataFrame, a pyarrow Table, or any mapping of
  column name to values.
- ``columns_from_records``: prediction-log records (dicts). Feature values are taken from
  the record's ``features`` mapping (what ``PredictionLogger`` writes), or from the record
  itself when it has none. Nested summaries (``{"emb": {"mean": .., "max": ..}}``) flatten
  to ``emb.mean``, ``emb.max``.
- ``query_records``: the lines a LogQL query returns from a Loki-compatible
  ``/loki/api/v1/query_range`` (flightlog's server, or Loki itself), parsed as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from flightlog.errors import MonitorError

__all__ = [
    "MAX_QUERY_LINES",
    "columns_from_frame",
    "columns_from_records",
    "query_records",
    "read_table",
]

# Lines asked of the server in one query_range call; Loki's default max is 5,000.
MAX_QUERY_LINES = 5_000


def read_table(path: str | Path) -> dict[str, Any]:
    """Columns of a Parquet (``.parquet``, ``.pq``) or CSV (anything else) file."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    file = Path(path)
    if not file.is_file():
        raise MonitorError(f"{file}: no such file; give a Parquet or CSV file")
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            table = pq.read_table(file)
        else:
            table = pa_csv.read_csv(file)
    except (pa.ArrowException, OSError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise MonitorError(f"{file}: cannot read it as Parquet/CSV ({first_line})") from error
    if table.num_rows == 0 or table.num_columns == 0:
        raise MonitorError(f"{file}: has no rows; drift needs data on both sides")
    return {name: table.column(name) for name in table.column_names}


def columns_from_frame(frame: Any) -> dict[str, Any]:
    """Columns of a DataFrame-like object: ``.columns`` + ``frame[name]``, or a mapping."""
    names = getattr(frame, "column_names", None)  # pyarrow.Table
    if names is None:
        names = getattr(frame, "columns", None)
    if names is None and isinstance(frame, Mapping):
        names = list(frame.keys())
    if names is None:
        raise MonitorError(
            f"{type(frame).__name__} is not a table: pass a DataFrame, a pyarrow Table "
            "or a mapping of column name to values"
        )
    columns: dict[str, Any] = {}
    for name in names:
        column = frame[name]
        to_numpy = getattr(column, "to_numpy", None)
        if to_numpy is not None and not type(column).__module__.startswith("pyarrow"):
            column = to_numpy()
        columns[str(name)] = column
    return columns


def columns_from_records(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Columns of feature values from prediction-log records; absent values become None."""
    rows: list[dict[str, Any]] = []
    names: dict[str, None] = {}
    for record in records:
        if not isinstance(record, Mapping):
            raise MonitorError(f"prediction-log record {record!r:.80} is not a JSON object")
        features = record.get("features", record)
        if not isinstance(features, Mapping):
            raise MonitorError(f"record field 'features' is {features!r:.80}, not an object")
        flat = dict(_flatten(features, ""))
        names.update(dict.fromkeys(flat))
        rows.append(flat)
    if not rows:
        raise MonitorError("no prediction-log records: widen the time range or check the query")
    return {name: [row.get(name) for row in rows] for name in names}


def query_records(
    url: str,
    query: str,
    start_ns: int,
    end_ns: int,
    limit: int = MAX_QUERY_LINES,
    client: Any = None,
    headers: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """JSON log lines matching a LogQL log query, oldest first, following Loki's paging.

    Lines that are not JSON objects are skipped (a selector may match other logs of the
    service). ``client`` is an ``httpx.Client`` (tests hand in their own transport).
    """
    import httpx

    own_client = client is None
    http = client or httpx.Client(timeout=30.0)
    endpoint = url.rstrip("/") + "/loki/api/v1/query_range"
    records: list[dict[str, Any]] = []
    cursor = start_ns
    try:
        while cursor < end_ns:
            params = {
                "query": query,
                "start": str(cursor),
                "end": str(end_ns),
                "limit": str(limit),
                "direction": "forward",
            }
            try:
                response = http.get(endpoint, params=params, headers=dict(headers or {}))
            except httpx.HTTPError as error:
                raise MonitorError(f"cannot reach {endpoint}: {error}") from error
            if response.status_code != 200:
                raise MonitorError(
                    f"{endpoint} answered HTTP {response.status_code}: {_error_text(response)}"
                )
            entries = _stream_entries(response.content, endpoint)
            for _, line in entries:
                parsed = _json_object(line)
                if parsed is not None:
                    records.append(parsed)
            if len(entries) < limit:
                break
            # Next page starts after the newest entry seen (Loki's start is inclusive).
            cursor = max(timestamp for timestamp, _ in entries) + 1
    finally:
        if own_client:
            http.close()
    return records


def _stream_entries(body: bytes, endpoint: str) -> list[tuple[int, str]]:
    try:
        payload = orjson.loads(body)
        data = payload["data"]
        if data["resultType"] != "streams":
            raise MonitorError(
                f"{endpoint} returned {data['resultType']!r}; drift needs a log query "
                "(a stream selector with filters), not a metric query"
            )
        entries = [
            (int(value[0]), str(value[1]))
            for stream in data["result"]
            for value in stream["values"]
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as error:
        raise MonitorError(f"{endpoint} returned a body that is not Loki's query result") from error
    entries.sort(key=lambda entry: entry[0])
    return entries


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _error_text(response: Any) -> str:
    try:
        return str(orjson.loads(response.content).get("error", ""))[:200]
    except (orjson.JSONDecodeError, AttributeError):
        return response.text[:200]


def _flatten(values: Mapping[str, Any], prefix: str) -> Iterable[tuple[str, Any]]:
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        elif isinstance(value, list | tuple):
            # Raw vectors are not features; the logger summarises them before logging.
            continue
        else:
            yield name, value
