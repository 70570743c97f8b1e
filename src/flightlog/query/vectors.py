"""Step-aligned series arithmetic: range windows, vector aggregations, binary operators.

A metric expression evaluates to ``Series`` (label set → one float per step, NaN where
the series has no sample) or ``Scalar`` (one float per step). Semantics follow Loki's and
Prometheus' documentation: each step ``t`` of a range aggregation covers the window
``(t - offset - range, t - offset]``; comparisons without ``bool`` filter; set operators
match on label sets; ``on``/``ignoring`` and ``group_left/right`` pick the matching
signature and the many side.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import re2

from flightlog.errors import QueryError
from flightlog.model import Labels
from flightlog.query import ast

__all__ = [
    "Scalar",
    "Series",
    "binary",
    "drop_labels_for_grouping",
    "label_replace",
    "range_window_values",
    "vector_aggregate",
]

Series = dict[Labels, np.ndarray]


@dataclass(frozen=True, slots=True)
class Scalar:
    values: np.ndarray


def range_window_values(
    op: ast.RangeOp,
    ts: np.ndarray,
    values: np.ndarray | None,
    sizes: np.ndarray | None,
    steps: np.ndarray,
    range_ns: int,
    offset_ns: int,
    param: float | None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """One value per step for one series of samples (``ts`` sorted ascending).

    ``weights``: how many entries each sample stands for (counted cells, see buckets)."""
    ends = steps - offset_ns
    hi = np.searchsorted(ts, ends, side="right")
    lo = np.searchsorted(ts, ends - range_ns, side="right")
    if weights is None:
        counts = (hi - lo).astype(np.float64)
    else:
        cumulative_weights = np.concatenate(([0], np.cumsum(weights, dtype=np.int64)))
        counts = (cumulative_weights[hi] - cumulative_weights[lo]).astype(np.float64)
    out = np.full(len(steps), np.nan)
    present = counts > 0
    range_s = range_ns / 1e9
    if op is ast.RangeOp.COUNT_OVER_TIME:
        out[present] = counts[present]
        return out
    if op is ast.RangeOp.RATE and values is None:
        out[present] = counts[present] / range_s
        return out
    if op in (ast.RangeOp.BYTES_OVER_TIME, ast.RangeOp.BYTES_RATE):
        assert sizes is not None
        cumulative = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
        totals = (cumulative[hi] - cumulative[lo]).astype(np.float64)
        out[present] = totals[present] / (range_s if op is ast.RangeOp.BYTES_RATE else 1.0)
        return out
    assert values is not None
    reducer = _REDUCERS[op]
    for i in np.flatnonzero(present):
        out[i] = reducer(values[lo[i] : hi[i]], range_s, param)
    return out


def _quantile(window: np.ndarray, q: float) -> float:
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = np.sort(window)
    rank = q * (len(ordered) - 1)
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    weight = rank - lower
    return float(ordered[lower] * (1 - weight) + ordered[upper] * weight)


def _rate_counter(window: np.ndarray, range_s: float) -> float:
    increase = 0.0
    previous = window[0]
    for value in window[1:]:
        increase += value - previous if value >= previous else value
        previous = value
    return increase / range_s


def _sequential_sum(window: np.ndarray) -> float:
    total = 0.0
    for v in window.tolist():
        total += v
    return total


_REDUCERS: dict[ast.RangeOp, Callable[[np.ndarray, float, float | None], float]] = {
    ast.RangeOp.RATE: lambda w, r, p: _sequential_sum(w) / r,
    ast.RangeOp.RATE_COUNTER: lambda w, r, p: _rate_counter(w, r),
    ast.RangeOp.SUM_OVER_TIME: lambda w, r, p: _sequential_sum(w),
    ast.RangeOp.AVG_OVER_TIME: lambda w, r, p: _sequential_sum(w) / len(w),
    ast.RangeOp.MIN_OVER_TIME: lambda w, r, p: float(w.min()),
    ast.RangeOp.MAX_OVER_TIME: lambda w, r, p: float(w.max()),
    ast.RangeOp.STDVAR_OVER_TIME: lambda w, r, p: float(np.var(w)),
    ast.RangeOp.STDDEV_OVER_TIME: lambda w, r, p: float(np.std(w)),
    ast.RangeOp.QUANTILE_OVER_TIME: lambda w, r, p: _quantile(w, p if p is not None else 0.5),
    ast.RangeOp.FIRST_OVER_TIME: lambda w, r, p: float(w[0]),
    ast.RangeOp.LAST_OVER_TIME: lambda w, r, p: float(w[-1]),
}


def drop_labels_for_grouping(labels: Labels, grouping: ast.Grouping | None) -> Labels:
    """The group key of ``labels`` under ``by (...)`` / ``without (...)`` (None: no labels)."""
    if grouping is None:
        return ()
    if grouping.without:
        return tuple((k, v) for k, v in labels if k not in grouping.labels)
    return tuple((k, v) for k, v in labels if k in grouping.labels)


def vector_aggregate(agg: ast.VectorAggregation, series: Series, n_steps: int) -> Series:
    op = agg.op
    if op in (ast.VectorOp.SORT, ast.VectorOp.SORT_DESC):
        return dict(series)
    groups: dict[Labels, list[Labels]] = {}
    for labels in series:
        groups.setdefault(drop_labels_for_grouping(labels, agg.grouping), []).append(labels)
    result: Series = {}
    if op in (ast.VectorOp.TOPK, ast.VectorOp.BOTTOMK):
        k = int(agg.param or 1)
        for members in groups.values():
            matrix = np.vstack([series[m] for m in members])
            keyed = np.where(
                np.isnan(matrix), -np.inf if op is ast.VectorOp.TOPK else np.inf, matrix
            )
            order = np.argsort(-keyed if op is ast.VectorOp.TOPK else keyed, axis=0, kind="stable")
            chosen = np.zeros(matrix.shape, dtype=bool)
            for rank in range(min(k, len(members))):
                chosen[order[rank], np.arange(n_steps)] = True
            chosen &= ~np.isnan(matrix)
            for row, labels in enumerate(members):
                if chosen[row].any():
                    result[labels] = np.where(chosen[row], matrix[row], np.nan)
        return result
    for key, members in groups.items():
        matrix = np.vstack([series[m] for m in members])
        present = ~np.isnan(matrix)
        count = present.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            if op is ast.VectorOp.SUM:
                values = np.nansum(matrix, axis=0)
            elif op is ast.VectorOp.COUNT:
                values = count.astype(np.float64)
            elif op is ast.VectorOp.AVG:
                values = np.nansum(matrix, axis=0) / count
            elif op is ast.VectorOp.MIN:
                values = np.nanmin(np.where(present, matrix, np.inf), axis=0)
            elif op is ast.VectorOp.MAX:
                values = np.nanmax(np.where(present, matrix, -np.inf), axis=0)
            elif op in (ast.VectorOp.STDDEV, ast.VectorOp.STDVAR):
                mean = np.nansum(matrix, axis=0) / count
                var = np.nansum(np.where(present, (matrix - mean) ** 2, 0.0), axis=0) / count
                values = np.sqrt(var) if op is ast.VectorOp.STDDEV else var
            else:
                raise QueryError(f"unsupported aggregation {op}")
        result[key] = np.where(count > 0, values, np.nan)
    return result


def label_replace(node: ast.LabelReplace, series: Series) -> Series:
    regex = re2.compile(f"^(?:{node.regex})$")
    template = _go_replacement(node.replacement)
    result: Series = {}
    for labels, values in series.items():
        mapping = dict(labels)
        match = regex.match(mapping.get(node.src, ""))
        if match is not None:
            new_value = match.expand(template)
            if new_value:
                mapping[node.dst] = new_value
            else:
                mapping.pop(node.dst, None)
        key = tuple(sorted(mapping.items()))
        result[key] = (
            values if key not in result else np.where(np.isnan(result[key]), values, result[key])
        )
    return result


def _go_replacement(replacement: str) -> str:
    """Turn Go's ``$1`` / ``${name}`` replacement syntax into Python's ``\\g<...>``."""
    out = []
    i = 0
    while i < len(replacement):
        ch = replacement[i]
        if ch == "$" and i + 1 < len(replacement):
            if replacement[i + 1] == "{":
                end = replacement.find("}", i)
                if end > 0:
                    out.append(f"\\g<{replacement[i + 2 : end]}>")
                    i = end + 1
                    continue
            j = i + 1
            while j < len(replacement) and (replacement[j].isalnum() or replacement[j] == "_"):
                j += 1
            if j > i + 1:
                out.append(f"\\g<{replacement[i + 1 : j]}>")
                i = j
                continue
        out.append(ch.replace("\\", "\\\\"))
        i += 1
    return "".join(out)


# ---- binary operators ----------------------------------------------------------------


def _arith(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return np.divide(a, b)
        if op == "%":
            return np.fmod(a, b)
        if op == "^":
            return np.power(a, b)
        if op == "==":
            return (a == b).astype(np.float64)
        if op == "!=":
            return (a != b).astype(np.float64)
        if op == ">":
            return (a > b).astype(np.float64)
        if op == ">=":
            return (a >= b).astype(np.float64)
        if op == "<":
            return (a < b).astype(np.float64)
        if op == "<=":
            return (a <= b).astype(np.float64)
    raise QueryError(f"unknown operator {op}")


def _combine(
    node: ast.BinaryOp, left: np.ndarray, right: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """Values of one output series: arithmetic, or a comparison (filter or bool)."""
    raw = _arith(node.op, left, right)
    missing = np.isnan(left) | np.isnan(right)
    if node.op in ast.COMPARISON_OPS:
        if node.return_bool:
            return np.where(missing, np.nan, raw)
        return np.where(missing | (raw == 0), np.nan, keep)
    return np.where(missing, np.nan, raw)


def _signature(labels: Labels, matching: ast.VectorMatching | None) -> Labels:
    if matching is None:
        return labels
    if matching.on:
        return tuple((k, v) for k, v in labels if k in matching.labels)
    return tuple((k, v) for k, v in labels if k not in matching.labels)


def binary(node: ast.BinaryOp, left: Series | Scalar, right: Series | Scalar) -> Series | Scalar:
    op = node.op
    if op in ast.SET_OPS:
        if isinstance(left, Scalar) or isinstance(right, Scalar):
            raise QueryError(f"set operator {op} is only allowed between vectors")
        return _set_op(node, left, right)
    if isinstance(left, Scalar) and isinstance(right, Scalar):
        if op in ast.COMPARISON_OPS and not node.return_bool:
            raise QueryError("comparisons between scalars must use the bool modifier")
        return Scalar(_arith(op, left.values, right.values))
    if isinstance(left, Scalar) or isinstance(right, Scalar):
        result: Series = {}
        if isinstance(right, Scalar):
            for labels, values in left.items():  # type: ignore[union-attr]
                out = _combine(node, values, right.values, values)
                if not np.all(np.isnan(out)):
                    result[labels] = out
        else:
            assert isinstance(left, Scalar)
            for labels, values in right.items():
                out = _combine(node, left.values, values, values)
                if not np.all(np.isnan(out)):
                    result[labels] = out
        return result
    return _vector_vector(node, left, right)


def _vector_vector(node: ast.BinaryOp, left: Series, right: Series) -> Series:
    """Match series by signature, step by step as PromQL does: two "one"-side series with
    the same signature are an error only at a step where both have a sample, and two
    results with the same labels only where both have a value."""
    matching = node.matching
    group = matching.group if matching is not None else None
    many, one = (left, right) if group != "right" else (right, left)
    one_by_signature: dict[Labels, list[Labels]] = {}
    for labels in one:
        one_by_signature.setdefault(_signature(labels, matching), []).append(labels)
    for members in one_by_signature.values():
        if len(members) > 1:
            present = np.sum([~np.isnan(one[labels]) for labels in members], axis=0)
            if np.any(present > 1):
                raise QueryError(
                    "found duplicate series for the match group on the "
                    f"{'left' if group == 'right' else 'right'}-hand side of the operation: "
                    "use on(...)/ignoring(...) with group_left/group_right, or aggregate first"
                )
    result: Series = {}
    matched: dict[Labels, np.ndarray] = {}  # one-to-one: the steps each signature matched
    for many_labels, many_values in many.items():
        signature = _signature(many_labels, matching)
        for one_labels in one_by_signature.get(signature, ()):
            one_values = one[one_labels]
            lhs, rhs = (many_values, one_values) if group != "right" else (one_values, many_values)
            out = _combine(node, lhs, rhs, lhs)
            kept = ~np.isnan(out)
            if not kept.any():
                continue
            out_labels = _result_labels(many_labels, one_labels, matching)
            if group is None:
                before = matched.get(signature)
                if before is not None and np.any(before & kept):
                    raise QueryError(
                        "multiple matches for labels: many-to-one matching must be explicit "
                        "(group_left/group_right)"
                    )
                matched[signature] = kept if before is None else before | kept
            existing = result.get(out_labels)
            if existing is None:
                result[out_labels] = out
                continue
            if np.any(~np.isnan(existing) & kept):
                raise QueryError(
                    "multiple matches for labels: grouping labels must ensure unique matches"
                )
            result[out_labels] = np.where(kept, out, existing)
    return result


def _result_labels(many: Labels, one: Labels, matching: ast.VectorMatching | None) -> Labels:
    if matching is None:
        return many
    if matching.group is None:
        return _signature(many, matching)
    mapping = dict(many)
    one_map = dict(one)
    for name in matching.include:
        if name in one_map:
            mapping[name] = one_map[name]
        else:
            mapping.pop(name, None)
    return tuple(sorted(mapping.items()))


def _set_op(node: ast.BinaryOp, left: Series, right: Series) -> Series:
    matching = node.matching
    right_by_sig: dict[Labels, list[np.ndarray]] = {}
    for labels, values in right.items():
        right_by_sig.setdefault(_signature(labels, matching), []).append(values)

    def right_present(labels: Labels, n: int) -> np.ndarray:
        present = np.zeros(n, dtype=bool)
        for values in right_by_sig.get(_signature(labels, matching), []):
            present |= ~np.isnan(values)
        return present

    result: Series = {}
    if node.op == "and":
        for labels, values in left.items():
            out = np.where(right_present(labels, len(values)), values, np.nan)
            if not np.all(np.isnan(out)):
                result[labels] = out
        return result
    if node.op == "unless":
        for labels, values in left.items():
            out = np.where(right_present(labels, len(values)), np.nan, values)
            if not np.all(np.isnan(out)):
                result[labels] = out
        return result
    # or: all of left, plus right series whose signature has no left sample at that step
    result = {k: v for k, v in left.items()}
    left_present: dict[Labels, np.ndarray] = {}
    for labels, values in left.items():
        sig = _signature(labels, matching)
        mask = ~np.isnan(values)
        left_present[sig] = left_present[sig] | mask if sig in left_present else mask
    for labels, values in right.items():
        sig = _signature(labels, matching)
        blocked = left_present.get(sig)
        out = values if blocked is None else np.where(blocked, np.nan, values)
        if not np.all(np.isnan(out)):
            result[labels] = (
                out
                if labels not in result
                else np.where(np.isnan(result[labels]), out, result[labels])
            )
    return result
