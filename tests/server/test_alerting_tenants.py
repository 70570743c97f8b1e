"""Per-tenant Alertmanager configurations through a real `flightlog serve`.

Each tenant named in ``alerting.tenants`` (or set through ``POST /api/v1/alerts``) is
routed, grouped and inhibited by its own tree and sent to its own receivers; every other
tenant falls back to the default tree. Receivers are real HTTP servers; every wait is a
bounded wait on a condition.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from flightlog.notify.testing import RecordingReceiver

from .waiting import wait_until

TIMERS = {"group_wait": "100ms", "group_interval": "300ms", "repeat_interval": "1h"}
SECRET = "s3cr3t-token"


def tree(receiver: RecordingReceiver, name: str, **extra: Any) -> dict[str, Any]:
    """An alertmanager.yml that sends every alert, grouped by alertname, to ``receiver``."""
    return {
        "route": {"receiver": name, "group_by": ["alertname"], **TIMERS},
        "receivers": [{"name": name, "webhook_configs": [{"url": receiver.url}]}],
        **extra,
    }


INHIBIT_WARNINGS = {
    "inhibit_rules": [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["alertname"],
        }
    ]
}


@pytest.fixture
def hooks() -> Iterator[dict[str, RecordingReceiver]]:
    with (
        RecordingReceiver() as fallback,
        RecordingReceiver() as a,
        RecordingReceiver() as b,
        RecordingReceiver() as x,
    ):
        yield {"fallback": fallback, "team-a": a, "team-b": b, "team-x": x}


@pytest.fixture
def server(
    flightlog_server_factory: Callable[..., Any], hooks: dict[str, RecordingReceiver]
) -> Any:
    alerting = tree(hooks["fallback"], "fallback")
    alerting["tenants"] = {
        # Both tenants name their receiver "pager": the names must not collide.
        "team-a": tree(hooks["team-a"], "pager", **INHIBIT_WARNINGS),
        "team-b": tree(hooks["team-b"], "pager"),
    }
    return flightlog_server_factory({"alerting": alerting})


def as_tenant(tenant: str) -> dict[str, str]:
    return {"X-Scope-OrgID": tenant}


def post_alerts(http: httpx.Client, tenant: str, *labels: dict[str, str]) -> None:
    alerts = [{"labels": item, "annotations": {"summary": "x"}} for item in labels]
    response = http.post("/api/v2/alerts", json=alerts, headers=as_tenant(tenant))
    assert response.status_code == 200, response.text


def names(body: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (a["labels"]["alertname"], a["labels"].get("severity", "")) for a in body["alerts"]
    )


@pytest.mark.slow
def test_each_tenant_is_sent_to_its_own_receivers(
    server: Any, hooks: dict[str, RecordingReceiver]
) -> None:
    """team-a's and team-b's alerts reach only their own tree's receiver; team-c, which has
    no tree of its own, reaches the default tree's."""
    with server.client() as http:
        for tenant in ("team-a", "team-b", "team-c"):
            post_alerts(http, tenant, {"alertname": "Down", "tenant_was": tenant})
        (a,) = hooks["team-a"].wait_for(1)
        (b,) = hooks["team-b"].wait_for(1)
        (c,) = hooks["fallback"].wait_for(1)
    assert a["receiver"] == "pager" and a["groupKey"] == 'team-a/{}:{alertname="Down"}'
    assert [x["labels"]["tenant_was"] for x in a["alerts"]] == ["team-a"]
    assert b["receiver"] == "pager" and b["groupKey"] == 'team-b/{}:{alertname="Down"}'
    assert [x["labels"]["tenant_was"] for x in b["alerts"]] == ["team-b"]
    assert c["receiver"] == "fallback" and c["groupKey"] == 'team-c/{}:{alertname="Down"}'
    assert [x["labels"]["tenant_was"] for x in c["alerts"]] == ["team-c"]
    # Nothing else arrived anywhere while the three were delivered.
    assert [len(h.bodies) for h in hooks.values()] == [1, 1, 1, 0]


