"""Shared Playwright plumbing for the browser tests: Debian's chromium, one signed-in window per person, and the
checks every page of a walk must pass.

Every walk uses these, so a rule about the browser (no downloads, no CDN, no CSP violation, no overflow, no serious
accessibility finding, no raw label) is written once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Request, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
PASSWORD = "portico-pass-123"
DESKTOP = {"width": 1280, "height": 900}
# The widths the walk checks: a phone, a tablet and a laptop.
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
LAPTOP = {"width": 1366, "height": 900}

# Every `securitypolicyviolation` the page raises, kept on the window so the test can read them after each step.
# An init script runs before any of the page's own scripts, so nothing is missed.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " +
    (event.sourceFile || "") + ":" + (event.lineNumber || 0));
});
"""

# Text a person should never read: identifiers (snake_case), and names spelt the way code spells them.
RAW_LABELS = [
    re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"),
    re.compile(r"\b(?:Cpu|Gitlab|Github|kubernetes|gitlab|jenkins|sla|Sla|Api|Url|Id)\b"),
    re.compile(r"\{[#%{]"),  # template syntax that leaked (a multi-line {# #} comment renders as text)
]
# The visible text, minus what is code on purpose (paths, namespaces, keys) and the values of form fields.
VISIBLE_TEXT = """
(() => {
  const root = document.body.cloneNode(true);
  root.querySelectorAll("code, pre, kbd, samp, script, style, template, [hidden], .visually-hidden, textarea, select")
    .forEach((node) => node.remove());
  return root.innerText;
})()
"""
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# An ARIA reference or a label's `for` that names no element on the page: assistive technology silently drops it, and
# axe-core reports such references only as "needs review", never as a violation.
DANGLING_REFERENCES = """
(() => {
  const attributes = ["aria-describedby", "aria-labelledby", "aria-controls", "aria-owns", "aria-activedescendant",
                      "aria-errormessage", "aria-details"];
  const found = [];
  for (const element of document.querySelectorAll(attributes.map((name) => `[${name}]`).join(","))) {
    for (const name of attributes) {
      for (const id of (element.getAttribute(name) || "").split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) found.push(`${element.tagName.toLowerCase()} ${name}=${id}`);
      }
    }
  }
  for (const label of document.querySelectorAll("label[for]")) {
    if (!document.getElementById(label.htmlFor)) found.push(`label for=${label.htmlFor}`);
  }
  return found;
})()
"""
# An id used twice: a reference or a label finds only the first, whichever that is.
DUPLICATE_IDS = """
(() => {
  const counts = new Map();
  for (const element of document.querySelectorAll("[id]")) counts.set(element.id, (counts.get(element.id) || 0) + 1);
  return [...counts].filter(([, count]) => count > 1).map(([id, count]) => `${id} ×${count}`);
})()
"""
# Inputs one types into that the stylesheet left as the browser draws them (a type missing from portico.css's form
# rule: `time` and `datetime-local` came out as small monospace boxes beside full-width text fields).
UNSTYLED_INPUTS = """
(() => {
  const untyped = ["hidden", "checkbox", "radio", "file", "color", "range", "submit", "button", "reset", "image"];
  return [...document.querySelectorAll("input")]
    .filter((input) => !untyped.includes(input.type) && input.getClientRects().length)
    .filter((input) => !(parseFloat(getComputedStyle(input).minHeight) >= 32))
    .map((input) => `input type=${input.type} ${input.id || input.name}`);
})()
"""
AXE = Axe()
SHOT_ATTEMPTS = 3


def scroll_down_to(locator: Locator) -> None:
    """Scroll the window down (never across) until the element is near its top."""
    locator.evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top + scrollY - 200)")


def in_sight(button: Locator) -> bool:
    """The button is inside the window and nothing covers its middle (a click there would reach it)."""
    return bool(
        button.evaluate(
            """b => { const r = b.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
                      return r.right <= innerWidth && document.elementFromPoint(x, y)?.closest('button') === b; }"""
        )
    )


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


