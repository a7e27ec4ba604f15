"""The checks every walk relies on (`Session.check`) find what they look for: a page built to break each rule fails
each one, and the same page mended passes. No server: the browser's requests are answered by the test."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Route

from tests.browser.support import PHONE, SHOT_ATTEMPTS, Session, chromium

BASE = "http://portico.test"
CSP = "script-src 'none'"
BROKEN = """<!doctype html><html lang="en"><head><title>Broken</title></head><body><main><h1>Broken</h1>
<img src="/pixel.png">
<input type="text">
<div style="width: 2000px">wide</div>
<p>state is service_request_id</p>
<label for="nowhere">Gone</label> <select aria-describedby="id_vendor_helptext"><option>One</option></select>
<p id="twice">One</p><p id="twice">Two</p>
<label>When <input type="time" name="when"></label>
<script>document.title = "ran";</script>
</main></body></html>"""
MENDED = """<!doctype html><html lang="en"><head><title>Mended</title>
<style>input { min-height: 2.5rem; }</style></head><body><main><h1>Mended</h1>
<img src="/pixel.png" alt="A pixel">
<label for="name">Name</label> <input id="name" type="text">
<div>narrow</div>
<p>The request's state.</p>
</main></body></html>"""


def _serve(route: Route) -> None:
    path = route.request.url.removeprefix(BASE)
    pages = {"/broken/": BROKEN, "/mended/": MENDED}
    if path in pages:
        route.fulfill(body=pages[path], content_type="text/html", headers={"Content-Security-Policy": CSP})
    else:
        route.fulfill(status=204)


def test_a_page_that_breaks_every_rule_fails_every_check_and_the_mended_page_passes():
    with chromium() as browser:
        session = Session(browser, BASE, None, PHONE)
        session.page.route(f"{BASE}/**", _serve)

        session.page.goto("/broken/")
        broken = session.check()
        session.page.goto("/mended/")
        mended = session.check()
        session.context.close()

    assert any(violation.startswith("script-src") for violation in broken.csp), broken.csp
    assert broken.console, "the browser logs the refused script as an error"
    assert broken.overflow > 0
    rules = {finding.split(" ")[0] for finding in broken.axe}
    assert {"image-alt", "label"} <= rules, broken.axe
    assert "service_request_id" in broken.raw_labels
    assert broken.dangling == ["select aria-describedby=id_vendor_helptext", "label for=nowhere"], broken.dangling
    assert broken.duplicate_ids == ["twice ×2"], broken.duplicate_ids
    assert broken.unstyled_inputs == ["input type=text ", "input type=time when"], broken.unstyled_inputs
    assert not mended, mended


class _RefusingPage:
    """A page whose first full-page captures fail as headless Chromium's sometimes do."""

    def __init__(
        self, refusals: int, message: str = "Protocol error (Page.captureScreenshot): Unable to capture screenshot"
    ):
        self.refusals, self.message, self.calls = refusals, message, 0

    def screenshot(self, **_: object) -> None:
        self.calls += 1
        if self.calls <= self.refusals:
            raise PlaywrightError(self.message)


def test_a_refused_capture_is_asked_for_again_and_any_other_error_is_not():
    session = Session.__new__(Session)  # no browser: only `shot` is exercised
    session.page = _RefusingPage(refusals=SHOT_ATTEMPTS - 1)  # type: ignore[assignment]
    session.shot("checks-refused-capture")
    assert session.page.calls == SHOT_ATTEMPTS

    session.page = _RefusingPage(refusals=SHOT_ATTEMPTS)  # type: ignore[assignment]
    with pytest.raises(PlaywrightError):
        session.shot("checks-refused-capture")

    session.page = _RefusingPage(refusals=1, message="Target page, context or browser has been closed")  # type: ignore[assignment]
    with pytest.raises(PlaywrightError):
        session.shot("checks-refused-capture")
    assert session.page.calls == 1
