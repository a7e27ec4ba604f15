"""Requester satisfaction (CSAT): a rating 1–5 with an optional comment when confirming, through the service, the
API and the browser form; stored on the request, on the timeline, and shown on the request page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.exceptions import ValidationFailed
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.models import RequestEvent
from requests_app.testing.workflow import walk_to

from .api.helpers import error_of, transition_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def client_for(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for


def test_confirm_with_a_rating_stores_it_and_audits_it(world):
    service_request = walk_to(world, RequestState.RESOLVED)
    service_request = services.request_confirm(
        service_request, actor=world.requester, rating=4, rating_comment="  Quick, thanks.  "
    )
    service_request.refresh_from_db()
    assert (service_request.state, service_request.rating, service_request.rating_comment) == (
        RequestState.CLOSED,
        4,
        "Quick, thanks.",
    )
    assert service_request.rated_at == service_request.closed_at
    event = RequestEvent.objects.get(service_request=service_request, kind=EventKind.CONFIRM)
    assert event.payload == {"rating": 4, "rating_comment": "Quick, thanks."}


def test_confirm_without_a_rating_still_works(world):
    service_request = services.request_confirm(walk_to(world, RequestState.RESOLVED), actor=world.requester)
    service_request.refresh_from_db()
    assert service_request.state == RequestState.CLOSED
    assert (service_request.rating, service_request.rated_at) == (None, None)


@pytest.mark.parametrize(
    ("rating", "comment"), [(0, ""), (6, ""), (None, "A comment without a rating")], ids=["zero", "six", "no-rating"]
)
def test_bad_ratings_are_field_errors_and_nothing_changes(world, rating, comment):
    service_request = walk_to(world, RequestState.RESOLVED)
    with pytest.raises(ValidationFailed) as caught:
        services.request_confirm(service_request, actor=world.requester, rating=rating, rating_comment=comment)
    assert "rating" in caught.value.fields
    service_request.refresh_from_db()
    assert service_request.state == RequestState.RESOLVED


def test_api_confirm_takes_a_rating_and_shows_it(world, api):
    service_request = walk_to(world, RequestState.RESOLVED)
    response = api(world.requester).post(
        transition_url(service_request.reference, "confirm"), {"rating": 5, "rating_comment": "Great"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["rating"], body["rating_comment"]) == ("closed", 5, "Great")
    transitions = api(world.requester).get(
        f"/api/v1/requests/{walk_to(world, RequestState.RESOLVED).reference}/transitions/"
    )
    confirm = next(row for row in transitions.json() if row["name"] == "confirm")
    assert confirm["fields"] == ["rating", "rating_comment"]


@pytest.mark.parametrize("rating", [0, 6, "great", 4.5])
def test_api_bad_rating_is_a_400_with_the_field(world, api, rating):
    service_request = walk_to(world, RequestState.RESOLVED)
    response = api(world.requester).post(
        transition_url(service_request.reference, "confirm"), {"rating": rating}, format="json"
    )
    assert response.status_code == 400
    assert "rating" in error_of(response)["fields"]
    service_request.refresh_from_db()
    assert service_request.state == RequestState.RESOLVED


def test_api_comment_without_rating_is_a_400(world, api):
    service_request = walk_to(world, RequestState.RESOLVED)
    response = api(world.requester).post(
        transition_url(service_request.reference, "confirm"), {"rating_comment": "Meh"}, format="json"
    )
    assert response.status_code == 400
    assert "rating" in error_of(response)["fields"]


def test_browser_confirm_with_rating_and_the_vendor_sees_it(world, client):
    service_request = walk_to(world, RequestState.RESOLVED)
    client.force_login(world.requester)
    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert 'name="confirm-rating"' in page
    response = client.post(
        reverse("request-transition", args=[service_request.reference, "confirm"]),
        {"confirm-rating": "2", "confirm-rating_comment": "Took a while."},
    )
    assert response.status_code == 302
    service_request.refresh_from_db()
    assert (service_request.state, service_request.rating) == (RequestState.CLOSED, 2)
    client.force_login(world.vendor_engineer)
    vendor_page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert "2 out of 5" in vendor_page
    assert "Took a while." in vendor_page


def test_browser_confirm_without_rating_and_bad_rating_is_a_form_error(world, client):
    service_request = walk_to(world, RequestState.RESOLVED)
    client.force_login(world.requester)
    url = reverse("request-transition", args=[service_request.reference, "confirm"])
    bad = client.post(url, {"confirm-rating": "9"})
    assert bad.status_code == 200
    assert "Select a valid choice" in bad.content.decode()
    orphan = client.post(url, {"confirm-rating_comment": "No stars"})
    assert "Give a rating to go with your comment." in orphan.content.decode()
    service_request.refresh_from_db()
    assert service_request.state == RequestState.RESOLVED
    assert client.post(url, {}).status_code == 302
    service_request.refresh_from_db()
    assert (service_request.state, service_request.rating) == (RequestState.CLOSED, None)
