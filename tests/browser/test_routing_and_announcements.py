"""The management area in a real browser: the program manager asks the routing tester where a request would go and
reads why, then posts an announcement to one vendor; that vendor's engineer sees it on every page until they
acknowledge it, and the program manager then sees who acknowledged it. No CSP violation, no console error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from announcements.models import Acknowledgement, Announcement
from requests_app.choices import RequestType
from requests_app.models import RoutingRule
from tests.browser.support import LAPTOP, PHONE, Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_pm_tests_routing_then_an_announcement_is_seen_and_acknowledged(live_server, world):
    rule = RoutingRule.objects.create(request_type=RequestType.GIT_OPS, environment=world.environment,
                                      vendor=world.vendor_a)  # fmt: skip
    engineer = world.vendor_engineer.get_full_name()
    with chromium() as browser:
        pm = Session(browser, live_server.url, world.pm.username, LAPTOP)
        page = pm.page
        # 1. The tester, from the rules' page: the decision and its reason, from requests_app.routing.
        page.goto("/manage/routing/")
        expect(page.get_by_test_id(f"rule-{rule.pk}")).to_contain_text("GitOps")
        page.get_by_label("Request type").select_option(label="GitOps")
        page.get_by_label("Environment").select_option(label="Punjab")
        page.get_by_label("Stack").select_option(label="Microservices")
        page.get_by_role("button", name="Test").click()
        decision = page.get_by_test_id("routing-decision")
        expect(decision).to_contain_text("Goes to OptIT")
        expect(decision).to_contain_text(
            f"A GitOps request for Punjab on the Microservices stack would go to OptIT because rule #{rule.pk} "
            "(GitOps / Punjab / any stack) is the most specific active match; OptIT is live in Punjab."
        )
        page.get_by_label("Request type").select_option(label="Release")
        page.get_by_role("button", name="Test").click()
        expect(decision).to_contain_text("Waits in triage, unrouted")
        expect(decision).to_contain_text("no routing rule matches it")

        # 2. An announcement for OptIT's people only.
        page.goto("/manage/announcements/new/")
        page.get_by_label("Title").fill("Release freeze")
        page.get_by_label("Message").fill("No production deploys on Friday.")
        page.get_by_label("Chosen vendors and environments").check()
        page.get_by_label("OptIT").check()
        page.get_by_role("button", name="Post announcement").click()
        expect(page.locator("#messages")).to_contain_text("Posted “Release freeze”.")
        expect(page.get_by_test_id("pending")).to_contain_text(engineer)
        expect(page.get_by_test_id("acknowledged")).to_contain_text("Nobody yet.")
        detail = page.url

        # 3. The engineer sees it on every page until they acknowledge it; GWL's engineer never does.
        eng = Session(browser, live_server.url, world.vendor_engineer.username, PHONE)
        eng.page.goto("/queue/")
        banner = eng.page.get_by_test_id("announcement-banner")
        expect(banner).to_contain_text("No production deploys on Friday.")
        eng.page.goto("/notifications/")
        expect(banner).to_be_visible()
        banner.get_by_role("button", name="Acknowledge “Release freeze”").click()
        expect(eng.page).to_have_url(re.compile(r"/notifications/$"))
        expect(banner).to_have_count(0)
        eng.page.goto("/queue/")
        expect(banner).to_have_count(0)
        other = Session(browser, live_server.url, world.other_vendor_engineer.username, PHONE)
        other.page.goto("/queue/")
        expect(other.page.get_by_text("Release freeze")).to_have_count(0)

        # 4. The program manager sees who acknowledged it.
        page.goto(detail)
        expect(page.get_by_test_id("acknowledged")).to_contain_text(engineer)
        expect(page.get_by_test_id("pending")).not_to_contain_text(engineer)

        for session in (pm, eng, other):
            assert session.csp_violations() == [] and session.console_errors == []
            session.context.close()
    acknowledgement = Acknowledgement.objects.get()
    assert (acknowledgement.user, acknowledgement.announcement) == (world.vendor_engineer, Announcement.objects.get())
