"""The terminal report: per run, a metrics table with sparklines, then the diagnoses,
most severe first. Built from rich renderables, so tests render it to a string."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from flightlog.analyze.analysis import LogAnalysis, RunAnalysis

__all__ = ["render_text", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"
_NAN_MARK = "\u00d7"  # multiplication sign: a NaN/inf point
_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """Values as a row of block characters (``NAN_MARK`` marks NaN/inf)."""
    if not values:
        return ""
    if len(values) > width:  # bucket by mean, keeping non-finite buckets visible
        size = len(values) / width
        buckets: list[float] = []
        for i in range(width):
            chunk = values[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)]
            buckets.append(
                math.nan if any(not math.isfinite(v) for v in chunk) else sum(chunk) / len(chunk)
            )
        values = buckets
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return _NAN_MARK * len(values)
    low, high = min(finite), max(finite)
    span = high - low
    out = []
    for value in values:
        if not math.isfinite(value):
            out.append(_NAN_MARK)
        elif span == 0:
            out.append(_BARS[3])
        else:
            out.append(_BARS[min(7, int((value - low) / span * 8))])
    return "".join(out)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _run_view(analysis: LogAnalysis, run: RunAnalysis) -> RenderableType:
    summary = run.summary
    facts = [f"format {analysis.format}", f"steps {_fmt(summary.get('steps'))}"]
    if summary.get("epochs") is not None:
        facts.append(f"epochs {_fmt(summary['epochs'])}")
    if summary.get("throughput_steps_per_sec"):
        facts.append(f"{summary['throughput_steps_per_sec']:.4g} steps/s")
    if summary.get("eta_secs") is not None:
        facts.append(f"ETA {summary['eta_secs']:.0f} s")
    lr = summary.get("lr_schedule")
    if lr:
        facts.append(f"lr {lr.get('shape')} {_fmt(lr.get('first'))}→{_fmt(lr.get('last'))}")
    title = Text.assemble((f"run {run.run}", "bold"), "  ", (" · ".join(facts), "dim"))

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("split", "metric", "points", "best", "at step", "final", "curve"):
        table.add_column(
            column, justify="right" if column in ("points", "best", "at step", "final") else "left"
        )
    for entry in summary.get("metrics", []):
        series = run.table.get(entry["split"], entry["metric"])
        curve = sparkline(series.values) if series is not None else ""
        table.add_row(
            entry["split"],
            entry["metric"],
            str(entry["points"]),
            _fmt(entry.get("best")),
            _fmt(entry.get("best_step")),
            _fmt(entry.get("final")),
            curve,
        )
    parts: list[RenderableType] = [title, table]
    if run.diagnoses:
        for diagnosis in run.diagnoses:
            steps = (
                f" [steps {diagnosis.first_step}-{diagnosis.last_step}]"
                if diagnosis.first_step is not None
                else ""
            )
            parts.append(
                Text.assemble(
                    (
                        f"{diagnosis.severity.upper():>8} ",
                        _SEVERITY_STYLE.get(diagnosis.severity, ""),
                    ),
                    (f"{diagnosis.kind}", "bold"),
                    (steps, "dim"),
                    f": {diagnosis.message}",
                )
            )
    else:
        parts.append(Text("no problems found", style="green"))
    parts.append(Text(""))
    return Group(*parts)


def render_text(analyses: Sequence[LogAnalysis]) -> RenderableType:
    """A rich renderable of every run of every log."""
    parts: list[RenderableType] = []
    for analysis in analyses:
        if len(analyses) > 1 or not analysis.runs:
            parts.append(
                Text(f"{analysis.source} ({analysis.line_count} lines)", style="bold underline")
            )
        if not analysis.runs:
            parts.append(
                Text(
                    "no metrics found: pass --format if the format was not recognised",
                    style="yellow",
                )
            )
        for run in analysis.runs:
            parts.append(_run_view(analysis, run))
    return Group(*parts)
