"""The Go-template subset of labels and annotations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightlog.errors import RuleError
from flightlog.rules.template import (
    TemplateData,
    check_template,
    expand,
    humanize,
    humanize_duration,
)

DATA = TemplateData({"service": "api", "env": "prod"}, 0.01234, "http://fl")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ $labels.service }} in {{ $labels.env }}", "api in prod"),
        ("{{ .Labels.service }}", "api"),
        ("{{ $value }}", "0.01234"),
        ("{{ $value | humanize }}", "12.34m"),
        ("{{ humanizePercentage $value }}", "1.234%"),
        ('{{ printf "%.1f" $value }}', "0.0"),
        ('{{ index $labels "env" }}', "prod"),
        ("{{ $labels.missing }}!", "!"),
        ("a  {{- $labels.env -}}  b", "aprodb"),
        ("{{ $labels.service | toUpper }}", "API"),
        ("see {{ $externalURL }}", "see http://fl"),
        ("no actions", "no actions"),
    ],
)
def test_expand(template: str, expected: str) -> None:
    """Each supported form expands like Prometheus's templates."""
    assert expand(template, DATA) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{ if $value }}x{{ end }}",
        "{{ $lables.service }}",
        "{{ nope $value }}",
        "{{ $value",
        "{{ }}",
        '{{ printf "%d }}',
    ],
)
def test_unsupported_templates_are_errors(template: str) -> None:
    """Anything outside the subset is a RuleError at load time."""
    with pytest.raises(RuleError):
        check_template(template)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "0"), (1, "1"), (1234, "1.234k"), (1_234_567, "1.235M"), (0.5, "500m"), (-2500, "-2.5k")],
)
def test_humanize(value: float, expected: str) -> None:
    """humanize uses SI prefixes with four significant digits."""
    assert humanize(value) == expected


def test_humanize_duration() -> None:
    """humanizeDuration writes days to seconds, and sub-second units."""
    assert humanize_duration(90061) == "1d 1h 1m 1s"
    assert humanize_duration(0.25) == "250ms"


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    """Any text either expands or raises RuleError, nothing else."""
    try:
        expand(text, DATA)
    except RuleError:
        pass
