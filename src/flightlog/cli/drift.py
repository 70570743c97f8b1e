"""`flightlog drift`: compare a reference data set with a current one, feature by feature.

Exit codes: 0 no feature drifted, 1 at least one drifted, 2 unusable input (one line on
stderr saying what to fix).

A LogQL ``--reference``/``--current`` is read from ``--url`` (``FLIGHTLOG_URL``) as the
tenant ``--tenant`` (alias ``--org-id``) with the bearer ``--token`` (``FLIGHTLOG_TOKEN``),
the way ``flightlog query`` does. The drift rule's thresholds are flags named as the
``monitor.drift_checks`` keys (``flightlog.monitor.drift_settings``).
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Any

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
        "http://127.0.0.1:3100",
        "--url",
        envvar="FLIGHTLOG_URL",
        help="flightlog (or Loki) server for a LogQL --reference/--current.",
    ),
    tenant: str | None = typer.Option(
        None, "--tenant", "--org-id", help="Tenant (X-Scope-OrgID) of the LogQL queries."
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="FLIGHTLOG_TOKEN", help="Bearer token for the server."
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
    psi_warning: float | None = typer.Option(
        None, "--psi-warning", help="PSI at which a feature warns (default 0.1)."
    ),
    psi_alert: float | None = typer.Option(
        None, "--psi-alert", help="PSI at which a large sample drifts (default 0.2)."
    ),
    p_value_alpha: float | None = typer.Option(
        None, "--p-value-alpha", help="KS / chi-square p-value below which drift (default 0.05)."
    ),
    psi_bins: int | None = typer.Option(
        None, "--psi-bins", help="Quantile bins for numeric PSI (default 10)."
    ),
    small_sample_max_rows: int | None = typer.Option(
        None,
        "--small-sample-max-rows",
        help="Up to this many rows the p-value decides, above it PSI (default 1000).",
    ),
    output: DriftOutput = typer.Option(DriftOutput.TEXT, "--output", help="text, json or html."),
    output_file: Path | None = typer.Option(
        None, "--output-file", help="Write the report here instead of stdout."
    ),
) -> None:
    """Data drift per feature (PSI, KS, Wasserstein, chi-square, Jensen-Shannon)."""
    from flightlog.cli.query import ServerClient
    from flightlog.errors import MonitorError
    from flightlog.monitor import drift_render, samples, sources
    from flightlog.monitor.drift import detect_drift

    headers = ServerClient(url, tenant, token).headers()
    thresholds = {
        "psi_warning": psi_warning,
        "psi_alert": psi_alert,
        "p_value_alpha": p_value_alpha,
        "psi_bins": psi_bins,
        "small_sample_max_rows": small_sample_max_rows,
    }
    try:
        config = _drift_config(
            {key: value for key, value in thresholds.items() if value is not None}
        )
        if _is_logql(reference):
            if reference_start is None or reference_end is None:
                raise MonitorError(
                    "a LogQL --reference needs --reference-start and --reference-end"
                )
            start_ns = _time_ns(reference_start, "--reference-start")
            end_ns = _time_ns(reference_end, "--reference-end")
            reference_columns = sources.columns_from_records(
                sources.query_records(url, reference, start_ns, end_ns, headers=headers)
            )
        else:
            reference_columns = sources.read_table(_existing(reference, "--reference"))
        reference_samples = samples.profile(reference_columns, categorical)
        if _is_logql(current):
            end_ns = time.time_ns()
            start_ns = end_ns - int(since_secs * 1e9)
            records = sources.query_records(url, current, start_ns, end_ns, headers=headers)
            current_columns = sources.columns_from_records(records)
        else:
            current_columns = sources.read_table(_existing(current, "--current"))
        current_samples = samples.samples_like(reference_samples, current_columns)
        report = detect_drift(reference_samples, current_samples, config, features=feature or None)
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


def _drift_config(given: dict[str, float | int]) -> Any:
    """The drift rule's config from the threshold flags; MonitorError names the bad flag."""
    import pydantic

    from flightlog.errors import MonitorError
    from flightlog.monitor.drift_settings import DriftSettings

    try:
        return DriftSettings.model_validate(given).to_drift_config()
    except pydantic.ValidationError as error:
        problem = error.errors()[0]
        flag = "--" + str(problem["loc"][0]).replace("_", "-")
        message = problem["msg"].removeprefix("Value error, ")
        raise MonitorError(f"{flag} {problem['input']!r}: {message}") from None


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
