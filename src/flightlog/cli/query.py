"""`flightlog query 'LOGQL'`: run a LogQL query against a flightlog (or Loki) server.

    flightlog query '{service="api"} |= "timeout"' --since 1h
    flightlog query 'sum by (level) (count_over_time({service="api"}[5m]))' --output csv

Log results print one entry a line (timestamp, labels, the line with its level colored);
metric results print as a table. ``--output json`` prints Loki's response body as is,
``jsonl`` one JSON object per entry or sample, ``csv`` a header and rows. The helpers
here (``ServerClient``, ``print_entry``) are shared by ``labels`` and ``tail``.
"""

from __future__ import annotations

import csv
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import typer

__all__ = ["OUTPUTS", "CliFailure", "ServerClient", "print_entry", "register", "resolve_window"]

OUTPUTS = ("text", "json", "jsonl", "csv")
_LEVEL_COLORS = {
    "error": "red",
    "err": "red",
    "fatal": "bold red",
    "critical": "bold red",
    "crit": "bold red",
    "warn": "yellow",
    "warning": "yellow",
    "info": "green",
    "debug": "blue",
    "trace": "dim",
}
_LEVEL_IN_LINE = re.compile(
    r'(?i)(?:\blevel"?\s*[=:]\s*"?|\[)(error|err|fatal|critical|crit|warn|warning|info|debug|trace)\b'
)


class CliFailure(Exception):
    """Something the user must fix; printed as one line, exit code 1."""


@dataclass(frozen=True)
class ServerClient:
    url: str
    tenant: str | None
    token: str | None
    timeout_secs: float = 60.0

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": "flightlog-cli"}
        if self.tenant:
            headers["X-Scope-OrgID"] = self.tenant
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def get(self, path: str, params: dict[str, str]) -> Any:
        import httpx

        url = self.url.rstrip("/") + path
        try:
            response = httpx.get(
                url, params=params, headers=self.headers(), timeout=self.timeout_secs
            )
        except httpx.HTTPError as exc:
            raise CliFailure(
                f"cannot reach {self.url}: {exc.__class__.__name__}: {exc}. Is `flightlog serve` running? (--url)"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            message = body.get("error") if isinstance(body, dict) else response.text.strip()
            raise CliFailure(f"server answered {response.status_code}: {message}")
        if body is None:
            raise CliFailure(f"server answered {response.status_code} with a body that is not JSON")
        return body


def resolve_window(since: str, start: str | None, end: str | None) -> tuple[int, int]:
    """(start_ns, end_ns) from --since or --from/--to (ns, seconds, RFC3339)."""
    from flightlog.errors import QueryError
    from flightlog.query.params import parse_step_ns, parse_time_ns

    try:
        end_ns = parse_time_ns(end, "--to") if end else time.time_ns()
        start_ns = (
            parse_time_ns(start, "--from") if start else end_ns - parse_step_ns(since, "--since")
        )
    except QueryError as exc:
        raise CliFailure(str(exc)) from None
    if end_ns <= start_ns:
        raise CliFailure("--to must be after --from")
    return start_ns, end_ns


def format_ts(ts_ns: int) -> str:
    moment = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ts_ns % 1_000_000_000 // 1_000_000:03d}Z"


def _level(labels: dict[str, str], line: str) -> str | None:
    for name in ("level", "detected_level", "severity", "lvl"):
        if name in labels:
            return labels[name].lower()
    match = _LEVEL_IN_LINE.search(line[:300])
    return match.group(1).lower() if match else None


def _labels_text(labels: dict[str, str]) -> str:
    from flightlog.model import format_labels

    return format_labels(labels)


def print_entry(console: Any, labels: dict[str, str], ts_ns: int, line: str) -> None:
    """One log entry as a colored text line."""
    from rich.text import Text

    text = Text()
    text.append(format_ts(ts_ns), style="dim")
    text.append(" ")
    text.append(_labels_text(labels), style="cyan")
    text.append(" ")
    level = _level(labels, line)
    text.append(line, style=_LEVEL_COLORS.get(level or "", ""))
    console.print(text, soft_wrap=True, highlight=False)


def _entries(result: list[dict[str, Any]]) -> Iterator[tuple[dict[str, str], int, str]]:
    for stream in result:
        for value in stream["values"]:
            yield stream["stream"], int(value[0]), value[1]


def _print_result(body: dict[str, Any], output: str, direction: str = "backward") -> None:
    import orjson
    from rich.console import Console

    data = body["data"]
    kind = data["resultType"]
    result = data["result"]
    if output == "json":
        sys.stdout.write(orjson.dumps(body).decode() + "\n")
        return
    if kind == "streams":
        # newest first (backward) or oldest first (forward), across all streams
        entries = sorted(_entries(result), key=lambda e: e[1], reverse=direction == "backward")
        if output == "jsonl":
            for labels, ts, line in entries:
                sys.stdout.write(
                    orjson.dumps({"ts": str(ts), "labels": labels, "line": line}).decode() + "\n"
                )
        elif output == "csv":
            writer = csv.writer(sys.stdout)
            writer.writerow(["ts", "time", "labels", "line"])
            for labels, ts, line in entries:
                writer.writerow([ts, format_ts(ts), _labels_text(labels), line])
        else:
            console = Console(highlight=False, soft_wrap=True)
            for labels, ts, line in entries:
                print_entry(console, labels, ts, line)
        return
    rows: list[tuple[dict[str, str], float | int, str]] = []
    if kind == "matrix":
        rows = [(s["metric"], t, v) for s in result for t, v in s["values"]]
    elif kind == "vector":
        rows = [(s["metric"], s["value"][0], s["value"][1]) for s in result]
    else:
        rows = [({}, result[0], result[1])]
    if output == "jsonl":
        for metric, t, v in rows:
            sys.stdout.write(orjson.dumps({"metric": metric, "ts": t, "value": v}).decode() + "\n")
    elif output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["ts", "time", "metric", "value"])
        for metric, t, v in rows:
            writer.writerow([t, format_ts(int(float(t) * 1e9)), _labels_text(metric), v])
    else:
        from rich.table import Table

        table = Table(show_header=True, header_style="bold")
        table.add_column("time")
        table.add_column("series")
        table.add_column("value", justify="right")
        for metric, t, v in rows:
            table.add_row(format_ts(int(float(t) * 1e9)), _labels_text(metric), v)
        Console(highlight=False).print(table)


