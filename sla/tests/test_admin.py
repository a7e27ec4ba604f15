"""The admin refuses calendars and policies that would make the SLA wrong, with a message saying why."""

from __future__ import annotations

from datetime import time

import pytest
from django.core.exceptions import ValidationError

from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar, SlaPolicy, WorkingHours

pytestmark = pytest.mark.django_db


def _post_calendar(client, **overrides):
    data = {
        "slug": "kerala",
        "name": "Kerala",
        "timezone": "Asia/Kolkata",
        "country": "IN",
        "subdivision": "KL",
        "holiday_categories": "public,government",
        "working_hours-TOTAL_FORMS": "2",
        "working_hours-INITIAL_FORMS": "0",
        "working_hours-0-weekday": "0",
        "working_hours-0-starts": "09:00",
        "working_hours-0-ends": "13:00",
        "working_hours-1-weekday": "0",
        "working_hours-1-starts": "14:00",
        "working_hours-1-ends": "18:00",
        "days-TOTAL_FORMS": "0",
        "days-INITIAL_FORMS": "0",
        "closures-TOTAL_FORMS": "0",
        "closures-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return client.post("/admin/sla/businesscalendar/add/", data)


def test_a_calendar_with_two_intervals_a_day_is_saved(admin_client):
    response = _post_calendar(admin_client)
    assert response.status_code == 302
    assert WorkingHours.objects.filter(calendar__slug="kerala").count() == 2


def test_overlapping_intervals_are_refused(admin_client):
    response = _post_calendar(admin_client, **{"working_hours-1-starts": "12:00"})
    assert response.status_code == 200
    assert "overlap" in response.content.decode()
    assert not BusinessCalendar.objects.filter(slug="kerala").exists()


def test_an_unknown_state_code_is_refused_with_the_valid_ones(admin_client):
    response = _post_calendar(admin_client, subdivision="XX")
    assert response.status_code == 200
    page = response.content.decode()
    assert "XX" in page and "valid codes" in page and "BR" in page


def test_a_negative_or_zero_goal_is_refused():
    ensure_defaults()
    policy = SlaPolicy(priority="P2", version=9, response_goal=-1, response_unit="hours", response_clock="working")
    with pytest.raises(ValidationError) as caught:
        policy.full_clean()
    assert "response_goal" in caught.value.message_dict


def test_adding_a_policy_in_the_admin_writes_the_next_version(admin_client):
    ensure_defaults()
    response = admin_client.post(
        "/admin/sla/slapolicy/add/",
        {
            "priority": "P2",
            "response_goal": "2",
            "response_unit": "working_days",
            "response_clock": "working",
            "resolution_goal": "4",
            "resolution_unit": "working_days",
            "resolution_clock": "working",
            "at_risk_ratio": "0.8",
            "note": "Vendors asked for more time",
        },
    )
    assert response.status_code == 302
    versions = list(SlaPolicy.objects.filter(priority="P2").order_by("version").values_list("version", "is_current"))
    assert versions == [(1, False), (2, True)]
    assert SlaPolicy.objects.get(priority="P2", version=1).response_goal == 1  # the old version is untouched


def test_calendar_edits_invalidate_the_cached_calendar():
    from sla.policies import calendar_for

    ensure_defaults()
    calendar = BusinessCalendar.objects.get(slug="bihar")
    before = calendar.updated_at
    WorkingHours.objects.create(calendar=calendar, weekday=5, starts=time(10), ends=time(14))
    calendar.refresh_from_db()
    assert calendar.updated_at > before  # the cache key moves, so the Saturday hours count at once

    class Env:
        calendar_id = calendar.pk
        timezone = "Asia/Kolkata"

    Env.calendar = calendar
    working, _ = calendar_for(Env, "working")
    assert working.weekly_hours[5]


@pytest.mark.parametrize(
    ("priority", "resolution_goal", "message"),
    [
        ("P2", "", "P2 needs a resolution goal; only P4 is due at the needed-by date."),
        ("P0", "", "P0 needs a resolution goal; only P4 is due at the needed-by date."),
        ("P4", "10", "P4 is due at the request&#x27;s needed-by date: leave the resolution goal empty."),
    ],
)
def test_the_admin_refuses_a_policy_without_the_goals_its_priority_needs(
    admin_client, priority, resolution_goal, message
):
    ensure_defaults()
    response = admin_client.post(
        "/admin/sla/slapolicy/add/",
        {
            "priority": priority,
            "response_goal": "2",
            "response_unit": "working_days",
            "response_clock": "working",
            "resolution_goal": resolution_goal,
            "resolution_unit": "working_days",
            "resolution_clock": "working",
            "at_risk_ratio": "0.8",
        },
    )
    assert response.status_code == 200  # the form again, with the error on the field; nothing written
    assert message in response.content.decode()
    assert SlaPolicy.objects.filter(priority=priority).count() == 1


def test_revising_a_policy_checks_the_goals_its_priority_needs():
    from sla.services import sla_policy_revise

    ensure_defaults()
    with pytest.raises(ValidationError) as caught:
        sla_policy_revise(priority="P3", actor=None, resolution_goal=None)
    assert caught.value.message_dict == {
        "resolution_goal": ["P3 needs a resolution goal; only P4 is due at the needed-by date."]
    }
    with pytest.raises(ValidationError):
        sla_policy_revise(priority="P4", actor=None, resolution_goal=5)
    assert sla_policy_revise(priority="P4", actor=None, response_goal=3).resolution_goal is None  # still by needed-by
