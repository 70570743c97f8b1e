"""DuckDB execution of the pushed-down part of a log plan.

One DuckDB connection per query reads ``read_parquet([segments])`` UNION ALL the head
(registered as an Arrow table), filtered by stream id, time range and the pushed line
filters. A timer interrupts the connection when the tenant's query time limit passes;
``QueryLimitError("max_query_time", ...)`` is then raised.
"""

from __future__ import annotations

import atexit
import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from flightlog.errors import QueryLimitError
from flightlog.query.plan import LogPlan, sql_line_predicate

if TYPE_CHECKING:
    from flightlog.store import ScanSources

__all__ = ["ScanRequest", "Scanner"]


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """Rows of ``plan`` with ``start_ns <= ts < end_ns``; ``columns`` from the row schema."""

    plan: LogPlan
    start_ns: int
    end_ns: int
    columns: tuple[str, ...]
    order: str | None = None  # "ASC" | "DESC" | None
    limit: int | None = None
    outer_columns: tuple[str, ...] | None = None
    """Computed from ``columns`` in an outer SELECT, so a value computed once in the inner
    SELECT (e.g. a JSON validity flag) is not re-evaluated by every expression using it."""
    outer_query: str | None = None
    """SQL over all the selected rows together, ``{rows}`` standing for them (e.g. a
    GROUP BY that counts rows per stream and time cell)."""


TENANT_LABEL = "__tenant_id__"
_TENANT_MASK_MULTIPLIER = 0x9E3779B97F4A7C15
_UINT64 = (1 << 64) - 1

_DATABASE: duckdb.DuckDBPyConnection | None = None
_DATABASE_LOCK = threading.Lock()
_NAMES = itertools.count()


