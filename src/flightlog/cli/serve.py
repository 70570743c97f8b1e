"""``flightlog serve``: run the server with the embedded store.

The listening socket is bound before the store is opened, so ``--port 0`` works: the
first line printed says the real address (``flightlog listening on http://HOST:PORT``),
which is how the test fixture finds it. SIGTERM and Ctrl-C shut down gracefully: in-flight
requests finish, the head is flushed to a segment, the store is closed.
"""

from __future__ import annotations

import gc
import signal
import socket
from pathlib import Path
from typing import Any

import typer

from flightlog.config import DEFAULT_HOST, DEFAULT_PORT

__all__ = ["register"]


def serve(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="flightlog.yaml to read.", dir_okay=False
    ),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Where the store keeps its files [config's data_dir, or ./flightlog-data].",
    ),
    host: str | None = typer.Option(None, "--host", help=f"Address to listen on [{DEFAULT_HOST}]."),
    port: int | None = typer.Option(
        None, "--port", help=f"Port to listen on; 0 picks a free one [{DEFAULT_PORT}]."
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Run the log server: Loki-compatible push and query API, UI, alerting."""
    import sys

    import uvicorn

    from flightlog.config import load_config
    from flightlog.errors import FlightlogError
    from flightlog.server import create_app
    from flightlog.server.preflight import check_config
    from flightlog.store import Store

    try:
        settings = load_config(config, data_dir=data_dir)
        # The extension sections (rules, alerting, slos, ...) are read by startup hooks;
        # check them here so a mistake is one line before anything binds or opens.
        check_config(settings)
    except FlightlogError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    bind_host = host or settings.server.host
    bind_port = settings.server.port if port is None else port
    family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
    try:
        sock = listening_socket(bind_host, bind_port)
    except OSError as exc:
        typer.echo(
            f"error: cannot listen on {bind_host}:{bind_port}: {exc.strerror}; pick another --port",
            err=True,
        )
        raise typer.Exit(2) from None
    actual_port = sock.getsockname()[1]
    shown_host = f"[{bind_host}]" if family == socket.AF_INET6 else bind_host
    print(
        f"flightlog listening on http://{shown_host}:{actual_port} (data in {settings.data_dir})",
        flush=True,
    )
    try:
        # Opened here rather than in the app's lifespan so that a locked or unreadable
        # data dir is one clear line, not an ASGI startup traceback.
        store = Store.open(settings.store)
    except FlightlogError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    app = create_app(settings, store=store)
    # A push of 10,000 lines allocates tens of thousands of short-lived objects; with the
    # default thresholds the collector runs dozens of times per push and re-scans every
    # long-lived object (modules, the app). Freeze those and collect less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    server = uvicorn.Server(
        uvicorn.Config(
            _QuietStartupFailure(app),
            log_level=log_level,
            lifespan="on",
            timeout_graceful_shutdown=30,
            access_log=False,
        )
    )
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; with these handlers
    # (restored by uvicorn before it re-raises) a clean stop exits 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    try:
        server.run(sockets=[sock])
    except FlightlogError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    if not server.started:
        # uvicorn swallows lifespan failures and returns; say so in one line.
        failure = getattr(app.state, "startup_error", None)
        if isinstance(failure, FlightlogError):
            typer.echo(f"error: {failure}", err=True)
        else:
            typer.echo("error: flightlog failed to start (see the message above)", err=True)
        sys.exit(1)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket whose accepted connections get TCP_NODELAY."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it every keep-alive response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _QuietStartupFailure:
    """ASGI wrapper: a ``FlightlogError`` from a startup hook is not a traceback.

    The app's lifespan records such an error in ``app.state.startup_error``; Starlette
    then reports the startup failure with the formatted traceback, which uvicorn logs.
    Drop that text here: ``serve`` prints the error itself as one line.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_quietly(message: Any) -> None:
            failure = getattr(self.app.state, "startup_error", None)
            if message["type"] == "lifespan.startup.failed" and failure is not None:
                message = {**message, "message": ""}
            await send(message)

        await self.app(scope, receive, send_quietly)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
