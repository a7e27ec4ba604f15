"""Provisioning runs through the real services and real adapters, against the stub servers over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.config import GitLabConfig
from integrations.errors import TransientIntegrationError
from integrations.gitlab import GitLabAdapter
from portal.exceptions import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.models import OutboxMessage
from provisioning import services
from provisioning.choices import RunStatus, StepStatus
from provisioning.models import AccessGrant, ProvisioningRun
from provisioning.selectors import runs_panel
from provisioning.tests.helpers import NAMESPACE_PARAMETERS, drive, in_progress
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestState, RequestType
from requests_app.testing.workflow import file_request, walk_to

pytestmark = pytest.mark.django_db

QUOTAS = "/api/v1/namespaces/*/resourcequotas"


def _events(service_request, kind):
    return list(service_request.events.filter(kind=kind).order_by("pk"))


def _gitlab_project(stub) -> int:
    return GitLabAdapter(GitLabConfig(url=stub.url, token=stub.token)).ensure_project(group="platform", name="svc").id


# --- namespace with quota ------------------------------------------------------------------------------------
def test_namespace_with_quota_creates_namespace_quota_limits_policy_and_binding(
    world, k8s_stub, connect, django_capture_on_commit_callbacks
):
    connect(world, "kubernetes", k8s_stub)
    service_request = in_progress(world)

    with django_capture_on_commit_callbacks() as callbacks:
        run = services.run_start(service_request, actor=world.vendor_engineer)
    result = drive(run)

    # Sent on commit through the outbox: the execute task only (nobody is notified that automation started).
    assert len(callbacks) == 1
    assert OutboxMessage.objects.filter(task=services.EXECUTE_TASK, kwargs={"run_id": run.pk}).count() == 1
    assert result.run.status == RunStatus.SUCCEEDED
    assert result.run.attempts == 1 and not result.run.dry_run
    assert [s.status for s in result.run.steps.order_by("position")] == [StepStatus.SUCCEEDED] * 5
    namespace = k8s_stub.get("namespaces", "mgramseva-uat")
    assert namespace["metadata"]["labels"]["portico.io/reference"] == service_request.reference
    assert namespace["metadata"]["labels"]["portico.io/team"] == "mgramseva"
    assert k8s_stub.get("resourcequotas", "portico-quota", "mgramseva-uat")["spec"]["hard"]["limits.cpu"] == "4"
    assert k8s_stub.get("limitranges", "portico-limits", "mgramseva-uat") is not None
    assert k8s_stub.get("networkpolicies", "default-deny", "mgramseva-uat")["spec"]["policyTypes"] == ["Ingress"]
    binding = k8s_stub.get("rolebindings", "portico-team", "mgramseva-uat")
    assert binding["subjects"][0]["name"] == "mgramseva-devs" and binding["roleRef"]["name"] == "edit"
    assert result.run.external_ids == {"namespace": "mgramseva-uat"}
    started = _events(service_request, EventKind.PROVISIONING_STARTED)
    assert started[0].actor == world.vendor_engineer and f"run #{run.pk} started" in started[0].message
    succeeded = _events(service_request, EventKind.PROVISIONING_SUCCEEDED)
    assert len(succeeded) == 1 and "namespace mgramseva-uat is ready" in succeeded[0].message
    service_request.refresh_from_db()
    assert service_request.state == RequestState.IN_PROGRESS  # automation never resolves the request itself


def test_running_the_namespace_action_twice_creates_one_namespace(world, k8s_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    service_request = in_progress(world)

    first = drive(services.run_start(service_request, actor=world.vendor_engineer)).run
    second = drive(services.run_start(service_request, actor=world.vendor_engineer, reason="Quota drifted")).run

    assert first.status == second.status == RunStatus.SUCCEEDED
    assert sum(1 for (plural, _, name) in k8s_stub.objects if plural == "namespaces" and name == "mgramseva-uat") == 1
    assert k8s_stub.count("resourcequotas", "mgramseva-uat") == 1
    assert k8s_stub.count("rolebindings", "mgramseva-uat") == 1
    assert all("unchanged" in step.output_text for step in second.steps.all())


def test_a_redelivered_task_for_a_finished_run_calls_nothing(world, k8s_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    run = drive(services.run_start(in_progress(world), actor=world.vendor_engineer)).run
    calls = len(k8s_stub.calls)

    assert services.run_execute(run_id=run.pk) is None
    assert len(k8s_stub.calls) == calls
    run.refresh_from_db()
    assert run.attempts == 1


def test_a_step_left_running_by_a_dead_worker_is_rerun_idempotently(world, k8s_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    run = drive(services.run_start(in_progress(world), actor=world.vendor_engineer)).run
    # What a worker killed after the quota POST but before saving leaves behind.
    ProvisioningRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, finished_at=None)
    run.steps.filter(key__in=["resource_quota", "limit_range", "network_policy", "role_binding"]).update(
        status=StepStatus.PENDING
    )
    run.steps.filter(key="resource_quota").update(status=StepStatus.RUNNING)
    k8s_stub.reset_calls()

    again = drive(run).run

    assert again.status == RunStatus.SUCCEEDED and again.attempts == 2
    assert k8s_stub.calls_to("POST", "/api/v1/namespaces") == []  # the namespace step was done: skipped
    assert k8s_stub.count("resourcequotas", "mgramseva-uat") == 1


# --- failures ------------------------------------------------------------------------------------------------
def test_a_500_is_retried_and_the_run_then_succeeds(world, k8s_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    k8s_stub.fail(QUOTAS, 500, method="POST")

    result = drive(run)

    assert result.transient == 1
    assert result.run.status == RunStatus.SUCCEEDED
    assert result.run.attempts == 2
    assert len(k8s_stub.calls_to("POST", QUOTAS)) == 2
    assert k8s_stub.count("resourcequotas", "mgramseva-uat") == 1


def test_a_transient_failure_leaves_the_step_pending_with_the_error_for_the_next_attempt(world, k8s_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    run = services.run_start(in_progress(world), actor=world.vendor_engineer)
    k8s_stub.fail(QUOTAS, 503, method="POST")

    with pytest.raises(TransientIntegrationError):
        services.run_execute(run_id=run.pk)

    run.refresh_from_db()
    quota = run.steps.get(key="resource_quota")
    assert run.status == RunStatus.RUNNING
    assert quota.status == StepStatus.PENDING and "unavailable" in quota.output_text
    assert quota.output["last_error"]["status"] == 503


@pytest.mark.parametrize("status", [400, 401])
def test_a_4xx_fails_the_run_at_once_with_a_clear_message(world, k8s_stub, connect, status):
    connect(world, "kubernetes", k8s_stub)
    service_request = in_progress(world)
    run = services.run_start(service_request, actor=world.vendor_engineer)
    k8s_stub.fail(QUOTAS, status, method="POST")

    result = drive(run)

    assert result.transient == 0
    assert result.run.status == RunStatus.FAILED
    assert len(k8s_stub.calls_to("POST", QUOTAS)) == 1  # no retry
    assert f"[HTTP {status}]" in result.run.error_message
    if status == 401:
        assert "refused the credentials" in result.run.error_message
    steps = {s.key: s.status for s in result.run.steps.all()}
    assert steps["namespace"] == StepStatus.SUCCEEDED and steps["resource_quota"] == StepStatus.FAILED
    assert steps["limit_range"] == StepStatus.PENDING
    service_request.refresh_from_db()
    assert service_request.state == RequestState.IN_PROGRESS
    failed = _events(service_request, EventKind.PROVISIONING_FAILED)
    assert len(failed) == 1 and f"[HTTP {status}]" in failed[0].message and failed[0].actor is None
    assert run.pk in runs_panel(service_request, user=world.vendor_engineer).retryable


def test_retrying_a_failed_run_redoes_only_the_failed_step(world, k8s_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    service_request = in_progress(world)
    run = drive(services.run_start(service_request, actor=world.vendor_engineer)).run
    assert run.status == RunStatus.SUCCEEDED
    run = services.run_start(service_request, actor=world.vendor_engineer, reason="The quota was deleted")
    k8s_stub.fail(QUOTAS, 401, method="POST")
    assert drive(run).run.status == RunStatus.FAILED
    k8s_stub.reset_calls()

    retried = services.run_retry(run, actor=world.vendor_engineer)
    assert retried.status == RunStatus.QUEUED and retried.retries == 1
    done = drive(retried).run

    assert done.status == RunStatus.SUCCEEDED and done.error_message == ""
    assert k8s_stub.calls_to("POST", "/api/v1/namespaces") == []
    assert len(k8s_stub.calls_to("POST", QUOTAS)) == 1
    assert "retried" in _events(service_request, EventKind.PROVISIONING_STARTED)[-1].message


def test_only_failed_runs_can_be_retried(world, k8s_stub, connect):
    connect(world, "kubernetes", k8s_stub)
    run = drive(services.run_start(in_progress(world), actor=world.vendor_engineer)).run

    with pytest.raises(Conflict):
        services.run_retry(run, actor=world.vendor_engineer)


def test_when_the_task_gives_up_the_run_is_marked_failed_on_its_first_unfinished_step(world):
    service_request = in_progress(world)
    run = services.run_start(service_request, actor=world.vendor_engineer)

    services.run_fail(run_id=run.pk, message="Kubernetes is unavailable. Gave up after 6 retries.")

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "Gave up" in run.error_message
    assert run.steps.get(position=1).status == StepStatus.FAILED
    assert len(_events(service_request, EventKind.PROVISIONING_FAILED)) == 1
    services.run_fail(run_id=run.pk, message="again")  # idempotent: no second event
    assert len(_events(service_request, EventKind.PROVISIONING_FAILED)) == 1


# --- who may start -------------------------------------------------------------------------------------------
JIT = {
    "username": "asha",
    "system": "kubernetes",
    "kubernetes_namespace": "default",
    "cluster_role": "view",
    "duration_hours": 4,
}


def test_access_ops_is_refused_before_approval(world):
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS, parameters=JIT)
    service_request = request_services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    assert service_request.state == RequestState.PENDING_APPROVAL

    with pytest.raises(InvalidTransition, match="approval"):
        services.run_start(service_request, actor=world.vendor_engineer)
    with pytest.raises(InvalidTransition, match="approval"):
        services.run_start(service_request, actor=None)
    assert not ProvisioningRun.objects.exists()


def test_approval_starts_the_access_run_as_the_portal_itself(world, django_capture_on_commit_callbacks):
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS, parameters=JIT)
    service_request = request_services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)

    with django_capture_on_commit_callbacks() as callbacks:
        request_services.request_approve(service_request, actor=world.approver)

    run = ProvisioningRun.objects.get(service_request=service_request)
    assert run.created_by is None and run.action == "jit_access" and run.status == RunStatus.QUEUED
    assert OutboxMessage.objects.filter(task=services.EXECUTE_TASK, kwargs={"run_id": run.pk}).exists()
    assert len(callbacks) >= 1
    assert "by Portico after approval" in _events(service_request, EventKind.PROVISIONING_STARTED)[0].message


def test_approval_without_parameters_starts_nothing(world):
    service_request = walk_to(world, RequestState.PENDING_APPROVAL)

    request_services.request_approve(service_request, actor=world.approver)

    assert not ProvisioningRun.objects.exists()


def test_who_may_start_a_run(world):
    queued = walk_to(world, RequestState.QUEUED, parameters=NAMESPACE_PARAMETERS)
    with pytest.raises(InvalidTransition, match="in progress"):
        services.run_start(queued, actor=world.vendor_engineer)
    with pytest.raises(Forbidden):  # infra work is never started by the portal itself
        services.run_start(queued, actor=None)
    working = in_progress(world)
    with pytest.raises(NotFound):
        services.run_start(working, actor=world.other_vendor_engineer)
    with pytest.raises(Forbidden):
        services.run_start(working, actor=world.requester)
    with pytest.raises(Forbidden):
        services.run_start(working, actor=world.pm)
    manual = walk_to(world, RequestState.IN_PROGRESS)  # filed without parameters
    with pytest.raises(ValidationFailed) as info:
        services.run_start(manual, actor=world.vendor_engineer)
    assert "parameters" in info.value.fields


def test_a_second_concurrent_run_of_the_same_action_is_refused(world):
    service_request = in_progress(world)
    services.run_start(service_request, actor=world.vendor_engineer)

    with pytest.raises(Conflict) as info:
        services.run_start(service_request, actor=world.vendor_engineer)

    assert info.value.status_code == 409
    assert ProvisioningRun.objects.filter(service_request=service_request).count() == 1


# --- filing --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("request_type", "parameters", "field"),
    [
        (RequestType.INFRA_PROVISION, {"namespace": "Bad_Name", "cpu": "4", "memory": "8Gi"}, "parameters.namespace"),
        (RequestType.INFRA_PROVISION, {"namespace": "ok", "memory": "8Gi"}, "parameters.cpu"),
        (RequestType.INFRA_PROVISION, {"namespace": "ok", "cpu": "lots", "memory": "8Gi"}, "parameters.cpu"),
        (RequestType.INFRA_PROVISION, {**NAMESPACE_PARAMETERS, "colour": "blue"}, "parameters.colour"),
        (RequestType.ACCESS_OPS, {**JIT, "duration_hours": 721}, "parameters.duration_hours"),
        (RequestType.ACCESS_OPS, {**JIT, "system": "gitlab"}, "parameters.gitlab_project"),
        (RequestType.CI_PIPELINE, {"project": 5, "variables": {"PORTICO_RUN_ID": "x"}}, "parameters.variables"),
        (RequestType.TROUBLESHOOTING, {"anything": 1}, "parameters"),
    ],
)
def test_filing_validates_parameters_with_field_errors(world, request_type, parameters, field):
    with pytest.raises(ValidationFailed) as info:
        file_request(world, request_type=request_type, parameters=parameters)

    assert field in info.value.fields


def test_filing_without_parameters_means_manual_work(world):
    service_request = file_request(world)

    assert service_request.parameters == {}


def test_filing_stores_the_cleaned_parameters(world):
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS, parameters=JIT)

    service_request.refresh_from_db()
    assert service_request.parameters["duration_hours"] == 4
    assert service_request.parameters["system"] == "kubernetes"


# --- dry run -------------------------------------------------------------------------------------------------
def test_an_environment_without_a_connection_records_each_step_as_a_dry_run(world):
    service_request = in_progress(world)

    run = drive(services.run_start(service_request, actor=world.vendor_engineer)).run

    assert run.dry_run and run.status == RunStatus.SUCCEEDED
    namespace_step = run.steps.get(key="namespace")
    calls = namespace_step.output["dry_run_calls"]
    assert calls[0]["http_method"] == "POST" and calls[0]["path"] == "/api/v1/namespaces"
    quota_calls = run.steps.get(key="resource_quota").output["dry_run_calls"]
    assert quota_calls[0]["path"] == "/api/v1/namespaces/mgramseva-uat/resourcequotas"
    assert "dry run" in _events(service_request, EventKind.PROVISIONING_STARTED)[0].message


# --- GitLab and Jenkins --------------------------------------------------------------------------------------
def test_gitlab_pipeline_is_triggered_once_and_followed_to_its_result(world, gitlab_stub, connect):
    connect(world, "gitlab", gitlab_stub)
    project = _gitlab_project(gitlab_stub)
    service_request = in_progress(
        world, request_type=RequestType.CI_PIPELINE, project=project, ref="main", variables={"TARGET": "uat"}
    )
    run = services.run_start(service_request, actor=world.vendor_engineer)

    assert services.run_execute(run_id=run.pk) is not None  # triggered, first poll says "running": look again
    # A redelivery before the trigger step's result was saved: it must find our pipeline, not start another.
    run.steps.filter(key="trigger_pipeline").update(status=StepStatus.RUNNING)
    result = drive(run)

    assert result.run.status == RunStatus.SUCCEEDED
    assert len(gitlab_stub.pipelines) == 1
    pipeline = next(iter(gitlab_stub.pipelines.values()))
    variables = {v["key"]: v["value"] for v in pipeline["_variables"]}
    assert variables == {"TARGET": "uat", "PORTICO_RUN_ID": result.run.run_key}
    assert result.run.links["pipeline"].endswith(f"/-/pipelines/{pipeline['id']}")
    assert result.run.attempts == 2


def test_gitlab_project_is_created_once(world, gitlab_stub, connect):
    connect(world, "gitlab", gitlab_stub)
    service_request = in_progress(world, request_type=RequestType.GIT_OPS, group="platform/punjab", name="mseva-api")

    first = drive(services.run_start(service_request, actor=world.vendor_engineer)).run
    second = drive(services.run_start(service_request, actor=world.vendor_engineer, reason="Check it is there")).run

    assert first.status == second.status == RunStatus.SUCCEEDED
    assert [p["path_with_namespace"] for p in gitlab_stub.projects.values()] == ["platform/punjab/mseva-api"]
    assert first.links["project"].endswith("/platform/punjab/mseva-api")
    assert len(gitlab_stub.calls_to("POST", "/api/v4/projects")) == 1


def test_jenkins_job_is_queued_once_and_followed_to_its_result(world, jenkins_stub, connect):
    connect(world, "jenkins", jenkins_stub)
    service_request = in_progress(
        world, request_type=RequestType.DEPLOYMENT_SUPPORT, job="deploy", parameters={"ENV": "uat"}
    )
    run = services.run_start(service_request, actor=world.vendor_engineer)

    assert services.run_execute(run_id=run.pk) is not None  # queued; still waiting for an executor
    run.steps.filter(key="trigger_build").update(status=StepStatus.RUNNING)  # as if the result was never saved
    result = drive(run)

    assert result.run.status == RunStatus.SUCCEEDED
    assert len(jenkins_stub.queue) == 1 and len(jenkins_stub.jobs["deploy"].builds) == 1
    assert jenkins_stub.build_parameters("deploy", 1) == {"ENV": "uat", "PORTICO_RUN_ID": result.run.run_key}
    assert result.run.links["console"].endswith("/job/deploy/1/console")
    assert result.run.steps.get(key="follow_build").link.endswith("/console")


def test_a_red_jenkins_build_fails_the_run_and_a_retry_starts_a_new_build(world, jenkins_stub, connect):
    connect(world, "jenkins", jenkins_stub)
    service_request = in_progress(world, request_type=RequestType.DEPLOYMENT_SUPPORT, job="team/release")
    run = drive(services.run_start(service_request, actor=world.vendor_engineer)).run
    assert run.status == RunStatus.FAILED and "finished FAILURE" in run.error_message
    assert run.links["console"].endswith("/job/team/job/release/1/console")

    jenkins_stub.jobs["team/release"].result = "SUCCESS"
    retried = drive(services.run_retry(run, actor=world.vendor_engineer)).run

    assert retried.status == RunStatus.SUCCEEDED
    assert len(jenkins_stub.jobs["team/release"].builds) == 2


# --- just-in-time access -------------------------------------------------------------------------------------
@pytest.fixture
def jit_world(world, gitlab_stub, k8s_stub, connect):
    connect(world, "gitlab", gitlab_stub)
    connect(world, "kubernetes", k8s_stub)
    project = _gitlab_project(gitlab_stub)
    parameters = {
        "username": "asha",
        "system": "both",
        "gitlab_project": project,
        "access_level": "developer",
        "kubernetes_namespace": "default",
        "cluster_role": "edit",
        "duration_hours": 2,
    }
    service_request = in_progress(world, request_type=RequestType.ACCESS_OPS, **parameters)
    run = ProvisioningRun.objects.get(service_request=service_request)  # started by the portal at approval
    return service_request, drive(run).run, project


def test_jit_access_grants_gitlab_membership_and_a_role_binding_with_an_expiry(world, jit_world, gitlab_stub, k8s_stub):
    service_request, run, project = jit_world

    assert run.status == RunStatus.SUCCEEDED and run.created_by is None
    grants = {g.system: g for g in AccessGrant.objects.filter(run=run)}
    assert set(grants) == {"gitlab", "kubernetes"}
    expected = timezone.now() + timedelta(hours=2)
    assert abs((grants["gitlab"].expires_at - expected).total_seconds()) < 60
    member = gitlab_stub.members[(project, 7)]
    assert member["access_level"] == 30
    assert member["expires_at"] == (grants["gitlab"].expires_at + timedelta(days=1)).date().isoformat()
    binding = k8s_stub.get("rolebindings", grants["kubernetes"].binding_name, "default")
    assert binding["subjects"] == [{"kind": "User", "name": "asha", "apiGroup": "rbac.authorization.k8s.io"}]
    assert len(_events(service_request, EventKind.ACCESS_GRANTED)) == 2


def test_a_second_jit_grant_is_refused_while_the_first_is_active(world, jit_world, gitlab_stub, k8s_stub):
    service_request, _, project = jit_world

    with pytest.raises(Conflict) as refused:
        services.run_start(service_request, actor=world.vendor_engineer, reason="Once more")

    assert "asha already has GitLab access to project" in refused.value.message
    assert refused.value.status_code == 409
    assert ProvisioningRun.objects.filter(service_request=service_request).count() == 1
    assert len(gitlab_stub.calls_to("POST", f"/api/v4/projects/{project}/members")) == 1
    assert k8s_stub.count("rolebindings", "default") == 1


def test_after_the_grant_is_revoked_running_jit_access_again_leaves_one_member_and_one_binding(
    world, jit_world, gitlab_stub, k8s_stub
):
    service_request, _, project = jit_world
    assert services.access_grants_revoke_expired(now=timezone.now() + timedelta(hours=3)) == 2

    again = drive(services.run_start(service_request, actor=world.vendor_engineer, reason="Needs another day")).run

    assert again.status == RunStatus.SUCCEEDED
    assert [key for key in gitlab_stub.members if key[0] == project] == [(project, 7)]
    assert k8s_stub.count("rolebindings", "default") == 1
    started = _events(service_request, EventKind.PROVISIONING_STARTED)[-1]
    assert "again" in started.message and "Needs another day" in started.message


def test_expired_grants_are_revoked_by_one_scan_after_downtime_and_a_second_scan_does_nothing(
    world, jit_world, gitlab_stub, k8s_stub
):
    service_request, run, project = jit_world
    later = timezone.now() + timedelta(hours=5)  # the workers were down when the grants expired

    assert services.access_grants_revoke_expired(now=later) == 2

    assert (project, 7) not in gitlab_stub.members
    assert k8s_stub.count("rolebindings", "default") == 0
    assert not AccessGrant.objects.filter(run=run, revoked_at__isnull=True).exists()
    revoked = _events(service_request, EventKind.ACCESS_REVOKED)
    assert len(revoked) == 2 and all("expired" in e.message for e in revoked)
    calls = len(gitlab_stub.calls) + len(k8s_stub.calls)
    assert services.access_grants_revoke_expired(now=later + timedelta(minutes=1)) == 0
    assert len(gitlab_stub.calls) + len(k8s_stub.calls) == calls
    assert len(_events(service_request, EventKind.ACCESS_REVOKED)) == 2


def test_a_grant_not_yet_expired_is_left_alone(world, jit_world, gitlab_stub):
    _, _, project = jit_world

    assert services.access_grants_revoke_expired() == 0
    assert (project, 7) in gitlab_stub.members


def test_access_removed_by_hand_counts_as_revoked(world, jit_world, gitlab_stub):
    service_request, _, project = jit_world
    del gitlab_stub.members[(project, 7)]

    assert services.access_grants_revoke_expired(now=timezone.now() + timedelta(hours=3)) == 2
    assert any("already gone" in e.message for e in _events(service_request, EventKind.ACCESS_REVOKED))


def test_a_failed_revoke_is_audited_once_and_retried_by_the_next_scan(world, jit_world, gitlab_stub):
    service_request, run, project = jit_world
    later = timezone.now() + timedelta(hours=3)
    gitlab_stub.fail(f"/api/v4/projects/{project}/members/7", 500, method="DELETE", times=2)

    assert services.access_grants_revoke_expired(now=later) == 1  # Kubernetes went; GitLab did not
    assert services.access_grants_revoke_expired(now=later) == 0
    grant = AccessGrant.objects.get(run=run, system="gitlab")
    assert grant.revoked_at is None and "unavailable" in grant.revoke_error and grant.revoke_attempts == 2
    assert len(_events(service_request, EventKind.ACCESS_REVOKE_FAILED)) == 1

    assert services.access_grants_revoke_expired(now=later) == 1
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoke_error == ""
