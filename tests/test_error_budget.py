"""The one error-budget arithmetic, worked out by hand for a 99.9 % objective."""

from __future__ import annotations

import pytest

from flightlog import error_budget as eb
from flightlog.errors import SloError
from flightlog.monitor import slo as monitor_slo
from flightlog.rules.slo import SLO


@pytest.mark.parametrize(
    ("bad", "eligible", "burn", "remaining"),
    [
        (0, 10_000, 0.0, 1.0),  # nothing bad: untouched
        (10, 10_000, 1.0, 0.0),  # 0.1 % bad: exactly the budget
        (5, 10_000, 0.5, 0.5),
        (144, 10_000, 14.4, -13.4),  # the page threshold of the SRE workbook
    ],
)
def test_burn_rate_and_remaining_budget(bad, eligible, burn, remaining) -> None:
    ratio = eb.error_ratio(bad, eligible)
    assert eb.burn_rate(ratio, 0.999) == pytest.approx(burn)
    assert eb.budget_remaining(bad, eligible, 0.999) == pytest.approx(remaining)
    assert eb.budget_remaining_from_ratio(ratio, 0.999) == pytest.approx(remaining)


def test_rules_and_monitor_use_the_same_functions() -> None:
    """SLO alert rules and model monitoring share one copy of the arithmetic."""
    assert monitor_slo.burn_rate is eb.burn_rate
    assert monitor_slo.budget_remaining is eb.budget_remaining
    slo = SLO(name="api", service="api", objective=0.995, window_s=30 * 86400, total="x")
    assert slo.error_budget == pytest.approx(0.005)


def test_an_objective_in_percent_is_refused_with_the_fix() -> None:
    with pytest.raises(SloError, match=r"0\.999 for 99\.9"):
        eb.burn_rate(0.01, 99.9)
