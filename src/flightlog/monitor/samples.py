"""Feature samples ready for drift tests: sorted numbers or category counts, plus missing rows.

A column (numpy array, pyarrow array, list) becomes a ``NumericSample`` (finite values
sorted once; NaN, None and ±inf count as missing) or a ``CategoricalSample`` (counts per
category as text, so ``1`` from a JSON log and ``"1"`` from a CSV are the same category;
None and NaN count as missing).

The reference decides each feature's kind; the current sample is built with the same kind
(``samples_like``) so a feature logged as numbers is not compared as categories.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flightlog.errors import MonitorError

__all__ = [
    "CategoricalSample",
    "FeatureSample",
    "NumericSample",
    "categorical_sample",
    "numeric_sample",
    "profile",
    "samples_like",
]


@dataclass(frozen=True, slots=True)
class NumericSample:
    sorted_values: np.ndarray
    missing: int

    @property
    def rows(self) -> int:
        return int(self.sorted_values.shape[0]) + self.missing

    @property
    def missing_rate(self) -> float:
        return self.missing / self.rows if self.rows else 0.0


@dataclass(frozen=True, slots=True)
class CategoricalSample:
    counts: Mapping[str, int] = field(default_factory=dict)
    missing: int = 0

    @property
    def rows(self) -> int:
        return sum(self.counts.values()) + self.missing

    @property
    def missing_rate(self) -> float:
        return self.missing / self.rows if self.rows else 0.0


FeatureSample = NumericSample | CategoricalSample


def numeric_sample(values: Any, name: str = "feature") -> NumericSample:
    """Sort the finite values of a column; everything else is missing."""
    array = _to_float_array(values, name)
    finite = np.isfinite(array)
    kept = array[finite] if not finite.all() else array
    return NumericSample(np.sort(kept), int(array.shape[0] - kept.shape[0]))


def categorical_sample(values: Any) -> CategoricalSample:
    """Count each category (as text) of a column; None and NaN are missing."""
    arrow = _as_arrow(values)
    if arrow is not None:
        import pyarrow.compute as pc

        missing = arrow.null_count
        counts: dict[str, int] = {}
        for item in pc.value_counts(arrow.drop_null()).to_pylist():
            key = _category(item["values"])
            if key is None:
                missing += item["counts"]
            else:
                counts[key] = counts.get(key, 0) + item["counts"]
        return CategoricalSample(counts, missing)
    counter: Counter[str] = Counter()
    missing = 0
    for value in _iterate(values):
        key = _category(value)
        if key is None:
            missing += 1
        else:
            counter[key] += 1
    return CategoricalSample(dict(counter), missing)


def profile(
    columns: Mapping[str, Any], categorical: Iterable[str] = (), workers: int = 4
) -> dict[str, FeatureSample]:
    """Samples for every column, the kind inferred from its type unless named ``categorical``.

    Numeric columns are sorted on ``workers`` threads (numpy's sort releases the GIL).
    """
    forced = set(categorical)
    kinds = {
        name: name not in forced and _looks_numeric(values) for name, values in columns.items()
    }
    return _build(columns, kinds, workers)


def samples_like(
    reference: Mapping[str, FeatureSample], columns: Mapping[str, Any], workers: int = 4
) -> dict[str, FeatureSample]:
    """Samples of the current columns, each with the kind its reference feature has."""
    kinds = {
        name: isinstance(reference[name], NumericSample) for name in columns if name in reference
    }
    return _build(columns, kinds, workers)


def _build(
    columns: Mapping[str, Any], numeric: Mapping[str, bool], workers: int
) -> dict[str, FeatureSample]:
    def one(name: str) -> FeatureSample:
        values = columns[name]
        return numeric_sample(values, name) if numeric[name] else categorical_sample(values)

    names = list(numeric)
    if workers <= 1 or len(names) <= 1:
        return {name: one(name) for name in names}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def _looks_numeric(values: Any) -> bool:
    arrow = _as_arrow(values)
    if arrow is not None:
        import pyarrow.types as pt

        kind = arrow.type
        return bool(pt.is_integer(kind) or pt.is_floating(kind) or pt.is_decimal(kind))
    array = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if array.dtype.kind in "iuf":
        return True
    if array.dtype.kind != "O":
        return False
    seen = False
    for value in array.ravel():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            return False
        seen = True
    return seen


def _to_float_array(values: Any, name: str) -> np.ndarray:
    arrow = _as_arrow(values)
    if arrow is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            arrow = pc.cast(arrow, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise MonitorError(
                f"feature {name!r} is numeric in the reference but has type {arrow.type} "
                "here: fix the data or declare the feature categorical"
            ) from error
        return arrow.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.astype(np.float64, copy=False)
    items = list(_iterate(values))
    array = np.empty(len(items), dtype=np.float64)
    for index, value in enumerate(items):
        if value is None:
            array[index] = math.nan
            continue
        try:
            array[index] = float(value)
        except (TypeError, ValueError) as error:
            raise MonitorError(
                f"feature {name!r} is numeric in the reference but has the value {value!r}: "
                "fix the data or declare the feature categorical"
            ) from error
    return array


def _as_arrow(values: Any) -> Any:
    """The column as one pyarrow Array when it is a pyarrow array or chunked array."""
    module = type(values).__module__
    if not module.startswith("pyarrow"):
        return None
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    return None


def _iterate(values: Any) -> Iterable[Any]:
    if isinstance(values, np.ndarray):
        return values.ravel().tolist()
    return values


def _category(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        # 3.0 from a float column and 3 from an int column are the same category.
        return str(int(value))
    return str(value)
