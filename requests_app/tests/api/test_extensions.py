"""Due-date extensions (the program manager's, with a reason) and escalation reasons, over the API and the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from requests_app.choices import EventKind, RequestState
from requests_app.models import RequestEvent
from requests_app.testing.workflow import walk_to
from sla.choices import Clock, LedgerKind, Measure
from sla.models import ClockLedgerEntry, RequestClock

from .helpers import error_of, transition_url

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 16, 6, 30, tzinfo=UTC)  # Monday 16 Nov, 12:00 IST


def extensions_url(reference: str) -> str:
    return f"/api/v1/requests/{reference}/extensions/"


def _resolution_due(service_request):
    return RequestClock.objects.get(service_request=service_request, clock=Clock.SLA, measure=Measure.RESOLUTION).due_at


@time_machine.travel(NOW, tick=False)
def test_the_pm_extends_a_due_time_over_the_api_and_the_answer_shows_it(world, api):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    before = _resolution_due(service_request)

    response = api(world.pm).post(
        extensions_url(service_request.reference),
        {"measure": "resolution", "by": "P2D", "reason": "Waiting on vendor hardware"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert _resolution_due(service_request) == before + timedelta(days=2)
    due = response.json()["sla"]["resolution"]["due_at"]
    assert datetime.fromisoformat(due) == before + timedelta(days=2)
    event = RequestEvent.objects.get(service_request=service_request, kind=EventKind.SLA_EXTENDED)
    assert (event.actor, event.message) == (world.pm, "Waiting on vendor hardware")

    until = before + timedelta(days=3, hours=1)
    response = api(world.pm).post(
        extensions_url(service_request.reference),
        {"measure": "resolution", "until": until.isoformat(), "reason": "Hardware ships a day later"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert _resolution_due(service_request) == until


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"measure": "resolution", "by": "0", "reason": "x"}, "by"),
        ({"measure": "resolution", "by": "-P1D", "reason": "x"}, "by"),
        ({"measure": "resolution", "until": "2026-11-15T10:00:00+05:30", "reason": "x"}, "until"),
        ({"measure": "resolution", "reason": "x"}, "by"),
        ({"measure": "response", "by": "P1D", "reason": "x"}, "measure"),  # picked up: the response clock is met
        ({"measure": "soon", "by": "P1D", "reason": "x"}, "measure"),
        ({"measure": "resolution", "by": "P1D"}, "reason"),
        ({"measure": "resolution", "by": "tomorrow", "reason": "x"}, "by"),
    ],
)
def test_bad_input_is_a_400_with_the_field_and_writes_nothing(world, api, body, field):
    service_request = walk_to(world, RequestState.IN_PROGRESS)

    response = api(world.pm).post(extensions_url(service_request.reference), body, format="json")

    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]
    assert not ClockLedgerEntry.objects.filter(kind=LedgerKind.EXTEND).exists()


@time_machine.travel(NOW, tick=False)
def test_only_the_pm_may_extend_others_get_403_or_404(world, api):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    body = {"measure": "resolution", "by": "P1D", "reason": "x"}
    answers = {
        name: api(getattr(world, name)).post(extensions_url(service_request.reference), body, format="json").status_code
        for name in ("requester", "vendor_engineer", "vendor_lead", "approver", "other_requester")
    }
    assert answers == {
        "requester": 403,
        "vendor_engineer": 403,
        "vendor_lead": 403,
        "approver": 403,
        "other_requester": 404,
    }
    # A refusal comes before input errors: an outsider's bad body is still a 403.
    assert api(world.vendor_lead).post(extensions_url(service_request.reference), {}, format="json").status_code == 403
    assert not ClockLedgerEntry.objects.filter(kind=LedgerKind.EXTEND).exists()


@time_machine.travel(NOW, tick=False)
def test_an_escalation_takes_what_the_work_waits_on_over_the_api(world, api):
    service_request = walk_to(world, RequestState.IN_PROGRESS)

    refused = api(world.vendor_engineer).post(
        transition_url(service_request.reference, "escalate"),
        {"reason": "Frozen", "pause_reason": "lunch"},
        format="json",
    )
    assert refused.status_code == 400
    assert "pause_reason" in error_of(refused)["fields"]

    response = api(world.vendor_engineer).post(
        transition_url(service_request.reference, "escalate"),
        {"reason": "Release freeze until Friday", "pause_reason": "change_freeze"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert RequestEvent.objects.get(service_request=service_request, kind="escalate").payload == {
        "pause_reason": "change_freeze"
    }


@time_machine.travel(NOW, tick=False)
def test_the_pm_extends_on_the_request_page_and_the_page_says_so(world, client):
    world.pm.first_name, world.pm.last_name = "Tammy", ""
    world.pm.save()
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    before = _resolution_due(service_request)
    page = reverse("request-detail", args=[service_request.reference])
    url = reverse("request-extend", args=[service_request.reference])

    client.force_login(world.requester)
    assert 'data-testid="extend-form"' not in client.get(page).content.decode()
    assert client.post(url, {"measure": "resolution", "days": "2", "reason": "x"}).status_code == 403

    client.force_login(world.pm)
    assert 'data-testid="extend-form"' in client.get(page).content.decode()
    bad = client.post(url, {"measure": "resolution", "days": "0", "reason": "x"})
    assert bad.status_code == 400
    assert "An extension must be longer than zero." in bad.content.decode()

    done = client.post(url, {"measure": "resolution", "days": "2", "reason": "waiting on vendor hardware"})
    assert done.status_code == 302
    assert _resolution_due(service_request) == before + timedelta(days=2)
    text = client.get(page).content.decode()
    assert "Resolution due extended by 2 days by Tammy: waiting on vendor hardware" in text


@time_machine.travel(NOW, tick=False)
def test_the_escalate_form_on_the_page_asks_what_the_work_waits_on(world, client):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    client.force_login(world.vendor_engineer)
    page = client.get(reverse("request-detail", args=[service_request.reference])).content.decode()
    assert "The work waits on" in page and ">Waiting on a third party</option>" in page

    url = reverse("request-transition", args=[service_request.reference, "escalate"])
    done = client.post(url, {"escalate-reason": "DNS delegation", "escalate-pause_reason": "waiting_on_third_party"})
    assert done.status_code == 302
    event = RequestEvent.objects.get(service_request=service_request, kind="escalate")
    assert (event.message, event.payload) == ("DNS delegation", {"pause_reason": "waiting_on_third_party"})
