"""Editing and approvals in a real browser: the program manager changes a request's priority with a reason and sees
the new due time; eGov DevOps sees an access request's parameters and plan before approving it; after the grant
succeeds the vendor's engineer gets no run button, and "Run again" asks for a reason.

Screenshots of the approval screen and the edit land in tests/artifacts/screenshots/ (git-ignored; the README's
pictures come from the every-page walk only).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect

from portal.timefmt import format_time
from provisioning import services as provisioning_services
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import drive
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request, walk_to
from tests.browser.support import SCREENSHOTS, Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JIT = {
    "username": "asha",
    "system": "both",
    "gitlab_project": 42,
    "access_level": "developer",
    "kubernetes_namespace": "mgramseva-uat",
    "cluster_role": "view",
    "duration_hours": 8,
}


def in_a_thread(work: Callable[[], Any]) -> Any:
    """Database work while Playwright's loop runs in this thread: Django refuses the ORM here, not in another."""

    def run() -> Any:
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def test_pm_edits_priority_and_egov_devops_approves_a_grant_that_shows_its_plan(live_server, world):
    queued = walk_to(world, RequestState.QUEUED, title="Namespace for the Sanitation pilot")
    access = services.request_triage(
        file_request(world, title="Developer access for Asha", request_type=RequestType.ACCESS_OPS, parameters=JIT),
        actor=world.pm,
        vendor=world.vendor_a,
    )
    # P1 is 2 h round the clock from submission: the response due time the page must show after the edit.
    response_due = (queued.created_at + timedelta(hours=2)).astimezone(ZoneInfo(world.environment.timezone))
    due_text = (
        f"Due {format_time(response_due, 'long', response_due.tzinfo)}"  # the one formatter: "3 Dec 2026, 22:54 IST"
    )

    with chromium() as browser:
        # 1. The program manager raises the priority; without a reason the form refuses.
        pm = Session(browser, live_server.url, world.pm.username)
        page = pm.page
        page.goto(f"/requests/{queued.reference}/")
        page.get_by_test_id("edit-request").click()
        page.get_by_role("combobox", name="Priority").select_option("P1")
        page.get_by_role("button", name="Save details").click()
        expect(page.locator(".error-summary")).to_contain_text("A reason is required.")
        reason = page.get_by_role("textbox", name="Reason (required when priority or type changes)")
        reason.fill("The pilot starts tomorrow")
        pm.shot("edit-01-pm-changes-priority")
        page.get_by_role("button", name="Save details").click()
        expect(page.locator("#messages")).to_contain_text(f"Details of {queued.reference} saved.")
        expect(page.locator(".clocks")).to_contain_text(due_text)
        expect(page.locator("#timeline")).to_contain_text("Priority P2 → P1 by")
        expect(page.locator("#timeline")).to_contain_text("The pilot starts tomorrow; response due moved from")
        pm.shot("edit-02-pm-priority-changed")

        # 2. eGov DevOps sees what the grant does before approving it.
        egov = Session(browser, live_server.url, world.approver.username)
        page = egov.page
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
        plan = page.get_by_test_id(f"plan-row-{access.reference}")
        expect(plan.get_by_test_id("plan-parameters")).to_contain_text("asha")
        expect(plan.get_by_test_id("plan-parameters")).to_contain_text("mgramseva-uat")
        expect(plan.get_by_test_id("plan-duration")).to_contain_text("Access lasts 8 h")
        expect(plan.get_by_test_id("plan-step")).to_have_count(2)
        expect(plan).to_contain_text("POST /api/v4/projects/42/members")
        expect(page.get_by_text("Approving starts the automation at once")).to_be_visible()
        egov.shot("approvals-01-plan-before-approving")
        page.get_by_role("button", name=f"Approve {access.reference}").click()
        expect(page.locator("#messages")).to_contain_text(f"{access.reference} is now queued")

        # 3. The run the approval started executes (in dry-run mode: no connection is configured).
        run = in_a_thread(lambda: drive(ProvisioningRun.objects.get(service_request=access)).run)
        assert run.status == RunStatus.SUCCEEDED

        # 4. The vendor's engineer picks it up: no run button after success, and the active grant is explained.
        engineer = Session(browser, live_server.url, world.vendor_engineer.username)
        page = engineer.page
        page.goto(f"/requests/{access.reference}/")
        page.get_by_role("button", name="Pick up").click()
        expect(page.get_by_test_id("state")).to_have_text("In progress")
        expect(page.get_by_test_id("run-start")).to_have_count(0)
        expect(page.get_by_test_id("run-again")).to_have_count(0)
        expect(page.get_by_test_id("run-succeeded-note")).to_contain_text("a second grant is refused")

        # 5. Once the grant has expired and been revoked, "Run again" is offered, and asks why.
        in_a_thread(lambda: provisioning_services.access_grants_revoke_expired(now=timezone.now() + timedelta(hours=9)))
        page.reload()
        page.get_by_test_id("run-again").click()
        page.get_by_test_id("run-again-confirm").click()
        expect(page.locator("#runs [role=alert]")).to_contain_text("to run it again, say why")
        page.get_by_label("Why must it run again?").fill("Asha needs another day for the migration")
        engineer.shot("approvals-02-run-again-needs-a-reason")
        page.get_by_test_id("run-again-confirm").click()
        expect(page.get_by_test_id("run")).to_have_count(2)

        for session in (pm, egov, engineer):
            session.context.close()

    queued = ServiceRequest.objects.get(pk=queued.pk)
    assert queued.priority == Priority.P1
    again = access.events.filter(kind=EventKind.PROVISIONING_STARTED).last()
    assert again is not None and again.actor == world.vendor_engineer
    assert "Asha needs another day for the migration" in again.message
    assert (SCREENSHOTS / "approvals-01-plan-before-approving.png").exists()
