"""The tidy table as CSV: ``run,step,epoch,split,metric,value,time``.

Empty cells for unknown step/epoch/time; non-finite values as ``nan``, ``inf``, ``-inf``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from typing import TextIO

from flightlog.analyze.analysis import LogAnalysis

__all__ = ["CSV_COLUMNS", "format_value", "render_csv"]

CSV_COLUMNS = ("run", "step", "epoch", "split", "metric", "value", "time")


def format_value(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)


def render_csv(analyses: Iterable[LogAnalysis], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for analysis in analyses:
        for run in analysis.runs:
            for row in run.table.tidy_rows():
                writer.writerow([format_value(v) if not isinstance(v, str) else v for v in row])
