"""`flightlog drift`: compare a reference data set with a current one, feature by feature.

Exit codes: 0 no feature drifted, 1 at least one drifted, 2 unusable input (one line on
stderr saying what to fix).
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path

import typer

EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2


class DriftOutput(StrEnum):
    TEXT = "text"
    JSON = "json"
    HTML = "html"


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)


def drift(
    reference: Path = typer.Option(..., "--reference", help="Reference data: Parquet or CSV file."),
    current: str = typer.Option(
        ...,
        "--current",
        help="Current data: a Parquet/CSV file, or a LogQL log query whose lines are "
        "JSON prediction logs (needs --url).",
    ),
    url: str = typer.Option(
        "http://127.0.0.1:3100", "--url", help="flightlog (or Loki) server for a LogQL --current."
    ),
    since_secs: float = typer.Option(
        3600.0, "--since-secs", help="With LogQL: how far back the current window reaches."
    ),
    categorical: list[str] = typer.Option(
        [], "--categorical", help="Treat this column as categorical (repeatable)."
    ),
    feature: list[str] = typer.Option(
        [], "--feature", help="Only check this feature (repeatable); default: all shared columns."
    ),
    output: DriftOutput = typer.Option(DriftOutput.TEXT, "--output", help="text, json or html."),
    output_file: Path | None = typer.Option(
        None, "--output-file", help="Write the report here instead of stdout."
    ),
) -> None:
    """Data drift per feature (PSI, KS, Wasserstein, chi-square, Jensen-Shannon)."""
    from flightlog.errors import MonitorError
    from flightlog.monitor import drift_render, samples, sources
    from flightlog.monitor.drift import detect_drift

    try:
        reference_samples = samples.profile(sources.read_table(reference), categorical)
        current_path = Path(current)
        if current_path.is_file():
            current_columns = sources.read_table(current_path)
        elif current.lstrip().startswith("{"):
            end_ns = time.time_ns()
            start_ns = end_ns - int(since_secs * 1e9)
            records = sources.query_records(url, current, start_ns, end_ns)
            current_columns = sources.columns_from_records(records)
        else:
            raise MonitorError(
                f"--current {current!r}: not a file and not a LogQL query "
                "(a query starts with a stream selector such as '{service=\"api\"}')"
            )
        current_samples = samples.samples_like(reference_samples, current_columns)
        report = detect_drift(reference_samples, current_samples, features=feature or None)
    except MonitorError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None

    if output is DriftOutput.JSON:
        text = drift_render.render_json(report) + "\n"
    elif output is DriftOutput.HTML:
        text = drift_render.render_html(report)
    else:
        text = drift_render.render_text(report)
    if output_file is None:
        typer.echo(text, nl=False)
    else:
        try:
            output_file.write_text(text, encoding="utf-8")
        except OSError as error:
            typer.echo(f"error: cannot write {output_file}: {error.strerror}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
    if report.drifted:
        raise typer.Exit(EXIT_DRIFT)
