"""A vectorised path for ``<range op>({...} | json [| __error__=""] | unwrap X [r]) by (stream labels)``.

This is the shape of most latency dashboards. Instead of parsing every line in Python,
DuckDB extracts the one field (``json_extract_string(line, '$."X"')``) and checks that the
line is a JSON object. The result equals the general path's whenever it applies; when in
doubt it declines (returns ``None``) and the engine runs the general per-entry pipeline:

* grouping is ``by (...)`` over labels every matched stream has (a parsed label can then
  never shadow a group label: a collision becomes ``<name>_extracted``), and the
  unwrapped label is not a stream label;
* no entry carries structured metadata (which could shadow labels);
* every extracted value converts to a float; a missing or nested value (Loki's
  flattening could still produce the label) declines.

A line that is not a JSON object is dropped by ``| __error__=""``; without that filter it
fails the query exactly as the general path does (``pipeline error: 'JSONParserErr'``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flightlog.errors import QueryError
from flightlog.model import Labels, format_labels
from flightlog.query import ast
from flightlog.query.plan import LogPlan
from flightlog.query.scan import Scanner, ScanRequest

__all__ = ["json_unwrap_samples"]

Samples = dict[Labels, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]


def _shape_applies(agg: ast.RangeAggregation, plan: LogPlan) -> bool | None:
    """None when the shape does not apply; else whether ``| __error__=""`` drops bad lines."""
    unwrap = agg.unwrap
    if unwrap is None or unwrap.conversion is not ast.UnwrapConversion.NONE or unwrap.post_filters:
        return None
    if agg.grouping is None or agg.grouping.without:
        return None
    residual = plan.residual
    if not residual or residual[0] != ast.JsonParser():
        return None
    if len(residual) == 1:
        return False
    no_error = ast.LabelFilter(ast.StringFilter("__error__", ast.CompareOp.EQ, ""))
    no_error2 = ast.LabelFilter(ast.StringFilter("__error__", ast.CompareOp.EQ2, ""))
    if len(residual) == 2 and residual[1] in (no_error, no_error2):
        return True
    return None


def _sql_path(label: str) -> str:
    return "'$.\"" + label.replace("'", "''").replace('"', '\\"') + "\"'"


def json_unwrap_samples(
    agg: ast.RangeAggregation, plan: LogPlan, lo: int, hi: int, scanner: Scanner
) -> Samples | None:
    drop_errors = _shape_applies(agg, plan)
    if drop_errors is None:
        return None
    assert agg.unwrap is not None and agg.grouping is not None
    label = agg.unwrap.label
    # Only lines that start with "{" can be JSON objects: skip parsing the others.
    valid = "(CASE WHEN starts_with(ltrim(line), '{') THEN json_valid(line) ELSE false END)"
    columns = (
        "stream_id",
        "ts",
        "line",
        f"{valid} AS ok",
        "cardinality(metadata) > 0 AS has_metadata",
    )
    outer = (
        "stream_id",
        "ts",
        f"CASE WHEN ok THEN json_extract_string(line, {_sql_path(label)}) END AS value",
        "ok",
        "has_metadata",
    )
    pushed_only = LogPlan(plan.matchers, plan.pushed_filters, plan.needles, (), plan.alternatives)
    table = scanner.table(ScanRequest(pushed_only, lo, hi, columns, outer_columns=outer))
    if table.num_rows == 0:
        return {}
    streams = scanner.streams
    group_names = agg.grouping.labels
    for labels in streams.values():
        if label in labels or any(name not in labels for name in group_names):
            return None
    if pc.any(table.column("has_metadata")).as_py():
        return None
    ok = table.column("ok").to_numpy(zero_copy_only=False)
    if not drop_errors and not ok.all():
        bad = int(table.column("stream_id")[int(np.flatnonzero(~ok)[0])].as_py())
        raise QueryError(
            f"pipeline error: 'JSONParserErr' for series: '{format_labels({**streams[bad], '__error__': 'JSONParserErr'})}'. "
            'Use a label filter to intentionally skip this error. (e.g | __error__!="JSONParserErr")'
        )
    table = table.filter(pa.array(ok))
    if table.num_rows == 0:
        return {}
    raw = table.column("value")
    if raw.null_count:
        return None  # a missing or nested field: let the general path decide
    try:
        values = pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    sids = table.column("stream_id").to_numpy()
    ts = table.column("ts").to_numpy()
    keys: dict[int, Labels] = {}
    group_index: dict[Labels, int] = {}
    stream_group = {}
    for sid in np.unique(sids).tolist():
        labels = streams[sid]
        key = tuple(sorted((name, labels[name]) for name in group_names))
        keys[sid] = key
        stream_group[sid] = group_index.setdefault(key, len(group_index))
    lookup_ids = np.array(list(stream_group), dtype=sids.dtype)
    lookup_groups = np.array(list(stream_group.values()), dtype=np.int64)
    order_ids = np.argsort(lookup_ids)
    groups = lookup_groups[order_ids][np.searchsorted(lookup_ids[order_ids], sids)]
    order = np.lexsort((ts, groups))
    groups, ts, values = groups[order], ts[order], values[order]
    result: Samples = {}
    boundaries = np.flatnonzero(np.diff(groups)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(groups)]))
    names = {index: key for key, index in group_index.items()}
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        result[names[int(groups[start])]] = (ts[start:end], values[start:end], None)
    return result
