"""Analyses: a parsed run plus its summary and diagnoses, and their JSON form.

``analyze_path`` / ``analyze_text`` / ``analyze_records`` are the entry points (re-exported
by ``flightlog.analyze``); ``LogAnalysis.to_dict()`` is the documented JSON schema.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from flightlog.analyze.diagnose import Diagnosis, DiagnosisParams, diagnose_run, summarize
from flightlog.analyze.diagnose.model import SEVERITY_RANK
from flightlog.analyze.formats.jsonlines import RecordSink
from flightlog.analyze.parse import parse_path, parse_text
from flightlog.analyze.signatures import find_signatures
from flightlog.analyze.table import NO_STEP, ErrorLine, ParsedLog, RunTable, Series

__all__ = [
    "SCHEMA_VERSION",
    "LogAnalysis",
    "RunAnalysis",
    "analyze_parsed",
    "analyze_path",
    "analyze_records",
    "analyze_text",
    "column_chunks",
    "json_number",
    "jsonable",
]

SCHEMA_VERSION = 1
_TEXT_FIELDS = ("message", "msg", "line", "error", "error_message", "exception", "traceback")


def json_number(value: float) -> float | str:
    """JSON has no NaN/inf: they are written as the strings ``"nan"``, ``"inf"``, ``"-inf"``."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def _downsample(series: Series, max_points: int | None) -> np.ndarray | None:
    """Indices to keep (None: every point), else an even stride that keeps each stride
    block's extremes and its non-finite values."""
    n = len(series)
    if max_points is None or n <= max_points:
        return None
    stride = math.ceil(n / max_points)
    values = series.values_array()
    finite = np.isfinite(values)
    keep = ~finite
    keep[::stride] = True
    keep[n - 1] = True
    blocks = math.ceil(n / stride)
    pad = blocks * stride - n
    base = np.arange(blocks) * stride
    has_finite = np.pad(finite, (0, pad)).reshape(blocks, stride).any(axis=1)
    for fill, pick in ((np.inf, np.argmin), (-np.inf, np.argmax)):
        column = np.pad(np.where(finite, values, fill), (0, pad), constant_values=fill)
        chosen = base + pick(column.reshape(blocks, stride), axis=1)  # first extreme
        keep[chosen[has_finite]] = True
    return np.flatnonzero(keep)


#: A stand-in for a series column in ``to_dict``: called with the series, the column
#: name (``points``/``epochs``/``times``) and the kept indices, returns what the dict holds.
ColumnStandIn = Callable[["Series", str, "np.ndarray | None"], object]


def column_chunks(
    series: Series, column: str, keep: np.ndarray | None, chunk: int = 1 << 16
) -> Iterator[list[Any]]:
    """A series column as JSON-ready lists of at most ``chunk`` items, in order:
    ``points`` gives ``[step, value]`` pairs (unknown step None, non-finite values as
    strings), ``epochs``/``times`` numbers or None."""
    if column == "points":
        steps, values = series.steps_array(), series.values_array()
        if keep is not None:
            steps, values = steps[keep], values[keep]
        for start in range(0, len(values), chunk):
            step_part, value_part = steps[start : start + chunk], values[start : start + chunk]
            step_list: list[Any] = step_part.tolist()
            value_list: list[Any] = value_part.tolist()
            for i in np.flatnonzero(step_part == NO_STEP).tolist():
                step_list[i] = None
            for i in np.flatnonzero(~np.isfinite(value_part)).tolist():
                value_list[i] = json_number(value_list[i])
            yield [list(pair) for pair in zip(step_list, value_list, strict=True)]
        return
    data = series.epochs_array() if column == "epochs" else series.times_array()
    count = len(series) if keep is None else len(keep)
    if data is not None and keep is not None:
        data = data[keep]
    for start in range(0, count, chunk):
        if data is None:
            yield [None] * (min(count, start + chunk) - start)
            continue
        part = data[start : start + chunk]
        out: list[Any] = part.tolist()
        for i in np.flatnonzero(np.isnan(part)).tolist():
            out[i] = None
        yield out


def _whole_column(series: Series, column: str, keep: np.ndarray | None) -> list[Any]:
    whole: list[Any] = []
    for part in column_chunks(series, column, keep):
        whole += part
    return whole


