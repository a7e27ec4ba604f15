"""The desk in a real browser: the PM works the triage inbox and the list by urgency, with a quick filter, a saved
default view and a bulk triage; a vendor engineer uses a quick filter and the keyboard in their queue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from desk.models import SavedView
from requests_app.choices import Priority, RequestState
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request, walk_to
from sla.defaults import ensure_defaults
from tests.browser.support import PHONE, Session, chromium, in_sight, scroll_down_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pm_and_vendor_engineer_work_the_desk(live_server, world):
    ensure_defaults()
    with time_machine.travel(timezone.now() - timedelta(hours=6), tick=False):
        breached = file_request(world, priority=Priority.P0, title="Cluster down in Punjab")  # 4 h to respond
    p1 = file_request(world, priority=Priority.P1, title="Pipeline stuck")
    p2 = file_request(world, priority=Priority.P2, title="Namespace for UAT")
    console: list[str] = []

    with chromium() as browser:
        pm = Session(browser, live_server.url, world.pm.username)
        page = pm.page
        page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)

        # The triage inbox opens most urgent first: the breached P0 tops it, with the clock that matters.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Triage").click()
        rows = page.locator("tbody tr[data-row]")
        expect(rows).to_have_count(3)
        expect(rows.nth(0)).to_contain_text(breached.reference)
        expect(rows.nth(0)).to_contain_text(re.compile(r"Response breached 2 h( \d+ min)? ago"))
        expect(rows.nth(1)).to_contain_text(p1.reference)
        expect(rows.nth(2)).to_contain_text(p2.reference)
        pm.shot("desk-01-pm-triage-by-urgency")

        # A quick filter applies at once (htmx, URL pushed); the list shows only breached, still-open requests.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
        page.get_by_label("Breached, still open").check()
        expect(page).to_have_url(re.compile(r"quick=breached"))
        expect(page.locator("tbody tr[data-row]")).to_have_count(1)
        expect(page.locator("tbody tr[data-row]").first).to_contain_text(breached.reference)

        # Save it as the default view: opening the list plainly now opens the view.
        page.locator("summary", has_text="Save this view").click()
        page.get_by_label("View name").fill("Breached now")
        page.get_by_label("Open this view by default").check()
        page.get_by_role("button", name="Save view").click()
        expect(page.locator("#messages")).to_contain_text("Saved the view “Breached now”, your default.")
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/\?view=\d+$"))
        default_url = page.url
        expect(page.locator("tbody tr[data-row]")).to_have_count(1)
        expect(page.get_by_role("link", name="Breached now")).to_have_attribute("aria-current", "true")
        pm.shot("desk-02-pm-default-view")

        # Bulk triage two requests to OptIT from the inbox; each row is reported.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Triage").click()
        page.get_by_label(f"Select {p1.reference}").check()
        page.get_by_label(f"Select {p2.reference}").check()
        page.get_by_label("Action").select_option("triage")
        page.locator("#bulk-vendor").select_option("optit")
        page.get_by_role("button", name="Apply to ticked").click()
        result = page.locator("#bulk-result")
        expect(result).to_contain_text("Triage: 2 done, 0 refused")
        expect(result.get_by_role("row", name=re.compile(p1.reference))).to_contain_text("Done")
        pm.shot("desk-03-pm-bulk-triage")
        pm.context.close()

        # The vendor engineer: quick filter "Unassigned" in the queue, then the keyboard.
        engineer = Session(browser, live_server.url, world.vendor_engineer.username)
        page = engineer.page
        page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
        # Their own vendor's queue: no vendor filter, and no other vendor named anywhere on the page.
        expect(page.locator("#desk-filters").get_by_label("Vendor", exact=True)).to_have_count(0)
        expect(page.locator("#bulk-vendor option")).to_have_text(["Keep vendor", "OptIT"])
        expect(page.locator("main")).not_to_contain_text("GWL")
        page.get_by_label("Unassigned").check()
        expect(page).to_have_url(re.compile(r"quick=unassigned"))
        rows = page.locator("tbody tr[data-row]")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text(p1.reference)  # P1 (2 h to respond) before P2 (a working day)
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("/")
        expect(page.get_by_label(re.compile("^Search"))).to_be_focused()
        page.keyboard.press("Escape")
        page.keyboard.press("j")
        expect(rows.nth(0)).to_have_class(re.compile("is-focused"))
        page.keyboard.press("j")
        expect(rows.nth(1)).to_have_class(re.compile("is-focused"))
        page.keyboard.press("k")
        expect(rows.nth(0)).to_have_class(re.compile("is-focused"))
        expect(rows.nth(1)).not_to_have_class(re.compile("is-focused"))
        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
        engineer.shot("desk-04-engineer-keys")
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"/requests/{p1.reference}/$"))
        engineer.context.close()

    assert [message for message in console if "Content Security Policy" in message] == []
    view = SavedView.objects.get(owner=world.pm)
    assert (view.name, view.is_default, view.query) == ("Breached now", True, "quick=breached&sort=sla")
    assert default_url.endswith(f"/?view={view.pk}")
    triaged = ServiceRequest.objects.filter(pk__in=[p1.pk, p2.pk])
    assert {(r.state, r.vendor_id) for r in triaged} == {(RequestState.QUEUED, world.vendor_a.pk)}
    assert ServiceRequest.objects.get(pk=breached.pk).state == RequestState.SUBMITTED


def test_pick_up_stays_in_view_when_the_queue_scrolls_sideways(live_server, world):
    """On a laptop the queue's columns can be wider than the window: the table scrolls inside its frame, and the last
    column, where Pick up is, stays pinned to the frame's right edge rather than scrolling out of sight."""
    ensure_defaults()
    queued = walk_to(world, RequestState.QUEUED, title="Namespace-for-mGramSeva-UAT-in-Punjab-with-quota-and-policies")
    with chromium() as browser:
        engineer = Session(browser, live_server.url, world.vendor_engineer.username, {"width": 1024, "height": 768})
        page = engineer.page
        page.goto("/queue/")
        frame = page.locator(".table-scroll")
        assert frame.evaluate("f => f.scrollWidth > f.clientWidth"), "the table should be wider than its frame here"
        button = page.get_by_role("button", name=f"Pick up {queued.reference}")
        scroll_down_to(button)
        assert frame.evaluate("f => f.scrollLeft") == 0
        assert in_sight(button), "Pick up is hidden at the table's start"
        frame.evaluate("f => { f.scrollLeft = f.scrollWidth; }")
        assert in_sight(button), "Pick up is hidden with the table scrolled to its end"
        engineer.shot("desk-05-engineer-queue-narrow")
        findings = engineer.check()
        assert not findings, findings
        engineer.context.close()


