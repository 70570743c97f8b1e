"""Walking the routing tree: which routes (and so receivers) an alert's labels reach.

Alertmanager's rule: a node matches when its matchers accept the labels; its children are
tried in order, the first matching child stops the search unless it has ``continue: true``;
a node none of whose children match is itself the destination.
"""

from __future__ import annotations

from collections.abc import Mapping

from flightlog.model import DEFAULT_TENANT, format_labels
from flightlog.notify.config import Route
from flightlog.notify.matchers import matches_all

__all__ = ["group_key", "group_labels", "match_routes"]


def match_routes(route: Route, labels: Mapping[str, str]) -> list[Route]:
    """The destination routes for a label set, in tree order (empty if the node rejects it)."""
    if not matches_all(route.matchers, labels):
        return []
    found: list[Route] = []
    for child in route.routes:
        matched = match_routes(child, labels)
        found.extend(matched)
        if matched and not child.continue_:
            break
    return found or [route]


def group_labels(route: Route, labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that name an alert's group under a route (``group_by``, or all with ``...``)."""
    if route.group_by_all:
        return dict(labels)
    return {name: labels[name] for name in route.group_by if name in labels}


def group_key(route: Route, labels: Mapping[str, str], tenant: str = DEFAULT_TENANT) -> str:
    """Alertmanager's group key ``<route key>:<group labels>``, under ``<tenant>/`` for a tenant
    other than the default (so two tenants' groups, and their PagerDuty incidents, stay apart)."""
    key = f"{route.key}:{format_labels(group_labels(route, labels))}"
    return key if tenant == DEFAULT_TENANT else f"{tenant}/{key}"
