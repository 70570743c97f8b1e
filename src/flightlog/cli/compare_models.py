"""`flightlog compare-models`: champion vs challenger from prediction logs, with a verdict.

Exit codes: 0 verdict promote or keep, 1 verdict rollback (so a deploy pipeline can stop),
2 unusable input (one line on stderr saying what to fix).

``--query`` is read from ``--url`` (``FLIGHTLOG_URL``) as the tenant ``--tenant`` (alias
``--org-id``) with the bearer ``--token`` (``FLIGHTLOG_TOKEN``), as ``flightlog query`` does.
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

EXIT_ROLLBACK = 1
EXIT_BAD_INPUT = 2


class CompareOutput(StrEnum):
    TEXT = "text"
    JSON = "json"


def register(app: typer.Typer) -> None:
    app.command("compare-models")(compare_models_command)


def compare_models_command(
    champion: str = typer.Option(..., "--champion", help="Model version serving today."),
    challenger: str = typer.Option(..., "--challenger", help="Model version being evaluated."),
    records: Path | None = typer.Option(
        None, "--records", help="JSON-lines file of prediction-log records."
    ),
    query: str | None = typer.Option(
        None, "--query", help="LogQL log query returning JSON prediction logs (needs --url)."
    ),
    metrics_before: Path | None = typer.Option(
        None,
        "--metrics-before",
        help="A /metrics scrape of the model server at the period's start.",
    ),
    metrics_after: Path | None = typer.Option(
        None, "--metrics-after", help="A /metrics scrape at the period's end (with --model)."
    ),
    model: str | None = typer.Option(None, "--model", help="Model name in the metrics' labels."),
    url: str = typer.Option(
        "http://127.0.0.1:3100", "--url", envvar="FLIGHTLOG_URL", help="Server for --query."
    ),
    tenant: str | None = typer.Option(
        None, "--tenant", "--org-id", help="Tenant (X-Scope-OrgID) of --query."
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="FLIGHTLOG_TOKEN", help="Bearer token for the server."
    ),
    since_secs: float = typer.Option(
        3600.0, "--since-secs", help="With --query: period to compare."
    ),
    version_field: str = typer.Option(
        "model_version", "--version-field", help="Record field naming the version."
    ),
    max_latency_increase_ratio: float = typer.Option(
        0.10, help="Tolerated p95 latency increase (0.1 = +10 %)."
    ),
    max_error_ratio_increase: float = typer.Option(
        0.005, help="Tolerated error-ratio increase (absolute)."
    ),
    max_accuracy_drop: float = typer.Option(0.01, help="Tolerated accuracy drop (absolute)."),
    min_predictions: int = typer.Option(
        200, help="Predictions each version needs before a verdict."
    ),
    output: CompareOutput = typer.Option(CompareOutput.TEXT, "--output", help="text or json."),
) -> None:
    """Compare two model versions: latency, errors, accuracy, predictions; promote/keep/rollback."""
    import orjson

    from flightlog.cli.query import ServerClient
    from flightlog.errors import MonitorError
    from flightlog.monitor import sources
    from flightlog.monitor.compare import (
        ComparisonThresholds,
        Verdict,
        compare_models,
        pick_versions,
        samples_from_records,
    )

    try:
        given = [records is not None, query is not None, metrics_after is not None]
        if sum(given) != 1:
            raise MonitorError(
                "give exactly one of --records FILE, --query LOGQL or "
                "--metrics-before/--metrics-after FILE with --model"
            )
        if metrics_after is not None:
            by_version = _from_metrics(metrics_before, metrics_after, model)
        elif records is not None:
            by_version = samples_from_records(_read_jsonl(records), version_field)
        else:
            end_ns = time.time_ns()
            headers = ServerClient(url, tenant, token).headers()
            loaded = sources.query_records(
                url, str(query), end_ns - int(since_secs * 1e9), end_ns, headers=headers
            )
            by_version = samples_from_records(loaded, version_field)
        pair = pick_versions(by_version, champion, challenger, f"records with {version_field}=")
        thresholds = ComparisonThresholds(
            max_latency_increase_ratio=max_latency_increase_ratio,
            max_error_ratio_increase=max_error_ratio_increase,
            max_accuracy_drop=max_accuracy_drop,
            min_predictions=min_predictions,
        )
        result = compare_models(*pair, thresholds)
    except MonitorError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None

    if output is CompareOutput.JSON:
        typer.echo(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(
            f"champion {champion} ({result.champion_predictions} predictions) vs "
            f"challenger {challenger} ({result.challenger_predictions} predictions)"
        )
        for metric in result.metrics:
            d = metric.difference
            kind = "x" if metric.difference_kind == "ratio" else "+"
            typer.echo(
                f"  {metric.name:24s} {metric.champion.estimate:10.4g} -> {metric.challenger.estimate:10.4g}"
                f"   {kind}{d.estimate:.4g} [{d.low:.4g}, {d.high:.4g}]   {metric.verdict}"
                + ("" if metric.decides else " (info)")
            )
        typer.echo(f"  prediction JS distance   {result.prediction_js_distance:.4f}")
        typer.echo(f"verdict: {result.verdict} ({'; '.join(result.reasons)})")
    if result.verdict is Verdict.ROLLBACK:
        raise typer.Exit(EXIT_ROLLBACK)


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    import orjson

    from flightlog.errors import MonitorError

    try:
        text = path.read_bytes()
    except OSError as error:
        raise MonitorError(f"{path}: {error.strerror}; give a JSON-lines file") from error
    loaded = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise MonitorError(f"{path}:{number}: not JSON ({error.msg})") from error
        if not isinstance(value, dict):
            raise MonitorError(f"{path}:{number}: a record must be a JSON object")
        loaded.append(value)
    if not loaded:
        raise MonitorError(f"{path}: no records")
    return loaded


def _from_metrics(before: Path | None, after: Path, model: str | None) -> dict[str, Any]:
    from flightlog.errors import MonitorError
    from flightlog.monitor.compare_metrics import samples_from_metrics

    if before is None or model is None:
        raise MonitorError("--metrics-after needs --metrics-before and --model")
    texts = []
    for path in (before, after):
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise MonitorError(f"{path}: cannot read it as a /metrics scrape ({error})") from error
    return samples_from_metrics(texts[0], texts[1], model)
