"""`flightlog monitor export-rules | export-dashboard`: files that promtool and Grafana accept."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from flightlog.cli.app import app

runner = CliRunner()
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)


def _promtool(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *arguments], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
@pytest.mark.parametrize(
    "models",
    [[], ["churn"], ["churn", "fraud-v.2"]],
    ids=["all-models", "one-model", "two-models"],
)
def test_exported_rules_pass_promtool_check(tmp_path: Path, models: list[str]) -> None:
    """The rule file written by the command passes `promtool check rules`."""
    flags = [part for name in models for part in ("--model", name)]
    target = tmp_path / "rules.yml"
    result = runner.invoke(app, ["monitor", "export-rules", *flags, "--output-file", str(target)])
    assert result.exit_code == 0, result.output
    checked = _promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 8 rules found" in checked.stdout


def _series(model: str) -> list[dict[str, str]]:
    """A model failing 5 % of its predictions for 80 minutes."""
    return [
        {
            "series": f'ml_model_predictions_total{{model="{model}",version="1",status="ok"}}',
            "values": "0+95x80",
        },
        {
            "series": f'ml_model_predictions_total{{model="{model}",version="1",status="error"}}',
            "values": "0+5x80",
        },
        {"series": f'ml_data_drift_score{{model="{model}",feature="age"}}', "values": "0.3x80"},
    ]


@needs_promtool
def test_model_filter_and_thresholds_decide_which_alerts_fire(tmp_path: Path) -> None:
    """--model churn alerts on churn only; --error-ratio and --drift-psi set the levels."""
    result = runner.invoke(
        app,
        [
            "monitor",
            "export-rules",
            "--model",
            "churn",
            "--error-ratio",
            "0.02",
            "--drift-psi",
            "0.5",
        ],
    )
    assert result.exit_code == 0, result.output
    (tmp_path / "rules.yml").write_text(result.stdout)
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _series("churn") + _series("other"),
                "alert_rule_test": [
                    {
                        "eval_time": "70m",
                        "alertname": "ModelErrorRatioHigh",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "model": "churn",
                                    "version": "1",
                                    "severity": "critical",
                                },
                                "exp_annotations": {
                                    "summary": "churn v1 fails 5% of predictions",
                                    "description": "More than 2.00% of predictions ended "
                                    "with status=error over 5m.",
                                },
                            }
                        ],
                    },
                    # PSI 0.3 is below --drift-psi 0.5: no drift alert for either model.
                    {"eval_time": "70m", "alertname": "ModelFeatureDrift", "exp_alerts": []},
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    checked = _promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_bad_threshold_is_one_line_and_exit_two() -> None:
    """An error ratio outside (0, 1) is refused with one error line."""
    result = runner.invoke(app, ["monitor", "export-rules", "--error-ratio", "2"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: error_ratio=2.0: must be a ratio in (0, 1)"


def test_dashboard_is_json_limited_to_the_models(tmp_path: Path) -> None:
    """export-dashboard writes Grafana JSON whose model variable lists only --model names."""
    target = tmp_path / "dashboard.json"
    result = runner.invoke(
        app,
        ["monitor", "export-dashboard", "--model", "churn", "--title", "Churn", "-o", str(target)],
    )
    assert result.exit_code == 0, result.output
    dashboard = orjson.loads(target.read_bytes())
    assert dashboard["title"] == "Churn" and dashboard["schemaVersion"] == 39
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["model"]["definition"] == (
        'label_values(ml_model_predictions_total{model="churn"}, model)'
    )
    assert len(dashboard["panels"]) == 6


def test_dashboard_to_stdout_covers_every_model() -> None:
    """Without --model the model variable reads every model's series."""
    result = runner.invoke(app, ["monitor", "export-dashboard"])
    assert result.exit_code == 0, result.output
    variables = {v["name"]: v for v in orjson.loads(result.stdout)["templating"]["list"]}
    assert variables["model"]["definition"] == "label_values(ml_model_predictions_total, model)"
