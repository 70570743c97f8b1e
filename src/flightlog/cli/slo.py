"""``flightlog slo status`` (from a running server) and ``flightlog slo export`` (from the config)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from flightlog.cli.alerting_client import TENANT_OPTION, TOKEN_OPTION, URL_OPTION, request

__all__ = ["register"]


def status(
    url: str = URL_OPTION,
    tenant: str | None = TENANT_OPTION,
    token: str | None = TOKEN_OPTION,
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
) -> None:
    """Error budget remaining and burn rates of every SLO."""
    found = request("GET", url, "/api/v1/slos", tenant, token)["data"]
    if output == "json":
        typer.echo(json.dumps(found, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.2f}%"

    table = Table(
        "slo",
        "service",
        "objective",
        "window",
        "budget left",
        "burn 1h",
        "burn 6h",
        "burn 3d",
        "firing",
    )
    for slo in found:
        burn = slo["burn_rates"]
        table.add_row(
            slo["name"],
            slo["service"],
            pct(slo["objective"]),
            slo["window"],
            pct(slo["error_budget_remaining"]),
            *("n/a" if burn.get(w) is None else f"{burn[w]:.2f}x" for w in ("1h", "6h", "3d")),
            ", ".join(slo["firing"]),
        )
    Console().print(table if found else "no SLOs configured (add `slos:` to flightlog.yaml)")


def export(
    config: Path = typer.Option(
        Path("flightlog.yaml"), "--config", "-c", help="The flightlog.yaml with `slos:`."
    ),
    output_format: str = typer.Option("prometheus", "--format", "-f", help="prometheus or loki."),
) -> None:
    """Print the generated rules: Prometheus format (passes promtool) or the full Loki set."""
    from flightlog.errors import ConfigError
    from flightlog.rules.slo import export_loki, export_prometheus, parse_slos

    if output_format not in ("prometheus", "loki"):
        typer.echo(f"error: --format {output_format!r} is not prometheus or loki", err=True)
        raise typer.Exit(2)
    try:
        import yaml

        document = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        slos = parse_slos(document.get("slos") if isinstance(document, dict) else None)
    except OSError as exc:
        typer.echo(f"error: cannot read {config}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    except (ConfigError, yaml.YAMLError) as exc:
        typer.echo(f"error: {config}: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(1) from None
    if not slos:
        typer.echo(f"error: {config} declares no SLOs: add a `slos:` list", err=True)
        raise typer.Exit(1)
    typer.echo(
        export_prometheus(slos) if output_format == "prometheus" else export_loki(slos), nl=False
    )


def register(app: typer.Typer) -> None:
    slo = typer.Typer(help="SLO error budgets and generated burn-rate rules.", no_args_is_help=True)
    slo.command("status")(status)
    slo.command("export")(export)
    app.add_typer(slo, name="slo")
