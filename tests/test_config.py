"""flightlog.yaml: defaults, conversion to frozen values, and errors that name key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from flightlog.config import Config, Role, load_config, parse_config, parse_duration_secs
from flightlog.errors import ConfigError
from flightlog.model import LabelMatcher, MatchOp


def test_zero_config_gives_the_defaults():
    config = load_config(None)
    assert (config.server.host, config.server.port) == ("127.0.0.1", 3100)
    assert config.data_dir == Path("flightlog-data")
    assert not config.auth.enabled
    assert config.store.fsync is True


def test_full_file_is_converted_to_frozen_values(tmp_path):
    path = tmp_path / "flightlog.yaml"
    path.write_text(
        """
data_dir: /var/lib/flightlog
server: {host: 0.0.0.0, port: 3200, maintenance_interval_secs: 1m}
store:
  max_segment_bytes: 1048576
  retention_period_secs: 30d
  retention_rules:
    - {selector: '{level="debug"}', period_secs: 7d}
    - {selector: '{stream=~"audit.*"}', period_secs: 365d, tenant: team-a}
limits:
  defaults: {max_line_bytes: 1000}
  tenants:
    team-a: {max_streams_per_tenant: 5}
auth:
  tokens:
    - {token: s3cret-token, tenant: team-a, role: write}
rules: {anything: [1, 2]}
"""
    )
    config = load_config(path)
    assert config.server.port == 3200 and config.server.maintenance_interval_secs == 60
    assert config.store.data_dir == Path("/var/lib/flightlog")
    assert config.store.retention_period_secs == 30 * 86400
    first, second = config.store.retention_rules
    assert first.matchers == (LabelMatcher("level", MatchOp.EQ, "debug"),)
    assert (second.period_secs, second.tenant) == (365 * 86400, "team-a")
    assert config.limits.for_tenant("team-a").max_streams_per_tenant == 5
    assert config.limits.for_tenant("team-a").max_line_bytes == 1000, (
        "overrides start from the defaults"
    )
    assert config.limits.for_tenant("other").max_streams_per_tenant == 10_000
    assert config.auth.find("s3cret-token").role is Role.WRITE
    assert config.section("rules") == {"anything": [1, 2]}
    assert config.section("alerting") is None


def test_data_dir_option_overrides_the_file(tmp_path):
    config = parse_config({"data_dir": "/elsewhere"}, data_dir=tmp_path)
    assert config.data_dir == tmp_path == config.store.data_dir


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"server": {"port": "http"}}, "server.port = 'http'"),
        ({"server": {"port": 70000}}, "server.port = 70000"),
        ({"limits": {"defaults": {"max_line_bytes": -5}}}, "limits.defaults.max_line_bytes = -5"),
        (
            {"limits": {"tenants": {"a": {"max_line_bytes": 0}}}},
            "limits.tenants.a.max_line_bytes = 0",
        ),
        (
            {"limits": {"tenants": {"a": {"max_lines": 3}}}},
            "unknown key 'limits.tenants.a.max_lines' (value 3)",
        ),
        ({"retension": {"days": 7}}, "unknown key 'retension' (value {'days': 7})"),
        ({"store": {"retention_period_secs": "7 days"}}, "store.retention_period_secs = '7 days'"),
        (
            {"store": {"retention_rules": [{"selector": "level=debug", "period_secs": 5}]}},
            "store.retention_rules.0.selector = 'level=debug'",
        ),
        (
            {"auth": {"tokens": [{"token": "long-enough", "tenant": "a", "role": "root"}]}},
            "auth.tokens.0.role = 'root'",
        ),
        (
            {"auth": {"tokens": [{"token": "short", "tenant": "a", "role": "read"}]}},
            "auth.tokens.0.token = 'short'",
        ),
        ({"store": {"max_segment_bytes": 10}}, "store.max_segment_bytes = 10"),
        ([1, 2], "top level must be a mapping"),
    ],
)
def test_errors_name_the_key_and_the_value(document, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(document, source="flightlog.yaml")
    message = str(caught.value)
    assert message.startswith("flightlog.yaml: ")
    assert expected in message
    assert "\n" not in message


def test_unreadable_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), ("90s", 90.0), ("1h30m", 5400.0), ("7d", 604800.0), ("500ms", 0.5), (0.25, 0.25)],
)
def test_durations(text, seconds):
    assert parse_duration_secs(text) == seconds


@pytest.mark.parametrize("text", ["", "7 days", "-5s", 0, True, "1x"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration_secs(text)


def test_section_names_must_be_registered():
    with pytest.raises(KeyError):
        Config().section("nope")
