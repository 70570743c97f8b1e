"""Inhibition: a firing source alert mutes target alerts that share its ``equal`` labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flightlog.notify.config import InhibitRule
from flightlog.notify.matchers import matches_all
from flightlog.rules.alert import Alert

__all__ = ["inhibiting"]


def inhibiting(
    rules: Iterable[InhibitRule], target: Mapping[str, str], firing: Iterable[Alert]
) -> list[str]:
    """Fingerprints of the firing alerts that inhibit ``target`` (an alert never inhibits itself)."""
    rules = [r for r in rules if matches_all(r.target_matchers, target)]
    if not rules:
        return []
    found: list[str] = []
    for source in firing:
        if source.labels == target:
            continue
        for rule in rules:
            if matches_all(rule.source_matchers, source.labels) and all(
                source.labels.get(n, "") == target.get(n, "") for n in rule.equal
            ):
                found.append(source.fingerprint)
                break
    return found
