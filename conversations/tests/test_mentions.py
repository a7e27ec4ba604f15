"""@mention suggestions, from the comment box's htmx partial and from the API: at most ten active people a mention
would reach, matched by the start of their username, first or last name; never another vendor's people, never an
inactive account, the requester's teammates only as far as they can see the request, and for an internal note
only who can read it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal.models import User
from requests_app.choices import RequestState
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db
OPTION = re.compile(r'role="option"[^>]*data-mention="([^"]+)"')


def from_page(user: User, reference: str, q: str, **extra: str) -> list[str]:
    client = Client()
    client.force_login(user)
    response = client.get(f"/requests/{reference}/mentionable/", {"q": q, **extra}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return OPTION.findall(response.content.decode())


def from_api(user: User, reference: str, q: str, **extra: str) -> list[str]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/requests/{reference}/mentionable/", {"q": q, **extra})
    assert response.status_code == 200, response.content
    return [person["username"] for person in response.json()]


@pytest.fixture(params=[from_page, from_api], ids=["comment-box", "api"])
def offered(request) -> Callable[..., list[str]]:
    return request.param


@pytest.fixture
def people(world):
    """Everyone's names fixed (the factories' are random), and a cast whose names all start with "Ra"."""
    User.objects.update(first_name="", last_name="")
    cast = {
        "teammate": f.UserFactory(username="t-ravi", first_name="Ravi", last_name="Kumar"),
        "other_team": f.UserFactory(username="t-rani", first_name="Rani", last_name="Das"),
        "engineer": f.VendorEngineerFactory(
            username="e-rao", first_name="Sita", last_name="Rao", vendor=world.vendor_a
        ),
        "other_vendor": f.VendorEngineerFactory(username="raghu", first_name="Raghu", vendor=world.vendor_b),
        "inactive": f.VendorEngineerFactory(username="rajesh", vendor=world.vendor_a, is_active=False),
        "inactive_mate": f.UserFactory(username="ramya", is_active=False),
    }
    world.team_a.members.add(cast["teammate"], cast["inactive_mate"])
    world.team_b.members.add(cast["other_team"])
    return cast


def test_only_people_who_can_see_the_request_are_offered(world, people, offered):
    service_request = walk_to(world, RequestState.IN_PROGRESS)  # team A's request, with vendor A

    for user in (world.requester, world.vendor_engineer, world.pm):
        # first name (Ravi), last name (Rao); never vendor B's Raghu, team B's Rani, or the inactive Rajesh and Ramya
        assert offered(user, service_request.reference, "ra") == ["e-rao", "t-ravi"]
    assert offered(world.requester, service_request.reference, "@RAGH") == []  # case and a leading @ do not matter
    assert offered(world.requester, service_request.reference, "opti") == ["opti-eng", "opti-lead"]  # usernames
    assert offered(world.requester, service_request.reference, "") == []


def test_the_vendor_is_offered_only_once_the_request_is_theirs(world, people, offered):
    service_request = file_request(world)  # not triaged: no vendor sees it yet

    assert offered(world.requester, service_request.reference, "ra") == ["t-ravi"]
    assert offered(world.requester, service_request.reference, "opti") == []


def test_an_internal_note_offers_only_who_can_read_it(world, people, offered):
    service_request = walk_to(world, RequestState.IN_PROGRESS)

    assert offered(world.vendor_engineer, service_request.reference, "ra", internal="true") == ["e-rao"]
    assert offered(world.vendor_engineer, service_request.reference, "as", internal="true") == []  # the requester
    assert offered(world.vendor_engineer, service_request.reference, "eg", internal="true") == ["egov"]


def test_at_most_ten_are_offered(world, people, offered):
    service_request = file_request(world)
    world.team_a.members.add(*[f.UserFactory(username=f"zz-{n:02}") for n in range(12)])

    assert offered(world.requester, service_request.reference, "zz") == [f"zz-{n:02}" for n in range(10)]


def test_someone_who_cannot_see_the_request_gets_nothing(world, client):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    path = f"/requests/{service_request.reference}/mentionable/"

    client.force_login(world.other_vendor_engineer)
    assert client.get(path, {"q": "a"}).status_code == 404
    client.logout()
    assert client.get(path, {"q": "a"}).status_code == 302  # to the sign-in page
    api = APIClient()
    api.force_authenticate(world.other_requester)
    assert api.get(f"/api/v1{path}", {"q": "a"}).status_code == 404


def test_bad_input_is_a_400_not_a_500(world, client):
    service_request = file_request(world)
    client.force_login(world.requester)
    path = f"/requests/{service_request.reference}/mentionable/"

    assert client.get(path, {"q": "a" * 151}).status_code == 400
    api = APIClient()
    api.force_authenticate(world.requester)
    bad = api.get(f"/api/v1{path}", {"q": "a", "internal": "perhaps"})
    assert bad.status_code == 400 and "internal" in bad.json()["error"]["fields"]
