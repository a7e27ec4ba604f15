"""Destructive actions ask first, finished requests say their clocks stopped, flash messages say what changed,
reassign offers only real changes, and the pages people see have human labels and a styled 404 even with DEBUG."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from requests_app.choices import RequestState
from requests_app.testing.workflow import walk_to

pytestmark = pytest.mark.django_db


def transition_url(service_request, name: str) -> str:
    return reverse("request-transition", args=[service_request.reference, name])


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.parametrize(
    ("name", "actor", "state", "data", "says"),
    [
        ("cancel", "requester", RequestState.SUBMITTED, {}, "its SLA clocks stop"),
        ("reject", "pm", RequestState.SUBMITTED, {"reject-reason": "Duplicate"}, "cannot be reopened"),
        ("deny", "approver", RequestState.PENDING_APPROVAL, {"deny-reason": "Too broad"}, "not approved"),
    ],
)
def test_a_destructive_action_asks_first_and_names_what_will_happen(client, world, name, actor, state, data, says):
    service_request = walk_to(world, state)
    client.force_login(getattr(world, actor))

    page = client.get(transition_url(service_request, name))
    asked = client.post(transition_url(service_request, name), data)

    for response in (page, asked):
        assert response.status_code == 200
        assert service_request.reference in text(response) and says in text(response)
        assert 'name="confirmed" value="yes"' in text(response)
    service_request.refresh_from_db()
    assert service_request.state == state  # asking changed nothing
    done = client.post(transition_url(service_request, name), {**data, "confirmed": "yes"}, follow=True)
    service_request.refresh_from_db()
    assert service_request.state in {RequestState.CANCELLED, RequestState.REJECTED}
    assert f"{service_request.reference} is {service_request.get_state_display().lower()}" in text(done)


def test_the_request_page_offers_the_dialog_with_its_wording(client, world):
    service_request = walk_to(world, RequestState.SUBMITTED)
    client.force_login(world.requester)

    page = text(client.get(reverse("request-detail", args=[service_request.reference])))

    assert f'data-confirm-title="Cancel {service_request.reference}?"' in page
    assert 'name="confirmed" value=""' in page


def test_a_non_destructive_action_is_still_post_only(client, world):
    service_request = walk_to(world, RequestState.RESOLVED)
    client.force_login(world.requester)

    assert client.get(transition_url(service_request, "confirm")).status_code == 405


@pytest.mark.parametrize("state", [RequestState.CANCELLED, RequestState.REJECTED, RequestState.CLOSED])
def test_a_finished_request_shows_its_clocks_stopped_not_running(client, world, state):
    service_request = walk_to(world, state)
    client.force_login(world.pm)

    page = text(client.get(reverse("request-detail", args=[service_request.reference])))

    label = service_request.get_state_display().lower()
    assert f"The clocks stopped when the request was {label}" in page
    assert "data-countdown" not in page and "On track" not in page
    assert ">Due <time" not in page


def test_reassign_offers_only_other_engineers_and_says_who_has_it(client, world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    client.force_login(world.vendor_lead)

    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    options = re.findall(r'<option value="(\d+)"', page.split('name="reassign-assignee"')[1].split("</select>")[0])
    assert str(world.vendor_engineer.pk) not in options and str(world.vendor_lead.pk) in options

    done = client.post(
        transition_url(service_request, "reassign"), {"reassign-assignee": world.vendor_lead.pk}, follow=True
    )
    assert f"{service_request.reference} is assigned to {world.vendor_lead}." in text(done)


def test_the_new_request_form_speaks_human(client, world):
    client.force_login(world.requester)

    page = text(client.get(reverse("request-new")))

    assert ">CPU" in page and ">GitLab project" in page and ">Kubernetes namespace" in page
    assert '<option value="kubernetes">Kubernetes</option>' in page
    assert 'data-shown-when="jit_access__system" data-shown-values="gitlab both"' in page
    assert "for InfraProvision" not in page and "Cpu" not in page


@override_settings(DEBUG=True, PORTICO_DEBUG_404=False)
def test_make_run_debug_mode_serves_the_styled_404_not_djangos_url_list(client, world):
    client.force_login(world.requester)

    for url in ("/no/such/page/", "/requests/REQ-999999/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "There is nothing here" in text(response) and "URLconf" not in text(response)


@override_settings(DEBUG=True, PORTICO_DEBUG_404=True)
def test_portico_debug_404_brings_djangos_page_back(client, world):
    client.force_login(world.requester)

    assert "URLconf" in text(client.get("/no/such/page/"))


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301 or response.status_code == 302
    assert response["Location"].endswith(".svg")
