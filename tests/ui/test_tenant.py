"""The header's Tenant field: the UI reads the chosen tenant (X-Scope-OrgID), live tail too."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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
