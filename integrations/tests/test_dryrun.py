"""Dry-run twins record exactly the HTTP calls the real adapters make, minus secrets, and answer plausibly."""

from __future__ import annotations

import json

import pytest

from integrations.dryrun import DryRunRecorder
from integrations.gitlab import DryRunGitLabAdapter
from integrations.jenkins import DryRunJenkinsAdapter
from integrations.jira import DryRunJiraAdapter
from integrations.kubernetes import DryRunKubernetesAdapter
from integrations.results import Outcome

# Library housekeeping the twins do not narrate: python-jenkins' CSRF crumb and jira's field-name cache.
PLUMBING = {"/crumbIssuer/api/json", "/rest/api/2/field"}


def real_calls(stub):
    return [(c.method, c.path) for c in stub.calls if c.path not in PLUMBING]


def twin_calls(twin):
    return [(c.http_method, c.path) for c in twin.calls]


def same_calls(stub, real, twin, op):
    """Run `op` on both and return the two call lists, starting from a clean log."""
    stub.reset_calls()
    twin.recorder.calls.clear()
    op(real)
    op(twin)
    return real_calls(stub), twin_calls(twin)


KUBERNETES_OPS = [
    lambda a: a.ensure_namespace(name="team-a", labels={"portico/team": "a"}),
    lambda a: a.ensure_namespace(name="team-a", labels={"portico/team": "a"}),  # second time: POST 409, GET
    lambda a: a.ensure_resource_quota(namespace="team-a", hard={"pods": "10"}),
    lambda a: a.ensure_limit_range(namespace="team-a", default={"cpu": "1"}, default_request={"cpu": "100m"}),
    lambda a: a.ensure_default_deny_network_policy(namespace="team-a"),
    lambda a: a.ensure_role_binding(namespace="team-a", name="team-edit", cluster_role="edit", subject="team-a"),
    lambda a: a.ensure_role_binding(namespace="team-a", name="team-edit", cluster_role="edit", subject="bala"),
    lambda a: a.delete_role_binding(namespace="team-a", name="team-edit"),
    lambda a: a.delete_role_binding(namespace="team-a", name="team-edit"),
]


def test_kubernetes_twin_records_the_real_paths(k8s, k8s_stub):
    twin = DryRunKubernetesAdapter()
    for op in KUBERNETES_OPS:
        real, recorded = same_calls(k8s_stub, k8s, twin, op)
        assert recorded == real


def test_gitlab_twin_records_the_real_paths(gitlab, gitlab_stub):
    twin = DryRunGitLabAdapter()
    project_id = gitlab.ensure_project(group="platform", name="existing").id
    ops = [
        lambda a: a.ensure_project(group="platform", name="svc"),
        lambda a: a.ensure_project(group="platform", name="svc"),
        lambda a: a.ensure_member(project_id=project_id, user=7, access_level=30, expires_at="2026-02-01"),
        lambda a: a.ensure_member(project_id=project_id, user=7, access_level=40, expires_at="2026-02-01"),
        lambda a: a.remove_member(project_id=project_id, user_id=7),
        lambda a: a.trigger_pipeline(
            project_id=project_id, ref="main", trigger_token=gitlab_stub.trigger_token, run_id="r1"
        ),
    ]
    for op in ops:
        real, recorded = same_calls(gitlab_stub, gitlab, twin, op)
        assert recorded == real


def test_jenkins_twin_records_the_real_paths(jenkins, jenkins_stub):
    twin = DryRunJenkinsAdapter()
    ops = [
        lambda a: a.trigger_build(job="team/release", parameters={"TAG": "v1"}, run_id="r1"),
        lambda a: a.trigger_build(job="deploy"),
        lambda a: a.queue_status(41),
        lambda a: a.find_build_by_run_id(job="team/release", run_id="r1"),
    ]
    for op in ops:
        real, recorded = same_calls(jenkins_stub, jenkins, twin, op)
        assert recorded == real
    jenkins.queue_status(41)  # starts build 1
    real, recorded = same_calls(jenkins_stub, jenkins, twin, lambda a: a.build_status(job="team/release", number=1))
    assert recorded == real