@pytest.mark.slow
def test_grouping_does_not_cross_tenants_on_the_default_tree(
    server: Any, hooks: dict[str, RecordingReceiver]
) -> None:
    """Two tenants on the default tree posting the same alertname get two groups, not one."""
    with server.client() as http:
        post_alerts(http, "team-c", {"alertname": "Same", "n": "1"})
        post_alerts(http, "team-d", {"alertname": "Same", "n": "2"})
        bodies = hooks["fallback"].wait_for(2)
    keys = sorted(body["groupKey"] for body in bodies)
    assert keys == ['team-c/{}:{alertname="Same"}', 'team-d/{}:{alertname="Same"}']
    assert all(len(body["alerts"]) == 1 for body in bodies)


@pytest.mark.slow
def test_inhibition_follows_the_tenants_own_rules_and_alerts(
    server: Any, hooks: dict[str, RecordingReceiver]
) -> None:
    """team-a's inhibit rule mutes team-a's warning under team-a's critical alert only:
    team-b's critical alert does not mute team-a's warning, and team-b (no inhibit rules)
    is sent both of its own."""
    with server.client() as http:
        post_alerts(http, "team-b", {"alertname": "Cross", "severity": "critical"})
        post_alerts(http, "team-a", {"alertname": "Cross", "severity": "warning"})
        post_alerts(
            http,
            "team-a",
            {"alertname": "Own", "severity": "critical"},
            {"alertname": "Own", "severity": "warning"},
        )
        post_alerts(
            http,
            "team-b",
            {"alertname": "Both", "severity": "critical"},
            {"alertname": "Both", "severity": "warning"},
        )
        a_bodies = hooks["team-a"].wait_for(2)
        b_bodies = hooks["team-b"].wait_for(2)
        a_alerts = http.get("/api/v2/alerts", headers=as_tenant("team-a")).json()
    assert sorted(names(body) for body in a_bodies) == [
        [("Cross", "warning")],
        [("Own", "critical")],
    ]
    assert sorted(names(body) for body in b_bodies) == [
        [("Both", "critical"), ("Both", "warning")],
        [("Cross", "critical")],
    ]
    states = {(x["labels"]["alertname"], x["labels"]["severity"]): x["status"] for x in a_alerts}
    assert states[("Cross", "warning")]["state"] == "active"
    assert states[("Own", "warning")]["state"] == "suppressed"
    assert len(states[("Own", "warning")]["inhibitedBy"]) == 1


def series(http: httpx.Client, name: str, *keys: str) -> dict[tuple[str, ...], float]:
    """The samples ``name`` on the server's /metrics summed by ``keys`` (``sum by``)."""
    totals: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name:
                key = tuple(sample.labels.get(label, "") for label in keys)
                totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def wait_for_deliveries(http: httpx.Client, count: int) -> None:
    """Wait until ``count`` notifications were delivered and counted (latency is observed
    last, after the receiver answered)."""
    wait_until(
        lambda: sum(series(http, "flightlog_notification_latency_seconds_count").values()) >= count,
        what=f"{count} delivered notifications on /metrics",
    )


@pytest.mark.slow
def test_notification_metrics_keep_same_named_receivers_of_tenants_apart(
    server: Any, hooks: dict[str, RecordingReceiver]
) -> None:
    """team-a's and team-b's receivers are both named "pager": each tenant's series
    counts exactly its own notification."""
    with server.client() as http:
        post_alerts(http, "team-a", {"alertname": "Down"})
        post_alerts(http, "team-b", {"alertname": "Down"})
        hooks["team-a"].wait_for(1)
        hooks["team-b"].wait_for(1)
        wait_for_deliveries(http, 2)
        sent = series(http, "flightlog_notifications_total", "tenant", "receiver", "integration")
        latency = series(http, "flightlog_notification_latency_seconds_count", "tenant")
    assert sent == {("team-a", "pager", "webhook"): 1, ("team-b", "pager", "webhook"): 1}
    assert latency == {("team-a",): 1, ("team-b",): 1}


