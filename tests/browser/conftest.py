"""A real Chromium (Debian's package) driven by Playwright, against pytest-django's live server.

Skips when Chromium is absent (`make test` on a bare machine); .ci/run installs it and sets
TRACKER_REQUIRE_ALL=1, which turns that skip into a failure.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser context at laptop size (1366x768), with base_url set to the live server."""
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 768}, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """screenshot("01-login") saves docs/screenshots/01-login.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(name):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return _shot


@pytest.fixture
def login(page):
    def _login(username, password="correct-horse-battery"):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return _login
