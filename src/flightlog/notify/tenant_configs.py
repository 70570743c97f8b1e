"""Tenants' own ``alertmanager.yml`` set through the API, kept in SQLite beside silences.

``parse_tenant_config`` reads a body as Mimir's ``POST /api/v1/alerts`` takes it (YAML
with ``alertmanager_config: <the file as a string>`` and ``template_files``), or a bare
``alertmanager.yml``, and checks it with ``load_tenant_alerting_config``. Its errors
never quote the body (a YAML error gives its line and column, not the text there), so a
secret in a bad config does not end up in a response or a log.

``TenantConfigStore`` keeps the accepted text per tenant in ``notify.db``; a config is
written only once it has loaded, so a bad one never replaces a good one.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import yaml

from flightlog.errors import ConfigError
from flightlog.notify.config import AlertingConfig, load_tenant_alerting_config

__all__ = ["TenantConfigStore", "parse_tenant_config"]


def _yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{where} is not valid YAML{at}: {exc.problem or exc.context}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{where} is not valid YAML") from None


def parse_tenant_config(text: str, tenant: str) -> AlertingConfig:
    """Check one tenant's configuration as posted; ``ConfigError`` names what is wrong."""
    document = _yaml(text, "the body")
    if isinstance(document, dict) and "alertmanager_config" in document:
        extra = sorted(set(document) - {"alertmanager_config", "template_files"})
        if extra:
            raise ConfigError(
                f"the body: unknown key {extra[0]!r}; send `alertmanager_config` and "
                "`template_files` (Mimir's shape) or a bare alertmanager.yml"
            )
        if document.get("template_files"):
            raise ConfigError(
                "the body: template_files are not supported by flightlog; send "
                "`template_files: {}` and use the default notification templates"
            )
        inner = document["alertmanager_config"]
        if not isinstance(inner, str):
            raise ConfigError(
                "the body: alertmanager_config must be the alertmanager.yml as a string "
                "(a YAML block scalar `alertmanager_config: |`)"
            )
        document = _yaml(inner, "alertmanager_config")
    return load_tenant_alerting_config(document, tenant, "alertmanager_config")


class TenantConfigStore:
    """The configuration text each tenant set through the API (table ``tenant_configs``)."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS tenant_configs (tenant TEXT PRIMARY KEY,"
            " config TEXT NOT NULL, updated_at REAL NOT NULL)"
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def all(self) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute("SELECT tenant, config FROM tenant_configs").fetchall()
        return dict(rows)

    def get(self, tenant: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT config FROM tenant_configs WHERE tenant = ?", (tenant,)
            ).fetchone()
        return None if row is None else str(row[0])

    def put(self, tenant: str, text: str, now: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO tenant_configs VALUES (?, ?, ?)", (tenant, text, now)
            )

    def delete(self, tenant: str) -> bool:
        """Forget ``tenant``'s configuration; whether there was one."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM tenant_configs WHERE tenant = ?", (tenant,))
        return cursor.rowcount > 0
