"""Priority and assignee changes made in Jira, both ways for real: applied through the same services as the UI
(`request_update`, `request_reassign`) as the portal user the Jira user's e-mail belongs to, or recorded as a
conflict for the program manager when the service refuses; echoes of Portico's own pushes stay ignored.

Real signed webhook deliveries through Django's test client, processed by the task as a worker would; the
outbound mirror runs against the Jira stub server."""

from __future__ import annotations

import pytest

from conversations.delivery import notify
from jira_bridge.models import JiraDelivery, JiraLink, JiraPush
from jira_bridge.tasks import jira_delivery_process as jira_delivery_process_task
from jira_bridge.tasks import jira_sync_event as jira_sync_event_task
from jira_bridge.tests.conftest import JIRA_TOKEN_ENV, run_outbox
from jira_bridge.tests.test_webhooks import RAVI, T0, in_jira, post
from requests_app import services
from requests_app.choices import EventKind, Priority
from requests_app.models import Notification, RequestEvent
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db


def field_changed(field, *, user, to_string, from_string="", to="", at=T0, fields=None):
    """Jira's `jira:issue_updated` for one changed field of OPS-1, as its webhook sends it."""
    return {
        "timestamp": at,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": user,
        "issue": {"id": "10001", "key": "OPS-1", "fields": fields or {}},
        "changelog": {
            "id": str(at),
            "items": [
                {
                    "field": field,
                    "fieldtype": "jira",
                    "fieldId": field,
                    "from": "",
                    "fromString": from_string,
                    "to": to,
                    "toString": to_string,
                }
            ],
        },
    }


def priority_changed(to_string, *, user, from_string="Medium", at=T0):
    return field_changed("priority", user=user, to_string=to_string, from_string=from_string, at=at)


def assigned(engineer_json, *, user, to, at=T0):
    """The issue assigned to `engineer_json` (a Jira user object; `to` is its user name or account id)."""
    shown = engineer_json["displayName"] if engineer_json else ""
    return field_changed("assignee", user=user, to_string=shown, to=to, at=at, fields={"assignee": engineer_json})


def process() -> list[str]:
    return run_outbox(jira_delivery_process_task)


def conflict_on(service_request) -> RequestEvent:
    return service_request.events.get(kind=EventKind.JIRA_CONFLICT)


# --- priority --------------------------------------------------------------------------------------------------
def test_the_pm_raising_the_priority_in_jira_raises_it_in_the_portal_as_the_pm(client, world, mirrored, jira_stub):
    assert mirrored.priority == Priority.P2
    post(client, priority_changed("High", user=in_jira(world.pm)))

    assert process() == ["applied"]

    mirrored.refresh_from_db()
    assert mirrored.priority == Priority.P1
    event = mirrored.events.get(kind=EventKind.PRIORITY_CHANGED)
    assert event.actor == world.pm and event.payload["changes"] == {"priority": {"from": "P2", "to": "P1"}}
    reason = f"Priority changed in Jira by {in_jira(world.pm)['displayName']} (OPS-1: Medium → High)"
    # In progress: the response was met at pick-up and keeps its outcome; only the running resolution clock moves.
    assert event.message.startswith(f"Priority P2 → P1 by {world.pm.get_full_name()}: {reason}; resolution due moved")
    assert "response due" not in event.message
    # The service retargets the SLA clocks, as for a change made in the UI.
    assert mirrored.clock_ledger.filter(kind="retarget", reason=f"{reason}.").count() == 2
    # Mirroring the portal's change back would only echo: Jira already says High.
    edits = len(jira_stub.calls_to("PUT", "/rest/api/2/issue/OPS-1"))
    run_outbox(jira_sync_event_task)
    assert len(jira_stub.calls_to("PUT", "/rest/api/2/issue/OPS-1")) == edits
    assert JiraLink.objects.get(service_request=mirrored).pushed_priority == "High"


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("vendor_engineer", "Only the requester's team or the program manager can edit a request"),
        ("requester", "priority: You cannot change this field"),
        (None, "the portal does not know that Jira user"),
    ],
)
def test_a_priority_change_by_anybody_but_the_pm_is_a_conflict_with_the_jira_user_recorded(
    client, world, mirrored, who, why
):
    jira_user = in_jira(getattr(world, who)) if who else RAVI
    post(client, priority_changed("Highest", user=jira_user))

    assert process() == ["conflict"]

    mirrored.refresh_from_db()
    assert mirrored.priority == Priority.P2 and not mirrored.events.filter(kind=EventKind.PRIORITY_CHANGED).exists()
    conflict = conflict_on(mirrored)
    assert conflict.internal and why in conflict.message
    assert conflict.message.startswith(f"{jira_user['displayName']} changed the priority of OPS-1 to “Highest”")
    assert conflict.payload["jira_user"] == jira_user["displayName"]
    assert conflict.payload["jira_user_email"] == jira_user["emailAddress"]
    assert conflict.payload["refused"] == "priority" and conflict.payload["jira_priority"] == "Highest"
    assert not RequestEvent.objects.visible_to(world.requester).filter(pk=conflict.pk).exists()
    notify(conflict)
    assert list(Notification.objects.filter(event=conflict).values_list("user__username", flat=True)) == ["pm"]


