"""Reading rule-group YAML (Prometheus/Loki format) with file and line in every error.

The document is composed into YAML nodes first so each rule keeps the line it starts on
and the position of its ``expr``; a LogQL parse error is then reported at its place in
the file: ``rules.yaml:14:17: group "api", rule "HighErrorRate": expr: unexpected ...``.
Expressions are checked by an injected ``check_expr`` (the LogQL parser by default).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from flightlog.errors import ConfigError, ParseError, QueryError, RuleError
from flightlog.rules.durations import parse_duration
from flightlog.rules.model import AlertingRule, RecordingRule, Rule, RuleGroup
from flightlog.rules.recorded_expr import is_recorded_expr
from flightlog.rules.template import check_template

__all__ = ["check_logql", "dump_groups", "load_rule_file", "parse_rule_groups"]

DEFAULT_INTERVAL_S = 60.0
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# What X-Scope-OrgID accepts (Loki's tenant ID characters).
_TENANT_ID = re.compile(r"^[a-zA-Z0-9!\-_.*'()]{1,150}$")
_GROUP_KEYS = {
    "name",
    "interval",
    "rules",
    "limit",
    "query_offset",
    "evaluation_delay",
    "source_tenants",
}
_RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}


def check_logql(expr: str) -> None:
    """Raise ``QueryError`` when ``expr`` is not valid LogQL (nor a recorded-series expression)."""
    if is_recorded_expr(expr):
        return
    from flightlog.query.parser import parse

    parse(expr)


def _plain(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


class _Where:
    def __init__(self, source: str, text: str = "") -> None:
        self.source = source
        self.lines = text.splitlines()

    def indent(self, line: int) -> int:
        """Leading spaces of a 1-based line of the file (0 when unknown)."""
        if 1 <= line <= len(self.lines):
            return len(self.lines[line - 1]) - len(self.lines[line - 1].lstrip(" "))
        return 0

    def error(
        self, node: yaml.Node | None, message: str, line_offset: int = 0, column: int | None = None
    ) -> RuleError:
        if node is None:
            return RuleError(f"{self.source}: {message}")
        line = node.start_mark.line + 1 + line_offset
        col = column if column is not None else node.start_mark.column + 1
        return RuleError(f"{self.source}:{line}:{col}: {message}")


def _mapping(node: yaml.Node, where: _Where, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise where.error(node, f"{what} must be a mapping")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        name = str(key.value)
        if name in out:
            raise where.error(key, f"{what}: key {name!r} appears twice")
        out[name] = (key, value)
    return out


def _string_map(
    node: yaml.Node | None, where: _Where, what: str, label_names: bool
) -> dict[str, str]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return {}
    items = _mapping(node, where, what)
    out = {}
    for name, (key, value) in items.items():
        if label_names and not _LABEL_NAME.match(name):
            raise where.error(key, f"{what}: {name!r} is not a valid label name")
        if not isinstance(value, yaml.ScalarNode):
            raise where.error(value, f"{what}.{name} must be a string")
        text = str(_plain(value)) if value.value != "" else ""
        try:
            check_template(text)
        except RuleError as exc:
            raise where.error(value, f"{what}.{name}: {exc}") from None
        out[name] = text
    return out


def _expr_error(where: _Where, node: yaml.Node, context: str, exc: QueryError) -> RuleError:
    if isinstance(exc, ParseError):
        # Block scalars (| or >) start on the line after the indicator.
        block = isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")
        offset = exc.line - 1 + (1 if block else 0)
        line = node.start_mark.line + 1 + offset
        if block or exc.line > 1:
            column = where.indent(line) + exc.column
        else:
            column = node.start_mark.column + exc.column + (1 if node.style else 0)
        return where.error(node, f"{context}: expr: {exc}", line_offset=offset, column=column)
    return where.error(node, f"{context}: expr: {exc}")


def _rule(node: yaml.Node, where: _Where, group: str, check_expr: Callable[[str], None]) -> Rule:
    fields = _mapping(node, where, f'group "{group}" rule')
    for name, (key, _) in fields.items():
        if name not in _RULE_KEYS:
            raise where.error(
                key,
                f'group "{group}": unknown rule key {name!r}: use one of {", ".join(sorted(_RULE_KEYS))}',
            )
    alert = fields.get("alert")
    record = fields.get("record")
    if (alert is None) == (record is None):
        raise where.error(
            node, f'group "{group}": a rule needs exactly one of `alert:` or `record:`'
        )
    name = str(_plain((alert or record)[1]))  # type: ignore[index]
    context = f'group "{group}", rule "{name}"'
    if "expr" not in fields or not str(_plain(fields["expr"][1]) or "").strip():
        raise where.error(node, f"{context}: `expr` is missing")
    expr_node = fields["expr"][1]
    expr = str(_plain(expr_node)).strip()
    try:
        check_expr(expr)
    except QueryError as exc:
        raise _expr_error(where, expr_node, context, exc) from None
    labels = _string_map(fields.get("labels", (None, None))[1], where, f"{context}: labels", True)
    line = node.start_mark.line + 1
    if record is not None:
        if not _METRIC_NAME.match(name):
            raise where.error(
                record[1],
                f"{context}: {name!r} is not a valid metric name (letters, digits, _ and :)",
            )
        for forbidden in ("for", "keep_firing_for", "annotations"):
            if forbidden in fields:
                raise where.error(
                    fields[forbidden][0], f"{context}: recording rules cannot have `{forbidden}`"
                )
        return RecordingRule(name, expr, labels, line)
    annotations = _string_map(
        fields.get("annotations", (None, None))[1], where, f"{context}: annotations", False
    )

    def duration(key: str) -> float:
        if key not in fields:
            return 0.0
        try:
            return parse_duration(_plain(fields[key][1]))
        except ConfigError as exc:
            raise where.error(fields[key][1], f"{context}: {key}: {exc}") from None

    return AlertingRule(
        name, expr, duration("for"), duration("keep_firing_for"), labels, annotations, line
    )


def parse_rule_groups(
    text: str,
    source: str = "<rules>",
    namespace: str | None = None,
    tenant: str = "default",
    check_expr: Callable[[str], None] = check_logql,
    single_group: bool = False,
) -> list[RuleGroup]:
    """Parse a rule file's text (``groups: [...]``), or one group with ``single_group``.

    Raises ``RuleError`` naming file, line, column, group and rule.
    """
    where = _Where(source, text)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise RuleError(f"{source}{at}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if root is None:
        if single_group:
            raise RuleError(
                f"{source}: the body is empty: send one rule group (name, interval, rules)"
            )
        return []
    if single_group:
        group_nodes = [root]
    else:
        top = _mapping(root, where, "the file")
        for name, (key, _) in top.items():
            if name != "groups":
                raise where.error(
                    key, f"unknown top-level key {name!r}: a rule file holds `groups:`"
                )
        groups_node = top.get("groups", (None, None))[1]
        if groups_node is None:
            return []
        if not isinstance(groups_node, yaml.SequenceNode):
            raise where.error(groups_node, "`groups` must be a list")
        group_nodes = list(groups_node.value)
    out: list[RuleGroup] = []
    seen: set[str] = set()
    for group_node in group_nodes:
        fields = _mapping(group_node, where, "a group")
        for name, (key, _) in fields.items():
            if name not in _GROUP_KEYS:
                raise where.error(
                    key, f"unknown group key {name!r}: use one of {', '.join(sorted(_GROUP_KEYS))}"
                )
        if "name" not in fields or not str(_plain(fields["name"][1]) or "").strip():
            raise where.error(group_node, "a group needs a `name`")
        group_name = str(_plain(fields["name"][1]))
        if group_name in seen:
            raise where.error(
                fields["name"][1], f'group "{group_name}" is defined twice in this file'
            )
        seen.add(group_name)
        interval = DEFAULT_INTERVAL_S
        if "interval" in fields:
            try:
                interval = parse_duration(_plain(fields["interval"][1]))
            except ConfigError as exc:
                raise where.error(
                    fields["interval"][1], f'group "{group_name}": interval: {exc}'
                ) from None
            if interval <= 0:
                raise where.error(
                    fields["interval"][1], f'group "{group_name}": interval must be > 0'
                )
        rules_node = fields.get("rules", (None, None))[1]
        if rules_node is not None and not isinstance(rules_node, yaml.SequenceNode):
            raise where.error(rules_node, f'group "{group_name}": `rules` must be a list')
        rules = tuple(
            _rule(r, where, group_name, check_expr)
            for r in (rules_node.value if rules_node else [])
        )
        limit = int(_plain(fields["limit"][1]) or 0) if "limit" in fields else 0
        out.append(
            RuleGroup(
                group_name,
                rules,
                interval,
                namespace or source,
                tenant,
                limit,
                source,
                _query_offset(fields, where, group_name),
                _source_tenants(fields, where, group_name),
            )
        )
    return out


def _query_offset(
    fields: dict[str, tuple[yaml.Node, yaml.Node]], where: _Where, group: str
) -> float:
    if "query_offset" in fields and "evaluation_delay" in fields:
        raise where.error(
            fields["evaluation_delay"][0],
            f'group "{group}": set query_offset or its older name evaluation_delay, not both',
        )
    for key in ("query_offset", "evaluation_delay"):
        if key in fields:
            try:
                return parse_duration(_plain(fields[key][1]))
            except ConfigError as exc:
                raise where.error(fields[key][1], f'group "{group}": {key}: {exc}') from None
    return 0.0


def _source_tenants(
    fields: dict[str, tuple[yaml.Node, yaml.Node]], where: _Where, group: str
) -> tuple[str, ...]:
    if "source_tenants" not in fields:
        return ()
    node = fields["source_tenants"][1]
    value = _plain(node)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise where.error(node, f'group "{group}": source_tenants must be a list of tenant IDs')
    for tenant in value:
        if not _TENANT_ID.match(tenant) or tenant in (".", ".."):
            raise where.error(
                node,
                f'group "{group}": source_tenants: {tenant!r} is not a tenant ID (up to 150 '
                "letters, digits and !-_.*'() characters)",
            )
    return tuple(dict.fromkeys(value))


def load_rule_file(
    path: Path, tenant: str = "default", check_expr: Callable[[str], None] = check_logql
) -> list[RuleGroup]:
    """Read and parse one rule file; the namespace is the file path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read rule file: {exc.strerror}") from None
    return parse_rule_groups(text, str(path), str(path), tenant, check_expr)


