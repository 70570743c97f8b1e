"""``flightlog push``: send a file (or stdin) of log lines to a flightlog or Loki server.

``--format ndjson`` reads ``{"ts", "labels", "line", "metadata"}`` objects (what
``gen_logs.py`` and our SDK write) and posts them to ``/api/v1/push/ndjson``; ``--format
lines`` reads plain text, one entry per line stamped with the time it was read, and posts
Loki JSON to ``/loki/api/v1/push`` (so it also works against Loki). Lines go in batches;
a connection error, a 429 or a 5xx is retried with exponential backoff; any other error
stops with exit code 1 and one line saying what the server said. The default,
``--format auto``, picks ndjson when the first line is such an object, else lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import typer

__all__ = ["register"]

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class PushFailed(Exception):
    """Stops the push; the message is the one line the user sees."""


def _parse_labels(pairs: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise PushFailed(f"--label {pair!r} must look like name=value")
        labels[name.strip()] = value
    return labels


def _batches(
    stream: Iterable[bytes], batch_size: int, max_batch_bytes: int
) -> Iterator[tuple[list[bytes], int]]:
    """Yield (lines, bytes read) in batches, without the trailing newlines."""
    batch: list[bytes] = []
    size = 0
    for raw in stream:
        size += len(raw)
        line = raw.rstrip(b"\r\n")
        if line:
            batch.append(line)
        if len(batch) >= batch_size or size >= max_batch_bytes:
            yield batch, size
            batch, size = [], 0
    if batch or size:
        yield batch, size


class _Peekable:
    """A binary line stream whose first non-empty line can be looked at before reading."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buffered: list[bytes] = []

    def first_line(self) -> bytes:
        for raw in self._stream:
            self._buffered.append(raw)
            if raw.strip():
                return raw
        return b""

    def __iter__(self) -> Iterator[bytes]:
        yield from self._buffered
        self._buffered = []
        yield from self._stream


def _sniff_format(first_line: bytes) -> str:
    """``ndjson`` when the first line is a JSON object with a string ``line``, else ``lines``."""
    import orjson

    try:
        obj = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return "lines"
    return "ndjson" if isinstance(obj, dict) and isinstance(obj.get("line"), str) else "lines"


def _ndjson_body(lines: list[bytes], extra_labels: dict[str, str]) -> bytes:
    import orjson

    if not extra_labels:
        return b"\n".join(lines)
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise PushFailed(
                f"line {number} of a batch is not JSON; use --format lines for plain text"
            ) from None
        if isinstance(obj, dict):
            labels = obj.get("labels") if isinstance(obj.get("labels"), dict) else {}
            obj["labels"] = {**labels, **extra_labels}
        out.append(orjson.dumps(obj))
    return b"\n".join(out)


def _lines_body(lines: list[bytes], labels: dict[str, str], clock: _Clock) -> bytes:
    import orjson

    values = [[str(clock.next_ns()), line.decode("utf-8", "replace")] for line in lines]
    return orjson.dumps({"streams": [{"stream": labels, "values": values}]})


class _Clock:
    """Strictly increasing ns timestamps, so lines read in the same ns keep their order."""

    def __init__(self) -> None:
        self._last = 0

    def next_ns(self) -> int:
        self._last = max(self._last + 1, time.time_ns())
        return self._last


def _error_text(response: Any) -> str:
    try:
        body = response.json()
        message = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        message = None
    return message or response.text.strip()[:300] or response.reason_phrase


def _send(client: Any, url: str, body: bytes, headers: dict[str, str], retries: int) -> int:
    """Post one batch; return entries the server dropped (0 when all were stored)."""
    import httpx

    delay = 0.5
    for attempt in range(retries + 1):
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            problem = f"cannot reach {url}: {exc.__class__.__name__}: {exc}".rstrip(": ")
        else:
            if response.status_code in (200, 204):
                return 0
            if response.status_code not in _RETRY_STATUSES:
                try:
                    payload = response.json()
                except ValueError:
                    payload = None
                if (
                    response.status_code == 400
                    and isinstance(payload, dict)
                    and "accepted" in payload
                ):
                    rejected = payload.get("rejected") or {}
                    return int(sum(rejected.values())) if isinstance(rejected, dict) else 0
                raise PushFailed(f"server answered {response.status_code}: {_error_text(response)}")
            problem = f"server answered {response.status_code}: {_error_text(response)}"
        if attempt == retries:
            raise PushFailed(f"{problem} (gave up after {retries + 1} attempts)")
        time.sleep(delay)
        delay = min(delay * 2, 10.0)
    raise AssertionError("unreachable")