def query(
    logql: str = typer.Argument(..., metavar="LOGQL", help="LogQL log or metric query."),
    since: str = typer.Option("1h", "--since", help="How far back to look (15m, 1h, 7d)."),
    start: str | None = typer.Option(
        None, "--from", help="Start time (RFC3339, seconds or ns); overrides --since."
    ),
    end: str | None = typer.Option(None, "--to", help="End time (default: now)."),
    limit: int = typer.Option(100, "--limit", min=1, help="Most log entries to return."),
    step: str | None = typer.Option(None, "--step", help="Resolution of a metric query (30s, 5m)."),
    direction: str = typer.Option(
        "backward", "--direction", help="backward (newest first) or forward."
    ),
    output: str = typer.Option("text", "--output", "-o", help="text, json, jsonl or csv."),
    url: str = typer.Option(
        "http://127.0.0.1:3100", "--url", envvar="FLIGHTLOG_URL", help="Server base URL."
    ),
    tenant: str | None = typer.Option(
        None, "--tenant", help="Tenant (X-Scope-OrgID); a|b reads several."
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="FLIGHTLOG_TOKEN", help="Bearer token."
    ),
) -> None:
    """Run a LogQL query and print the result."""
    try:
        if output not in OUTPUTS:
            raise CliFailure(f"--output {output!r} is not one of {', '.join(OUTPUTS)}")
        if direction not in ("backward", "forward"):
            raise CliFailure(f"--direction {direction!r} is not backward or forward")
        start_ns, end_ns = resolve_window(since, start, end)
        params = {
            "query": logql,
            "start": str(start_ns),
            "end": str(end_ns),
            "limit": str(limit),
            "direction": direction,
        }
        if step:
            params["step"] = step
        body = ServerClient(url, tenant, token).get("/loki/api/v1/query_range", params)
        _print_result(body, output, direction)
    except CliFailure as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.command("query")(query)
