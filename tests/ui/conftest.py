"""Browser fixtures: Playwright driving Debian's headless Chromium (`make test` installs it)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Flags the machine needs: no sandbox as root, and no background calls to the closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per module; skips when Chromium is not installed.

    Not session-scoped: Playwright's sync API keeps an event loop running on the main
    thread while it is open, so a later module's ``asyncio.run()`` on the same xdist
    worker would fail with "cannot be called from a running event loop".
    """
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/ensure-test-tools.sh installs it)")
    playwright_sync = pytest.importorskip("playwright.sync_api")
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh page (UTC clock) whose screenshot is kept under test-artifacts/screenshots/.

    The file is named after the test (``test_x[param].png`` becomes ``test_x-param.png``);
    ``test_every_page_renders_and_keeps_a_screenshot`` makes sure every page has one.
    """
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1400, "height": 1000}, timezone_id="UTC"
    )
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
