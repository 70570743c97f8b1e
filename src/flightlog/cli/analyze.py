"""`flightlog analyze`: curves and diagnoses from training logs.

Exit codes: 0 analysed, 1 bad input (one line saying what to fix), 2 a critical
diagnosis (nan, divergence, a crash signature) was found — so a CI job can gate on it
(not in --follow mode, which runs until interrupted).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

import typer

EXIT_CRITICAL = 2


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)


def analyze(
    paths: list[Path] | None = typer.Argument(
        None, help="Training log file(s); gzip/zstd are read as-is.", show_default=False
    ),
    format_name: str | None = typer.Option(
        None, "--format", "-f", help="Log format (default: detected). See --list-formats."
    ),
    output: str = typer.Option("text", "--output", "-o", help="text | json | html | csv"),
    out: Path | None = typer.Option(
        None, "--out", help="Write the report to this file instead of stdout."
    ),
    follow: bool = typer.Option(
        False, "--follow", help="Keep reading the (single) log as it grows; Ctrl-C stops."
    ),
    alert_webhook: str | None = typer.Option(
        None,
        "--alert-webhook",
        help="With --follow: POST each new diagnosis of severity >= warning here once.",
    ),
    interval_secs: float = typer.Option(
        2.0, "--interval-secs", help="With --follow: seconds between refreshes."
    ),
    max_points: int | None = typer.Option(
        None, "--max-points", help="Downsample each curve to about this many points (json/html)."
    ),
    thresholds: list[str] | None = typer.Option(
        None,
        "--set",
        help="Override a diagnosis threshold, e.g. --set plateau.window=20 --set spike.z_threshold=6 "
        "(names and defaults: flightlog.analyze.diagnose.params).",
    ),
    list_formats: bool = typer.Option(False, "--list-formats", help="List the formats and exit."),
) -> None:
    """Parse training logs (Keras, Hugging Face, Lightning, XGBoost, LightGBM, scikit-learn,
    nanoGPT, tqdm, JSON lines, generic) and report curves and diagnoses."""
    from rich.console import Console

    from flightlog.analyze import FORMATS
    from flightlog.analyze.render import OUTPUTS
    from flightlog.errors import AnalyzeError

    console = Console(stderr=True)
    if list_formats:
        for name, description in FORMATS.items():
            typer.echo(f"{name:10} {description}")
        raise typer.Exit()
    if not paths:
        _fail(console, "give at least one log file: flightlog analyze train.log")
    assert paths is not None
    if output not in OUTPUTS:
        _fail(console, f"unknown --output {output!r}: use one of {', '.join(OUTPUTS)}")
    if format_name is not None and format_name not in FORMATS:
        _fail(console, f"unknown --format {format_name!r}: use one of {', '.join(FORMATS)}")
    if alert_webhook and not follow:
        _fail(console, "--alert-webhook needs --follow (alerts are sent while following a log)")
    if follow and len(paths) != 1:
        _fail(console, "--follow takes exactly one log path")
    if interval_secs <= 0:
        _fail(console, f"--interval-secs must be > 0, got {interval_secs}")
    from flightlog.analyze.diagnose.params import params_with

    try:
        params = params_with(thresholds or [])
    except ValueError as exc:
        _fail(console, str(exc))
    try:
        if follow:
            _follow(
                paths[0], format_name, output, out, alert_webhook, interval_secs, max_points, params
            )
            return
        from flightlog.analyze import analyze_path

        analyses = [analyze_path(path, format_name, params) for path in paths]
    except AnalyzeError as exc:
        _fail(console, str(exc))
    _write(analyses, output, out, max_points)
    if any(a.worst_severity == "critical" for a in analyses):
        raise typer.Exit(EXIT_CRITICAL)


def _fail(console: object, message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _write(analyses: list, output: str, out: Path | None, max_points: int | None) -> None:
    from rich.console import Console

    from flightlog.analyze.render import render_csv, render_html, render_json, render_text

    if output == "text":
        if out is None:
            Console().print(render_text(analyses))
        else:
            with open(out, "w", encoding="utf-8") as handle:
                Console(file=handle, width=120, color_system=None).print(render_text(analyses))
        return

    def render(handle: TextIO) -> None:
        if output == "json":
            render_json(analyses, handle, max_points)
        elif output == "csv":
            render_csv(analyses, handle)
        else:
            handle.write(render_html(analyses, max_points or 5000))

    if out is None:
        render(sys.stdout)
        return
    # Rendered straight into the file (a report can be hundreds of MB: no copy in memory),
    # then renamed, so a reader (or --follow's next refresh) never sees half a file.
    partial = out.with_name(out.name + ".partial")
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            render(handle)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)


def _follow(
    path: Path,
    format_name: str | None,
    output: str,
    out: Path | None,
    webhook: str | None,
    interval_secs: float,
    max_points: int | None,
    params: object,
) -> None:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from flightlog.analyze.follow import DiagnosisAlerter, LogFollower
    from flightlog.analyze.render import render_text

    follower = LogFollower(path, format_name, params)  # type: ignore[arg-type]
    alerter = (
        DiagnosisAlerter(webhook, on_error=lambda m: typer.echo(f"warning: {m}", err=True))
        if webhook
        else None
    )
    console = Console()
    try:
        with Live(Text(f"waiting for {path} ..."), console=console, auto_refresh=False) as live:
            while True:
                follower.poll()
                analysis = follower.snapshot()
                if analysis is not None:
                    live.update(render_text([analysis]), refresh=True)
                    if alerter is not None:
                        alerter.notify(analysis)
                    if out is not None:
                        _write([analysis], output, out, max_points)
                time.sleep(interval_secs)
    except KeyboardInterrupt:
        pass
    finally:
        follower.close()
        if alerter is not None:
            alerter.close()
