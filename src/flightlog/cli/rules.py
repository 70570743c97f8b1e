"""``flightlog rules check FILE...`` and ``flightlog rules init [PATH]``.

``check`` validates the YAML, every LogQL expression and every template; each problem is
one line naming file, line, column, group and rule; the exit code is 1 when any file is
bad. ``init`` writes a starter rule file for an ML platform (refuses to overwrite).
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def check(
    files: list[Path] = typer.Argument(None, help="Rule files to validate.", show_default=False),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Also check flightlog.yaml: rules.files, slos and alerting."
    ),
) -> None:
    """Validate rule files (YAML, LogQL, templates) and optionally a config; exit 1 on any error."""
    from flightlog.errors import FlightlogError, RuleError
    from flightlog.rules.loader import load_rule_file

    if not files and config is None:
        typer.echo("error: name rule files to check, or --config flightlog.yaml", err=True)
        raise typer.Exit(2)
    bad = 0
    for path in files or []:
        try:
            groups = load_rule_file(path)
        except RuleError as exc:
            bad += 1
            typer.echo(f"error: {exc}", err=True)
            continue
        rules = sum(len(g.rules) for g in groups)
        typer.echo(f"{path}: ok ({len(groups)} groups, {rules} rules)")
    if config is not None:
        try:
            summary = _check_config(config)
        except FlightlogError as exc:
            bad += 1
            typer.echo(f"error: {config}: {exc}", err=True)
        else:
            typer.echo(f"{config}: ok ({summary})")
    if bad:
        raise typer.Exit(1)


def _check_config(path: Path) -> str:
    """Load the alerting parts of a config the way the server does; returns a summary."""
    from flightlog.config import load_config
    from flightlog.notify.config import load_alerting_config
    from flightlog.rules.config import load_rule_files, parse_rules_section
    from flightlog.rules.slo import parse_slos

    config = load_config(path)
    settings = parse_rules_section(config.section("rules"))
    groups = load_rule_files(settings.files, path.parent)
    slos = parse_slos(config.section("slos"))
    alerting = load_alerting_config(config.section("alerting"))
    for warning in alerting.warnings:
        typer.echo(f"warning: {warning}", err=True)
    return f"{len(groups)} rule groups, {len(slos)} SLOs, {len(alerting.receivers)} receivers"


def init(
    path: Path = typer.Argument(
        Path("flightlog-rules.yaml"), help="Where to write the starter file."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a starter rule file for an ML platform (errors, OOM, NCCL, auth, silence)."""
    from flightlog.rules.starter import STARTER_RULES

    if path.exists() and not force:
        typer.echo(f"error: {path} exists; pass --force to overwrite it", err=True)
        raise typer.Exit(1)
    try:
        path.write_text(STARTER_RULES, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot write {path}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {path}; add it to flightlog.yaml under rules: {{files: [{path.name}]}}")


def register(app: typer.Typer) -> None:
    rules = typer.Typer(help="Validate and create alert rule files.", no_args_is_help=True)
    rules.command("check")(check)
    rules.command("init")(init)
    app.add_typer(rules, name="rules")
