"""The runs API: list with steps, start, retry — in the one error shape, behind visible_to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from provisioning import services
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import drive, in_progress
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestType
from requests_app.testing.workflow import file_request

pytestmark = pytest.mark.django_db


def client(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def runs_url(reference: str) -> str:
    return f"/api/v1/requests/{reference}/runs/"


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"]), body
    return body["error"]


def test_the_list_shows_runs_with_their_steps_to_whoever_sees_the_request(world, django_assert_max_num_queries):
    service_request = in_progress(world)
    drive(services.run_start(service_request, actor=world.vendor_engineer))
    drive(services.run_start(service_request, actor=world.vendor_engineer, reason="Check it again"))

    for user in (world.vendor_engineer, world.pm, world.requester):
        with django_assert_max_num_queries(8):
            response = client(user).get(runs_url(service_request.reference))
        assert response.status_code == 200
        results = response.json()["results"]
        assert len(results) == 2 and results[0]["status"] == "succeeded" and results[0]["dry_run"] is True
        assert [s["key"] for s in results[0]["steps"]][:2] == ["namespace", "resource_quota"]
        assert results[0]["created_by"] == world.vendor_engineer.username


def test_outside_visibility_the_runs_do_not_exist(world):
    service_request = in_progress(world)

    response = client(world.other_vendor_engineer).get(runs_url(service_request.reference))

    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert client().get(runs_url(service_request.reference)).status_code == 401
    assert client(world.other_vendor_engineer).post(runs_url(service_request.reference), {}).status_code == 404


def test_an_engineer_starts_the_run_and_a_second_start_is_a_409(world):
    service_request = in_progress(world)

    response = client(world.vendor_engineer).post(runs_url(service_request.reference), {"action": ""}, format="json")
    again = client(world.vendor_engineer).post(runs_url(service_request.reference), {}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["action"] == "namespace_with_quota" and len(body["steps"]) == 5
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"
    assert ProvisioningRun.objects.filter(service_request=service_request).count() == 1


def test_starting_access_work_before_approval_is_a_409(world):
    parameters = {"username": "asha", "system": "kubernetes", "kubernetes_namespace": "default", "duration_hours": 1}
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS, parameters=parameters)
    request_services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)

    response = client(world.vendor_engineer).post(runs_url(service_request.reference), {}, format="json")

    assert response.status_code == 409
    assert "approval" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("user", "body", "status", "code"),
    [
        ("requester", {}, 403, "forbidden"),
        ("vendor_engineer", {"action": "jenkins_job"}, 404, "not_found"),
        ("vendor_engineer", {"colour": "blue"}, 400, "invalid"),
    ],
)
def test_refusals_use_the_error_shape(world, user, body, status, code):
    service_request = in_progress(world)

    response = client(getattr(world, user)).post(runs_url(service_request.reference), body, format="json")

    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert not ProvisioningRun.objects.exists()


def test_a_failed_run_can_be_retried_and_a_succeeded_one_cannot(world):
    service_request = in_progress(world)
    run = services.run_start(service_request, actor=world.vendor_engineer)
    services.run_fail(run_id=run.pk, message="Kubernetes refused the credentials [HTTP 401].")
    url = f"{runs_url(service_request.reference)}{run.pk}/retry/"

    response = client(world.vendor_engineer).post(url)
    assert response.status_code == 200 and response.json()["status"] == "queued"
    assert response.json()["retries"] == 1

    drive(run)
    refused = client(world.vendor_engineer).post(url)
    assert refused.status_code == 409 and error_of(refused)["code"] == "conflict"
    assert client(world.other_vendor_engineer).post(url).status_code == 404
    assert client(world.vendor_engineer).post(f"{runs_url(service_request.reference)}999999/retry/").status_code == 404
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


# --- cancel and resume ---------------------------------------------------------------------------------------
def _stuck(world):
    """A run whose worker died mid-run: running in its name, the lease lapsed minutes ago."""
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    past = timezone.now() - timedelta(minutes=5)
    ProvisioningRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, lease_owner="dead-worker", lease_expires_at=past, heartbeat_at=past
    )
    return run


def control_url(run, verb: str) -> str:
    return f"{runs_url(run.service_request.reference)}{run.pk}/{verb}/"


def test_the_pm_resumes_a_stuck_run_and_the_list_shows_its_lease(world):
    run = _stuck(world)
    listed = client(world.requester).get(runs_url(run.service_request.reference)).json()["results"][0]
    assert listed["heartbeat_at"] and listed["lease_expires_at"] and listed["resumes"] == 0

    response = client(world.pm).post(control_url(run, "resume"))

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "running" and body["id"] == run.pk
    assert body["lease_expires_at"] > listed["lease_expires_at"]
    again = client(world.pm).post(control_url(run, "resume"))  # its new lease holds: not stuck any more
    assert again.status_code == 409 and "in a worker's hands" in error_of(again)["message"]
    assert run.service_request.events.filter(kind=EventKind.PROVISIONING_RESUMED).count() == 1


def test_an_engineer_cancels_a_run_with_a_reason_and_cannot_cancel_it_twice(world):
    run = _stuck(world)

    response = client(world.vendor_engineer).post(control_url(run, "cancel"), {"reason": "Wrong quota"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled" and response.json()["error_message"].endswith("Wrong quota")
    again = client(world.vendor_engineer).post(control_url(run, "cancel"), {}, format="json")
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"
    resume = client(world.vendor_engineer).post(control_url(run, "resume"))
    assert resume.status_code == 409 and "Only a stuck run can be resumed" in error_of(resume)["message"]


REFUSALS = [(None, {}, 401, None), ("requester", {}, 403, "forbidden"), ("approver", {}, 403, "forbidden"),
            ("other_vendor_engineer", {}, 404, "not_found")]  # fmt: skip


@pytest.mark.parametrize(
    ("verb", "user", "body", "status", "code"),
    [("cancel", *refusal) for refusal in REFUSALS]
    + [("resume", *refusal) for refusal in REFUSALS]
    + [("cancel", "vendor_engineer", {"colour": "blue"}, 400, "invalid")],
)
def test_cancel_and_resume_refusals_use_the_error_shape(world, verb, user, body, status, code):
    run = _stuck(world)

    response = client(getattr(world, user) if user else None).post(control_url(run, verb), body, format="json")

    assert response.status_code == status
    if code:
        assert error_of(response)["code"] == code
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.lease_owner == "dead-worker"


def test_cancelling_or_resuming_a_finished_run_is_a_409_and_an_unknown_run_a_404(world):
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    drive(run)

    for verb in ("cancel", "resume"):
        response = client(world.pm).post(control_url(run, verb))
        assert response.status_code == 409 and error_of(response)["code"] == "conflict"
        missing = f"{runs_url(run.service_request.reference)}999999/{verb}/"
        assert client(world.pm).post(missing).status_code == 404
