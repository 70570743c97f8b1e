"""Writes the demo's configuration: starter rules, an SLO and an alert route to the receiver."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

__all__ = ["write_demo_config"]


def write_demo_config(data_dir: Path, receiver_url: str) -> Path:
    """Write ``flightlog.yaml`` and the rule file under ``data_dir/demo``; returns the config path."""
    demo_dir = data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    rules_path = demo_dir / "rules.yaml"
    rules_path.write_text(resources.files("flightlog.demo").joinpath("rules.yaml").read_text())
    config = {
        "data_dir": str(data_dir),
        "rules": {"files": [str(rules_path)]},
        "slos": [
            {
                "name": "gateway-availability",
                "service": "gateway",
                "objective": 99.0,
                "window": "30d",
                "sli": {
                    "bad": 'sum(count_over_time({service="gateway", level="error"} [{{.window}}]))',
                    "total": 'sum(count_over_time({service="gateway"} |= "classify" [{{.window}}]))',
                },
            }
        ],
        "alerting": {
            "route": {
                "receiver": "demo-webhook",
                "group_by": ["alertname", "service"],
                "group_wait": "5s",
                "group_interval": "30s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "demo-webhook",
                    "webhook_configs": [{"url": receiver_url, "send_resolved": True}],
                }
            ],
        },
    }
    path = demo_dir / "flightlog.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
