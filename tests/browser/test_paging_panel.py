"""The paging panel of a P0 on a phone: the one paged can acknowledge, and the break-glass form asks only for the
chosen system's target, each field with its label above it."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from incidents.models import OnCallMember, OnCallRota
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.testing.workflow import walk_to
from sla.defaults import ensure_defaults
from tests.browser.support import PHONE, Session, chromium, in_sight, scroll_down_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_paged_engineer_acknowledges_and_sees_one_systems_field_at_a_time(live_server, world):
    ensure_defaults()
    rota = OnCallRota.objects.create(vendor=world.vendor_a, environment=world.environment, starts_on=date(2026, 1, 5))
    OnCallMember.objects.create(rota=rota, user=world.vendor_engineer, position=1)
    p0 = walk_to(world, RequestState.QUEUED, request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P0)
    assert p0.pages.filter(target=world.vendor_engineer).exists()
    with chromium() as browser:
        engineer = Session(browser, live_server.url, world.vendor_engineer.username, PHONE)
        page = engineer.page
        page.goto(f"/requests/{p0.reference}/")
        panel = page.get_by_test_id("pages-panel")
        form = page.get_by_test_id("break-glass-form")
        namespace, project = form.get_by_label("Kubernetes namespace"), form.get_by_label("GitLab project id")
        expect(namespace).to_be_visible()
        expect(project).to_be_hidden()
        form.get_by_label("System").select_option("gitlab")
        expect(project).to_be_visible()
        expect(namespace).to_be_hidden()
        # Each label sits above its own control, not beside the previous one.
        label_box = form.locator("label[for=bg-project]").bounding_box()
        project_box = project.bounding_box()
        assert label_box and project_box and label_box["y"] + label_box["height"] <= project_box["y"] + 1
        findings = engineer.check()
        assert not findings, findings
        engineer.shot("paging-panel-390")

        # Acknowledge stays pinned to the table's right edge while the table scrolls inside the card (a phone).
        acknowledge = panel.get_by_role("button", name="Acknowledge")
        scroll_down_to(acknowledge)
        assert in_sight(acknowledge), "Acknowledge is out of sight"
        acknowledge.click()
        expect(panel).to_contain_text("Acknowledged")
        engineer.context.close()
    assert p0.pages.get(target=world.vendor_engineer).acknowledged_at is not None
