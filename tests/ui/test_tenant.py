"""The header's Tenant field: the UI reads the chosen tenant (X-Scope-OrgID), live tail too;
deep links carry it as ``tenant=``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MS = 30_000
OTHER = "team-ui"
DEFAULT_LINE = "line of the default tenant"
OTHER_LINE = "line of the team-ui tenant"


def _push(url: str, service: str, line: str, tenant: str | None = None) -> None:
    body = {"streams": [{"stream": {"service": service}, "values": [[str(time.time_ns()), line]]}]}
    headers = {"X-Scope-OrgID": tenant} if tenant else {}
    response = httpx.post(f"{url}/loki/api/v1/push", json=body, headers=headers, timeout=10)
    assert response.status_code == 204, response.text


@pytest.fixture(scope="module")
def tenant_server(flightlog_module_server_factory: Callable[..., Any]) -> Any:
    """A server holding one line of the same stream in the default tenant and in team-ui."""
    server = flightlog_module_server_factory()
    _push(server.url, "tenant-ui", DEFAULT_LINE)
    _push(server.url, "tenant-ui", OTHER_LINE, OTHER)
    return server


def _no_page_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _choose_tenant(page: Any, tenant: str) -> None:
    """Type the tenant into the header field; committing it reloads the page."""
    page.fill("#tenant", tenant)
    with page.expect_navigation(timeout=WAIT_MS):
        page.press("#tenant", "Enter")


def _logline(page: Any, text: str) -> Any:
    return page.locator("#rows td.logline", has_text=text)


def test_the_tenant_field_switches_explore_to_that_tenant_and_is_remembered(
    page: Any, tenant_server: Any
) -> None:
    """Empty field: default's lines only; team-ui typed in: team-ui's only, also after a reload."""
    errors = _no_page_errors(page)
    page.goto(f'{tenant_server.url}/?query={{service="tenant-ui"}}&range=1h')
    assert page.get_attribute("#tenant", "placeholder") == "default"
    assert page.input_value("#tenant") == ""
    _logline(page, DEFAULT_LINE).wait_for(timeout=WAIT_MS)
    assert _logline(page, OTHER_LINE).count() == 0

    _choose_tenant(page, OTHER)
    _logline(page, OTHER_LINE).wait_for(timeout=WAIT_MS)
    assert _logline(page, DEFAULT_LINE).count() == 0
    assert page.input_value("#tenant") == OTHER

    page.reload()
    _logline(page, OTHER_LINE).wait_for(timeout=WAIT_MS)
    assert _logline(page, DEFAULT_LINE).count() == 0
    assert page.input_value("#tenant") == OTHER

    _choose_tenant(page, "")  # empty again: no header, the server's default tenant
    _logline(page, DEFAULT_LINE).wait_for(timeout=WAIT_MS)
    assert _logline(page, OTHER_LINE).count() == 0
    assert errors == []


def test_live_tail_follows_the_chosen_tenant(page: Any, tenant_server: Any) -> None:
    """Live tail with team-ui chosen shows team-ui's new line and not one pushed to default."""
    errors = _no_page_errors(page)
    page.goto(f'{tenant_server.url}/?query={{service="tenant-tail"}}&range=5m')
    _choose_tenant(page, OTHER)
    page.click("#tail")
    page.wait_for_selector("#summary >> text=tailing", timeout=WAIT_MS)
    stamp = time.time_ns()
    default_line, other_line = f"default tail {stamp}", f"team-ui tail {stamp}"
    _push(tenant_server.url, "tenant-tail", default_line)
    _push(tenant_server.url, "tenant-tail", other_line, OTHER)
    _logline(page, other_line).wait_for(timeout=WAIT_MS)
    assert _logline(page, default_line).count() == 0
    page.click("#tail")
    assert page.get_attribute("#tail", "aria-pressed") == "false"
    assert errors == []


# ---- deep links carry the tenant (`tenant=`, as Grafana's `orgId=`) ------------------------------

TEAM_A, TEAM_B = "team-a", "team-b"
LINK_SELECTOR = '{service="deep-link"}'
A_LINE, B_LINE = "deep link line of team-a", "deep link line of team-b"
B_RULES = """
name: deep-link
interval: 1s
rules:
  - alert: DeepLinkLines
    expr: sum by (service) (count_over_time({service="deep-link"} |= "team-b" [1h])) > 0
"""


