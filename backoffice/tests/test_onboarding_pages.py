"""Onboarding pages and API: who may open and act, the board and the page, moves and ticks with their errors, the NDA
upload and download, and the API's list, move and tick."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from backoffice.models import ChangeRecord, OnboardingStep
from backoffice.onboarding import machine
from requests_app.choices import OnboardingStatus as S
from requests_app.models import VendorOnboarding
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def andhra(world):
    return f.EnvironmentFactory(code="ap", name="Andhra Pradesh")


def detail(vendor="optit", environment="ap"):
    return reverse("backoffice-onboarding-detail", args=[vendor, environment])


def url(name, vendor="optit", environment="ap"):
    return reverse(name, args=[vendor, environment])


@pytest.mark.parametrize("role,status", [("pm", 200), ("approver", 200), ("requester", 403),
                                         ("vendor_engineer", 403), ("vendor_lead", 403)])  # fmt: skip
def test_only_the_program_manager_and_egov_devops_open_onboarding(client, world, andhra, role, status):
    client.force_login(world.users[role])
    assert client.get(reverse("backoffice-onboarding")).status_code == status
    assert client.get(detail()).status_code == status
    assert client.get("/api/v1/vendors/optit/onboarding/").status_code == status


def test_the_board_shows_every_vendor_in_every_environment(client, world, andhra):
    client.force_login(world.pm)
    page = client.get(reverse("backoffice-onboarding")).content.decode()
    assert "OptIT in Punjab: Live" in page
    assert "OptIT in Andhra Pradesh: not started" in page
    assert f'href="{detail("gwl", "ap")}"' in page
    assert client.get(detail("nobody", "ap")).status_code == 404
    assert client.get(detail("optit", "nowhere")).status_code == 404


def test_the_pm_starts_ticks_and_moves_on_from_the_page(client, world, andhra):
    client.force_login(world.pm)
    page = client.get(detail()).content.decode()
    assert "Onboarding has not started in Andhra Pradesh" in page and "Start with Evaluation" in page

    started = client.post(url("backoffice-onboarding-move"), {"to": "evaluation", "evaluation-reason": "Good fit"})
    assert started.status_code == 302

    refused = client.post(url("backoffice-onboarding-move"), {"to": "shortlisted", "shortlisted-reason": "Go"})
    assert refused.status_code == 409
    assert "Evaluation cannot be left until its checklist is done" in refused.content.decode()
    for item in machine.checklist(S.EVALUATION):
        client.post(url("backoffice-onboarding-tick"), {"item": item.key, "done": "yes"})
    moved = client.post(url("backoffice-onboarding-move"), {"to": "shortlisted", "shortlisted-reason": "Go"})
    assert moved.status_code == 302

    page = client.get(detail()).content.decode()
    assert "Evaluation → Shortlisted" in page and "Good fit" in page
    assert "Move on to Training" in page and "First day of training" in page
    no_reason = client.post(url("backoffice-onboarding-move"), {"to": "paused", "paused-reason": ""})
    assert no_reason.status_code == 400 and "This field is required." in no_reason.content.decode()


def test_the_nda_is_uploaded_refused_when_too_odd_and_downloaded(client, world, andhra, settings):
    VendorOnboarding.objects.create(vendor=world.vendor_a, environment=andhra, status=S.TRAINING)
    for item in machine.checklist(S.TRAINING):
        VendorOnboarding.objects.get(environment=andhra, vendor=world.vendor_a).ticks.create(
            stage=S.TRAINING, item=item.key, ticked_by=world.pm
        )
    client.force_login(world.pm)
    text = SimpleUploadedFile("nda.txt", b"I agree.", content_type="application/pdf")
    refused = client.post(url("backoffice-onboarding-move"),
                          {"to": "nda_signed", "nda_signed-reason": "Signed", "nda_signed-document": text})  # fmt: skip
    assert refused.status_code == 415
    assert "Upload the NDA as a PDF, PNG or JPEG." in refused.content.decode()

    pdf = SimpleUploadedFile("Signed NDA.pdf", PDF, content_type="application/octet-stream")
    moved = client.post(url("backoffice-onboarding-move"),
                        {"to": "nda_signed", "nda_signed-reason": "Signed", "nda_signed-document": pdf})  # fmt: skip
    assert moved.status_code == 302
    step = OnboardingStep.objects.get(to_stage=S.NDA_SIGNED)
    download = client.get(reverse("backoffice-onboarding-document", args=["optit", "ap", step.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf" and "attachment" in download["Content-Disposition"]
    client.force_login(world.vendor_lead)
    assert client.get(reverse("backoffice-onboarding-document", args=["optit", "ap", step.pk])).status_code == 403


def test_egov_devops_sees_only_the_access_granted_move_and_may_not_pause(client, world, andhra):
    VendorOnboarding.objects.create(vendor=world.vendor_a, environment=andhra, status=S.DOCUMENTATION_SHARED)
    client.force_login(world.approver)
    page = client.get(detail()).content.decode()
    assert "Move on to Access granted" in page and "Pause" not in page and "Offboard" not in page
    assert "Tick:" not in page  # documentation shared's checklist is the PM's
    paused = client.post(url("backoffice-onboarding-move"), {"to": "paused", "paused-reason": "Wait"})
    assert paused.status_code == 403
    assert VendorOnboarding.objects.get(environment=andhra, vendor=world.vendor_a).status == S.DOCUMENTATION_SHARED


# --- API ----------------------------------------------------------------------------------------------------
def test_api_lists_moves_and_ticks_with_the_page_rules(client, world, andhra):
    client.force_login(world.pm)
    api = "/api/v1/vendors/optit/onboarding/"
    started = client.post(f"{api}ap/move/", {"to": "evaluation", "reason": "Good fit"}, content_type="application/json")
    assert started.status_code == 200 and started.json()["stage"] == "evaluation"

    refused = client.post(f"{api}ap/move/", {"to": "training", "reason": "Skip"}, content_type="application/json")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "Onboarding moves forward one stage at a time: from Evaluation the next stage is Shortlisted."
    )
    ticked = client.post(f"{api}ap/checklist/", {"item": "capabilities"}, content_type="application/json")
    assert ticked.status_code == 200
    checklist = {row["key"]: row for row in ticked.json()["checklist"]}
    assert checklist["capabilities"]["done"] and checklist["capabilities"]["ticked_by"] == "pm"
    assert not checklist["references"]["done"] and checklist["references"]["required"]
    unknown = client.post(f"{api}ap/checklist/", {"item": "nda"}, content_type="application/json")
    assert unknown.status_code == 400 and unknown.json()["error"]["fields"] == {
        "item": ["Choose an item of this stage."]
    }

    body = client.get(api).json()
    by_env = {row["environment"]: row for row in body}
    assert by_env["punjab"]["stage"] == "live" and by_env["ap"]["stage"] == "evaluation"
    assert by_env["ap"]["moves"] == ["shortlisted", "paused", "offboarded"]
    assert [(h["from_stage"], h["to_stage"], h["actor"], h["reason"]) for h in by_env["ap"]["history"]] == [
        ("", "evaluation", "pm", "Good fit")
    ]
    assert client.get("/api/v1/vendors/nobody/onboarding/").status_code == 404
    assert client.post(f"{api}nowhere/move/", {"to": "evaluation", "reason": "x"},
                       content_type="application/json").status_code == 404  # fmt: skip


def test_api_training_dates_and_nda_upload(client, world, andhra):
    onboarding = VendorOnboarding.objects.create(vendor=world.vendor_a, environment=andhra, status=S.SHORTLISTED)
    for item in machine.checklist(S.SHORTLISTED):
        onboarding.ticks.create(stage=S.SHORTLISTED, item=item.key, ticked_by=world.pm)
    client.force_login(world.pm)
    move = "/api/v1/vendors/optit/onboarding/ap/move/"
    bad = client.post(move, {"to": "training", "reason": "Course", "data": {"training_start": "soon"}},
                      content_type="application/json")  # fmt: skip
    assert bad.status_code == 400 and "training_start" in str(bad.json()["error"]["fields"])
    ok = client.post(move, {"to": "training", "reason": "Course",
                            "data": {"training_start": "2026-01-05", "training_end": "2026-01-09"}},
                     content_type="application/json")  # fmt: skip
    assert ok.status_code == 200
    assert ok.json()["history"][-1]["data"] == {"training_start": "2026-01-05", "training_end": "2026-01-09"}

    for item in machine.checklist(S.TRAINING):
        onboarding.ticks.create(stage=S.TRAINING, item=item.key, ticked_by=world.pm)
    pdf = SimpleUploadedFile("nda.pdf", PDF)
    signed = client.post(move, {"to": "nda_signed", "reason": "Signed", "document": pdf})  # multipart
    assert signed.status_code == 200, signed.content
    assert signed.json()["history"][-1]["document"] == {"name": "nda.pdf", "size": len(PDF),
                                                        "content_type": "application/pdf"}  # fmt: skip
    assert ChangeRecord.objects.filter(action="Moved to NDA signed").get().after["document"] == "nda.pdf"


@pytest.mark.parametrize("role", ["requester", "vendor_engineer", "vendor_lead"])
def test_api_refuses_others_with_403(client, world, andhra, role):
    client.force_login(world.users[role])
    answer = client.post("/api/v1/vendors/optit/onboarding/ap/move/", {"to": "evaluation", "reason": "x"},
                         content_type="application/json")  # fmt: skip
    assert answer.status_code == 403
    assert not VendorOnboarding.objects.filter(environment=andhra).exists()


def test_api_egov_devops_may_not_start_onboarding(client, world, andhra):
    client.force_login(world.approver)
    answer = client.post("/api/v1/vendors/optit/onboarding/ap/move/", {"to": "evaluation", "reason": "x"},
                         content_type="application/json")  # fmt: skip
    assert answer.status_code == 403
