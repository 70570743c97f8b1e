"""The ``rules:`` config section: rule files, the watchdog, the external URL.

::

    rules:
      files: ["rules/*.yaml"]          # globs, relative to the config file's folder
      watchdog: {enabled: true, interval: 1m}
      external_url: https://flightlog.example.com   # used in generatorURL and messages
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict

from flightlog.errors import ConfigError
from flightlog.rules.durations import parse_duration
from flightlog.rules.loader import load_rule_file
from flightlog.rules.model import RuleGroup

__all__ = ["RulesConfig", "load_rule_files", "parse_rules_section"]


class _Watchdog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    interval: str | int = "1m"


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[str] = []
    watchdog: _Watchdog = _Watchdog()
    external_url: str = ""


@dataclass(frozen=True, slots=True)
class RulesConfig:
    files: tuple[str, ...] = ()
    watchdog: bool = False
    watchdog_interval_s: float = 60.0
    external_url: str = ""


def parse_rules_section(document: Any) -> RulesConfig:
    try:
        raw = _Rules.model_validate(document or {})
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("rules", *first["loc"]))
        raise ConfigError(f"{where}: {first['msg']}") from None
    return RulesConfig(
        tuple(raw.files),
        raw.watchdog.enabled,
        parse_duration(raw.watchdog.interval),
        raw.external_url,
    )


def load_rule_files(patterns: tuple[str, ...], base_dir: Path) -> list[RuleGroup]:
    """Every group of every file the globs match (relative globs start at ``base_dir``)."""
    groups: list[RuleGroup] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
        matches = sorted(glob.glob(full, recursive=True))
        if not matches and not glob.has_magic(pattern):
            raise ConfigError(f"rules.files: {pattern!r} does not exist (looked in {base_dir})")
        for path in matches:
            groups.extend(load_rule_file(Path(path)))
    return groups
