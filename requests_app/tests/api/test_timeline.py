"""Comments and the timeline: internal notes stay with staff and the request's vendor."""

from __future__ import annotations

import pytest

from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.testing.workflow import walk_to

from .helpers import detail_url, error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def discussed(world):
    """An in-progress request with one public comment and one internal note from the vendor."""
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    services.request_comment(service_request, actor=world.requester, body="Any news?")
    services.request_comment(service_request, actor=world.vendor_engineer, body="Quota is tight", internal=True)
    return service_request


def _bodies(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["body"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("requester", ["Any news?"]),
        ("vendor_engineer", ["Any news?", "Quota is tight"]),
        ("vendor_lead", ["Any news?", "Quota is tight"]),
        ("pm", ["Any news?", "Quota is tight"]),
        ("approver", ["Any news?", "Quota is tight"]),
    ],
)
def test_internal_comments_are_hidden_from_requesters(world, api, discussed, role, expected):
    url = f"{detail_url(discussed.reference)}comments/"
    assert _bodies(api(world.users[role]).get(url)) == expected


def test_timeline_hides_internal_notes_from_requesters_too(world, api, discussed):
    url = f"{detail_url(discussed.reference)}events/"
    requester_view = api(world.requester).get(url).json()["results"]
    staff_view = api(world.pm).get(url).json()["results"]
    assert [e["kind"] for e in requester_view] == ["filed", "triage", "pick_up", "comment"]
    assert [e["kind"] for e in staff_view] == ["filed", "triage", "pick_up", "comment", "comment"]
    assert all(not e["internal"] for e in requester_view)
    triage = staff_view[1]
    assert (triage["actor"], triage["from_state"], triage["to_state"]) == ("pm", "submitted", "queued")
    assert triage["created_at"].endswith("+05:30")


def test_posting_a_comment(world, api, discussed):
    url = f"{detail_url(discussed.reference)}comments/"
    response = api(world.requester).post(url, {"body": "  Thanks!  "}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["author"], body["body"], body["internal"]) == ("asha", "Thanks!", False)
    event = discussed.events.last()
    assert (event.kind, event.actor, event.message) == (EventKind.COMMENT, world.requester, "Thanks!")


def test_vendor_posts_an_internal_note(world, api, discussed):
    url = f"{detail_url(discussed.reference)}comments/"
    response = api(world.vendor_lead).post(url, {"body": "Ask GWL", "internal": True}, format="json")
    assert response.status_code == 201
    assert response.json()["internal"] is True
    assert "Ask GWL" not in _bodies(api(world.requester).get(url))


def test_requesters_cannot_post_internal_notes(world, api, discussed):
    url = f"{detail_url(discussed.reference)}comments/"
    response = api(world.requester).post(url, {"body": "secret", "internal": True}, format="json")
    assert response.status_code == 400
    assert "internal" in error_of(response)["fields"]
    assert not discussed.events.filter(message="secret").exists()


def test_comment_and_event_lists_paginate(world, api, discussed):
    for number in range(6):
        services.request_comment(discussed, actor=world.requester, body=f"ping {number}")
    url = f"{detail_url(discussed.reference)}comments/"
    body = api(world.pm).get(url, {"page_size": 5}).json()
    assert (body["count"], len(body["results"])) == (8, 5)
    assert body["next"]
    events = api(world.pm).get(f"{detail_url(discussed.reference)}events/", {"page_size": 3, "page": 2}).json()
    assert [e["kind"] for e in events["results"]] == ["comment", "comment", "comment"]


def test_list_filters_do_not_apply_to_a_named_request(world, api, discussed):
    """?state=closed shapes lists; on a request named by reference it changes nothing."""
    response = api(world.pm).get(detail_url(discussed.reference), {"state": "closed", "q": "zzz"})
    assert response.status_code == 200
    assert response.json()["reference"] == discussed.reference
