"""The routing tree sends each label set to the receivers Alertmanager would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlog.errors import ConfigError
from flightlog.notify.config import load_alerting_config
from flightlog.notify.routing import group_key, match_routes

CONFIG = {
    "route": {
        "receiver": "default",
        "group_by": ["alertname"],
        "routes": [
            {"matchers": ['severity="critical"'], "receiver": "pager", "continue": True},
            {
                "match": {"team": "ml"},
                "receiver": "ml",
                "routes": [{"match_re": {"env": "prod|staging"}, "receiver": "ml-prod"}],
            },
            {"matchers": ['service=~"api-.*"', 'env!="dev"'], "receiver": "api"},
            {"matchers": ['service!~"api-.*"', "env=dev"], "receiver": "dev"},
        ],
    },
    "receivers": [{"name": n} for n in ("default", "pager", "ml", "ml-prod", "api", "dev")],
}


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"alertname": "X"}, ["default"]),
        ({"severity": "critical"}, ["pager"]),
        ({"severity": "critical", "team": "ml", "env": "prod"}, ["pager", "ml-prod"]),
        ({"team": "ml", "env": "dev"}, ["ml"]),
        ({"team": "ml", "env": "staging"}, ["ml-prod"]),
        ({"service": "api-gw", "env": "prod"}, ["api"]),
        ({"service": "api-gw", "env": "dev"}, ["default"]),
        ({"service": "trainer", "env": "dev"}, ["dev"]),
        ({"service": "xapi-gw", "env": "prod"}, ["default"]),
        ({"team": "ml", "service": "api-gw", "env": "prod"}, ["ml-prod"]),
    ],
)
def test_routing_table(labels: dict[str, str], expected: list[str]) -> None:
    """Each label set reaches exactly the expected receivers in tree order."""
    config = load_alerting_config(CONFIG)
    assert [r.receiver for r in match_routes(config.route, labels)] == expected


def test_children_inherit_group_by_and_timers() -> None:
    """A child route without its own settings takes its parent's."""
    config = load_alerting_config(
        {
            "route": {
                "receiver": "a",
                "group_by": ["x"],
                "group_wait": "1s",
                "routes": [{"match": {"k": "v"}}],
            },
            "receivers": [{"name": "a"}],
        }
    )
    child = config.route.routes[0]
    assert (child.receiver, child.group_by, child.group_wait_s, child.group_interval_s) == (
        "a",
        ("x",),
        1.0,
        300.0,
    )
    assert child.repeat_interval_s == 4 * 3600


def test_group_by_dots_groups_by_all_labels() -> None:
    """`group_by: ['...']` makes every distinct label set its own group."""
    config = load_alerting_config(
        {"route": {"receiver": "a", "group_by": ["..."]}, "receivers": [{"name": "a"}]}
    )
    assert group_key(config.route, {"b": "2", "a": "1"}) == '{}:{a="1", b="2"}'


def test_group_key_names_route_path() -> None:
    """Group keys carry the matchers of the route path, as Alertmanager's do."""
    config = load_alerting_config(CONFIG)
    route = match_routes(config.route, {"team": "ml", "env": "prod", "alertname": "A"})[0]
    assert group_key(route, {"team": "ml", "env": "prod", "alertname": "A"}) == (
        '{}/{team="ml"}/{env=~"prod|staging"}:{alertname="A"}'
    )


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ({"route": {"receiver": "nope"}, "receivers": [{"name": "a"}]}, "'nope' is not defined"),
        (
            {"route": {"receiver": "a", "group_wait": "soon"}, "receivers": [{"name": "a"}]},
            "group_wait",
        ),
        (
            {"route": {"receiver": "a", "recevier": "b"}, "receivers": [{"name": "a"}]},
            "alerting.route.recevier",
        ),
        ({"route": {"receiver": "a", "matchers": ["a=~("]}, "receivers": [{"name": "a"}]}, "regex"),
        (
            {"route": {"receiver": "a"}, "receivers": [{"name": "a", "webhook_configs": [{}]}]},
            "one of `url` or `url_file` is required",
        ),
        ({"receivers": [{"name": "a"}]}, "alerting.route is missing"),
        (
            {
                "route": {"receiver": "a", "matchers": ["not a matcher"]},
                "receivers": [{"name": "a"}],
            },
            "not valid",
        ),
    ],
)
def test_bad_config_names_the_problem(document: dict, needle: str) -> None:
    """Invalid alerting config raises ConfigError with the key and the fix."""
    with pytest.raises(ConfigError, match=None) as info:
        load_alerting_config(document)
    assert needle in str(info.value)


def test_unsupported_keys_are_warnings() -> None:
    """`templates` and unsupported integrations are reported, not silently dropped."""
    config = load_alerting_config(
        {
            "templates": ["/etc/am/*.tmpl"],
            "route": {"receiver": "a"},
            "receivers": [{"name": "a", "opsgenie_configs": [{"api_key": "x"}]}],
        }
    )
    assert any("templates" in w for w in config.warnings)
    assert any("opsgenie_configs" in w for w in config.warnings)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["route", "receivers", "inhibit_rules", "global", "templates", "x"]),
        _json,
        max_size=4,
    )
)
def test_garbage_config_is_a_config_error(document: dict) -> None:
    """Any document either loads or raises ConfigError, never another exception."""
    try:
        load_alerting_config(document)
    except ConfigError:
        pass
