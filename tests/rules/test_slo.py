"""SLO rule generation per the SRE Workbook, export, and budget status over a real store."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from flightlog.errors import ConfigError
from flightlog.model import PushRequest, StreamBatch, canonical_labels
from flightlog.query import Engine
from flightlog.rules.loader import parse_rule_groups
from flightlog.rules.model import AlertingRule, RecordingRule
from flightlog.rules.querier import EngineQuerier
from flightlog.rules.ruler import Ruler
from flightlog.rules.slo import export_loki, export_prometheus, parse_slos, slo_groups, slo_status
from flightlog.rules.state_db import RulesStateDB
from flightlog.store import Store, StoreConfig

S = 1_000_000_000
T0 = 1_767_225_600 * S
SLOS = [
    {
        "name": "inference-availability",
        "service": "inference-gateway",
        "objective": 99.9,
        "window": "30d",
        "sli": {
            "bad": 'sum(count_over_time({service="inference-gateway"} |= "status=5" [{{.window}}]))',
            "total": 'sum(count_over_time({service="inference-gateway"} [{{.window}}]))',
        },
        "runbook_url": "https://runbooks/inference",
    }
]


def test_generated_rules_follow_the_workbook() -> None:
    """Seven ratio recordings and page/ticket alerts with the Workbook's factors."""
    (group,) = slo_groups(parse_slos(SLOS))
    records = [r.record for r in group.rules if isinstance(r, RecordingRule)]
    assert records == [
        f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
    ]
    page, ticket = [r for r in group.rules if isinstance(r, AlertingRule)]
    assert page.labels["severity"] == "page" and ticket.labels["severity"] == "ticket"
    assert page.expr == (
        '(slo:sli_error:ratio_rate1h{slo="inference-availability"} > 0.0144 and '
        'slo:sli_error:ratio_rate5m{slo="inference-availability"} > 0.0144) or '
        '(slo:sli_error:ratio_rate6h{slo="inference-availability"} > 0.006 and '
        'slo:sli_error:ratio_rate30m{slo="inference-availability"} > 0.006)'
    )
    assert (
        "ratio_rate1d" in ticket.expr and "> 0.003" in ticket.expr and "ratio_rate3d" in ticket.expr
    )
    assert page.annotations["runbook_url"] == "https://runbooks/inference"


def test_loki_export_loads_back_as_rules() -> None:
    """The Loki export is a valid rule file for our own loader (LogQL checked)."""
    groups = parse_rule_groups(export_loki(parse_slos(SLOS)), "slo.yaml")
    assert len(groups[0].rules) == 9


def test_prometheus_export_passes_promtool(tmp_path: Path) -> None:
    """`promtool check rules` accepts the Prometheus export."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip(
            "promtool not installed (Debian package `prometheus`); export checked structurally only"
        )
    path = tmp_path / "slo.rules.yml"
    path.write_text(export_prometheus(parse_slos(SLOS)))
    done = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_export_budget_is_over_the_slo_window(tmp_path: Path) -> None:
    """`promtool test rules`: the budget left is over the 30d window, not the last 3 days.

    27 days at a 0.2 % error ratio then 3 clean days: 1.8x the budget is spent over the
    window (remaining -0.8), though the 3-day ratio alone says nothing was spent.
    """
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package `prometheus`)")
    rules = tmp_path / "slo.rules.yml"
    rules.write_text(export_prometheus(parse_slos(SLOS)))
    labels = 'slo="inference-availability", service="inference-gateway", tenant="default"'
    case = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1h",
        "tests": [
            {
                "interval": "1h",
                "input_series": [
                    # What Prometheus scrapes from flightlog's /metrics, hourly for 30 days.
                    {
                        "series": f"slo:sli_error:ratio_rate5m{{{labels}}}",
                        "values": "0.002x647 0x71",
                    },
                    {"series": f"slo:sli_error:ratio_rate3d{{{labels}}}", "values": "0x719"},
                ],
                "promql_expr_test": [
                    {
                        "expr": "round(slo:error_budget:remaining_ratio, 0.001)",
                        "eval_time": "719h",
                        "exp_samples": [{"labels": f"{{{labels}}}", "value": -0.8}],
                    }
                ],
            }
        ],
    }
    test_file = tmp_path / "slo.test.yml"
    test_file.write_text(yaml.safe_dump(case))
    done = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_window_ratio_is_not_duplicated_for_a_recorded_window() -> None:
    """A 3d SLO's budget reads flightlog's own 3d ratio; no second rule records that name."""
    document = yaml.safe_load(export_prometheus(parse_slos([{**SLOS[0], "window": "3d"}])))
    records = [r.get("record") for r in document["groups"][0]["rules"]]
    assert "slo:sli_error:ratio_rate3d" not in records
    budget = next(
        r
        for r in document["groups"][0]["rules"]
        if r.get("record", "").startswith("slo:error_budget")
    )
    assert budget["expr"].startswith("1 - (slo:sli_error:ratio_rate3d{")


def test_prometheus_export_shape() -> None:
    """Without promtool, the export still has Prometheus's group/rule keys only."""
    document = yaml.safe_load(export_prometheus(parse_slos(SLOS)))
    (group,) = document["groups"]
    for rule in group["rules"]:
        assert set(rule) <= {"record", "alert", "expr", "labels", "annotations", "for"}
        assert "{{.window}}" not in rule["expr"] and "|=" not in rule["expr"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"objective": 120}, "between 0 and 100"),
        ({"sli": {"total": "x"}}, "exactly one of"),
        ({"sli": {"total": "sum(x[5m])", "bad": "y[{{.window}}]"}}, "{{.window}}"),
        ({"name": "bad name"}, "letters, digits"),
        ({"objectiv": 99}, "slos.0.objectiv"),
    ],
)
def test_bad_slo_config(change: dict, needle: str) -> None:
    """Each invalid SLO is one ConfigError naming the problem."""
    with pytest.raises(ConfigError) as info:
        parse_slos([{**SLOS[0], **change}])
    assert needle in str(info.value)


def test_burn_alert_fires_and_budget_is_reported(tmp_path: Path) -> None:
    """With 5% errors the page alert fires and the budget is overspent."""
    store = Store.open(StoreConfig(tmp_path / "data", fsync=False))
    try:
        count = 2000
        lines = [f"GET /predict status={'500' if i % 20 == 0 else '200'}" for i in range(count)]
        times = [T0 - 3000 * S + i * (S + S // 2) for i in range(count)]
        batch = StreamBatch(
            canonical_labels({"service": "inference-gateway"}), times, lines, [None] * count
        )
        store.append(PushRequest("default", (batch,)))
        slos = parse_slos(SLOS)
        sent: list = []
        querier = EngineQuerier(Engine(store))
        ruler = Ruler(
            querier,
            RulesStateDB(tmp_path / "r.db"),
            notify=sent.extend,
            file_groups=slo_groups(slos),
        )
        ruler.run_due(T0)
        assert {a.labels["severity"] for a in sent} == {"page", "ticket"}
        status = slo_status(slos[0], querier, T0)
        assert status.error_ratio == pytest.approx(0.05)
        assert status.budget_remaining == pytest.approx(1 - 0.05 / 0.001)
        assert status.burn_rates["1h"] == pytest.approx(50)
    finally:
        store.close()
