"""A P4 is resolved by its needed-by date, so it always has one: at filing, editing, triage (page, API, the desk's
bulk triage) and any priority change, each refusal a clear 400 or form error. A P4 that has none anyway (data from
before the rule) reads "no due date", needing attention, never "on track"."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from desk.templatetags.desk import sla_next
from requests_app import services
from requests_app.choices import Priority, RequestState
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests.api.helpers import LIST_URL, detail_url, error_of, transition_url
from sla.choices import ClockStatus
from sla.selectors import requests_with_sla_status, sla_summary, worst_status
from sla.services import sla_refresh

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=IST)  # Monday
LATER = date(2026, 12, 21)  # 35 days ahead: enough notice for a P4
NO_DATE = "P4 requests need a needed-by date."


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def undated_p4(world) -> ServiceRequest:
    """A P4 without a needed-by date, as one filed before the rule was enforced everywhere."""
    service_request = file_request(world, priority=Priority.P4, needed_by=LATER)
    ServiceRequest.objects.filter(pk=service_request.pk).update(needed_by=None)
    service_request.refresh_from_db()
    sla_refresh(service_request)
    return service_request


def test_the_api_refuses_to_make_a_p4_without_a_date_by_editing(world):
    service_request = walk_to(world, RequestState.QUEUED)
    response = api(world.pm).patch(
        detail_url(service_request.reference), {"priority": "P4", "reason": "Can wait"}, format="json"
    )
    assert response.status_code == 400
    assert "needed_by" in error_of(response)["fields"]
    dated = file_request(world, priority=Priority.P4, needed_by=LATER)
    cleared = api(world.requester).patch(detail_url(dated.reference), {"needed_by": None}, format="json")
    assert cleared.status_code == 400 and error_of(cleared)["message"] == NO_DATE
    service_request.refresh_from_db()
    dated.refresh_from_db()
    assert (service_request.priority, dated.needed_by) == (Priority.P2, LATER)


def test_the_edit_page_refuses_a_p4_without_a_date_with_a_form_error(world, client):
    service_request = walk_to(world, RequestState.QUEUED)
    client.force_login(world.pm)
    response = client.post(
        reverse("request-edit", args=[service_request.reference]),
        {
            "form": "details",
            "title": service_request.title,
            "description": service_request.description,
            "priority": "P4",
            "request_type": service_request.request_type,
            "reason": "Can wait",
        },
    )
    assert response.status_code == 200
    assert "Required for P4" in response.content.decode()
    service_request.refresh_from_db()
    assert service_request.priority == Priority.P2


def test_triage_to_p4_without_a_date_is_a_400_in_the_api_and_a_form_error_on_the_page(world, client):
    service_request = file_request(world)
    response = api(world.pm).post(
        transition_url(service_request.reference, "triage"),
        {"vendor": "optit", "priority": "P4", "reason": "Planned work"},
        format="json",
    )
    assert response.status_code == 400 and error_of(response)["message"] == NO_DATE
    client.force_login(world.pm)
    page = client.post(
        reverse("request-transition", args=[service_request.reference, "triage"]),
        {"triage-vendor": world.vendor_a.pk, "triage-priority": "P4", "triage-reason": "Planned work"},
    )
    assert page.status_code == 200 and NO_DATE in page.content.decode()  # the page again, with the error
    service_request.refresh_from_db()
    assert (service_request.state, service_request.priority) == (RequestState.SUBMITTED, Priority.P2)


def test_triage_confirming_an_undated_p4_asks_for_the_date(world):
    service_request = undated_p4(world)
    response = api(world.pm).post(
        transition_url(service_request.reference, "triage"), {"vendor": "optit"}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["fields"]["priority"] == [
        "A P4 needs a needed-by date: edit the request to add one, or choose another priority."
    ]
    # Choosing another priority, or giving the date, lets it through.
    services.request_update(service_request, actor=world.requester, changes={"needed_by": LATER})
    assert services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a).state == "queued"


def test_bulk_triage_to_p4_refuses_each_undated_row_and_says_why(world):
    dated = file_request(world, priority=Priority.P4, needed_by=LATER)
    undated = file_request(world)
    body = {
        "action": "triage",
        "references": [dated.reference, undated.reference],
        "params": {"vendor": "optit", "priority": "P4", "reason": "Planned work"},
    }
    response = api(world.pm).post(f"{LIST_URL}bulk/", body, format="json")
    assert response.status_code == 200, response.content
    rows = {row["reference"]: row for row in response.json()["results"]}
    assert rows[dated.reference]["status"] == "done"
    assert rows[undated.reference]["status"] == "refused"
    assert rows[undated.reference]["message"].startswith(NO_DATE)
    undated.refresh_from_db()
    assert (undated.state, undated.priority) == (RequestState.SUBMITTED, Priority.P2)


def test_the_admin_cannot_change_a_request_at_all(world, admin_client):
    service_request = file_request(world)
    url = reverse("admin:requests_app_servicerequest_change", args=[service_request.pk])
    response = admin_client.post(url, {"priority": "P4", "needed_by": ""})
    assert response.status_code == 403  # requests change only through the services, which hold the rule
    service_request.refresh_from_db()
    assert service_request.priority == Priority.P2


def test_an_undated_p4_reads_no_due_date_needing_attention_never_on_track(world):
    service_request = undated_p4(world)
    assert service_request.resolution_due_at is None
    summary = sla_summary(service_request)
    assert summary["sla"]["resolution"]["status"] == ClockStatus.NO_DUE_DATE
    assert summary["sla"]["response"]["status"] == ClockStatus.ON_TRACK  # 5 working days, dated as ever
    assert worst_status(summary) == ClockStatus.NO_DUE_DATE
    every = ServiceRequest.objects.all()
    assert list(requests_with_sla_status(every, "no_due_date", NOW)) == [service_request]
    assert not requests_with_sla_status(every, "on_track", NOW).filter(pk=service_request.pk).exists()
    picked = walk_to(world, RequestState.IN_PROGRESS)  # a dated request for comparison
    assert requests_with_sla_status(every, "on_track", NOW).filter(pk=picked.pk).exists()
    service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a, priority="P3",
                                              reason="No date given")  # fmt: skip
    assert sla_summary(service_request)["sla"]["resolution"]["status"] == ClockStatus.ON_TRACK


def test_the_desk_row_of_an_undated_p4_in_progress_asks_for_the_date(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS, priority=Priority.P4, needed_by=LATER)
    ServiceRequest.objects.filter(pk=service_request.pk).update(needed_by=None)  # as old data has it
    service_request.refresh_from_db()
    sla_refresh(service_request)
    row = sla_next(service_request)  # the response was met at pick-up; the resolution has nothing to run out
    assert (row.status, row.text, row.due_at) == ("no_due_date", "Resolution: no due date, set a needed-by date", None)