@pytest.mark.slow
def test_notification_metrics_of_the_default_tree_name_the_alerts_tenant(
    server: Any, hooks: dict[str, RecordingReceiver]
) -> None:
    """Two tenants without a tree of their own share the default tree's receiver but not
    its series: each notification is counted under the tenant whose alert it carries."""
    with server.client() as http:
        post_alerts(http, "team-c", {"alertname": "Down"})
        post_alerts(http, "team-d", {"alertname": "Down"})
        hooks["fallback"].wait_for(2)
        wait_for_deliveries(http, 2)
        sent = series(http, "flightlog_notifications_total", "tenant", "receiver")
    assert sent == {("team-c", "fallback"): 1, ("team-d", "fallback"): 1}


def test_status_shows_the_tenants_own_tree_with_secrets_redacted(
    flightlog_server_factory: Callable[..., Any], hooks: dict[str, RecordingReceiver]
) -> None:
    """/api/v2/status shows the caller's tree, never another tenant's, and no secret."""
    alerting = tree(hooks["fallback"], "fallback")
    team_a = tree(hooks["team-a"], "pager")
    team_a["receivers"][0]["webhook_configs"][0]["url"] = f"http://127.0.0.1:1/{SECRET}"
    alerting["tenants"] = {"team-a": team_a}
    server = flightlog_server_factory({"alerting": alerting})
    with server.client() as http:
        mine = http.get("/api/v2/status", headers=as_tenant("team-a")).json()["config"]
        other = http.get("/api/v2/status", headers=as_tenant("team-z")).json()["config"]
    original = yaml.safe_load(mine["original"])
    assert original["route"]["receiver"] == "pager"
    assert original["receivers"][0]["webhook_configs"][0]["url"] == "<secret>"
    assert SECRET not in mine["original"]
    fallback = yaml.safe_load(other["original"])
    assert fallback["route"]["receiver"] == "fallback" and "tenants" not in fallback
    assert "pager" not in other["original"]


# --- startup checks -------------------------------------------------------------------------


def _serve(tmp_path: Path, alerting: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "flightlog.yaml"
    config.write_text(yaml.safe_dump({"alerting": alerting}))
    command = [sys.executable, "-m", "flightlog", "serve", "--config", str(config)]
    command += ["--port", "0", "--data-dir", str(tmp_path / "data")]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


GOOD = {"route": {"receiver": "r"}, "receivers": [{"name": "r"}]}
BAD_TENANT_CONFIGS: dict[str, tuple[Any, str]] = {
    "unknown receiver": (
        {"team-a": {"route": {"receiver": "nobody"}, "receivers": [{"name": "r"}]}},
        "alerting.tenants.team-a.route: receiver 'nobody' is not defined (receivers: r)",
    ),
    "unknown key": (
        {"team-a": {**GOOD, "rouets": []}},
        "alerting.tenants.team-a.rouets: unknown key",
    ),
    "empty": ({"team-a": None}, "alerting.tenants.team-a is empty"),
    "bad tenant ID": ({"team a": GOOD}, "alerting.tenants: 'team a' is not a tenant ID"),
    "default tenant": ({"default": GOOD}, "alerting.tenants.default: the 'default' tenant"),
    "not a mapping": ([GOOD], "alerting.tenants must map tenant IDs"),
    "secret in a bad integration": (
        {
            "team-a": {
                "route": {"receiver": "r"},
                "receivers": [
                    {
                        "name": "r",
                        "webhook_configs": [{"url": f"http://x/{SECRET}", "max_alerts": -1}],
                    }
                ],
            }
        },
        "alerting.tenants.team-a.receivers[r].webhook_configs[0].max_alerts",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_TENANT_CONFIGS))
def test_bad_tenant_config_is_a_startup_error_naming_its_key(tmp_path: Path, case: str) -> None:
    """A bad ``alerting.tenants`` entry stops the server before it listens, in one line
    that names the key (and never prints a secret)."""
    tenants, fragment = BAD_TENANT_CONFIGS[case]
    result = _serve(tmp_path, {**GOOD, "tenants": tenants})
    assert result.returncode != 0 and "listening" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0]
    assert SECRET not in result.stderr + result.stdout


