"""GitLabAdapter over HTTP against the GitLab stub."""

from __future__ import annotations

from datetime import date

import pytest

from integrations.errors import ErrorKind, IntegrationError
from integrations.results import Outcome


@pytest.fixture
def project(gitlab):
    return gitlab.ensure_project(group="platform/punjab", name="Water Billing")


def test_ensure_project_creates_in_the_group_then_finds_it(gitlab, gitlab_stub):
    first = gitlab.ensure_project(group="platform/punjab", name="Water Billing")
    second = gitlab.ensure_project(group=11, name="Water Billing")

    assert first.outcome is Outcome.CREATED and second.outcome is Outcome.UNCHANGED
    assert first.id == second.id and first.path_with_namespace == "platform/punjab/water-billing"
    assert len(gitlab_stub.projects) == 1
    create = gitlab_stub.calls_to("POST", "/api/v4/projects")
    assert len(create) == 1
    assert create[0].body["namespace_id"] == 11 and create[0].body["path"] == "water-billing"
    assert create[0].headers["private-token"] == gitlab_stub.token


def test_ensure_project_from_a_built_in_or_custom_template(gitlab, gitlab_stub):
    gitlab.ensure_project(group="platform", name="svc-a", template="spring")
    gitlab.ensure_project(group="platform", name="svc-b", template=4242)

    bodies = [c.body for c in gitlab_stub.calls_to("POST", "/api/v4/projects")]
    assert bodies[0]["template_name"] == "spring"
    assert bodies[1]["template_project_id"] == 4242 and bodies[1]["use_custom_template"] is True


def test_ensure_project_adopts_one_created_by_a_racing_worker(gitlab, gitlab_stub, project):
    # Our lookup misses it (the other worker's create had not landed yet), then the create says "taken".
    gitlab_stub.fail("/api/v4/projects/platform%2Fpunjab%2Fwater-billing", 404, method="GET")

    result = gitlab.ensure_project(group="platform/punjab", name="Water Billing")

    assert result.outcome is Outcome.UNCHANGED and result.id == project.id
    assert len(gitlab_stub.projects) == 1


def test_ensure_project_in_an_unknown_group_is_not_found(gitlab):
    with pytest.raises(IntegrationError) as info:
        gitlab.ensure_project(group="nope", name="x")

    assert info.value.kind is ErrorKind.NOT_FOUND and "finding group 'nope'" in info.value.message


def test_ensure_member_by_username_then_unchanged_then_updated(gitlab, gitlab_stub, project):
    first = gitlab.ensure_member(project_id=project.id, user="asha", access_level="developer", expires_at="2026-02-01")
    second = gitlab.ensure_member(project_id=project.id, user=7, access_level=30, expires_at=date(2026, 2, 1))
    third = gitlab.ensure_member(project_id=project.id, user=7, access_level="maintainer", expires_at="2026-03-01")

    assert [r.outcome for r in (first, second, third)] == [Outcome.CREATED, Outcome.UNCHANGED, Outcome.UPDATED]
    assert gitlab_stub.members[(project.id, 7)]["access_level"] == 40
    assert gitlab_stub.members[(project.id, 7)]["expires_at"] == "2026-03-01"
    assert gitlab_stub.calls_to("POST", f"/api/v4/projects/{project.id}/members")[0].body == {
        "user_id": 7,
        "access_level": 30,
        "expires_at": "2026-02-01",
    }
    assert len(gitlab_stub.calls_to("POST", "*/members")) == 1


def test_ensure_member_adopts_a_membership_added_concurrently(gitlab, gitlab_stub, project):
    gitlab.ensure_member(project_id=project.id, user=8, access_level=30)
    gitlab_stub.fail(f"/api/v4/projects/{project.id}/members/8", 404, method="GET")

    result = gitlab.ensure_member(project_id=project.id, user=8, access_level=30)

    assert result.outcome is Outcome.UNCHANGED  # POST answered 409, the re-read matched
    assert [c.method for c in gitlab_stub.calls_to(path="*/members*")][-3:] == ["GET", "POST", "GET"]


