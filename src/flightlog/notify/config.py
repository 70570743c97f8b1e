"""The ``alerting:`` section: an ``alertmanager.yml`` read as Alertmanager writes it.

Pydantic models check the document at the edge (unknown keys are errors with their path);
``load_alerting_config`` turns it into frozen dataclasses: a routing tree whose children
inherit their parent's receiver, ``group_by`` and timers, the receivers with their
integrations, and inhibit rules. Keys Alertmanager knows but flightlog does not implement
(``templates``, ``time_intervals``, ``global.http_config``, an integration's options it
does not read ...) are kept as warnings, never silently ignored. What each integration
reads, and its defaults from ``global:``, are in ``flightlog.notify.integrations``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict

from flightlog.errors import ConfigError
from flightlog.model import DEFAULT_TENANT, LabelMatcher, MatchOp
from flightlog.notify.integrations import INTEGRATION_KINDS, Integration, build_integrations
from flightlog.notify.matchers import format_matcher, parse_matchers
from flightlog.rules.durations import parse_duration

__all__ = [
    "AlertingConfig",
    "InhibitRule",
    "Integration",
    "Receiver",
    "Route",
    "check_tenant_id",
    "load_alerting_config",
    "load_tenant_alerting_config",
]

DEFAULT_GROUP_WAIT_S = 30.0
DEFAULT_GROUP_INTERVAL_S = 300.0
DEFAULT_REPEAT_INTERVAL_S = 4 * 3600.0
# What ``X-Scope-OrgID`` accepts (``flightlog.server.deps``), for ``alerting.tenants`` keys.
_TENANT_ID = re.compile(r"[a-zA-Z0-9!\-_.*'()]{1,150}\Z")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Global(_Strict):
    resolve_timeout: str | int = "5m"
    smtp_from: str | None = None
    smtp_smarthost: str | None = None
    smtp_hello: str | None = None
    smtp_auth_username: str | None = None
    smtp_auth_password: str | None = None
    smtp_auth_password_file: str | None = None
    smtp_auth_identity: str | None = None
    smtp_auth_secret: str | None = None
    smtp_require_tls: bool = True
    slack_api_url: str | None = None
    slack_api_url_file: str | None = None
    pagerduty_url: str | None = None
    # Alertmanager's other global keys: accepted so a pasted file loads, reported as ignored.
    http_config: Any = None
    smtp_tls_config: Any = None
    smtp_force_implicit_tls: Any = None
    opsgenie_api_url: Any = None
    opsgenie_api_key: Any = None
    opsgenie_api_key_file: Any = None
    wechat_api_url: Any = None
    wechat_api_secret: Any = None
    wechat_api_corp_id: Any = None
    victorops_api_url: Any = None
    victorops_api_key: Any = None
    victorops_api_key_file: Any = None
    telegram_api_url: Any = None
    webex_api_url: Any = None
    jira_api_url: Any = None
    rocketchat_api_url: Any = None
    rocketchat_token: Any = None
    rocketchat_token_file: Any = None
    rocketchat_token_id: Any = None
    rocketchat_token_id_file: Any = None


# The global keys flightlog reads; every other one that is set is reported as ignored.
_GLOBAL_IMPLEMENTED = frozenset(
    {
        "resolve_timeout",
        "smtp_from",
        "smtp_smarthost",
        "smtp_hello",
        "smtp_auth_username",
        "smtp_auth_password",
        "smtp_auth_password_file",
        "smtp_auth_identity",
        "smtp_auth_secret",
        "smtp_require_tls",
        "slack_api_url",
        "slack_api_url_file",
        "pagerduty_url",
    }
)


class _Route(_Strict):
    receiver: str | None = None
    group_by: list[str] | None = None
    continue_: bool = pydantic.Field(False, alias="continue")
    matchers: list[str] = []
    match: dict[str, str] = {}
    match_re: dict[str, str] = {}
    group_wait: str | int | None = None
    group_interval: str | int | None = None
    repeat_interval: str | int | None = None
    routes: list[_Route] = []
    mute_time_intervals: list[str] | None = None
    active_time_intervals: list[str] | None = None


class _Integration(BaseModel):
    # Integrations carry many optional provider fields; we read the ones we implement.
    model_config = ConfigDict(extra="allow")
    send_resolved: bool | None = None
    timeout: str | int | None = None


class _Receiver(_Strict):
    name: str
    webhook_configs: list[_Integration] = []
    slack_configs: list[_Integration] = []
    pagerduty_configs: list[_Integration] = []
    email_configs: list[_Integration] = []
    alertmanager_configs: list[_Integration] = []
    # Alertmanager's other integrations: accepted, reported as ignored.
    opsgenie_configs: Any = None
    pushover_configs: Any = None
    victorops_configs: Any = None
    wechat_configs: Any = None
    telegram_configs: Any = None
    sns_configs: Any = None
    webex_configs: Any = None
    discord_configs: Any = None
    msteams_configs: Any = None
    msteamsv2_configs: Any = None
    jira_configs: Any = None
    rocketchat_configs: Any = None


class _Inhibit(_Strict):
    source_matchers: list[str] = []
    target_matchers: list[str] = []
    source_match: dict[str, str] = {}
    source_match_re: dict[str, str] = {}
    target_match: dict[str, str] = {}
    target_match_re: dict[str, str] = {}
    equal: list[str] = []


class _Document(_Strict):
    global_: _Global = pydantic.Field(default_factory=_Global, alias="global")
    route: _Route | None = None
    receivers: list[_Receiver] = []
    inhibit_rules: list[_Inhibit] = []
    # Alertmanager's other top-level keys: accepted, reported as ignored.
    templates: Any = None
    time_intervals: Any = None
    mute_time_intervals: Any = None
    tracing: Any = None


@dataclass(frozen=True, slots=True)
class Receiver:
    """A named set of integrations; an empty receiver is valid and notifies nobody."""

    name: str
    integrations: tuple[Integration, ...]


@dataclass(frozen=True, slots=True)
class Route:
    """A node of the routing tree, with inherited values already filled in."""

    receiver: str
    group_by: tuple[str, ...]
    group_by_all: bool
    matchers: tuple[LabelMatcher, ...]
    continue_: bool
    group_wait_s: float
    group_interval_s: float
    repeat_interval_s: float
    routes: tuple[Route, ...]
    key: str


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """Mute targets while a firing source with the same ``equal`` labels exists."""

    source_matchers: tuple[LabelMatcher, ...]
    target_matchers: tuple[LabelMatcher, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertingConfig:
    """The whole notification configuration, checked and ready to run."""

    route: Route
    receivers: Mapping[str, Receiver]
    inhibit_rules: tuple[InhibitRule, ...] = ()
    resolve_timeout_s: float = 300.0
    warnings: tuple[str, ...] = field(default=())
    # The tenants with a tree of their own (``alerting.tenants``); every other one uses this.
    tenants: Mapping[str, AlertingConfig] = field(default_factory=dict)
    # The document as written (without ``tenants``), for ``/api/v2/status`` (redacted there).
    source: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def for_tenant(self, tenant: str) -> AlertingConfig:
        """The tree that routes ``tenant``'s alerts: its own, else this (the default)."""
        return self.tenants.get(tenant, self)


