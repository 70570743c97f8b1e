"""`flightlog collect`: the file-tailing agent (or a stdin tee) that ships to a server.

flightlog collect --config collect.yaml
flightlog collect 'logs/*.log' --url http://127.0.0.1:3100 --label job=train [--read-gz]
python train.py 2>&1 | flightlog collect - --url http://127.0.0.1:3100 --label job=train

In stdin mode Ctrl-C (or SIGTERM) does not cut the job's last lines off: stdin is read to
its end for up to ``stdin_drain_timeout_secs`` (5 s) more, passed through and shipped.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def _parse_labels(values: list[str]) -> dict[str, str]:
    labels = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--label {item!r} must look like name=value (e.g. --label job=train)")
        labels[name.strip()] = value.strip()
    return labels


def collect(
    paths: list[str] = typer.Argument(None, help="Globs of files to tail, or - for stdin."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="collect.yaml with inputs, pipeline, batching."
    ),
    url: str | None = typer.Option(None, "--url", help="Server URL (e.g. http://127.0.0.1:3100)."),
    label: list[str] = typer.Option(
        [], "--label", "-l", help="A label for every line: name=value (repeatable)."
    ),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant (X-Scope-OrgID)."),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Where positions and the on-disk buffer live [default: ./flightlog-collect].",
    ),
    multiline_start: str | None = typer.Option(
        None,
        "--multiline-start",
        help="RE2 pattern that starts an entry; other lines join the one before.",
    ),
    read_gz: bool = typer.Option(
        False,
        "--read-gz",
        help=(
            "Also read, once each, .gz files the globs match and the compressed rotated "
            "siblings of the files they match ('logs/*.log' reads logs/x.log.1.gz, "
            "logs/x.log-20240101.gz, logs/x.log.gz), past what was read before compression."
        ),
    ),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", help="Serve the agent's counters on 127.0.0.1:PORT/metrics."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only log warnings and errors."),
) -> None:
    """Tail log files (or stdin) and ship their lines to a flightlog or Loki server.

    With -, stdin is copied to stdout unchanged; after Ctrl-C it is still read to its end
    (for up to 5 s) so that the job's last lines, its traceback, are kept.
    """
    import dataclasses
    import logging
    import signal
    import sys
    import threading

    from flightlog.collect import Agent, CollectConfig, FileInput, MultilineConfig, ShipperConfig
    from flightlog.collect.config import load_collect_config
    from flightlog.collect.multiline import MultilineJoiner
    from flightlog.errors import ConfigError

    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    paths = list(paths or [])
    stdin_mode = paths == ["-"]
    try:
        labels = _parse_labels(label)
        multiline = MultilineConfig(multiline_start) if multiline_start else None
        if config is not None:
            settings = load_collect_config(config)
            shipper = settings.shipper
            if url or tenant:
                shipper = dataclasses.replace(
                    shipper, url=url or shipper.url, tenant=tenant or shipper.tenant
                )
            extra = ()
            if paths and not stdin_mode:
                extra = (FileInput(tuple(paths), labels, multiline=multiline, read_gz=read_gz),)
            settings = dataclasses.replace(
                settings,
                shipper=shipper,
                inputs=settings.inputs + extra,
                data_dir=data_dir or settings.data_dir,
            )
        else:
            if not url:
                raise ConfigError("give --url http://HOST:PORT (or --config collect.yaml)")
            if not paths:
                raise ConfigError("name files to tail ('logs/*.log'), - for stdin, or use --config")
            inputs = (
                ()
                if stdin_mode
                else (FileInput(tuple(paths), labels, multiline=multiline, read_gz=read_gz),)
            )
            settings = CollectConfig(
                shipper=ShipperConfig(url=url, tenant=tenant or "default"),
                data_dir=data_dir or Path("flightlog-collect"),
                inputs=inputs,
            )
        if not stdin_mode and not settings.inputs:
            raise ConfigError(
                "nothing to collect: add `inputs:` to the config or name files to tail"
            )
        if multiline is not None:
            multiline.validate()
        if metrics_port is not None:
            settings = dataclasses.replace(settings, metrics_port=metrics_port)
        agent = Agent(settings)
    except (ConfigError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    stop = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if stdin_mode:
        joiner = MultilineJoiner(multiline) if multiline is not None else None
        agent.run_stdin(sys.stdin.buffer, sys.stdout.buffer, stop, labels=labels, joiner=joiner)
    else:
        agent.run(stop)


def register(app: typer.Typer) -> None:
    app.command("collect")(collect)
