"""Every UI page in headless Chromium against a real server holding real data."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NS = 1_000_000_000
WAIT_MS = 30_000
WAIT_SECS = 30.0
TEAM = 'ops "core" \\ infra'  # a label value that needs escaping in a matcher
ODD_PATH = 'C:\\logs\\"nightly"'  # a label value that needs escaping in a selector

RULES = """
groups:
  - name: ui
    interval: 1s
    rules:
      - alert: ApiErrors
        expr: sum by (service) (count_over_time({service="api", level="error"} [5m])) > 0
        labels: {severity: high, team: 'ops "core" \\ infra'}
        annotations:
          summary: "{{ $labels.service }} logs errors"
          runbook_url: https://runbooks.example.com/api-errors
"""

SLOS = [
    {
        "name": "api-availability",
        "service": "api",
        "objective": 99.0,
        "window": "30d",
        "sli": {
            "bad": 'sum(count_over_time({service="api", level="error"} [{{.window}}]))',
            "total": 'sum(count_over_time({service="api"} [{{.window}}]))',
        },
    }
]

# Two finished runs shipped by the SDK; the first also logs an error (a CUDA OOM it survived).
TRAIN_SCRIPT = """
import sys
import flightlog
flightlog.configure(server=sys.argv[1], labels={"service": "trainer"}, stream=None)
for name, lr in (("ui-test-run", 0.1), ("ui-compare-run", 0.01)):
    with flightlog.Run(name, config={"lr": lr, "optimizer": "sgd"}, dir=sys.argv[2]) as run:
        step = 0
        for epoch in range(1, 6):
            run.start_epoch(epoch, total_epochs=5)
            for batch in range(10):
                step += 1
                run.log_batch(step=step, epoch=epoch, loss=lr * 10 / step)
            run.log_validation(epoch, {"loss": 0.5 + 0.1 * epoch, "accuracy": 0.9 - 0.01 * epoch})
            run.end_epoch(epoch)
            if name == "ui-test-run" and epoch == 3:
                try:
                    raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
                except RuntimeError as error:
                    run.log_error(error, operation="eval")
flightlog.shutdown()
"""


def _push(url: str, streams: list[dict[str, Any]]) -> None:
    response = httpx.post(f"{url}/loki/api/v1/push", json={"streams": streams}, timeout=10)
    assert response.status_code == 204, response.text


def _rfc3339(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / NS, UTC).isoformat().replace("+00:00", "Z")


def _run_events(run_id: str, events: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """A stream of SDK-shaped run events (what ``flightlog.Run`` ships), without the SDK."""
    values = [
        [str(ts), orjson.dumps({"ts": _rfc3339(ts), "run_id": run_id, **event}).decode()]
        for ts, event in events
    ]
    return {"stream": {"service": "trainer", "run_id": run_id}, "values": values}


def _unfinished_run(run_id: str, last_event_ns: int) -> dict[str, Any]:
    """A run that started, reached 25 % with an ETA and then sent nothing more."""
    return _run_events(
        run_id,
        [
            (last_event_ns - 60 * NS, {"event": "run_start", "run_name": run_id}),
            (last_event_ns - 59 * NS, {"event": "epoch_start", "epoch": 1, "total_epochs": 4}),
            (last_event_ns, {"event": "milestone", "milestone_pct": 25, "eta_secs": 180}),
        ],
    )


@pytest.fixture(scope="module")
def ui_server(
    flightlog_module_server_factory: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """A server with lines of several sources, finished and unfinished runs, an alert and an SLO."""
    root = tmp_path_factory.mktemp("ui")
    rules = root / "rules.yaml"
    rules.write_text(RULES)
    server = flightlog_module_server_factory({"rules": {"files": [str(rules)]}, "slos": SLOS})
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
            # Sources without a `service` label: OTLP names it service_name, syslog has none.
            {
                "stream": {"service_name": "checkout", "level": "info"},
                "values": [[str(now - 5 * NS), "checkout paid order 17 trace_id=trace-1"]],
            },
            {
                "stream": {"job": "syslog", "path": ODD_PATH},
                "values": [[str(now - 4 * NS), "kernel: nfs timeout while serving trace-1"]],
            },
            # Only an absolute range three hours back finds this one.
            {
                "stream": {"service": "batch"},
                "values": [[str(now - 3 * 3600 * NS), "nightly batch finished"]],
            },
            _unfinished_run("stale-run", now - 2 * 3600 * NS),
            _unfinished_run("live-run", now - NS),
        ],
    )
    subprocess.run(
        [sys.executable, "-c", TRAIN_SCRIPT, server.url, str(root / "runs")],
        check=True,
        timeout=120,
    )
    return server


def _run_id(server: Any, name: str) -> str:
    runs = httpx.get(f"{server.url}/api/v1/runs", timeout=10).json()["data"]
    return next(run["run_id"] for run in runs if run["name"] == name)


def _wait_firing(server: Any, alertname: str) -> None:
    """Poll the alerts API (bounded) until the rule's alert fires."""
    deadline = time.monotonic() + WAIT_SECS
    while time.monotonic() < deadline:
        alerts = httpx.get(f"{server.url}/prometheus/api/v1/alerts", timeout=10).json()
        if any(
            a["labels"].get("alertname") == alertname and a["state"] == "firing"
            for a in alerts["data"]["alerts"]
        ):
            return
        time.sleep(0.2)
    raise AssertionError(f"{alertname} did not fire within {WAIT_SECS}s")


