"""A ``DriftReport`` rendered as JSON, a terminal table, or a self-contained HTML page."""

from __future__ import annotations

import html
import io

import orjson

from flightlog.monitor.drift import DriftReport, DriftTestResult, FeatureDrift

__all__ = ["render_html", "render_json", "render_text"]

_SEVERITY_STYLE = {"none": "green", "warning": "yellow", "alert": "bold red"}
_SEVERITY_COLOUR = {"none": "#1a7f37", "warning": "#9a6700", "alert": "#cf222e"}


def render_json(report: DriftReport) -> str:
    """The JSON contract: ``{"features": [...], "drifted": [...]}``."""
    return orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode()


def render_text(report: DriftReport, width: int = 120) -> str:
    """One row per feature with its tests, drifted features first in the summary line."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Data drift", show_lines=False)
    table.add_column("feature")
    table.add_column("kind")
    table.add_column("severity")
    table.add_column("tests (statistic / p-value vs threshold)")
    for feature in report.features:
        style = _SEVERITY_STYLE[str(feature.severity)]
        table.add_row(
            feature.name,
            str(feature.kind),
            f"[{style}]{feature.severity}[/]",
            "  ".join(_describe(result) for result in feature.tests),
        )
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, highlight=False)
    console.print(table)
    drifted = report.drifted
    console.print(
        f"{len(drifted)} of {len(report.features)} features drifted"
        + (f": {', '.join(drifted)}" if drifted else "")
    )
    return buffer.getvalue()


def render_html(report: DriftReport, title: str = "flightlog drift report") -> str:
    """A standalone page (no scripts, no network) with one table row per feature."""
    rows = "\n".join(_html_row(feature) for feature in report.features)
    drifted = report.drifted
    summary = f"{len(drifted)} of {len(report.features)} features drifted" + (
        ": " + html.escape(", ".join(drifted)) if drifted else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #d0d7de;padding:4px 8px;text-align:left}}
</style></head>
<body><h1>{html.escape(title)}</h1><p>{summary}</p>
<table><thead><tr><th>feature</th><th>kind</th><th>severity</th><th>tests</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""


def _html_row(feature: FeatureDrift) -> str:
    colour = _SEVERITY_COLOUR[str(feature.severity)]
    tests = "<br>".join(html.escape(_describe(result)) for result in feature.tests)
    return (
        f"<tr><td>{html.escape(feature.name)}</td><td>{feature.kind}</td>"
        f'<td style="color:{colour}">{feature.severity}</td><td>{tests}</td></tr>'
    )


def _describe(result: DriftTestResult) -> str:
    text = f"{result.test}={_number(result.statistic)}"
    if result.p_value is not None:
        text += f" p={_number(result.p_value)}"
    if result.threshold is not None:
        text += f" (vs {result.threshold:g}{'' if result.decides else ', info'})"
    return text


def _number(value: float) -> str:
    if value != value:  # NaN: a side had no values
        return "n/a"
    return f"{value:.3g}"
