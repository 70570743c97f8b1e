"""HTTP options and requests shared by the alerting commands (alerts, silence, slo status).

``--url`` (``FLIGHTLOG_URL``), ``--tenant`` and ``--token`` (``FLIGHTLOG_TOKEN``); a request
that fails becomes one ``error:`` line and exit code 1.
"""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["TENANT_OPTION", "TOKEN_OPTION", "URL_OPTION", "request"]

URL_OPTION = typer.Option(
    "http://127.0.0.1:3100", "--url", help="Server base URL.", envvar="FLIGHTLOG_URL"
)
TENANT_OPTION = typer.Option(None, "--tenant", help="Tenant (X-Scope-OrgID).")
TOKEN_OPTION = typer.Option(None, "--token", help="Bearer token.", envvar="FLIGHTLOG_TOKEN")


def request(
    method: str, url: str, path: str, tenant: str | None, token: str | None, **kwargs: Any
) -> Any:
    """Send one request; exit 1 with the server's error message on failure."""
    import httpx

    headers = {}
    if tenant:
        headers["X-Scope-OrgID"] = tenant
    if token:
        headers["Authorization"] = f"Bearer {token}"
    target = url.rstrip("/") + path
    try:
        response = httpx.request(method, target, headers=headers, timeout=30.0, **kwargs)
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {target}: {exc}; is `flightlog serve` running?", err=True)
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        try:
            message = response.json().get("error") or response.text
        except ValueError:
            message = response.text
        typer.echo(
            f"error: {method} {path} answered {response.status_code}: {message.strip()[:300]}",
            err=True,
        )
        raise typer.Exit(1)
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