def _options(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#completions [role=option]", "els => els.map((e) => e.dataset.value)"
    )


def _wait_option(page: Any, value: str) -> None:
    page.wait_for_function(
        """(v) => [...document.querySelectorAll('#completions [role=option]')]
            .some((o) => o.dataset.value === v)""",
        arg=value,
        timeout=WAIT_MS,
    )


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
    _wait_firing(ui_server, "ApiErrors")
    page.goto(f"{ui_server.url}/alerts")
    card = page.locator("#alerts .card", has_text="ApiErrors")
    card.wait_for(timeout=WAIT_MS)
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


def test_slos_page_shows_objective_error_budget_and_burn_rates(page: Any, ui_server: Any) -> None:
    """5 error lines in 45 burn a 99 % objective's budget 11 times over: the page says so per window."""
    errors = _no_page_errors(page)
    page.goto(f"{ui_server.url}/slos")
    row = page.locator("#slos tr", has_text="api-availability")
    row.wait_for(timeout=WAIT_MS)
    cells = row.locator("td").all_inner_texts()
    assert cells[1:4] == ["api", "99.00 %", "30d"]
    assert cells[4].startswith("-1011.11 %") and "exhausted" in cells[4]
    # every api line is seconds old, so each long alerting window sees the same 5/45 ratio
    for window in ("30m", "1h", "6h", "1d"):
        assert f"{window}: 11.11\u00d7" in cells[5], cells[5]
    assert errors == []


def test_every_control_has_a_label(page: Any, ui_server: Any) -> None:
    """Inputs and selects on every page are labelled for screen readers and keyboard users."""
    for path in ("/", "/runs", "/alerts", "/slos", "/models"):
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


def test_explore_follows_an_id_across_streams_without_a_service_label(
    page: Any, ui_server: Any
) -> None:
    """Follow ID finds the ID in OTLP (service_name) and syslog (no service) streams too."""
    errors = _no_page_errors(page)
    page.goto(f'{ui_server.url}/?query={{service="api", level="info"}}&range=1h')
    row = page.locator(
        "#rows tr:not([hidden])", has_text="request 37 served"
    )  # 37 % 3 == 1: trace-1
    row.wait_for(timeout=WAIT_MS)
    row.locator("button", has_text="Follow ID").click()
    page.wait_for_selector("#rows td.logline >> text=kernel: nfs timeout", timeout=WAIT_MS)
    lines = page.locator("#rows td.logline").all_inner_texts()
    assert any("checkout paid order 17" in line for line in lines)
    assert any("request 37 served" in line for line in lines)
    assert all("trace-1" in line for line in lines)
    assert len(lines) == 13 + 2  # 13 api lines carry trace-1, plus the two other sources
    assert "across 3 streams" in page.inner_text("#summary")
    assert "follow=trace-1" in page.url
    assert errors == []


def test_explore_follow_id_deep_link_replays_the_follow(page: Any, ui_server: Any) -> None:
    """A pasted link with ?follow= shows the same lines without clicking anything."""
    page.goto(f"{ui_server.url}/?follow=trace-1&range=1h")
    page.wait_for_selector("#rows td.logline >> text=checkout paid order 17", timeout=WAIT_MS)
    assert page.locator("#rows td.logline").count() == 15