def test_jira_twin_records_the_real_paths(jira, jira_stub):
    twin = DryRunJiraAdapter(project_key="OPS")
    ops = [
        lambda a: a.create_issue(summary="Namespace", priority_name="High", reference="REQ-1"),
        lambda a: a.transition_to("OPS-1", "In Progress"),
        lambda a: a.transition_to("OPS-1", "In Progress"),
        lambda a: a.add_comment("OPS-1", "Ready."),
    ]
    for op in ops:
        real, recorded = same_calls(jira_stub, jira, twin, op)
        assert recorded == real


def test_twin_ensures_twice_and_reports_unchanged():
    twin = DryRunKubernetesAdapter()

    first = twin.ensure_namespace(name="team-a", labels={"a": "b"})
    second = twin.ensure_namespace(name="team-a", labels={"a": "b"})
    third = twin.ensure_namespace(name="team-a", labels={"a": "c"})

    assert [r.outcome for r in (first, second, third)] == [Outcome.CREATED, Outcome.UNCHANGED, Outcome.UPDATED]
    assert twin.calls[-1].http_method == "PATCH" and twin.calls[-1].description.startswith("Update Namespace")


def test_twins_leave_trigger_tokens_out_of_the_record():
    recorder = DryRunRecorder()
    DryRunGitLabAdapter(recorder).trigger_pipeline(
        project_id=5, ref="main", trigger_token="glptt-secret-123", variables={"A": "1"}
    )
    DryRunJenkinsAdapter(recorder).trigger_build(job="deploy", parameters={"A": "1"}, token="job-secret-456")

    dumped = json.dumps(recorder.as_steps())

    assert "glptt-secret-123" not in dumped and "job-secret-456" not in dumped
    assert [s["system"] for s in recorder.as_steps()] == ["gitlab", "jenkins"]


def test_recorded_steps_are_plain_words_and_json(k8s_stub):
    recorder = DryRunRecorder()
    DryRunKubernetesAdapter(recorder).ensure_resource_quota(namespace="team-a", hard={"pods": "10"})

    (step,) = recorder.as_steps()

    assert step == {
        "system": "kubernetes",
        "method": "ensure_resource_quota",
        "description": "Create ResourceQuota 'portico-quota' in namespace 'team-a'",
        "http_method": "POST",
        "path": "/api/v1/namespaces/team-a/resourcequotas",
        "params": {"name": "portico-quota", "spec": {"hard": {"pods": "10"}}},
    }
    assert json.loads(json.dumps(step)) == step


def test_dry_run_jenkins_and_gitlab_follow_to_a_plausible_success():
    jenkins = DryRunJenkinsAdapter()
    queue_id = jenkins.trigger_build(job="deploy", parameters={"A": "1"}, run_id="run-1")
    item = jenkins.queue_status(queue_id)
    build = jenkins.build_status(job="deploy", number=item.build_number)
    gitlab = DryRunGitLabAdapter()
    pipeline = gitlab.trigger_pipeline(project_id=5, ref="main", trigger_token="t", run_id="run-1")

    assert item.state == "started" and build.succeeded and ".invalid/" in build.console_url
    assert gitlab.pipeline_status(project_id=5, pipeline_id=pipeline.id).succeeded
    assert jenkins.find_build_by_run_id(job="deploy", run_id="run-1").queue_id == queue_id
    assert gitlab.find_pipeline_by_run_id(project_id=5, run_id="run-1").id == pipeline.id
    assert gitlab.find_pipeline_by_run_id(project_id=5, run_id="run-2") is None


def test_dry_run_jira_finds_its_own_issue_by_reference():
    jira = DryRunJiraAdapter()

    first = jira.create_issue(summary="x", reference="REQ-7")
    second = jira.create_issue(summary="x", reference="REQ-7")

    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.UNCHANGED)
    assert first.key == second.key == "PORTICO-1"


@pytest.mark.parametrize(
    "twin", [DryRunKubernetesAdapter, DryRunGitLabAdapter, DryRunJenkinsAdapter, DryRunJiraAdapter]
)
def test_dry_run_check_says_it_is_a_dry_run(twin):
    result = twin().check()

    assert result.ok and result.dry_run and "Dry run" in result.summary
