"""Canned responses: each vendor's set for its people, the program manager's for staff; kept by their managers."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from canned.models import CannedResponse
from requests_app.choices import RequestState
from requests_app.testing.workflow import walk_to

LIST = "/api/v1/canned-responses/"


@pytest.fixture
def sets(world) -> dict[str, CannedResponse]:
    return {
        "optit": CannedResponse.objects.create(
            vendor=world.vendor_a, title="Need logs", body="Please attach the pod logs."
        ),
        "gwl": CannedResponse.objects.create(vendor=world.vendor_b, title="GWL hello", body="GWL is on it."),
        "pm": CannedResponse.objects.create(vendor=None, title="Triage note", body="Routed; expect an answer today."),
    }


def titles(user) -> list[str]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(LIST)
    assert response.status_code == 200
    body = response.json()
    return sorted(item["title"] for item in body.get("results", body))


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("vendor_engineer", ["Need logs"]),
        ("vendor_lead", ["Need logs"]),
        ("other_vendor_engineer", ["GWL hello"]),
        ("pm", ["Triage note"]),
        ("approver", ["Triage note"]),
        ("requester", []),
    ],
)
def test_the_api_lists_only_the_sets_a_user_may_insert(world, sets, role, expected):
    assert titles(getattr(world, role)) == expected


def test_the_api_needs_authentication(world, sets):
    assert APIClient().get(LIST).status_code == 401


def test_a_vendor_lead_keeps_their_vendors_set_and_cannot_touch_another(world, sets, client):
    client.force_login(world.vendor_lead)
    assert client.post("/canned-responses/", {"title": "Done", "body": "Resolved; please confirm."}).status_code == 302
    created = CannedResponse.objects.get(title="Done")
    assert created.vendor == world.vendor_a
    page = client.get("/canned-responses/").content.decode()
    assert "Need logs" in page and "Done" in page and "GWL hello" not in page and "Triage note" not in page
    for foreign in (sets["gwl"], sets["pm"]):
        assert client.post(f"/canned-responses/{foreign.pk}/", {"title": "x", "body": "y"}).status_code == 404
        assert client.post(f"/canned-responses/{foreign.pk}/delete/").status_code == 404
    assert (
        client.post(f"/canned-responses/{sets['optit'].pk}/", {"title": "Need logs", "body": "New"}).status_code == 302
    )
    sets["optit"].refresh_from_db()
    assert sets["optit"].body == "New"
    assert CannedResponse.objects.filter(pk=sets["gwl"].pk, title="GWL hello").exists()


def test_the_program_managers_set_is_theirs(world, sets, client):
    client.force_login(world.pm)
    assert client.post("/canned-responses/", {"title": "Welcome", "body": "Thanks for filing."}).status_code == 302
    assert CannedResponse.objects.get(title="Welcome").vendor is None
    assert client.post(f"/canned-responses/{sets['optit'].pk}/delete/").status_code == 404
    assert client.post(f"/canned-responses/{sets['pm'].pk}/delete/").status_code == 302
    assert not CannedResponse.objects.filter(pk=sets["pm"].pk).exists()


@pytest.mark.parametrize("role", ["vendor_engineer", "requester", "approver"])
def test_others_cannot_manage_canned_responses(world, sets, client, role):
    client.force_login(getattr(world, role))
    assert client.get("/canned-responses/").status_code == 403
    assert client.post("/canned-responses/", {"title": "x", "body": "y"}).status_code == 403
    assert CannedResponse.objects.count() == 3


def test_a_duplicate_title_or_empty_body_is_a_form_error(world, sets, client):
    client.force_login(world.vendor_lead)
    response = client.post("/canned-responses/", {"title": "need logs", "body": "again"})
    assert response.status_code == 400 and "Another canned response has this title." in response.content.decode()
    assert client.post("/canned-responses/", {"title": "Empty", "body": "  "}).status_code == 400
    assert CannedResponse.objects.count() == 3


def test_the_comment_box_offers_the_users_set_and_prefills_without_javascript(world, sets, client):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    page = f"/requests/{service_request.reference}/"
    client.force_login(world.vendor_engineer)
    html = client.get(page).content.decode()
    assert 'data-canned-target="id_body"' in html
    assert "Need logs" in html and 'data-body="Please attach the pod logs."' in html and "GWL hello" not in html
    prefilled = client.get(page, {"canned": sets["optit"].pk}).content.decode()
    assert "Please attach the pod logs.</textarea>" in prefilled  # in the box, editable before sending
    foreign = client.get(page, {"canned": sets["gwl"].pk}).content.decode()
    assert "GWL is on it." not in foreign  # another vendor's text never leaks through the prefill
    client.force_login(world.requester)
    assert "data-canned-target" not in client.get(page).content.decode()


def test_the_pages_compiled_read_equals_the_queryset_for_every_viewer(world, sets):
    from canned.selectors import canned_for, canned_for_page

    CannedResponse.objects.create(vendor=world.vendor_a, title="A second one", body="Also <b>this</b>.")
    inactive = world.vendor_engineer
    for user in [*world.users.values()]:
        assert [c.pk for c in canned_for_page(user)] == [c.pk for c in canned_for(user)], user.username
        assert [c.body for c in canned_for_page(user)] == [c.body for c in canned_for(user)], user.username
    inactive.is_active = False
    assert canned_for_page(inactive) == [] == list(canned_for(inactive))
