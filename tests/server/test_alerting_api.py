"""Alerting end to end through a real `flightlog serve`: push → rule → grouped webhook.

Intervals are tiny (evaluation 200 ms, group_wait 100 ms) and every wait is a bounded
wait on a condition.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flightlog.notify.testing import RecordingReceiver

from .waiting import wait_until

RULES = """
groups:
  - name: e2e
    interval: 200ms
    rules:
      - alert: ErrorBurst
        expr: sum by (service) (count_over_time({job="e2e"} |= "error" [3s])) > 2
        labels: {severity: high}
        annotations:
          summary: "{{ $labels.service }} logged {{ $value }} errors"
          runbook_url: https://runbooks.example/errors
      - alert: ErrorsLastMinute
        expr: sum by (service) (count_over_time({job="sticky"} |= "error" [1m])) > 2
      - record: e2e:errors:count3s
        expr: sum by (service) (count_over_time({job="e2e"} |= "error" [3s]))
"""


@pytest.fixture
def hook() -> Iterator[RecordingReceiver]:
    with RecordingReceiver() as receiver:
        yield receiver


@pytest.fixture
def server(
    flightlog_server_factory: Callable[..., Any], hook: RecordingReceiver, tmp_path: Path
) -> Any:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    config = {
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
    return flightlog_server_factory(config)


def push_errors(http: httpx.Client, job: str, services: list[str], count: int = 3) -> None:
    now = time.time_ns()
    streams = [
        {
            "stream": {"job": job, "service": service},
            "values": [
                [str(now + i), f'level=error msg="request failed" n={i}'] for i in range(count)
            ],
        }
        for service in services
    ]
    response = http.post("/loki/api/v1/push", json={"streams": streams})
    assert response.status_code == 204, response.text


@pytest.mark.slow
def test_errors_fire_one_grouped_webhook_then_resolve(server: Any, hook: RecordingReceiver) -> None:
    """Two services breaching in one evaluation give exactly one grouped webhook, then one resolution."""
    with server.client() as http:
        push_errors(http, "e2e", ["api", "db"])
        first = hook.wait_for(1)[0]
        assert (
            first["version"] == "4" and first["status"] == "firing" and first["receiver"] == "hook"
        )
        assert first["groupKey"] == '{}:{alertname="ErrorBurst"}'
        assert sorted(a["labels"]["service"] for a in first["alerts"]) == ["api", "db"]
        alert = first["alerts"][0]
        assert alert["annotations"]["runbook_url"] == "https://runbooks.example/errors"
        assert re.fullmatch(r"[0-9a-f]{16}", alert["fingerprint"])
        assert "/?query=" in alert["generatorURL"]
        assert alert["annotations"]["summary"].endswith("logged 3 errors")
        second = hook.wait_for(2)[1]
        assert second["status"] == "resolved" and len(second["alerts"]) == 2
        assert all(a["status"] == "resolved" for a in second["alerts"])


@pytest.mark.slow
def test_silence_suppresses_and_expiry_releases(server: Any, hook: RecordingReceiver) -> None:
    """A silence keeps one service out of the notification; expiring it lets it through."""
    with server.client() as http:
        now = time.time()
        body = {
            "matchers": [{"name": "service", "value": "api", "isRegex": False, "isEqual": True}],
            "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 1)),
            "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
            "createdBy": "test",
            "comment": "maintenance",
        }
        created = http.post("/api/v2/silences", json=body)
        assert created.status_code == 200, created.text
        silence_id = created.json()["silenceID"]
        push_errors(http, "sticky", ["api", "db"])
        first = hook.wait_for(1)[0]
        assert [a["labels"]["service"] for a in first["alerts"]] == ["db"]
        alerts = http.get("/api/v2/alerts").json()
        api = next(a for a in alerts if a["labels"].get("service") == "api")
        assert api["status"] == {
            "state": "suppressed",
            "silencedBy": [silence_id],
            "inhibitedBy": [],
        }
        listed = http.get("/api/v2/silences").json()
        assert listed[0]["id"] == silence_id and listed[0]["status"]["state"] == "active"
        assert http.delete(f"/api/v2/silence/{silence_id}").status_code == 200
        second = hook.wait_for(2)[1]
        assert sorted(a["labels"]["service"] for a in second["alerts"]) == ["api", "db"]
        assert http.get(f"/api/v2/silence/{silence_id}").json()["status"]["state"] == "expired"


def _metric(http: httpx.Client, name: str) -> float:
    total = 0.0
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.slow
def test_restart_resends_nothing_and_keeps_firing(server: Any, hook: RecordingReceiver) -> None:
    """After a restart the alert is still firing and the receiver hears nothing new."""
    with server.client() as http:
        push_errors(http, "sticky", ["api"])
        hook.wait_for(1)
    server.restart()
    with server.client() as http:
        alerts = http.get("/prometheus/api/v1/alerts").json()["data"]["alerts"]
        assert [a["state"] for a in alerts if a["labels"]["alertname"] == "ErrorsLastMinute"] == [
            "firing"
        ]
        wait_until(
            lambda: _metric(http, "flightlog_notifications_deduplicated_total") >= 1,
            what="a deduplicated flush",
        )
    assert len(hook.requests) == 1


@pytest.mark.slow
def test_rules_and_alerts_in_prometheus_shape(server: Any, hook: RecordingReceiver) -> None:
    """/prometheus/api/v1/rules lists groups with health; recorded series reach /metrics."""
    with server.client() as http:
        push_errors(http, "e2e", ["api"])
        hook.wait_for(1)
        groups = http.get("/prometheus/api/v1/rules").json()["data"]["groups"]
        (group,) = groups
        rules = {r["name"]: r for r in group["rules"]}
        assert rules["ErrorBurst"]["type"] == "alerting" and rules["ErrorBurst"]["health"] == "ok"
        assert rules["e2e:errors:count3s"]["type"] == "recording"
        only_alerts = http.get("/prometheus/api/v1/rules", params={"type": "alert"}).json()["data"][
            "groups"
        ][0]
        assert {r["type"] for r in only_alerts["rules"]} == {"alerting"}
        metrics = http.get("/metrics").text
        assert 'e2e:errors:count3s{service="api",tenant="default"} 3.0' in metrics
        found = http.get(
            "/prometheus/api/v1/query", params={"query": "e2e:errors:count3s > 2"}
        ).json()
        assert [(r["metric"]["service"], r["value"][1]) for r in found["data"]["result"]] == [
            ("api", "3")
        ]
        # A bare selector (what a Grafana panel asks for), with PromQL's matchers.
        for query in ("e2e:errors:count3s", 'e2e:errors:count3s{service=~"a.i"}'):
            bare = http.get("/prometheus/api/v1/query", params={"query": query}).json()
            assert [r["metric"]["service"] for r in bare["data"]["result"]] == ["api"], query
        now = time.time()
        ranged = http.get(
            "/prometheus/api/v1/query_range",
            params={
                "query": 'e2e:errors:count3s{service="api"} > 0',
                "start": now - 2,
                "end": now,
                "step": 1,
            },
        ).json()["data"]["result"]
        assert ranged and ranged[0]["metric"]["__name__"] == "e2e:errors:count3s"
        bad = http.get("/prometheus/api/v1/query", params={"query": 'sum(rate({a="b"}[1m]))'})
        assert bad.status_code == 400 and "recorded-series" in bad.json()["error"]


def test_ruler_api_round_trip(flightlog_app_client: Any) -> None:
    """POST a group, read it back in Loki and Prometheus shapes, delete it; bad YAML is a 400."""
    http = flightlog_app_client
    headers = {"X-Scope-OrgID": "team-a"}
    group = 'name: g1\ninterval: 1m\nrules:\n  - alert: Any\n    expr: sum(count_over_time({app="x"}[5m])) > 0\n'
    assert http.post("/loki/api/v1/rules/ns1", content=group, headers=headers).status_code == 202
    listed = http.get("/loki/api/v1/rules", headers=headers)
    assert listed.status_code == 200 and "ns1:" in listed.text and "name: g1" in listed.text
    assert "alert: Any" in http.get("/loki/api/v1/rules/ns1/g1", headers=headers).text
    assert http.get("/loki/api/v1/rules").status_code == 404  # other tenant sees nothing
    bad = http.post(
        "/loki/api/v1/rules/ns1",
        content="name: g2\nrules:\n  - alert: B\n    expr: sum(\n",
        headers=headers,
    )
    assert bad.status_code == 400 and "ns1:4:15:" in bad.json()["error"]
    garbage = http.post("/loki/api/v1/rules/ns1", content=b"\xff\xfe", headers=headers)
    assert garbage.status_code == 400
    assert http.delete("/loki/api/v1/rules/ns1/g1", headers=headers).status_code == 202
    assert http.get("/loki/api/v1/rules/ns1", headers=headers).status_code == 404


def test_bad_silence_requests(flightlog_app_client: Any) -> None:
    """Silences without matchers, with bad regexes or bad times get a 400 that says why."""
    http = flightlog_app_client
    cases = [
        ({"endsAt": "2030-01-01T00:00:00Z"}, "matchers"),
        (
            {
                "matchers": [{"name": "a", "value": "(", "isRegex": True}],
                "endsAt": "2030-01-01T00:00:00Z",
            },
            "regex",
        ),
        ({"matchers": [{"name": "a", "value": "b"}], "endsAt": "tomorrow"}, "RFC 3339"),
        (
            {
                "matchers": [{"name": "a", "value": ".*", "isRegex": True}],
                "endsAt": "2030-01-01T00:00:00Z",
            },
            "empty string",
        ),
    ]
    for body, needle in cases:
        response = http.post("/api/v2/silences", json=body)
        assert response.status_code == 400 and needle in response.json()["error"], response.text
    assert http.delete("/api/v2/silence/nope").status_code == 404


@pytest.mark.slow
def test_cli_alerts_and_silences(server: Any, hook: RecordingReceiver) -> None:
    """`flightlog alerts` lists the firing alert; `silence add|ls|expire` work over HTTP."""
    from typer.testing import CliRunner

    from flightlog.cli.app import app

    runner = CliRunner()
    with server.client() as http:
        push_errors(http, "sticky", ["api"])
        hook.wait_for(1)
    listed = runner.invoke(app, ["alerts", "--url", server.url, "-o", "json"])
    assert listed.exit_code == 0, listed.output
    assert [a["labels"]["alertname"] for a in json.loads(listed.output)] == ["ErrorsLastMinute"]
    unreachable = runner.invoke(
        app, ["silence", "add", "alertname=X", "--url", "http://127.0.0.1:9"]
    )
    assert unreachable.exit_code == 1 and "cannot reach" in unreachable.output
    added = runner.invoke(
        app,
        [
            "silence",
            "add",
            "alertname=ErrorsLastMinute",
            'service=~"api|db"',
            "-d",
            "2h",
            "-c",
            "deploy",
            "--url",
            server.url,
        ],
    )
    assert added.exit_code == 0, added.output
    silence_id = added.output.strip()
    shown = runner.invoke(app, ["silence", "ls", "--url", server.url])
    assert (
        silence_id in shown.output
        and 'service=~"api|db"' in shown.output
        and "active" in shown.output
    )
    table = runner.invoke(app, ["alerts", "--url", server.url])
    assert "suppressed" in table.output
    assert runner.invoke(app, ["silence", "expire", silence_id, "--url", server.url]).exit_code == 0
    assert "no silences" in runner.invoke(app, ["silence", "ls", "--url", server.url]).output
    bad = runner.invoke(app, ["silence", "add", "not a matcher", "--url", server.url])
    assert bad.exit_code == 2 and "not valid" in bad.output
    missing = runner.invoke(app, ["silence", "expire", "nope", "--url", server.url])
    assert missing.exit_code == 1 and "404" in missing.output


def test_slo_status_endpoint(tmp_path: Path) -> None:
    """/api/v1/slos reports error ratio, budget left and burn rates from the stored logs."""
    from fastapi.testclient import TestClient

    from flightlog.config import parse_config
    from flightlog.server import create_app

    config = parse_config(
        {
            "slos": [
                {
                    "name": "gateway",
                    "service": "gw",
                    "objective": 99,
                    "window": "1d",
                    "sli": {
                        "bad": 'sum(count_over_time({job="gw"} |= "status=500" [{{.window}}]))',
                        "total": 'sum(count_over_time({job="gw"} [{{.window}}]))',
                    },
                }
            ]
        },
        data_dir=tmp_path / "data",
    )
    with TestClient(create_app(config)) as http:
        now = time.time_ns()
        values = [
            [str(now - 1000 - i), f"status={'500' if i % 10 == 0 else '200'}"] for i in range(100)
        ]
        assert (
            http.post(
                "/loki/api/v1/push", json={"streams": [{"stream": {"job": "gw"}, "values": values}]}
            ).status_code
            == 204
        )
        (slo,) = http.get("/api/v1/slos").json()["data"]
    assert (slo["name"], slo["objective"], slo["window"]) == ("gateway", 0.99, "1d")
    assert slo["error_ratio"] == pytest.approx(0.1)
    assert slo["error_budget_remaining"] == pytest.approx(1 - 0.1 / 0.01)
    assert slo["burn_rates"]["5m"] == pytest.approx(10)


@pytest.mark.slow
def test_amtool_works_against_flightlog(flightlog_server: Any) -> None:
    """Alertmanager's own CLI (amtool) adds and lists silences and alerts on flightlog."""
    import shutil
    import subprocess

    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool not installed (Debian package `prometheus-alertmanager`)")

    def run(*args: str) -> str:
        done = subprocess.run(
            [amtool, f"--alertmanager.url={flightlog_server.url}", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    silence_id = run(
        "silence", "add", "alertname=Foo", 'service=~"api|db"', "--comment=deploy", "--author=me"
    ).strip()
    assert silence_id in run("silence", "query")
    run("alert", "add", "alertname=Bar", "severity=page")
    assert "Bar" in run("alert", "query")
    run("silence", "expire", silence_id)
    assert silence_id not in run("silence", "query")


def test_posted_alerts_groups_and_status(flightlog_app_client: Any) -> None:
    """Alerts POSTed in Alertmanager's shape appear in /api/v2/alerts and /alerts/groups."""
    http = flightlog_app_client
    alerts = [
        {
            "labels": {"alertname": "Posted", "service": s},
            "annotations": {"summary": "x"},
            "generatorURL": "http://g",
        }
        for s in ("api", "db")
    ]
    assert http.post("/api/v2/alerts", json=alerts).status_code == 200
    listed = http.get("/api/v2/alerts", params={"filter": 'service="api"'}).json()
    assert [a["labels"]["service"] for a in listed] == ["api"]
    assert listed[0]["status"]["state"] == "active" and listed[0]["receivers"] == [
        {"name": "default"}
    ]
    (group,) = http.get("/api/v2/alerts/groups").json()
    assert group["receiver"] == {"name": "default"} and len(group["alerts"]) == 2
    status = http.get("/api/v2/status").json()
    assert status["cluster"]["status"] == "disabled" and status["versionInfo"][
        "version"
    ].startswith("flightlog")
    for bad in (
        [{"labels": {}}],
        [{"labels": {"a": 1}}],
        [{"labels": {"a": "b"}, "startsAt": "yesterday"}],
        {"x": 1},
    ):
        assert http.post("/api/v2/alerts", json=bad).status_code in (400, 422)


TENANT_RULES = """
name: errors
interval: 200ms
rules:
  - alert: TenantErrors
    expr: sum by (service) (count_over_time({job="tenanted"} |= "error" [1m])) > 2
"""


@pytest.mark.slow
def test_tenants_alerts_and_silences_are_kept_apart(server: Any, hook: RecordingReceiver) -> None:
    """The same rule in two tenants gives two alerts and two groups; each tenant sees and
    silences only its own."""

    def as_tenant(tenant: str) -> dict[str, str]:
        return {"X-Scope-OrgID": tenant}

    with server.client() as http:
        silence = {
            "matchers": [{"name": "service", "value": "api", "isRegex": False, "isEqual": True}],
            "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
            "createdBy": "a",
            "comment": "team-a's maintenance",
        }
        created = http.post("/api/v2/silences", json=silence, headers=as_tenant("team-a"))
        assert created.status_code == 200, created.text
        silence_id = created.json()["silenceID"]
        for tenant in ("team-a", "team-b"):
            posted = http.post(
                "/loki/api/v1/rules/ns", content=TENANT_RULES, headers=as_tenant(tenant)
            )
            assert posted.status_code == 202, posted.text
            now = time.time_ns()
            pushed = http.post(
                "/loki/api/v1/push",
                json={
                    "streams": [
                        {
                            "stream": {"job": "tenanted", "service": "api"},
                            "values": [[str(now + i), "level=error"] for i in range(3)],
                        }
                    ]
                },
                headers=as_tenant(tenant),
            )
            assert pushed.status_code == 204, pushed.text
        # team-a's alert is silenced by team-a's silence; team-b's is not, and is notified.
        (first,) = hook.wait_for(1)
        assert first["groupKey"] == 'team-b/{}:{alertname="TenantErrors"}'
        assert [a["labels"]["service"] for a in first["alerts"]] == ["api"]

        def listed(tenant: str) -> list[dict[str, Any]]:
            return http.get("/api/v2/alerts", headers=as_tenant(tenant)).json()

        a_alerts = wait_until(lambda: listed("team-a"), what="team-a's alert")
        b_alerts = listed("team-b")
        assert [a["status"]["silencedBy"] for a in a_alerts] == [[silence_id]]
        assert [a["status"]["state"] for a in b_alerts] == ["active"]
        assert a_alerts[0]["fingerprint"] == b_alerts[0]["fingerprint"]  # same labels
        assert listed("default") == []
        both = http.get("/api/v2/alerts", headers=as_tenant("team-a|team-b")).json()
        assert len(both) == 2

        groups = http.get("/api/v2/alerts/groups", headers=as_tenant("team-b")).json()
        assert [len(g["alerts"]) for g in groups] == [1]

        assert http.get("/api/v2/silences", headers=as_tenant("team-b")).json() == []
        assert (
            http.get(f"/api/v2/silence/{silence_id}", headers=as_tenant("team-b")).status_code
            == 404
        )
        assert (
            http.delete(f"/api/v2/silence/{silence_id}", headers=as_tenant("team-b")).status_code
            == 404
        )
        hijack = http.post(
            "/api/v2/silences", json={**silence, "id": silence_id}, headers=as_tenant("team-b")
        )
        assert hijack.status_code == 404
        assert [
            s["id"] for s in http.get("/api/v2/silences", headers=as_tenant("team-a")).json()
        ] == [silence_id]
        # Expiring it as team-a releases team-a's alert in its own group.
        assert (
            http.delete(f"/api/v2/silence/{silence_id}", headers=as_tenant("team-a")).status_code
            == 200
        )
        second = hook.wait_for(2)[1]
        assert second["groupKey"] == 'team-a/{}:{alertname="TenantErrors"}'


def test_federated_group_needs_a_token_bound_to_its_source_tenants(tmp_path: Path) -> None:
    """POSTing a group with source_tenants is refused (403) unless the token covers them all."""
    from fastapi.testclient import TestClient

    from flightlog.config import parse_config
    from flightlog.server import create_app

    tokens = [
        {"token": "ops-writer", "tenant": "ops", "role": "write"},
        {"token": "fleet-writer", "tenant": "*", "role": "write"},
        {"token": "ops-reader", "tenant": "ops", "role": "read"},
    ]
    config = parse_config({"auth": {"tokens": tokens}}, data_dir=tmp_path / "data")
    group = (
        "name: fleet\nsource_tenants: [team-a, team-b]\nrules:\n"
        '  - alert: FleetErrors\n    expr: sum(count_over_time({app="x"}[5m])) > 0\n'
    )
    with TestClient(create_app(config)) as http:

        def post(token: str) -> Any:
            return http.post(
                "/loki/api/v1/rules/ns",
                content=group,
                headers={"X-Scope-OrgID": "ops", "Authorization": f"Bearer {token}"},
            )

        refused = post("ops-writer")
        assert refused.status_code == 403 and "team-a" in refused.json()["error"]
        assert post("fleet-writer").status_code == 202
        listed = http.get(
            "/loki/api/v1/rules/ns/fleet",
            headers={"X-Scope-OrgID": "ops", "Authorization": "Bearer ops-reader"},
        )
        assert "source_tenants:" in listed.text and "- team-b" in listed.text