def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process; each query gets its own cursor (cheap, interruptible)."""
    global _DATABASE
    with _DATABASE_LOCK:
        if _DATABASE is None:
            _DATABASE = duckdb.connect(":memory:")
            # Segments are immutable files (a rewrite gets a new name): their parsed
            # footers can be kept, which saves ~10 ms per segment per query.
            _DATABASE.execute("SET parquet_metadata_cache = true")
            atexit.register(_DATABASE.close)  # a clean shutdown of DuckDB's threads
        return _DATABASE


class Scanner:
    """Runs scan requests against one store under one deadline (seconds from creation)."""

    def __init__(self, store: object, tenants: Sequence[str], timeout_s: float | None) -> None:
        self._store = store
        self._tenants = tuple(tenants)
        self._timeout_s = timeout_s
        self._connection = _database().cursor()
        self._timer: threading.Timer | None = None
        self._timed_out = threading.Event()
        self._deadline = None if timeout_s is None else time.monotonic() + timeout_s
        if timeout_s is not None:
            self._timer = threading.Timer(timeout_s, self._interrupt)
            self._timer.daemon = True
            self._timer.start()
        self.streams: dict[int, dict[str, str]] = {}
        self.rows_scanned = 0
        self.segments_read = 0

    def _interrupt(self) -> None:
        self._timed_out.set()
        self._connection.interrupt()

    def check_deadline(self) -> None:
        """Raise when the time limit passed (Python stages call this between batches)."""
        late = self._deadline is not None and time.monotonic() >= self._deadline
        if late or self._timed_out.is_set():
            raise QueryLimitError(
                "max_query_time",
                f"query timed out after {self._timeout_s:g}s (max_query_time): narrow the time range or the selector",
            )

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._connection.close()

    def __enter__(self) -> Scanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sources(self, request: ScanRequest) -> list[tuple[int, ScanSources]]:
        """(stream-id mask, sources) per tenant; one entry with mask 0 for one tenant.

        With several tenants (``X-Scope-OrgID: a|b``) the same labels have the same stream
        id in each, so ids are XOR-ed with a per-tenant mask and every stream gets Loki's
        ``__tenant_id__`` label.
        """
        plan = request.plan
        if len(self._tenants) == 1:
            sources = self._store.scan_sources(  # type: ignore[attr-defined]
                self._tenants,
                plan.matchers,
                request.start_ns,
                request.end_ns,
                plan.needles,
                plan.alternatives,
            )
            for stream_id, labels in sources.streams.items():
                self.streams[stream_id] = dict(labels)
            return [(0, sources)]
        result = []
        for index, tenant in enumerate(self._tenants):
            sources = self._store.scan_sources(  # type: ignore[attr-defined]
                (tenant,),
                plan.matchers,
                request.start_ns,
                request.end_ns,
                plan.needles,
                plan.alternatives,
            )
            mask = ((index + 1) * _TENANT_MASK_MULTIPLIER) & _UINT64
            for stream_id, labels in sources.streams.items():
                self.streams[stream_id ^ mask] = {**labels, TENANT_LABEL: tenant}
            result.append((mask, sources))
        return result

    def batches(self, request: ScanRequest, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Stream the selected rows as Arrow record batches."""
        self.check_deadline()
        parts: list[str] = []
        registered: list[str] = []
        for mask, sources in self._sources(request):
            if not sources.stream_ids:
                continue
            self.segments_read += len(sources.segment_paths)
            where = [f"ts >= {int(request.start_ns)}", f"ts < {int(request.end_ns)}"]
            ids = ", ".join(str(int(i)) for i in sources.stream_ids)
            where.append(f"stream_id IN ({ids})")
            line_filters = [sql_line_predicate(f) for f in request.plan.pushed_filters]
            condition = " AND ".join(where + line_filters)
            # Whole segments of selected streams only: the line filters are all that is left.
            segment_condition = (
                " AND ".join(line_filters) or "true" if sources.segments_all_selected else condition
            )
            columns = ", ".join(
                f"xor(stream_id, {mask}::UBIGINT) AS stream_id" if mask and c == "stream_id" else c
                for c in request.columns
            )
            if sources.head.num_rows:
                head_name = f"head_rows_{next(_NAMES)}"
                self._connection.register(head_name, sources.head)
                registered.append(head_name)
                parts.append(_wrap(request, f"SELECT {columns} FROM {head_name} WHERE {condition}"))
            partial = sources.segment_blocks
            whole = [p for p in sources.segment_paths if p not in partial]
            if whole:
                parts.append(
                    _wrap(
                        request,
                        f"SELECT {columns} FROM read_parquet([{_paths(whole)}]) WHERE {segment_condition}",
                    )
                )
            if partial:
                # Only the row groups the word index keeps: DuckDB skips the others by
                # the statistics of their ``block`` column.
                blocks = ", ".join(str(b) for p in partial for b in partial[p])
                parts.append(
                    _wrap(
                        request,
                        f"SELECT {columns} FROM read_parquet([{_paths(list(partial))}])"
                        f" WHERE block IN ({blocks}) AND {segment_condition}",
                    )
                )
        if not parts:
            return
        sql = " UNION ALL ".join(parts)
        if request.outer_query is not None:
            sql = request.outer_query.replace("{rows}", sql)
        if request.order is not None:
            sql = f"SELECT * FROM ({sql}) ORDER BY ts {request.order}, stream_id"
        if request.limit is not None:
            sql += f" LIMIT {int(request.limit)}"
        reader = None
        try:
            reader = self._connection.sql(sql).to_arrow_reader(batch_rows)
            for batch in reader:
                self.rows_scanned += batch.num_rows
                yield batch
                self.check_deadline()
        except duckdb.InterruptException:
            self.check_deadline()
            raise
        finally:
            if reader is not None:
                reader.close()
            for name in registered:
                self._connection.unregister(name)

    def table(self, request: ScanRequest) -> pa.Table:
        batches = list(self.batches(request))
        if not batches:
            names = [c.split(" AS ")[-1] for c in (request.outer_columns or request.columns)]
            schema = pa.schema([(n, _COLUMN_TYPES.get(n, pa.int64())) for n in names])
            return schema.empty_table()
        return pa.Table.from_batches(batches)


def _paths(paths: Sequence[Path]) -> str:
    return ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)


def _wrap(request: ScanRequest, inner: str) -> str:
    if request.outer_columns is None:
        return inner
    return f"SELECT {', '.join(request.outer_columns)} FROM ({inner})"


_COLUMN_TYPES = {
    "stream_id": pa.uint64(),
    "ts": pa.int64(),
    "line": pa.string(),
    "metadata": pa.map_(pa.string(), pa.string()),
}