@dataclass
class Findings:
    """What the checks found on one page; empty everywhere means the page passes."""

    url: str
    csp: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    overflow: int = 0
    axe: list[str] = field(default_factory=list)
    raw_labels: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    unstyled_inputs: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.csp
            or self.console
            or self.overflow > 0
            or self.axe
            or self.raw_labels
            or self.dangling
            or self.duplicate_ids
            or self.unstyled_inputs
        )


class Session:
    """One person's browser window: its own cookies, a record of every URL it requested, and every CSP violation
    and console error its pages raised."""

    def __init__(
        self,
        browser: Browser,
        base_url: str,
        username: str | None,
        viewport: dict[str, int] | None = None,
        *,
        color_scheme: Any = "light",
    ) -> None:
        self.context = browser.new_context(base_url=base_url, viewport=viewport or DESKTOP, color_scheme=color_scheme)
        self.context.add_init_script(CSP_LISTENER)
        # axe-core is loaded by every page as it opens rather than sent (half a megabyte) before each check.
        self.context.add_init_script(AXE.axe_script)
        self.page: Page = self.context.new_page()
        self.requested: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("request", lambda request: self.requested.append(request.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        # An aborted or failed htmx request (a check cancelled by the next keystroke) counts as a console error; an
        # image cut off by leaving the page does not.
        self.page.on("requestfailed", self._request_failed)
        if username:
            self.page.goto("/accounts/login/")
            self.page.get_by_label("Username").fill(username)
            self.page.get_by_label("Password").fill(PASSWORD)
            self.page.get_by_role("button", name="Log in").click()
            expect(self.page.get_by_role("button", name="Log out")).to_be_visible()

    def _request_failed(self, request: Request) -> None:
        if request.resource_type in {"xhr", "fetch"}:
            self.console_errors.append(f"request failed: {request.method} {request.url}")

    def _console(self, message: ConsoleMessage) -> None:
        # The walk visits error pages on purpose; the browser logs their status as a failed resource load.
        if message.type == "error" and "the server responded with a status of" not in message.text:
            self.console_errors.append(message.text)

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # Headless Chromium now and then refuses a full-page capture with "Unable to capture screenshot" (an
        # upstream compositor fault, puppeteer#5341; seen once here on a busy CI run) and takes the same page at
        # the next attempt: the picture is the test's record, not what it asserts, so it is asked for again.
        for attempt in range(1, SHOT_ATTEMPTS + 1):
            try:
                self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
                return
            except PlaywrightError as exc:
                if "Unable to capture screenshot" not in str(exc) or attempt == SHOT_ATTEMPTS:
                    raise

    def check(self, *, axe: bool = True) -> Findings:
        """Run every check on the page as it stands now: CSP, console, overflow, axe-core, raw labels, references to
        elements that are not there, ids used twice, inputs the stylesheet does not style."""
        findings = Findings(url=self.page.url)
        findings.csp = self.csp_violations()
        findings.console, self.console_errors = self.console_errors, []
        findings.overflow = int(self.page.evaluate(OVERFLOW))
        if axe:
            findings.axe = serious_axe_findings(self.page)
        findings.raw_labels = raw_labels(str(self.page.evaluate(VISIBLE_TEXT)))
        findings.dangling = list(self.page.evaluate(DANGLING_REFERENCES))
        findings.duplicate_ids = list(self.page.evaluate(DUPLICATE_IDS))
        findings.unstyled_inputs = list(self.page.evaluate(UNSTYLED_INPUTS))
        return findings


def serious_axe_findings(page: Page) -> list[str]:
    """axe-core's serious and critical violations, one line each (rule, first offending elements)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.axe_script)  # a page not opened through a Session
    response = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in response["violations"]:
        if violation.get("impact") in {"serious", "critical"}:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {', '.join(targets)}")
    return found


def raw_labels(text: str) -> list[str]:
    return sorted({match.group(0) for pattern in RAW_LABELS for match in pattern.finditer(text)})
