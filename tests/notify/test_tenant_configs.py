"""Per-tenant Alertmanager trees: loading ``alerting.tenants``, routing and repeat timers
per tenant in the dispatcher, the API's stored configs and secret redaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flightlog.errors import ConfigError
from flightlog.notify.config import load_alerting_config
from flightlog.notify.dispatcher import Dispatcher, Notification
from flightlog.notify.nflog import NotificationLog
from flightlog.notify.redact import redact_secrets
from flightlog.notify.silences import SilenceStore
from flightlog.notify.tenant_configs import TenantConfigStore, parse_tenant_config
from flightlog.rules.alert import Alert


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tree(receiver: str, repeat: str = "4h") -> dict[str, Any]:
    return {
        "route": {
            "receiver": receiver,
            "group_by": ["alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": repeat,
        },
        "receivers": [
            {"name": receiver, "webhook_configs": [{"url": f"http://127.0.0.1:1/{receiver}"}]}
        ],
    }


SECTION = {
    **tree("fallback"),
    "tenants": {"team-a": tree("pager", repeat="1h"), "team-b": tree("pager", repeat="8h")},
}


def make(tmp_path: Path, clock: Clock, section: dict[str, Any] = SECTION) -> Dispatcher:
    return Dispatcher(
        load_alerting_config(section),
        NotificationLog(tmp_path / "n.db"),
        SilenceStore(tmp_path / "n.db", clock=clock),
        clock=clock,
    )


def firing(clock: Clock, tenant: str, **labels: str) -> Alert:
    return Alert(
        labels={"alertname": "A", **labels},
        starts_at=clock.now,
        ends_at=clock.now + 100_000,
        tenant=tenant,
    )


def flush(dispatcher: Dispatcher) -> list[Notification]:
    out = dispatcher.tick()
    for n in out:
        dispatcher.delivered(n, ok=True)
    return out


def by_tenant(notifications: list[Notification]) -> dict[str, str]:
    return {n.tenant: n.integration.key for n in notifications}


def test_a_tenant_without_a_tree_uses_the_default() -> None:
    """``for_tenant`` gives a tenant's own tree, and the default one to everybody else."""
    config = load_alerting_config(SECTION)
    assert config.for_tenant("team-a").route.receiver == "pager"
    assert config.for_tenant("team-a").route.repeat_interval_s == 3600
    assert config.for_tenant("team-z") is config
    assert config.route.receiver == "fallback"


def test_tenant_integrations_are_keyed_under_the_tenant() -> None:
    """Two tenants' receivers of the same name keep apart in the log and delivery queues."""
    config = load_alerting_config(SECTION)
    keys = [
        config.for_tenant(t).receivers["pager"].integrations[0].key for t in ("team-a", "team-b")
    ]
    assert keys == ["team-a/pager/webhook/0", "team-b/pager/webhook/0"]
    assert config.receivers["fallback"].integrations[0].key == "fallback/webhook/0"


def test_tenant_warnings_name_the_tenant() -> None:
    """A key flightlog ignores in a tenant's tree is reported under its tenant's path."""
    section = {"tenants": {"team-a": {**tree("r"), "templates": ["x.tmpl"]}}}
    warnings = load_alerting_config(section).warnings
    assert "alerting.tenants.team-a.templates is not supported by flightlog and is ignored" in (
        warnings
    )


def test_each_tenant_is_routed_and_repeated_by_its_own_tree(tmp_path: Path) -> None:
    """Same labels in three tenants: three groups, each sent to its own tree's receiver and
    repeated after its own tree's repeat_interval."""
    clock = Clock()
    dispatcher = make(tmp_path, clock)
    dispatcher.put([firing(clock, t) for t in ("team-a", "team-b", "team-c")])
    clock.now += 30
    assert by_tenant(flush(dispatcher)) == {
        "team-a": "team-a/pager/webhook/0",
        "team-b": "team-b/pager/webhook/0",
        "team-c": "fallback/webhook/0",
    }
    clock.now += 3600  # team-a's repeat_interval (1h) passed; team-b's 8h and the default 4h not
    assert by_tenant(flush(dispatcher)) == {"team-a": "team-a/pager/webhook/0"}
    clock.now += 3 * 3600
    assert set(by_tenant(flush(dispatcher))) == {"team-a", "team-c"}