def _legacy(match: Mapping[str, str], match_re: Mapping[str, str]) -> list[LabelMatcher]:
    out = [LabelMatcher(k, MatchOp.EQ, v) for k, v in sorted(match.items())]
    out += [LabelMatcher(k, MatchOp.RE, v) for k, v in sorted(match_re.items())]
    return out


def _route_matchers(raw: _Route | _Inhibit, prefix: str = "") -> tuple[LabelMatcher, ...]:
    if isinstance(raw, _Route):
        return tuple(_legacy(raw.match, raw.match_re)) + parse_matchers(raw.matchers)
    if prefix == "source":
        return tuple(_legacy(raw.source_match, raw.source_match_re)) + parse_matchers(
            raw.source_matchers
        )
    return tuple(_legacy(raw.target_match, raw.target_match_re)) + parse_matchers(
        raw.target_matchers
    )


def _build_route(
    raw: _Route, parent: Route | None, path: str, warnings: list[str], root: str = "alerting"
) -> Route:
    matchers = _route_matchers(raw)
    if raw.mute_time_intervals or raw.active_time_intervals:
        warnings.append(f"{path}: time intervals are not supported by flightlog and are ignored")
    group_by_all = False
    if raw.group_by is None:
        group_by = parent.group_by if parent else ()
        group_by_all = parent.group_by_all if parent else False
    elif "..." in raw.group_by:
        group_by, group_by_all = (), True
    else:
        group_by = tuple(raw.group_by)

    def timer(value: str | int | None, inherited: float | None, default: float, name: str) -> float:
        if value is None:
            return inherited if inherited is not None else default
        try:
            seconds = parse_duration(value)
        except ConfigError as exc:
            raise ConfigError(f"{path}.{name}: {exc}") from exc
        if seconds <= 0 and name != "group_wait":
            raise ConfigError(f"{path}.{name} must be greater than 0, got {value!r}")
        return seconds

    receiver = raw.receiver or (parent.receiver if parent else None)
    if not receiver:
        raise ConfigError(f"{path}: the root route needs a receiver: add `receiver: <name>`")
    if parent is None:
        key = "{}"
        if matchers:
            raise ConfigError(
                f"{root}.route: the root route must not have matchers: it matches every alert"
            )
    else:
        key = parent.key + "/{" + ",".join(format_matcher(m) for m in matchers) + "}"
    node = Route(
        receiver=receiver,
        group_by=group_by,
        group_by_all=group_by_all,
        matchers=matchers,
        continue_=raw.continue_,
        group_wait_s=timer(
            raw.group_wait,
            parent.group_wait_s if parent else None,
            DEFAULT_GROUP_WAIT_S,
            "group_wait",
        ),
        group_interval_s=timer(
            raw.group_interval,
            parent.group_interval_s if parent else None,
            DEFAULT_GROUP_INTERVAL_S,
            "group_interval",
        ),
        repeat_interval_s=timer(
            raw.repeat_interval,
            parent.repeat_interval_s if parent else None,
            DEFAULT_REPEAT_INTERVAL_S,
            "repeat_interval",
        ),
        routes=(),
        key=key,
    )
    children = tuple(
        _build_route(child, node, f"{path}.routes[{i}]", warnings, root)
        for i, child in enumerate(raw.routes)
    )
    return Route(
        **{**{f: getattr(node, f) for f in Route.__dataclass_fields__}, "routes": children}
    )


