"""Onboarding services: moves with their history and change record, checklist gating, what a move into training, NDA
signed and access granted must bring, offboarding revoking access against the stub servers, and routing on live."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.test import override_settings

from backoffice.models import Area, ChangeRecord, OnboardingStep, OnboardingTick
from backoffice.onboarding import machine
from backoffice.onboarding.services import (
    Document,
    MoveData,
    onboarding_access_revoke,
    onboarding_move,
    onboarding_tick,
    vendor_access_open,
)
from integrations.config import GitLabConfig
from integrations.gitlab import GitLabAdapter
from portal.exceptions import Conflict, Forbidden, InvalidTransition, ValidationFailed
from provisioning.models import AccessGrant, ProvisioningRun
from provisioning.tests.helpers import drive
from requests_app import routing
from requests_app import services as request_services
from requests_app.choices import EventKind, OnboardingStatus, RequestType
from requests_app.models import RequestEvent, RoutingRule, VendorOnboarding
from requests_app.testing.workflow import file_request
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
S = OnboardingStatus


@pytest.fixture
def andhra(world):
    """A new environment where vendor A has not started onboarding."""
    return f.EnvironmentFactory(code="ap", name="Andhra Pradesh")


def tick_all(onboarding, actor):
    for item in machine.checklist(onboarding.status):
        onboarding_tick(onboarding, actor=actor, item=item.key)


def move(world, environment, to, *, actor=None, reason="Next step", **data):
    return onboarding_move(
        vendor=world.vendor_a, environment=environment, actor=actor or world.pm, to=to, reason=reason,
        data=MoveData(**data),
    )  # fmt: skip


def walk(world, environment, until):
    """Start and move vendor A forward to `until`, ticking every checklist on the way."""
    step = move(world, environment, S.EVALUATION, reason="Strong Kubernetes team")
    for target in machine.ACTIVE[1 : machine.ACTIVE.index(until) + 1]:
        tick_all(step.onboarding, world.pm)
        extra = {}
        if target == S.TRAINING:
            extra = {"training_start": date(2026, 1, 5), "training_end": date(2026, 1, 9)}
        if target == S.NDA_SIGNED:
            extra = {"document": Document("nda.pdf", PDF)}
        if target == S.ACCESS_GRANTED:
            extra = {"grants": tuple(AccessGrant.objects.values_list("pk", flat=True))}
        step = move(world, environment, target, **extra)
    return VendorOnboarding.objects.get(vendor=world.vendor_a, environment=environment)


def test_starting_and_moving_keeps_a_history_and_a_change_record(world, andhra):
    step = move(world, andhra, S.EVALUATION, reason="Strong Kubernetes team")
    onboarding = step.onboarding
    assert onboarding.status == S.EVALUATION and step.from_stage == "" and step.actor == world.pm

    with pytest.raises(InvalidTransition) as refused:
        move(world, andhra, S.SHORTLISTED)
    assert "Evaluation cannot be left until its checklist is done" in refused.value.message
    onboarding_tick(onboarding, actor=world.pm, item="capabilities")
    onboarding_tick(onboarding, actor=world.pm, item="references")
    move(world, andhra, S.SHORTLISTED, reason="References are good")

    onboarding.refresh_from_db()
    assert onboarding.status == S.SHORTLISTED
    assert [(s.from_stage, s.to_stage, s.reason) for s in onboarding.steps.all()] == [
        ("", S.EVALUATION, "Strong Kubernetes team"),
        (S.EVALUATION, S.SHORTLISTED, "References are good"),
    ]
    tick = OnboardingTick.objects.get(onboarding=onboarding, item="capabilities")
    assert tick.ticked_by == world.pm and tick.stage == S.EVALUATION
    moves = ChangeRecord.objects.filter(area=Area.ONBOARDING, action__startswith="Moved")
    assert [(r.action, r.before, r.after, r.reason) for r in moves.order_by("at", "pk")] == [
        ("Moved to Evaluation", {"stage": None}, {"stage": "evaluation"}, "Strong Kubernetes team"),
        ("Moved to Shortlisted", {"stage": "evaluation"}, {"stage": "shortlisted"}, "References are good"),
    ]
    ticked = ChangeRecord.objects.filter(action="Ticked a checklist item").order_by("at", "pk").first()
    assert ticked.after == {"stage": "evaluation", "item": "capabilities", "done": True,
                            "label": "Capabilities assessed against the stacks they would work on"}  # fmt: skip
    assert ticked.reason == "Checklist of Evaluation" and ticked.actor == world.pm


def test_a_move_needs_a_reason_and_changes_nothing_without_one(world, andhra):
    with pytest.raises(ValidationFailed) as refused:
        move(world, andhra, S.EVALUATION, reason=" ")
    assert refused.value.fields == {"reason": ["Give a reason."]}
    assert not VendorOnboarding.objects.filter(environment=andhra).exists()


def test_unticking_reopens_the_gate(world, andhra):
    onboarding = move(world, andhra, S.EVALUATION).onboarding
    tick_all(onboarding, world.pm)
    onboarding_tick(onboarding, actor=world.pm, item="references", done=False)
    with pytest.raises(InvalidTransition, match="References from earlier programmes checked"):
        move(world, andhra, S.SHORTLISTED)
    with pytest.raises(ValidationFailed, match="Evaluation has no checklist item “nda”"):
        onboarding_tick(onboarding, actor=world.pm, item="nda")


def test_training_needs_both_dates_in_order(world, andhra):
    walk(world, andhra, S.SHORTLISTED)
    tick_all(VendorOnboarding.objects.get(environment=andhra, vendor=world.vendor_a), world.pm)
    with pytest.raises(ValidationFailed) as refused:
        move(world, andhra, S.TRAINING, training_start=date(2026, 1, 9))
    assert refused.value.fields == {"training_end": ["Give the last day of training."]}
    with pytest.raises(ValidationFailed) as refused:
        move(world, andhra, S.TRAINING, training_start=date(2026, 1, 9), training_end=date(2026, 1, 5))
    assert refused.value.fields == {"training_end": ["The last day cannot be before the first."]}

    step = move(world, andhra, S.TRAINING, training_start=date(2026, 1, 5), training_end=date(2026, 1, 9))
    step.refresh_from_db()
    assert step.data == {"training_start": "2026-01-05", "training_end": "2026-01-09"}


def _to_training_done(world, env):
    onboarding = walk(world, env, S.TRAINING)
    tick_all(onboarding, world.pm)
    return onboarding


def test_the_signed_nda_is_stored_through_the_storage_api(world, andhra):
    _to_training_done(world, andhra)
    with pytest.raises(ValidationFailed) as refused:
        move(world, andhra, S.NDA_SIGNED)
    assert refused.value.fields == {"document": ["Choose the signed NDA (PDF or scan)."]}

    step = move(world, andhra, S.NDA_SIGNED, document=Document("../../Signed NDA.pdf", PDF))

    assert step.document_name == "Signed_NDA.pdf" and step.document_type == "application/pdf"
    assert step.document_size == len(PDF)
    assert step.document.name.startswith("onboarding/optit/ap/")
    with default_storage.open(step.document.name) as stored:
        assert stored.read() == PDF


@override_settings(PORTICO_ATTACHMENT_MAX_BYTES=64)
def test_the_nda_keeps_the_attachment_limits_and_a_refused_file_is_not_stored(world, andhra):
    _to_training_done(world, andhra)
    with pytest.raises(ValidationFailed) as empty:
        move(world, andhra, S.NDA_SIGNED, document=Document("nda.pdf", b""))
    assert empty.value.message == "The file is empty."
    with pytest.raises(Exception) as large:
        move(world, andhra, S.NDA_SIGNED, document=Document("nda.pdf", PDF + b" " * 64))
    assert large.value.status_code == 413 and "larger than 64" in large.value.message
    with pytest.raises(Exception) as text:
        move(world, andhra, S.NDA_SIGNED, document=Document("nda.pdf", b"I agree."))
    assert text.value.status_code == 415
    assert text.value.message == "A signed NDA must be a PDF or a scan, not text/plain."
    with pytest.raises(Exception) as script:
        move(world, andhra, S.NDA_SIGNED, document=Document("nda.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 20))
    assert script.value.status_code == 415
    assert VendorOnboarding.objects.get(environment=andhra, vendor=world.vendor_a).status == S.TRAINING
    assert not OnboardingStep.objects.filter(to_stage=S.NDA_SIGNED).exists()


def test_a_failure_after_storing_the_nda_removes_the_file(world, andhra):
    onboarding = _to_training_done(world, andhra)
    before = set(_stored_files())
    # Somebody else moved it on meanwhile: the row check fails after the file was stored.
    VendorOnboarding.objects.filter(pk=onboarding.pk).update(status=S.NDA_SIGNED)
    with pytest.raises(InvalidTransition):
        move(world, andhra, S.NDA_SIGNED, document=Document("nda.pdf", PDF))
    assert set(_stored_files()) == before


def _stored_files():
    try:
        _, vendors = default_storage.listdir("onboarding/optit/ap")
    except FileNotFoundError:
        return []
    return vendors


def _access_request(world, **parameters):
    """An AccessOps request for vendor A's engineer, worked by vendor B (live here whatever A's stage), approved, its
    run driven: its grants exist."""
    defaults = {"username": "opti-eng", "system": "kubernetes", "kubernetes_namespace": "default",
                "cluster_role": "edit", "duration_hours": 8}  # fmt: skip
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS, parameters={**defaults, **parameters})
    service_request = request_services.request_triage(service_request, actor=world.pm, vendor=world.vendor_b)
    service_request = request_services.request_approve(service_request, actor=world.approver)
    drive(ProvisioningRun.objects.get(service_request=service_request))
    return service_request


def test_access_granted_links_the_access_request_and_its_grants(world, k8s_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    env = world.environment
    VendorOnboarding.objects.filter(vendor=world.vendor_a, environment=env).delete()
    access = _access_request(world)  # vendor B is live here and works it; A's engineer gets the access
    onboarding = walk(world, env, S.DOCUMENTATION_SHARED)
    tick_all(onboarding, world.pm)

    with pytest.raises(ValidationFailed) as missing:
        move(world, env, S.ACCESS_GRANTED, actor=world.approver)
    assert "access_request" in missing.value.fields
    other = file_request(world, request_type=RequestType.TROUBLESHOOTING)
    with pytest.raises(ValidationFailed, match="is not an access request"):
        move(world, env, S.ACCESS_GRANTED, actor=world.approver, access_request=other.reference)
    with pytest.raises(ValidationFailed, match="No access grant 999999"):
        move(world, env, S.ACCESS_GRANTED, actor=world.approver, grants=(999999,))

    step = move(world, env, S.ACCESS_GRANTED, actor=world.approver, access_request=access.reference.lower())

    assert step.access_request == access and step.actor == world.approver
    assert list(step.grants.all()) == list(AccessGrant.objects.filter(service_request=access))
    assert ChangeRecord.objects.filter(action="Moved to Access granted").get().after["access_request"] == (
        access.reference
    )


def test_offboarding_revokes_the_vendors_open_access_and_records_a_failure(world, k8s_stub, gitlab_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    connect(world, "gitlab", gitlab_stub)
    gitlab_stub.add_user(20, "opti-eng")
    project = (
        GitLabAdapter(GitLabConfig(url=gitlab_stub.url, token=gitlab_stub.token))
        .ensure_project(group="platform", name="svc")
        .id
    )
    access = _access_request(world, system="both", gitlab_project=project, access_level="developer")
    someone_else = _access_request(world, username="asha")  # a requester's access: not the vendor's
    grants = {g.system: g for g in AccessGrant.objects.filter(service_request=access)}
    assert set(grants) == {"gitlab", "kubernetes"}
    gitlab_stub.fail(f"/api/v4/projects/{project}/members/20", 500, method="DELETE", times=1)
    onboarding = VendorOnboarding.objects.get(vendor=world.vendor_a, environment=world.environment)
    assert routing.vendor_is_live(vendor_id=world.vendor_a.pk, environment_id=world.environment.pk)

    step = move(world, world.environment, S.OFFBOARDED, reason="Contract ended")

    assert not routing.vendor_is_live(vendor_id=world.vendor_a.pk, environment_id=world.environment.pk)
    assert k8s_stub.get("rolebindings", grants["kubernetes"].binding_name, "default") is None
    assert (project, 20) in gitlab_stub.members  # GitLab refused once
    outcomes = {o["grant"]: o for o in step.data["revocations"]}
    assert outcomes[grants["kubernetes"].pk]["revoked"] is True
    assert outcomes[grants["gitlab"].pk]["revoked"] is False and "unavailable" in outcomes[grants["gitlab"].pk]["error"]
    assert list(vendor_access_open(onboarding)) == [grants["gitlab"]]
    assert AccessGrant.objects.get(pk=grants["gitlab"].pk).revoke_error
    assert AccessGrant.objects.filter(service_request=someone_else, revoked_at__isnull=True).count() == 1
    revoked = RequestEvent.objects.get(service_request=access, kind=EventKind.ACCESS_REVOKED)
    assert revoked.actor == world.pm and "OptIT was offboarded in Punjab: Contract ended" in revoked.message
    failed = RequestEvent.objects.get(service_request=access, kind=EventKind.ACCESS_REVOKE_FAILED)
    assert failed.message.startswith("Could not revoke access — GitLab: opti-eng")

    outcomes = onboarding_access_revoke(onboarding, actor=world.approver, reason="GitLab is back")

    assert [o.revoked for o in outcomes] == [True]
    assert (project, 20) not in gitlab_stub.members
    assert list(vendor_access_open(onboarding)) == []
    assert ChangeRecord.objects.filter(action="Revoked access again", actor=world.approver).exists()
    with pytest.raises(InvalidTransition, match="that is final"):
        move(world, world.environment, S.EVALUATION)


def test_revoking_again_is_only_for_an_offboarded_vendor(world):
    onboarding = VendorOnboarding.objects.get(vendor=world.vendor_a, environment=world.environment)
    with pytest.raises(Conflict):
        onboarding_access_revoke(onboarding, actor=world.pm, reason="Just in case")
    with pytest.raises(Forbidden):
        onboarding_access_revoke(onboarding, actor=world.vendor_lead, reason="Just in case")


def test_routing_sends_work_only_while_live_and_pausing_stops_it(world):
    RoutingRule.objects.create(vendor=world.vendor_a)
    service_request = file_request(world)
    assert routing.routing_suggest(service_request) == world.vendor_a

    move(world, world.environment, S.PAUSED, reason="Team on leave")
    assert routing.routing_suggest(service_request) is None
    assert world.vendor_a not in routing.live_vendors(world.environment.pk)
    assert VendorOnboarding.objects.get(vendor=world.vendor_a).paused_from == S.LIVE

    move(world, world.environment, S.LIVE, reason="Back")
    assert routing.routing_suggest(service_request) == world.vendor_a


@pytest.mark.parametrize("role", ["requester", "vendor_lead", "approver"])
def test_only_the_program_manager_moves_stages_other_than_access_granted(world, andhra, role):
    with pytest.raises(Forbidden):
        move(world, andhra, S.EVALUATION, actor=world.users[role])
    assert not VendorOnboarding.objects.filter(environment=andhra).exists()


def test_egov_devops_ticks_only_the_access_granted_checklist(world, andhra):
    onboarding = move(world, andhra, S.EVALUATION).onboarding
    with pytest.raises(Forbidden):
        onboarding_tick(onboarding, actor=world.approver, item="capabilities")
    VendorOnboarding.objects.filter(pk=onboarding.pk).update(status=S.ACCESS_GRANTED)
    onboarding.refresh_from_db()
    assert onboarding_tick(onboarding, actor=world.approver, item="verified").ticked_by == world.approver


def test_the_data_migration_renames_evaluating_and_keeps_the_rest(world):
    migration = importlib.import_module("requests_app.migrations.0017_onboarding_stages")
    onboarding = VendorOnboarding.objects.get(vendor=world.vendor_a)
    VendorOnboarding.objects.filter(pk=onboarding.pk).update(status="evaluating")
    migration._rename(migration.RENAMED)(apps, None)
    onboarding.refresh_from_db()
    assert onboarding.status == S.EVALUATION
    assert VendorOnboarding.objects.get(vendor=world.vendor_b).status == S.LIVE
    VendorOnboarding.objects.filter(pk=onboarding.pk).update(status=S.DOCUMENTATION_SHARED)
    migration._rename(migration.FOLDED)(apps, None)
    onboarding.refresh_from_db()
    assert onboarding.status == "training"
