"""The integrations of a receiver as ``alertmanager.yml`` writes them: what each one reads.

``build_integrations`` turns a receiver's ``webhook_configs`` / ``slack_configs`` /
``pagerduty_configs`` / ``email_configs`` / ``alertmanager_configs`` into ``Integration``
values: defaults from ``global:`` filled in (``slack_api_url[_file]``, ``smtp_*``,
``pagerduty_url``), required options checked, secrets given as ``*_file`` noted (they are
read at every send), templates checked against the supported subset (one outside it is
reported and its default sent), and every option flightlog does not read reported as a
warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flightlog.errors import ConfigError, RuleError
from flightlog.notify.templates import TEMPLATED_MAPS, TEMPLATED_OPTIONS, check_field
from flightlog.rules.durations import parse_duration

__all__ = ["INTEGRATION_KINDS", "Integration", "build_integrations"]

DEFAULT_TIMEOUT_S = 10.0
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"

# Integration kinds; the last is flightlog's extension for forwarding to an Alertmanager.
INTEGRATION_KINDS = ("webhook", "slack", "pagerduty", "email", "alertmanager")
_SEND_RESOLVED_DEFAULT = {
    "webhook": True,
    "slack": False,
    "pagerduty": True,
    "email": False,
    "alertmanager": True,
}


@dataclass(frozen=True, slots=True)
class Integration:
    """One notifier of a receiver (``webhook``, ``slack``, ...), with its options as written."""

    receiver: str
    kind: str
    index: int
    options: Mapping[str, Any]
    send_resolved: bool
    timeout_s: float
    # The tenant whose own tree (``alerting.tenants``) defines it; "" for the default tree.
    tenant: str = ""

    @property
    def key(self) -> str:
        """Identity in the notification log and delivery queue: ``receiver/kind/index``,
        under ``<tenant>/`` for an integration of a tenant's own tree."""
        key = f"{self.receiver}/{self.kind}/{self.index}"
        return f"{self.tenant}/{key}" if self.tenant else key


# The options each integration reads (besides ``send_resolved`` and ``timeout``); any
# other key in its config is reported as ignored, so a pasted file never loses a setting
# silently.
_IMPLEMENTED_OPTIONS: dict[str, frozenset[str]] = {
    "webhook": frozenset({"url", "url_file", "max_alerts"}),
    "slack": frozenset(
        {
            "api_url",
            "api_url_file",
            "channel",
            "username",
            "icon_emoji",
            "icon_url",
            "title",
            "title_link",
            "text",
            "pretext",
            "fallback",
            "footer",
            "color",
        }
    ),
    "pagerduty": frozenset(
        {
            "routing_key",
            "routing_key_file",
            "service_key",
            "service_key_file",
            "url",
            "client",
            "client_url",
            "description",
            "details",
            "severity",
            "class",
            "component",
            "group",
            "source",
        }
    ),
    "email": frozenset(
        {
            "to",
            "from",
            "smarthost",
            "hello",
            "auth_username",
            "auth_password",
            "auth_password_file",
            "auth_identity",
            "auth_secret",
            "require_tls",
            "headers",
            "html",
            "text",
            "tls_config",
        }
    ),
    "alertmanager": frozenset({"url"}),
}
_TLS_IMPLEMENTED = frozenset({"ca_file", "insecure_skip_verify"})
# Secrets that may be given inline or as a file read at every send (Alertmanager's ``*_file``).
_SECRET_OPTIONS: dict[str, tuple[str, ...]] = {
    "webhook": ("url",),
    "slack": ("api_url",),
    "pagerduty": ("routing_key", "service_key"),
    "email": ("auth_password",),
}


def _check_secret_files(
    options: Mapping[str, Any], kind: str, where: str, warnings: list[str]
) -> None:
    for name in _SECRET_OPTIONS.get(kind, ()):
        if options.get(name) and options.get(f"{name}_file"):
            raise ConfigError(f"{where}: set at most one of `{name}` and `{name}_file`")
        path = options.get(f"{name}_file")
        if path and not Path(str(path)).is_file():
            warnings.append(
                f"{where}.{name}_file: {path} does not exist (yet); sends fail until it does"
            )


