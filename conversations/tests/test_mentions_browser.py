"""In a real browser: typing "@" and letters in the comment box lists the people a mention would reach; the
keyboard chooses one, the comment is posted with "@username", and that person becomes a watcher and is told."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conversations.models import Watcher, WatchReason
from portal.models import User
from requests_app.choices import EventKind, RequestState
from requests_app.models import Notification, RequestEvent
from requests_app.testing.workflow import walk_to
from requests_app.tests import factories as f
from tests.browser.support import Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_mention_chosen_with_the_keyboard_is_posted_and_its_person_told(live_server, world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    User.objects.update(first_name="", last_name="")  # the factories' names are random
    User.objects.filter(pk=world.approver.pk).update(first_name="Egon", last_name="Devi")
    f.VendorEngineerFactory(username="eg-gwl", first_name="Egbert", vendor=world.vendor_b)  # never offered
    with chromium() as browser:
        engineer = Session(browser, live_server.url, world.vendor_engineer.username)
        page = engineer.page
        page.goto(f"/requests/{service_request.reference}/")
        box = page.get_by_label("Comment")
        listbox = page.get_by_role("listbox", name="People to mention")
        expect(listbox).to_be_hidden()

        box.press_sequentially("Thanks, and @e")
        expect(listbox.get_by_role("option")).to_have_count(1)  # egov; vendor B's Egbert never
        expect(listbox.get_by_role("option", name="Egon Devi @egov")).to_have_attribute("aria-selected", "true")
        expect(box).to_have_attribute("aria-activedescendant", f"mention-option-{world.approver.pk}")
        assert not engineer.check(), engineer.check()  # CSP, console, axe, raw labels with the list open

        page.keyboard.press("Escape")  # closes the list and keeps typing in the box
        expect(listbox).to_be_hidden()
        expect(box).to_be_focused()
        box.press_sequentially("go")
        expect(listbox.get_by_role("option")).to_have_count(1)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("Enter")
        expect(box).to_have_value("Thanks, and @egov ")
        expect(listbox).to_be_hidden()

        box.press_sequentially("please approve the quota.")
        page.get_by_role("button", name="Add comment").click()
        expect(page.get_by_text("Thanks, and @egov please approve the quota.")).to_be_visible()
        assert not engineer.csp_violations()

    comment = RequestEvent.objects.get(service_request=service_request, kind=EventKind.COMMENT)
    assert comment.message == "Thanks, and @egov please approve the quota."
    assert Watcher.objects.get(service_request=service_request, user=world.approver).reason == WatchReason.MENTIONED
    assert Notification.objects.filter(event=comment, user=world.approver).exists()


def test_a_suggestion_can_be_clicked(live_server, world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    User.objects.update(first_name="", last_name="")
    with chromium() as browser:
        page = Session(browser, live_server.url, world.requester.username).page
        page.goto(f"/requests/{service_request.reference}/")
        box = page.get_by_label("Comment")
        box.press_sequentially("Over to @opti")
        listbox = page.get_by_role("listbox", name="People to mention")
        expect(listbox.get_by_role("option")).to_have_count(2)  # opti-eng, opti-lead
        listbox.get_by_role("option", name="opti-lead @opti-lead").click()
        expect(box).to_have_value("Over to @opti-lead ")
        expect(box).to_be_focused()
        expect(listbox).to_be_hidden()
