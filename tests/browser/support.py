"""Shared Playwright plumbing for the browser tests: Debian's chromium, one signed-in window per person.

Every walk uses these, so a rule about the browser (no downloads, no CDN, no CSP violation) is written once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
PASSWORD = "portico-pass-123"
DESKTOP = {"width": 1280, "height": 900}


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless. Playwright's sync API runs an event loop in this thread while open,
    and Django refuses ORM calls inside a running loop, so the test touches the database only outside it."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Session:
    """One person's browser window: its own cookies, and a record of every URL it requested."""

    def __init__(self, browser: Browser, base_url: str, username: str, viewport: dict[str, int] | None = None) -> None:
        self.context = browser.new_context(base_url=base_url, viewport=viewport or DESKTOP)
        self.page: Page = self.context.new_page()
        self.requested: list[str] = []
        self.page.on("request", lambda request: self.requested.append(request.url))
        self.page.goto("/accounts/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_role("button", name="Log out")).to_be_visible()

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
