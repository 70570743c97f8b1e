"""``flightlog alerts``: the active alerts of a running server (Alertmanager's view)."""

from __future__ import annotations

import json

import typer

from flightlog.cli.alerting_client import TENANT_OPTION, TOKEN_OPTION, URL_OPTION, request

__all__ = ["register"]


def alerts(
    url: str = URL_OPTION,
    tenant: str | None = TENANT_OPTION,
    token: str | None = TOKEN_OPTION,
    filter: list[str] = typer.Option(
        [], "--filter", help='Matcher such as severity="page"; repeatable.'
    ),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
) -> None:
    """List firing alerts with their state (active or suppressed) and receivers."""
    if output not in ("table", "json"):
        typer.echo(f"error: --output {output!r} is not table or json", err=True)
        raise typer.Exit(2)
    found = request("GET", url, "/api/v2/alerts", tenant, token, params={"filter": filter}) or []
    if output == "json":
        typer.echo(json.dumps(found, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("alertname", "state", "since", "labels", "summary")
    for alert in found:
        labels = {k: v for k, v in alert["labels"].items() if k != "alertname"}
        table.add_row(
            alert["labels"].get("alertname", ""),
            alert["status"]["state"],
            alert["startsAt"][:19].replace("T", " "),
            ", ".join(f"{k}={v}" for k, v in sorted(labels.items())),
            alert["annotations"].get("summary", ""),
        )
    Console().print(table if found else "no active alerts")


def register(app: typer.Typer) -> None:
    app.command("alerts")(alerts)