def push(
    source: str = typer.Argument(..., metavar="FILE|-", help="File of log lines, or - for stdin."),
    url: str = typer.Option(
        "http://127.0.0.1:3100", "--url", help="Server base URL.", envvar="FLIGHTLOG_URL"
    ),
    label: list[str] = typer.Option(
        [], "--label", "-l", help="Stream label name=value; repeatable."
    ),
    input_format: str = typer.Option(
        "auto",
        "--format",
        "-f",
        help="ndjson, lines, or auto (ndjson if the first line is such an object).",
    ),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant (X-Scope-OrgID)."),
    token: str | None = typer.Option(
        None, "--token", help="Bearer token.", envvar="FLIGHTLOG_TOKEN"
    ),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, help="Lines per request."),
    retries: int = typer.Option(
        5, "--retries", min=0, help="Retries per batch on 429, 5xx or connection errors."
    ),
    timeout_secs: float = typer.Option(30.0, "--timeout-secs", help="Per-request timeout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Push log lines to a flightlog (or Loki) server, in batches, with retries."""
    import httpx
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TransferSpeedColumn,
    )

    if input_format not in ("auto", "ndjson", "lines"):
        typer.echo(f"error: --format {input_format!r} is not auto, ndjson or lines", err=True)
        raise typer.Exit(2)
    try:
        extra_labels = _parse_labels(label)
        if source == "-":
            stream: IO[bytes] = sys.stdin.buffer
            total = None
        else:
            path = Path(source)
            try:
                stream = path.open("rb")
                total = path.stat().st_size
            except OSError as exc:
                raise PushFailed(f"cannot read {source}: {exc.strerror}") from None
        source_lines = _Peekable(stream)
        if input_format == "auto":
            input_format = _sniff_format(source_lines.first_line())
        base = url.rstrip("/")
        headers = {"User-Agent": "flightlog-push"}
        if tenant:
            headers["X-Scope-OrgID"] = tenant
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if input_format == "ndjson":
            endpoint = f"{base}/api/v1/push/ndjson"
            headers["Content-Type"] = "application/x-ndjson"
        else:
            endpoint = f"{base}/loki/api/v1/push"
            headers["Content-Type"] = "application/json"
            stream_labels = extra_labels or {"job": "flightlog-push"}
            if source != "-" and "filename" not in stream_labels:
                stream_labels = {**stream_labels, "filename": str(Path(source).resolve())}
        clock = _Clock()
        sent = dropped = 0
        progress = Progress(
            TextColumn("pushing"),
            BarColumn(),
            TaskProgressColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[lines]} lines"),
            disable=quiet,
            transient=False,
            console=None,
        )
        with progress, httpx.Client(timeout=timeout_secs) as client:
            task = progress.add_task("push", total=total, lines=0)
            for lines, size in _batches(source_lines, batch_size, 4 * 1024 * 1024):
                if lines:
                    if input_format == "ndjson":
                        body = _ndjson_body(lines, extra_labels)
                    else:
                        body = _lines_body(lines, stream_labels, clock)
                    dropped += _send(client, endpoint, body, headers, retries)
                    sent += len(lines)
                progress.update(task, advance=size, lines=sent)
    except PushFailed as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if dropped:
        typer.echo(
            f"error: the server rejected {dropped} of {sent} lines (see its /metrics for reasons)",
            err=True,
        )
        raise typer.Exit(1)
    if not quiet:
        typer.echo(f"pushed {sent} lines to {base}", err=True)


def register(app: typer.Typer) -> None:
    app.command("push")(push)
