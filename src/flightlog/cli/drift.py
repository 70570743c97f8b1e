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
    reference: str = typer.Option(
        ...,
        "--reference",
        help="Reference data: a Parquet/CSV file, or a LogQL log query over the window "
        "--reference-start..--reference-end (needs --url).",
    ),
    reference_start: str | None = typer.Option(
        None,
        "--reference-start",
        help="With a LogQL reference: window start (RFC 3339 or unix ns).",
    ),
    reference_end: str | None = typer.Option(
        None, "--reference-end", help="With a LogQL reference: window end (RFC 3339 or unix ns)."
    ),
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
        if _is_logql(reference):
            if reference_start is None or reference_end is None:
                raise MonitorError(
                    "a LogQL --reference needs --reference-start and --reference-end"
                )
            start_ns = _time_ns(reference_start, "--reference-start")
            end_ns = _time_ns(reference_end, "--reference-end")
            reference_columns = sources.columns_from_records(
                sources.query_records(url, reference, start_ns, end_ns)
            )
        else:
            reference_columns = sources.read_table(_existing(reference, "--reference"))
        reference_samples = samples.profile(reference_columns, categorical)
        if _is_logql(current):
            end_ns = time.time_ns()
            start_ns = end_ns - int(since_secs * 1e9)
            records = sources.query_records(url, current, start_ns, end_ns)
            current_columns = sources.columns_from_records(records)
        else:
            current_columns = sources.read_table(_existing(current, "--current"))
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


def _is_logql(value: str) -> bool:
    return value.lstrip().startswith("{") and not Path(value).is_file()


def _existing(value: str, option: str) -> Path:
    from flightlog.errors import MonitorError

    path = Path(value)
    if not path.is_file():
        raise MonitorError(
            f"{option} {value!r}: not a file and not a LogQL query "
            "(a query starts with a stream selector such as '{service=\"api\"}')"
        )
    return path


def _time_ns(value: str, option: str) -> int:
    import datetime as dt

    from flightlog.errors import MonitorError

    if value.isdigit():
        return int(value)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MonitorError(
            f"{option} {value!r}: not a time; write RFC 3339 (2026-11-01T00:00:00Z) or unix ns"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1_000_000_000)
