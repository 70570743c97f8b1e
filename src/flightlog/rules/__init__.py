"""The ruler: rule groups, evaluation, alert states, recording rules, SLO rule generation.

Owns rule-group YAML (Prometheus/Loki format) with located errors, the alert state machine
(inactive → pending → firing → resolved, ``for``, ``keep_firing_for``), annotation
templates, the state DB (alert states, recorded samples, API-managed groups), the
evaluation loop over an ``InstantQuerier`` and SLO burn-rate rule generation
(``flightlog.rules.slo``). Produces ``flightlog.rules.alert.Alert`` values for notify.

Public names: ``Alert``, ``AlertingRule``, ``RecordingRule``, ``RuleGroup``, ``Sample``,
``InstantQuerier``, ``Ruler``, ``RulesStateDB``, ``EngineQuerier``, ``parse_rule_groups``,
``load_rule_file``.
"""

from __future__ import annotations

from flightlog.rules.alert import Alert
from flightlog.rules.loader import load_rule_file, parse_rule_groups
from flightlog.rules.model import AlertingRule, InstantQuerier, RecordingRule, RuleGroup, Sample
from flightlog.rules.querier import EngineQuerier
from flightlog.rules.ruler import Ruler
from flightlog.rules.state_db import RulesStateDB

__all__ = [
    "Alert",
    "AlertingRule",
    "EngineQuerier",
    "InstantQuerier",
    "RecordingRule",
    "RuleGroup",
    "Ruler",
    "RulesStateDB",
    "Sample",
    "load_rule_file",
    "parse_rule_groups",
]
