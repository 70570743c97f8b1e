"""`flightlog labels [NAME]`: list label names, or the values of one label.

flightlog labels                 # names seen in the last hour
flightlog labels service --since 24h
"""

from __future__ import annotations

import sys

import typer

from flightlog.cli.query import CliFailure, ServerClient, resolve_window

__all__ = ["register"]


def labels(
    name: str | None = typer.Argument(None, help="Label whose values to list; omit to list names."),
    since: str = typer.Option("1h", "--since", help="How far back to look."),
    selector: str | None = typer.Option(
        None, "--query", help='Only streams matching a selector, e.g. {env="prod"}.'
    ),
    output: str = typer.Option("text", "--output", "-o", help="text or json."),
    url: str = typer.Option(
        "http://127.0.0.1:3100", "--url", envvar="FLIGHTLOG_URL", help="Server base URL."
    ),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant (X-Scope-OrgID)."),
    token: str | None = typer.Option(
        None, "--token", envvar="FLIGHTLOG_TOKEN", help="Bearer token."
    ),
) -> None:
    """List label names, or the values of label NAME."""
    import orjson

    try:
        if output not in ("text", "json"):
            raise CliFailure(f"--output {output!r} is not text or json")
        start_ns, end_ns = resolve_window(since, None, None)
        params = {"start": str(start_ns), "end": str(end_ns)}
        if selector:
            params["query"] = selector
        path = f"/loki/api/v1/label/{name}/values" if name else "/loki/api/v1/labels"
        body = ServerClient(url, tenant, token).get(path, params)
    except CliFailure as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    values = body.get("data") or []
    if output == "json":
        sys.stdout.write(orjson.dumps(values).decode() + "\n")
    else:
        for value in values:
            typer.echo(value)


def register(app: typer.Typer) -> None:
    app.command("labels")(labels)
