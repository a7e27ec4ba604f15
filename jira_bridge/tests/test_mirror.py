"""Outbound Jira mirroring: the real JiraAdapter over HTTP against the Jira stub, driven through the services."""

from __future__ import annotations

import time

import pytest

from integrations.errors import ErrorKind, IntegrationError, TransientIntegrationError
from jira_bridge.constants import SYNC_TASK
from jira_bridge.models import JiraLink, JiraPush
from jira_bridge.tasks import jira_sync_event as jira_sync_event_task
from jira_bridge.tests.conftest import JIRA_TOKEN_ENV, run_outbox
from portal.models import OutboxMessage
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.testing.workflow import file_request, walk_to

pytestmark = pytest.mark.django_db


def sync() -> list:
    return run_outbox(jira_sync_event_task)


def test_triage_mirrors_the_request_to_one_issue(world, jira_connection, jira_stub):
    service_request = walk_to(world, RequestState.QUEUED, priority=Priority.P1, title="Namespace for UAT")

    sync()

    assert list(jira_stub.issues) == ["OPS-1"]
    fields = jira_stub.issues["OPS-1"]["fields"]
    assert fields["summary"] == f"[{service_request.reference}] Namespace for UAT"
    assert fields["priority"]["name"] == "High"
    assert f"portico-{service_request.reference}" in fields["labels"] and "portico" in fields["labels"]
    assert f"/requests/{service_request.reference}" in fields["description"]
    service_request.refresh_from_db()
    assert service_request.jira_key == "OPS-1" and service_request.state == RequestState.QUEUED
    assert JiraLink.objects.get(service_request=service_request).url == f"{jira_stub.url}/browse/OPS-1"


def test_running_the_triage_task_again_creates_no_second_issue(world, jira_connection, jira_stub):
    service_request = walk_to(world, RequestState.QUEUED)
    triage = service_request.events.get(kind=EventKind.TRIAGE)
    sync()
    # As if the first run's database work had been lost after Jira answered: only Jira's label remembers.
    JiraLink.objects.filter(service_request=service_request).delete()
    ServiceRequest.objects.filter(pk=service_request.pk).update(jira_key="")

    jira_sync_event_task(event_id=triage.pk)
    jira_sync_event_task(event_id=triage.pk)

    assert len(jira_stub.issues) == 1
    assert len(jira_stub.calls_to("POST", "/rest/api/2/issue")) == 1
    assert ServiceRequest.objects.get(pk=service_request.pk).jira_key == "OPS-1"


def test_a_create_that_timed_out_is_found_on_retry_not_repeated(world, jira_connection, jira_stub):
    jira_connection.timeout = 0.5
    jira_connection.save()
    walk_to(world, RequestState.QUEUED)
    jira_stub.slow("/rest/api/2/issue", 1.0, method="POST")  # Jira creates it, but after we stopped waiting

    with pytest.raises(TransientIntegrationError):
        sync()
    deadline = time.monotonic() + 5
    while not jira_stub.issues and time.monotonic() < deadline:
        time.sleep(0.05)
    sync()

    assert list(jira_stub.issues) == ["OPS-1"]
    assert len(jira_stub.calls_to("POST", "/rest/api/2/issue")) == 1


def test_status_priority_assignee_and_public_comments_follow(world, jira_connection, jira_stub):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    services.request_update(service_request, actor=world.pm, changes={"priority": Priority.P0}, reason="Outage")
    services.request_comment(service_request, actor=world.requester, body="Any news?")
    services.request_comment(service_request, actor=world.vendor_engineer, body="Quota is tight", internal=True)

    sync()

    issue = jira_stub.issues["OPS-1"]
    assert issue["fields"]["status"]["name"] == "In Progress"
    assert issue["fields"]["priority"]["name"] == "Highest"
    bodies = [c["body"] for c in issue["comments"]]
    assert any("assigned to" in b and "opti-eng@example.test" in b for b in bodies)  # Cloud: no account id
    assert any(b.endswith("Any news?") for b in bodies)
    assert not any("Quota is tight" in b for b in bodies)  # internal notes never leave the portal

    services.request_update(service_request, actor=world.pm, changes={"priority": Priority.P3}, reason="Workaround")
    services.request_resolve(service_request, actor=world.vendor_engineer, reason="Namespace created")
    sync()

    assert issue["fields"]["status"]["name"] == "Done" and issue["fields"]["priority"]["name"] == "Low"
    pushed = [(p.field, p.value) for p in JiraPush.objects.filter(jira_key="OPS-1", outcome="pushed")]
    assert pushed == [
        ("issue", "OPS-1"),
        ("status", "In Progress"),
        ("assignee", "opti-eng"),
        ("comment", issue["comments"][1]["id"]),
        ("status", "Done"),
        ("priority", "Low"),
    ]


def test_a_public_comment_is_posted_once_however_often_its_task_runs(world, jira_connection, jira_stub):
    service_request = walk_to(world, RequestState.QUEUED)
    sync()
    comment = services.request_comment(service_request, actor=world.requester, body="Please hurry")

    jira_sync_event_task(event_id=comment.pk)
    jira_sync_event_task(event_id=comment.pk)

    assert [c["body"].endswith("Please hurry") for c in jira_stub.issues["OPS-1"]["comments"]] == [True]


