"""Silences belong to a tenant and survive an upgrade of notify.db."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flightlog.model import LabelMatcher, MatchOp
from flightlog.notify.silences import SilenceStore

MATCHERS = (LabelMatcher("service", MatchOp.EQ, "api"),)


def test_a_silence_mutes_only_its_tenant(tmp_path: Path) -> None:
    """team-a's silence mutes team-a's alert, not team-b's with the same labels."""
    store = SilenceStore(tmp_path / "notify.db", clock=lambda: 100.0)
    silence = store.upsert(MATCHERS, 0.0, 1000.0, "a", "", tenant="team-a")
    labels = {"service": "api"}
    assert store.muting(labels, tenant="team-a") == [silence.id]
    assert store.muting(labels, tenant="team-b") == []
    assert store.muting(labels) == []
    assert store.get(silence.id, ("team-b",)) is None
    assert [s.id for s in store.all(("team-a",))] == [silence.id]


def test_silences_from_before_tenants_belong_to_the_default_tenant(tmp_path: Path) -> None:
    """A notify.db written before silences had a tenant opens; its silences are the default's."""
    path = tmp_path / "notify.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE silences (id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at REAL NOT NULL,"
        " ends_at REAL NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL,"
        " updated_at REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO silences VALUES ('old', ?, 0, 1000, 'me', 'c', 0)",
        ('[{"name": "service", "value": "api", "isRegex": false, "isEqual": true}]',),
    )
    db.commit()
    db.close()
    store = SilenceStore(path, clock=lambda: 100.0)
    assert store.muting({"service": "api"}) == ["old"]
    created = store.upsert(MATCHERS, 0.0, 1000.0, "b", "", tenant="team-b")
    assert {s.id: s.tenant for s in store.all()} == {"old": "default", created.id: "team-b"}
