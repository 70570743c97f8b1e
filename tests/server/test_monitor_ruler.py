"""Drift alerts end to end: a scheduled check logs its results, a ruler rule on them fires.

A real `flightlog serve` runs the `churn` drift check every second against a reference
file; its `drift_check` events land in the store under `{service="flightlog-monitor"}`;
a LogQL alert rule (evaluated every 200 ms) on their `psi` fires and its notification
reaches a webhook. A check that failed (no records yet) logs an event without `psi`, so
the rule keeps only samples that unwrapped (`| __error__=""`), as Loki requires. Every
wait is bounded and on a condition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightlog.notify.testing import RecordingReceiver

S = 1_000_000_000
RULES = """
groups:
  - name: drift
    interval: 200ms
    rules:
      - alert: FeatureDrift
        expr: >
          max by (model, feature) (max_over_time({service="flightlog-monitor"}
          | json | event="drift_check" | unwrap psi | __error__="" [1m])) >= 0.2
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.feature }} of {{ $labels.model }} drifted"
"""

pytestmark = pytest.mark.slow


@pytest.fixture
def hook() -> Iterator[RecordingReceiver]:
    with RecordingReceiver() as receiver:
        yield receiver


def _wait_until(condition: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value and all(value):
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _predictions(ages: np.ndarray, countries: np.ndarray) -> list[list[str]]:
    now = time.time_ns()
    return [
        [
            str(now - (len(ages) - index) * S // 100),
            orjson.dumps(
                {
                    "event": "prediction",
                    "model_version": "2",
                    "features": {"age": float(age), "country": str(country)},
                    "status": "ok",
                }
            ).decode(),
        ]
        for index, (age, country) in enumerate(zip(ages, countries, strict=True))
    ]


def test_a_scheduled_drift_check_fires_a_ruler_alert(
    flightlog_server_factory: Callable[..., Any], hook: RecordingReceiver, tmp_path: Path
) -> None:
    """Ages shifted from 35 to 50 fire FeatureDrift for age (not country) through the ruler."""
    rng = np.random.default_rng(11)
    reference = tmp_path / "ref.parquet"
    pq.write_table(
        pa.table(
            {"age": rng.normal(35, 8, 2_000), "country": rng.choice(["DE", "FR", "US"], 2_000)}
        ),
        reference,
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    config = {
        "monitor": {
            "drift_checks": [
                {
                    "model": "churn",
                    "query": '{service="churn-model"}',
                    "reference_file": str(reference),
                    "window": "5m",
                    "interval": "1s",
                }
            ]
        },
        "rules": {"files": [str(rules)]},
        "alerting": {
            "route": {
                "receiver": "hook",
                "group_by": ["alertname"],
                "group_wait": "100ms",
                "group_interval": "300ms",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "hook", "webhook_configs": [{"url": hook.url}]}],
        },
    }
    server = flightlog_server_factory(config)
    values = _predictions(rng.normal(50, 8, 1_500), rng.choice(["DE", "FR", "US"], 1_500))
    with server.client() as http:
        # First a run without data: its error event (no psi) must not break the rule.
        _wait_until(
            lambda: [check["error"] for check in http.get("/api/v1/drift/checks").json()["data"]],
            "a drift check that failed for lack of records",
        )
        pushed = http.post(
            "/loki/api/v1/push",
            json={"streams": [{"stream": {"service": "churn-model"}, "values": values}]},
        )
        assert pushed.status_code == 204, pushed.text
        notification = hook.wait_for(1, timeout_s=30.0)[0]
        assert notification["status"] == "firing"
        (alert,) = notification["alerts"]
        assert alert["labels"]["alertname"] == "FeatureDrift"
        assert (alert["labels"]["model"], alert["labels"]["feature"]) == ("churn", "age")
        assert alert["annotations"]["summary"] == "age of churn drifted"
        # What fired is what the check stored: its latest result lists age as drifted.
        checks = http.get("/api/v1/drift/checks").json()["data"]
        assert [(check["model"], check["drifted"]) for check in checks] == [("churn", ["age"])]
        events = http.get(
            "/loki/api/v1/query_range",
            params={
                "query": '{service="flightlog-monitor", model="churn"} | json | feature="age"',
                "start": str(time.time_ns() - 600 * S),
                "limit": "1",
            },
        ).json()["data"]["result"]
        assert orjson.loads(events[0]["values"][0][1])["drift"] is True
