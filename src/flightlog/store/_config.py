"""Configuration values of the store: segment cutting, out-of-order window, retention."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from flightlog.errors import ConfigError
from flightlog.model import LabelMatcher

__all__ = ["RetentionRule", "StoreConfig"]


@dataclass(frozen=True)
class RetentionRule:
    """Keep entries of streams matching every matcher for ``period_secs``.

    ``tenant`` limits the rule to one tenant (``None``: every tenant); a rule with no
    matchers and a tenant is that tenant's default retention. The first rule (in order)
    that applies to a stream decides its period.
    """

    matchers: tuple[LabelMatcher, ...]
    period_secs: float
    tenant: str | None = None

    def applies_to(self, tenant: str, labels: dict[str, str]) -> bool:
        """Whether this rule decides the retention of a stream of ``tenant``."""
        if self.tenant is not None and self.tenant != tenant:
            return False
        return all(m.matches_labels(labels) for m in self.matchers)


@dataclass(frozen=True)
class StoreConfig:
    """Options of the embedded store; units are in the names."""

    data_dir: Path
    max_segment_bytes: int = 64 * 1024 * 1024
    max_segment_age_secs: float = 300.0
    out_of_order_window_secs: float = 3600.0
    retention_period_secs: float | None = None
    retention_rules: tuple[RetentionRule, ...] = ()
    fsync: bool = True

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first bad option and what to use instead."""
        if self.max_segment_bytes < 1024:
            raise ConfigError(
                f"store.max_segment_bytes is {self.max_segment_bytes}: use at least 1024 bytes"
            )
        _positive("store.max_segment_age_secs", self.max_segment_age_secs)
        _positive("store.out_of_order_window_secs", self.out_of_order_window_secs)
        if self.retention_period_secs is not None:
            _positive("store.retention_period_secs", self.retention_period_secs)
        for index, rule in enumerate(self.retention_rules):
            _positive(f"store.retention_rules[{index}].period_secs", rule.period_secs)
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise ConfigError(
                f"store.data_dir {str(self.data_dir)!r} is a file: give a directory path"
            )


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} is {value!r}: use a positive number of seconds")
