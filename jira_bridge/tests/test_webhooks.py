"""Inbound Jira webhooks through Django's test client: signatures, storage, dedupe, and processing in the task."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.test import Client

from conversations.delivery import notify
from integrations.registry import get_adapter
from integrations.signatures import sign
from jira_bridge.choices import DeliveryOutcome
from jira_bridge.constants import PROCESS_TASK
from jira_bridge.mapping import TRANSITIONS_FOR_STATUS
from jira_bridge.models import JiraDelivery, JiraLink, JiraPush
from jira_bridge.tasks import jira_delivery_process as jira_delivery_process_task
from jira_bridge.tasks import jira_sync_event as jira_sync_event_task
from jira_bridge.tests.conftest import JIRA_WEBHOOK_SECRET, run_outbox
from portal.models import OutboxMessage
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import Notification, RequestEvent, ServiceRequest
from requests_app.testing.workflow import walk_to
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/jira/"
T0 = 1_767_605_400_000  # 2026-01-05 09:30 UTC, in Jira's milliseconds
RAVI = {"displayName": "Ravi Kumar", "emailAddress": "ravi@jira.example"}


def post(client, payload, *, secret=JIRA_WEBHOOK_SECRET, delivery_id="d-1", signature=None, query=""):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-Atlassian-Webhook-Identifier": delivery_id} if delivery_id else {}
    if signature is not False:
        headers["X-Hub-Signature"] = signature or sign(secret, body)
    return client.post(URL + query, data=body, content_type="application/json", headers=headers)


def status_changed(key, to_status, *, at, from_status="In Progress", user=RAVI):
    return {
        "timestamp": at,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": user,
        "issue": {"id": "10001", "key": key, "fields": {"status": {"name": to_status}}},
        "changelog": {
            "id": str(at),
            "items": [{"field": "status", "fieldtype": "jira", "fromString": from_status, "toString": to_status}],
        },
    }


def comment_created(key, comment_id, body, *, at=T0, author=RAVI):
    return {
        "timestamp": at,
        "webhookEvent": "comment_created",
        "comment": {"id": comment_id, "body": body, "author": author, "created": "2026-01-05T15:00:00.000+0530"},
        "issue": {"id": "10001", "key": key, "fields": {}},
    }


def process() -> list[str]:
    return run_outbox(jira_delivery_process_task)


# --- signatures ---------------------------------------------------------------------------------------------
def test_a_signed_delivery_is_stored_and_acknowledged_with_202(client, mirrored):
    payload = comment_created("OPS-1", "31000", "Looking into it")
    response = post(client, payload)

    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "delivery": "d-1"}
    delivery = JiraDelivery.objects.get()
    assert json.loads(delivery.body) == payload and delivery.environment == mirrored.environment
    assert delivery.outcome == DeliveryOutcome.PENDING and delivery.issue_key == "OPS-1"
    assert delivery.headers["X-Atlassian-Webhook-Identifier"] == "d-1"
    assert OutboxMessage.objects.filter(task=PROCESS_TASK, kwargs={"delivery_id": delivery.pk}).exists()


@pytest.mark.parametrize(
    "signature",
    [
        False,  # missing
        "sha256=" + "0" * 64,  # wrong
        "sha256=",  # empty digest
        "sha1=" + hmac.new(JIRA_WEBHOOK_SECRET.encode(), b"{}", hashlib.sha1).hexdigest(),  # wrong algorithm
        sign("another-secret", b"{}"),  # right algorithm, wrong secret
        sign(JIRA_WEBHOOK_SECRET, b'{"webhookEvent": "jira:issue_deleted"}'),  # signs a different body
    ],
    ids=["missing", "wrong", "empty", "sha1", "other-secret", "other-body"],
)
def test_a_bad_signature_is_401_and_nothing_is_stored(client, mirrored, signature):
    response = post(client, b"{}", signature=signature)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorised"
    assert not JiraDelivery.objects.exists()
    assert not OutboxMessage.objects.filter(task=PROCESS_TASK).exists()


def test_the_environment_parameter_limits_which_secret_is_tried(client, mirrored):
    other = f.EnvironmentFactory(code="bihar", name="Bihar")

    assert post(client, b"{}", query=f"?environment={other.code}").status_code == 401
    assert post(client, b"{}", query="?environment=nowhere").status_code == 401
    assert not JiraDelivery.objects.exists()
    assert post(client, b"{}", query="?environment=punjab").status_code == 202


def test_bad_json_after_a_good_signature_is_400_and_not_stored(client, mirrored):
    response = post(client, b"{not json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"body": ["Send the JSON Jira sends."]}
    assert not JiraDelivery.objects.exists()


def test_only_post_is_accepted_and_no_csrf_token_is_needed(mirrored):
    strict = Client(enforce_csrf_checks=True)

    assert strict.get(URL).status_code == 405
    assert post(strict, comment_created("OPS-1", "31000", "Hi")).status_code == 202


# --- dedupe ---------------------------------------------------------------------------------------------------
def test_a_repeated_delivery_is_stored_once_and_processed_once(client, mirrored):
    payload = comment_created("OPS-1", "31000", "Looking into it")

    first, again = post(client, payload), post(client, payload)
    outcomes = process()
    delivery = JiraDelivery.objects.get()
    replayed = jira_delivery_process_task(delivery_id=delivery.pk)  # a redelivered task message

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["status"] == "duplicate"
    assert outcomes == ["applied"] and replayed == "applied"
    assert mirrored.events.filter(kind=EventKind.JIRA_COMMENT).count() == 1


def test_without_an_identifier_the_body_hash_dedupes(client, mirrored):
    payload = comment_created("OPS-1", "31000", "Looking into it")

    post(client, payload, delivery_id=None)
    response = post(client, payload, delivery_id=None)

    body = json.dumps(payload).encode()
    assert response.json() == {"status": "duplicate", "delivery": "sha256:" + hashlib.sha256(body).hexdigest()}
    assert JiraDelivery.objects.count() == 1


# --- processing -----------------------------------------------------------------------------------------------
def test_a_jira_comment_lands_on_the_timeline(client, mirrored, world):
    post(client, comment_created("OPS-1", "31000", "Looking into it"))
    process()

    event = mirrored.events.get(kind=EventKind.JIRA_COMMENT)
    assert not event.internal and event.actor is None
    assert event.message.startswith("Looking into it") and "Ravi Kumar" in event.message
    assert event.payload["author"] == "Ravi Kumar" and event.payload["jira_comment_id"] == "31000"
    assert RequestEvent.objects.visible_to(world.requester).filter(pk=event.pk).exists()
    assert JiraDelivery.objects.get().service_request == mirrored


def test_the_echo_of_a_comment_the_portal_posted_is_ignored(client, mirrored, world, jira_stub):
    services.request_comment(mirrored, actor=world.requester, body="Any news?")
    run_outbox(jira_sync_event_task)
    ours = jira_stub.issues["OPS-1"]["comments"][-1]

    post(client, comment_created("OPS-1", ours["id"], ours["body"], author={"displayName": "Portico Bot"}))

    assert process() == ["ignored"]
    assert not mirrored.events.filter(kind=EventKind.JIRA_COMMENT).exists()
    assert JiraPush.objects.get(field="comment").echoed_at is not None


def test_an_allowed_status_change_runs_the_transition_as_the_system(client, mirrored):
    post(client, status_changed("OPS-1", "Done", at=T0))

    assert process() == ["applied"]
    mirrored.refresh_from_db()
    assert mirrored.state == RequestState.RESOLVED
    assert mirrored.resolution_note == "Resolved in Jira by Ravi Kumar (OPS-1 → Done)."
    event = mirrored.events.get(kind=EventKind.RESOLVE)
    assert event.actor is None and event.from_state == RequestState.IN_PROGRESS
    assert event.payload["source"] == "jira" and event.payload["delivery"] == "d-1"
    # Jira already says Done: mirroring the portal's resolve back would only echo.
    assert not OutboxMessage.objects.filter(task=jira_sync_event_task.name, kwargs={"event_id": event.pk}).exists()


def in_jira(user):
    """`user` as Jira's webhook names them: the e-mail is how the portal recognises them."""
    return {"displayName": user.get_full_name() or user.username, "emailAddress": user.email}


