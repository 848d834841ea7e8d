"""Headless Chromium against the embedded portal served by uvicorn (Playwright's sync API).

Fixtures:
- `live_portal` (module scope): base URL "http://127.0.0.1:<port>" of the embedded portal with
  the demo data, served by uvicorn in a background thread from a fresh var dir. One per test
  module: the tests of a module share its data (every test still gets fresh cookies).
  Chromium treats http://127.0.0.1 as a secure context and keeps the Secure cookies.
- `browser` (package scope, like `playwright`): Chromium from $CHROMIUM_PATH (default
  /usr/bin/chromium; `make test` installs Debian's package with deploy/chromium.sh). Missing:
  the tests skip, except with $CI set, where they fail. Never `playwright install`.
- `page` (1280x900, en-US) and `phone_page` (375x740, mobile, touch): a new context each,
  closed afterwards; their console errors and CSP violations are collected
  (`tests.e2e.browser.console_errors(page)` / `assert_no_console_errors(page)`).

Tests here are plain `def` tests: the sync API refuses to run inside an asyncio loop. And while
Playwright's sync driver is started, its loop counts as the running loop of the main thread, so
pytest-asyncio could not run any async test: `playwright`/`browser` are package-scoped (stopped
before the rest of the suite runs), not session-scoped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from shared.settings import Settings
from tests.e2e.browser import watch_console
from tests.served_portal import served_portal

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def live_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(PORTAL_VAR_DIR=tmp_path_factory.mktemp("live-portal"))
    with served_portal(settings) as (base_url, _):
        yield base_url


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM_PATH", DEFAULT_CHROMIUM)
    if not os.access(executable, os.X_OK):
        reason = f"no Chromium at {executable} (run deploy/chromium.sh or set CHROMIUM_PATH)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    chromium = playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield chromium
    finally:
        chromium.close()


def _page(browser: Browser, **options: object) -> Iterator[Page]:
    context = browser.new_context(locale="en-US", **options)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        watch_console(page)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    yield from _page(
        browser, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
