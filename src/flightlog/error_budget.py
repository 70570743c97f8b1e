"""Error-budget arithmetic, the one copy shared by SLO alert rules and model monitoring.

An SLI is a ratio good / eligible, in events or in seconds; the arithmetic is the same::

    error ratio  = bad / eligible                      (bad = eligible - good)
    error budget = (1 - objective) x eligible          bad events (or bad seconds) allowed
    consumed     = bad / error budget                  1.0 = budget exhausted
    burn rate    = error ratio / (1 - objective)       1.0 = exactly exhausting it by the
                                                       end of the SLO window

``flightlog.rules`` (SLO status from LogQL ratios) and ``flightlog.monitor`` (SLIs of a
model version) both call these, so a budget reads the same on ``flightlog slo status``
and in a model's SLI report. Impossible inputs raise ``SloError`` naming the value.
"""

from __future__ import annotations

import math

from flightlog.errors import SloError

__all__ = [
    "budget_consumed",
    "budget_remaining",
    "budget_remaining_from_ratio",
    "burn_rate",
    "error_budget",
    "error_ratio",
    "time_to_exhaustion_seconds",
    "validate_objective",
]


def validate_objective(objective: float) -> float:
    """An objective is a ratio strictly between 0 and 1 (0.999, not 99.9)."""
    if not 0.0 < objective < 1.0:
        raise SloError(f"objective={objective}: must be a ratio in (0, 1), e.g. 0.999 for 99.9 %")
    return objective


def error_ratio(bad: float, eligible: float) -> float:
    """bad / eligible; 0 when nothing was eligible (no traffic burns no budget)."""
    if bad < 0 or eligible < 0 or bad > eligible:
        raise SloError(f"bad={bad}, eligible={eligible}: need 0 <= bad <= eligible")
    return bad / eligible if eligible > 0 else 0.0


def error_budget(objective: float, eligible: float) -> float:
    """Bad events (or seconds) allowed: (1 - objective) x eligible."""
    validate_objective(objective)
    if eligible < 0:
        raise SloError(f"eligible={eligible}: must be >= 0")
    return (1.0 - objective) * eligible


def burn_rate(observed_error_ratio: float, objective: float) -> float:
    """How fast the budget burns: error ratio / (1 - objective); 1.0 lasts exactly the window."""
    validate_objective(objective)
    if not 0.0 <= observed_error_ratio <= 1.0:
        raise SloError(f"error ratio {observed_error_ratio}: must be within [0, 1]")
    return observed_error_ratio / (1.0 - objective)


def budget_consumed(bad: float, eligible: float, objective: float) -> float:
    """Fraction of the error budget spent (above 1.0 when overspent)."""
    error_ratio(bad, eligible)
    budget = error_budget(objective, eligible)
    return bad / budget if budget > 0 else 0.0


def budget_remaining(bad: float, eligible: float, objective: float) -> float:
    """1 - consumed: 1.0 untouched, 0.0 exhausted, negative when overspent."""
    return 1.0 - budget_consumed(bad, eligible, objective)


def budget_remaining_from_ratio(observed_error_ratio: float, objective: float) -> float:
    """1 - consumed from the window's error ratio alone (what a recorded ratio gives)."""
    return 1.0 - burn_rate(observed_error_ratio, objective)


def time_to_exhaustion_seconds(
    remaining_fraction: float, current_burn_rate: float, slo_window_seconds: float
) -> float:
    """Seconds until the remaining budget is gone at the current burn rate (inf if not burning).

    A burn rate of 1 spends the whole budget in one SLO window, so the remaining fraction
    lasts ``remaining_fraction x window / burn_rate``.
    """
    if remaining_fraction <= 0:
        return 0.0
    if current_burn_rate <= 0:
        return math.inf
    return remaining_fraction * slo_window_seconds / current_burn_rate
