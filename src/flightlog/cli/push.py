"""``flightlog push``: send a file (or stdin) of log lines to a flightlog or Loki server.

``--format ndjson`` reads ``{"ts", "labels", "line", "metadata"}`` objects (what
``gen_logs.py`` writes) and posts them to ``/api/v1/push/ndjson``; ``--format lines``
reads text, one entry per line, and posts Loki JSON to ``/loki/api/v1/push`` (so it also
works against Loki). A line stamps its entry with the time it was read, unless it is one
of the SDK's JSON records (``sdk/FORMAT.md``: a ``<name>_metrics.jsonl`` record, a
``JSONFormatter`` line) with a ``ts``: then its own time is used, and its ``level`` and
``run_id`` become labels and its trace/correlation IDs structured metadata, as the SDK's
shipper does, so a pushed run shows in ``GET /api/v1/runs``. Files (and stdin) starting
with gzip or zstd magic bytes, such as rotated ``.gz``/``.zst`` backups, are decompressed.
Lines go in batches; a connection error, a 429 or a 5xx is retried with exponential
backoff; any other error stops with exit code 1 and one line saying what the server said.
The default, ``--format auto``, picks ndjson when the first line is such an object, else
lines.
"""

from __future__ import annotations

import calendar
import datetime as dt
import gzip
import io
import re
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import typer

__all__ = ["register"]

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# RFC 3339 as the SDK writes it (``2026-11-23T20:41:40.401000000Z``), any offset.
_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d{1,9})\d*)?(Z|z|[+-]\d\d:\d\d)"
)


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


def _decompressing(stream: IO[bytes], source: str) -> tuple[Iterable[bytes], bool]:
    """``stream``, or a reader of its decompressed bytes when it starts as gzip or zstd does.

    Returns (reader, compressed). Rotated backups (``.gz``, ``.zst``) are recognised by
    their magic bytes, not their name, so a renamed file or a pipe works too.
    """
    peek = getattr(stream, "peek", None)
    head = peek(4)[:4] if peek is not None else b""
    if head.startswith(_GZIP_MAGIC):
        return _CheckedLines(gzip.GzipFile(fileobj=stream, mode="rb"), source), True
    if head.startswith(_ZSTD_MAGIC):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
        return _CheckedLines(io.BufferedReader(reader), source), True
    return stream, False


class _CheckedLines:
    """Lines of a decompressing reader; a corrupt or cut-off stream stops the push."""

    def __init__(self, reader: Iterable[bytes], source: str) -> None:
        self._reader = reader
        self._source = source

    def __iter__(self) -> Iterator[bytes]:
        import zstandard

        try:
            yield from self._reader
        except (OSError, EOFError, zstandard.ZstdError) as exc:
            raise PushFailed(f"cannot decompress {self._source}: {exc}") from None


def _ts_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch of a record's ``ts`` (RFC 3339 text, or a number)."""
    if isinstance(value, str):
        match = _RFC3339.fullmatch(value)
        if match is None:
            return None
        date, clock, fraction, offset = match.groups()
        try:
            parsed = dt.datetime.fromisoformat(
                f"{date}T{clock}{'+00:00' if offset in ('Z', 'z') else offset}"
            )
        except ValueError:
            return None
        seconds = calendar.timegm(parsed.utctimetuple())
        return seconds * 1_000_000_000 + int((fraction or "").ljust(9, "0"))
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        # seconds, milliseconds, microseconds or nanoseconds, by magnitude
        for limit, scale in ((1e11, 10**9), (1e14, 10**6), (1e17, 10**3)):
            if value < limit:
                return int(value * scale)
        return int(value)
    return None


class _Peekable:
    """A binary line stream whose first non-empty line can be looked at before reading."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = iter(stream)
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
    """Loki push JSON: one entry per line, SDK records with their own time and labels."""
    import orjson

    from flightlog.sdk.shipper import event_labels, event_metadata

    streams: dict[tuple[tuple[str, str], ...], list[list[Any]]] = {}
    plain = tuple(sorted(labels.items()))
    for line in lines:
        text = line.decode("utf-8", "replace")
        key, value = plain, None
        if line[:1] == b"{":
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record = None
            if isinstance(record, dict) and ("ts" in record or "run_id" in record):
                ts_ns = _ts_ns(record.get("ts"))
                key = tuple(sorted(event_labels(record, labels).items()))
                value = [str(ts_ns if ts_ns is not None else clock.next_ns()), text]
                metadata = event_metadata(record)
                if metadata:
                    value.append(metadata)
        if value is None:
            value = [str(clock.next_ns()), text]
        streams.setdefault(key, []).append(value)
    body = [{"stream": dict(key), "values": values} for key, values in streams.items()]
    return orjson.dumps({"streams": body})


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
        total: int | None
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
        lines_in, compressed = _decompressing(stream, source)
        if compressed:
            total = None  # progress counts decompressed bytes: the file size is no total
        source_lines = _Peekable(lines_in)
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
