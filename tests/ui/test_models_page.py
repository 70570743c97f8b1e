"""The /models page in headless Chromium against a real server running a scheduled drift check."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NS = 1_000_000_000
WAIT_MS = 30_000
ROWS = 400
QUERY = '{service="churn-model"}'


def _no_page_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture(scope="module")
def drift_server(
    flightlog_module_server_factory: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """A server whose `churn` check sees ages move from ~35 to ~55 while countries stay put."""
    rng = np.random.default_rng(7)
    reference = tmp_path_factory.mktemp("models-ui") / "ref.parquet"
    pq.write_table(
        pa.table(
            {"age": rng.normal(35, 8, 2_000), "country": rng.choice(["DE", "FR", "US"], 2_000)}
        ),
        reference,
    )
    check = {
        "model": "churn",
        "query": QUERY,
        "reference_file": str(reference),
        "categorical": ["country"],
        "window": "30m",
        "interval": "1h",
    }
    server = flightlog_module_server_factory({"monitor": {"drift_checks": [check]}})
    now = time.time_ns()
    ages = rng.normal(55, 8, ROWS)
    countries = rng.choice(["DE", "FR", "US"], ROWS)
    values = [
        [
            str(now - (ROWS - i) * NS // 2),
            orjson.dumps(
                {
                    "event": "prediction",
                    "model": "churn",
                    "features": {"age": float(ages[i]), "country": str(countries[i])},
                    "prediction": 1,
                    "status": "ok",
                }
            ).decode(),
        ]
        for i in range(ROWS)
    ]
    push = httpx.post(
        f"{server.url}/loki/api/v1/push",
        json={"streams": [{"stream": {"service": "churn-model"}, "values": values}]},
        timeout=10,
    )
    assert push.status_code == 204, push.text
    ran = httpx.post(f"{server.url}/api/v1/drift/checks/churn/run", timeout=60)
    assert ran.status_code == 200, ran.text
    assert ran.json()["data"]["drifted"] == ["age"], ran.text
    return server


@pytest.fixture(scope="module")
def plain_server(flightlog_module_server_factory: Callable[..., Any]) -> Any:
    """A server with no monitor section: no drift checks at all."""
    return flightlog_module_server_factory({})


def test_models_page_flags_the_drifted_feature(page: Any, drift_server: Any) -> None:
    """`age` is listed first and flagged with its tests; `country` is listed as not drifted."""
    errors = _no_page_errors(page)
    page.goto(f"{drift_server.url}/models")
    card = page.locator('section.model[data-model="churn"]')
    card.wait_for(timeout=WAIT_MS)
    assert "1 drifted: age" in card.locator("h2").inner_text()
    rows = card.locator("table.features > tbody > tr")
    assert [rows.nth(i).get_attribute("data-feature") for i in range(rows.count())] == [
        "age",
        "country",
    ]
    age = card.locator('tr[data-feature="age"]')
    assert age.locator("td.drift").inner_text() == "yes"
    assert "alert" in age.inner_text()
    assert age.locator("> td").nth(0).inner_text() == "numeric"
    tests = age.locator("table.drift-tests tbody tr")
    assert {"psi", "ks"} <= {tests.nth(i).get_attribute("data-test") for i in range(tests.count())}
    ks = age.locator('tr[data-test="ks"] td').all_inner_texts()
    assert ks[0] == "ks" and ks[2] != "n/a" and float(ks[3]) == 0.05, ks
    country = card.locator('tr[data-feature="country"]')
    assert country.locator("td.drift").inner_text() == "no"
    assert country.locator("> td").nth(0).inner_text() == "categorical"
    assert page.inner_text("#error") == ""
    assert errors == []


def test_models_page_by_keyboard_filters_and_reruns(page: Any, drift_server: Any) -> None:
    """Space on the labelled filter hides undrifted features; Enter on Run now reruns the check."""
    errors = _no_page_errors(page)
    page.goto(f"{drift_server.url}/models")
    page.locator('section.model[data-model="churn"]').wait_for(timeout=WAIT_MS)
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "only-drifted":
            break
    page.keyboard.press("Space")
    page.wait_for_selector('tr[data-feature="country"]', state="detached", timeout=WAIT_MS)
    assert page.locator('tr[data-feature="age"]').count() == 1
    assert "drifted=1" in page.url
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('run-now')"):
            break
    else:
        raise AssertionError("Tab never reached the Run now button")
    with (
        page.expect_response(
            lambda r: r.url.endswith("/api/v1/drift/checks") and r.request.method == "GET",
            timeout=WAIT_MS,
        ) as reloaded,
        page.expect_response(
            lambda r: (
                r.url.endswith("/api/v1/drift/checks/churn/run") and r.request.method == "POST"
            ),
            timeout=WAIT_MS,
        ) as ran,
    ):
        page.keyboard.press("Enter")
    assert ran.value.status == 200 and reloaded.value.status == 200
    page.locator('section.model[data-model="churn"] tr[data-feature="age"]').wait_for(
        timeout=WAIT_MS
    )
    assert page.locator('tr[data-feature="age"] td.drift').inner_text() == "yes"
    assert page.inner_text("#error") == ""
    assert errors == []


def test_models_page_empty_state(page: Any, plain_server: Any) -> None:
    """Without monitor.drift_checks the page says so instead of showing an empty table."""
    errors = _no_page_errors(page)
    page.goto(f"{plain_server.url}/models")
    page.wait_for_selector("#empty", timeout=WAIT_MS)
    assert "No drift checks configured" in page.inner_text("#empty")
    assert page.inner_text("#error") == ""
    assert errors == []


@pytest.fixture(scope="module")
def locked_server(flightlog_module_server_factory: Callable[..., Any]) -> Any:
    """A server that needs a bearer token for its API (the page is given none)."""
    tokens = [{"token": "reader-token", "tenant": "*", "role": "read"}]
    return flightlog_module_server_factory({"auth": {"tokens": tokens}})


def test_models_page_shows_an_api_error(page: Any, locked_server: Any) -> None:
    """The drift API's real 401 asks for a token; closing the prompt shows it in the banner."""
    page.goto(f"{locked_server.url}/models")
    page.click("#auth-prompt button >> text=Close", timeout=WAIT_MS)
    page.wait_for_selector("#error:not(:empty)", timeout=WAIT_MS)
    assert page.inner_text("#error").startswith("401")


def test_models_controls_are_labelled(page: Any, drift_server: Any) -> None:
    """Every input and button on the page has an accessible name."""
    page.goto(f"{drift_server.url}/models")
    page.locator("section.model").first.wait_for(timeout=WAIT_MS)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter((el) => !el.getAttribute('aria-label') && !(el.id && document.querySelector(`label[for="${el.id}"]`)) && !el.textContent.trim())
            .map((el) => el.id || el.outerHTML)"""
    )
    assert unlabelled == []
