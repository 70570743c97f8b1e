"""Silences: matcher sets that mute alerts between two times, kept in SQLite.

A silence is ``pending`` before ``starts_at``, ``active`` until ``ends_at`` and
``expired`` after; expiring one sets ``ends_at`` to now (it stays listed, as in
Alertmanager). Matchers use Alertmanager's API form (name, value, isRegex, isEqual).
Each silence belongs to a tenant and mutes only that tenant's alerts; the API shows and
changes only the caller's tenant's silences.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from flightlog.errors import ConfigError
from flightlog.model import DEFAULT_TENANT, LabelMatcher, MatchOp
from flightlog.rules.alert import format_rfc3339

__all__ = ["Silence", "SilenceState", "SilenceStore", "matcher_from_api", "matcher_to_api"]


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


def matcher_from_api(item: Mapping[str, object]) -> LabelMatcher:
    """A matcher from Alertmanager's ``{name, value, isRegex, isEqual}`` object."""
    name, value = item.get("name"), item.get("value")
    if not isinstance(name, str) or not name or not isinstance(value, str):
        raise ConfigError("a silence matcher needs a non-empty string `name` and a string `value`")
    is_regex, is_equal = bool(item.get("isRegex", False)), bool(item.get("isEqual", True))
    op = {
        (False, True): MatchOp.EQ,
        (False, False): MatchOp.NEQ,
        (True, True): MatchOp.RE,
        (True, False): MatchOp.NRE,
    }
    try:
        return LabelMatcher(name, op[(is_regex, is_equal)], value)
    except Exception as exc:  # re2.error
        raise ConfigError(f"silence matcher {name}: invalid regex {value!r}: {exc}") from exc


def matcher_to_api(matcher: LabelMatcher) -> dict[str, object]:
    return {
        "name": matcher.name,
        "value": matcher.value,
        "isRegex": matcher.op in (MatchOp.RE, MatchOp.NRE),
        "isEqual": matcher.op in (MatchOp.EQ, MatchOp.RE),
    }


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[LabelMatcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    updated_at: float
    tenant: str = DEFAULT_TENANT

    def state_at(self, now: float) -> SilenceState:
        if now < self.starts_at:
            return SilenceState.PENDING
        if now >= self.ends_at:
            return SilenceState.EXPIRED
        return SilenceState.ACTIVE

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        return self.state_at(now) is SilenceState.ACTIVE and all(
            m.matches_labels(labels) for m in self.matchers
        )

    def to_api(self, now: float) -> dict[str, object]:
        return {
            "id": self.id,
            "status": {"state": self.state_at(now).value},
            "updatedAt": format_rfc3339(self.updated_at),
            "matchers": [matcher_to_api(m) for m in self.matchers],
            "startsAt": format_rfc3339(self.starts_at),
            "endsAt": format_rfc3339(self.ends_at),
            "createdBy": self.created_by,
            "comment": self.comment,
        }


class SilenceStore:
    """Silences in a SQLite file, safe to share between the API and the dispatcher."""

    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives a process crash (what a restart needs) without an fsync per send.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, matchers TEXT NOT NULL,"
            " starts_at REAL NOT NULL, ends_at REAL NOT NULL, created_by TEXT NOT NULL,"
            " comment TEXT NOT NULL, updated_at REAL NOT NULL,"
            f" tenant TEXT NOT NULL DEFAULT '{DEFAULT_TENANT}')"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(silences)")}
        if "tenant" not in columns:  # a notify.db from before silences had tenants
            self._db.execute(
                f"ALTER TABLE silences ADD COLUMN tenant TEXT NOT NULL DEFAULT '{DEFAULT_TENANT}'"
            )
        self._cache: list[Silence] | None = None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def upsert(
        self,
        matchers: tuple[LabelMatcher, ...],
        starts_at: float,
        ends_at: float,
        created_by: str,
        comment: str,
        silence_id: str | None = None,
        tenant: str = DEFAULT_TENANT,
    ) -> Silence:
        """Create a silence (or replace the tenant's one with ``silence_id``); returns it.

        ``KeyError`` when ``silence_id`` is not one of the tenant's silences.
        """
        if not matchers:
            raise ConfigError("a silence needs at least one matcher, or it would mute every alert")
        if ends_at <= starts_at:
            raise ConfigError("a silence must end after it starts: set endsAt later than startsAt")
        if all(m.matches("") for m in matchers):
            raise ConfigError("at least one silence matcher must not match the empty string")
        now = self._clock()
        if silence_id is not None and self.get(silence_id, (tenant,)) is None:
            raise KeyError(silence_id)
        silence = Silence(
            id=silence_id or str(uuid.uuid4()),
            matchers=matchers,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
            updated_at=now,
            tenant=tenant,
        )
        encoded = json.dumps([matcher_to_api(m) for m in matchers])
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO silences (id, matchers, starts_at, ends_at, created_by,"
                " comment, updated_at, tenant) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (silence.id, encoded, starts_at, ends_at, created_by, comment, now, tenant),
            )
            self._cache = None
        return silence

    def expire(self, silence_id: str, tenants: Collection[str] | None = None) -> Silence:
        """End a silence now; ``KeyError`` when unknown (or not one of ``tenants``')."""
        silence = self.get(silence_id, tenants)
        if silence is None:
            raise KeyError(silence_id)
        now = self._clock()
        if silence.state_at(now) is SilenceState.EXPIRED:
            return silence
        with self._lock:
            self._db.execute(
                "UPDATE silences SET ends_at = ?, starts_at = MIN(starts_at, ?), updated_at = ? WHERE id = ?",
                (now, now, now, silence_id),
            )
            self._cache = None
        found = self.get(silence_id)
        assert found is not None
        return found

    def forget_expired_before(self, cutoff: float) -> int:
        """Delete silences that ended before ``cutoff``; returns how many."""
        with self._lock:
            removed = self._db.execute("DELETE FROM silences WHERE ends_at < ?", (cutoff,)).rowcount
            self._cache = None
        return removed

    def get(self, silence_id: str, tenants: Collection[str] | None = None) -> Silence | None:
        """The silence with this ID (``None`` when unknown or not one of ``tenants``')."""
        return next((s for s in self.all(tenants) if s.id == silence_id), None)

    def all(self, tenants: Collection[str] | None = None) -> list[Silence]:
        """Every silence (of ``tenants``, or of all tenants)."""
        with self._lock:
            if self._cache is None:
                rows = self._db.execute(
                    "SELECT id, matchers, starts_at, ends_at, created_by, comment, updated_at,"
                    " tenant FROM silences ORDER BY starts_at, id"
                ).fetchall()
                self._cache = [
                    Silence(
                        id=row[0],
                        matchers=tuple(matcher_from_api(m) for m in json.loads(row[1])),
                        starts_at=row[2],
                        ends_at=row[3],
                        created_by=row[4],
                        comment=row[5],
                        updated_at=row[6],
                        tenant=row[7],
                    )
                    for row in rows
                ]
            return [s for s in self._cache if tenants is None or s.tenant in tenants]

    def muting(
        self, labels: Mapping[str, str], now: float | None = None, tenant: str = DEFAULT_TENANT
    ) -> list[str]:
        """Ids of the tenant's active silences that mute this label set."""
        at = self._clock() if now is None else now
        return [s.id for s in self.all((tenant,)) if s.mutes(labels, at)]