def test_a_priority_the_services_rules_refuse_is_a_conflict_even_for_the_pm(client, world, mirrored):
    post(client, priority_changed("Lowest", user=in_jira(world.pm)))  # P4 needs three weeks' notice and a date

    assert process() == ["conflict"]

    mirrored.refresh_from_db()
    assert mirrored.priority == Priority.P2
    assert "P4 requests need a needed-by date" in conflict_on(mirrored).message


def test_a_priority_jira_has_and_the_portal_does_not_is_a_conflict(client, world, mirrored):
    post(client, priority_changed("Urgent-ish", user=in_jira(world.pm)))

    assert process() == ["conflict"]
    assert "which is no portal priority" in conflict_on(mirrored).message


def test_the_echo_of_a_priority_the_portal_pushed_is_ignored(client, world, mirrored):
    services.request_update(mirrored, actor=world.pm, changes={"priority": Priority.P1}, reason="Go-live moved up")
    run_outbox(jira_sync_event_task)  # pushes High
    services.request_update(mirrored, actor=world.pm, changes={"priority": Priority.P3}, reason="Not so urgent")
    run_outbox(jira_sync_event_task)  # pushes Low

    # Jira's webhook for our own "High" arrives late; applying it would undo the PM's second change.
    post(client, priority_changed("High", user={"displayName": "Portico Bot"}))

    assert process() == ["ignored"]
    mirrored.refresh_from_db()
    assert mirrored.priority == Priority.P3
    assert JiraPush.objects.get(field="priority", value="High").echoed_at is not None
    assert not mirrored.events.filter(kind=EventKind.JIRA_CONFLICT).exists()


def test_an_older_priority_change_arriving_late_is_ignored(client, world, mirrored):
    post(client, priority_changed("High", user=in_jira(world.pm), at=T0 + 60_000), delivery_id="newer")
    post(client, priority_changed("Low", user=in_jira(world.pm), from_string="High", at=T0), delivery_id="older")

    assert process() == ["applied", "ignored"]
    mirrored.refresh_from_db()
    assert mirrored.priority == Priority.P1
    assert "out of order" in JiraDelivery.objects.get(delivery_id="older").notes


# --- assignee --------------------------------------------------------------------------------------------------
@pytest.fixture
def second_engineer(world):
    return f.VendorEngineerFactory(username="opti-eng2", vendor=world.vendor_a)


def test_the_vendor_lead_assigning_the_issue_to_another_engineer_reassigns_the_request(
    client, world, mirrored, second_engineer, jira_stub
):
    assert mirrored.assignee == world.vendor_engineer
    comments = len(jira_stub.issues["OPS-1"]["comments"])
    post(client, assigned(in_jira(second_engineer), user=in_jira(world.vendor_lead), to="opti-eng2"))

    assert process() == ["applied"]

    mirrored.refresh_from_db()
    assert mirrored.assignee == second_engineer and mirrored.vendor == world.vendor_a
    event = mirrored.events.get(kind=EventKind.REASSIGN)
    assert event.actor == world.vendor_lead
    assert event.payload["assignee"] == {"from": world.vendor_engineer.pk, "to": second_engineer.pk}
    assert event.message.startswith(f"Assigned in Jira by {in_jira(world.vendor_lead)['displayName']} (OPS-1 → ")
    # Nothing to mirror back: Jira already has that assignee (no "Portico: assigned to" comment either).
    run_outbox(jira_sync_event_task)
    assert len(jira_stub.issues["OPS-1"]["comments"]) == comments
    assert JiraLink.objects.get(service_request=mirrored).pushed_assignee == "opti-eng2"


