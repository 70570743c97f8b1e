"""`flightlog tail 'LOGQL'`: follow a log query live over Loki's tail websocket.

    flightlog tail '{service="api"} |= "error"'

Prints recent entries, then new ones as they arrive, until Ctrl-C.
"""

from __future__ import annotations

import sys
import time
import urllib.parse

import typer

from flightlog.cli.query import CliFailure, ServerClient, print_entry

__all__ = ["register"]


def tail(
    logql: str = typer.Argument(..., metavar="LOGQL", help="LogQL log query to follow."),
    since: str = typer.Option("1m", "--since", help="Show entries from this far back first."),
    limit: int = typer.Option(100, "--limit", min=1, help="Most entries in the first batch."),
    output: str = typer.Option("text", "--output", "-o", help="text or jsonl."),
    url: str = typer.Option(
        "http://127.0.0.1:3100", "--url", envvar="FLIGHTLOG_URL", help="Server base URL."
    ),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant (X-Scope-OrgID)."),
    token: str | None = typer.Option(
        None, "--token", envvar="FLIGHTLOG_TOKEN", help="Bearer token."
    ),
) -> None:
    """Follow a log query, printing new entries as they arrive (Ctrl-C stops)."""
    import orjson
    from rich.console import Console
    from websockets.exceptions import ConnectionClosed, InvalidURI, WebSocketException
    from websockets.sync.client import connect

    from flightlog.errors import QueryError
    from flightlog.query.params import parse_step_ns

    try:
        if output not in ("text", "jsonl"):
            raise CliFailure(f"--output {output!r} is not text or jsonl")
        try:
            start_ns = time.time_ns() - parse_step_ns(since, "--since")
        except QueryError as exc:
            raise CliFailure(str(exc)) from None
        client = ServerClient(url, tenant, token)
        base = url.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        query = urllib.parse.urlencode(
            {"query": logql, "limit": str(limit), "start": str(start_ns)}
        )
        console = Console(highlight=False, soft_wrap=True)
        try:
            with connect(
                f"{base}/loki/api/v1/tail?{query}", additional_headers=client.headers()
            ) as socket:
                for message in socket:
                    body = orjson.loads(message)
                    if body.get("status") == "error":
                        raise CliFailure(str(body.get("error")))
                    for stream in body.get("streams", []):
                        for ts, line, *_ in stream["values"]:
                            if output == "jsonl":
                                record = {"ts": ts, "labels": stream["stream"], "line": line}
                                sys.stdout.write(orjson.dumps(record).decode() + "\n")
                                sys.stdout.flush()
                            else:
                                print_entry(console, stream["stream"], int(ts), line)
        except (OSError, InvalidURI, WebSocketException) as exc:
            if isinstance(exc, ConnectionClosed):
                return
            raise CliFailure(
                f"cannot follow {url}: {exc}. Is `flightlog serve` running? (--url)"
            ) from None
    except CliFailure as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    app.command("tail")(tail)