def group_to_dict(group: RuleGroup) -> dict[str, Any]:
    """A group back in its YAML form (what the ruler API returns)."""
    rules: list[dict[str, Any]] = []
    for rule in group.rules:
        if isinstance(rule, RecordingRule):
            item: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
        else:
            item = {"alert": rule.name, "expr": rule.expr}
            if rule.for_s:
                item["for"] = _fmt(rule.for_s)
            if rule.keep_firing_for_s:
                item["keep_firing_for"] = _fmt(rule.keep_firing_for_s)
        if rule.labels:
            item["labels"] = dict(rule.labels)
        if isinstance(rule, AlertingRule) and rule.annotations:
            item["annotations"] = dict(rule.annotations)
        rules.append(item)
    out: dict[str, Any] = {"name": group.name, "interval": _fmt(group.interval_s)}
    if group.query_offset_s:
        out["query_offset"] = _fmt(group.query_offset_s)
    if group.source_tenants:
        out["source_tenants"] = list(group.source_tenants)
    if group.limit:
        out["limit"] = group.limit
    out["rules"] = rules
    return out


def _fmt(seconds: float) -> str:
    from flightlog.rules.durations import format_duration

    return format_duration(seconds)


def dump_groups(groups: list[RuleGroup]) -> str:
    """YAML text of ``groups: [...]``."""
    return yaml.safe_dump(
        {"groups": [group_to_dict(g) for g in groups]}, sort_keys=False, allow_unicode=True
    )