@pytest.fixture(scope="module")
def two_tenants_server(flightlog_module_server_factory: Callable[..., Any]) -> Any:
    """A server holding a line of the same stream in team-a and in team-b, and a team-b alert."""
    server = flightlog_module_server_factory()
    _push(server.url, "deep-link", A_LINE, TEAM_A)
    _push(server.url, "deep-link", B_LINE, TEAM_B)
    posted = httpx.post(
        f"{server.url}/loki/api/v1/rules/ui",
        content=B_RULES,
        headers={"X-Scope-OrgID": TEAM_B, "Content-Type": "application/yaml"},
        timeout=10,
    )
    assert posted.status_code == 202, posted.text
    return server


@pytest.fixture
def colleague(browser: Any) -> Iterator[Any]:
    """A second browser whose remembered tenant is team-a: whoever a link is shared with."""
    context = browser.new_context(timezone_id="UTC")
    context.add_init_script(f"localStorage.setItem('flightlog.tenant', {TEAM_A!r})")
    yield context.new_page()
    context.close()


def _stored_tenant(page: Any) -> str | None:
    return page.evaluate("localStorage.getItem('flightlog.tenant')")


def _explore_link(server: Any, tenant: str) -> str:
    return f"{server.url}/?{urlencode({'query': LINK_SELECTOR, 'range': '1h', 'tenant': tenant})}"


def test_a_deep_link_with_a_tenant_opens_that_tenant_and_keeps_the_stored_one(
    colleague: Any, two_tenants_server: Any
) -> None:
    """tenant=team-b shows team-b's lines and fills the field; team-a stays the remembered one."""
    errors = _no_page_errors(colleague)
    colleague.goto(_explore_link(two_tenants_server, TEAM_B))
    _logline(colleague, B_LINE).wait_for(timeout=WAIT_MS)
    assert _logline(colleague, A_LINE).count() == 0
    assert colleague.input_value("#tenant") == TEAM_B
    assert _stored_tenant(colleague) == TEAM_A

    colleague.goto(f"{two_tenants_server.url}/?{urlencode({'query': LINK_SELECTOR})}")
    _logline(colleague, A_LINE).wait_for(timeout=WAIT_MS)
    assert _logline(colleague, B_LINE).count() == 0
    assert colleague.input_value("#tenant") == TEAM_A
    assert errors == []


def test_the_url_after_a_query_carries_the_tenant_and_opens_it_for_a_colleague(
    page: Any, colleague: Any, two_tenants_server: Any
) -> None:
    """Running a query with team-b remembered leaves tenant=team-b in the URL; that URL shows
    team-b's line to a colleague who remembers team-a."""
    errors = _no_page_errors(page)
    page.context.add_init_script(f"localStorage.setItem('flightlog.tenant', {TEAM_B!r})")
    page.goto(two_tenants_server.url)
    page.fill("#query", LINK_SELECTOR)
    page.click("#run")
    _logline(page, B_LINE).wait_for(timeout=WAIT_MS)
    shared = page.url
    assert parse_qs(urlsplit(shared).query)["tenant"] == [TEAM_B]

    colleague.goto(shared)
    _logline(colleague, B_LINE).wait_for(timeout=WAIT_MS)
    assert _logline(colleague, A_LINE).count() == 0
    assert _stored_tenant(colleague) == TEAM_A
    assert errors == []


def test_an_alerts_query_in_explore_link_carries_the_tenant(
    page: Any, colleague: Any, two_tenants_server: Any
) -> None:
    """team-b's alert links to Explore with tenant=team-b; the link shows team-b's series."""
    errors = _no_page_errors(page)
    page.goto(f"{two_tenants_server.url}/alerts?tenant={TEAM_B}")
    page.wait_for_function(
        """async (tenant) => {
          const response = await fetch("/prometheus/api/v1/alerts", { headers: { "X-Scope-OrgID": tenant } });
          return (await response.json()).data.alerts.some((a) => a.labels.alertname === "DeepLinkLines");
        }""",
        arg=TEAM_B,
        polling=200,
        timeout=WAIT_MS,
    )
    page.reload()
    link = page.locator("#alerts .card", has_text="DeepLinkLines").get_by_role(
        "link", name="Query in Explore"
    )
    link.wait_for(timeout=WAIT_MS)
    href = link.get_attribute("href")
    assert href is not None
    assert parse_qs(urlsplit(href).query)["tenant"] == [TEAM_B]

    colleague.goto(f"{two_tenants_server.url}{href}")  # team-a has no line with "team-b"
    colleague.wait_for_selector("#summary >> text=1 series", timeout=WAIT_MS)
    assert errors == []
