"""JiraAdapter over HTTP against the Jira stub (Cloud and Data Center credentials)."""

from __future__ import annotations

import pytest

from integrations.config import JiraConfig
from integrations.errors import ErrorKind, IntegrationError
from integrations.results import Outcome


@pytest.fixture
def issue(jira):
    return jira.create_issue(summary="Namespace for mGramSeva", priority_name="High", reference="REQ-2026-0001")


def test_create_issue_sets_fields_and_the_reference_label(jira, jira_stub):
    created = jira.create_issue(
        summary="Namespace for mGramSeva",
        description="Please create team-a",
        priority_name="High",
        labels=["portal"],
        reference="REQ-2026-0001",
    )

    assert created.outcome is Outcome.CREATED and created.key == "OPS-1"
    assert created.url == f"{jira_stub.url}/browse/OPS-1"
    fields = jira_stub.issues["OPS-1"]["fields"]
    assert fields["summary"] == "Namespace for mGramSeva" and fields["priority"]["name"] == "High"
    assert fields["labels"] == ["portal", "portico-REQ-2026-0001"]
    assert fields["issuetype"] == {"name": "Task"}
    assert jira_stub.calls_to("POST", "/rest/api/2/issue")[0].headers["authorization"].startswith("Basic ")


def test_create_issue_twice_with_a_reference_makes_one_issue(jira, jira_stub, issue):
    again = jira.create_issue(summary="Namespace for mGramSeva", reference="REQ-2026-0001")

    assert again.outcome is Outcome.UNCHANGED and again.key == issue.key
    assert len(jira_stub.issues) == 1
    search = jira_stub.calls_to("GET", "/rest/api/2/search/jql")[-1]
    assert search.query["jql"] == ['project = "OPS" AND labels = "portico-REQ-2026-0001"']


def test_find_issue_by_reference(jira, issue):
    assert jira.find_issue_by_reference("REQ-2026-0001").key == issue.key
    assert jira.find_issue_by_reference("REQ-2026-0002") is None


def test_data_center_uses_a_bearer_pat_and_the_classic_search(jira_dc, jira_stub):
    first = jira_dc.create_issue(summary="x", reference="REQ-9")
    second = jira_dc.create_issue(summary="x", reference="REQ-9")

    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.UNCHANGED)
    assert jira_stub.calls_to("GET", "/rest/api/2/search")
    assert not jira_stub.calls_to("GET", "/rest/api/2/search/jql")
    assert jira_stub.calls_to("POST", "/rest/api/2/issue")[0].headers["authorization"] == f"Bearer {jira_stub.pat}"


def test_update_fields_keeps_the_reference_label(jira, jira_stub, issue):
    result = jira.update_fields(issue.key, summary="Renamed", priority_name="Low", assignee="acc-123", labels=["x"])

    assert result.outcome is Outcome.UPDATED
    fields = jira_stub.issues[issue.key]["fields"]
    assert fields["summary"] == "Renamed" and fields["priority"]["name"] == "Low"
    assert fields["assignee"] == {"accountId": "acc-123"}
    assert fields["labels"] == ["x", "portico-REQ-2026-0001"]


def test_update_fields_on_data_center_assigns_by_name_and_can_unassign(jira_dc, jira_stub):
    key = jira_dc.create_issue(summary="x").key
    jira_dc.update_fields(key, assignee="asha")
    assert jira_stub.issues[key]["fields"]["assignee"] == {"name": "asha"}

    jira_dc.update_fields(key, assignee="")

    assert jira_stub.issues[key]["fields"]["assignee"] is None


def test_update_fields_with_an_unknown_priority_is_invalid_with_jiras_words(jira, issue):
    with pytest.raises(IntegrationError) as info:
        jira.update_fields(issue.key, priority_name="Urgent!!")

    assert info.value.kind is ErrorKind.INVALID and info.value.status == 400
    assert "priority selected is invalid" in info.value.message


def test_transition_to_by_status_name_then_unchanged(jira, jira_stub, issue):
    moved = jira.transition_to(issue.key, "In Progress")
    again = jira.transition_to(issue.key, "in progress")

    assert (moved.outcome, again.outcome) == (Outcome.UPDATED, Outcome.UNCHANGED)
    assert jira_stub.issues[issue.key]["fields"]["status"]["name"] == "In Progress"
    post = jira_stub.calls_to("POST", f"/rest/api/2/issue/{issue.key}/transitions")
    assert len(post) == 1 and post[0].body["transition"] == {"id": 11}


def test_transition_to_by_transition_name(jira, jira_stub, issue):
    result = jira.transition_to(issue.key, "Start Progress")

    assert result.status == "In Progress"


def test_transition_the_workflow_does_not_offer_is_invalid(jira, jira_stub, issue):
    with pytest.raises(IntegrationError) as info:
        jira.transition_to(issue.key, "Reopen")

    assert info.value.kind is ErrorKind.INVALID and not info.value.transient
    assert "In Progress" in info.value.message and "Done" in info.value.message
    assert jira_stub.issues[issue.key]["fields"]["status"]["name"] == "To Do"


def test_add_comment(jira, jira_stub, issue):
    comment = jira.add_comment(issue.key, "Namespace is ready.")

    assert comment.comment_id == jira_stub.issues[issue.key]["comments"][0]["id"]
    assert jira_stub.issues[issue.key]["comments"][0]["body"] == "Namespace is ready."


def test_empty_comment_is_invalid(jira, issue):
    with pytest.raises(IntegrationError) as info:
        jira.add_comment(issue.key, "")

    assert info.value.kind is ErrorKind.INVALID


def test_unknown_issue_is_not_found(jira):
    with pytest.raises(IntegrationError) as info:
        jira.add_comment("OPS-404", "hello")

    assert info.value.kind is ErrorKind.NOT_FOUND and info.value.status == 404


def test_check_reports_user_and_version(jira):
    result = jira.check()

    assert result.ok and "10.3.2" in result.summary and "Portico Bot" in result.summary


def test_config_without_credentials_is_refused_in_plain_words():
    with pytest.raises(IntegrationError) as info:
        JiraConfig(url="https://jira.example", email="a@example.gov", project_key="OPS")

    assert info.value.kind is ErrorKind.INVALID and "personal access token" in info.value.message