@dataclass(frozen=True)
class RunAnalysis:
    """One run: its tidy table, summary and diagnoses (most severe first)."""

    run: str
    format: str
    table: RunTable
    summary: Mapping[str, Any]
    diagnoses: tuple[Diagnosis, ...]

    @property
    def worst_severity(self) -> str | None:
        if not self.diagnoses:
            return None
        return max(self.diagnoses, key=lambda d: SEVERITY_RANK[d.severity]).severity

    def series_dicts(
        self, max_points: int | None = None, stand_in: ColumnStandIn | None = None
    ) -> list[dict[str, Any]]:
        column = stand_in or _whole_column
        out: list[dict[str, Any]] = []
        for (split, metric), series in sorted(self.table.series.items()):
            keep = _downsample(series, max_points)
            entry: dict[str, Any] = {
                "metric": metric,
                "split": split,
                "points": column(series, "points", keep),
            }
            if series.has_epochs:
                entry["epochs"] = column(series, "epochs", keep)
            if series.has_times:
                entry["times"] = column(series, "times", keep)
            out.append(entry)
        return out

    def to_dict(
        self, max_points: int | None = None, stand_in: ColumnStandIn | None = None
    ) -> dict[str, Any]:
        """The run's JSON object; ``stand_in`` (when given) makes each series column
        (see ``ColumnStandIn``) instead of the lists of points."""
        return {
            "run": self.run,
            "summary": jsonable(self.summary),
            "series": self.series_dicts(max_points, stand_in),
            "diagnoses": [jsonable(d.to_dict()) for d in self.diagnoses],
        }


@dataclass(frozen=True)
class LogAnalysis:
    """Every run found in one log (or set of records)."""

    format: str
    source: str
    runs: tuple[RunAnalysis, ...]
    line_count: int = 0

    @property
    def worst_severity(self) -> str | None:
        severities = [r.worst_severity for r in self.runs if r.worst_severity]
        return max(severities, key=SEVERITY_RANK.__getitem__) if severities else None

    def to_dict(
        self, max_points: int | None = None, stand_in: ColumnStandIn | None = None
    ) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "format": self.format,
            "source": self.source,
            "lines": self.line_count,
            "runs": [run.to_dict(max_points, stand_in) for run in self.runs],
        }


def jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def analyze_parsed(
    parsed: ParsedLog, source: str = "", params: DiagnosisParams | None = None
) -> LogAnalysis:
    """Summaries and diagnoses for every run of an already parsed log."""
    runs = list(parsed.runs)
    names = {run.run for run in runs}
    for error in parsed.errors:  # a run that only printed errors still gets its diagnoses
        if error.run not in names:
            runs.append(RunTable(run=error.run))
            names.add(error.run)
    analyses = []
    for run in runs:
        errors = [e for e in parsed.errors if e.run == run.run]
        diagnoses = tuple(diagnose_run(run, errors, params))
        analyses.append(RunAnalysis(run.run, parsed.format, run, summarize(run), diagnoses))
    return LogAnalysis(parsed.format, source, tuple(analyses), parsed.line_count)


def analyze_path(
    path: str | Path,
    format_name: str | None = None,
    params: DiagnosisParams | None = None,
    run_name: str | None = None,
) -> LogAnalysis:
    """Parse and diagnose the training log at ``path`` (format detected unless given)."""
    return analyze_parsed(parse_path(path, format_name, run_name), str(path), params)


def analyze_text(
    text: str,
    format_name: str | None = None,
    params: DiagnosisParams | None = None,
    run_name: str = "run",
) -> LogAnalysis:
    """Parse and diagnose a training log held in a string."""
    return analyze_parsed(parse_text(text, format_name, run_name), "<text>", params)


def analyze_records(
    records: Iterable[Mapping[str, Any]],
    run: str = "run",
    params: DiagnosisParams | None = None,
) -> RunAnalysis:
    """Analyse one run from its metric records (flightlog's ``event: "metrics"`` objects).

    Every record belongs to run ``run`` (``run_id`` fields are not used to split); records
    may arrive in any order and are sorted by step. Records with an ``event`` other than
    ``metrics`` are log lines: their text fields (``message``, ``msg``, ``line``,
    ``error``, ``error_message`` of the SDK's ``error`` events, ``exception``,
    ``traceback``) are scanned for error signatures, each signature once per record. See ``add_record`` in
    ``flightlog.analyze.formats.jsonlines`` for the keys understood.
    """
    sink = RecordSink(run, by_run_id=False, split_restarts=False)
    errors: list[ErrorLine] = []
    for index, record in enumerate(records, start=1):
        sink.add_record(record)
        seen: set[str] = set()  # one failure per record, though message and traceback both say it
        for key in _TEXT_FIELDS:
            text = record.get(key)
            if isinstance(text, str) and text:
                for hit in find_signatures(text):
                    if hit.signature.name in seen:
                        continue
                    seen.add(hit.signature.name)
                    errors.append(
                        ErrorLine(
                            signature=hit.signature.name,
                            run=run,
                            line_number=index,
                            text=hit.line,
                            step=sink.last_builder._last_step,
                            details=tuple(hit.details.items()),
                        )
                    )
    tables = sink.finish()
    table = tables[0] if tables else RunTable(run=run)
    for series in table.series.values():
        _sort_by_step(series)
    diagnoses = tuple(diagnose_run(table, errors, params))
    return RunAnalysis(run, "records", table, summarize(table), diagnoses)


def _sort_by_step(series: Series) -> None:
    steps = series.steps
    if all(a is not None and b is not None and a <= b for a, b in pairwise(steps)):
        return
    order = sorted(range(len(steps)), key=lambda i: (steps[i] is None, steps[i] or 0))
    series.reorder(order)
