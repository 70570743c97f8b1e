"""``Ruler``: evaluates rule groups on their intervals and keeps alert state.

Groups come from rule files (config ``rules.files``) and from the Loki ruler API (kept in
the state DB). Each group is evaluated every ``interval`` at instant times; its rules run
in order, so an alert may read what a recording rule of the same group just wrote.
Alert states are saved after every evaluation; firing and resolved alerts go to the
notification sink (``NotifyService.put``) each evaluation, as Prometheus sends them.
A group's ``query_offset`` shifts its queries (not its alert times) into the past, as
Prometheus's does; a federated group (``source_tenants``) queries those tenants' logs.
Everything takes an injected clock; ``evaluate_group(group, ts_ns)`` is the unit tests use.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from flightlog.errors import FlightlogError, RuleError
from flightlog.rules.alert import Alert
from flightlog.rules.alerting import ActiveAlert, evaluate_alerting_rule, to_notify_alert
from flightlog.rules.loader import parse_rule_groups
from flightlog.rules.model import AlertingRule, InstantQuerier, RecordingRule, RuleGroup, Sample
from flightlog.rules.recorded_expr import evaluate_recorded, is_recorded_expr
from flightlog.rules.state_db import RulesStateDB

__all__ = ["RuleHealth", "Ruler", "watchdog_group"]

log = logging.getLogger("flightlog.rules")
NS = 1_000_000_000
RECORDED_RETENTION_NS = 4 * 86400 * NS


@dataclass
class RuleHealth:
    health: str = "unknown"  # "ok", "err" or "unknown", as Prometheus reports it
    last_error: str = ""
    last_eval_ns: int = 0
    duration_s: float = 0.0


@dataclass
class _GroupRun:
    group: RuleGroup
    next_eval_ns: int = 0
    last_eval_ns: int = 0
    duration_s: float = 0.0
    alerts: dict[str, dict[str, ActiveAlert]] = field(default_factory=dict)
    health: dict[str, RuleHealth] = field(default_factory=dict)


def watchdog_group(interval_s: float = 60.0) -> RuleGroup:
    """An always-firing heartbeat alert: a dead-man's switch outside notices when it stops."""
    rule = AlertingRule(
        "Watchdog",
        "vector(1)",
        labels={"severity": "none"},
        annotations={
            "summary": "Alerting pipeline heartbeat",
            "description": "Always firing. If this stops arriving, flightlog's ruler or notifications are down.",
        },
    )
    return RuleGroup("flightlog-watchdog", (rule,), interval_s, namespace="flightlog")


@functools.lru_cache(maxsize=4096)
def _recorded(expr: str) -> bool:
    return is_recorded_expr(expr)


