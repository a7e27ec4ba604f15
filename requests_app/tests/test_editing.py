"""Editing a request: the service (who may change what, the SLA retarget and the timeline's words), the browser's
edit page and parameters form (the same schema as the API), and filing on behalf of another team."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from portal.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from requests_app import services
from requests_app.catalogue import action_named
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.forms import ParametersForm
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f
from requests_app.tests.api.helpers import error_of
from sla.selectors import sla_due_times

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
FILED = datetime(2026, 11, 20, 17, 0, tzinfo=IST)  # a Friday, 17:00 in Punjab
EDITED = datetime(2026, 11, 20, 18, 0, tzinfo=IST)


def edit_url(service_request: ServiceRequest) -> str:
    return reverse("request-edit", args=[service_request.reference])


def signed_in(client, user):
    client.force_login(user)
    return client


# --- the service -------------------------------------------------------------------------------------------------
def test_a_priority_change_retargets_the_sla_with_exact_due_times_and_says_how_on_the_timeline(world):
    with time_machine.travel(FILED, tick=False):
        service_request = walk_to(world, RequestState.QUEUED)
    # P2 filed Friday 17:00: response due Monday 17:00, resolution Thursday 17:00 (Tuesday is a holiday).
    assert sla_due_times(service_request) == {
        "response": datetime(2026, 11, 23, 17, 0, tzinfo=IST),
        "resolution": datetime(2026, 11, 26, 17, 0, tzinfo=IST),
    }

    with time_machine.travel(EDITED, tick=False):
        services.request_update(
            service_request, actor=world.pm, changes={"priority": Priority.P1}, reason="Production is down"
        )

    # P1 is 2 h / 12 h round the clock, measured from submission as before.
    assert sla_due_times(service_request) == {
        "response": datetime(2026, 11, 20, 19, 0, tzinfo=IST),
        "resolution": datetime(2026, 11, 21, 5, 0, tzinfo=IST),
    }
    event = service_request.events.get(kind=EventKind.PRIORITY_CHANGED)
    assert event.actor == world.pm
    assert event.message == (
        f"Priority P2 → P1 by {world.pm.get_full_name()}: Production is down; "
        "response due moved from 23 Nov, 17:00 IST to 20 Nov, 19:00 IST; "
        "resolution due moved from 26 Nov, 17:00 IST to 21 Nov, 05:00 IST."
    )
    move = event.payload["due_moves"][0]
    assert move["measure"] == "response"
    assert datetime.fromisoformat(move["from"]) == datetime(2026, 11, 23, 17, 0, tzinfo=IST)
    assert datetime.fromisoformat(move["to"]) == datetime(2026, 11, 20, 19, 0, tzinfo=IST)


def test_a_priority_or_type_change_needs_a_reason_and_changes_nothing_without_one(world):
    service_request = walk_to(world, RequestState.QUEUED)
    for changes in ({"priority": Priority.P1}, {"request_type": RequestType.TROUBLESHOOTING}):
        with pytest.raises(ValidationFailed) as refused:
            services.request_update(service_request, actor=world.pm, changes=dict(changes), reason="  ")
        assert "reason" in refused.value.fields
    service_request.refresh_from_db()
    assert (service_request.priority, service_request.request_type) == (Priority.P2, RequestType.INFRA_PROVISION)
    assert not service_request.events.filter(kind__in=[EventKind.PRIORITY_CHANGED, EventKind.UPDATED]).exists()


def test_the_requesters_team_edits_its_open_request_but_not_its_priority(world):
    service_request = file_request(world)
    teammate = f.UserFactory(username="teammate")
    world.team_a.members.add(teammate)

    services.request_update(service_request, actor=teammate, changes={"title": "Namespace for UAT, 8 CPUs"})

    service_request.refresh_from_db()
    assert service_request.title == "Namespace for UAT, 8 CPUs"
    event = service_request.events.get(kind=EventKind.UPDATED)
    assert event.message == f"Edited title by {teammate.get_full_name()}."
    with pytest.raises(ValidationFailed) as refused:
        services.request_update(service_request, actor=world.requester, changes={"priority": "P0"}, reason="Now")
    assert "priority" in refused.value.fields


def test_nobody_edits_another_teams_request_or_a_closed_one(world):
    service_request = file_request(world)
    with pytest.raises(NotFound):
        services.request_update(service_request, actor=world.other_requester, changes={"title": "Mine now"})
    closed = walk_to(world, RequestState.CANCELLED)
    with pytest.raises(Conflict):
        services.request_update(closed, actor=world.requester, changes={"title": "Too late"})
    assert services.request_editable_fields(closed, world.requester) == ()


def test_a_vendor_cannot_change_the_priority(world):
    service_request = walk_to(world, RequestState.QUEUED)
    with pytest.raises(Forbidden):
        services.request_update(
            service_request, actor=world.vendor_engineer, changes={"priority": Priority.P0}, reason="We want it"
        )
    service_request.refresh_from_db()
    assert service_request.priority == Priority.P2


# --- the edit page -----------------------------------------------------------------------------------------------
def test_the_pm_changes_priority_in_the_browser_and_the_page_shows_the_new_due_time(world, client):
    with time_machine.travel(FILED, tick=False):
        service_request = walk_to(world, RequestState.QUEUED)
    signed_in(client, world.pm)
    data = {
        "form": "details",
        "title": service_request.title,
        "description": service_request.description,
        "priority": "P1",
        "request_type": service_request.request_type,
    }
    with time_machine.travel(EDITED, tick=False):
        refused = client.post(edit_url(service_request), {**data, "reason": ""})
        assert refused.status_code == 200
        assert "A reason is required." in refused.content.decode()
        service_request.refresh_from_db()
        assert service_request.priority == Priority.P2

        response = client.post(edit_url(service_request), {**data, "reason": "Production is down"})
        assert response.status_code == 302 and response["Location"] == f"/requests/{service_request.reference}/"
        page = client.get(response["Location"]).content.decode()
    assert "20 Nov 2026, 19:00 IST in Punjab" in page  # the response clock's new due time, in the environment's zone
    assert "Priority P2 → P1 by" in page and "response due moved from 23 Nov, 17:00 IST" in page


def test_the_edit_page_offers_each_role_only_what_it_may_change(world, client):
    service_request = walk_to(world, RequestState.QUEUED)
    requester_page = signed_in(client, world.requester).get(edit_url(service_request)).content.decode()
    assert 'name="title"' in requester_page and 'name="needed_by"' in requester_page
    assert 'name="priority"' not in requester_page and 'name="reason"' not in requester_page
    assert 'data-testid="edit-request"' in client.get(f"/requests/{service_request.reference}/").content.decode()

    pm_page = signed_in(client, world.pm).get(edit_url(service_request)).content.decode()
    assert 'name="priority"' in pm_page and 'name="request_type"' in pm_page and 'name="reason"' in pm_page

    signed_in(client, world.vendor_engineer)
    assert client.get(edit_url(service_request)).status_code == 403
    assert 'data-testid="edit-request"' not in client.get(f"/requests/{service_request.reference}/").content.decode()
    assert client.post(edit_url(service_request), {"form": "details", "title": "x"}).status_code == 403
    signed_in(client, world.other_requester)
    assert client.get(edit_url(service_request)).status_code == 404


def test_a_closed_request_is_not_edited_from_the_browser(world, client):
    closed = walk_to(world, RequestState.CANCELLED)
    response = signed_in(client, world.requester).post(
        edit_url(closed), {"form": "details", "title": "Too late", "description": "x"}
    )
    assert response.status_code == 302
    closed.refresh_from_db()
    assert closed.title != "Too late"


# --- automation parameters: the form and the API agree --------------------------------------------------------------
JIT = {"username": "asha", "system": "gitlab", "gitlab_project": "42", "duration_hours": "8"}
CORPUS = [
    JIT,
    {**JIT, "system": "both", "kubernetes_namespace": "uat", "cluster_role": "view", "access_level": "maintainer"},
    {**JIT, "gitlab_project": ""},
    {**JIT, "system": "kubernetes", "gitlab_project": "", "kubernetes_namespace": "UAT_ns"},
    {**JIT, "duration_hours": "0"},
    {**JIT, "duration_hours": "721"},
    {**JIT, "username": "a b"},
    {**JIT, "system": "ftp"},
    {**JIT, "gitlab_project": "abc"},
    {**JIT, "username": "", "duration_hours": ""},
    {**JIT, "access_level": "owner"},
    {**JIT, "cluster_role": "root", "system": "both", "kubernetes_namespace": "uat"},
]


def _api_errors(api: APIClient, service_request: ServiceRequest, given: dict[str, str]) -> set[str]:
    parameters = {name: value for name, value in given.items() if value != ""}
    response = api.patch(f"/api/v1/requests/{service_request.reference}/", {"parameters": parameters}, format="json")
    if response.status_code == 200:
        return set()
    assert response.status_code == 400, response.content
    return {name.removeprefix("parameters.") for name in error_of(response)["fields"]}


def _form_errors(client, service_request: ServiceRequest, given: dict[str, str]) -> set[str]:
    data = {"form": "parameters", **{f"parameters-{name}": value for name, value in given.items()}}
    response = client.post(edit_url(service_request), data)
    if response.status_code == 302:
        return set()
    assert response.status_code == 200
    return set(response.context["parameters_form"].errors)


@pytest.mark.parametrize("given", CORPUS, ids=range(len(CORPUS)))
def test_the_parameters_form_and_the_api_accept_and_refuse_the_same_inputs(world, client, given):
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS, parameters={})
    api = APIClient()
    api.force_authenticate(world.requester)
    signed_in(client, world.requester)

    from_api = _api_errors(api, service_request, given)
    from_form = _form_errors(client, service_request, given)

    assert from_api == from_form
    valid = given in (CORPUS[0], CORPUS[1])
    assert (from_api == set()) is valid
    if valid:
        service_request.refresh_from_db()
        assert service_request.parameters["gitlab_project"] == 42  # the schema's value, not the form's text


def test_the_parameters_form_is_built_from_the_catalogue_schema_and_shows_its_errors(world, client):
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS, parameters={})
    page = signed_in(client, world.requester).get(edit_url(service_request)).content.decode()
    assert "Automation parameters: Grant just-in-time access" in page
    for name in ("username", "system", "gitlab_project", "kubernetes_namespace", "duration_hours"):
        assert f'name="parameters-{name}"' in page
    response = client.post(
        edit_url(service_request),
        {
            "form": "parameters",
            "parameters-username": "asha",
            "parameters-system": "gitlab",
            "parameters-duration_hours": "4",
        },
    )
    form = response.context["parameters_form"]
    assert form.errors["gitlab_project"] == ["Required for GitLab access: the project's numeric id."]
    assert "GitLab project: Required for GitLab access" in response.content.decode()  # in the error summary too
    service_request.refresh_from_db()
    assert service_request.parameters == {}


def test_saved_parameters_come_back_into_the_form_as_typed():
    form = ParametersForm(action=action_named("jenkins_job"), parameters={"job": "a/b", "parameters": {"A": "1"}})
    assert form["job"].initial == "a/b"
    assert form["parameters"].initial == "A=1"


# --- filing on behalf of a team ------------------------------------------------------------------------------------
def _filing_data(world, **extra) -> dict:
    return {
        "title": "Namespace for Sanitation",
        "description": "Four CPUs.",
        "request_type": RequestType.INFRA_PROVISION,
        "priority": Priority.P2,
        "environment": world.environment.pk,
        **extra,
    }


@pytest.mark.parametrize("who", ["pm", "approver"])
def test_the_pm_and_egov_devops_file_on_behalf_of_any_team(world, client, who):
    user = getattr(world, who)
    page = signed_in(client, user).get(reverse("request-new")).content.decode()
    assert "On behalf of team" in page and "Sanitation" in page and "mGramSeva" in page

    response = client.post(reverse("request-new"), _filing_data(world, team=world.team_b.pk))

    assert response.status_code == 302
    filed = ServiceRequest.objects.get(title="Namespace for Sanitation")
    assert (filed.team, filed.requester) == (world.team_b, user)


def test_a_requester_gets_no_team_select_and_a_posted_team_is_refused(world, client):
    page = signed_in(client, world.requester).get(reverse("request-new")).content.decode()
    assert 'name="team"' not in page

    response = client.post(reverse("request-new"), _filing_data(world, team=world.team_b.pk))

    assert response.status_code == 200
    assert "You can file requests only for your own team." in response.content.decode()
    assert not ServiceRequest.objects.filter(title="Namespace for Sanitation").exists()
