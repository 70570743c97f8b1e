"""Every UI page in headless Chromium against a real server holding real data."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NS = 1_000_000_000
WAIT_MS = 30_000

RULES = """
groups:
  - name: ui
    interval: 1s
    rules:
      - alert: ApiErrors
        expr: sum by (service) (count_over_time({service="api", level="error"} [5m])) > 0
        labels: {severity: high}
        annotations:
          summary: "{{ $labels.service }} logs errors"
          runbook_url: https://runbooks.example.com/api-errors
"""

TRAIN_SCRIPT = """
import sys
import flightlog
flightlog.configure(server=sys.argv[1], labels={"service": "trainer"}, stream=None)
with flightlog.Run("ui-test-run", config={"lr": 0.1, "optimizer": "sgd"}, dir=sys.argv[2]) as run:
    step = 0
    for epoch in range(1, 6):
        run.start_epoch(epoch, total_epochs=5)
        for batch in range(10):
            step += 1
            run.log_batch(step=step, epoch=epoch, loss=1.0 / step)
        run.log_validation(epoch, {"loss": 0.5 + 0.1 * epoch, "accuracy": 0.9 - 0.01 * epoch})
        run.end_epoch(epoch)
flightlog.shutdown()
"""


def _push(url: str, streams: list[dict[str, Any]]) -> None:
    response = httpx.post(f"{url}/loki/api/v1/push", json={"streams": streams}, timeout=10)
    assert response.status_code == 204, response.text


@pytest.fixture(scope="module")
def ui_server(
    flightlog_module_server_factory: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """A server with log lines of two services, one finished training run and a firing alert."""
    root = tmp_path_factory.mktemp("ui")
    rules = root / "rules.yaml"
    rules.write_text(RULES)
    server = flightlog_module_server_factory({"rules": {"files": [str(rules)]}})
    now = time.time_ns()
    values = [
        [str(now - (40 - i) * NS), f'{{"msg": "request {i} served", "trace_id": "trace-{i % 3}"}}']
        for i in range(40)
    ]
    errors = [[str(now - (10 - i) * NS), f"upstream timeout on request {i}"] for i in range(5)]
    _push(
        server.url,
        [
            {"stream": {"service": "api", "level": "info"}, "values": values},
            {"stream": {"service": "api", "level": "error"}, "values": errors},
            {
                "stream": {"service": "worker", "level": "warning"},
                "values": [[str(now - NS), "queue is slow"]],
            },
        ],
    )
    subprocess.run(
        [sys.executable, "-c", TRAIN_SCRIPT, server.url, str(root / "runs")],
        check=True,
        timeout=120,
    )
    return server


def _no_page_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_explore_runs_a_query_and_shows_rows_and_volume(page: Any, ui_server: Any) -> None:
    """A deep link with a query fills the editor, lists the lines and draws the level histogram."""
    errors = _no_page_errors(page)
    page.goto(f'{ui_server.url}/?query={{service="api"}}&range=1h')
    page.wait_for_selector("#rows tr td.logline", timeout=WAIT_MS)
    assert page.input_value("#query") == '{service="api"}'
    lines = page.locator("#rows td.logline").all_inner_texts()
    assert any("upstream timeout on request 4" in line for line in lines)
    assert any("request 39 served" in line for line in lines)
    page.wait_for_selector("#volume .bars path", timeout=WAIT_MS)
    legend = page.locator("#volume .legendtext").all_text_contents()
    assert {"info", "error"} <= set(legend)
    assert errors == []


def test_explore_expands_a_row_and_shows_context(page: Any, ui_server: Any) -> None:
    """Details show the pretty JSON of a line; Context shows neighbouring lines of the same stream."""
    page.goto(f'{ui_server.url}/?query={{service="api", level="info"}}&range=1h')
    page.wait_for_selector("#rows tr td.logline", timeout=WAIT_MS)
    page.locator("#rows button", has_text="Details").first.click()
    assert '"trace_id": "trace-' in page.locator("pre.detail").first.inner_text()
    page.locator("#rows button", has_text="Context").first.click()
    page.wait_for_selector("#context-panel:not([hidden]) #context-rows tr", timeout=WAIT_MS)
    assert page.locator("#context-rows tr").count() >= 2


def test_explore_renders_an_api_error(page: Any, ui_server: Any) -> None:
    """A LogQL syntax error is shown to the user, with its position, instead of a blank page."""
    page.goto(f"{ui_server.url}/?query={{service=&range=1h")
    page.wait_for_selector("#error:not(:empty)", timeout=WAIT_MS)
    assert "parse error" in page.inner_text("#error")


def test_explore_draws_a_metric_query(page: Any, ui_server: Any) -> None:
    """A metric query is drawn as time series."""
    page.goto(
        f'{ui_server.url}/?query=sum by (level) (count_over_time({{service="api"}} [1m]))&range=1h'
    )
    page.wait_for_selector("#metric .scatterlayer .trace", timeout=WAIT_MS)
    assert page.locator("#metric .scatterlayer .trace").count() == 2


def test_runs_page_lists_the_run_and_its_page_draws_curves(page: Any, ui_server: Any) -> None:
    """The run shipped by the SDK is listed; its page shows curves, hyperparameters and a diagnosis."""
    errors = _no_page_errors(page)
    page.goto(f"{ui_server.url}/runs")
    link = page.locator("#runs a", has_text="ui-test-run")
    link.wait_for(timeout=WAIT_MS)
    assert "completed" in page.locator("#runs tr", has_text="ui-test-run").inner_text()
    link.click()
    page.wait_for_selector("#curves .js-plotly-plot", timeout=WAIT_MS)
    assert page.locator("#curves .js-plotly-plot").count() >= 2  # loss and accuracy
    assert "optimizer" in page.inner_text("#config")
    # validation loss rises every epoch while training loss falls: the analyzer says overfitting
    assert "overfitting" in page.inner_text("#diagnoses")
    assert errors == []


def test_alerts_page_shows_the_firing_alert_with_links(page: Any, ui_server: Any) -> None:
    """The rule over the error lines fires; the card links to the runbook and to the query."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.goto(f"{ui_server.url}/alerts")
        page.wait_for_load_state("networkidle")
        if page.locator("#alerts .card", has_text="ApiErrors").count():
            break
    card = page.locator("#alerts .card", has_text="ApiErrors")
    assert card.count() == 1
    assert (
        card.locator("a", has_text="Runbook").get_attribute("href")
        == "https://runbooks.example.com/api-errors"
    )
    query_link = card.locator("a", has_text="Query in Explore").get_attribute("href")
    assert query_link.startswith("/?query=")


