"""The UI against a server with bearer tokens: it asks for a token, sends it, explains 403s."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NS = 1_000_000_000
WAIT_MS = 30_000
READ_TOKEN = "ui-reader-secret"
WRITE_TOKEN = "ui-writer-secret"
ADMIN_TOKEN = "ui-admin-secret"
TOKENS = [
    {"token": READ_TOKEN, "tenant": "default", "role": "read"},
    {"token": WRITE_TOKEN, "tenant": "default", "role": "write"},
    {"token": ADMIN_TOKEN, "tenant": "default", "role": "admin"},
]
QUERY_PATH = '/?query={service="auth-ui"}&range=1h'


def _writer() -> dict[str, str]:
    return {"Authorization": f"Bearer {WRITE_TOKEN}"}


def _admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _push(url: str, line: str) -> None:
    body = {
        "streams": [{"stream": {"service": "auth-ui"}, "values": [[str(time.time_ns()), line]]}]
    }
    response = httpx.post(f"{url}/loki/api/v1/push", json=body, headers=_writer(), timeout=10)
    assert response.status_code == 204, response.text


@pytest.fixture(scope="module")
def auth_server(flightlog_module_server_factory: Callable[..., Any]) -> Any:
    """A server that needs a token for every API call, holding one line to find."""
    server = flightlog_module_server_factory({"auth": {"tokens": TOKENS}})
    _push(server.url, "stored behind a token")
    return server


def _no_page_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _enter_token(page: Any, token: str, *, remember: bool = False) -> None:
    page.wait_for_selector("#auth-prompt #auth-token", timeout=WAIT_MS)
    page.fill("#auth-token", token)
    if remember:
        page.check("#auth-remember")
    page.click("#auth-prompt button[type=submit]")


def _prompt_says(page: Any, text: str) -> None:
    page.wait_for_selector(f"#auth-message >> text={text}", timeout=WAIT_MS)


def test_a_401_asks_for_a_token_and_the_page_loads_once_one_is_saved(
    page: Any, auth_server: Any
) -> None:
    """No token: a password prompt; a wrong one is refused again; a read token shows the data."""
    errors = _no_page_errors(page)
    page.goto(auth_server.url + QUERY_PATH)
    _prompt_says(page, "This server needs an API token")
    assert page.get_attribute("#auth-token", "type") == "password"
    assert page.locator("#rows td.logline").count() == 0
    _enter_token(page, "not-a-token")
    _prompt_says(page, "The saved API token was not accepted")
    _enter_token(page, READ_TOKEN)
    page.wait_for_selector("#rows td.logline >> text=stored behind a token", timeout=WAIT_MS)
    assert page.locator("#auth-prompt").count() == 0
    assert page.is_visible("#sign-out")
    assert page.inner_text("#error") == ""
    assert READ_TOKEN not in page.content()
    stored = page.evaluate("() => [sessionStorage.length, localStorage.length]")
    assert stored == [1, 0], "kept for this tab only unless Remember is ticked"
    assert errors == []


def test_a_remembered_token_survives_a_new_tab_until_sign_out(page: Any, auth_server: Any) -> None:
    """Remember keeps the token for the browser; Sign out forgets it and the prompt returns."""
    page.goto(auth_server.url + QUERY_PATH)
    _enter_token(page, READ_TOKEN, remember=True)
    page.wait_for_selector("#rows td.logline >> text=stored behind a token", timeout=WAIT_MS)
    other = page.context.new_page()
    other.goto(auth_server.url + QUERY_PATH)
    other.wait_for_selector("#rows td.logline >> text=stored behind a token", timeout=WAIT_MS)
    assert other.locator("#auth-prompt").count() == 0
    other.click("#sign-out")
    _prompt_says(other, "This server needs an API token")
    assert other.locator("#sign-out").count() == 0
    assert other.evaluate("() => [sessionStorage.length, localStorage.length]") == [0, 0]
    other.close()


def test_a_read_token_creating_a_silence_is_told_it_needs_the_write_role(
    page: Any, auth_server: Any
) -> None:
    """The 403 is explained in the prompt; saving an admin token sends the silence again.

    Admin, because the page reads the silences again afterwards and a write token cannot.
    """
    page.goto(f"{auth_server.url}/alerts")
    _enter_token(page, READ_TOKEN)
    page.wait_for_selector("#silences tr", timeout=WAIT_MS)
    page.fill("#matchers", 'alertname="AuthTest"')
    page.fill("#comment", "made with a write token")
    page.click("#silence-form button[type=submit]")
    _prompt_says(page, "This token cannot do that: it needs the write role.")
    assert page.get_attribute("#auth-prompt", "data-status") == "403"
    _enter_token(page, ADMIN_TOKEN)
    row = page.locator("#silences tr", has_text="made with a write token")
    row.wait_for(timeout=WAIT_MS)
    assert page.locator("#auth-prompt").count() == 0
    assert page.inner_text("#error") == ""
    listed = httpx.get(f"{auth_server.url}/api/v2/silences", headers=_admin(), timeout=10)
    assert [s["comment"] for s in listed.json()].count("made with a write token") == 1


def test_closing_the_403_prompt_shows_the_refusal(page: Any, auth_server: Any) -> None:
    """Close gives up: the action's error box says what the server refused, nothing is made."""
    page.goto(f"{auth_server.url}/alerts")
    _enter_token(page, READ_TOKEN)
    page.wait_for_selector("#silences tr", timeout=WAIT_MS)
    page.fill("#matchers", 'alertname="AuthTest"')
    page.fill("#comment", "never created")
    page.click("#silence-form button[type=submit]")
    _prompt_says(page, "it needs the write role")
    page.click("#auth-prompt button >> text=Close")
    page.wait_for_selector("#error >> text=403", timeout=WAIT_MS)
    assert READ_TOKEN not in page.inner_text("#error")
    listed = httpx.get(f"{auth_server.url}/api/v2/silences", headers=_admin(), timeout=10)
    assert "never created" not in [s["comment"] for s in listed.json()]


