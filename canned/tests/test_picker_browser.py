"""In a real browser: choosing a canned response fills the comment box, which stays editable, and the comment sent
is the edited text."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from canned.models import CannedResponse
from requests_app.choices import EventKind, RequestState
from requests_app.models import RequestEvent
from requests_app.testing.workflow import walk_to
from tests.browser.support import Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_canned_response_fills_the_comment_box_and_can_be_edited(live_server, world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    CannedResponse.objects.create(vendor=world.vendor_a, title="Need logs", body="Please attach the pod logs.")
    with chromium() as browser:
        engineer = Session(browser, live_server.url, world.vendor_engineer.username)
        page = engineer.page
        page.goto(f"/requests/{service_request.reference}/")
        expect(page.get_by_role("button", name="Insert")).to_be_hidden()  # the script fills the box in place
        page.get_by_label("Canned response").select_option(label="Need logs")
        box = page.get_by_label("Comment")
        expect(box).to_have_value("Please attach the pod logs.")
        box.fill("Please attach the pod logs from this morning.")
        page.get_by_role("button", name="Add comment").click()
        expect(page.get_by_text("Please attach the pod logs from this morning.")).to_be_visible()
    comment = RequestEvent.objects.get(service_request=service_request, kind=EventKind.COMMENT)
    assert comment.message == "Please attach the pod logs from this morning."