def test_internal_notes_are_not_even_queued(world, jira_connection):
    service_request = walk_to(world, RequestState.QUEUED)
    before = OutboxMessage.objects.filter(task=SYNC_TASK).count()

    services.request_comment(service_request, actor=world.pm, body="Vendor is slow", internal=True)

    assert OutboxMessage.objects.filter(task=SYNC_TASK).count() == before


def test_a_status_jira_does_not_have_is_skipped_with_a_note(world, jira_connection, jira_stub):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    sync()
    services.request_escalate(service_request, actor=world.vendor_engineer, reason="No quota left")

    results = sync()  # "Blocked" is not in the stub project's workflow

    assert jira_stub.issues["OPS-1"]["fields"]["status"]["name"] == "In Progress"
    skipped = JiraPush.objects.get(field="status", value="Blocked")
    assert skipped.outcome == "skipped" and "no such move" in skipped.note
    assert "status 'Blocked' skipped" in results[-1]
    assert not RequestEvent.objects.filter(kind=EventKind.JIRA_SYNC_FAILED).exists()


def test_a_500_is_retried_and_the_retry_succeeds(world, jira_connection, jira_stub):
    service_request = walk_to(world, RequestState.QUEUED)
    jira_stub.fail("/rest/api/2/issue", 500, method="POST")

    with pytest.raises(TransientIntegrationError) as info:
        sync()
    assert info.value.status == 500 and ServiceRequest.objects.get(pk=service_request.pk).jira_key == ""

    sync()

    assert ServiceRequest.objects.get(pk=service_request.pk).jira_key == "OPS-1"
    assert len(jira_stub.issues) == 1


def test_refused_credentials_fail_clearly_without_breaking_the_portal(world, jira_connection, monkeypatch):
    monkeypatch.setenv(JIRA_TOKEN_ENV, "not-the-token")
    service_request = walk_to(world, RequestState.QUEUED)

    results = sync()

    assert results[0][0].startswith("failed: Jira refused the credentials")
    failure = RequestEvent.objects.get(service_request=service_request, kind=EventKind.JIRA_SYNC_FAILED)
    assert failure.internal and failure.actor is None and "HTTP 401" in failure.message
    assert not RequestEvent.objects.visible_to(world.requester).filter(pk=failure.pk).exists()
    assert RequestEvent.objects.visible_to(world.pm).filter(pk=failure.pk).exists()
    # The portal carries on as if Jira did not exist.
    picked = services.request_pick_up(service_request, actor=world.vendor_engineer)
    assert picked.state == RequestState.IN_PROGRESS and picked.jira_key == ""


def test_after_the_last_retry_the_pm_sees_the_failure_once(world, jira_connection):
    service_request = walk_to(world, RequestState.QUEUED)
    triage = service_request.events.get(kind=EventKind.TRIAGE)
    error = TransientIntegrationError("jira", ErrorKind.UNAVAILABLE, "Jira is unavailable right now.", 503)

    jira_sync_event_task.on_failure(error, "task-1", (), {"event_id": triage.pk}, None)
    jira_sync_event_task.on_failure(error, "task-2", (), {"event_id": triage.pk}, None)

    failures = RequestEvent.objects.filter(service_request=service_request, kind=EventKind.JIRA_SYNC_FAILED)
    assert [(e.message, e.payload["event"]) for e in failures] == [
        ("Could not mirror “triaged” to Jira: Jira is unavailable right now.", triage.pk)
    ]


def test_without_a_jira_connection_nothing_is_queued(world):
    walk_to(world, RequestState.IN_PROGRESS)

    assert not OutboxMessage.objects.filter(task=SYNC_TASK).exists()


def test_a_request_rejected_before_triage_is_never_mirrored(world, jira_connection, jira_stub):
    service_request = file_request(world)
    services.request_reject(service_request, actor=world.pm, reason="Duplicate")

    assert sync() == [["not triaged yet"]]
    assert not jira_stub.issues and not JiraLink.objects.exists()


def test_data_center_assigns_by_user_name(world, jira_connection, jira_stub, monkeypatch):
    monkeypatch.setenv(JIRA_TOKEN_ENV, jira_stub.pat)
    jira_connection.jira_pat = True
    jira_connection.save()

    walk_to(world, RequestState.IN_PROGRESS)
    sync()

    assert jira_stub.issues["OPS-1"]["fields"]["assignee"] == {"name": "opti-eng"}
    assert jira_stub.issues["OPS-1"]["comments"] == []


def test_a_missing_token_variable_is_a_clear_failure(world, jira_connection, monkeypatch):
    monkeypatch.delenv(JIRA_TOKEN_ENV)
    service_request = walk_to(world, RequestState.QUEUED)

    sync()

    failure = RequestEvent.objects.get(service_request=service_request, kind=EventKind.JIRA_SYNC_FAILED)
    assert JIRA_TOKEN_ENV in failure.message
    with pytest.raises(IntegrationError):
        jira_connection.config()
