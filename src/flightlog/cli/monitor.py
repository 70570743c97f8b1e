"""`flightlog monitor export-rules | export-dashboard`: the model-serving exports as files.

    flightlog monitor export-rules --model churn > model-rules.yml     # promtool check rules
    flightlog monitor export-dashboard --model churn > dashboard.json  # Grafana import

Both print to stdout (or ``--output-file``); ``--model`` (repeatable) limits them to those
model names. Alert levels of the rules are flags named as in
``flightlog.monitor.exports.ServingAlertThresholds``. Exit code 2 with one ``error:`` line
for a bad value.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]

EXIT_BAD_INPUT = 2

_MODEL_OPTION = typer.Option(
    [], "--model", help="Only this model name (repeatable); default: every model."
)
_OUTPUT_FILE_OPTION = typer.Option(
    None, "--output-file", "-o", help="Write the file here instead of stdout."
)


def export_rules(
    model: list[str] = _MODEL_OPTION,
    latency_p95_seconds: float = typer.Option(
        0.5, "--latency-p95-seconds", help="p95 inference latency that alerts."
    ),
    error_ratio: float = typer.Option(
        0.01, "--error-ratio", help="Share of failed predictions that alerts."
    ),
    accuracy_floor: float = typer.Option(
        0.9, "--accuracy-floor", help="Accuracy over 1h below which it alerts."
    ),
    drift_psi: float = typer.Option(0.2, "--drift-psi", help="PSI of a feature that alerts."),
    stale_data_seconds: float = typer.Option(
        600.0, "--stale-data-seconds", help="Seconds without a prediction that alert."
    ),
    group_name: str = typer.Option(
        "flightlog-model-serving", "--group-name", help="Name of the rule group."
    ),
    runbook_url: str = typer.Option("", "--runbook-url", help="Annotation on every alert."),
    output_file: Path | None = _OUTPUT_FILE_OPTION,
) -> None:
    """Prometheus recording and alert rules for ModelMonitor's metrics (passes promtool)."""
    from flightlog.errors import MonitorError
    from flightlog.monitor.exports import ServingAlertThresholds, alert_rules_yaml

    thresholds = ServingAlertThresholds(
        latency_p95_seconds=latency_p95_seconds,
        error_ratio=error_ratio,
        accuracy_floor=accuracy_floor,
        drift_psi=drift_psi,
        stale_data_seconds=stale_data_seconds,
        group_name=group_name,
        runbook_url=runbook_url,
    )
    try:
        text = alert_rules_yaml(thresholds, model)
    except MonitorError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    _write(text, output_file)


def export_dashboard(
    model: list[str] = _MODEL_OPTION,
    title: str = typer.Option("ML model serving", "--title", help="Dashboard title."),
    uid: str = typer.Option("flightlog-model-serving", "--uid", help="Dashboard UID."),
    output_file: Path | None = _OUTPUT_FILE_OPTION,
) -> None:
    """Grafana dashboard JSON over any Prometheus data source, importable as is."""
    import orjson

    from flightlog.errors import MonitorError
    from flightlog.monitor.exports import grafana_dashboard

    try:
        dashboard = grafana_dashboard(title, uid, model)
    except MonitorError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    _write(orjson.dumps(dashboard, option=orjson.OPT_INDENT_2).decode() + "\n", output_file)


def _write(text: str, output_file: Path | None) -> None:
    if output_file is None:
        typer.echo(text, nl=False)
        return
    try:
        output_file.write_text(text, encoding="utf-8")
    except OSError as error:
        typer.echo(f"error: cannot write {output_file}: {error.strerror}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def register(app: typer.Typer) -> None:
    monitor = typer.Typer(
        help="Model-serving monitoring exports: Prometheus rules, Grafana dashboard.",
        no_args_is_help=True,
    )
    monitor.command("export-rules")(export_rules)
    monitor.command("export-dashboard")(export_dashboard)
    app.add_typer(monitor, name="monitor")