def test_ensure_member_unknown_username_is_not_found(gitlab, project):
    with pytest.raises(IntegrationError) as info:
        gitlab.ensure_member(project_id=project.id, user="ghost", access_level=30)

    assert info.value.kind is ErrorKind.NOT_FOUND


def test_ensure_member_unknown_access_level_name_is_invalid(gitlab, project):
    with pytest.raises(IntegrationError) as info:
        gitlab.ensure_member(project_id=project.id, user=7, access_level="emperor")

    assert info.value.kind is ErrorKind.INVALID


def test_remove_member_is_idempotent(gitlab, gitlab_stub, project):
    gitlab.ensure_member(project_id=project.id, user=7, access_level=30)

    first = gitlab.remove_member(project_id=project.id, user_id=7)
    second = gitlab.remove_member(project_id=project.id, user_id=7)

    assert (first.outcome, second.outcome) == (Outcome.DELETED, Outcome.ABSENT)
    assert (project.id, 7) not in gitlab_stub.members


def test_trigger_pipeline_and_follow_it_to_success(gitlab, gitlab_stub, project):
    pipeline = gitlab.trigger_pipeline(
        project_id=project.id, ref="main", trigger_token=gitlab_stub.trigger_token, variables={"NS": "team-a"}
    )
    statuses = [pipeline.status]
    while not pipeline.finished:
        pipeline = gitlab.pipeline_status(project_id=project.id, pipeline_id=pipeline.id)
        statuses.append(pipeline.status)

    assert statuses == ["created", "running", "success"] and pipeline.succeeded
    assert pipeline.web_url.endswith(f"/-/pipelines/{pipeline.id}")
    trigger = gitlab_stub.calls_to("POST", f"/api/v4/projects/{project.id}/trigger/pipeline")[0]
    assert trigger.body["ref"] == "main" and trigger.body["variables"] == {"NS": "team-a"}


def test_pipeline_followed_to_failure(gitlab, gitlab_stub, project):
    gitlab_stub.pipeline_result = "failed"
    pipeline = gitlab.trigger_pipeline(project_id=project.id, ref="main", trigger_token=gitlab_stub.trigger_token)
    for _ in range(3):
        pipeline = gitlab.pipeline_status(project_id=project.id, pipeline_id=pipeline.id)

    assert pipeline.finished and not pipeline.succeeded and pipeline.status == "failed"


def test_wrong_trigger_token_is_not_found_and_never_echoed(gitlab, project):
    with pytest.raises(IntegrationError) as info:
        gitlab.trigger_pipeline(project_id=project.id, ref="main", trigger_token="glptt-wrong-secret")

    assert info.value.kind is ErrorKind.NOT_FOUND
    assert "glptt-wrong-secret" not in info.value.message and "glptt-wrong-secret" not in repr(info.value)


def test_find_pipeline_by_run_id_finds_the_earlier_trigger_only(gitlab, gitlab_stub, project):
    token = gitlab_stub.trigger_token
    gitlab.trigger_pipeline(project_id=project.id, ref="main", trigger_token=token, run_id="run-1")
    second = gitlab.trigger_pipeline(project_id=project.id, ref="main", trigger_token=token, run_id="run-2")

    found = gitlab.find_pipeline_by_run_id(project_id=project.id, run_id="run-2")

    assert found is not None and found.id == second.id
    assert gitlab.find_pipeline_by_run_id(project_id=project.id, run_id="run-3") is None


def test_pipeline_status_of_an_unknown_pipeline_is_not_found(gitlab, project):
    with pytest.raises(IntegrationError) as info:
        gitlab.pipeline_status(project_id=project.id, pipeline_id=999999)

    assert info.value.kind is ErrorKind.NOT_FOUND and info.value.status == 404


def test_check_names_the_account(gitlab, gitlab_stub):
    result = gitlab.check()

    assert result.ok and "@portico-bot" in result.summary
    assert gitlab_stub.calls_to("GET", "/api/v4/user")
