"""Reports: text (rendered to a string), json schema, tidy csv, self-contained html."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import orjson
from rich.console import Console

import flightlog.analyze as analyze
from flightlog.analyze import analyze_path, analyze_text
from flightlog.analyze.render import render_csv, render_html, render_json, render_text, sparkline

GOLDEN = Path(__file__).parent / "golden"


def text_of(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_sparkline_scales_and_marks_nan() -> None:
    """Lowest value is the lowest block, highest the highest, NaN a cross."""
    assert sparkline([0.0, 1.0, math.nan]) == "▁█\u00d7"
    assert sparkline([]) == ""
    assert len(sparkline([float(i) for i in range(100)], width=24)) == 24


def test_text_report_lists_metrics_and_diagnoses_by_severity() -> None:
    """The text report shows each curve with a sparkline and the diagnoses, critical first."""
    out = text_of(render_text([analyze_path(GOLDEN / "handwritten" / "errors.log")]))
    assert "run errors" in out
    assert "CRITICAL error" in out
    assert out.index("CRITICAL") < out.index("WARNING")
    assert "GPU out of memory (tried 512.00 MiB, gpu 0, total 15.77 GiB, free 120.38 MiB)" in out


def test_text_report_says_when_nothing_was_found() -> None:
    """A log without metrics says so and how to fix it."""
    out = text_of(render_text([analyze_text("hello world\n")]))
    assert "no metrics found" in out


def test_json_follows_the_documented_schema() -> None:
    """Top-level and run keys are exactly the documented ones; NaN is the string "nan"."""
    buffer = io.StringIO()
    render_json([analyze_path(GOLDEN / "sklearn" / "mlp_diverge.log")], buffer)
    document = orjson.loads(buffer.getvalue())
    assert set(document) == {"schema_version", "format", "source", "lines", "runs"}
    assert document["schema_version"] == 1
    (run,) = document["runs"]
    assert set(run) == {"run", "summary", "series", "diagnoses"}
    (series,) = run["series"]
    assert set(series) >= {"metric", "split", "points"}
    assert "nan" in [value for _, value in series["points"]]
    assert set(run["diagnoses"][0]) == {
        "kind",
        "severity",
        "message",
        "evidence",
        "first_step",
        "last_step",
    }
    assert "SCHEMA" in analyze.__doc__


def test_json_of_several_logs_wraps_them() -> None:
    """Two logs give {"schema_version", "logs": [...]}."""
    buffer = io.StringIO()
    logs = [
        analyze_path(GOLDEN / "sklearn" / "sgd.log"),
        analyze_path(GOLDEN / "xgboost" / "xgb_eval.log"),
    ]
    render_json(logs, buffer)
    document = orjson.loads(buffer.getvalue())
    assert [log["format"] for log in document["logs"]] == ["sklearn", "boosting"]


def test_json_max_points_downsamples_but_keeps_extremes() -> None:
    """Downsampling keeps the minimum and the last point."""
    run = analyze_path(GOLDEN / "sklearn" / "mlp_plateau.log").runs[0]
    (series,) = run.to_dict(max_points=20)["series"]
    values = [v for _, v in series["points"]]
    assert len(values) < 100
    assert min(values) == min(run.table.get("train", "loss").values)
    assert series["points"][-1][0] == 400


def test_csv_is_the_tidy_table() -> None:
    """CSV columns are the tidy model's; rows match the parsed points."""
    buffer = io.StringIO()
    analysis = analyze_path(GOLDEN / "keras" / "keras3_verbose2.log")
    render_csv([analysis], buffer)
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows[0] == ["run", "step", "epoch", "split", "metric", "value", "time"]
    assert len(rows) - 1 == analysis.runs[0].table.point_count


