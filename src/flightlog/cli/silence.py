"""``flightlog silence add|ls|expire``: silences on a running server, over its v2 API."""

from __future__ import annotations

import getpass
import json
import time

import typer

from flightlog.cli.alerting_client import TENANT_OPTION, TOKEN_OPTION, URL_OPTION, request

__all__ = ["register"]


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def add(
    matchers: list[str] = typer.Argument(
        ..., help='Matchers: alertname=X service=~"api|db" env!=dev.'
    ),
    duration: str = typer.Option("1h", "--duration", "-d", help="How long, e.g. 30m, 2h, 1d."),
    comment: str = typer.Option("", "--comment", "-c", help="Why (shown to others)."),
    author: str = typer.Option("", "--author", help="Who (default: your user name)."),
    url: str = URL_OPTION,
    tenant: str | None = TENANT_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Silence alerts matching every matcher for --duration; prints the silence ID."""
    from flightlog.errors import ConfigError
    from flightlog.notify.matchers import parse_matchers
    from flightlog.notify.silences import matcher_to_api
    from flightlog.rules.durations import parse_duration

    try:
        parsed = parse_matchers(matchers)
        seconds = parse_duration(duration)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    now = time.time()
    body = {
        "matchers": [matcher_to_api(m) for m in parsed],
        "startsAt": _rfc3339(now),
        "endsAt": _rfc3339(now + seconds),
        "createdBy": author or getpass.getuser(),
        "comment": comment,
    }
    created = request("POST", url, "/api/v2/silences", tenant, token, json=body)
    typer.echo(created["silenceID"])


def ls(
    url: str = URL_OPTION,
    tenant: str | None = TENANT_OPTION,
    token: str | None = TOKEN_OPTION,
    expired: bool = typer.Option(False, "--expired", help="Also list expired silences."),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
) -> None:
    """List silences (active and pending; --expired for all)."""
    found = request("GET", url, "/api/v2/silences", tenant, token) or []
    if not expired:
        found = [s for s in found if s["status"]["state"] != "expired"]
    if output == "json":
        typer.echo(json.dumps(found, indent=2))
        return
    from flightlog.model import LabelMatcher, MatchOp
    from flightlog.notify.matchers import format_matcher

    for silence in found:
        matchers = " ".join(
            format_matcher(
                LabelMatcher(
                    m["name"],
                    {
                        (False, True): MatchOp.EQ,
                        (False, False): MatchOp.NEQ,
                        (True, True): MatchOp.RE,
                        (True, False): MatchOp.NRE,
                    }[(m["isRegex"], m.get("isEqual", True))],
                    m["value"],
                )
            )
            for m in silence["matchers"]
        )
        typer.echo(
            f"{silence['id']}  {silence['status']['state']:8}  until {silence['endsAt']}  {matchers}  {silence['comment']}"
        )
    if not found:
        typer.echo("no silences")


def expire(
    silence_id: str = typer.Argument(..., help="The silence ID (from `flightlog silence ls`)."),
    url: str = URL_OPTION,
    tenant: str | None = TENANT_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """End a silence now."""
    request("DELETE", url, f"/api/v2/silence/{silence_id}", tenant, token)
    typer.echo(f"expired {silence_id}")


def register(app: typer.Typer) -> None:
    silence = typer.Typer(help="Create, list and expire silences.", no_args_is_help=True)
    silence.command("add")(add)
    silence.command("ls")(ls)
    silence.command("expire")(expire)
    app.add_typer(silence, name="silence")