@pytest.mark.parametrize(
    ("who", "assignee", "why"),
    [
        ("pm", "other_vendor_engineer", "is not an engineer of OptIT"),
        ("vendor_engineer", "second_engineer", "You may not reassign this request"),
        (None, "second_engineer", "the portal does not know that Jira user"),
        ("pm", None, "that is nobody the portal knows by e-mail"),
    ],
)
def test_an_assignee_change_the_portal_cannot_follow_is_a_conflict(
    client, world, mirrored, second_engineer, who, assignee, why
):
    jira_user = in_jira(getattr(world, who)) if who else RAVI
    engineer = {"second_engineer": second_engineer}.get(assignee) or (getattr(world, assignee) if assignee else None)
    target = in_jira(engineer) if engineer else RAVI
    post(client, assigned(target, user=jira_user, to="someone"))

    assert process() == ["conflict"]

    mirrored.refresh_from_db()
    assert mirrored.assignee == world.vendor_engineer and mirrored.vendor == world.vendor_a
    assert not mirrored.events.filter(kind=EventKind.REASSIGN).exists()
    conflict = conflict_on(mirrored)
    assert conflict.internal and why in conflict.message
    assert conflict.payload["refused"] == "reassign" and conflict.payload["jira_user"] == jira_user["displayName"]
    assert conflict.payload["jira_assignee"] == target["displayName"]


def test_unassigning_the_issue_in_jira_is_a_conflict(client, world, mirrored):
    post(client, assigned(None, user=in_jira(world.pm), to=""))

    assert process() == ["conflict"]
    mirrored.refresh_from_db()
    assert mirrored.assignee == world.vendor_engineer
    assert "assigned OPS-1 to nobody in Jira" in conflict_on(mirrored).message


def test_assigning_the_issue_to_the_engineer_who_has_it_changes_nothing(client, world, mirrored):
    post(client, assigned(in_jira(world.vendor_engineer), user=in_jira(world.pm), to="opti-eng"))

    assert process() == ["ignored"]
    assert not mirrored.events.filter(kind__in=[EventKind.REASSIGN, EventKind.JIRA_CONFLICT]).exists()
    assert "already matches" in JiraDelivery.objects.get().notes


def test_the_echo_of_an_assignee_the_portal_pushed_is_ignored(
    client, world, jira_connection, jira_stub, monkeypatch, second_engineer
):
    # Data Center, where Portico assigns the issue itself (by user name) instead of commenting.
    monkeypatch.setenv(JIRA_TOKEN_ENV, jira_stub.pat)
    jira_connection.jira_pat = True
    jira_connection.save()
    from requests_app.choices import RequestState
    from requests_app.testing.workflow import walk_to

    service_request = walk_to(world, RequestState.IN_PROGRESS)  # picked up by opti-eng
    run_outbox(jira_sync_event_task)  # assigns opti-eng in Jira
    services.request_reassign(service_request, actor=world.pm, assignee=second_engineer, reason="Leave")
    run_outbox(jira_sync_event_task)  # assigns opti-eng2

    # Jira's webhook for our first assignment arrives late; applying it would undo the PM's reassignment.
    post(client, assigned(in_jira(world.vendor_engineer), user={"displayName": "Portico Bot"}, to="opti-eng"))

    assert process() == ["ignored"]
    service_request.refresh_from_db()
    assert service_request.assignee == second_engineer
    assert JiraPush.objects.get(field="assignee", value="opti-eng").echoed_at is not None


def test_a_malformed_changelog_is_ignored_instead_of_crashing_the_task(client, world, mirrored):
    payload = priority_changed("High", user=in_jira(world.pm))
    payload["changelog"] = [payload["changelog"]]  # signed, but not the shape Jira sends

    post(client, payload)

    assert process() == ["ignored"]
    mirrored.refresh_from_db()
    assert mirrored.priority == Priority.P2