@pytest.fixture
def queued(world, jira_connection):
    """A triaged request nobody has picked up, mirrored to OPS-1."""
    service_request = walk_to(world, RequestState.QUEUED)
    run_outbox(jira_sync_event_task)
    return service_request


def test_the_vendors_engineer_moving_the_issue_to_in_progress_picks_the_request_up(client, world, queued):
    post(
        client, status_changed("OPS-1", "In Progress", at=T0, from_status="To Do", user=in_jira(world.vendor_engineer))
    )

    assert process() == ["applied"]
    queued.refresh_from_db()
    assert queued.state == RequestState.IN_PROGRESS and queued.assignee == world.vendor_engineer
    event = queued.events.get(kind=EventKind.PICK_UP)
    assert event.actor == world.vendor_engineer and event.payload["source"] == "jira"


def test_an_engineer_of_another_vendor_moving_the_issue_to_in_progress_is_a_conflict(client, world, queued):
    intruder = world.other_vendor_engineer
    post(client, status_changed("OPS-1", "In Progress", at=T0, from_status="To Do", user=in_jira(intruder)))

    assert process() == ["conflict"]
    queued.refresh_from_db()
    assert queued.state == RequestState.QUEUED and queued.assignee is None
    assert not queued.events.filter(kind=EventKind.PICK_UP).exists()
    conflict = queued.events.get(kind=EventKind.JIRA_CONFLICT)
    assert conflict.internal and f"{intruder.username} may not pick up this request" in conflict.message
    assert conflict.payload["refused"] == "pick_up"


