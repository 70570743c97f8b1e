"""Rule files: valid groups load; every error names file, line, group, rule and position."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlog.errors import RuleError
from flightlog.rules.loader import dump_groups, load_rule_file, parse_rule_groups
from flightlog.rules.model import AlertingRule, RecordingRule

GOOD = """\
groups:
  - name: api
    interval: 30s
    rules:
      - alert: HighErrors
        expr: sum by (service) (count_over_time({service="api"} |= "error" [5m])) > 5
        for: 2m
        keep_firing_for: 5m
        labels:
          severity: high
        annotations:
          summary: "{{ $labels.service }} has {{ $value | humanize }} errors"
          runbook_url: https://runbooks/errors
      - record: api:lines:rate1m
        expr: sum(rate({service="api"}[1m]))
"""


def test_good_file_loads_with_lines(tmp_path: Path) -> None:
    """Groups, rules, durations and line numbers come out as written."""
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    (group,) = load_rule_file(path)
    assert (group.name, group.interval_s, group.namespace) == ("api", 30.0, str(path))
    alert, record = group.rules
    assert isinstance(alert, AlertingRule) and isinstance(record, RecordingRule)
    assert (alert.for_s, alert.keep_firing_for_s, alert.line, record.line) == (120.0, 300.0, 5, 14)
    assert alert.annotations["runbook_url"] == "https://runbooks/errors"


def test_dump_round_trips() -> None:
    """Dumping groups and loading them again gives the same groups."""
    groups = parse_rule_groups(GOOD, "a.yaml")
    again = parse_rule_groups(dump_groups(groups), "a.yaml")
    assert [(g.name, g.interval_s) for g in again] == [("api", 30.0)]
    assert [r.expr for r in again[0].rules] == [r.expr for r in groups[0].rules]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace('|= "error" [5m]', '|= "error" [5m')[:], "r.yaml:6:"),
        (GOOD.replace("for: 2m", "for: soon"), 'r.yaml:7:14: group "api", rule "HighErrors": for:'),
        (GOOD.replace("summary:", 'summary: "{{ if $value }}"\n          x:'), "r.yaml:12:"),
        (
            GOOD.replace("alert: HighErrors", "alert: HighErrors\n        record: x"),
            "exactly one of",
        ),
        (GOOD.replace("severity: high", "bad-name: high"), "'bad-name' is not a valid label name"),
        (
            GOOD.replace("interval: 30s", "intervall: 30s"),
            "r.yaml:3:5: unknown group key 'intervall'",
        ),
        (GOOD.replace("record: api:lines:rate1m", "record: 'bad name'"), "not a valid metric name"),
        ("groups: [\n", "r.yaml:2:1: not valid YAML"),
        (
            "groups:\n  - name: a\n    rules:\n      - alert: X\n",
            'r.yaml:4:9: group "a", rule "X": `expr` is missing',
        ),
        ("rules: []\n", "unknown top-level key 'rules'"),
        ("groups:\n  - name: a\n  - name: a\n", 'group "a" is defined twice'),
    ],
)
def test_errors_name_file_line_rule(text: str, expected: str) -> None:
    """Each broken file raises RuleError with its location."""
    with pytest.raises(RuleError) as info:
        parse_rule_groups(text, "r.yaml")
    assert expected in str(info.value)


def test_parse_error_points_into_the_expression() -> None:
    """A LogQL parse error's column is translated to the column in the file."""
    text = 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: count_over_time({a="b"} [5m) > 1\n'
    with pytest.raises(RuleError) as info:
        parse_rule_groups(text, "r.yaml")
    message = str(info.value)
    assert (
        message.startswith("r.yaml:5:")
        and 'group "g", rule "A"' in message
        and "parse error" in message
    )
    column = int(message.split(":")[2])
    assert text.splitlines()[4][column - 1 :].startswith(")")


def test_block_scalar_parse_error_line() -> None:
    """Errors inside a multi-line `expr: |` point at the right file line."""
    text = 'groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: |\n          sum(\n            rate({a="b"}[1m]]))\n'
    with pytest.raises(RuleError) as info:
        parse_rule_groups(text, "r.yaml")
    assert str(info.value).startswith("r.yaml:7:")


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    """An unreadable file names the path."""
    with pytest.raises(RuleError, match="cannot read rule file"):
        load_rule_file(tmp_path / "nope.yaml")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_garbage_raises_rule_error_only(text: str) -> None:
    """Arbitrary text either parses or raises RuleError, never anything else."""
    try:
        parse_rule_groups(text, "g.yaml")
    except RuleError:
        pass


def test_truncated_file_is_an_error() -> None:
    """A file cut mid-rule is reported, not half-loaded."""
    with pytest.raises(RuleError):
        parse_rule_groups(GOOD[: GOOD.index("for: 2m") + 5] + "\n   bad: [", "t.yaml")
