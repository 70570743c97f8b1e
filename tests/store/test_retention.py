"""Retention (default, per-tenant and per-selector) and delete requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from storekit import HOUR, FakeClock, batch, eq, push, rows

from flightlog.errors import ConfigError
from flightlog.model import LabelMatcher, MatchOp
from flightlog.store import RetentionRule, Store, StoreConfig

DAY = 24 * HOUR
DAY_SECS = 24 * 3600.0


def _open(tmp_path: Path, clock: FakeClock, **options: object) -> Store:
    return Store.open(StoreConfig(data_dir=tmp_path / "d", fsync=False, **options), clock=clock)


def _ages(store: Store, tenant: str, matchers=()) -> list[int]:
    now = store._clock()
    return sorted((now - r["ts"]) // HOUR for r in rows(store, tenant, matchers))


def test_default_retention_removes_exactly_the_expired(tmp_path: Path, clock: FakeClock) -> None:
    """Entries with ts < now - period go; ts == now - period stays."""
    now = clock.now_ns
    with _open(tmp_path, clock, retention_period_secs=DAY_SECS) as store:
        push(store, "t", batch({"app": "a"}, [now - 3 * DAY, now - DAY - 1, now - DAY, now - HOUR]))
        store.flush()
        push(store, "t", batch({"app": "a"}, [now - 10]))
        assert store.apply_retention() == 2
        assert [r["ts"] for r in rows(store, direction="forward")] == [
            now - DAY,
            now - HOUR,
            now - 10,
        ]
        assert store.apply_retention() == 0


def test_selector_rules_override_default(tmp_path: Path, clock: FakeClock) -> None:
    """{level="debug"} 7 days and {stream="audit"} 365 days, default 30 days."""
    now = clock.now_ns
    rules = (
        RetentionRule((LabelMatcher("level", MatchOp.EQ, "debug"),), 7 * DAY_SECS),
        RetentionRule((LabelMatcher("stream", MatchOp.EQ, "audit"),), 365 * DAY_SECS),
    )
    ages = [1, 8, 31, 366]
    with _open(
        tmp_path, clock, retention_period_secs=30 * DAY_SECS, retention_rules=rules
    ) as store:
        for labels in ({"level": "debug"}, {"stream": "audit"}, {"level": "info"}):
            push(store, "t", batch(labels, sorted(now - a * DAY for a in ages)))
            store.flush()
        assert store.apply_retention() == 3 + 1 + 2
        assert _ages(store, "t", [eq("level", "debug")]) == [24]
        assert _ages(store, "t", [eq("stream", "audit")]) == [24, 8 * 24, 31 * 24]
        assert _ages(store, "t", [eq("level", "info")]) == [24, 8 * 24]


def test_tenant_rule_sets_a_tenant_default(tmp_path: Path, clock: FakeClock) -> None:
    """A rule with a tenant and no matchers is that tenant's default retention."""
    now = clock.now_ns
    rules = (RetentionRule((), DAY_SECS, tenant="short"),)
    with _open(tmp_path, clock, retention_rules=rules) as store:
        push(store, "short", batch({"app": "a"}, [now - 2 * DAY, now]))
        push(store, "long", batch({"app": "a"}, [now - 2 * DAY, now]))
        store.flush()
        assert store.apply_retention() == 1
        assert len(rows(store, "short")) == 1 and len(rows(store, "long")) == 2


def test_retention_in_head_is_not_resurrected_by_wal(tmp_path: Path, clock: FakeClock) -> None:
    """Expired rows still in the head are removed and stay removed after a restart."""
    now = clock.now_ns
    with _open(tmp_path, clock, retention_period_secs=DAY_SECS) as store:
        push(store, "t", batch({"app": "a"}, [now - 2 * DAY, now]))
        assert store.apply_retention() == 1
    with _open(tmp_path, clock, retention_period_secs=DAY_SECS) as store:
        assert [r["ts"] for r in rows(store)] == [now]