def test_a_jira_user_the_portal_does_not_know_cannot_pick_a_request_up(client, queued):
    post(client, status_changed("OPS-1", "In Progress", at=T0, from_status="To Do", user=RAVI))

    assert process() == ["conflict"]
    queued.refresh_from_db()
    assert queued.state == RequestState.QUEUED and queued.assignee is None
    assert "cannot follow that" in queued.events.get(kind=EventKind.JIRA_CONFLICT).message


def test_a_known_jira_user_runs_a_transition_as_themselves(client, world, mirrored):
    post(client, status_changed("OPS-1", "Done", at=T0, user=in_jira(world.vendor_engineer)))

    assert process() == ["applied"]
    mirrored.refresh_from_db()
    assert mirrored.state == RequestState.RESOLVED
    assert mirrored.events.get(kind=EventKind.RESOLVE).actor == world.vendor_engineer


def test_a_known_jira_user_the_workflow_refuses_is_a_conflict(client, world, mirrored):
    # Only the vendor resolves; the requester closing the issue in Jira does not resolve it in the portal.
    post(client, status_changed("OPS-1", "Done", at=T0, user=in_jira(world.requester)))

    assert process() == ["conflict"]
    mirrored.refresh_from_db()
    assert mirrored.state == RequestState.IN_PROGRESS
    assert not mirrored.events.filter(kind=EventKind.RESOLVE).exists()
    assert mirrored.events.get(kind=EventKind.JIRA_CONFLICT).payload["refused"] == "resolve"


def test_a_status_the_workflow_does_not_allow_is_a_conflict_for_the_pm(client, world, jira_connection, mailoutbox):
    service_request = walk_to(world, RequestState.QUEUED)  # nobody has picked it up, so it cannot be resolved
    run_outbox(jira_sync_event_task)

    post(client, status_changed("OPS-1", "Done", at=T0, from_status="To Do"))

    assert process() == ["conflict"]
    service_request.refresh_from_db()
    assert service_request.state == RequestState.QUEUED
    conflict = service_request.events.get(kind=EventKind.JIRA_CONFLICT)
    assert conflict.internal and "Ravi Kumar moved OPS-1 to “Done”" in conflict.message
    assert not RequestEvent.objects.visible_to(world.requester).filter(pk=conflict.pk).exists()
    notify(conflict)
    assert list(Notification.objects.filter(event=conflict).values_list("user__username", flat=True)) == ["pm"]


def test_an_older_status_change_arriving_late_is_ignored(client, mirrored):
    post(client, status_changed("OPS-1", "Done", at=T0 + 60_000), delivery_id="newer")
    post(client, status_changed("OPS-1", "To Do", at=T0, from_status="Done"), delivery_id="older")

    assert process() == ["applied", "ignored"]
    mirrored.refresh_from_db()
    assert mirrored.state == RequestState.RESOLVED  # the late "To Do" did not reopen it
    older = JiraDelivery.objects.get(delivery_id="older")
    assert "out of order" in older.notes and older.processed_at is not None


def test_the_echo_of_a_status_the_portal_pushed_is_ignored(client, mirrored, world):
    services.request_resolve(mirrored, actor=world.vendor_engineer, reason="Done")
    run_outbox(jira_sync_event_task)  # pushes "Done"
    services.request_reopen(mirrored, actor=world.requester, reason="Still broken")
    run_outbox(jira_sync_event_task)

    # Jira's webhook for our own "Done" arrives after the reopen; applying it would resolve the request again.
    post(client, status_changed("OPS-1", "Done", at=T0, user={"displayName": "Portico Bot"}))

    assert process() == ["ignored"]
    mirrored.refresh_from_db()
    assert mirrored.state == RequestState.IN_PROGRESS
    assert JiraPush.objects.get(field="status", value="Done").echoed_at is not None
    assert "echo" in JiraDelivery.objects.get().notes