def test_explore_completes_label_names_and_escaped_values(page: Any, ui_server: Any) -> None:
    """`{` offers label names; `name="` offers its values, quoted so that quotes and backslashes survive."""
    page.goto(f"{ui_server.url}/")
    page.fill("#query", "{")
    _wait_option(page, '{service="')
    assert {'{job="', '{service_name="', '{level="'} <= set(_options(page))
    page.fill("#query", '{service="')
    _wait_option(page, '{service="api"')
    assert '{service="worker"' in _options(page)
    page.fill("#query", '{job="syslog", path="')
    selector = '{job="syslog", path="C:\\\\logs\\\\\\"nightly\\""'
    _wait_option(page, selector)
    # the completed selector is valid LogQL that selects the stream with that odd value
    page.fill("#query", selector + "}")
    page.click("#run")
    page.wait_for_selector("#rows td.logline >> text=kernel: nfs timeout", timeout=WAIT_MS)
    assert page.inner_text("#error") == ""


def test_explore_absolute_time_range(page: Any, ui_server: Any) -> None:
    """An absolute range three hours back finds a line the last hour does not, and is linkable."""
    page.goto(f'{ui_server.url}/?query={{service="batch"}}&range=1h')
    page.wait_for_selector("#summary >> text=0 lines", timeout=WAIT_MS)
    now = datetime.now(UTC)  # the browser context runs in UTC (conftest)
    page.select_option("#range", "absolute")
    page.fill("#from", (now.replace(microsecond=0) - _hours(3.5)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#to", (now.replace(microsecond=0) - _hours(2.5)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("#run")
    page.wait_for_selector("#rows td.logline >> text=nightly batch finished", timeout=WAIT_MS)
    assert "range=absolute" in page.url and "from=" in page.url and "to=" in page.url
    page.goto(page.url)  # the deep link alone gives the same answer
    page.wait_for_selector("#rows td.logline >> text=nightly batch finished", timeout=WAIT_MS)


def _hours(hours: float) -> Any:
    from datetime import timedelta

    return timedelta(hours=hours)


def test_explore_live_tail_shows_a_newly_pushed_line(page: Any, ui_server: Any) -> None:
    """With Live tail on, a line pushed afterwards appears without running the query again."""
    errors = _no_page_errors(page)
    page.goto(f'{ui_server.url}/?query={{service="tail-test"}}&range=5m')
    page.click("#tail")
    page.wait_for_selector("#summary >> text=tailing", timeout=WAIT_MS)
    assert page.get_attribute("#tail", "aria-pressed") == "true"
    line = f"tailed line {time.time_ns()}"
    _push(
        ui_server.url,
        [{"stream": {"service": "tail-test"}, "values": [[str(time.time_ns()), line]]}],
    )
    page.wait_for_selector(f"#rows td.logline >> text={line}", timeout=WAIT_MS)
    page.click("#tail")
    assert page.get_attribute("#tail", "aria-pressed") == "false"
    assert errors == []


def test_run_page_lists_the_runs_errors_with_their_time(page: Any, ui_server: Any) -> None:
    """The error the run logged is listed with a readable time, and no banner breaks the page."""
    errors = _no_page_errors(page)
    page.goto(f"{ui_server.url}/runs/{_run_id(ui_server, 'ui-test-run')}")
    row = page.locator("#errors tr", has_text="CUDA out of memory")
    row.wait_for(timeout=WAIT_MS)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", row.locator("td.ts").inner_text())
    assert "RuntimeError" in row.inner_text()
    assert page.inner_text("#error") == ""
    assert errors == []


def test_runs_list_shows_error_count_and_diagnoses(page: Any, ui_server: Any) -> None:
    """The run that logged a CUDA OOM shows 1 error and a critical error diagnosis in the list."""
    page.goto(f"{ui_server.url}/runs")
    row = page.locator("#runs tr", has_text="ui-compare-run")
    row.wait_for(timeout=WAIT_MS)
    headers = page.locator("thead th").all_inner_texts()
    first = page.locator("#runs tr", has_text="ui-test-run").locator("td").all_inner_texts()
    cells = dict(zip(headers, first, strict=True))
    assert cells["Errors"] == "1"
    assert cells["Diagnoses"].startswith("1 critical (error)")
    other = dict(zip(headers, row.locator("td").all_inner_texts(), strict=True))
    assert other["Errors"] == "0"
    assert other["Diagnoses"].startswith("none found")


def test_runs_list_calls_a_silent_unfinished_run_stale(page: Any, ui_server: Any) -> None:
    """No run_end and no event for longer than the threshold: stale, and no ETA is promised."""
    page.goto(f"{ui_server.url}/runs")
    stale = page.locator("#runs tr", has_text="stale-run")
    stale.wait_for(timeout=WAIT_MS)
    assert stale.locator(".badge").inner_text() == "stale"
    assert "ETA" not in stale.inner_text().replace("no ETA", "")
    live = page.locator("#runs tr", has_text="live-run")
    assert live.locator(".badge").inner_text() == "running"
    assert "25 %, ETA 3m 0s" in live.inner_text()


def test_runs_compare_overlays_two_runs_on_one_chart(page: Any, ui_server: Any) -> None:
    """Selecting two runs and Compare draws both runs' curves on the same chart."""
    errors = _no_page_errors(page)
    page.goto(f"{ui_server.url}/runs")
    page.locator("#runs a", has_text="ui-compare-run").wait_for(timeout=WAIT_MS)
    for run_id in (_run_id(ui_server, "ui-test-run"), _run_id(ui_server, "ui-compare-run")):
        page.check(f'#runs input[value="{run_id}"]')
    page.click("#compare")
    page.wait_for_selector("#comparison:not([hidden]) .js-plotly-plot", timeout=WAIT_MS)
    loss = page.locator("#compare-charts .js-plotly-plot", has_text="loss").first
    legend = loss.locator(".legendtext").all_text_contents()
    assert "ui-test-run · train" in legend and "ui-compare-run · train" in legend
    assert "compare=" in page.url
    assert errors == []


def test_silence_from_an_alert_prefills_escaped_matchers(page: Any, ui_server: Any) -> None:
    """Silence… fills the alert's labels as matchers, quoting quotes and backslashes so they parse back."""
    _wait_firing(ui_server, "ApiErrors")
    page.goto(f"{ui_server.url}/alerts")
    card = page.locator("#alerts .card", has_text="ApiErrors")
    card.wait_for(timeout=WAIT_MS)
    card.locator("button", has_text="Silence").click()
    matchers = page.input_value("#matchers")
    assert 'alertname="ApiErrors"' in matchers and 'service="api"' in matchers
    assert 'team="ops \\"core\\" \\\\ infra"' in matchers
    assert page.evaluate("document.activeElement.id") == "comment"
    page.fill("#comment", "prefilled from the alert")
    page.click("#silence-form button[type=submit]")
    row = page.locator("#silences tr", has_text="prefilled from the alert")
    row.wait_for(timeout=WAIT_MS)
    assert page.inner_text("#error") == ""
    silence_id = row.get_attribute("data-silence-id")
    listed = httpx.get(f"{ui_server.url}/api/v2/silences", timeout=10).json()
    (silence,) = [s for s in listed if s["id"] == silence_id]
    assert {m["name"]: m["value"] for m in silence["matchers"]}["team"] == TEAM
    row.locator("button", has_text="Expire").click()
    page.wait_for_selector(
        f'#silences tr[data-silence-id="{silence_id}"] .badge.expired', timeout=WAIT_MS
    )


PAGES = {
    "explore": ('/?query={{service="api"}}&range=1h', "#rows td.logline"),
    "runs": ("/runs", "#runs a"),
    "run": ("/runs/{run_id}", "#curves .js-plotly-plot"),
    "alerts": ("/alerts", "#silences tr"),
    "slos": ("/slos", "#slos td"),
    "models": ("/models", "#empty"),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_renders_and_keeps_a_screenshot(page: Any, ui_server: Any, name: str) -> None:
    """Each page draws its content without script errors; the fixture keeps its screenshot."""
    errors = _no_page_errors(page)
    path, ready = PAGES[name]
    page.goto(ui_server.url + path.format(run_id=_run_id(ui_server, "ui-test-run")))
    page.wait_for_selector(ready, timeout=WAIT_MS)
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#error") == ""
    assert errors == []


# ---- keyboard only ----------------------------------------------------------------------
# These tests press keys and nothing else: no click, fill, check or focus() on the page.


def _tab_to(page: Any, predicate: str, limit: int = 60, key: str = "Tab") -> None:
    """Press Tab (at most ``limit`` times) until ``predicate(document.activeElement)`` holds."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate(f"(({predicate}))(document.activeElement)"):
            return
    active = page.evaluate("document.activeElement.outerHTML.slice(0, 200)")
    raise AssertionError(f"{limit} x {key} never reached {predicate}; focus is on {active}")


def _active(page: Any, expression: str) -> Any:
    return page.evaluate(f"((el) => {expression})(document.activeElement)")


def _arrow_to_option(page: Any, value: str, limit: int = 60) -> None:
    """ArrowDown through the completion list until ``value`` is the active option."""
    for _ in range(limit):
        page.keyboard.press("ArrowDown")
        active = page.get_attribute("#query", "aria-activedescendant")
        if active and page.get_attribute(f"#{active}", "data-value") == value:
            assert page.get_attribute(f"#{active}", "aria-selected") == "true"
            return
    raise AssertionError(f"ArrowDown never reached the completion {value!r}: {_options(page)}")


def test_explore_by_keyboard_completes_and_runs_a_query(page: Any, ui_server: Any) -> None:
    """Tab reaches the editor; ArrowDown/Enter take completions, Escape closes them, Enter runs."""
    errors = _no_page_errors(page)
    page.goto(f"{ui_server.url}/")
    _tab_to(page, "(el) => el.id === 'query'")
    assert page.get_attribute("#query", "role") == "combobox"
    page.keyboard.type("{")
    page.wait_for_selector("#completions:not([hidden]) [role=option]", timeout=WAIT_MS)
    assert page.get_attribute("#query", "aria-expanded") == "true"
    _arrow_to_option(page, '{service="')
    page.keyboard.press("Enter")
    assert page.input_value("#query") == '{service="'
    _wait_option(page, '{service="api"')  # the taken name offers its values next
    page.wait_for_selector("#completions:not([hidden])", timeout=WAIT_MS)
    page.keyboard.press("Escape")
    assert page.is_hidden("#completions")
    assert page.get_attribute("#query", "aria-expanded") == "false"
    assert page.input_value("#query") == '{service="'
    assert _active(page, "el.id") == "query"
    _arrow_to_option(page, '{service="api"')  # ArrowDown opens the closed list again
    page.keyboard.press("Enter")
    page.keyboard.type("}")
    assert page.input_value("#query") == '{service="api"}'
    page.keyboard.press("Enter")
    page.wait_for_selector(
        "#rows td.logline >> text=upstream timeout on request 4", timeout=WAIT_MS
    )
    assert "query=%7Bservice%3D%22api%22%7D" in page.url
    assert page.inner_text("#error") == ""
    assert errors == []


def test_explore_by_keyboard_expands_a_row_and_returns_from_context(
    page: Any, ui_server: Any
) -> None:
    """A line is one tab stop: Enter/Space expand it, ArrowDown moves on, Escape leaves context."""
    errors = _no_page_errors(page)
    page.goto(f'{ui_server.url}/?query={{service="api", level="info"}}&range=1h')
    page.wait_for_selector("#rows tr td.logline", timeout=WAIT_MS)
    _tab_to(page, "(el) => el.matches('#rows tr.logrow')")
    first = _active(page, "el.querySelector('.logline').textContent")
    assert first == page.locator("#rows td.logline").first.inner_text()
    assert _active(page, "el.getAttribute('aria-expanded')") == "false"
    page.keyboard.press("Enter")
    assert _active(page, "el.getAttribute('aria-expanded')") == "true"
    detail = page.locator("#rows tr.detailrow:not([hidden]) pre.detail")
    assert detail.count() == 1 and '"trace_id": "trace-' in detail.inner_text()
    page.keyboard.press(" ")
    assert _active(page, "el.getAttribute('aria-expanded')") == "false"
    assert page.locator("#rows tr.detailrow:not([hidden])").count() == 0
    page.keyboard.press("ArrowDown")
    second = _active(page, "el.querySelector('.logline').textContent")
    assert second == page.locator("#rows td.logline").nth(1).inner_text()
    # only one line is in the tab order, the one last focused
    assert page.locator('#rows tr.logrow[tabindex="0"]').count() == 1
    page.keyboard.press(" ")
    assert _active(page, "el.getAttribute('aria-expanded')") == "true"
    page.keyboard.press(" ")
    _tab_to(page, "(el) => el.tagName === 'BUTTON' && el.textContent === 'Context'", limit=3)
    page.keyboard.press("Enter")
    page.wait_for_selector("#context-panel:not([hidden]) #context-rows tr", timeout=WAIT_MS)
    assert _active(page, "el.id") == "close-context"
    assert second in page.locator('#context-rows tr[aria-current="true"]').inner_text()
    page.keyboard.press("Escape")
    assert page.is_hidden("#context-panel")
    assert _active(page, "el.matches('#rows tr.logrow')")
    assert _active(page, "el.querySelector('.logline').textContent") == second
    assert errors == []


def test_alerts_by_keyboard_fills_and_submits_a_silence(page: Any, ui_server: Any) -> None:
    """The silence form, the Silence… button on an alert and Expire all work from the keyboard."""
    _wait_firing(ui_server, "ApiErrors")
    page.goto(f"{ui_server.url}/alerts")
    page.locator("#alerts .card", has_text="ApiErrors").wait_for(timeout=WAIT_MS)
    page.locator("#silences tr").first.wait_for(timeout=WAIT_MS)
    # the form alone
    _tab_to(page, "(el) => el.id === 'matchers'")
    page.keyboard.type('alertname="ApiErrors", service="api"')
    page.keyboard.press("Tab")
    assert _active(page, "el.id") == "duration"
    page.keyboard.press("ArrowDown")  # 2 hours -> 8 hours
    assert page.input_value("#duration") == "8h"
    _tab_to(page, "(el) => el.id === 'comment'", limit=3)
    page.keyboard.type("typed at the keyboard")
    page.keyboard.press("Enter")
    row = page.locator("#silences tr", has_text="typed at the keyboard")
    row.wait_for(timeout=WAIT_MS)
    assert page.inner_text("#error") == ""
    silence_id = row.get_attribute("data-silence-id")
    (silence,) = [
        s
        for s in httpx.get(f"{ui_server.url}/api/v2/silences", timeout=10).json()
        if s["id"] == silence_id
    ]
    hours = (
        datetime.fromisoformat(silence["endsAt"]) - datetime.fromisoformat(silence["startsAt"])
    ).total_seconds() / 3600
    assert round(hours) == 8
    # Expire it: Tab to its button, Enter
    _tab_to(
        page,
        f"(el) => el.tagName === 'BUTTON' && el.closest('tr')?.dataset.silenceId === '{silence_id}'",
        limit=200,
    )
    page.keyboard.press("Enter")
    page.wait_for_selector(
        f'#silences tr[data-silence-id="{silence_id}"] .badge.expired', timeout=WAIT_MS
    )
    # the list was drawn again: focus stays on the silence's row, not lost to <body>
    assert _active(page, "el.dataset.silenceId") == silence_id
    # from the alert: Silence… prefills the matchers and puts the cursor in Comment
    _tab_to(
        page,
        "(el) => el.textContent === 'Silence…' && el.closest('.card').textContent.includes('ApiErrors')",
        limit=200,
        key="Shift+Tab",
    )
    page.keyboard.press("Enter")
    assert _active(page, "el.id") == "comment"
    assert 'alertname="ApiErrors"' in page.input_value("#matchers")
    page.keyboard.type("prefilled at the keyboard")
    page.keyboard.press("Enter")
    page.locator("#silences tr", has_text="prefilled at the keyboard").wait_for(timeout=WAIT_MS)
    assert page.inner_text("#error") == ""


def test_runs_by_keyboard_opens_a_run(page: Any, ui_server: Any) -> None:
    """Tab reaches a run's link in the list and Enter opens its page with curves."""
    errors = _no_page_errors(page)
    page.goto(f"{ui_server.url}/runs")
    page.locator("#runs a", has_text="ui-test-run").wait_for(timeout=WAIT_MS)
    _tab_to(page, "(el) => el.tagName === 'A' && el.textContent === 'ui-test-run'")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/runs/{_run_id(ui_server, 'ui-test-run')}", timeout=WAIT_MS)
    page.wait_for_selector("#curves .js-plotly-plot", timeout=WAIT_MS)
    assert errors == []
