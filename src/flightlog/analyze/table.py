"""The tidy metrics model every format parser produces.

A parsed log is a ``ParsedLog``: its detected format and one ``RunTable`` per run found in
it. A run holds its metric curves as ``Series`` — one per (split, metric) — stored
columnar (parallel arrays of step, epoch, value, time; whole numpy blocks from the bulk
parsers, their step and epoch columns shared between the series of one block) because
parsers add millions of points per second and a Python object per point would dominate
the cost and the memory.
``RunTable.tidy_rows()`` gives the tidy view, one ``TidyRow`` per point:
``(run, step, epoch, split, metric, value, time)``.

``RunBuilder`` is what parsers write into. It starts a new run when the step counter
goes back (a restart or a second run appended to the same file) and keeps error lines
and free-form facts (``info``) next to the curves.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = [
    "NO_STEP",
    "SPLITS",
    "Block",
    "ErrorLine",
    "ParsedLog",
    "RunBuilder",
    "RunTable",
    "Series",
    "TidyRow",
    "split_metric_name",
]

#: The usual values of the ``split`` column. Logs that name more than one evaluation set
#: keep the extra sets' own names (e.g. ``val_1``).
SPLITS = ("train", "val", "test", "eval")

_SPLIT_PREFIXES = (
    ("val_", "val"),
    ("valid_", "val"),
    ("validation_", "val"),
    ("eval_", "eval"),
    ("test_", "test"),
    ("train_", "train"),
    ("training_", "train"),
)
_SPLIT_SUFFIXES = (
    ("/val", "val"),
    ("/valid", "val"),
    ("/eval", "eval"),
    ("/test", "test"),
    ("/train", "train"),
    ("_val", "val"),
    ("_eval", "eval"),
    ("_test", "test"),
    ("_train", "train"),
)
_SPLIT_CACHE: dict[str, tuple[str, str]] = {}


def split_metric_name(name: str) -> tuple[str, str]:
    """Split a logged key into ``(split, metric)``: ``val_loss`` -> ``("val", "loss")``.

    Prefixes (``val_``, ``eval_``, ``test_``, ``train_``) and Lightning-style suffixes
    (``loss/val``, ``loss_val``) are understood; anything else is train.
    """
    cached = _SPLIT_CACHE.get(name)
    if cached is not None:
        return cached
    lowered = name.lower()
    result = ("train", name)
    for prefix, split in _SPLIT_PREFIXES:
        if lowered.startswith(prefix) and len(name) > len(prefix):
            result = (split, name[len(prefix) :])
            break
    else:
        for prefix in ("val/", "valid/", "eval/", "test/", "train/"):
            if lowered.startswith(prefix) and len(name) > len(prefix):
                result = (_PREFIX_SLASH[prefix], name[len(prefix) :])
                break
        else:
            for suffix, split in _SPLIT_SUFFIXES:
                if lowered.endswith(suffix) and len(name) > len(suffix):
                    result = (split, name[: -len(suffix)])
                    break
    if len(_SPLIT_CACHE) < 10_000:
        _SPLIT_CACHE[name] = result
    return result


_PREFIX_SLASH = {
    "val/": "val",
    "valid/": "val",
    "eval/": "eval",
    "test/": "test",
    "train/": "train",
}


class TidyRow(NamedTuple):
    """One point of the tidy table."""

    run: str
    step: int | None
    epoch: float | None
    split: str
    metric: str
    value: float
    time: float | None


_NO_STEP = -(2**63)  # the steps column's "unknown" (arrays hold no None)
NO_STEP = _NO_STEP
_MAX_STEP = 2**63 - 1


class Series:
    """One curve: the values of ``metric`` on ``split`` over steps, columnar.

    Columns are ``array`` objects (8 bytes a point) because a large log holds millions
    of points: ``steps`` (unknown = None in the accessors), ``values``, and ``epochs`` /
    ``times`` which are only allocated once a point carries one (NaN = unknown).

    The bulk parsers append whole blocks with ``extend_block``: numpy columns kept as
    they are, the steps and epochs columns shared by every series of one block (a
    Trainer dict's three metrics are one block), so parsing costs no copy and no
    growth of the arrays. The blocks are merged into the arrays the first time a point
    is read or appended one by one.
    """

    __slots__ = ("_blocks", "_epochs", "_steps", "_times", "_values", "metric", "split")

    def __init__(self, split: str, metric: str) -> None:
        self.split = split
        self.metric = metric
        self._steps = array("q")
        self._values = array("d")
        self._epochs: array[float] | None = None
        self._times: array[float] | None = None
        self._blocks: list[Block] = []

    def __len__(self) -> int:
        return len(self._values) + sum(len(block.values) for block in self._blocks)

    def __repr__(self) -> str:
        return f"Series({self.split!r}, {self.metric!r}, {len(self)} points)"

    def append(
        self, step: int | None, epoch: float | None, value: float, time: float | None
    ) -> None:
        if self._blocks:
            self._merge_blocks()
        if epoch is not None and self._epochs is None:
            self._epochs = array("d", [math.nan]) * len(self._values)
        if time is not None and self._times is None:
            self._times = array("d", [math.nan]) * len(self._values)
        if step is None or not -_MAX_STEP < step < _MAX_STEP:
            step = _NO_STEP  # unknown, or beyond what a step column holds (garbage)
        self._steps.append(step)
        self._values.append(value)
        if self._epochs is not None:
            self._epochs.append(math.nan if epoch is None else epoch)
        if self._times is not None:
            self._times.append(math.nan if time is None else time)

    def extend(
        self,
        steps: list[int | None],
        values: list[float],
        epochs: list[float | None] | None = None,
        times: list[float | None] | None = None,
    ) -> None:
        for index, value in enumerate(values):
            self.append(
                steps[index],
                None if epochs is None else epochs[index],
                value,
                None if times is None else times[index],
            )

    def extend_block(self, block: Block) -> None:
        """Append a block of points (no copy: the block's columns are kept, and may be
        shared with other series; nobody may write to them afterwards)."""
        if len(block.values):
            self._blocks.append(block)

    def _merge_blocks(self) -> None:
        blocks, self._blocks = self._blocks, []
        if self._epochs is None and any(block.epochs is not None for block in blocks):
            self._epochs = array("d", [math.nan]) * len(self._values)
        for block in blocks:
            count = len(block.values)
            self._steps.frombytes(np.ascontiguousarray(block.steps, dtype=np.int64).tobytes())
            self._values.frombytes(np.ascontiguousarray(block.values, dtype=np.float64).tobytes())
            if self._epochs is not None:
                if block.epochs is None:
                    self._epochs.extend(array("d", [math.nan]) * count)
                else:
                    self._epochs.frombytes(
                        np.ascontiguousarray(block.epochs, dtype=np.float64).tobytes()
                    )
            if self._times is not None:
                self._times.extend(array("d", [math.nan]) * count)

    @property
    def values(self) -> array[float]:
        if self._blocks:
            self._merge_blocks()
        return self._values

    @property
    def steps(self) -> list[int | None]:
        if self._blocks:
            self._merge_blocks()
        return [None if s == _NO_STEP else s for s in self._steps]

    @property
    def epochs(self) -> list[float | None]:
        if self._blocks:
            self._merge_blocks()
        if self._epochs is None:
            return [None] * len(self._values)
        return [None if math.isnan(e) else e for e in self._epochs]

    @property
    def times(self) -> list[float | None]:
        if self._blocks:
            self._merge_blocks()
        if self._times is None:
            return [None] * len(self._values)
        return [None if math.isnan(t) else t for t in self._times]

    @property
    def has_epochs(self) -> bool:
        return self._epochs is not None or any(b.epochs is not None for b in self._blocks)

    @property
    def has_times(self) -> bool:
        return self._times is not None

    # numpy views of the columns (copies: the arrays may still grow), for the diagnoses,
    # summary and renderers, which must not build a Python object per point
    def steps_array(self) -> np.ndarray:
        """int64 steps, ``NO_STEP`` where unknown."""
        if self._blocks:
            self._merge_blocks()
        return np.array(self._steps, dtype=np.int64)

    def values_array(self) -> np.ndarray:
        if self._blocks:
            self._merge_blocks()
        return np.array(self._values, dtype=np.float64)

    def epochs_array(self) -> np.ndarray | None:
        """float64 epochs (NaN = unknown), None when no point has one."""
        if self._blocks:
            self._merge_blocks()
        return None if self._epochs is None else np.array(self._epochs, dtype=np.float64)

    def times_array(self) -> np.ndarray | None:
        """float64 times (NaN = unknown), None when no point has one."""
        if self._blocks:
            self._merge_blocks()
        return None if self._times is None else np.array(self._times, dtype=np.float64)

    def finite_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``finite_points()`` as two arrays (steps int64, values float64)."""
        steps, values = self.steps_array(), self.values_array()
        keep = (steps != _NO_STEP) & np.isfinite(values)
        if keep.all():
            return steps, values
        return steps[keep], values[keep]

    def points(self) -> list[tuple[int | None, float]]:
        """``[(step, value), ...]`` in log order."""
        return list(zip(self.steps, self.values, strict=True))

    def finite_points(self) -> list[tuple[int, float]]:
        """Points with a known step and a finite value, as the diagnoses need them."""
        if self._blocks:
            self._merge_blocks()
        isfinite = math.isfinite
        return [
            (s, v)
            for s, v in zip(self._steps, self._values, strict=True)
            if s != _NO_STEP and isfinite(v)
        ]

    def reorder(self, order: list[int]) -> None:
        """Put the points in ``order`` (a permutation of their indices)."""
        if self._blocks:
            self._merge_blocks()
        self._steps = array("q", [self._steps[i] for i in order])
        self._values = array("d", [self._values[i] for i in order])
        if self._epochs is not None:
            self._epochs = array("d", [self._epochs[i] for i in order])
        if self._times is not None:
            self._times = array("d", [self._times[i] for i in order])


class Block(NamedTuple):
    """Points added in bulk: numpy columns of one length (steps int64, values and
    epochs float64, epochs None when the log gave none)."""

    steps: np.ndarray
    values: np.ndarray
    epochs: np.ndarray | None = None


@dataclass(frozen=True)
class ErrorLine:
    """A log line that matched an error signature, with where it appeared."""

    signature: str
    run: str
    line_number: int
    text: str
    step: int | None
    details: tuple[tuple[str, str], ...] = ()


@dataclass
class RunTable:
    """Everything parsed for one run: its curves, error lines and free-form facts."""

    run: str
    series: dict[tuple[str, str], Series] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)
    lines: int = 0

    def get(self, split: str, metric: str) -> Series | None:
        return self.series.get((split, metric))

    def tidy_rows(self) -> Iterator[TidyRow]:
        """The tidy table of this run, ordered by (step, split, metric)."""
        rows: list[TidyRow] = []
        for series in self.series.values():
            for step, epoch, value, time in zip(
                series.steps, series.epochs, series.values, series.times, strict=True
            ):
                rows.append(
                    TidyRow(self.run, step, epoch, series.split, series.metric, value, time)
                )
        rows.sort(key=lambda r: (r.step if r.step is not None else -1, r.split, r.metric))
        return iter(rows)

    @property
    def point_count(self) -> int:
        return sum(len(s) for s in self.series.values())


