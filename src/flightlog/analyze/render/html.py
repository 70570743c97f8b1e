"""The HTML report: ONE self-contained file that opens offline.

plotly.js is inlined from the installed ``plotly`` package (``get_plotlyjs()``); each run
gets its summary table, its diagnoses, and one chart per metric with every split
overlaid (train solid, held-out dashed). Each diagnosis that names a metric is marked
on that metric's chart by a shaded band over its steps and a labelled marker; the others
(stall, slow_data, error) by a labelled vertical line at their first step (a stall: at
each gap it lists) on the main loss chart (the train loss, else the first chart).
Curves are downsampled to ``max_points`` per series (extremes and NaNs kept).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import orjson

from flightlog.analyze.analysis import LogAnalysis, RunAnalysis
from flightlog.analyze.diagnose import Diagnosis
from flightlog.analyze.diagnose.model import loss_series

__all__ = ["render_html"]

_COLORS = {"train": "#1f77b4", "val": "#d62728", "eval": "#d62728", "test": "#2ca02c"}
_BAND = {
    "critical": "rgba(214,39,40,0.15)",
    "warning": "rgba(255,160,0,0.15)",
    "info": "rgba(31,119,180,0.08)",
}
_LINE = {"critical": "#b00020", "warning": "#b36b00", "info": "#1f5f99"}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,td:nth-child(2),th{text-align:left}.chart{width:100%;max-width:980px;height:340px}
.critical{color:#b00020;font-weight:600}.warning{color:#b36b00;font-weight:600}.info{color:#1f5f99}
li{margin:4px 0;font-size:14px}.dim{color:#777;font-size:13px}
"""


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _steps_marked(diagnosis: Diagnosis) -> list[int]:
    """Where a diagnosis without a metric is marked: each stall gap's start, else its
    first step."""
    stalls = diagnosis.evidence.get("stalls")
    if diagnosis.kind == "stall" and isinstance(stalls, list) and stalls:
        return [gap["after_step"] for gap in stalls if isinstance(gap.get("after_step"), int)]
    return [] if diagnosis.first_step is None else [diagnosis.first_step]


