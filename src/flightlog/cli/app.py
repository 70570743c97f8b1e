"""The `flightlog` console script: the typer app that every subcommand module registers on.

Each subcommand lives in its own module exposing ``register(app)``; modules import their
heavy dependencies inside the command function so `flightlog --help` stays fast.
"""

from __future__ import annotations

import importlib

import typer

from flightlog._version import __version__

app = typer.Typer(
    name="flightlog",
    help="The flight recorder for ML systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Order here is the order in `flightlog --help`.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "serve",
    "demo",
    "push",
    "query",
    "labels",
    "tail",
    "drift",
    "compare_models",
    "monitor",
    "collect",
    "analyze",
    "rules",
    "slo",
    "alerts",
    "silence",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"flightlog {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """The flight recorder for ML systems."""


for _name in SUBCOMMAND_MODULES:
    importlib.import_module(f"flightlog.cli.{_name}").register(app)


def main() -> None:
    """Entry point of the `flightlog` console script."""
    app()
