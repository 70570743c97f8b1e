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
    files: list[Path] = typer.Argument(..., help="Rule files to validate.", show_default=False),
) -> None:
    """Validate rule files: YAML, LogQL expressions, templates; exit 1 on any error."""
    from flightlog.errors import RuleError
    from flightlog.rules.loader import load_rule_file

    bad = 0
    for path in files:
        try:
            groups = load_rule_file(path)
        except RuleError as exc:
            bad += 1
            typer.echo(f"error: {exc}", err=True)
            continue
        rules = sum(len(g.rules) for g in groups)
        typer.echo(f"{path}: ok ({len(groups)} groups, {rules} rules)")
    if bad:
        raise typer.Exit(1)


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
