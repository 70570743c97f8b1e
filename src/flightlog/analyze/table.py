"""The tidy metrics model every format parser produces.

A parsed log is a ``ParsedLog``: its detected format and one ``RunTable`` per run found in
it. A run holds its metric curves as ``Series`` — one per (split, metric) — stored
columnar (parallel lists of step, epoch, value, time) because parsers add hundreds of
thousands of points per second and a Python object per point would dominate the cost.
``RunTable.tidy_rows()`` gives the tidy view, one ``TidyRow`` per point:
``(run, step, epoch, split, metric, value, time)``.

``RunBuilder`` is what parsers write into. It starts a new run when the step counter
goes back (a restart or a second run appended to the same file) and keeps error lines
and free-form facts (``info``) next to the curves.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "SPLITS",
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


@dataclass
class Series:
    """One curve: the values of ``metric`` on ``split`` over steps, columnar."""

    split: str
    metric: str
    steps: list[int | None] = field(default_factory=list)
    epochs: list[float | None] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[float | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)

    def points(self) -> list[tuple[int | None, float]]:
        """``[(step, value), ...]`` in log order."""
        return list(zip(self.steps, self.values, strict=True))

    def finite_points(self) -> list[tuple[int, float]]:
        """Points with a known step and a finite value, as the diagnoses need them."""
        return [
            (s, v)
            for s, v in zip(self.steps, self.values, strict=True)
            if s is not None and math.isfinite(v)
        ]


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
        series = self.series(split, metric)
        series.steps.append(step)
        series.epochs.append(epoch)
        series.values.append(value)
        series.times.append(time)

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
        series = self.series(split, metric)
        n = len(values)
        series.steps.extend(steps)
        series.values.extend(values)
        series.epochs.extend(epochs if epochs is not None else [None] * n)
        series.times.extend(times if times is not None else [None] * n)

    def finish(self, line_count: int = 0) -> list[RunTable]:
        runs = [r for r in self.runs if r.point_count or r.info]
        for run in runs:
            run.lines = line_count
        return runs