def test_silence_is_created_from_an_alert_and_expired(page: Any, ui_server: Any) -> None:
    """Silence… prefills matchers; the new silence is listed as active and can be expired."""
    page.goto(f"{ui_server.url}/alerts")
    page.fill("#matchers", 'alertname="ApiErrors", service="api"')
    page.fill("#comment", "deploy in progress")
    page.click("#silence-form button[type=submit]")
    row = page.locator("#silences tr", has_text="deploy in progress")
    row.wait_for(timeout=WAIT_MS)
    assert "active" in row.inner_text()
    silence_id = row.get_attribute("data-silence-id")
    row.locator("button", has_text="Expire").click()
    page.wait_for_selector(
        f'#silences tr[data-silence-id="{silence_id}"] .badge.expired', timeout=WAIT_MS
    )
    listed = httpx.get(f"{ui_server.url}/api/v2/silences", timeout=10).json()
    assert [s["status"]["state"] for s in listed if s["id"] == silence_id] == ["expired"]


def test_slos_page_loads(page: Any, ui_server: Any) -> None:
    """The SLO page renders its table (empty here) without script errors."""
    errors = _no_page_errors(page)
    page.goto(f"{ui_server.url}/slos")
    page.wait_for_selector("#slos tr", timeout=WAIT_MS)
    assert "No SLOs configured." in page.inner_text("#slos")
    assert errors == []


def test_every_control_has_a_label(page: Any, ui_server: Any) -> None:
    """Inputs and selects on every page are labelled for screen readers and keyboard users."""
    for path in ("/", "/runs", "/alerts", "/slos"):
        page.goto(f"{ui_server.url}{path}")
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter((el) => !el.getAttribute('aria-label') && !(el.id && document.querySelector(`label[for="${el.id}"]`)))
                .map((el) => el.id || el.name || el.outerHTML)"""
        )
        assert unlabelled == [], (path, unlabelled)


def test_plotly_is_served_from_the_installed_package(ui_server: Any) -> None:
    """plotly.js comes from the plotly package, so the UI needs no network."""
    import plotly

    served = httpx.get(f"{ui_server.url}/ui/plotly.min.js", timeout=10)
    assert served.status_code == 200
    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert served.content == bundled.read_bytes()
    assert httpx.get(f"{ui_server.url}/ui/static/..%2Fserver.py", timeout=10).status_code == 404
