"""The whole life of a request in a real browser: file → triage → pick up → resolve → confirm, as four roles.

Runs Debian's chromium through Playwright against pytest-django's live server; never downloads a browser.
Screenshots of each step land in tests/artifacts/screenshots/ (git-ignored, kept by CI as artifacts).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from requests_app.choices import RequestState
from requests_app.models import RoutingRule, ServiceRequest
from tests.browser.support import Session, chromium

# Transactional: the live server's threads must see committed rows. A flush removes the SLA defaults the data
# migration wrote; the SLA engine recreates them on first use (`sla.defaults.ensure_defaults`).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_file_triage_pick_up_resolve_confirm(live_server, world):
    # The routing rule makes the triage inbox pre-select vendor A (live in Punjab through the world fixture).
    RoutingRule.objects.create(environment=world.environment, vendor=world.vendor_a)
    with chromium() as browser:
        reference, requested = walk(browser, live_server.url, world)

    # Every asset came from the portal itself: no CDN, no web fonts.
    assert requested
    assert all(url.startswith(live_server.url) for url in requested), sorted(set(requested))
    service_request = ServiceRequest.objects.get(reference=reference)
    assert service_request.state == RequestState.CLOSED
    assert service_request.assignee == world.vendor_engineer
    assert list(service_request.events.exclude(kind="comment").values_list("kind", flat=True)) == [
        "filed",
        "triage",
        "pick_up",
        "resolve",
        "confirm",
    ]


def walk(browser: Browser, base_url: str, world) -> tuple[str, list[str]]:
    """Drive the four roles through the pages; returns the reference and every URL the browsers asked for."""
    sessions: list[Session] = []

    # 1. The requester files a request; htmx checks the P4 rule inline before the real submit.
    requester = Session(browser, base_url, world.requester.username)
    sessions.append(requester)
    page = requester.page
    expect(page.get_by_role("heading", name="My team's requests")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    page.get_by_label("Title").fill("Namespace for mGramSeva UAT")
    page.get_by_label("Description").fill("A namespace with 4 CPUs and 8 GiB for the UAT rollout.")
    page.get_by_label("Request type").select_option("InfraProvision")
    page.get_by_label("Environment").select_option(label="Punjab")
    page.get_by_label("Stack").select_option(label="Microservices")
    page.get_by_label("Priority").select_option("P4")
    expect(page.locator("#field-needed_by .field-error")).to_contain_text("Required for P4")
    requester.shot("01a-requester-inline-validation")
    page.get_by_label("Priority").select_option("P2")
    expect(page.locator("#field-needed_by .field-error")).to_have_count(0)
    page.get_by_role("button", name="File request").click()
    expect(page.get_by_test_id("state")).to_have_text("Submitted")
    reference = page.locator(".request-head__ref").inner_text()
    assert re.fullmatch(r"REQ-\d{6}", reference)
    expect(page.locator("#messages")).to_contain_text(f"{reference} is filed")
    page.get_by_label("Comment").fill("UAT starts on Monday.")
    page.get_by_role("button", name="Add comment").click()  # htmx swaps the timeline in place
    expect(page.locator("#timeline")).to_contain_text("UAT starts on Monday.")
    requester.shot("01-requester-filed")

    # 2. The program manager triages it to vendor A from the inbox.
    pm = Session(browser, base_url, world.pm.username)
    sessions.append(pm)
    page = pm.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Triage").click()
    row = page.get_by_role("row", name=re.compile(reference))
    expect(row).to_contain_text("OptIT")
    expect(row.get_by_label(f"Vendor for {reference}")).to_have_value(str(world.vendor_a.pk))
    pm.shot("02a-pm-triage-inbox")
    row.get_by_role("button", name=f"Triage {reference}").click()
    expect(page.locator("#messages")).to_contain_text(f"{reference} is now queued")
    expect(page.get_by_role("heading", name="Inbox zero")).to_be_visible()
    page.goto(f"/requests/{reference}/")
    expect(page.get_by_test_id("state")).to_have_text("Queued")
    expect(page.get_by_test_id("vendor")).to_have_text("OptIT")
    pm.shot("02-pm-triaged")

    # 3. A vendor A engineer picks it up from the queue, then resolves it with a note.
    engineer = Session(browser, base_url, world.vendor_engineer.username)
    sessions.append(engineer)
    page = engineer.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    row = page.get_by_role("row", name=re.compile(reference))
    expect(row).to_contain_text("Queued")
    engineer.shot("03a-engineer-queue")
    row.get_by_role("button", name=f"Pick up {reference}").click()
    expect(page.locator("#messages")).to_contain_text(f"{reference} is now in progress")
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_test_id("state")).to_have_text("In progress")
    expect(page.get_by_test_id("assignee")).to_have_text(str(world.vendor_engineer))
    engineer.shot("03-engineer-picked-up")
    page.locator("summary", has_text="Resolve").click()
    page.get_by_label("Resolution note").fill("Namespace mgramseva-uat created with a 4 CPU / 8 GiB quota.")
    page.locator('form[action$="/transitions/resolve/"] button[type=submit]').click()
    expect(page.get_by_test_id("state")).to_have_text("Resolved")
    expect(page.get_by_role("heading", name="Resolution")).to_be_visible()
    engineer.shot("04-engineer-resolved")

    # 4. The requester confirms; the request is closed.
    page = requester.page
    page.goto(f"/requests/{reference}/")
    expect(page.get_by_test_id("state")).to_have_text("Resolved")
    page.locator("summary", has_text="Confirm resolved").click()  # it opens the optional 1–5 rating first
    page.get_by_label("How satisfied are you with the work? (optional)").select_option("5")
    page.get_by_role("button", name="Confirm resolved").click()
    expect(page.get_by_test_id("state")).to_have_text("Closed")
    expect(page.locator("#timeline")).to_contain_text("Namespace mgramseva-uat created")
    requester.shot("05-requester-closed")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    expect(page.get_by_role("row", name=re.compile(reference))).to_contain_text("Closed")
    requester.shot("06-requester-home")

    requested = [url for session in sessions for url in session.requested]
    for session in sessions:
        session.context.close()
    return reference, requested
