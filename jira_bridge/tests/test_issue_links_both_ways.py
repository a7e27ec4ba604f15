"""Links between requests and Jira issue links, both ways, through the real `jira` client against the Jira stub:
removing a portal link removes its Jira issue link (by the id kept when it was pushed; idempotent, retried on a
5xx), and Jira's signed `issuelink_created` / `issuelink_deleted` webhooks add and remove portal links, without
the change being pushed back."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from integrations.errors import TransientIntegrationError
from integrations.signatures import sign
from jira_bridge.choices import DeliveryOutcome
from jira_bridge.models import JiraDelivery, JiraIssueLink, JiraPush
from jira_bridge.tasks import jira_delivery_process as jira_delivery_process_task
from jira_bridge.tasks import jira_sync_event as jira_sync_event_task
from jira_bridge.tests.conftest import JIRA_WEBHOOK_SECRET, run_outbox
from requests_app import services
from requests_app.choices import EventKind, LinkKind, RequestState
from requests_app.models import RequestEvent, RequestLink
from requests_app.testing.workflow import walk_to

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/jira/"
T0 = 1_767_605_400_000
LINK_TYPES = {
    "causes": {"id": "10004", "name": "Problem/Incident", "outwardName": "causes", "inwardName": "is caused by"},
    "relates": {"id": "10003", "name": "Relates", "outwardName": "relates to", "inwardName": "relates to"},
    "blocks": {"id": "10000", "name": "Blocks", "outwardName": "blocks", "inwardName": "is blocked by"},
}


def sync() -> list:
    return run_outbox(jira_sync_event_task)


def process() -> list:
    return run_outbox(jira_delivery_process_task)


def link_event(event: str, link_id: str, source_id: str, destination_id: str, link_type: str = "causes") -> dict:
    """Jira's issuelink_* webhook body: the link's id, its two issues by id, and its type."""
    return {
        "timestamp": T0,
        "webhookEvent": event,
        "issueLink": {
            "id": int(link_id),
            "sourceIssueId": int(source_id),
            "destinationIssueId": int(destination_id),
            "issueLinkType": {**LINK_TYPES[link_type], "isSubTaskLinkType": False, "isSystemLinkType": False},
            "systemLink": False,
        },
    }


def deliver(client, payload: dict, *, delivery_id: str, secret: str = JIRA_WEBHOOK_SECRET):
    body = json.dumps(payload).encode()
    headers = {"X-Atlassian-Webhook-Identifier": delivery_id, "X-Hub-Signature": sign(secret, body)}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def pair(world, jira_connection, jira_stub):
    """Two requests mirrored to OPS-1 and OPS-2."""
    first = walk_to(world, RequestState.QUEUED, title="Release")
    second = walk_to(world, RequestState.QUEUED, title="Outage")
    sync()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.jira_key, second.jira_key) == ("OPS-1", "OPS-2")
    return first, second


def issue_id(jira_stub, key: str) -> str:
    return str(jira_stub.issues[key]["id"])


def test_the_pushed_link_keeps_its_jira_id_and_removing_it_in_the_page_removes_it_in_jira(
    world, pair, jira_stub, client
):
    first, second = pair
    link = services.link_add(actor=world.pm, service_request=first, relation="causes", other_reference=second.reference)
    sync()
    [stored] = jira_stub.links
    twin = JiraIssueLink.objects.get()
    assert (twin.request_link_id, twin.jira_link_id) == (link.pk, stored["id"])
    assert (twin.inward_key, twin.outward_key, twin.kind) == ("OPS-1", "OPS-2", LinkKind.CAUSES)

    client.force_login(world.pm)
    response = client.post(reverse("request-link-remove", args=[second.reference, link.pk]))
    assert response.status_code in (200, 302)
    assert not RequestLink.objects.exists()
    sync()

    assert jira_stub.links == []
    assert len(jira_stub.calls_to("DELETE", f"/rest/api/2/issueLink/{stored['id']}")) == 1
    twin.refresh_from_db()
    assert twin.deleted_at is not None
    push = JiraPush.objects.get(field="unlink")
    assert (push.outcome, push.value) == ("pushed", f"causes {second.reference}")
    # Both timelines say who unlinked it; the removal is audited.
    removed = RequestEvent.objects.filter(kind=EventKind.LINK_REMOVED)
    assert {e.service_request_id for e in removed} == {first.pk, second.pk}
    assert all(e.actor == world.pm for e in removed)

    # Running the removal again calls Jira no more.
    source_event = next(e for e in removed if e.payload["source"])
    jira_sync_event_task(event_id=source_event.pk)
    assert len(jira_stub.calls_to("DELETE", "/rest/api/2/issueLink/*")) == 1


def test_removing_through_the_api_when_jira_already_lost_the_link_is_fine(world, pair, jira_stub, client):
    first, second = pair
    link = services.link_add(
        actor=world.pm, service_request=first, relation="relates_to", other_reference=second.reference
    )
    sync()
    jira_stub.links.clear()  # somebody removed it in Jira and the webhook never came

    client.force_login(world.pm)
    response = client.delete(f"/api/v1/requests/{first.reference}/links/{link.pk}/")
    assert response.status_code == 204
    sync()

    assert len(jira_stub.calls_to("DELETE", "/rest/api/2/issueLink/*")) == 1  # answered 404: no such link
    push = JiraPush.objects.get(field="unlink")
    assert push.outcome == "unchanged" and "already gone" in push.note


def test_a_jira_outage_during_removal_is_retried_and_the_retry_removes_it(world, pair, jira_stub):
    first, second = pair
    link = services.link_add(actor=world.pm, service_request=first, relation="causes", other_reference=second.reference)
    sync()
    services.link_remove(actor=world.pm, service_request=first, link_id=link.pk)
    jira_stub.fail("/rest/api/2/issueLink/*", 503, method="DELETE")

    with pytest.raises(TransientIntegrationError):
        sync()
    assert len(jira_stub.links) == 1 and not JiraPush.objects.filter(field="unlink").exists()

    sync()  # the task's retry
    assert jira_stub.links == []
    assert JiraPush.objects.get(field="unlink").outcome == "pushed"


def test_a_link_removed_before_its_push_ran_never_reaches_jira(world, pair, jira_stub):
    first, second = pair
    link = services.link_add(actor=world.pm, service_request=first, relation="causes", other_reference=second.reference)
    services.link_remove(actor=world.pm, service_request=first, link_id=link.pk)

    sync()

    assert jira_stub.links == [] and not jira_stub.calls_to("POST", "/rest/api/2/issueLink")
    assert JiraPush.objects.get(field="link").note == "the link was removed since"
    assert JiraPush.objects.get(field="unlink").note == "the link never reached Jira"


def test_a_link_made_in_jira_links_the_requests_and_its_removal_unlinks_them(world, pair, jira_stub, client):
    first, second = pair
    made = jira_stub.add_link("Problem/Incident", "OPS-1", "OPS-2")
    created = link_event("issuelink_created", made["id"], issue_id(jira_stub, "OPS-1"), issue_id(jira_stub, "OPS-2"))

    assert deliver(client, created, delivery_id="link-1").status_code == 202
    process()

    link = RequestLink.objects.get()
    assert (link.source, link.target, link.kind, link.created_by) == (first, second, LinkKind.CAUSES, None)
    added = RequestEvent.objects.filter(kind=EventKind.LINK_ADDED)
    assert {e.service_request_id for e in added} == {first.pk, second.pk}
    assert all(e.payload["origin"] == "jira" and e.actor is None for e in added)
    assert "Linked in Jira: causes" in added.get(service_request=first).message
    assert JiraIssueLink.objects.get().jira_link_id == made["id"]
    assert JiraDelivery.objects.get(delivery_id="link-1").outcome == DeliveryOutcome.APPLIED
    sync()
    assert len(jira_stub.links) == 1 and not jira_stub.calls_to("POST", "/rest/api/2/issueLink")  # not pushed back

    jira_stub.links.clear()
    deleted = link_event("issuelink_deleted", made["id"], issue_id(jira_stub, "OPS-1"), issue_id(jira_stub, "OPS-2"))
    assert deliver(client, deleted, delivery_id="link-2").status_code == 202
    process()

    assert not RequestLink.objects.exists()
    removed = RequestEvent.objects.filter(kind=EventKind.LINK_REMOVED)
    assert {e.service_request_id for e in removed} == {first.pk, second.pk}
    assert all(e.payload["origin"] == "jira" for e in removed)
    sync()
    assert not jira_stub.calls_to("DELETE", "/rest/api/2/issueLink/*")  # a removal from Jira is not pushed back
    assert JiraDelivery.objects.get(delivery_id="link-2").outcome == DeliveryOutcome.APPLIED


def test_the_echo_of_portico_own_link_and_removal_changes_nothing(world, pair, jira_stub, client):
    first, second = pair
    link = services.link_add(actor=world.pm, service_request=first, relation="causes", other_reference=second.reference)
    sync()
    [stored] = jira_stub.links
    ids = issue_id(jira_stub, "OPS-1"), issue_id(jira_stub, "OPS-2")

    deliver(client, link_event("issuelink_created", stored["id"], *ids), delivery_id="echo-1")
    process()
    assert RequestLink.objects.count() == 1
    assert "Portico's own" in JiraDelivery.objects.get(delivery_id="echo-1").notes

    services.link_remove(actor=world.pm, service_request=first, link_id=link.pk)
    sync()
    deliver(client, link_event("issuelink_deleted", stored["id"], *ids), delivery_id="echo-2")
    process()
    delivery = JiraDelivery.objects.get(delivery_id="echo-2")
    assert delivery.outcome == DeliveryOutcome.IGNORED and "removed by Portico" in delivery.notes
    assert RequestEvent.objects.filter(kind=EventKind.LINK_REMOVED).count() == 2  # only Portico's own removal


@pytest.mark.parametrize(
    ("case", "link_type", "expected"),
    [("unknown issue", "causes", "no request"), ("no portal kind", "blocks", "is no portal link")],
)
def test_a_jira_link_the_portal_cannot_mirror_is_ignored(world, pair, jira_stub, client, case, link_type, expected):
    destination = "99999" if case == "unknown issue" else issue_id(jira_stub, "OPS-2")
    payload = link_event("issuelink_created", "31234", issue_id(jira_stub, "OPS-1"), destination, link_type)

    deliver(client, payload, delivery_id="x-1")
    process()

    assert not RequestLink.objects.exists()
    delivery = JiraDelivery.objects.get()
    assert delivery.outcome == DeliveryOutcome.IGNORED and expected in delivery.notes


def test_a_jira_link_the_portal_refuses_is_a_conflict_for_the_pm(world, pair, jira_stub, client):
    first, second = pair
    services.link_add(actor=world.pm, service_request=first, relation="parent_of", other_reference=second.reference)
    sync()
    # In Jira, the child is made the parent of its parent: a loop the portal refuses.
    payload = link_event("issuelink_created", "31999", issue_id(jira_stub, "OPS-2"), issue_id(jira_stub, "OPS-1"))
    payload["issueLink"]["issueLinkType"] = {"id": "10005", "name": "Parent-Child", "outwardName": "is parent of"}

    deliver(client, payload, delivery_id="loop-1")
    process()

    assert RequestLink.objects.count() == 1
    conflict = RequestEvent.objects.get(kind=EventKind.JIRA_CONFLICT)
    assert conflict.internal and conflict.service_request == second and "loop" in conflict.message
    assert JiraDelivery.objects.get().outcome == DeliveryOutcome.CONFLICT


@pytest.mark.parametrize("secret", ["not-the-secret", None])
def test_an_unsigned_or_forged_link_webhook_is_refused_and_changes_nothing(world, pair, jira_stub, client, secret):
    made = jira_stub.add_link("Problem/Incident", "OPS-1", "OPS-2")
    body = json.dumps(
        link_event("issuelink_created", made["id"], issue_id(jira_stub, "OPS-1"), issue_id(jira_stub, "OPS-2"))
    ).encode()
    headers = {"X-Atlassian-Webhook-Identifier": "forged"}
    if secret:
        headers["X-Hub-Signature"] = sign(secret, body)

    response = client.post(URL, data=body, content_type="application/json", headers=headers)

    assert response.status_code == 401
    process()
    assert not JiraDelivery.objects.exists() and not RequestLink.objects.exists()