def test_setting_a_tenant_config_regroups_only_that_tenant(tmp_path: Path) -> None:
    """A config set at runtime moves the tenant's alerts to its new tree; others stay."""
    clock = Clock()
    dispatcher = make(tmp_path, clock)
    dispatcher.put([firing(clock, "team-c"), firing(clock, "team-d")])
    clock.now += 30
    flush(dispatcher)
    dispatcher.set_tenant_config("team-c", parse_tenant_config(_yaml(tree("own")), "team-c"))
    assert {(key.split("/")[0], receiver) for key, receiver, _, _ in dispatcher.groups()} == {
        ("team-c", "own"),
        ("team-d", "fallback"),
    }
    clock.now += 30
    assert by_tenant(flush(dispatcher)) == {"team-c": "team-c/own/webhook/0"}
    dispatcher.set_tenant_config("team-c", None)
    assert dispatcher.config_for("team-c") is dispatcher.config


def _yaml(document: Any) -> str:
    import yaml

    return yaml.safe_dump(document)


def test_parse_tenant_config_takes_mimirs_shape_and_a_bare_file() -> None:
    """``alertmanager_config: |`` (what mimirtool sends) and a bare alertmanager.yml load alike."""
    bare = _yaml(tree("r"))
    mimir = _yaml({"template_files": {}, "alertmanager_config": bare})
    for text in (bare, mimir):
        config = parse_tenant_config(text, "team-x")
        assert config.route.receiver == "r"
        assert config.receivers["r"].integrations[0].tenant == "team-x"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("route: [\n  : : {\n", "the body is not valid YAML at line"),
        ("alertmanager_config: 'route: ['\n", "alertmanager_config is not valid YAML"),
        ("alertmanager_config: |\n  route: {receiver: x}\n", "receiver 'x' is not defined"),
        ("alertmanager_config: ''\nextra: 1\n", "unknown key 'extra'"),
        ("7\n", "must be an alertmanager.yml document"),
        ("{}\n", "alertmanager_config is empty"),
    ],
)
def test_parse_tenant_config_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_tenant_config(text, "team-x")
    assert fragment in str(caught.value)


def test_stored_configs_survive_reopening(tmp_path: Path) -> None:
    """What the API stored is there after a restart; delete says whether there was one."""
    store = TenantConfigStore(tmp_path / "n.db")
    store.put("team-x", "route: {}\n", 1.0)
    store.close()
    store = TenantConfigStore(tmp_path / "n.db")
    assert store.all() == {"team-x": "route: {}\n"}
    assert store.delete("team-x") is True and store.delete("team-x") is False
    assert store.get("team-x") is None
    store.close()


@pytest.mark.parametrize(
    ("document", "redacted"),
    [
        (
            {"global": {"slack_api_url": "https://hooks/T0", "smtp_from": "a@b"}},
            {"global": {"slack_api_url": "<secret>", "smtp_from": "a@b"}},
        ),
        (
            {"webhook_configs": [{"url": "http://t0k3n", "url_file": "/run/url"}]},
            {"webhook_configs": [{"url": "<secret>", "url_file": "/run/url"}]},
        ),
        (
            {"pagerduty_configs": [{"routing_key": "k", "url": "https://events.pd"}]},
            {"pagerduty_configs": [{"routing_key": "<secret>", "url": "https://events.pd"}]},
        ),
        (
            {"email_configs": [{"auth_password": "p", "to": "x@y"}]},
            {"email_configs": [{"auth_password": "<secret>", "to": "x@y"}]},
        ),
        (
            {"http_config": {"basic_auth": {"username": "u", "password": "p"}}},
            {"http_config": {"basic_auth": {"username": "u", "password": "<secret>"}}},
        ),
        ({"route": {"receiver": "r", "routes": [{"receiver": "s"}]}}, None),
    ],
)
def test_redact_secrets_replaces_what_alertmanager_hides(
    document: dict[str, Any], redacted: dict[str, Any] | None
) -> None:
    assert redact_secrets(document) == (document if redacted is None else redacted)


def test_redacted_source_keeps_the_loaded_config_intact() -> None:
    """Redaction copies: the running tree keeps its real URL."""
    config = load_alerting_config(SECTION).for_tenant("team-a")
    shown = redact_secrets(config.source)
    assert shown["receivers"][0]["webhook_configs"][0]["url"] == "<secret>"
    assert config.receivers["pager"].integrations[0].options["url"].startswith("http://")