def _vertical_markers(
    diagnoses: Sequence[Diagnosis],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Plotly shapes and annotations: a labelled vertical line per marked step."""
    shapes, annotations = [], []
    for diagnosis in diagnoses:
        color = _LINE.get(diagnosis.severity, _LINE["info"])
        signature = diagnosis.evidence.get("signature")
        label = f"{diagnosis.kind}: {signature}" if signature else str(diagnosis.kind)
        for step in _steps_marked(diagnosis):
            shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": step,
                    "x1": step,
                    "y0": 0,
                    "y1": 1,
                    "line": {"width": 1.5, "dash": "dot", "color": color},
                }
            )
            annotations.append(
                {
                    "x": step,
                    "y": 0,
                    "xref": "x",
                    "yref": "paper",
                    "text": label,
                    "showarrow": False,
                    "textangle": -90,
                    "xanchor": "right",
                    "yanchor": "bottom",
                    "font": {"size": 10, "color": color},
                }
            )
    return shapes, annotations


def _figures(run: RunAnalysis, max_points: int) -> list[dict[str, Any]]:
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for series in run.series_dicts(max_points):
        by_metric.setdefault(series["metric"], []).append(series)
    main = loss_series(run.table)
    main_metric = main.metric if main is not None and main.metric in by_metric else None
    if main_metric is None and by_metric:
        main_metric = next(iter(by_metric))
    unplaced = [d for d in run.diagnoses if "metric" not in d.evidence]
    figures = []
    for metric, group in by_metric.items():
        traces = []
        for series in group:
            split = series["split"]
            xs = [p[0] for p in series["points"]]
            ys = [p[1] if not isinstance(p[1], str) else None for p in series["points"]]
            traces.append(
                {
                    "x": xs,
                    "y": ys,
                    "name": split,
                    "mode": "lines+markers" if len(xs) <= 60 else "lines",
                    "line": {
                        "color": _COLORS.get(split, "#7f7f7f"),
                        "dash": "solid" if split == "train" else "dash",
                    },
                }
            )
        shapes = []
        annotations = []
        for diagnosis in run.diagnoses:
            if diagnosis.evidence.get("metric") != metric or diagnosis.first_step is None:
                continue
            last = diagnosis.last_step if diagnosis.last_step is not None else diagnosis.first_step
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "paper",
                    "x0": diagnosis.first_step,
                    "x1": last,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": _BAND.get(diagnosis.severity, _BAND["info"]),
                    "line": {"width": 1, "color": _BAND.get(diagnosis.severity, _BAND["info"])},
                }
            )
            annotations.append(
                {
                    "x": diagnosis.first_step,
                    "y": 1,
                    "xref": "x",
                    "yref": "paper",
                    "text": f"{diagnosis.kind}",
                    "showarrow": True,
                    "arrowhead": 2,
                    "ax": 0,
                    "ay": -24,
                    "font": {"size": 11},
                }
            )
        if metric == main_metric:
            lines, labels = _vertical_markers(unplaced)
            shapes += lines
            annotations += labels
        figures.append(
            {
                "data": traces,
                "layout": {
                    "title": {"text": metric, "font": {"size": 14}},
                    "xaxis": {"title": {"text": "step"}},
                    "margin": {"l": 50, "r": 20, "t": 50, "b": 40},
                    "shapes": shapes,
                    "annotations": annotations,
                    "legend": {"orientation": "h"},
                },
            }
        )
    return figures


def _run_section(
    analysis: LogAnalysis, run: RunAnalysis, index: int, max_points: int
) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    summary = run.summary
    rows = "".join(
        f"<tr><td>{html.escape(m['split'])}</td><td>{html.escape(m['metric'])}</td><td>{m['points']}</td>"
        f"<td>{_fmt(m.get('best'))}</td><td>{_fmt(m.get('best_step'))}</td><td>{_fmt(m.get('final'))}</td></tr>"
        for m in summary.get("metrics", [])
    )
    facts = [
        f"format <b>{html.escape(analysis.format)}</b>",
        f"steps <b>{_fmt(summary.get('steps'))}</b>",
        f"epochs <b>{_fmt(summary.get('epochs'))}</b>",
    ]
    if summary.get("throughput_steps_per_sec"):
        facts.append(f"throughput <b>{_fmt(summary['throughput_steps_per_sec'])}</b> steps/s")
    if summary.get("eta_secs") is not None:
        facts.append(f"ETA <b>{_fmt(summary['eta_secs'])}</b> s")
    if summary.get("lr_schedule"):
        lr = summary["lr_schedule"]
        facts.append(f"lr schedule <b>{html.escape(str(lr.get('shape')))}</b>")
    diagnoses = (
        "".join(
            f'<li><span class="{html.escape(d.severity)}">{html.escape(d.severity.upper())}</span> '
            f"<b>{html.escape(str(d.kind))}</b>"
            f"{'' if d.first_step is None else f' <span class=dim>steps {d.first_step}-{d.last_step}</span>'}: "
            f"{html.escape(d.message)}</li>"
            for d in run.diagnoses
        )
        or "<li>no problems found</li>"
    )
    charts = []
    divs = []
    for number, figure in enumerate(_figures(run, max_points)):
        div_id = f"chart-{index}-{number}"
        divs.append(f'<div class="chart" id="{div_id}"></div>')
        charts.append((div_id, figure))
    section = (
        f"<h2>run {html.escape(run.run)}</h2><p class=dim>{' · '.join(facts)}</p>"
        f"<h3>Diagnoses</h3><ul>{diagnoses}</ul>"
        f"<h3>Summary</h3><table><tr><th>split</th><th>metric</th><th>points</th><th>best</th>"
        f"<th>at step</th><th>final</th></tr>{rows}</table>"
        f"<h3>Curves</h3>{''.join(divs)}"
    )
    return section, charts


def render_html(
    analyses: Sequence[LogAnalysis], max_points: int = 5000, title: str = "flightlog analyze"
) -> str:
    """The whole report as one HTML document (plotly.js inlined; no network needed)."""
    from plotly.offline import get_plotlyjs

    sections = []
    charts: list[tuple[str, dict[str, Any]]] = []
    index = 0
    for analysis in analyses:
        sections.append(
            f"<p class=dim>{html.escape(analysis.source)} · {analysis.line_count} lines</p>"
        )
        for run in analysis.runs:
            section, run_charts = _run_section(analysis, run, index, max_points)
            sections.append(section)
            charts.extend(run_charts)
            index += 1
    payload = orjson.dumps(charts).decode().replace("</", "<\\/")
    script = (
        f"const charts = {payload};\n"
        "for (const [id, fig] of charts) { Plotly.newPlot(id, fig.data, fig.layout, "
        "{responsive: true, displaylogo: false}); }"
    )
    plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"<script>{plotly_js}</script></head><body><h1>{html.escape(title)}</h1>"
        f"{''.join(sections)}<script>{script}</script></body></html>"
    )
