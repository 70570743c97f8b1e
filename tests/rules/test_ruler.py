"""The ruler over a real store and the real LogQL engine, with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flightlog.model import PushRequest, StreamBatch, canonical_labels
from flightlog.query import Engine
from flightlog.rules.alert import Alert
from flightlog.rules.loader import parse_rule_groups
from flightlog.rules.querier import EngineQuerier
from flightlog.rules.ruler import Ruler, watchdog_group
from flightlog.rules.state_db import RulesStateDB
from flightlog.store import Store, StoreConfig

S = 1_000_000_000
T0 = 1_767_225_600 * S

RULES = """
groups:
  - name: api
    interval: 1m
    rules:
      - record: service:errors:count1m
        expr: sum by (service) (count_over_time({env="prod"} |= "error" [1m]))
      - alert: ApiErrors
        expr: sum by (service) (count_over_time({env="prod"} |= "error" [1m])) > 2
        for: 2m
        labels: {severity: high}
        annotations:
          summary: "{{ $labels.service }}: {{ $value }} errors in 1m"
      - alert: ApiErrorsFromRecorded
        expr: service:errors:count1m{service="api"} > 2
"""


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(StoreConfig(tmp_path / "data", fsync=False))
    yield opened
    opened.close()


def push_errors(store: Store, at_ns: int, count: int, service: str = "api") -> None:
    lines = [f'level=error msg="upstream failed" n={i}' for i in range(count)]
    batch = StreamBatch(
        canonical_labels({"service": service, "env": "prod"}),
        [at_ns + i for i in range(count)],
        lines,
        [None] * count,
    )
    store.append(PushRequest("default", (batch,)))


def make_ruler(tmp_path: Path, store: Store, sent: list[Alert], clock: Clock) -> Ruler:
    groups = parse_rule_groups(RULES, "rules.yaml")
    return Ruler(
        EngineQuerier(Engine(store)),
        RulesStateDB(tmp_path / "rules.db"),
        notify=sent.extend,
        clock_ns=clock,
        external_url="http://fl",
        file_groups=groups,
    )


def states(ruler: Ruler, rule: str) -> list[str]:
    ((_, _, alerts, _, _),) = ruler.snapshot()
    return [a.state.value for a in alerts[rule].values()]


def test_rule_fires_after_for_and_resolves(tmp_path: Path, store: Store) -> None:
    """Errors over the threshold go pending, fire after `for`, and resolve when they stop."""
    clock, sent = Clock(), []
    ruler = make_ruler(tmp_path, store, sent, clock)
    for minute in range(4):
        push_errors(store, T0 + minute * 60 * S - 30 * S, 5)
    push_errors(store, T0, 1, service="quiet")
    ruler.run_due(T0)
    assert states(ruler, "ApiErrors") == ["pending"]
    ruler.run_due(T0 + 60 * S)
    assert states(ruler, "ApiErrors") == ["pending"]
    ruler.run_due(T0 + 120 * S)
    assert states(ruler, "ApiErrors") == ["firing"]
    firing = [a for a in sent if a.name == "ApiErrors"][-1]
    assert firing.labels == {"alertname": "ApiErrors", "service": "api", "severity": "high"}
    assert firing.annotations["summary"] == "api: 5 errors in 1m"
    assert firing.generator_url.startswith("http://fl/?query=")
    ruler.run_due(T0 + 300 * S)  # no errors in the last minute any more
    assert states(ruler, "ApiErrors") == ["inactive"]
    resolved = [a for a in sent if a.name == "ApiErrors"][-1]
    assert resolved.ends_at == (T0 + 300 * S) / S


def test_recording_rule_feeds_alert_on_recorded_series(tmp_path: Path, store: Store) -> None:
    """A recording rule's samples are stored and an alert over the recorded series fires."""
    clock, sent = Clock(), []
    ruler = make_ruler(tmp_path, store, sent, clock)
    push_errors(store, T0 - 10 * S, 4)
    ruler.run_due(T0)
    recorded = ruler.state.read_recorded("service:errors:count1m", {}, T0, "default")
    assert [(s.labels, s.value) for s in recorded] == [
        ({"__name__": "service:errors:count1m", "service": "api"}, 4.0)
    ]
    assert states(ruler, "ApiErrorsFromRecorded") == ["firing"]


def test_state_survives_restart_without_flapping(tmp_path: Path, store: Store) -> None:
    """A new ruler on the same state file keeps firing alerts firing and pending timers running."""
    clock, sent = Clock(), []
    ruler = make_ruler(tmp_path, store, sent, clock)
    for minute in range(5):
        push_errors(store, T0 + minute * 60 * S - 30 * S, 5)
    ruler.run_due(T0)
    ruler.run_due(T0 + 120 * S)
    assert states(ruler, "ApiErrors") == ["firing"]
    ruler.state.close()
    restarted = make_ruler(tmp_path, store, sent, clock)
    assert states(restarted, "ApiErrors") == ["firing"]
    restarted.run_due(T0 + 180 * S)
    assert states(restarted, "ApiErrors") == ["firing"]
    ((_, _, alerts, _, _),) = restarted.snapshot()
    (alert,) = alerts["ApiErrors"].values()
    assert alert.active_at_ns == T0 and alert.fired_at_ns == T0 + 120 * S


