"""Links between requests pushed to Jira as issue links (POST /rest/api/2/issueLink) by the real adapter against
the Jira stub: once, from the link's source, only when both requests have an issue."""

from __future__ import annotations

import pytest

from jira_bridge.models import JiraPush
from jira_bridge.tasks import jira_sync_event as jira_sync_event_task
from jira_bridge.tests.conftest import run_outbox
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.models import RequestEvent
from requests_app.testing.workflow import file_request, walk_to

pytestmark = pytest.mark.django_db


def sync() -> list:
    return run_outbox(jira_sync_event_task)


@pytest.mark.parametrize(
    ("relation", "jira_type", "inward_is_first"),
    [("causes", "Problem/Incident", True), ("caused_by", "Problem/Incident", False), ("relates_to", "Relates", True)],
)
def test_a_link_between_two_mirrored_requests_becomes_one_issue_link(
    world, jira_connection, jira_stub, relation, jira_type, inward_is_first
):
    first = walk_to(world, RequestState.QUEUED, title="First")
    second = walk_to(world, RequestState.QUEUED, title="Second")
    sync()
    first.refresh_from_db()
    second.refresh_from_db()
    keys = {first.pk: first.jira_key, second.pk: second.jira_key}
    assert all(keys.values())
    services.link_add(actor=world.pm, service_request=first, relation=relation, other_reference=second.reference)

    sync()

    inward, outward = (keys[first.pk], keys[second.pk]) if inward_is_first else (keys[second.pk], keys[first.pk])
    assert [{k: v for k, v in link.items() if k != "id"} for link in jira_stub.links] == [
        {"type": jira_type, "inward": inward, "outward": outward}
    ]
    calls = jira_stub.calls_to("POST", "/rest/api/2/issueLink")
    assert len(calls) == 1
    # Running the source's event again pushes nothing more.
    source_event = next(e for e in RequestEvent.objects.filter(kind=EventKind.LINK_ADDED) if e.payload["source"])
    jira_sync_event_task(event_id=source_event.pk)
    assert len(jira_stub.links) == 1
    assert JiraPush.objects.filter(field="link", outcome="pushed").count() == 1


def test_a_link_to_a_request_without_an_issue_is_skipped_with_a_note(world, jira_connection, jira_stub):
    mirrored = walk_to(world, RequestState.QUEUED)
    untriaged = file_request(world)
    sync()
    services.link_add(
        actor=world.pm, service_request=mirrored, relation="relates_to", other_reference=untriaged.reference
    )

    sync()

    assert jira_stub.links == []
    push = JiraPush.objects.get(field="link")
    assert (push.outcome, push.note) == ("skipped", "the other request has no issue")