class Ruler:
    def __init__(
        self,
        querier: InstantQuerier,
        state: RulesStateDB,
        notify: Callable[[list[Alert]], None] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        external_url: str = "",
        file_groups: Sequence[RuleGroup] = (),
        check_expr: Callable[[str], None] | None = None,
    ) -> None:
        self._querier = querier
        self.state = state
        self._notify = notify
        self._clock_ns = clock_ns
        self.external_url = external_url
        self._check_expr = check_expr
        self._lock = threading.RLock()
        self._runs: dict[tuple[str, str, str], _GroupRun] = {}
        self._file_groups = list(file_groups)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._cycles = 0
        self._reload()

    # ---- group management -------------------------------------------------------------

    def _reload(self) -> None:
        groups = list(self._file_groups)
        for tenant, namespace, _name, body in self.state.stored_groups():
            try:
                groups.extend(self._parse(body, tenant, namespace, single=True))
            except RuleError as exc:
                log.error("stored rule group in %s/%s no longer loads: %s", tenant, namespace, exc)
        with self._lock:
            old = self._runs
            self._runs = {}
            for group in groups:
                run = old.get(group.key)
                if run is None:
                    run = _GroupRun(group)
                    run.alerts = {
                        r.name: self.state.load_alerts(group.key, r.name)
                        for r in group.rules
                        if isinstance(r, AlertingRule)
                    }
                else:
                    run.group = group
                    run.alerts = {
                        r.name: run.alerts.get(r.name, {})
                        for r in group.rules
                        if isinstance(r, AlertingRule)
                    }
                self._runs[group.key] = run
        self._wake.set()

    def _parse(self, body: str, tenant: str, namespace: str, single: bool) -> list[RuleGroup]:
        kwargs = {"check_expr": self._check_expr} if self._check_expr else {}
        return parse_rule_groups(
            body, f"{namespace}", namespace, tenant, single_group=single, **kwargs
        )

    def set_file_groups(self, groups: Iterable[RuleGroup]) -> None:
        self._file_groups = list(groups)
        self._reload()

    def groups(self, tenant: str | None = None) -> list[RuleGroup]:
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: r.group.key)
        return [r.group for r in runs if tenant is None or r.group.tenant == tenant]

    def parse_group(self, tenant: str, namespace: str, body: str) -> RuleGroup:
        """One group from its YAML, checked as ``put_group`` would (``RuleError`` if not valid)."""
        (group,) = self._parse(body, tenant, namespace, single=True)
        return group

    def put_group(self, tenant: str, namespace: str, body: str) -> RuleGroup:
        """Create or replace one group from its YAML (the ruler API's POST)."""
        group = self.parse_group(tenant, namespace, body)
        self.state.put_group(tenant, namespace, group.name, body)
        self._reload()
        return group

    def delete_groups(self, tenant: str, namespace: str, name: str | None = None) -> int:
        """Delete API-managed groups (a whole namespace, or one group); returns how many."""
        removed = self.state.delete_groups(tenant, namespace, name)
        before = set(self._runs)
        self._reload()
        for key in before - set(self._runs):
            self.state.forget_group(key)
        return removed

    def file_namespaces(self, tenant: str) -> set[str]:
        """Namespaces that come from files or config (not writable through the API)."""
        return {g.namespace for g in self._file_groups if g.tenant == tenant}

    # ---- evaluation -------------------------------------------------------------------

    def _query(self, expr: str, ts_ns: int, group: RuleGroup) -> list[Sample]:
        if _recorded(expr):
            # Recorded series live with the group's tenant (also for a federated group).
            return evaluate_recorded(expr, self.state.read_recorded, ts_ns, group.tenant)
        return self._querier(expr, ts_ns, "|".join(group.query_tenants))

    def evaluate_group(self, group: RuleGroup, ts_ns: int) -> list[Alert]:
        """Evaluate every rule of ``group`` at ``ts_ns``; returns the alerts sent to notify."""
        with self._lock:
            run = self._runs.get(group.key)
            if run is None:
                run = _GroupRun(group)
                self._runs[group.key] = run
        started = time.perf_counter()
        outgoing: list[Alert] = []
        query_ns = ts_ns - int(group.query_offset_s * NS)
        for rule in group.rules:
            with self._lock:  # snapshot() iterates these dicts from API threads
                health = run.health.setdefault(rule.name, RuleHealth())
            rule_started = time.perf_counter()
            try:
                samples = self._query(rule.expr, query_ns, group)
                if group.limit and len(samples) > group.limit:
                    raise RuleError(
                        f"rule produced {len(samples)} series, more than the group limit {group.limit}"
                    )
                if isinstance(rule, RecordingRule):
                    # As Prometheus does: the sample is stamped at the time it was queried for.
                    self._record(rule, samples, query_ns, group.tenant)
                else:
                    active = evaluate_alerting_rule(
                        rule, run.alerts.get(rule.name, {}), samples, ts_ns, self.external_url
                    )
                    with self._lock:
                        run.alerts[rule.name] = active
                    self.state.save_alerts(group.key, rule.name, active)
                    for alert in active.values():
                        notified = to_notify_alert(
                            alert, rule, ts_ns, group.interval_s, self.external_url, group.tenant
                        )
                        if notified is not None:
                            outgoing.append(notified)
                health.health, health.last_error = "ok", ""
            except FlightlogError as exc:
                health.health, health.last_error = "err", str(exc)
                log.warning("rule %s in group %s failed: %s", rule.name, group.name, exc)
            health.last_eval_ns = ts_ns
            health.duration_s = time.perf_counter() - rule_started
        run.last_eval_ns = ts_ns
        run.duration_s = time.perf_counter() - started
        if outgoing and self._notify is not None:
            self._notify(outgoing)
        return outgoing

    def _record(self, rule: RecordingRule, samples: list[Sample], ts_ns: int, tenant: str) -> None:
        rows = []
        for sample in samples:
            labels = {k: v for k, v in sample.labels.items() if k != "__name__"}
            labels.update(rule.labels)
            rows.append(Sample(labels, sample.value))
        self.state.write_recorded(tenant, rule.record, rows, ts_ns)

    def run_due(self, now_ns: int | None = None) -> int:
        """Evaluate the groups whose time has come; returns how many ran."""
        now = self._clock_ns() if now_ns is None else now_ns
        with self._lock:
            due = [r for r in self._runs.values() if r.next_eval_ns <= now]
        for run in due:
            self.evaluate_group(run.group, now)
            interval_ns = int(run.group.interval_s * NS)
            run.next_eval_ns = (
                max(run.next_eval_ns + interval_ns, now + interval_ns // 2)
                if run.next_eval_ns
                else now + interval_ns
            )
        if due:
            self._cycles += 1
            if self._cycles % 500 == 1:
                self.state.prune_recorded(now - RECORDED_RETENTION_NS)
        return len(due)

    def next_due_ns(self) -> int | None:
        with self._lock:
            return min((r.next_eval_ns for r in self._runs.values()), default=None)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="flightlog-ruler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # boundary: one broken group must not stop all alerting
                log.exception("rule evaluation cycle failed")
            next_due = self.next_due_ns()
            wait_s = (
                1.0
                if next_due is None
                else max(0.005, min(1.0, (next_due - self._clock_ns()) / NS))
            )
            self._wake.wait(wait_s)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)

    # ---- reading state ----------------------------------------------------------------

    def snapshot(
        self, tenant: str | None = None
    ) -> list[
        tuple[RuleGroup, dict[str, RuleHealth], dict[str, dict[str, ActiveAlert]], int, float]
    ]:
        """(group, health per rule, alerts per rule, last eval ns, duration s) for the API."""
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: r.group.key)
            return [
                (
                    r.group,
                    dict(r.health),
                    {k: dict(v) for k, v in r.alerts.items()},
                    r.last_eval_ns,
                    r.duration_s,
                )
                for r in runs
                if tenant is None or r.group.tenant == tenant
            ]
