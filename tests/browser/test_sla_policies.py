"""The program manager revises the P2 policy in a real browser after reading its what-if: last quarter's compliance
under the draft, and the open clocks it would move; then applies it to open requests and finds it in the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from backoffice.models import ChangeRecord
from requests_app import services
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request
from sla.choices import Clock, Measure
from sla.defaults import ensure_defaults
from sla.models import RequestClock, SlaPolicy
from tests.browser.support import Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pm_revises_the_p2_policy_after_its_what_if(live_server, world):
    ensure_defaults()
    # A P2 picked up 3 hours after filing and resolved: in time for 1 working day, late for 2 hours round the clock.
    # Whatever the calendar, 3 wall-clock hours are at most 3 working hours, so the figures do not depend on the day.
    filed = timezone.now() - timedelta(days=5)
    with time_machine.travel(filed, tick=False) as clock:
        done = file_request(world, title="Namespace for UAT")
        services.request_triage(done, actor=world.pm, vendor=world.vendor_a)
        clock.move_to(filed + timedelta(hours=3))
        done = services.request_pick_up(ServiceRequest.objects.get(pk=done.pk), actor=world.vendor_engineer)
        clock.move_to(filed + timedelta(hours=4))
        services.request_resolve(done, actor=world.vendor_engineer, reason="Created")
    waiting = file_request(world, title="Pipeline for the payments service")  # open: its response clock runs
    due_before = RequestClock.objects.get(service_request=waiting, clock=Clock.SLA, measure=Measure.RESPONSE).due_at

    with chromium() as browser:
        pm = Session(browser, live_server.url, world.pm.username)
        page = pm.page
        page.goto("/manage/")
        page.get_by_role("link", name="SLA policies").first.click()
        p2 = page.get_by_role("region", name="P2 — a few days")
        expect(p2).to_contain_text("Version 1")
        expect(p2).to_contain_text("No earlier revisions.")
        p2.get_by_role("link", name="Revise P2 policy").click()

        # The draft: 2 hours to respond, round the clock.
        page.get_by_role("spinbutton", name="Response goal").fill("2")
        page.get_by_label("Response goal in").select_option("hours")
        page.get_by_label("Response measured on").select_option("24x7")
        page.get_by_role("button", name="Show the what-if").click()

        quarter = page.locator("#what-if-quarter")
        expect(quarter).to_contain_text("The 2 P2 requests filed from")  # the resolved one and the open one
        expect(quarter).to_contain_text("Response compliance would have been 0.00 % instead of 100.00 %")
        expect(quarter).to_contain_text("Resolution compliance would have been 100.00 % instead of 100.00 %")
        open_clocks = page.locator("#what-if-open")
        expect(open_clocks).to_contain_text("1 open clock would change due time")
        expect(open_clocks).to_contain_text("1 earlier, 0 later")
        expect(open_clocks.get_by_role("row", name=waiting.reference)).to_contain_text("SLA response")
        pm.shot("sla-policies-01-what-if")
        assert not pm.check()

        page.get_by_label("New requests and the open ones").check()
        page.get_by_role("button", name="Save revision").click()  # no reason yet: asked for, nothing saved
        expect(page.get_by_role("alert")).to_contain_text("Why this change")
        page.get_by_label("Why this change").fill("P2 tickets block releases; answer within two hours")
        page.get_by_label("New requests and the open ones").check()
        page.get_by_role("button", name="Save revision").click()

        expect(page.locator("#messages")).to_contain_text(
            "Saved P2 policy version 2; the clocks of 1 open request now run under it."
        )
        p2 = page.get_by_role("region", name="P2 — a few days")
        expect(p2).to_contain_text("2 hours (24×7)")
        expect(p2.get_by_role("table", name="Earlier revisions of P2")).to_contain_text("1 working days")
        pm.shot("sla-policies-02-saved")
        page.get_by_role("link", name="Change history").first.click()
        expect(page.locator("tbody")).to_contain_text("P2 tickets block releases; answer within two hours")
        pm.context.close()

    policy = SlaPolicy.objects.get(priority="P2", is_current=True)
    assert (policy.version, policy.response_goal, policy.response_clock) == (2, 2, "24x7")
    moved = RequestClock.objects.get(service_request=waiting, clock=Clock.SLA, measure=Measure.RESPONSE)
    assert moved.policy == policy and moved.due_at == waiting.created_at + timedelta(hours=2) < due_before
    assert ChangeRecord.objects.get().actor == world.pm
