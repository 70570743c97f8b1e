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
- ``page_forward``: the paging both ``query_records`` and the server's monitoring API use
  (restart at the last timestamp seen, skip what was already given there).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from flightlog.errors import MonitorError

__all__ = [
    "MAX_QUERY_LINES",
    "PagedEntry",
    "columns_from_frame",
    "columns_from_records",
    "page_forward",
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
    service). ``client`` is an ``httpx.Client`` (tests hand in their own transport);
    ``headers`` carry the tenant (``X-Scope-OrgID``) and ``Authorization``. Paging is
    ``page_forward``'s: no entry is lost or repeated at a page boundary.
    """
    import httpx

    own_client = client is None
    http = client or httpx.Client(timeout=30.0)
    endpoint = url.rstrip("/") + "/loki/api/v1/query_range"

    def fetch(cursor_ns: int, page: int) -> list[PagedEntry]:
        params = {
            "query": query,
            "start": str(cursor_ns),
            "end": str(end_ns),
            "limit": str(page),
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
        return _stream_entries(response.content, endpoint)

    try:
        return [
            parsed
            for line in page_forward(fetch, start_ns, end_ns, limit)
            if (parsed := _json_object(line)) is not None
        ]
    finally:
        if own_client:
            http.close()


PagedEntry = tuple[int, Hashable, str]
"""(timestamp ns, stream key, line): one log entry of a page, as ``page_forward`` reads it."""


def page_forward(
    fetch: Callable[[int, int], Sequence[PagedEntry]],
    start_ns: int,
    end_ns: int,
    limit: int,
    max_entries: int | None = None,
    max_page: int | None = None,
) -> Iterator[str]:
    """Every line in [start_ns, end_ns), oldest first, from pages of at most ``limit`` entries.

    ``fetch(cursor_ns, page)`` returns the first ``page`` entries from ``cursor_ns`` on
    (Loki's ``direction=forward``: start inclusive). Several entries may share a
    timestamp, so a page cannot restart one nanosecond after the last entry it saw: it
    restarts *at* that timestamp and skips the entries of that timestamp it already gave
    (counted by stream and line). When a full page holds nothing but entries of the
    cursor's timestamp, more of them may exist than one page shows, so the same page is
    asked for again with twice the limit (up to ``max_page``; beyond it MonitorError says
    which timestamp holds too many entries). Stops after ``max_entries`` lines.
    """
    cursor = start_ns
    seen_at_cursor: Counter[tuple[Hashable, str]] = Counter()
    page = limit
    given = 0
    while cursor < end_ns:
        entries = sorted(fetch(cursor, page), key=lambda entry: entry[0])
        full = len(entries) >= page
        if full and entries[-1][0] == cursor:
            if max_page is not None and page >= max_page:
                raise MonitorError(
                    f"more than {page} log entries share the timestamp {cursor} ns, more than "
                    "one query may return: raise the per-query entry limit "
                    "(query_limits.max_entries_limit_per_query)"
                )
            page = page * 2 if max_page is None else min(page * 2, max_page)
            continue
        skip = Counter(seen_at_cursor)
        for timestamp, stream, line in entries:
            if timestamp == cursor and skip[(stream, line)] > 0:
                skip[(stream, line)] -= 1
                continue
            yield line
            given += 1
            if max_entries is not None and given >= max_entries:
                return
        if not full:
            return
        cursor = entries[-1][0]
        seen_at_cursor = Counter(
            (stream, line) for timestamp, stream, line in entries if timestamp == cursor
        )
        page = limit


def _stream_entries(body: bytes, endpoint: str) -> list[PagedEntry]:
    try:
        payload = orjson.loads(body)
        data = payload["data"]
        if data["resultType"] != "streams":
            raise MonitorError(
                f"{endpoint} returned {data['resultType']!r}; drift needs a log query "
                "(a stream selector with filters), not a metric query"
            )
        entries: list[PagedEntry] = [
            (int(value[0]), _stream_key(stream.get("stream")), str(value[1]))
            for stream in data["result"]
            for value in stream["values"]
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as error:
        raise MonitorError(f"{endpoint} returned a body that is not Loki's query result") from error
    entries.sort(key=lambda entry: entry[0])
    return entries


def _stream_key(labels: Any) -> Hashable:
    return tuple(sorted(labels.items())) if isinstance(labels, Mapping) else None


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