def _apply_globals(options: dict[str, Any], kind: str, glob: Mapping[str, Any], where: str) -> None:
    """Fill in what ``global:`` provides and check what the integration needs."""
    if kind == "webhook" and not options.get("url") and not options.get("url_file"):
        raise ConfigError(f"{where}: one of `url` or `url_file` is required")
    if kind == "slack" and not options.get("api_url") and not options.get("api_url_file"):
        options["api_url"] = glob.get("slack_api_url")
        options["api_url_file"] = glob.get("slack_api_url_file")
        if not glob.get("slack_api_url") and not glob.get("slack_api_url_file"):
            raise ConfigError(
                f"{where}: `api_url` or `api_url_file` is required (or set global.slack_api_url)"
            )
    if kind == "pagerduty":
        options.setdefault("url", glob.get("pagerduty_url") or PAGERDUTY_URL)
        if not any(
            options.get(k)
            for k in ("routing_key", "routing_key_file", "service_key", "service_key_file")
        ):
            raise ConfigError(f"{where}: `routing_key` (or `routing_key_file`) is required")
    if kind == "email":
        options.setdefault("from", glob.get("smtp_from"))
        options.setdefault("smarthost", glob.get("smtp_smarthost"))
        options.setdefault("auth_username", glob.get("smtp_auth_username"))
        if not options.get("auth_password") and not options.get("auth_password_file"):
            options["auth_password"] = glob.get("smtp_auth_password")
            options["auth_password_file"] = glob.get("smtp_auth_password_file")
        options.setdefault("auth_identity", glob.get("smtp_auth_identity"))
        options.setdefault("auth_secret", glob.get("smtp_auth_secret"))
        options.setdefault("require_tls", glob.get("smtp_require_tls", True))
        options.setdefault("hello", glob.get("smtp_hello") or "localhost")
        for needed in ("to", "from", "smarthost"):
            if not options.get(needed):
                raise ConfigError(f"{where}: `{needed}` is required")
        host, _, port = str(options["smarthost"]).rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(
                f"{where}: smarthost {options['smarthost']!r} must be host:port, e.g. smtp.example.com:587"
            )
    if kind == "alertmanager" and not options.get("url"):
        raise ConfigError(f"{where}: `url` of the Alertmanager is required")


def _unsupported_options(
    options: Mapping[str, Any], kind: str, where: str, warnings: list[str]
) -> None:
    for name in sorted(set(options) - _IMPLEMENTED_OPTIONS[kind]):
        warnings.append(f"{where}.{name} is not supported by flightlog and is ignored")
    tls = options.get("tls_config")
    if isinstance(tls, Mapping):
        for name in sorted(set(tls) - _TLS_IMPLEMENTED):
            warnings.append(
                f"{where}.tls_config.{name} is not supported by flightlog and is ignored"
            )


def _check_templates(options: dict[str, Any], kind: str, where: str, warnings: list[str]) -> None:
    """A template outside the subset is reported and dropped, so its default is sent."""
    for name in TEMPLATED_OPTIONS.get(kind, {}):
        if options.get(name) is None:
            continue
        try:
            check_field(str(options[name]))
        except RuleError as exc:
            if kind == "email" and name in ("to", "from"):
                raise ConfigError(f"{where}.{name}: {exc}") from None
            warnings.append(f"{where}.{name}: {exc}; flightlog sends its default instead")
            del options[name]
    mapping = TEMPLATED_MAPS.get(kind)
    values = options.get(mapping) if mapping else None
    if mapping and values is not None:
        if not isinstance(values, Mapping):
            raise ConfigError(f"{where}.{mapping} must be a mapping of names to templates")
        kept = {}
        for key, value in values.items():
            try:
                check_field(str(value))
            except RuleError as exc:
                warnings.append(f"{where}.{mapping}.{key}: {exc}; it is left out")
                continue
            kept[str(key)] = str(value)
        options[mapping] = kept


def build_integrations(
    receiver: str,
    configs: Mapping[str, list[tuple[dict[str, Any], bool | None, str | int | None]]],
    glob: Mapping[str, Any],
    warnings: list[str],
    root: str = "alerting",
    tenant: str = "",
) -> tuple[Integration, ...]:
    """The integrations of one receiver from its ``<kind>_configs`` as written.

    ``configs`` maps a kind to (options, send_resolved, timeout) per entry; ``glob`` is
    the ``global:`` section. Unread options are appended to ``warnings``; messages start
    with ``root`` (``alerting``, or ``alerting.tenants.<id>``).
    """
    out: list[Integration] = []
    for kind in INTEGRATION_KINDS:
        for index, (raw_options, send_resolved, timeout) in enumerate(configs.get(kind, [])):
            options: dict[str, Any] = dict(raw_options)
            where = f"{root}.receivers[{receiver}].{kind}_configs[{index}]"
            _unsupported_options(options, kind, where, warnings)
            _apply_globals(options, kind, glob, where)
            _check_secret_files(options, kind, where, warnings)
            if kind == "webhook" and options.get("max_alerts") is not None:
                max_alerts = options["max_alerts"]
                if (
                    isinstance(max_alerts, bool)
                    or not isinstance(max_alerts, int)
                    or max_alerts < 0
                ):
                    raise ConfigError(
                        f"{where}.max_alerts must be a whole number >= 0 (0: all), got {max_alerts!r}"
                    )
            _check_templates(options, kind, where, warnings)
            try:
                timeout_s = parse_duration(timeout) if timeout is not None else DEFAULT_TIMEOUT_S
            except ConfigError as exc:
                raise ConfigError(f"{where}.timeout: {exc}") from None
            out.append(
                Integration(
                    receiver=receiver,
                    kind=kind,
                    index=index,
                    options=options,
                    send_resolved=_SEND_RESOLVED_DEFAULT[kind]
                    if send_resolved is None
                    else send_resolved,
                    timeout_s=timeout_s,
                    tenant=tenant,
                )
            )
    return tuple(out)
