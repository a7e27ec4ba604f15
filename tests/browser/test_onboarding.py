"""Partner onboarding in a real browser: the program manager takes OptIT from not started to live in Andhra Pradesh,
one stage at a time: ticking each checklist, giving the training dates, uploading the signed NDA; eGov DevOps records
the access granted by an access request; once live, routing may send OptIT Andhra Pradesh's work.

Screenshots land in tests/artifacts/screenshots/onboarding-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backoffice.onboarding import machine
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import drive
from requests_app import services
from requests_app.choices import OnboardingStatus, RequestType
from requests_app.models import VendorOnboarding
from requests_app.routing import vendor_is_live
from requests_app.testing.workflow import file_request
from requests_app.tests import factories as f
from tests.browser.support import Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JIT = {"username": "opti-eng", "system": "kubernetes", "kubernetes_namespace": "ap-uat", "cluster_role": "view",
       "duration_hours": 8}  # fmt: skip


def _tick_all(session: Session, stage: str) -> None:
    page = session.page
    for item in machine.checklist(stage):
        page.get_by_role("button", name=f"Tick: {item.label}").click()
        expect(page.get_by_role("button", name=f"Untick: {item.label}")).to_be_visible()


def _move(session: Session, title: str, reason: str, fill=None) -> None:
    form = session.page.get_by_role("form", name=title)
    form.get_by_label("Reason").fill(reason)
    if fill:
        fill(form)
    form.get_by_role("button", name=title).click()


def test_the_pm_takes_a_vendor_through_onboarding_to_live_in_andhra_pradesh(live_server, world):
    andhra = f.EnvironmentFactory(code="ap", name="Andhra Pradesh")
    f.VendorOnboardingFactory(vendor=world.vendor_b, environment=andhra)  # GWL is live there and works the request
    access = services.request_triage(
        file_request(world, environment=andhra, request_type=RequestType.ACCESS_OPS, parameters=JIT),
        actor=world.pm,
        vendor=world.vendor_b,
    )
    access = services.request_approve(access, actor=world.approver)
    drive(ProvisioningRun.objects.get(service_request=access))  # dry-run: no connection is configured
    assert not vendor_is_live(vendor_id=world.vendor_a.pk, environment_id=andhra.pk)

    with chromium() as browser:
        pm = Session(browser, live_server.url, world.pm.username)
        page = pm.page
        page.goto("/manage/")
        page.get_by_role("navigation", name="Management area").get_by_role("link", name="Partner onboarding").click()
        page.get_by_role("link", name="OptIT in Andhra Pradesh: not started").click()
        expect(page.get_by_role("heading", name="OptIT in Andhra Pradesh")).to_be_visible()

        _move(pm, "Start with Evaluation", "Strong Kubernetes team for the AP rollout")
        expect(page.locator("#messages")).to_contain_text("OptIT is now at Evaluation in Andhra Pradesh")

        # Forward before the checklist is done: refused, saying what is missing.
        _move(pm, "Move on to Shortlisted", "Too early")
        expect(page.locator(".error-summary")).to_contain_text("Evaluation cannot be left until its checklist is done")
        _tick_all(pm, OnboardingStatus.EVALUATION)
        _move(pm, "Move on to Shortlisted", "References from Punjab are good")
        _tick_all(pm, OnboardingStatus.SHORTLISTED)

        def dates(form):
            form.get_by_label("First day of training").fill("2026-01-05")
            form.get_by_label("Last day of training").fill("2026-01-09")

        _move(pm, "Move on to Training", "Training week booked", dates)
        expect(page.locator(".facts")).to_contain_text("2026-01-05 to 2026-01-09")
        _tick_all(pm, OnboardingStatus.TRAINING)

        def nda(form):
            form.get_by_label("Signed NDA").set_input_files(
                {"name": "OptIT NDA.pdf", "mimeType": "application/pdf", "buffer": PDF}
            )

        _move(pm, "Move on to NDA signed", "Countersigned today", nda)
        expect(page.get_by_role("link", name="OptIT_NDA.pdf")).to_be_visible()
        _tick_all(pm, OnboardingStatus.NDA_SIGNED)
        _move(pm, "Move on to Documentation shared", "Runbooks sent")
        _tick_all(pm, OnboardingStatus.DOCUMENTATION_SHARED)
        # Access is eGov DevOps' part: the PM's page says so by offering the move to them too.
        findings = pm.check()
        pm.shot("onboarding-01-documentation-shared")
        assert not findings, findings

        egov = Session(browser, live_server.url, world.approver.username)
        page = egov.page
        page.goto("/manage/onboarding/optit/ap/")
        expect(page.get_by_role("form", name="Pause")).to_have_count(0)

        def grant(form):
            form.get_by_label("Access request").fill(access.reference)

        _move(egov, "Move on to Access granted", "Read access to the AP cluster", grant)
        expect(page.locator("#messages")).to_contain_text("OptIT is now at Access granted in Andhra Pradesh")
        expect(page.locator("#history-title + .timeline")).to_contain_text(f"Access granted by {access.reference}")
        _tick_all(egov, OnboardingStatus.ACCESS_GRANTED)
        egov.shot("onboarding-02-access-granted")

        page = pm.page
        page.reload()
        _move(pm, "Move on to Live", "Ready for AP requests")
        expect(page.locator(".page-head .badge")).to_have_text("Live")
        findings = pm.check()
        pm.shot("onboarding-03-live")
        assert not findings, findings
        page.goto("/manage/onboarding/")
        expect(page.get_by_role("link", name="OptIT in Andhra Pradesh: Live")).to_be_visible()
        for session in (pm, egov):
            session.context.close()

    onboarding = VendorOnboarding.objects.get(vendor=world.vendor_a, environment=andhra)
    assert onboarding.status == OnboardingStatus.LIVE
    assert [step.to_stage for step in onboarding.steps.all()] == list(machine.ACTIVE)
    assert vendor_is_live(vendor_id=world.vendor_a.pk, environment_id=andhra.pk)