def test_an_unknown_issue_is_acknowledged_and_ignored(client, mirrored):
    response = post(client, status_changed("OPS-99", "Done", at=T0))

    assert response.status_code == 202
    assert process() == ["ignored"]
    delivery = JiraDelivery.objects.get()
    assert "OPS-99 is not linked" in delivery.notes and delivery.service_request is None
    mirrored.refresh_from_db()
    assert mirrored.state == RequestState.IN_PROGRESS


def test_every_mapped_status_names_a_real_transition():
    assert set().union(*TRANSITIONS_FOR_STATUS.values()) <= set(services.TRANSITIONS)


# --- intake -----------------------------------------------------------------------------------------------------
def issue_created(issue, *, reporter, priority="High", issuetype="Bug", duedate=None, at=T0):
    return {
        "timestamp": at,
        "webhookEvent": "jira:issue_created",
        "user": reporter,
        "issue": {
            "id": issue.id,
            "key": issue.key,
            "fields": {
                "project": {"key": "INTAKE"},
                "summary": "Pipeline for the ERP stack is red",
                "description": "Since this morning every build fails.",
                "issuetype": {"name": issuetype},
                "priority": {"name": priority},
                "status": {"name": "To Do"},
                "reporter": reporter,
                "duedate": duedate,
            },
        },
    }


@pytest.fixture
def intake_issue(jira_connection):
    """An issue somebody created in the stub's intake project (Jira would then send issue_created)."""
    adapter = get_adapter("jira", jira_connection.config())
    return adapter.create_issue(summary="Pipeline for the ERP stack is red", project_key="INTAKE")


def test_an_issue_in_the_intake_project_becomes_a_request_linked_to_it(client, world, intake_issue, jira_stub):
    reporter = {"displayName": "Asha", "emailAddress": world.requester.email.upper()}
    post(client, issue_created(intake_issue, reporter=reporter))

    assert process() == ["applied"]
    service_request = ServiceRequest.objects.get(jira_key=intake_issue.key)
    assert (service_request.requester, service_request.team) == (world.requester, world.team_a)
    assert service_request.priority == Priority.P1 and service_request.request_type == RequestType.TROUBLESHOOTING
    assert service_request.title == "Pipeline for the ERP stack is red"
    assert "Filed from Jira issue INTAKE-1 by Asha" in service_request.description
    assert service_request.events.get(kind=EventKind.FILED).payload["source"] == "jira"

    # Triage mirrors it to the intake issue itself, not to a second issue.
    services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    services.request_comment(service_request, actor=world.pm, body="Routed to OptIT")
    run_outbox(jira_sync_event_task)

    assert len(jira_stub.issues) == 1
    assert jira_stub.issues["INTAKE-1"]["comments"][-1]["body"].endswith("Routed to OptIT")
    assert JiraLink.objects.get(service_request=service_request).origin == "intake"


def test_an_unknown_reporter_files_through_the_intake_account(client, world, intake_issue):
    post(client, issue_created(intake_issue, reporter=RAVI, priority="Lowest", issuetype="Story"))

    process()

    service_request = ServiceRequest.objects.get(jira_key=intake_issue.key)
    assert service_request.requester.username == "jira-intake" and not service_request.requester.is_active
    assert service_request.team.slug == "jira-intake"
    assert service_request.request_type == RequestType.NEW_FEATURE
    # Lowest is P4, which needs three weeks' notice; without a due date it is filed as P3 and says so.
    assert service_request.priority == Priority.P3 and "filed as P3" in service_request.description
    assert ServiceRequest.objects.visible_to(world.pm).filter(pk=service_request.pk).exists()


def test_the_same_intake_issue_created_twice_files_one_request(client, world, intake_issue):
    reporter = {"displayName": "Asha", "emailAddress": world.requester.email}
    post(client, issue_created(intake_issue, reporter=reporter), delivery_id="a")
    post(client, issue_created(intake_issue, reporter=reporter), delivery_id="b")  # Jira's secondary flow

    assert process() == ["applied", "ignored"]
    assert ServiceRequest.objects.filter(jira_key=intake_issue.key).count() == 1
