"""SLOs declared once; their recording rules, burn-rate alerts and error budget generated.

An SLO names a service, an SLI as LogQL event counts (``bad``/``total`` or
``good``/``total``, with ``{{.window}}`` where the range goes, as Sloth writes it), an
objective (``99.9`` or ``0.999``) and a window (``30d``). From it come, per the Google SRE
Workbook ("Alerting on SLOs", multiwindow multi-burn-rate):

* recording rules ``slo:sli_error:ratio_rate<W>`` for W in 5m, 30m, 1h, 2h, 6h, 1d, 3d;
* a ``page`` alert: burn rate 14.4x over 1h and 5m, or 6x over 6h and 30m;
* a ``ticket`` alert: 3x over 1d and 2h, or 1x over 3d and 6h.

The alerts compare recorded series, so the same text is valid PromQL: ``export_prometheus``
gives rules a Prometheus scraping flightlog's ``/metrics`` can load (``promtool check
rules`` passes), with the error budget left computed over the SLO's window (the average
of the scraped 5-minute ratio over e.g. 30d); ``export_loki`` gives the whole set for a
Loki ruler.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict

from flightlog.error_budget import budget_remaining_from_ratio, burn_rate, error_budget
from flightlog.errors import ConfigError, FlightlogError
from flightlog.rules.durations import format_duration, parse_duration
from flightlog.rules.model import AlertingRule, InstantQuerier, RecordingRule, RuleGroup, Sample

__all__ = [
    "BURN_ALERTS",
    "SLO",
    "SLO_WINDOWS",
    "SloStatus",
    "export_loki",
    "export_prometheus",
    "parse_slos",
    "slo_groups",
    "slo_status",
    "window_ratio_rule",
]

SLO_WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


@dataclass(frozen=True, slots=True)
class BurnCondition:
    long_window: str
    short_window: str
    factor: float


@dataclass(frozen=True, slots=True)
class BurnAlert:
    severity: str
    conditions: tuple[BurnCondition, ...]


BURN_ALERTS: tuple[BurnAlert, ...] = (
    BurnAlert("page", (BurnCondition("1h", "5m", 14.4), BurnCondition("6h", "30m", 6.0))),
    BurnAlert("ticket", (BurnCondition("1d", "2h", 3.0), BurnCondition("3d", "6h", 1.0))),
)
_NAME = re.compile(r"^[a-zA-Z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class SLO:
    name: str
    service: str
    objective: float  # a ratio: 0.999
    window_s: float
    total: str
    bad: str = ""
    good: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    runbook_url: str = ""
    interval_s: float = 60.0
    description: str = ""

    @property
    def error_budget(self) -> float:
        """The error ratio the objective allows (1 - objective)."""
        return error_budget(self.objective, 1.0)

    def error_ratio_expr(self, window: str) -> str:
        total = self.total.replace("{{.window}}", window)
        if self.bad:
            return f"({self.bad.replace('{{.window}}', window)}) / ({total})"
        return f"1 - (({self.good.replace('{{.window}}', window)}) / ({total}))"


class _Sli(BaseModel):
    model_config = ConfigDict(extra="forbid")
    total: str
    bad: str | None = None
    good: str | None = None


class _Slo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    service: str
    objective: float
    window: str | int = "30d"
    sli: _Sli
    labels: dict[str, str] = {}
    runbook_url: str = ""
    interval: str | int = "1m"
    description: str = ""


def parse_slos(document: Any) -> list[SLO]:
    """The ``slos:`` config section; ``ConfigError`` names the SLO and key."""
    if document is None:
        return []
    if not isinstance(document, list):
        raise ConfigError("slos must be a list of SLOs (name, service, objective, window, sli)")
    out: list[SLO] = []
    for index, item in enumerate(document):
        try:
            raw = _Slo.model_validate(item)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in ("slos", index, *first["loc"]))
            raise ConfigError(f"{where}: {first['msg']}") from None
        where = f"slos[{index}] ({raw.name})"
        if not _NAME.match(raw.name):
            raise ConfigError(f"{where}: name may use letters, digits, '.', '_' and '-' only")
        objective = raw.objective / 100 if raw.objective > 1 else raw.objective
        if not 0 < objective < 1:
            raise ConfigError(
                f"{where}: objective {raw.objective} must be between 0 and 100 (e.g. 99.9)"
            )
        if bool(raw.sli.bad) == bool(raw.sli.good):
            raise ConfigError(f"{where}: sli needs `total` and exactly one of `bad` or `good`")
        for key in ("total", "bad", "good"):
            value = getattr(raw.sli, key)
            if value and "{{.window}}" not in value:
                raise ConfigError(
                    f"{where}: sli.{key} must contain {{{{.window}}}} where the range goes, e.g. [{{{{.window}}}}]"
                )
        if any(s.name == raw.name for s in out):
            raise ConfigError(f"{where}: another SLO has the same name")
        out.append(
            SLO(
                name=raw.name,
                service=raw.service,
                objective=objective,
                window_s=parse_duration(raw.window),
                total=raw.sli.total,
                bad=raw.sli.bad or "",
                good=raw.sli.good or "",
                labels=dict(raw.labels),
                runbook_url=raw.runbook_url,
                interval_s=parse_duration(raw.interval),
                description=raw.description,
            )
        )
    return out


def _number(value: float) -> str:
    text = f"{value:.6g}"
    return text if "e" not in text else repr(value)


def _selector(slo: SLO) -> str:
    return f'{{slo="{slo.name}"}}'


def _ratio_name(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def burn_alert_expr(slo: SLO, alert: BurnAlert) -> str:
    """PromQL-compatible expression over the recorded ratios."""
    parts = []
    for condition in alert.conditions:
        threshold = _number(condition.factor * slo.error_budget)
        parts.append(
            f"({_ratio_name(condition.long_window)}{_selector(slo)} > {threshold}"
            f" and {_ratio_name(condition.short_window)}{_selector(slo)} > {threshold})"
        )
    return " or ".join(parts)


def _alert_rules(slo: SLO) -> list[AlertingRule]:
    out = []
    for alert in BURN_ALERTS:
        windows = ", ".join(
            f"{c.factor:g}x over {c.long_window}/{c.short_window}" for c in alert.conditions
        )
        annotations = {
            "summary": f"{slo.name}: error budget burning fast ({alert.severity})",
            "description": (
                f"SLO {slo.name} ({slo.service}, objective {slo.objective * 100:g}% over "
                f"{format_duration(slo.window_s)}) burns its error budget: {windows}. "
                "Current error ratio {{ $value | humanizePercentage }}."
            ),
        }
        if slo.runbook_url:
            annotations["runbook_url"] = slo.runbook_url
        out.append(
            AlertingRule(
                name="SLOErrorBudgetBurn",
                expr=burn_alert_expr(slo, alert),
                labels={
                    **slo.labels,
                    "slo": slo.name,
                    "service": slo.service,
                    "severity": alert.severity,
                },
                annotations=annotations,
            )
        )
    return out


def slo_groups(slos: Sequence[SLO]) -> list[RuleGroup]:
    """One rule group per SLO: the seven ratio recordings, then the two burn alerts."""
    groups = []
    for slo in slos:
        labels = {**slo.labels, "slo": slo.name, "service": slo.service}
        recordings = [
            RecordingRule(_ratio_name(w), slo.error_ratio_expr(w), labels) for w in SLO_WINDOWS
        ]
        groups.append(
            RuleGroup(
                f"slo-{slo.name}",
                (*recordings, *_alert_rules(slo)),
                slo.interval_s,
                namespace="slos",
            )
        )
    return groups


def _rule_dict(rule: AlertingRule | RecordingRule) -> dict[str, Any]:
    if isinstance(rule, RecordingRule):
        return {"record": rule.record, "expr": rule.expr, "labels": dict(rule.labels)}
    return {
        "alert": rule.name,
        "expr": rule.expr,
        "labels": dict(rule.labels),
        "annotations": dict(rule.annotations),
    }


def export_loki(slos: Sequence[SLO]) -> str:
    """Every generated rule (LogQL recordings + alerts) as one rule file for a Loki ruler."""
    groups = [
        {
            "name": g.name,
            "interval": format_duration(g.interval_s),
            "rules": [_rule_dict(r) for r in g.rules],
        }
        for g in slo_groups(slos)
    ]
    return yaml.safe_dump({"groups": groups}, sort_keys=False, allow_unicode=True)


def window_ratio_rule(slo: SLO) -> dict[str, Any] | None:
    """The Prometheus rule for the error ratio over the SLO's whole window (``None`` if recorded).

    The average of the 5-minute ratios over the window, as Sloth computes it: a LogQL
    count over 30 days every minute would cost far more than it tells.
    """
    window = format_duration(slo.window_s)
    if window in SLO_WINDOWS:
        return None  # flightlog records it already (a 3d SLO)
    short = f"{_ratio_name('5m')}{_selector(slo)}"
    return {
        "record": _ratio_name(window),
        "expr": f"sum_over_time({short}[{window}]) / count_over_time({short}[{window}])",
        "labels": {**slo.labels, "slo": slo.name, "service": slo.service},
    }


def export_prometheus(slos: Sequence[SLO]) -> str:
    """Rules for a Prometheus that scrapes flightlog's ``/metrics`` (where the ratios appear).

    Besides the burn alerts: ``slo:objective:ratio``, the error ratio over the SLO window
    (``slo:sli_error:ratio_rate<window>``, from the scraped 5-minute ratio) and
    ``slo:error_budget:remaining_ratio`` = 1 - window ratio / budget.
    """
    groups = []
    for slo in slos:
        labels = {**slo.labels, "slo": slo.name, "service": slo.service}
        window_rule = window_ratio_rule(slo)
        window = _ratio_name(format_duration(slo.window_s))
        rules: list[dict[str, Any]] = [
            {
                "record": "slo:objective:ratio",
                "expr": f"vector({_number(slo.objective)})",
                "labels": dict(labels),
            },
            *([window_rule] if window_rule else []),
            {
                "record": "slo:error_budget:remaining_ratio",
                "expr": f"1 - ({window}{_selector(slo)} / {_number(slo.error_budget)})",
                "labels": dict(labels),
            },
        ]
        rules += [_rule_dict(r) for r in _alert_rules(slo)]
        groups.append({"name": f"slo-{slo.name}", "rules": rules})
    return yaml.safe_dump({"groups": groups}, sort_keys=False, allow_unicode=True)


@dataclass(frozen=True, slots=True)
class SloStatus:
    """Where an SLO stands now; ratios are ``None`` when there was no traffic or no data."""

    slo: SLO
    error_ratio: float | None
    budget_remaining: float | None
    burn_rates: Mapping[str, float | None]
    firing: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.slo.name,
            "service": self.slo.service,
            "objective": self.slo.objective,
            "window": format_duration(self.slo.window_s),
            "error_ratio": self.error_ratio,
            "error_budget_remaining": self.budget_remaining,
            "burn_rates": dict(self.burn_rates),
            "firing": list(self.firing),
        }


def _value(samples: list[Sample]) -> float | None:
    values = [s.value for s in samples if not math.isnan(s.value) and not math.isinf(s.value)]
    return values[0] if values else None


def _as_ratio(value: float) -> float:
    # bad/total from two separate queries can stray a hair outside [0, 1] when lines land
    # between them; a ratio outside that range means nothing more than its bound.
    return min(max(value, 0.0), 1.0)


def slo_status(
    slo: SLO,
    querier: InstantQuerier,
    ts_ns: int,
    tenant: str = "default",
    firing: Sequence[str] = (),
) -> SloStatus:
    """Error ratio and budget over the SLO window, and the burn rate over each alert window."""

    def ratio(window: str) -> float | None:
        try:
            return _value(querier(slo.error_ratio_expr(window), ts_ns, tenant))
        except FlightlogError:
            return None

    error_ratio = ratio(format_duration(slo.window_s))
    remaining = (
        None
        if error_ratio is None
        else budget_remaining_from_ratio(_as_ratio(error_ratio), slo.objective)
    )
    burn = {}
    for window in SLO_WINDOWS:
        value = ratio(window)
        burn[window] = None if value is None else burn_rate(_as_ratio(value), slo.objective)
    return SloStatus(slo, error_ratio, remaining, burn, tuple(firing))