@dataclass
class ParsedLog:
    """The result of parsing one log: its format and the runs found in it."""

    format: str
    runs: list[RunTable]
    errors: list[ErrorLine] = field(default_factory=list)
    line_count: int = 0

    def tidy_rows(self) -> Iterator[TidyRow]:
        for run in self.runs:
            yield from run.tidy_rows()


class RunBuilder:
    """Collects points into runs; a step going back starts a new run.

    ``base`` names the runs: the first is ``base``, later ones ``base#2``, ``base#3``...
    A parser calls ``add`` (or ``add_many`` for a whole column at once) and, when the log
    itself marks a restart (a new ``Epoch 1/N`` header), ``new_run``.
    """

    def __init__(self, base: str, split_restarts: bool = True) -> None:
        self.base = base
        self.split_restarts = split_restarts
        self.runs: list[RunTable] = []
        self._current: RunTable | None = None
        self._last_step: int | None = None

    @property
    def current(self) -> RunTable:
        if self._current is None:
            self.new_run()
        assert self._current is not None
        return self._current

    def new_run(self) -> RunTable:
        """Start a new run (only if the current one already holds points)."""
        if self._current is not None and self._current.point_count == 0:
            return self._current
        index = len(self.runs) + 1
        name = self.base if index == 1 else f"{self.base}#{index}"
        self._current = RunTable(run=name)
        self.runs.append(self._current)
        self._last_step = None
        return self._current

    def check_step(self, step: int | None) -> None:
        """Start a new run when ``step`` is below the last step seen (a restart)."""
        if step is None:
            return
        if self._current is None:
            self.new_run()  # now, so that creating it on the first point keeps this step
        if self.split_restarts and self._last_step is not None and step < self._last_step:
            self.new_run()
        self._last_step = step

    def series(self, split: str, metric: str) -> Series:
        run = self.current
        key = (split, metric)
        found = run.series.get(key)
        if found is None:
            found = Series(split, metric)
            run.series[key] = found
        return found

    def add(
        self,
        key: str,
        value: float,
        step: int | None,
        epoch: float | None = None,
        time: float | None = None,
        split: str | None = None,
    ) -> None:
        """Add one point; ``key`` is split into split and metric unless ``split`` is given."""
        if split is None:
            split, metric = split_metric_name(key)
        else:
            metric = key
        self.series(split, metric).append(step, epoch, value, time)

    def add_many(
        self,
        split: str,
        metric: str,
        steps: list[int | None],
        values: list[float],
        epochs: list[float | None] | None = None,
        times: list[float | None] | None = None,
    ) -> None:
        """Append a whole column of points to one series (the bulk parsers' path)."""
        self.series(split, metric).extend(steps, values, epochs, times)

    def finish(self, line_count: int = 0) -> list[RunTable]:
        runs = [r for r in self.runs if r.point_count or r.info]
        for run in runs:
            run.lines = line_count
        return runs