# --- the config API (Mimir's /api/v1/alerts) ------------------------------------------------


def mimir_body(document: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {"template_files": {}, "alertmanager_config": yaml.safe_dump(document)}, sort_keys=False
    )


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str) and message
    return message


@pytest.mark.slow
def test_config_api_sets_routes_survives_restart_and_deletes(
    server: Any, hooks: dict[str, RecordingReceiver]
) -> None:
    """A tenant's POSTed config routes its alerts, GET shows it redacted, a restart keeps
    it, and DELETE puts the tenant (and its firing alerts) back on the default tree."""
    document = tree(hooks["team-x"], "x-pager")
    document["receivers"][0]["webhook_configs"][0]["url"] = f"{hooks['team-x'].url}/{SECRET}"
    with server.client(headers=as_tenant("team-x")) as http:
        error_of(http.get("/api/v1/alerts"), 404)
        assert http.post("/api/v1/alerts", content=mimir_body(document)).status_code == 201
        shown = yaml.safe_load(http.get("/api/v1/alerts").text)
        assert shown["template_files"] == {}
        inner = yaml.safe_load(shown["alertmanager_config"])
        assert inner["route"]["receiver"] == "x-pager"
        assert inner["receivers"][0]["webhook_configs"][0]["url"] == "<secret>"
        post_alerts(http, "team-x", {"alertname": "First"})
        (first,) = hooks["team-x"].wait_for(1)
        assert first["receiver"] == "x-pager"
    server.restart()
    with server.client(headers=as_tenant("team-x")) as http:
        assert yaml.safe_load(http.get("/api/v1/alerts").text)["alertmanager_config"]
        post_alerts(http, "team-x", {"alertname": "AfterRestart"})
        second = hooks["team-x"].wait_for(2)[1]
        assert [a["labels"]["alertname"] for a in second["alerts"]] == ["AfterRestart"]
        assert http.delete("/api/v1/alerts").status_code == 200
        error_of(http.get("/api/v1/alerts"), 404)
        post_alerts(http, "team-x", {"alertname": "AfterDelete"})
        # Its alerts still firing are regrouped under the default tree, the new one too.
        fallback = hooks["fallback"].wait_for(2)
    assert sorted(body["groupKey"] for body in fallback) == [
        'team-x/{}:{alertname="AfterDelete"}',
        'team-x/{}:{alertname="AfterRestart"}',
    ]
    assert SECRET not in server.output()