def test_fully_expired_stream_leaves_the_catalog(tmp_path: Path, clock: FakeClock) -> None:
    """A stream with no entries left disappears from the label APIs and catalog."""
    now = clock.now_ns
    with _open(tmp_path, clock, retention_period_secs=DAY_SECS) as store:
        push(store, "t", batch({"app": "old"}, [now - 2 * DAY]), batch({"app": "new"}, [now]))
        store.flush()
        store.apply_retention()
        assert store.label_values(["t"], "app", 0, 2**62) == ["new"]
        clock.advance(3600)
        store.maybe_cut()
        assert list((tmp_path / "d" / "segments" / "t").glob("*.parquet")) != []
    with _open(tmp_path, clock, retention_period_secs=DAY_SECS) as store:
        assert store.label_values(["t"], "app", 0, 2**62) == ["new"]
        assert len(list((tmp_path / "d" / "segments" / "t").glob("*.parquet"))) == 1


def test_no_retention_keeps_everything(store: Store, clock: FakeClock) -> None:
    """Without a period or rules, apply_retention removes nothing."""
    push(store, "t", batch({"app": "a"}, [1]))
    store.flush()
    assert store.apply_retention() == 0 and len(rows(store)) == 1


def test_bad_retention_is_a_config_error(tmp_path: Path) -> None:
    """A non-positive retention period is refused with the option's name."""
    with pytest.raises(ConfigError, match=r"retention_rules\[0\]\.period_secs"):
        StoreConfig(tmp_path, retention_rules=(RetentionRule((), 0),)).validate()
    with pytest.raises(ConfigError, match="retention_period_secs"):
        StoreConfig(tmp_path, retention_period_secs=-1).validate()


def test_delete_removes_matching_range_only(
    store: Store, store_config: StoreConfig, clock: FakeClock
) -> None:
    """A delete request removes the selected streams' entries in [start, end) only."""
    push(store, "t", batch({"user": "alice"}, [1, 2, 3, 4]), batch({"user": "bob"}, [1, 2, 3]))
    store.flush()
    push(store, "t", batch({"user": "alice"}, [5, 6]))
    assert store.delete("t", [eq("user", "alice")], 2, 6) == 4
    assert [r["ts"] for r in rows(store, matchers=[eq("user", "alice")], direction="forward")] == [
        1,
        6,
    ]
    assert len(rows(store, matchers=[eq("user", "bob")])) == 3
    store.close()
    with Store.open(store_config, clock=clock) as reopened:
        assert [
            r["ts"] for r in rows(reopened, matchers=[eq("user", "alice")], direction="forward")
        ] == [1, 6]


def test_deleted_segment_file_goes_after_grace(
    store: Store, store_config: StoreConfig, clock: FakeClock
) -> None:
    """The old file of a rewritten segment is unlinked once no reader can still need it."""
    push(store, "t", batch({"user": "alice"}, [1, 2]))
    store.flush()
    (old,) = (store_config.data_dir / "segments" / "t").glob("*.parquet")
    store.delete("t", [eq("user", "alice")], 0, 2)
    assert old.exists()
    clock.advance(400)
    store.maybe_cut()
    assert not old.exists()
    assert [r["ts"] for r in rows(store)] == [2]


def test_delete_of_nothing(store: Store) -> None:
    """Deleting with a selector that matches nothing removes nothing."""
    push(store, "t", batch({"user": "alice"}, [1]))
    assert store.delete("t", [eq("user", "zed")], 0, 10) == 0
    assert store.delete("other", [eq("user", "alice")], 0, 10) == 0


def test_partly_expired_stream_moves_its_start(tmp_path: Path, clock: FakeClock) -> None:
    """After retention, label APIs for the removed time range no longer list the stream."""
    now = clock.now_ns
    with _open(tmp_path, clock, retention_period_secs=DAY_SECS) as store:
        push(store, "t", batch({"app": "a"}, [now - 3 * DAY, now - HOUR]))
        store.flush()
        assert store.label_values(["t"], "app", now - 4 * DAY, now - 2 * DAY) == ["a"]
        assert store.apply_retention() == 1
        assert store.label_values(["t"], "app", now - 4 * DAY, now - 2 * DAY) == []
        assert store.label_values(["t"], "app", now - 2 * HOUR, now) == ["a"]
    with _open(tmp_path, clock, retention_period_secs=DAY_SECS) as store:
        assert store.label_values(["t"], "app", now - 4 * DAY, now - 2 * DAY) == []
