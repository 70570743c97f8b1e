"""The ruler's SQLite file: alert states, recorded samples, and groups set through the API.

Alert states are written after every group evaluation and read back at start, so a
restart neither sends a firing alert back to pending nor forgets one that must resolve.
Recorded samples (what recording rules produce) live here too; ``read_recorded`` is the
read function that ``/metrics``, recorded-series expressions and the query engine use.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from flightlog.rules.alerting import ActiveAlert
from flightlog.rules.model import AlertState, Sample

__all__ = ["RulesStateDB"]

RECORDED_LOOKBACK_NS = 5 * 60 * 1_000_000_000


class RulesStateDB:
    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS alerts (tenant TEXT, namespace TEXT, grp TEXT, rule TEXT,
                fp TEXT, state TEXT, PRIMARY KEY (tenant, namespace, grp, rule, fp));
            CREATE TABLE IF NOT EXISTS recorded (tenant TEXT, name TEXT, labels TEXT, ts_ns INTEGER,
                value REAL);
            CREATE INDEX IF NOT EXISTS recorded_by_name ON recorded (tenant, name, ts_ns);
            CREATE TABLE IF NOT EXISTS recorded_latest (tenant TEXT, name TEXT, labels TEXT,
                value REAL, PRIMARY KEY (tenant, name, labels));
            CREATE TABLE IF NOT EXISTS rule_groups (tenant TEXT, namespace TEXT, name TEXT, body TEXT,
                PRIMARY KEY (tenant, namespace, name));
            """
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- alert states -----------------------------------------------------------------

    def save_alerts(
        self, key: tuple[str, str, str], rule: str, alerts: Mapping[str, ActiveAlert]
    ) -> None:
        tenant, namespace, group = key
        rows = [(tenant, namespace, group, rule, fp, _encode(a)) for fp, a in alerts.items()]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "DELETE FROM alerts WHERE tenant = ? AND namespace = ? AND grp = ? AND rule = ?",
                (tenant, namespace, group, rule),
            )
            self._db.executemany("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def load_alerts(self, key: tuple[str, str, str], rule: str) -> dict[str, ActiveAlert]:
        with self._lock:
            rows = self._db.execute(
                "SELECT fp, state FROM alerts WHERE tenant = ? AND namespace = ? AND grp = ? AND rule = ?",
                (*key, rule),
            ).fetchall()
        return {fp: _decode(body) for fp, body in rows}

    def forget_group(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM alerts WHERE tenant = ? AND namespace = ? AND grp = ?", key
            )

    # ---- recorded samples -------------------------------------------------------------

    def write_recorded(self, tenant: str, name: str, samples: Iterable[Sample], ts_ns: int) -> None:
        rows = [
            (tenant, name, json.dumps(dict(sorted(s.labels.items()))), ts_ns, s.value)
            for s in samples
        ]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO recorded VALUES (?, ?, ?, ?, ?)", rows)
            # The newest result replaces the series /metrics shows, so vanished series go.
            self._db.execute(
                "DELETE FROM recorded_latest WHERE tenant = ? AND name = ?", (tenant, name)
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO recorded_latest VALUES (?, ?, ?, ?)",
                [(t, n, labels, value) for t, n, labels, _, value in rows],
            )
            self._db.execute("COMMIT")

    def read_recorded(
        self,
        name: str,
        matchers: Mapping[str, str],
        ts_ns: int,
        tenant: str,
        lookback_ns: int = RECORDED_LOOKBACK_NS,
    ) -> list[Sample]:
        """Latest sample per series of ``name`` in ``(ts_ns - lookback_ns, ts_ns]`` with equal labels."""
        with self._lock:
            rows = self._db.execute(
                "SELECT labels, value FROM recorded WHERE tenant = ? AND name = ? AND ts_ns > ? AND ts_ns <= ?"
                " ORDER BY ts_ns",
                (tenant, name, ts_ns - lookback_ns, ts_ns),
            ).fetchall()
        latest: dict[str, float] = {}
        for labels, value in rows:
            latest[labels] = value
        out = []
        for encoded, value in latest.items():
            labels = json.loads(encoded)
            if all(labels.get(k, "") == v for k, v in matchers.items()):
                out.append(Sample({"__name__": name, **labels}, value))
        return out

    def read_recorded_range(
        self, name: str, start_ns: int, end_ns: int, tenant: str
    ) -> list[tuple[dict[str, str], int, float]]:
        """Every recorded sample of ``name`` in ``[start_ns, end_ns]``: (labels, ts_ns, value)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT labels, ts_ns, value FROM recorded WHERE tenant = ? AND name = ? AND ts_ns >= ?"
                " AND ts_ns <= ? ORDER BY ts_ns",
                (tenant, name, start_ns, end_ns),
            ).fetchall()
        return [(json.loads(labels), ts, value) for labels, ts, value in rows]

    def latest_recorded(self) -> list[tuple[str, str, dict[str, str], float]]:
        """The newest sample of every recorded series: (tenant, name, labels, value)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT tenant, name, labels, value FROM recorded_latest ORDER BY tenant, name, labels"
            ).fetchall()
        return [(t, n, json.loads(labels), v) for t, n, labels, v in rows]

    def prune_recorded(self, before_ns: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM recorded WHERE ts_ns < ?", (before_ns,))

    # ---- groups managed through the ruler API -----------------------------------------

    def put_group(self, tenant: str, namespace: str, name: str, body: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO rule_groups VALUES (?, ?, ?, ?)",
                (tenant, namespace, name, body),
            )

    def delete_groups(self, tenant: str, namespace: str, name: str | None = None) -> int:
        with self._lock:
            if name is None:
                return self._db.execute(
                    "DELETE FROM rule_groups WHERE tenant = ? AND namespace = ?",
                    (tenant, namespace),
                ).rowcount
            return self._db.execute(
                "DELETE FROM rule_groups WHERE tenant = ? AND namespace = ? AND name = ?",
                (tenant, namespace, name),
            ).rowcount

    def stored_groups(self) -> list[tuple[str, str, str, str]]:
        with self._lock:
            return self._db.execute(
                "SELECT tenant, namespace, name, body FROM rule_groups ORDER BY tenant, namespace, name"
            ).fetchall()


def _encode(alert: ActiveAlert) -> str:
    return json.dumps(
        {
            "labels": dict(alert.labels),
            "annotations": dict(alert.annotations),
            "state": alert.state.value,
            "value": alert.value,
            "active_at_ns": alert.active_at_ns,
            "fired_at_ns": alert.fired_at_ns,
            "resolved_at_ns": alert.resolved_at_ns,
            "keep_firing_since_ns": alert.keep_firing_since_ns,
            "last_eval_ns": alert.last_eval_ns,
        }
    )


def _decode(body: str) -> ActiveAlert:
    raw = json.loads(body)
    raw["state"] = AlertState(raw["state"])
    return ActiveAlert(**raw)
