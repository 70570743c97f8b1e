"""`flightlog rules check|init` and `flightlog slo export` from the command line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flightlog.cli.app import app

runner = CliRunner()


def test_init_writes_a_file_that_checks(tmp_path: Path) -> None:
    """The starter file passes `rules check` and covers the issue's ML failure modes."""
    path = tmp_path / "rules.yaml"
    assert runner.invoke(app, ["rules", "init", str(path)]).exit_code == 0
    text = path.read_text()
    for needle in (
        "CUDA out of memory",
        "NCCL",
        "TrainingJobSilent",
        "AuthenticationFailures",
        "ConnectionRefused",
    ):
        assert needle.lower() in text.lower()
    severities = {
        r["labels"]["severity"]
        for g in yaml.safe_load(text)["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    assert severities == {"critical", "high", "medium"}
    checked = runner.invoke(app, ["rules", "check", str(path)])
    assert checked.exit_code == 0 and "ok (4 groups" in checked.output


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    """An existing file is kept unless --force."""
    path = tmp_path / "rules.yaml"
    path.write_text("mine")
    result = runner.invoke(app, ["rules", "init", str(path)])
    assert result.exit_code == 1 and "--force" in result.output and path.read_text() == "mine"


def test_check_reports_every_bad_file_and_exits_1(tmp_path: Path) -> None:
    """Bad files give one line each with file:line:col, group and rule; good files still say ok."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate({a="b"}[5m]\n'
    )
    good = tmp_path / "good.yaml"
    good.write_text("groups: []\n")
    result = runner.invoke(
        app, ["rules", "check", str(bad), str(good), str(tmp_path / "missing.yaml")]
    )
    assert result.exit_code == 1
    assert f"{bad}:5:" in result.output and 'group "g", rule "A"' in result.output
    assert "good.yaml: ok" in result.output and "cannot read rule file" in result.output
    assert "Traceback" not in result.output


SLO_CONFIG = {
    "slos": [
        {
            "name": "api-availability",
            "service": "api",
            "objective": 99.5,
            "window": "28d",
            "sli": {
                "good": 'sum(count_over_time({service="api"} |= "status=2" [{{.window}}]))',
                "total": 'sum(count_over_time({service="api"} [{{.window}}]))',
            },
        }
    ]
}


def test_slo_export_prometheus_passes_promtool(tmp_path: Path) -> None:
    """`slo export` prints rules that promtool accepts."""
    config = tmp_path / "flightlog.yaml"
    config.write_text(yaml.safe_dump(SLO_CONFIG))
    result = runner.invoke(app, ["slo", "export", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert (
        "slo:sli_error:ratio_rate1h" in result.output and "0.072" in result.output
    )  # 14.4 * 0.005
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package `prometheus`)")
    rules = tmp_path / "slo.yml"
    rules.write_text(result.output)
    done = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_slo_export_errors_are_one_line(tmp_path: Path) -> None:
    """A missing file, no SLOs, or a bad format give exit != 0 and one line."""
    assert (
        runner.invoke(app, ["slo", "export", "--config", str(tmp_path / "nope.yaml")]).exit_code
        == 1
    )
    empty = tmp_path / "empty.yaml"
    empty.write_text("data_dir: x\n")
    result = runner.invoke(app, ["slo", "export", "--config", str(empty)])
    assert result.exit_code == 1 and "declares no SLOs" in result.output
    assert (
        runner.invoke(app, ["slo", "export", "--config", str(empty), "--format", "xml"]).exit_code
        == 2
    )


def test_check_config_validates_alerting_sections(tmp_path: Path) -> None:
    """--config checks rule files, SLOs and the alerting section, with warnings for unsupported keys."""
    (tmp_path / "r.yaml").write_text("groups: []\n")
    good = {
        "rules": {"files": ["r.yaml"]},
        **SLO_CONFIG,
        "alerting": {
            "templates": ["x.tmpl"],
            "route": {"receiver": "a"},
            "receivers": [{"name": "a"}],
        },
    }
    config = tmp_path / "flightlog.yaml"
    config.write_text(yaml.safe_dump(good))
    result = runner.invoke(app, ["rules", "check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "1 SLOs, 1 receivers" in result.output and "warning: alerting.templates" in result.output
    good["alerting"]["route"]["receiver"] = "missing"
    config.write_text(yaml.safe_dump(good))
    result = runner.invoke(app, ["rules", "check", "--config", str(config)])
    assert result.exit_code == 1 and "receiver 'missing' is not defined" in result.output
    assert runner.invoke(app, ["rules", "check"]).exit_code == 2
