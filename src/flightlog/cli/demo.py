"""``flightlog demo``: the server plus real programs that give the UI something true to show.

Starts ``flightlog serve`` with a demo configuration (starter rules, an SLO, an alert
route to a local webhook receiver), waits until it is ready, then starts the workload as
child processes: the webhook receiver, the model server, the gateway with its generated
traffic, and the scikit-learn training runs. Ctrl-C or SIGTERM stops them all; the server
flushes its head before it exits.
"""

from __future__ import annotations

from pathlib import Path

import typer

from flightlog.config import DEFAULT_HOST, DEFAULT_PORT

__all__ = ["register"]

READY_TIMEOUT_SECS = 60.0


def demo(
    host: str = typer.Option(DEFAULT_HOST, "--host", help="Address the server listens on."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="Port the server listens on."),
    data_dir: Path = typer.Option(
        Path("flightlog-data"), "--data-dir", help="Where the store keeps its files."
    ),
    requests: int = typer.Option(600, "--requests", help="Requests the traffic generator sends."),
    epochs: int = typer.Option(30, "--epochs", help="Epochs of each demo training run."),
) -> None:
    """Run the server with demo data made by real training and inference programs."""
    from flightlog.demo.supervisor import DemoSupervisor

    supervisor = DemoSupervisor(
        host=host, port=port, data_dir=data_dir.resolve(), requests=requests, epochs=epochs
    )
    raise typer.Exit(supervisor.run(ready_timeout_secs=READY_TIMEOUT_SECS))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