def test_query_error_marks_rule_unhealthy_and_keeps_state(tmp_path: Path) -> None:
    """A failing query sets health to err with the message; other rules still run."""
    from flightlog.errors import QueryError

    def broken(expr: str, ts_ns: int, tenant: str) -> list:
        raise QueryError("store unavailable")

    ruler = Ruler(broken, RulesStateDB(tmp_path / "r.db"), file_groups=[watchdog_group()])
    group = parse_rule_groups(RULES, "rules.yaml")[0]
    ruler.evaluate_group(group, T0)
    snapshot = {g.name: h for g, h, _, _, _ in ruler.snapshot()}
    assert snapshot["api"]["ApiErrors"].health == "err"
    assert "store unavailable" in snapshot["api"]["ApiErrors"].last_error


def test_watchdog_always_fires(tmp_path: Path) -> None:
    """The watchdog group fires on every evaluation without touching the store."""
    sent: list[Alert] = []

    def unused(expr: str, ts_ns: int, tenant: str) -> list:
        raise AssertionError("watchdog must not query the store")

    ruler = Ruler(
        unused, RulesStateDB(tmp_path / "r.db"), notify=sent.extend, file_groups=[watchdog_group()]
    )
    ruler.run_due(T0)
    ruler.run_due(T0 + 60 * S)
    assert [a.name for a in sent] == ["Watchdog", "Watchdog"]
    assert sent[-1].status_at(T0 / S + 60).value == "firing"


def test_api_groups_persist(tmp_path: Path) -> None:
    """Groups set through the ruler API are kept in the state DB and reloaded."""
    ruler = Ruler(lambda e, t, n: [], RulesStateDB(tmp_path / "r.db"))
    ruler.put_group(
        "team-a", "ns1", "name: g1\ninterval: 10s\nrules:\n  - alert: X\n    expr: vector(1)\n"
    )
    again = Ruler(lambda e, t, n: [], RulesStateDB(tmp_path / "r.db"))
    assert [(g.tenant, g.namespace, g.name, g.interval_s) for g in again.groups()] == [
        ("team-a", "ns1", "g1", 10.0)
    ]
    assert again.delete_groups("team-a", "ns1") == 1
    assert again.groups() == []


def test_starter_rules_evaluate_and_catch_ml_failures(tmp_path: Path, store: Store) -> None:
    """`rules init`'s file runs cleanly on real data: OOM and a silent training run fire."""
    from flightlog.rules.starter import STARTER_RULES

    def push(labels: dict[str, str], at_ns: int, line: str) -> None:
        batch = StreamBatch(canonical_labels(labels), [at_ns], [line], [None])
        store.append(PushRequest("default", (batch,)))

    push({"service": "trainer", "run_id": "r1"}, T0 - 40 * 60 * S, "epoch 1 done")
    push(
        {"service": "trainer", "run_id": "r2"},
        T0 - 30 * S,
        "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
    )
    sent: list[Alert] = []
    ruler = Ruler(
        EngineQuerier(Engine(store)),
        RulesStateDB(tmp_path / "r.db"),
        notify=sent.extend,
        file_groups=parse_rule_groups(STARTER_RULES, "starter.yaml"),
    )
    ruler.run_due(T0)
    errors = {
        rule: h.last_error
        for _, health, _, _, _ in ruler.snapshot()
        for rule, h in health.items()
        if h.health != "ok"
    }
    assert errors == {}
    fired = {(a.name, a.labels.get("run_id")) for a in sent}
    assert ("CudaOutOfMemory", "r2") in fired and ("TrainingJobSilent", "r1") in fired
    assert ("TrainingJobSilent", "r2") not in fired


def test_file_namespaces_are_not_api_managed(tmp_path: Path) -> None:
    """File groups are listed as file namespaces; deleting an API group forgets its alert state."""
    file_group = parse_rule_groups(RULES, "rules.yaml")
    ruler = Ruler(lambda e, t, n: [], RulesStateDB(tmp_path / "r.db"), file_groups=file_group)
    assert ruler.file_namespaces("default") == {"rules.yaml"}
    ruler.put_group("default", "ns", "name: g\nrules:\n  - alert: X\n    expr: vector(1)\n")
    (api_group,) = [g for g in ruler.groups() if g.namespace == "ns"]
    ruler.evaluate_group(api_group, T0)
    assert ruler.state.load_alerts(api_group.key, "X")
    assert ruler.delete_groups("default", "ns", "g") == 1
    assert ruler.state.load_alerts(api_group.key, "X") == {}
    assert [g.namespace for g in ruler.groups()] == ["rules.yaml"]