def _integrations(
    raw: _Receiver, glob: _Global, warnings: list[str], root: str, tenant: str
) -> tuple[Integration, ...]:
    configs = {
        kind: [
            (dict(item.model_extra or {}), item.send_resolved, item.timeout)
            for item in getattr(raw, f"{kind}_configs")
        ]
        for kind in INTEGRATION_KINDS
    }
    out = build_integrations(raw.name, configs, glob.model_dump(), warnings, root, tenant)
    for name in sorted(raw.model_fields_set):
        kind = name.removesuffix("_configs")
        if name.endswith("_configs") and kind not in INTEGRATION_KINDS and getattr(raw, name):
            warnings.append(
                f"{root}.receivers[{raw.name}].{name} is not supported by flightlog and is ignored"
            )
    return out


def _format_pydantic(exc: pydantic.ValidationError, root: str = "alerting") -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (root, *first["loc"]))
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown key; check its spelling against alertmanager.yml's documentation"
    return f"{where}: {first['msg']}"


def load_alerting_config(document: Mapping[str, Any] | None) -> AlertingConfig:
    """Check the ``alerting:`` section and build the runnable configuration.

    The section is an ``alertmanager.yml`` (the default tree) with an optional
    ``tenants:`` mapping of tenant ID to that tenant's own ``alertmanager.yml``, as
    Mimir's multi-tenant Alertmanager keeps one configuration per tenant. ``None`` or
    ``{}`` gives a default tree with one receiver ``default`` that notifies nobody, so
    alert state and the API still work without notification settings.
    """
    tenants_raw: Any = None
    if isinstance(document, Mapping) and "tenants" in document:
        tenants_raw = document["tenants"]
        document = {k: v for k, v in document.items() if k != "tenants"}
    if not document:
        document = {"route": {"receiver": "default"}, "receivers": [{"name": "default"}]}
    default = _load_tree(document, "alerting", "")
    if tenants_raw is None:
        return default
    if not isinstance(tenants_raw, Mapping):
        raise ConfigError(
            "alerting.tenants must map tenant IDs to alertmanager.yml documents, "
            f"got {type(tenants_raw).__name__}"
        )
    tenants: dict[str, AlertingConfig] = {}
    warnings = list(default.warnings)
    for tenant, tree in tenants_raw.items():
        check_tenant_id(tenant, "alerting.tenants")
        tenants[tenant] = load_tenant_alerting_config(tree, tenant, f"alerting.tenants.{tenant}")
        warnings += tenants[tenant].warnings
    return replace(default, tenants=tenants, warnings=tuple(warnings))