def test_on_a_phone_the_filter_selects_fold_away_unless_one_is_set(live_server, world):
    ensure_defaults()
    queued = walk_to(world, RequestState.QUEUED)
    with chromium() as browser:
        phone = Session(browser, live_server.url, world.vendor_engineer.username, PHONE)
        page = phone.page
        page.goto("/queue/")
        more = page.locator("summary", has_text="More filters")
        state = page.locator("#desk-filters").get_by_label("State", exact=True)
        expect(more).to_be_visible()
        expect(state).to_be_hidden()
        findings = phone.check()
        assert not findings, findings
        table_top = "() => document.querySelector('.table-scroll').getBoundingClientRect().top + scrollY"
        folded = page.evaluate(table_top)

        more.click()
        expect(state).to_be_visible()
        assert page.evaluate(table_top) - folded > 300  # seven selects, one under another: the requests moved down
        state.select_option("queued")
        expect(page).to_have_url(re.compile(r"state=queued"))
        page.reload()  # a set filter stays in sight, counted in the summary
        expect(page.locator("summary", has_text="More filters (1 set)")).to_be_visible()
        expect(state).to_have_value("queued")
        expect(page.get_by_role("link", name=queued.reference)).to_be_visible()
        phone.shot("desk-06-engineer-queue-phone-filtered")
        phone.context.close()

        wide = Session(browser, live_server.url, world.vendor_engineer.username)
        wide.page.goto("/queue/")
        expect(wide.page.locator("summary", has_text="More filters")).to_be_hidden()
        expect(wide.page.locator("#desk-filters").get_by_label("State", exact=True)).to_be_visible()
        wide.context.close()
