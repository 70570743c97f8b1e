"""``check_config``: validate every extension section before the server binds or opens the store.

``flightlog.config`` checks its own sections and keeps the extension sections
(``rules:``, ``alerting:``, ``slos:``, ``query_limits:``, ``monitor:``, ``pipeline:``,
``syslog:``) raw; their owners validate them in the startup hooks of
``flightlog.server.routes``. A mistake found there surfaces as an ASGI startup
traceback, so ``flightlog serve`` calls ``check_config`` first: it runs the owners' own
pure validators (no threads, files written or sockets) and raises ``ConfigError`` whose
message starts with the config file and the section, e.g.
``flightlog.yaml: slos.0.objective: Input should be a valid number``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flightlog.config import Config
from flightlog.errors import ConfigError, FlightlogError

__all__ = ["CHECKED_SECTIONS", "check_config", "config_base_dir"]


def config_base_dir(config: Config) -> Path:
    """Where relative paths in the config (``rules.files``) start: the file's folder."""
    if config.source in ("defaults", "config"):
        return Path.cwd()
    return Path(config.source).parent


def _rules(config: Config) -> None:
    from flightlog.rules.config import load_rule_files, parse_rules_section

    settings = parse_rules_section(config.section("rules"))
    load_rule_files(settings.files, config_base_dir(config))


def _alerting(config: Config) -> None:
    from flightlog.notify.config import load_alerting_config

    load_alerting_config(config.section("alerting"))


def _slos(config: Config) -> None:
    from flightlog.rules.slo import parse_slos, slo_groups

    slo_groups(parse_slos(config.section("slos")))


def _query_limits(config: Config) -> None:
    from flightlog.query.limits import limits_from_section

    limits_from_section(config.section("query_limits"))


def _monitor(config: Config) -> None:
    from flightlog.monitor.schedule import parse_drift_checks

    parse_drift_checks(config.section("monitor"))


def _pipeline(config: Config) -> None:
    from flightlog.pipeline.tenants import TenantPipelines

    # registry=None: build the stages (bad patterns fail here) without registering metrics.
    TenantPipelines.from_section(config.section("pipeline"), registry=None)


def _syslog(config: Config) -> None:
    from flightlog.server.routes.syslog import syslog_config

    syslog_config(config.section("syslog"))


# Section name → its owner's validator, in the order the startup hooks read them.
_CHECKS: tuple[tuple[str, Callable[[Config], None]], ...] = (
    ("pipeline", _pipeline),
    ("syslog", _syslog),
    ("query_limits", _query_limits),
    ("rules", _rules),
    ("alerting", _alerting),
    ("slos", _slos),
    ("monitor", _monitor),
)
CHECKED_SECTIONS: tuple[str, ...] = tuple(name for name, _ in _CHECKS)


def _located(section: str, message: str) -> str:
    # Most owners already start with the section ("slos.0.objective: ..."); a few
    # (durations, rule files) name only the value or the file, so name the section.
    if message.startswith("config: "):  # config_error()'s default source; ours is added
        message = message.removeprefix("config: ")
    head = message.split(":", 1)[0]
    if head.startswith(section):
        return message
    return f"{section}: {message}"


def check_config(config: Config) -> None:
    """Raise ``ConfigError`` for the first extension section its owner rejects."""
    for section, check in _CHECKS:
        if config.section(section) is None:
            # Absent means the owner's defaults; importing it (scipy for monitor) would
            # only slow every start down.
            continue
        try:
            check(config)
        except FlightlogError as exc:
            raise ConfigError(f"{config.source}: {_located(section, str(exc))}") from None
        except (ValueError, TypeError) as exc:
            # An owner that lets a plain error through still gets one located line.
            raise ConfigError(f"{config.source}: {section}: {exc}") from None
