"""Approvals that show what they grant: the plan (steps and target-system calls as the dry-run twins make them),
the approval screens that show it, a succeeded run that is not offered again, "run again" with a reason, and the
refusal of a second just-in-time grant while one is active (service, API 409, page)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.exceptions import Conflict, ValidationFailed
from provisioning import services
from provisioning.choices import RunStatus
from provisioning.models import AccessGrant, ProvisioningRun
from provisioning.selectors import run_plan
from provisioning.tests.helpers import drive, in_progress
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestType
from requests_app.testing.workflow import file_request

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 20, 11, 0, tzinfo=IST)
JIT = {
    "username": "asha",
    "system": "both",
    "gitlab_project": 42,
    "access_level": "developer",
    "kubernetes_namespace": "mgramseva-uat",
    "cluster_role": "view",
    "duration_hours": 8,
}


def recorded(run: ProvisioningRun) -> list[tuple[str, str, list[dict]]]:
    """What the dry-run execution recorded, step by step."""
    return [(s.key, s.title, s.output.get("dry_run_calls", [])) for s in run.steps.order_by("position")]


def planned(service_request) -> list[tuple[str, str, list[dict]]]:
    plan = run_plan(service_request)
    assert plan is not None and not plan.problem, plan
    return [(step.key, step.title, step.calls) for step in plan.steps]


def awaiting_approval(world, **parameters):
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS, parameters=parameters or JIT)
    return request_services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)


# --- the plan equals the dry-run execution ---------------------------------------------------------------------------
@time_machine.travel(NOW, tick=False)
def test_the_jit_plan_is_exactly_what_the_dry_run_records_when_approval_starts_the_run(world):
    service_request = awaiting_approval(world)
    plan = run_plan(service_request)
    assert plan is not None and plan.dry_run and plan.starts_on_approval
    assert (plan.access_hours, plan.access_until) == (8, NOW + timedelta(hours=8))
    assert plan.parameters == JIT
    steps = planned(service_request)

    request_services.request_approve(service_request, actor=world.approver)
    run = drive(ProvisioningRun.objects.get(service_request=service_request)).run

    assert run.status == RunStatus.SUCCEEDED and run.dry_run
    assert steps == recorded(run)
    paths = [(call["http_method"], call["path"]) for _, _, calls in steps for call in calls]
    assert ("POST", "/api/v4/projects/42/members") in paths
    assert ("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/mgramseva-uat/rolebindings") in paths
    member = next(call for _, _, calls in steps for call in calls if call["path"] == "/api/v4/projects/42/members")
    assert member["params"]["expires_at"] == "2026-11-21"  # GitLab's own expiry: the day after ours


@time_machine.travel(NOW, tick=False)
def test_the_namespace_plan_is_exactly_what_the_dry_run_records(world):
    service_request = in_progress(world)
    steps = planned(service_request)
    run = drive(services.run_start(service_request, actor=world.vendor_engineer)).run
    assert run.status == RunStatus.SUCCEEDED
    assert steps == recorded(run)
    assert [key for key, _, _ in steps] == ["namespace", "resource_quota", "limit_range", "network_policy",
                                            "role_binding"]  # fmt: skip


@time_machine.travel(NOW, tick=False)
def test_the_pipeline_plan_matches_the_dry_run_but_for_the_run_key_it_cannot_know_yet(world):
    service_request = in_progress(world, request_type=RequestType.CI_PIPELINE, project=7, ref="main")
    steps = planned(service_request)
    run = drive(services.run_start(service_request, actor=world.vendor_engineer)).run
    assert run.status == RunStatus.SUCCEEDED
    text = json.dumps(steps, sort_keys=True).replace("portico-run-new", run.run_key)
    assert text == json.dumps(recorded(run), sort_keys=True)


def test_no_plan_without_parameters_and_none_for_manual_types(world):
    assert run_plan(file_request(world, request_type=RequestType.TROUBLESHOOTING)) is None
    plan = run_plan(file_request(world, request_type=RequestType.ACCESS_OPS, parameters={}))
    assert plan is not None and plan.steps == [] and "No automation parameters" in plan.problem


# --- the screens that show it ----------------------------------------------------------------------------------------
def test_the_approvals_list_shows_parameters_plan_duration_and_that_approving_starts_it(world, client):
    service_request = awaiting_approval(world)
    client.force_login(world.approver)
    page = client.get(reverse("approvals")).content.decode()
    assert service_request.reference in page
    assert "Approving starts the automation at once" in page
    assert "approving starts it at once" in page
    assert "Access lasts <strong>8 h</strong>" in page
    for text in ("Username</dt><dd>asha", "Gitlab project</dt><dd>42", "Cluster role</dt><dd>view"):
        assert text in page
    assert "POST /api/v4/projects/42/members" in page
    assert "the run will be a dry run" in page


def test_the_requester_sees_their_parameters_and_the_plan_on_the_request_page(world, client):
    service_request = awaiting_approval(world)
    client.force_login(world.requester)
    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert 'data-testid="plan-parameters"' in page and "Kubernetes namespace</dt><dd>mgramseva-uat" in page
    assert 'data-testid="plan-step"' in page


# --- a succeeded run is not offered again; "run again" needs a reason --------------------------------------------
def test_after_success_the_panel_offers_run_again_with_a_reason_instead_of_the_start_button(world, client):
    service_request = in_progress(world)
    drive(services.run_start(service_request, actor=world.vendor_engineer))
    client.force_login(world.vendor_engineer)
    url = reverse("provisioning-runs", args=[service_request.reference])

    panel = client.get(url).content.decode()
    assert 'data-testid="run-start"' not in panel and 'data-testid="run-again"' in panel

    refused = client.post(url, {"action": "namespace_with_quota", "reason": " "}, HTTP_HX_REQUEST="true")
    assert "to run it again, say why" in refused.content.decode()
    assert ProvisioningRun.objects.filter(service_request=service_request).count() == 1

    client.post(url, {"action": "namespace_with_quota", "reason": "The quota was deleted by hand"})
    assert ProvisioningRun.objects.filter(service_request=service_request).count() == 2
    started = service_request.events.filter(kind=EventKind.PROVISIONING_STARTED).last()
    assert started.actor == world.vendor_engineer
    assert "again" in started.message and "The quota was deleted by hand" in started.message
    assert started.payload["reason"] == "The quota was deleted by hand"


def test_the_service_and_the_api_ask_for_a_reason_to_run_again(world):
    service_request = in_progress(world)
    first = drive(services.run_start(service_request, actor=world.vendor_engineer)).run
    with pytest.raises(ValidationFailed) as refused:
        services.run_start(service_request, actor=world.vendor_engineer)
    assert "reason" in refused.value.fields and f"run #{first.pk}" in refused.value.message

    api = APIClient()
    api.force_authenticate(world.vendor_engineer)
    url = f"/api/v1/requests/{service_request.reference}/runs/"
    response = api.post(url, {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["error"]["fields"]
    response = api.post(url, {"reason": "Quota drifted"}, format="json")
    assert response.status_code == 201


# --- one active just-in-time grant per user and target -----------------------------------------------------------
@pytest.fixture
def granted(world):
    service_request = awaiting_approval(world)
    request_services.request_approve(service_request, actor=world.approver)
    run = drive(ProvisioningRun.objects.get(service_request=service_request)).run
    assert run.status == RunStatus.SUCCEEDED and AccessGrant.objects.live().count() == 2
    return request_services.request_pick_up(service_request, actor=world.vendor_engineer)


def test_a_second_grant_for_the_same_user_and_target_is_refused_across_requests(world, granted):
    with pytest.raises(Conflict) as same_request:
        services.run_start(granted, actor=world.vendor_engineer, reason="Once more")
    assert "asha already has GitLab access to project 42 until" in same_request.value.message

    other = awaiting_approval(world, **{**JIT, "system": "kubernetes", "gitlab_project": None})
    request_services.request_approve(other, actor=world.approver)  # the portal's own start is refused, and says so
    assert not ProvisioningRun.objects.filter(service_request=other).exists()
    failed = other.events.get(kind=EventKind.PROVISIONING_FAILED)
    assert "already has Kubernetes access to namespace mgramseva-uat" in failed.message


def test_the_api_answers_409_in_the_error_shape_and_the_page_explains(world, granted, client):
    api = APIClient()
    api.force_authenticate(world.vendor_engineer)
    response = api.post(f"/api/v1/requests/{granted.reference}/runs/", {"reason": "Once more"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert set(response.json()) == {"error"} and error["code"] and "already has GitLab access" in error["message"]

    client.force_login(world.vendor_engineer)
    url = reverse("provisioning-runs", args=[granted.reference])
    panel = client.get(url).content.decode()
    assert 'data-testid="run-again"' not in panel and "a second grant is refused while it is active" in panel
    response = client.post(url, {"action": "jit_access", "reason": "Once more"}, HTTP_HX_REQUEST="true")
    assert "already has GitLab access" in response.content.decode()
    assert ProvisioningRun.objects.filter(service_request=granted).count() == 1


def test_once_the_grant_is_revoked_run_again_is_offered(world, granted, client):
    services.access_grants_revoke_expired(now=timezone.now() + timedelta(hours=9))
    client.force_login(world.vendor_engineer)
    panel = client.get(reverse("provisioning-runs", args=[granted.reference])).content.decode()
    assert 'data-testid="run-again"' in panel


# --- the same plan over the API ---------------------------------------------------------------------------------------
@time_machine.travel(NOW, tick=False)
def test_the_api_plan_is_the_pages_plan_and_what_the_dry_run_records(world, client):
    service_request = awaiting_approval(world)
    url = f"/api/v1/requests/{service_request.reference}/plan/"
    api = APIClient()
    api.force_authenticate(world.approver)
    response = api.get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["action"] == "jit_access" and body["problem"] == ""
    assert body["parameters"] == JIT and body["systems"] == ["gitlab", "kubernetes"]
    assert body["access_hours"] == 8 and body["starts_on_approval"] and body["dry_run"]
    assert body["access_until"] == (NOW + timedelta(hours=8)).isoformat()
    by_api = [(step["key"], step["title"], step["calls"]) for step in body["steps"]]
    assert by_api == planned(service_request)  # the plan the pages render (`run_plan`)
    client.force_login(world.approver)
    page = client.get(reverse("approvals")).content.decode()
    for _key, title, calls in by_api:
        assert title in page
        for call in calls:
            assert f"{call['http_method']} {call['path']}" in page

    request_services.request_approve(service_request, actor=world.approver)
    run = drive(ProvisioningRun.objects.get(service_request=service_request)).run
    assert run.status == RunStatus.SUCCEEDED and run.dry_run
    assert by_api == recorded(run)


def test_the_api_plan_is_seen_only_by_those_who_see_the_request(world):
    service_request = awaiting_approval(world)
    url = f"/api/v1/requests/{service_request.reference}/plan/"
    api = APIClient()
    api.force_authenticate(world.requester)
    assert api.get(url).json()["parameters"] == JIT  # the requester sees what they typed
    api.force_authenticate(world.other_vendor_engineer)
    hidden = api.get(url)
    assert hidden.status_code == 404 and "parameters" not in hidden.json()
    manual = file_request(world, request_type=RequestType.TROUBLESHOOTING)
    api.force_authenticate(world.requester)
    empty = api.get(f"/api/v1/requests/{manual.reference}/plan/").json()
    assert empty["action"] is None and empty["steps"] == [] and "no automation" in empty["problem"]
