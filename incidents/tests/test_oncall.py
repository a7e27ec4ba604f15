"""On-call rotas in the portal: the feed, the API's scope, who may keep rotas, and the request page's panel."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import icalendar
import pytest
import time_machine
from rest_framework.test import APIClient

from incidents.models import OnCallMember, OnCallOverride, OnCallRota
from incidents.selectors import on_call_at
from requests_app.choices import RequestState
from requests_app.testing.workflow import walk_to
from requests_app.tests.factories import EnvironmentFactory, VendorEngineerFactory

NOW = datetime(2026, 1, 14, 6, 0, tzinfo=UTC)  # Wednesday 11:30 in Kolkata, in the second weekly shift
API = "/api/v1/oncall/"


def rota_of(vendor, environment, members) -> OnCallRota:
    rota = OnCallRota.objects.create(
        vendor=vendor, environment=environment, starts_on=date(2026, 1, 5), handover_time=time(9, 0),
        timezone="Asia/Kolkata", shift_days=7,
    )  # fmt: skip
    for position, user in enumerate(members, 1):
        OnCallMember.objects.create(rota=rota, user=user, position=position)
    return rota


@pytest.fixture
def rotas(world) -> dict[str, OnCallRota]:
    return {
        "optit": rota_of(world.vendor_a, world.environment, [world.vendor_engineer, world.vendor_lead]),
        "gwl": rota_of(world.vendor_b, world.environment, [world.other_vendor_engineer, world.other_vendor_lead]),
    }


def test_on_call_at_answers_for_a_vendor_and_environment_with_overrides(world, rotas):
    assert on_call_at(world.vendor_a, world.environment, NOW).primary == world.vendor_lead
    OnCallOverride.objects.create(
        rota=rotas["optit"], member=world.vendor_engineer, slot="primary", reason="Lead at a wedding",
        starts_at=datetime(2026, 1, 14, 0, 0, tzinfo=UTC), ends_at=datetime(2026, 1, 15, 0, 0, tzinfo=UTC),
    )  # fmt: skip
    current = on_call_at(world.vendor_a, world.environment, NOW)
    assert (current.primary, current.secondary) == (world.vendor_engineer, world.vendor_lead)
    assert on_call_at(world.vendor_a, EnvironmentFactory(code="kerala"), NOW) is None


@time_machine.travel(NOW, tick=False)
def test_the_calendar_feed_parses_and_lists_the_next_weeks_of_shifts_and_overrides(world, rotas, client):
    rota = rotas["optit"]
    OnCallOverride.objects.create(
        rota=rota, member=world.vendor_engineer, slot="primary", reason="Lead at a wedding",
        starts_at=datetime(2026, 1, 20, 0, 0, tzinfo=UTC), ends_at=datetime(2026, 1, 21, 0, 0, tzinfo=UTC),
    )  # fmt: skip
    response = client.get(f"/oncall/{rota.pk}/calendar.ics?token={rota.calendar_token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    shifts = [e for e in events if "-shift-" in str(e["uid"])]
    # The shift running now (from 12 January) and the eight that start in the next eight weeks.
    assert len(shifts) == 9
    assert shifts[0].decoded("dtstart") == datetime(2026, 1, 12, 3, 30, tzinfo=UTC)
    assert shifts[0].decoded("dtend") == datetime(2026, 1, 19, 3, 30, tzinfo=UTC)
    assert str(shifts[0]["summary"]) == f"On call: {world.vendor_lead} (primary)"
    assert str(shifts[1]["summary"]) == f"On call: {world.vendor_engineer} (primary)"
    [override] = [e for e in events if "-override-" in str(e["uid"])]
    assert override.decoded("dtstart") == datetime(2026, 1, 20, 0, 0, tzinfo=UTC)
    assert "Lead at a wedding" in str(override["description"])


def test_the_calendar_feed_needs_the_rotas_own_token(world, rotas, client):
    optit, gwl = rotas["optit"], rotas["gwl"]
    assert client.get(f"/oncall/{optit.pk}/calendar.ics").status_code == 404
    assert client.get(f"/oncall/{optit.pk}/calendar.ics?token=guess").status_code == 404
    assert client.get(f"/oncall/{optit.pk}/calendar.ics?token={gwl.calendar_token}").status_code == 404


def test_a_new_calendar_address_retires_the_old_one(world, rotas, client):
    rota = rotas["optit"]
    old = rota.calendar_token
    client.force_login(world.vendor_lead)
    assert client.post(f"/oncall/{rota.pk}/calendar-token/").status_code == 302
    rota.refresh_from_db()
    assert rota.calendar_token != old
    assert client.get(f"/oncall/{rota.pk}/calendar.ics?token={old}").status_code == 404
    assert client.get(f"/oncall/{rota.pk}/calendar.ics?token={rota.calendar_token}").status_code == 200


def api_vendors(user, query="") -> list[str]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(API + query)
    assert response.status_code == 200
    body = response.json()
    return sorted(item["vendor"] for item in body.get("results", body))


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("vendor_engineer", ["optit"]),
        ("vendor_lead", ["optit"]),
        ("other_vendor_engineer", ["gwl"]),
        ("pm", ["gwl", "optit"]),
        ("approver", ["gwl", "optit"]),
        ("requester", []),
    ],
)
def test_the_api_shows_a_partner_only_its_own_vendors_rotas(world, rotas, role, expected):
    assert api_vendors(getattr(world, role)) == expected


def test_the_api_never_shows_another_vendors_rota_even_when_asked_for_it(world, rotas):
    assert api_vendors(world.vendor_engineer, "?vendor=gwl") == []
    assert api_vendors(world.pm, "?vendor=gwl&environment=punjab") == ["gwl"]
    assert api_vendors(world.pm, "?environment=nowhere") == []


@time_machine.travel(NOW, tick=False)
def test_the_api_names_primary_secondary_and_the_next_handover(world, rotas, django_assert_max_num_queries):
    client = APIClient()
    client.force_authenticate(world.pm)
    with django_assert_max_num_queries(8):
        body = client.get(API + "?vendor=optit&environment=punjab").json()
    [entry] = body.get("results", body)
    assert entry["primary"] == {"username": "opti-lead", "name": str(world.vendor_lead), "override": False}
    assert entry["secondary"]["username"] == "opti-eng"
    assert entry["next_handover"].startswith("2026-01-19T")
    assert APIClient().get(API).status_code == 401


def test_only_the_pm_and_vendor_leads_open_the_oncall_pages(world, rotas, client):
    for role, status in [("vendor_engineer", 403), ("requester", 403), ("approver", 403), ("pm", 200)]:
        client.force_login(getattr(world, role))
        assert client.get("/oncall/").status_code == status, role
    client.force_login(world.vendor_lead)
    page = client.get("/oncall/").content.decode()
    assert "OptIT · Punjab" in page and "GWL · Punjab" not in page
    assert client.get(f"/oncall/{rotas['gwl'].pk}/").status_code == 404


def test_a_vendor_lead_creates_a_rota_for_their_own_vendor_only(world, client):
    client.force_login(world.vendor_lead)
    form = {
        "vendor": world.vendor_b.pk, "environment": world.environment.pk, "shift_days": 7,
        "starts_on": "2026-01-05", "handover_time": "09:00", "timezone": "Asia/Kolkata",
    }  # fmt: skip
    assert client.post("/oncall/", form).status_code == 302
    rota = OnCallRota.objects.get()
    assert rota.vendor == world.vendor_a
    assert client.post("/oncall/", form).status_code == 400  # one rota per vendor × environment


def test_members_must_be_the_rotas_vendors_people(world, rotas, client):
    rota = rotas["optit"]
    client.force_login(world.vendor_lead)
    settings_ = {"shift_days": 7, "starts_on": "2026-01-05", "handover_time": "09:00", "timezone": "Asia/Kolkata"}
    response = client.post(f"/oncall/{rota.pk}/", {**settings_, "member_1": world.other_vendor_engineer.pk})
    assert response.status_code == 400
    newcomer = VendorEngineerFactory(vendor=world.vendor_a, username="opti-new")
    ordered = {"member_1": newcomer.pk, "member_2": world.vendor_engineer.pk}
    assert client.post(f"/oncall/{rota.pk}/", {**settings_, **ordered}).status_code == 302
    assert [m.user for m in rota.members.all()] == [newcomer, world.vendor_engineer]


def test_an_override_needs_a_reason_and_the_vendors_person(world, rotas, client):
    rota = rotas["optit"]
    client.force_login(world.pm)
    override = {
        "member": world.vendor_engineer.pk, "slot": "primary", "starts_at": "2026-01-14T09:00",
        "ends_at": "2026-01-14T18:00", "reason": "",
    }  # fmt: skip
    assert client.post(f"/oncall/{rota.pk}/overrides/", override).status_code == 400
    foreign = {**override, "member": world.other_vendor_engineer.pk, "reason": "Swap"}
    assert client.post(f"/oncall/{rota.pk}/overrides/", foreign).status_code == 400
    assert client.post(f"/oncall/{rota.pk}/overrides/", {**override, "reason": "Swap"}).status_code == 302
    created = OnCallOverride.objects.get()
    # Typed in the rota's zone: 09:00 in Kolkata.
    assert created.starts_at == datetime(2026, 1, 14, 3, 30, tzinfo=UTC)
    assert created.created_by == world.pm
    client.force_login(world.other_vendor_lead)
    assert client.post(f"/oncall/{rota.pk}/overrides/{created.pk}/delete/").status_code == 404
    client.force_login(world.vendor_lead)
    assert client.post(f"/oncall/{rota.pk}/overrides/{created.pk}/delete/").status_code == 302
    assert not OnCallOverride.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_the_request_page_shows_who_is_on_call_for_its_vendor_and_environment(world, rotas, client):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    client.force_login(world.requester)
    page = client.get(f"/requests/{service_request.reference}/").content.decode()
    assert 'data-testid="oncall-panel"' in page
    assert f'data-testid="oncall-primary">{world.vendor_lead}' in page
    assert f'data-testid="oncall-secondary">{world.vendor_engineer}' in page
    rotas["optit"].delete()
    page = client.get(f"/requests/{service_request.reference}/").content.decode()
    assert 'data-testid="oncall-panel"' not in page
