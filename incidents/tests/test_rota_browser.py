"""In a real browser, at a phone's width: a vendor lead puts people on the rota and adds an override, and the page
passes the walk's checks (CSP, console, overflow, axe, raw labels)."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from incidents.models import OnCallOverride, OnCallRota
from tests.browser.support import PHONE, Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_vendor_lead_fills_the_rota_and_adds_an_override(live_server, world):
    rota = OnCallRota.objects.create(vendor=world.vendor_a, environment=world.environment, starts_on=date(2026, 1, 5))
    with chromium() as browser:
        lead = Session(browser, live_server.url, world.vendor_lead.username, PHONE)
        page = lead.page
        page.goto(f"/oncall/{rota.pk}/")
        page.get_by_label("1st (primary on the first shift)").select_option(label=str(world.vendor_engineer))
        page.get_by_label("Place 2").select_option(label=str(world.vendor_lead))
        page.get_by_role("button", name="Save", exact=True).click()
        # Which of the two is primary today depends on the date the test runs: both are on call.
        expect(page.get_by_test_id("oncall-now")).to_contain_text(str(world.vendor_engineer))
        expect(page.get_by_test_id("oncall-now")).to_contain_text(str(world.vendor_lead))
        page.get_by_label("Who covers").select_option(label=str(world.vendor_lead))
        page.get_by_label("From (Asia/Kolkata)").fill("2030-01-14T09:00")
        page.get_by_label("Until (Asia/Kolkata)").fill("2030-01-14T18:00")
        page.get_by_label("Reason").fill("Covering a public holiday")
        page.get_by_role("button", name="Add override").click()
        expect(page.get_by_label("Overrides")).to_contain_text("Covering a public holiday")
        findings = lead.check()
    assert not findings, findings
    assert OnCallOverride.objects.get().reason == "Covering a public holiday"
    assert [m.user for m in rota.members.all()] == [world.vendor_engineer, world.vendor_lead]
