"""``flightlog serve`` refuses a bad extension section with one line, before it binds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flightlog.config import load_config
from flightlog.errors import ConfigError
from flightlog.server.preflight import CHECKED_SECTIONS, check_config

BAD_RULE_FILE = """\
groups:
  - name: g
    rules:
      - alert: A
        expr: sum(rate({a="b"}[5m]) >
"""

# section → (config text, a fragment the one line must contain)
BAD_SECTIONS: dict[str, tuple[str, str]] = {
    "rules": ("rules:\n  watchdog:\n    interval: soon\n", "rules: duration 'soon'"),
    "rules-file": ("rules:\n  files: [bad-rules.yaml]\n", "bad-rules.yaml:5:"),
    "alerting": ("alerting:\n  route: 5\n", "alerting.route"),
    "slos": ("slos:\n  - name: x\n    service: s\n    objective: lots\n", "slos.0.objective"),
    "query_limits": (
        "query_limits:\n  defaults:\n    max_series: many\n",
        "query_limits.defaults.max_series",
    ),
    "monitor": ("monitor:\n  drift_checks: 3\n", "monitor.drift_checks"),
    "pipeline": ("pipeline:\n  - regex:\n      expression: '('\n", "pipeline[0].regex"),
    "syslog": ("syslog:\n  tcp_port: 99999\n", "syslog.tcp_port = 99999"),
}


def _serve(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "flightlog.yaml"
    config.write_text(text)
    (tmp_path / "bad-rules.yaml").write_text(BAD_RULE_FILE)
    data_dir = str(tmp_path / "data")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "flightlog",
            "serve",
            "--config",
            str(config),
            "--port",
            "0",
            "--data-dir",
            data_dir,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "listening" not in result.stdout, "it must refuse before binding"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("case", sorted(BAD_SECTIONS))
def test_bad_section_is_one_line_naming_it(tmp_path, case):
    text, fragment = BAD_SECTIONS[case]
    line = _one_line(_serve(tmp_path, text))
    assert fragment in line
    assert str(tmp_path / "flightlog.yaml") in line
    assert not (tmp_path / "data").exists(), "the store must not be opened"


def test_garbage_yaml_is_one_line(tmp_path):
    line = _one_line(_serve(tmp_path, "rules: [\n  : : {\x00\n"))
    assert "YAML" in line


def test_not_utf8_is_one_line(tmp_path):
    config = tmp_path / "flightlog.yaml"
    config.write_bytes(b"slos:\n  - name: \xff\xfe\n")
    result = subprocess.run(
        [sys.executable, "-m", "flightlog", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "UTF-8" in _one_line(result)


def test_truncated_file_is_one_line(tmp_path):
    whole = "slos:\n  - name: api\n    service: api\n    objective: 99.9\n"
    _one_line(_serve(tmp_path, whole[: whole.index("objective") + 4]))


def test_every_section_a_startup_hook_reads_is_checked():
    assert set(CHECKED_SECTIONS) == {
        "pipeline",
        "syslog",
        "query_limits",
        "rules",
        "alerting",
        "slos",
        "monitor",
    }


def test_good_config_passes(tmp_path):
    config = tmp_path / "flightlog.yaml"
    config.write_text(
        "slos:\n  - name: api\n    service: api\n    objective: 99.9\n"
        '    sli:\n      bad: \'sum(count_over_time({app="api"} |= "error" [{{.window}}]))\'\n'
        "      total: 'sum(count_over_time({app=\"api\"}[{{.window}}]))'\n"
        "monitor:\n  drift_checks: []\npipeline:\n  - json: {}\n"
    )
    check_config(load_config(config))


@pytest.mark.parametrize("case", sorted(BAD_SECTIONS))
def test_check_config_raises_config_error(tmp_path, case):
    config = tmp_path / "flightlog.yaml"
    config.write_text(BAD_SECTIONS[case][0])
    (tmp_path / "bad-rules.yaml").write_text(BAD_RULE_FILE)
    with pytest.raises(ConfigError, match=r"flightlog\.yaml: "):
        check_config(load_config(config))


def test_startup_hook_flightlog_error_is_reported_without_traceback(tmp_path):
    """A hook's ``FlightlogError`` reaches the ASGI server as a failure with no text."""
    import anyio

    from flightlog.cli.serve import _QuietStartupFailure
    from flightlog.config import parse_config
    from flightlog.server import create_app

    def broken_hook(services):
        raise ConfigError("rules: the state db is from a newer flightlog")

    app = create_app(
        parse_config({}, source="test", data_dir=tmp_path / "data"),
        startup_hooks=[broken_hook],
        route_modules=("health",),
    )
    sent: list[dict] = []

    async def receive():
        return {"type": "lifespan.startup"}

    async def send(message):
        sent.append(message)

    async def drive():
        with pytest.raises(ConfigError):
            await _QuietStartupFailure(app)({"type": "lifespan", "state": {}}, receive, send)

    anyio.run(drive)
    assert sent == [{"type": "lifespan.startup.failed", "message": ""}]
    assert str(app.state.startup_error) == "rules: the state db is from a newer flightlog"