def test_config_api_refuses_bad_bodies_and_keeps_the_stored_config(
    server: Any, hooks: dict[str, RecordingReceiver]
) -> None:
    """Garbage, bad YAML, truncated, oversize, unknown-receiver and otherwise wrong bodies
    are refused with a JSON message that quotes no secret; the stored config stays."""
    good = tree(hooks["team-x"], "x-pager")
    secret_bad = tree(hooks["team-x"], "x-pager")
    secret_bad["route"]["receiver"] = "nobody"
    secret_bad["receivers"][0]["webhook_configs"][0]["url"] = f"http://x/{SECRET}"
    whole = mimir_body(good)
    bad_bodies: dict[str, tuple[bytes, int, str]] = {
        "not UTF-8": (b"\xff\xfe\x00garbage", 400, "UTF-8"),
        "garbage YAML": (b"route: [\n  : : {\n", 400, "not valid YAML at line"),
        "truncated": (whole[: len(whole) // 2].encode(), 400, "not valid YAML at line"),
        "empty": (b"", 400, "empty"),
        "oversize": (b"#" * ((1 << 20) + 1), 413, "the limit is"),
        "unknown receiver": (
            mimir_body(secret_bad).encode(),
            400,
            "alertmanager_config.route: receiver 'nobody' is not defined",
        ),
        "YAML error near a secret": (
            f"route:\n  receiver: r\n url: http://x/{SECRET}\n".encode(),
            400,
            "not valid YAML",
        ),
        "template files": (
            yaml.safe_dump({"alertmanager_config": "{}", "template_files": {"a": "b"}}).encode(),
            400,
            "template_files are not supported",
        ),
        "inner not a string": (
            yaml.safe_dump({"alertmanager_config": good}).encode(),
            400,
            "must be the alertmanager.yml as a string",
        ),
        "a list": (b"- 1\n- 2\n", 400, "must be an alertmanager.yml document"),
    }
    with server.client(headers=as_tenant("team-x")) as http:
        assert http.post("/api/v1/alerts", content=whole).status_code == 201
        stored = http.get("/api/v1/alerts").text
        for case, (body, status, fragment) in bad_bodies.items():
            message = error_of(http.post("/api/v1/alerts", content=body), status)
            assert fragment in message, (case, message)
            assert SECRET not in message, case
            assert http.get("/api/v1/alerts").text == stored, case
        # A body cut off in transit (the client goes away mid-upload) stores nothing either.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(
                b"POST /api/v1/alerts HTTP/1.1\r\nHost: x\r\nX-Scope-OrgID: team-x\r\n"
                b"Content-Length: 5000\r\n\r\n" + mimir_body(secret_bad).encode()[:100]
            )
        assert http.get("/api/v1/alerts").text == stored
        # The stored config still routes team-x.
        post_alerts(http, "team-x", {"alertname": "StillRouted"})
        (body,) = hooks["team-x"].wait_for(1)
        assert body["receiver"] == "x-pager"
    assert SECRET not in server.output()


def test_config_api_refuses_tenants_configured_in_the_file(server: Any) -> None:
    """team-a's tree is in flightlog.yaml (and default's is the top level): 409, unchanged."""
    body = mimir_body(GOOD)
    with server.client() as http:
        for tenant in ("team-a", "default"):
            before = http.get("/api/v1/alerts", headers=as_tenant(tenant))
            assert before.status_code == 200
            message = error_of(
                http.post("/api/v1/alerts", content=body, headers=as_tenant(tenant)), 409
            )
            assert "flightlog.yaml" in message
            error_of(http.delete("/api/v1/alerts", headers=as_tenant(tenant)), 409)
            assert http.get("/api/v1/alerts", headers=as_tenant(tenant)).text == before.text


def test_config_api_needs_the_admin_role(flightlog_server_factory: Callable[..., Any]) -> None:
    """A write token may post alerts but not read or change the tenant's configuration."""
    tokens = [
        {"token": "x-writer-token", "tenant": "team-x", "role": "write"},
        {"token": "x-admin-token", "tenant": "team-x", "role": "admin"},
    ]
    server = flightlog_server_factory({"auth": {"tokens": tokens}})
    body = mimir_body(GOOD)

    def headers(token: str) -> dict[str, str]:
        return {**as_tenant("team-x"), "Authorization": f"Bearer {token}"}

    with server.client() as http:
        for call in (
            lambda h: http.get("/api/v1/alerts", headers=h),
            lambda h: http.post("/api/v1/alerts", content=body, headers=h),
            lambda h: http.delete("/api/v1/alerts", headers=h),
        ):
            error_of(call(headers("x-writer-token")), 403)
        assert (
            http.post("/api/v1/alerts", content=body, headers=headers("x-admin-token")).status_code
            == 201
        )
        assert http.get("/api/v1/alerts", headers=headers("x-admin-token")).status_code == 200