def test_live_tail_sends_the_token_and_shows_a_new_line(page: Any, auth_server: Any) -> None:
    """The tail websocket carries the saved token (as a subprotocol) and follows new lines."""
    errors = _no_page_errors(page)
    page.goto(auth_server.url + QUERY_PATH)
    _enter_token(page, READ_TOKEN)
    page.wait_for_selector("#rows td.logline", timeout=WAIT_MS)
    page.click("#tail")
    page.wait_for_selector("#summary >> text=tailing", timeout=WAIT_MS)
    line = f"tailed behind a token {time.time_ns()}"
    _push(auth_server.url, line)
    page.wait_for_selector(f"#rows td.logline >> text={line}", timeout=WAIT_MS)
    assert page.locator("#auth-prompt").count() == 0
    assert page.inner_text("#error") == ""
    assert errors == []


def test_live_tail_refused_for_want_of_a_token_asks_and_tails_once_saved(
    page: Any, auth_server: Any
) -> None:
    """A tail the server refuses (401 over the websocket) opens the prompt, then starts again."""
    page.goto(auth_server.url + QUERY_PATH)
    _enter_token(page, READ_TOKEN)
    page.wait_for_selector("#rows td.logline", timeout=WAIT_MS)
    page.evaluate("() => sessionStorage.clear()")  # as if signed out in the meantime
    page.click("#tail")
    _prompt_says(page, "This server needs an API token")
    assert page.get_attribute("#tail", "aria-pressed") == "false"
    _enter_token(page, READ_TOKEN)
    page.wait_for_selector("#summary >> text=tailing", timeout=WAIT_MS)
    line = f"tailed after the prompt {time.time_ns()}"
    _push(auth_server.url, line)
    page.wait_for_selector(f"#rows td.logline >> text={line}", timeout=WAIT_MS)
    assert page.get_attribute("#tail", "aria-pressed") == "true"