def test_html_is_one_self_contained_file() -> None:
    """plotly.js is inlined, no external script or stylesheet, a chart per metric."""
    analysis = analyze_path(GOLDEN / "xgboost" / "xgb_eval.log")
    page = render_html([analysis])
    assert "<script src" not in page
    assert "<link" not in page
    assert "Plotly.newPlot" in page
    assert len(page) > 1_000_000  # plotly.js itself
    assert page.count('class="chart"') == 1  # one metric: logloss (train and val overlaid)
    assert '"name":"train"' in page and '"name":"val"' in page
    assert '"text":"overfitting"' in page  # the diagnosis is marked on the curve


def html_charts(page: str) -> list[tuple[str, dict]]:
    """The charts a report draws: (div id, plotly figure)."""
    payload = page.split("const charts = ", 1)[1].split(";\nfor (const", 1)[0]
    return orjson.loads(payload.replace("<\\/", "</"))


def vertical_lines(figure: dict) -> list[tuple[float, str]]:
    """(step, label) of each vertical marker on a chart."""
    layout = figure["layout"]
    xs = [s["x0"] for s in layout["shapes"] if s["type"] == "line"]
    labels = [a["text"] for a in layout["annotations"] if a.get("textangle") == -90]
    return list(zip(xs, labels, strict=True))


def test_html_marks_error_diagnoses_on_the_loss_chart() -> None:
    """Errors name no metric: a labelled vertical line at their step on the loss chart."""
    analysis = analyze_path(GOLDEN / "handwritten" / "errors.log")
    charts = html_charts(render_html([analysis]))
    (loss,) = [f for _, f in charts if f["layout"]["title"]["text"] == "loss"]
    marks = vertical_lines(loss)
    assert (10, "error: cuda_oom") in marks
    assert (10, "error: nccl_timeout") in marks


def test_html_marks_each_stall_gap_on_the_loss_chart() -> None:
    """A stall: a vertical line where each listed gap starts, on the main loss chart."""
    analysis = analyze_path(GOLDEN / "handwritten" / "nanogpt.log")
    run = analysis.runs[0]
    (stall,) = [d for d in run.diagnoses if d.kind == "stall"]
    starts = [gap["after_step"] for gap in stall.evidence["stalls"]]
    charts = html_charts(render_html([analysis]))
    (loss,) = [  # the first run's loss chart
        f for i, f in charts if i.startswith("chart-0-") and f["layout"]["title"]["text"] == "loss"
    ]
    assert [x for x, label in vertical_lines(loss) if label == "stall"] == starts


def test_html_marks_slow_data_on_the_loss_chart_only() -> None:
    """slow_data is marked on the loss chart, not on the timing charts."""
    records = [
        {"event": "metrics", "step": s, "loss": 1 / s, "data_time": 0.8, "step_time": 1.0}
        for s in range(1, 21)
    ]
    run = analyze.analyze_records(records)
    assert any(d.kind == "slow_data" for d in run.diagnoses)
    log = analyze.LogAnalysis("jsonl", "records", (run,), 0)
    charts = {f["layout"]["title"]["text"]: f for _, f in html_charts(render_html([log]))}
    assert [label for _, label in vertical_lines(charts["loss"])] == ["slow_data"]
    assert vertical_lines(charts["data_time"]) == []


def test_streamed_json_is_exactly_the_indented_dump_of_to_dict() -> None:
    """render_json streams each series column in chunks (70,000 points: two chunks);
    the text is byte for byte orjson's indented dump of to_dict(), non-finite included."""
    records = [
        {
            "event": "metrics",
            "step": step,
            "epoch": step / 1000,
            "loss": math.nan if step == 5 else (math.inf if step == 69_999 else 1 / step),
            "ts": 1000.0 + step,
        }
        for step in range(1, 70_001)
    ]
    run = analyze.analyze_records(records, run="big")
    log = analyze.LogAnalysis("records", "<records>", (run,), 70_000)
    for analyses in ([log], [log, log]):
        for max_points in (None, 999):
            if len(analyses) == 1:
                document: object = log.to_dict(max_points)
            else:
                document = {"schema_version": 1, "logs": [a.to_dict(max_points) for a in analyses]}
            expected = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
            buffer = io.StringIO()
            render_json(analyses, buffer, max_points)
            assert buffer.getvalue() == expected
