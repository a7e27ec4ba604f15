"""Outside `visible_to`, a request does not exist: 404 on every endpoint, absent from every list."""

from __future__ import annotations

import pytest

from requests_app.choices import RequestState
from requests_app.testing.workflow import walk_to

from .helpers import LIST_URL, detail_url, error_of, transition_url

pytestmark = pytest.mark.django_db


def _calls(reference: str) -> dict[str, tuple[str, str, dict]]:
    """Every endpoint that names a request, with a body that would be valid for someone allowed."""
    detail = detail_url(reference)
    return {
        "detail": ("get", detail, {}),
        "patch": ("patch", detail, {"title": "Renamed"}),
        "transitions": ("get", f"{detail}transitions/", {}),
        "transition": ("post", transition_url(reference, "escalate"), {"reason": "Blocked"}),
        "transition-unknown": ("post", transition_url(reference, "fly"), {}),
        "comments": ("get", f"{detail}comments/", {}),
        "comment": ("post", f"{detail}comments/", {"body": "Hello"}),
        "events": ("get", f"{detail}events/", {}),
    }


ENDPOINTS = list(_calls("REQ-000000"))
OUTSIDERS = ["other_vendor_engineer", "other_vendor_lead", "other_requester"]


@pytest.mark.parametrize("outsider", OUTSIDERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_outsiders_get_404_on_every_endpoint(world, api, outsider, endpoint):
    service_request = walk_to(world, RequestState.IN_PROGRESS)  # team A's request in vendor A's queue
    events_before = service_request.events.count()
    method, url, body = _calls(service_request.reference)[endpoint]
    response = getattr(api(world.users[outsider]), method)(url, body, format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert "Namespace" not in response.content.decode()  # nothing of the request leaks
    service_request.refresh_from_db()
    assert (service_request.state, service_request.title) == (RequestState.IN_PROGRESS, "Namespace for mGramSeva UAT")
    assert service_request.events.count() == events_before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_vendors_see_nothing_before_their_vendor_is_assigned(world, api, endpoint):
    service_request = walk_to(world, RequestState.SUBMITTED)
    method, url, body = _calls(service_request.reference)[endpoint]
    response = getattr(api(world.vendor_engineer), method)(url, body, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_reference_that_does_not_exist_is_404_too(world, api, endpoint):
    method, url, body = _calls("REQ-999999")[endpoint]
    response = getattr(api(world.pm), method)(url, body, format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_gets_401_everywhere(world, api, endpoint):
    service_request = walk_to(world, RequestState.QUEUED)
    method, url, body = _calls(service_request.reference)[endpoint]
    response = getattr(api(None), method)(url, body, format="json")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_lists_hold_only_what_each_user_may_see(world, api):
    mine = walk_to(world, RequestState.IN_PROGRESS)  # team A, vendor A
    theirs = walk_to(world, RequestState.SUBMITTED, actor=world.other_requester)  # team B, untriaged
    seen = {
        role: {r["reference"] for r in api(user).get(LIST_URL).json()["results"]} for role, user in world.users.items()
    }
    assert seen == {
        "requester": {mine.reference},
        "other_requester": {theirs.reference},
        "vendor_engineer": {mine.reference},
        "vendor_lead": {mine.reference},
        "other_vendor_engineer": set(),
        "other_vendor_lead": set(),
        "pm": {mine.reference, theirs.reference},
        "approver": {mine.reference, theirs.reference},
    }


def test_search_does_not_reach_past_visibility(world, api):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    response = api(world.other_vendor_engineer).get(LIST_URL, {"q": service_request.reference})
    assert response.status_code == 200
    assert response.json()["count"] == 0
