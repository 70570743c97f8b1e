"""The notification log: what each integration was last told about each group, in SQLite.

Deduplication reads it (did this integration already hear about exactly these firing
alerts within ``repeat_interval``?) and a successful send writes it. Being on disk is what
keeps a restart from paging again and from forgetting that a resolution is still owed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NotificationLog", "NotificationLogEntry"]


@dataclass(frozen=True, slots=True)
class NotificationLogEntry:
    """The firing and resolved fingerprints last sent for a (group, integration)."""

    group_key: str
    integration: str
    firing: frozenset[str]
    resolved: frozenset[str]
    sent_at: float


class NotificationLog:
    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives a process crash (what a restart needs) without an fsync per send.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS nflog (group_key TEXT NOT NULL, integration TEXT NOT NULL,"
            " firing TEXT NOT NULL, resolved TEXT NOT NULL, sent_at REAL NOT NULL,"
            " PRIMARY KEY (group_key, integration))"
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, group_key: str, integration: str) -> NotificationLogEntry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT firing, resolved, sent_at FROM nflog WHERE group_key = ? AND integration = ?",
                (group_key, integration),
            ).fetchone()
        if row is None:
            return None
        return NotificationLogEntry(
            group_key,
            integration,
            frozenset(json.loads(row[0])),
            frozenset(json.loads(row[1])),
            row[2],
        )

    def record(self, entry: NotificationLogEntry) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO nflog VALUES (?, ?, ?, ?, ?)",
                (
                    entry.group_key,
                    entry.integration,
                    json.dumps(sorted(entry.firing)),
                    json.dumps(sorted(entry.resolved)),
                    entry.sent_at,
                ),
            )

    def forget_before(self, cutoff: float) -> int:
        """Drop entries last written before ``cutoff``; returns how many."""
        with self._lock:
            return self._db.execute("DELETE FROM nflog WHERE sent_at < ?", (cutoff,)).rowcount
