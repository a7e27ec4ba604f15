"""In a real browser, at a phone's width: the requester writes a review's root cause and files an action item, and
the review and hypercare pages pass the walk's checks (CSP, console, overflow, axe, raw labels)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from incidents.hypercare import hypercare_open
from incidents.models import ActionItem, IncidentReview
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.testing.workflow import walk_to
from tests.browser.support import PHONE, Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_requester_writes_the_review_and_files_an_action_item(live_server, world):
    release = walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE, title="Release 2.4")
    hypercare_open(release, actor=world.pm)
    incident = walk_to(world, RequestState.RESOLVED, request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P1)
    with chromium() as browser:
        requester = Session(browser, live_server.url, world.requester.username, PHONE)
        page = requester.page
        page.goto(f"/requests/{incident.reference}/review/")
        expect(page.get_by_test_id("review-timeline")).to_contain_text("Resolved by")
        page.get_by_label("Root cause").fill("A full disk")
        page.get_by_role("button", name="Save", exact=True).click()
        page.locator("#id_title").fill("Alert on disk usage")
        page.get_by_label("Owner").select_option(label=str(world.requester))
        page.locator("#id_due_on").fill("2030-01-31")
        page.get_by_role("button", name="File the action item").click()
        expect(page.get_by_test_id("review-action-items")).to_contain_text("Alert on disk usage")
        review_findings = requester.check()
        page.goto("/hypercare/")
        expect(page.get_by_test_id("hypercare-counts")).to_contain_text("P0: 1")
        report_findings = requester.check()
    assert not review_findings, review_findings
    assert not report_findings, report_findings
    assert IncidentReview.objects.get().root_cause == "A full disk"
    assert ActionItem.objects.get().owner == world.requester
