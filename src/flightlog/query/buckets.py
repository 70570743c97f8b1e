"""Counting rows in DuckDB for range aggregations that need only (stream, time[, bytes]).

``count_over_time``, ``rate``, ``bytes_over_time``, ``bytes_rate`` and ``absent_over_time``
over a selector and line filters need, per stream, how many rows (and bytes) fall in each
window ``(t - offset - range, t - offset]``. Those windows start and end on the grid
``anchor + k * grid`` (``anchor`` = first step - offset, ``grid`` = gcd(step, range)), so
DuckDB groups the rows into grid cells ``(edge - grid, edge]`` and returns one row per
stream and cell, stamped with the cell's right edge and weighted by its row count. A cell
lies wholly inside or outside each window, so window counts and sums stay exact, and no
more rows come back than were read (usually far fewer: one per stream and step).
"""

from __future__ import annotations

import math

import numpy as np

from flightlog.model import Labels
from flightlog.query import ast
from flightlog.query.plan import LogPlan
from flightlog.query.scan import Scanner, ScanRequest

__all__ = ["BucketedSamples", "bucketed_samples"]

# labels -> (cell right edges ascending, rows per cell, bytes per cell or None)
BucketedSamples = dict[Labels, tuple[np.ndarray, np.ndarray, np.ndarray | None]]


def bucketed_samples(
    agg: ast.RangeAggregation,
    plan: LogPlan,
    lo: int,
    hi: int,
    steps: np.ndarray,
    scanner: Scanner,
    needs_bytes: bool,
) -> tuple[BucketedSamples, int]:
    """Per-series cells of the rows with ``lo <= ts < hi``, and how many rows they hold."""
    step = int(steps[1] - steps[0]) if len(steps) > 1 else agg.range_ns
    grid = math.gcd(step, agg.range_ns) or agg.range_ns
    anchor = int(steps[0]) - agg.offset_ns
    # On the grid and below every scanned ts (lo = anchor - range + 1), so the integer
    # division below only ever sees positive numbers.
    base = anchor - agg.range_ns - grid
    columns = ("stream_id", "ts") + (("strlen(line) AS size",) if needs_bytes else ())
    sizes = ", sum(size)::BIGINT AS size" if needs_bytes else ""
    outer = (
        f"SELECT stream_id, {base} + ((ts - {base} + {grid - 1}) // {grid}) * {grid} AS ts,"
        f" count(*) AS n{sizes} FROM ({{rows}}) GROUP BY 1, 2"
    )
    table = scanner.table(ScanRequest(plan, lo, hi, columns, outer_query=outer))
    if table.num_rows == 0:
        return {}, 0
    sids = table.column("stream_id").to_numpy()
    edges = table.column("ts").to_numpy()
    counts = table.column("n").to_numpy().astype(np.int64)
    cell_bytes = table.column("size").to_numpy().astype(np.int64) if needs_bytes else None
    order = np.lexsort((edges, sids))
    sids, edges, counts = sids[order], edges[order], counts[order]
    if cell_bytes is not None:
        cell_bytes = cell_bytes[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sids)) + 1))
    ends = np.concatenate((starts[1:], [len(sids)]))
    out: BucketedSamples = {}
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        labels = tuple(sorted(scanner.streams[int(sids[start])].items()))
        piece = (
            edges[start:end],
            counts[start:end],
            cell_bytes[start:end] if cell_bytes is not None else None,
        )
        if labels in out:  # the same labels in two tenants: one series
            old = out[labels]
            merged = np.argsort(np.concatenate((old[0], piece[0])), kind="stable")
            out[labels] = (
                np.concatenate((old[0], piece[0]))[merged],
                np.concatenate((old[1], piece[1]))[merged],
                np.concatenate((old[2], piece[2]))[merged] if piece[2] is not None else None,  # type: ignore[arg-type]
            )
        else:
            out[labels] = piece
    return out, int(counts.sum())
