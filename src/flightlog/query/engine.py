"""The query engine: LogQL text + time range → Loki-shaped results over a store.

``Engine(store, limits).query_range(...)`` / ``.query_instant(...)`` parse, plan, scan
with DuckDB (``flightlog.query.scan``), run the residual pipeline per entry
(``flightlog.query.pipeline``) and compute step values (``flightlog.query.vectors``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flightlog.errors import QueryError, QueryLimitError
from flightlog.model import Direction, Labels, MatchOp
from flightlog.query import ast
from flightlog.query.buckets import bucketed_samples
from flightlog.query.fastpath import json_unwrap_samples
from flightlog.query.limits import QueryLimits, TenantQueryLimits
from flightlog.query.parser import parse
from flightlog.query.pipeline import (
    ERROR_DETAILS_LABEL,
    ERROR_LABEL,
    Pipeline,
    label_predicate,
    unwrap_value,
)
from flightlog.query.plan import LogPlan, plan_log_query
from flightlog.query.results import (
    LogEntry,
    MatrixResult,
    QueryResult,
    QueryStats,
    ScalarResult,
    StreamResult,
    StreamsResult,
    VectorResult,
)
from flightlog.query.scan import Scanner, ScanRequest
from flightlog.query.vectors import (
    Scalar,
    Series,
    binary,
    drop_labels_for_grouping,
    label_replace,
    range_window_values,
    vector_aggregate,
)

__all__ = ["Engine", "QueryOutcome"]

DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    result: QueryResult
    stats: QueryStats


class _Context:
    def __init__(
        self, scanner: Scanner, limits: QueryLimits, steps: np.ndarray, stats: QueryStats
    ) -> None:
        self.scanner = scanner
        self.limits = limits
        self.steps = steps
        self.stats = stats


class Engine:
    """Evaluates LogQL over one store for one or more tenants."""

    def __init__(
        self, store: object, limits: TenantQueryLimits | QueryLimits | None = None
    ) -> None:
        self.store = store
        if isinstance(limits, QueryLimits):
            limits = TenantQueryLimits(default=limits)
        self.limits = limits or TenantQueryLimits()

    # ---- public entry points ---------------------------------------------------------

    def query_range(
        self,
        query: str,
        start_ns: int,
        end_ns: int,
        step_ns: int,
        tenants: Sequence[str],
        limit: int = DEFAULT_LIMIT,
        direction: Direction = Direction.BACKWARD,
        categorize_labels: bool = False,
        interval_ns: int = 0,
    ) -> QueryOutcome:
        """Evaluate ``query`` over [start, end]. ``interval_ns`` (log queries only, Loki's
        ``interval``): per stream, return an entry only once ``interval_ns`` has passed
        since the last one returned, in the query's direction."""
        expr = parse(query)
        limits = self.limits.for_tenants(list(tenants))
        self._check_range(limits, start_ns, end_ns)
        if isinstance(expr, ast.LogQuery):
            return self._run_log(
                expr,
                start_ns,
                end_ns,
                tenants,
                limits,
                limit,
                direction,
                categorize_labels,
                interval_ns,
            )
        if step_ns <= 0:
            raise QueryError(
                "zero or negative query resolution step widths are not accepted: try a positive integer"
            )
        points = (end_ns - start_ns) // step_ns + 1
        if points > limits.max_points_per_series:
            raise QueryError(
                f"exceeded maximum resolution of {limits.max_points_per_series} points per timeseries: "
                "try decreasing the query resolution (?step=XX)"
            )
        steps = start_ns + np.arange(points, dtype=np.int64) * step_ns
        return self._run_metric(expr, steps, tenants, limits, instant=False)

    def query_instant(
        self,
        query: str,
        time_ns: int,
        tenants: Sequence[str],
        limit: int = DEFAULT_LIMIT,
        direction: Direction = Direction.BACKWARD,
        categorize_labels: bool = False,
    ) -> QueryOutcome:
        expr = parse(query)
        limits = self.limits.for_tenants(list(tenants))
        if isinstance(expr, ast.LogQuery):
            # Loki 3.2 and later answer this with a 400: an instant has no range to read
            # logs over, and a silent fixed lookback confused Grafana users.
            raise QueryError(
                "log queries are not supported as an instant query type, "
                "please change your query to a range query type"
            )
        return self._run_metric(
            expr, np.array([time_ns], dtype=np.int64), tenants, limits, instant=True
        )

    def volume(
        self,
        query: str,
        start_ns: int,
        end_ns: int,
        tenants: Sequence[str],
        limit: int = 100,
        target_labels: Sequence[str] = (),
        aggregate_by_labels: bool = False,
    ) -> list[tuple[dict[str, str], int]]:
        """Bytes of log lines per group, largest first (Loki's ``/index/volume``).

        Groups are the selector's label names (or ``target_labels``); with
        ``aggregate_by_labels`` each label name is its own group (``{name: ""}``... one
        row per label name and value).
        """
        expr = parse(query)
        if not isinstance(expr, ast.LogQuery):
            raise QueryError('index/volume needs a stream selector such as {service="api"}')
        limits = self.limits.for_tenants(list(tenants))
        self._check_range(limits, start_ns, end_ns)
        plan = plan_log_query(
            ast.LogQuery(
                expr.matchers, tuple(s for s in expr.stages if isinstance(s, ast.LineFilter))
            )
        )
        with Scanner(self.store, tenants, limits.max_query_time_secs) as scanner:
            table = scanner.table(
                ScanRequest(plan, start_ns, end_ns, ("stream_id", "strlen(line) AS size"))
            )
            streams = scanner.streams
        names = tuple(target_labels) or tuple(dict.fromkeys(m.name for m in expr.matchers))
        totals: dict[Labels, int] = {}
        if table.num_rows:
            sids = table.column("stream_id").to_numpy()
            sizes = table.column("size").to_numpy()
            unique, inverse = np.unique(sids, return_inverse=True)
            per_stream = np.bincount(inverse, weights=sizes)
            for sid, total in zip(unique.tolist(), per_stream.tolist(), strict=True):
                labels = streams[sid]
                keys: list[Labels]
                if aggregate_by_labels:
                    keys = [
                        ((name, labels[name]),)
                        for name in labels
                        if not target_labels or name in names
                    ]
                else:
                    keys = [tuple(sorted((n, labels[n]) for n in names if n in labels))]
                for key in keys:
                    totals[key] = totals.get(key, 0) + int(total)
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [(dict(k), v) for k, v in ranked]

    # ---- checks ----------------------------------------------------------------------

    @staticmethod
    def _check_range(limits: QueryLimits, start_ns: int, end_ns: int) -> None:
        if end_ns < start_ns:
            raise QueryError("end timestamp must not be before start time")
        length_s = (end_ns - start_ns) / 1e9
        if length_s > limits.max_query_length_secs:
            raise QueryLimitError(
                "max_query_length",
                f"the query time range exceeds the limit (query length: {length_s:.0f}s, "
                f"limit: {limits.max_query_length_secs:.0f}s): shorten the time range",
            )

    # ---- log queries -----------------------------------------------------------------

    def _run_log(
        self,
        expr: ast.LogQuery,
        start_ns: int,
        end_ns: int,
        tenants: Sequence[str],
        limits: QueryLimits,
        limit: int,
        direction: Direction,
        categorize: bool,
        interval_ns: int = 0,
    ) -> QueryOutcome:
        if limit > limits.max_entries_limit_per_query:
            raise QueryLimitError(
                "max_entries_limit",
                f"max entries limit per query exceeded, limit > max_entries_limit_per_query "
                f"({limit} > {limits.max_entries_limit_per_query}): ask for fewer entries",
            )
        began = time.perf_counter()
        stats = QueryStats()
        plan = plan_log_query(expr)
        pipeline = Pipeline(plan.residual)
        order = "DESC" if direction is Direction.BACKWARD else "ASC"
        streams: dict[tuple[Labels, ...], list[LogEntry]] = {}
        stream_labels: dict[tuple[Labels, ...], dict[str, str]] = {}
        # DuckDB may apply the limit itself only when every scanned row is returned
        whole = pipeline.empty and interval_ns <= 0
        forward = direction is Direction.FORWARD
        accepted = 0
        with Scanner(self.store, tenants, limits.max_query_time_secs) as scanner:
            for slice_start, slice_end in _time_slices(start_ns, end_ns, direction, whole):
                request = ScanRequest(
                    plan,
                    slice_start,
                    slice_end,
                    ("stream_id", "ts", "line", "metadata"),
                    order=order,
                    limit=limit - accepted if whole else None,
                )
                with contextlib.closing(
                    scanner.batches(request, batch_rows=max(limit, 1024))
                ) as batches:
                    for batch in batches:
                        ids = batch.column(0).to_pylist()
                        stamps = batch.column(1).to_pylist()
                        lines = batch.column(2).to_pylist()
                        metadata = batch.column(3).to_pylist()
                        for sid, ts, line, meta in zip(ids, stamps, lines, metadata, strict=True):
                            stats.lines_processed += 1
                            stats.bytes_processed += len(line)
                            entry = pipeline.run(
                                ts, line, scanner.streams[sid], dict(meta) if meta else None
                            )
                            if entry is None:
                                continue
                            labels = dict(entry.stream) if categorize else entry.labels()
                            key: tuple[Labels, ...] = (tuple(sorted(labels.items())),)
                            kept = streams.get(key)
                            if interval_ns > 0 and kept:
                                since_last = ts - kept[-1].ts_ns if forward else kept[-1].ts_ns - ts
                                if since_last < interval_ns:
                                    continue
                            stream_labels.setdefault(key, dict(key[0]))
                            streams.setdefault(key, []).append(
                                LogEntry(ts, entry.line, entry.metadata, entry.parsed)
                            )
                            accepted += 1
                            if accepted >= limit:
                                break
                        if accepted >= limit:
                            break
                if accepted >= limit:
                    break
            stats.segments_read = scanner.segments_read
        results = tuple(
            StreamResult(stream_labels[key], tuple(entries))
            for key, entries in sorted(streams.items(), key=lambda kv: kv[0])
        )
        stats.entries_returned = accepted
        stats.exec_seconds = time.perf_counter() - began
        return QueryOutcome(StreamsResult(results, categorize), stats)

    # ---- metric queries --------------------------------------------------------------

    def _run_metric(
        self,
        expr: ast.Expr,
        steps: np.ndarray,
        tenants: Sequence[str],
        limits: QueryLimits,
        instant: bool,
    ) -> QueryOutcome:
        began = time.perf_counter()
        stats = QueryStats()
        with Scanner(self.store, tenants, limits.max_query_time_secs) as scanner:
            ctx = _Context(scanner, limits, steps, stats)
            value = self._eval(expr, ctx)
            stats.segments_read = scanner.segments_read
        stats.exec_seconds = time.perf_counter() - began
        if isinstance(value, Scalar):
            if instant:
                return QueryOutcome(ScalarResult(int(steps[0]), float(value.values[0])), stats)
            points = tuple((int(t), float(v)) for t, v in zip(steps, value.values, strict=True))
            return QueryOutcome(MatrixResult((({}, points),)), stats)
        self._check_series(value, limits)
        if instant:
            samples = [
                (dict(labels), float(values[0]))
                for labels, values in value.items()
                if not np.isnan(values[0])
            ]
            samples = _sort_instant(expr, samples)
            stats.entries_returned = len(samples)
            return QueryOutcome(VectorResult(int(steps[0]), tuple(samples)), stats)
        series = []
        for labels in sorted(value):
            values = value[labels]
            present = np.flatnonzero(~np.isnan(values))
            if len(present):
                series.append(
                    (dict(labels), tuple((int(steps[i]), float(values[i])) for i in present))
                )
        return QueryOutcome(MatrixResult(tuple(series)), stats)

    @staticmethod
    def _check_series(value: Series, limits: QueryLimits) -> None:
        if len(value) > limits.max_query_series:
            raise QueryLimitError(
                "max_query_series",
                f"maximum number of series ({limits.max_query_series}) reached for a single query: "
                "add a selector or aggregate with sum by (...)",
            )

    def _eval(self, expr: ast.Expr, ctx: _Context) -> Series | Scalar:
        n = len(ctx.steps)
        if isinstance(expr, ast.NumberLiteral):
            return Scalar(np.full(n, expr.value))
        if isinstance(expr, ast.VectorLiteral):
            return {(): np.full(n, expr.value)}
        if isinstance(expr, ast.RangeAggregation):
            series = self._range(expr, ctx)
            self._check_series(series, ctx.limits)
            return series
        if isinstance(expr, ast.VectorAggregation):
            inner = self._eval(expr.expr, ctx)
            if isinstance(inner, Scalar):
                raise QueryError(f"{expr.op} needs a vector, not a scalar")
            return vector_aggregate(expr, inner, n)
        if isinstance(expr, ast.BinaryOp):
            return binary(expr, self._eval(expr.left, ctx), self._eval(expr.right, ctx))
        if isinstance(expr, ast.LabelReplace):
            inner = self._eval(expr.expr, ctx)
            if isinstance(inner, Scalar):
                raise QueryError("label_replace needs a vector, not a scalar")
            return label_replace(expr, inner)
        raise QueryError("a log query cannot be used where a metric is expected")

    def _range(self, agg: ast.RangeAggregation, ctx: _Context) -> Series:
        plan = plan_log_query(agg.log)
        steps = ctx.steps
        # Window of step t is (t - offset - range, t - offset]: scan [lo + 1, hi + 1).
        lo = int(steps[0]) - agg.offset_ns - agg.range_ns + 1
        hi = int(steps[-1]) - agg.offset_ns + 1
        needs_bytes = agg.op in (ast.RangeOp.BYTES_OVER_TIME, ast.RangeOp.BYTES_RATE)
        weights: dict[Labels, np.ndarray] = {}
        if not plan.residual and agg.unwrap is None:
            cells, rows = bucketed_samples(agg, plan, lo, hi, steps, ctx.scanner, needs_bytes)
            ctx.stats.lines_processed += rows
            samples = {labels: (ts, None, sizes) for labels, (ts, _, sizes) in cells.items()}
            weights = {labels: counts for labels, (_, counts, _) in cells.items()}
        else:
            fast = json_unwrap_samples(agg, plan, lo, hi, ctx.scanner)
            samples = (
                fast
                if fast is not None
                else self._python_samples(agg, plan, lo, hi, ctx, needs_bytes)
            )
        if agg.op is ast.RangeOp.ABSENT_OVER_TIME:
            return _absent(agg, samples, steps)
        result: Series = {}
        for labels, (ts, values, sizes) in samples.items():
            out = range_window_values(
                agg.op,
                ts,
                values,
                sizes,
                steps,
                agg.range_ns,
                agg.offset_ns,
                agg.param,
                weights.get(labels),
            )
            if not np.all(np.isnan(out)):
                result[labels] = out
        return result

    def _python_samples(
        self,
        agg: ast.RangeAggregation,
        plan: LogPlan,
        lo: int,
        hi: int,
        ctx: _Context,
        needs_bytes: bool,
    ) -> dict[Labels, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
        pipeline = Pipeline(plan.residual)
        unwrap = agg.unwrap
        post = [label_predicate(f) for f in unwrap.post_filters] if unwrap is not None else []
        grouping = agg.grouping
        # ``by (a, b)``: the key is those labels alone, read from the entry without
        # merging all its labels (the error labels are never part of a key).
        by_names = (
            tuple(sorted(set(grouping.labels) - {ERROR_LABEL, ERROR_DETAILS_LABEL}))
            if grouping is not None and not grouping.without
            else None
        )
        collected: dict[Labels, tuple[list[int], list[float]]] = {}
        request = ScanRequest(plan, lo, hi, ("stream_id", "ts", "line", "metadata"))
        for batch in ctx.scanner.batches(request):
            ids = batch.column(0).to_pylist()
            stamps = batch.column(1).to_pylist()
            lines = batch.column(2).to_pylist()
            metadata = batch.column(3).to_pylist()
            streams = ctx.scanner.streams
            for sid, ts, line, meta in zip(ids, stamps, lines, metadata, strict=True):
                ctx.stats.lines_processed += 1
                ctx.stats.bytes_processed += len(line)
                entry = pipeline.run(ts, line, streams[sid], dict(meta) if meta else None)
                if entry is None:
                    continue
                if unwrap is not None:
                    value = unwrap_value(entry, unwrap)
                    if not all(p(entry) for p in post):
                        continue
                    entry.delete(unwrap.label)
                else:
                    value = float(len(entry.line.encode())) if needs_bytes else 1.0
                error = entry.get(ERROR_LABEL)
                if error:
                    raise QueryError(
                        f"pipeline error: '{error}' for series: '{_format(entry.labels())}'. "
                        f'Use a label filter to intentionally skip this error. (e.g | __error__!="{error}")'
                    )
                if by_names is not None:
                    key = tuple(
                        (name, label_value)
                        for name in by_names
                        if (label_value := entry.get(name)) is not None
                    )
                else:
                    labels = entry.labels()
                    labels.pop(ERROR_LABEL, None)
                    labels.pop(ERROR_DETAILS_LABEL, None)
                    key = tuple(sorted(labels.items()))
                    if grouping is not None:
                        key = drop_labels_for_grouping(key, grouping)
                bucket = collected.get(key)
                if bucket is None:
                    bucket = collected[key] = ([], [])
                bucket[0].append(ts)
                bucket[1].append(value if value is not None else np.nan)
            if len(collected) > ctx.limits.max_query_series * 10:
                self._check_series(collected, ctx.limits)  # type: ignore[arg-type]
        out: dict[Labels, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] = {}
        for key, (stamps_list, values_list) in collected.items():
            ts_arr = np.asarray(stamps_list, dtype=np.int64)
            val_arr = np.asarray(values_list, dtype=np.float64)
            order = np.argsort(ts_arr, kind="stable")
            ts_arr, val_arr = ts_arr[order], val_arr[order]
            if unwrap is not None:
                out[key] = (ts_arr, val_arr, None)
            else:
                out[key] = (ts_arr, None, val_arr.astype(np.int64) if needs_bytes else None)
        return out


def _time_slices(
    start_ns: int, end_ns: int, direction: Direction, whole: bool
) -> list[tuple[int, int]]:
    """Windows to scan in order: the whole range when DuckDB applies the limit itself, else
    growing slices from the newest (backward) or oldest end, so a selective Python
    pipeline that fills the limit early never sorts the whole range."""
    if whole or end_ns - start_ns <= 0:
        return [(start_ns, end_ns)]
    slices: list[tuple[int, int]] = []
    width = max((end_ns - start_ns) // 64, 1)
    if direction is Direction.BACKWARD:
        upper = end_ns
        while upper > start_ns:
            lower = max(start_ns, upper - width)
            slices.append((lower, upper))
            upper, width = lower, width * 2
    else:
        lower = start_ns
        while lower < end_ns:
            upper = min(end_ns, lower + width)
            slices.append((lower, upper))
            lower, width = upper, width * 2
    return slices


def _format(labels: dict[str, str]) -> str:
    from flightlog.model import format_labels

    return format_labels(labels)


def _absent(agg: ast.RangeAggregation, samples: dict, steps: np.ndarray) -> Series:  # type: ignore[type-arg]
    present = np.zeros(len(steps), dtype=bool)
    for ts, _values, _sizes in samples.values():
        counts = range_window_values(
            ast.RangeOp.COUNT_OVER_TIME, ts, None, None, steps, agg.range_ns, agg.offset_ns, None
        )
        present |= ~np.isnan(counts)
    if present.all():
        return {}
    labels = tuple(sorted((m.name, m.value) for m in agg.log.matchers if m.op is MatchOp.EQ))
    return {labels: np.where(present, np.nan, 1.0)}


def _sort_instant(
    expr: ast.Expr, samples: list[tuple[dict[str, str], float]]
) -> list[tuple[dict[str, str], float]]:
    if isinstance(expr, ast.VectorAggregation) and expr.op in (
        ast.VectorOp.SORT,
        ast.VectorOp.SORT_DESC,
    ):
        return sorted(samples, key=lambda s: s[1], reverse=expr.op is ast.VectorOp.SORT_DESC)
    if isinstance(expr, ast.VectorAggregation) and expr.op in (
        ast.VectorOp.TOPK,
        ast.VectorOp.BOTTOMK,
    ):
        return sorted(samples, key=lambda s: s[1], reverse=expr.op is ast.VectorOp.TOPK)
    return sorted(samples, key=lambda s: sorted(s[0].items()))