def test_recorded_series_latest_replaces_vanished_series(tmp_path: Path) -> None:
    """/metrics shows the newest result of a recording rule; a series that vanished goes away."""
    from flightlog.rules.model import Sample

    db = RulesStateDB(tmp_path / "r.db")
    db.write_recorded("default", "a:b", [Sample({"s": "1"}, 1.0), Sample({"s": "2"}, 2.0)], T0)
    db.write_recorded("default", "a:b", [Sample({"s": "2"}, 5.0)], T0 + S)
    assert db.latest_recorded() == [("default", "a:b", {"s": "2"}, 5.0)]
    assert [(s.labels["s"], s.value) for s in db.read_recorded("a:b", {}, T0 + S, "default")] == [
        ("1", 1.0),
        ("2", 5.0),
    ]
    assert db.read_recorded_range("a:b", T0, T0, "default") == [
        ({"s": "1"}, T0, 1.0),
        ({"s": "2"}, T0, 2.0),
    ]


OFFSET_RULES = """
groups:
  - name: late
    interval: 1m
    query_offset: 2m
    rules:
      - record: service:errors:count1m
        expr: sum by (service) (count_over_time({env="prod"} |= "error" [1m]))
      - alert: ErrorsOffset
        expr: sum by (service) (count_over_time({env="prod"} |= "error" [1m])) > 2
"""


@pytest.mark.parametrize("key", ["query_offset", "evaluation_delay"])
def test_query_offset_evaluates_in_the_past(tmp_path: Path, store: Store, key: str) -> None:
    """With query_offset: 2m, an evaluation at t reads [t-3m, t-2m]; the alert starts at t."""
    push_errors(store, T0 - 150 * S, 3)  # 2.5 minutes before T0
    groups = parse_rule_groups(OFFSET_RULES.replace("query_offset", key), "late.yaml")
    assert groups[0].query_offset_s == 120.0
    sent: list[Alert] = []
    ruler = Ruler(
        EngineQuerier(Engine(store)),
        RulesStateDB(tmp_path / "r.db"),
        notify=sent.extend,
        file_groups=groups,
    )
    ruler.evaluate_group(groups[0], T0)
    assert [(a.name, a.starts_at) for a in sent] == [("ErrorsOffset", T0 / S)]
    # Recorded as Prometheus records: at the time the query was for.
    assert ruler.state.read_recorded_range("service:errors:count1m", 0, T0, "default") == [
        ({"service": "api"}, T0 - 120 * S, 3.0)
    ]
    # Without the offset the same lines are already out of the 1m range.
    plain = parse_rule_groups(OFFSET_RULES.replace("    query_offset: 2m\n", ""), "plain.yaml")
    assert ruler.evaluate_group(plain[0], T0) == []


def test_federated_group_queries_its_source_tenants(tmp_path: Path, store: Store) -> None:
    """A group with source_tenants counts the logs of every source tenant; its alert is the owner's."""
    for tenant, count in (("team-a", 2), ("team-b", 3), ("team-c", 50)):
        batch = StreamBatch(
            canonical_labels({"service": "api", "env": "prod"}),
            [T0 - 10 * S + i for i in range(count)],
            ["level=error"] * count,
            [None] * count,
        )
        store.append(PushRequest(tenant, (batch,)))
    text = (
        "name: fleet\nsource_tenants: [team-a, team-b]\nrules:\n"
        '  - alert: FleetErrors\n    expr: sum(count_over_time({env="prod"} |= "error" [1m])) > 4\n'
        '  - record: fleet:errors:count1m\n    expr: sum(count_over_time({env="prod"} [1m]))\n'
    )
    sent: list[Alert] = []
    ruler = Ruler(EngineQuerier(Engine(store)), RulesStateDB(tmp_path / "r.db"), notify=sent.extend)
    group = ruler.put_group("ops", "ns", text)
    assert group.source_tenants == ("team-a", "team-b")
    ruler.evaluate_group(group, T0)
    assert [(a.name, a.tenant) for a in sent] == [("FleetErrors", "ops")]
    assert [s.value for s in ruler.state.read_recorded("fleet:errors:count1m", {}, T0, "ops")] == [
        5.0
    ]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("query_offset: 1m\nevaluation_delay: 1m\n", "not both"),
        ("query_offset: soon\n", "query_offset"),
        ("source_tenants: team-a\n", "must be a list"),
        ("source_tenants: ['a|b']\n", "is not a tenant ID"),
    ],
)
def test_bad_group_options(tmp_path: Path, extra: str, needle: str) -> None:
    """query_offset / evaluation_delay / source_tenants mistakes name the group."""
    from flightlog.errors import RuleError

    ruler = Ruler(lambda e, t, n: [], RulesStateDB(tmp_path / "r.db"))
    with pytest.raises(RuleError) as info:
        ruler.put_group("default", "ns", "name: g\n" + extra + "rules: []\n")
    assert needle in str(info.value) and 'group "g"' in str(info.value)


def test_group_options_round_trip() -> None:
    """query_offset and source_tenants come back in the ruler API's YAML."""
    from flightlog.rules.loader import dump_groups

    text = (
        "groups:\n  - name: g\n    query_offset: 90s\n    source_tenants: [a, b]\n    rules: []\n"
    )
    (again,) = parse_rule_groups(dump_groups(parse_rule_groups(text, "g.yaml")), "g.yaml")
    assert (again.query_offset_s, again.source_tenants) == (90.0, ("a", "b"))