def check_tenant_id(tenant: object, where: str) -> str:
    """A tenant ID as ``X-Scope-OrgID`` accepts it, and not ``default`` (the top-level tree)."""
    if not isinstance(tenant, str) or _TENANT_ID.match(tenant) is None or tenant in (".", ".."):
        raise ConfigError(
            f"{where}: {tenant!r} is not a tenant ID: use up to 150 letters, digits and "
            "!-_.*'() characters"
        )
    if tenant == DEFAULT_TENANT:
        raise ConfigError(
            f"{where}.{tenant}: the {DEFAULT_TENANT!r} tenant is routed by the top-level "
            "`alerting:` tree; move its route and receivers there"
        )
    return tenant


def load_tenant_alerting_config(document: Any, tenant: str, root: str) -> AlertingConfig:
    """One tenant's ``alertmanager.yml``; errors and warnings start with ``root``.

    Its integrations are keyed under the tenant (``<tenant>/<receiver>/<kind>/<index>``),
    so two tenants' receivers of the same name have their own delivery queues and
    notification-log entries.
    """
    if not document:
        raise ConfigError(
            f"{root} is empty: give it at least `route: {{receiver: <name>}}` and `receivers:`"
        )
    if not isinstance(document, Mapping):
        raise ConfigError(
            f"{root} must be an alertmanager.yml document (a mapping), got {type(document).__name__}"
        )
    return _load_tree(document, root, tenant)


def _load_tree(document: Mapping[str, Any], root: str, tenant: str) -> AlertingConfig:
    try:
        parsed = _Document.model_validate(document)
    except pydantic.ValidationError as exc:
        raise ConfigError(_format_pydantic(exc, root)) from None
    warnings: list[str] = []
    for key in sorted(parsed.model_fields_set - {"global_", "route", "receivers", "inhibit_rules"}):
        if getattr(parsed, key) is not None:
            warnings.append(f"{root}.{key} is not supported by flightlog and is ignored")
    for key in sorted(parsed.global_.model_fields_set - _GLOBAL_IMPLEMENTED):
        if getattr(parsed.global_, key) is not None:
            warnings.append(f"{root}.global.{key} is not supported by flightlog and is ignored")
    if parsed.route is None:
        raise ConfigError(f"{root}.route is missing: add `route: {{receiver: <name>}}`")
    receivers: dict[str, Receiver] = {}
    for raw in parsed.receivers:
        if raw.name in receivers:
            raise ConfigError(f"{root}.receivers: receiver {raw.name!r} is defined twice")
        receivers[raw.name] = Receiver(
            raw.name, _integrations(raw, parsed.global_, warnings, root, tenant)
        )
    route = _build_route(parsed.route, None, f"{root}.route", warnings, root)
    _check_receivers(route, receivers, f"{root}.route")
    inhibit = tuple(
        InhibitRule(_route_matchers(r, "source"), _route_matchers(r, "target"), tuple(r.equal))
        for r in parsed.inhibit_rules
    )
    return AlertingConfig(
        route=route,
        receivers=receivers,
        inhibit_rules=inhibit,
        resolve_timeout_s=parse_duration(parsed.global_.resolve_timeout),
        warnings=tuple(warnings),
        source=dict(document),
    )


def _check_receivers(route: Route, receivers: Mapping[str, Receiver], path: str) -> None:
    if route.receiver not in receivers:
        known = ", ".join(sorted(receivers)) or "none"
        raise ConfigError(
            f"{path}: receiver {route.receiver!r} is not defined (receivers: {known})"
        )
    for i, child in enumerate(route.routes):
        _check_receivers(child, receivers, f"{path}.routes[{i}]")
