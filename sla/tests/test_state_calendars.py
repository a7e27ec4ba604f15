"""State calendars close on the state's own days, for any year, and the demo's state environments use them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from demo.world import demo_world_ensure
from requests_app.models import Environment
from requests_app.testing.workflow import file_request
from sla.clock import add_working_time
from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar
from sla.policies import _calendar_cached, calendar_for

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")


def _calendar(slug: str):
    ensure_defaults()
    environment, _ = Environment.objects.get_or_create(
        code=f"env-{slug}", defaults={"name": slug, "calendar": BusinessCalendar.objects.get(slug=slug)}
    )
    calendar, _ = calendar_for(environment, "working")
    return calendar


def _holidays(calendar, year: int) -> dict[date, str]:
    day, found = date(year, 1, 1), {}
    while day.year == year:
        if (name := calendar.holiday_name(day)) is not None:
            found[day] = name
        day += timedelta(days=1)
    return found


def test_andhra_pradesh_closes_on_its_government_offices_days():
    found = _holidays(_calendar("andhra-pradesh"), 2026)

    assert len(found) == 27  # 18 national days with the public category alone
    assert found[date(2026, 1, 13)] == "Bhogi"
    assert found[date(2026, 1, 14)] == "Makar Sankranti"
    assert found[date(2026, 1, 15)] == "Kanuma"
    assert found[date(2026, 3, 19)] == "Ugadi"


def test_bihar_closes_on_chhath_and_punjab_keeps_its_public_days():
    assert _holidays(_calendar("bihar"), 2025)[date(2025, 10, 28)] == "Chhath Puja"
    assert len(_holidays(_calendar("bihar"), 2026)) == 21
    assert len(_holidays(_calendar("punjab"), 2026)) == 29  # Punjab's days are all under `public`
    assert len(_holidays(_calendar("india"), 2026)) == 18


def test_a_working_day_in_andhra_pradesh_skips_ugadi_where_the_national_calendar_does_not():
    start = datetime(2026, 3, 18, 10, 0, tzinfo=IST)  # Wednesday; Ugadi is Thursday the 19th

    assert add_working_time(_calendar("andhra-pradesh"), start, timedelta(hours=8, minutes=30)) == datetime(
        2026, 3, 20, 10, 0, tzinfo=IST
    )
    assert add_working_time(_calendar("india"), start, timedelta(hours=8, minutes=30)) == datetime(
        2026, 3, 19, 10, 0, tzinfo=IST
    )


@pytest.mark.parametrize("year", [2001, 2026, 2035])  # the package's data for India spans 2001–2035
def test_any_year_has_its_holidays_without_rebuilding_the_calendar(year):
    calendar = _calendar("india")  # built and cached once, whatever year it is now

    assert calendar.holiday_name(date(year, 1, 26)) == "Republic Day"
    start = datetime(year, 1, 25, 18, 0, tzinfo=IST)
    # The first working instant after the evening of the 25th is not on Republic Day.
    assert add_working_time(calendar, start, timedelta(minutes=1)).date() != date(year, 1, 26)


def test_an_unknown_holiday_category_is_a_form_error():
    calendar = BusinessCalendar(slug="x", name="X", country="IN", subdivision="AP", holiday_categories="public,festive")

    with pytest.raises(ValidationError) as refused:
        calendar.clean()
    assert "holiday_categories" in refused.value.message_dict


def test_the_demo_runs_each_state_environment_on_its_state_calendar():
    demo_world_ensure()

    calendars = dict(Environment.objects.values_list("code", "calendar__slug"))
    assert calendars == {"internal": None, "punjab": "punjab", "ap": "andhra-pradesh", "bihar": "bihar"}


def test_a_long_running_process_computes_a_due_date_in_2031_with_that_years_holidays(world):
    ensure_defaults()
    world.environment.calendar = BusinessCalendar.objects.get(slug="bihar")
    world.environment.save()
    with time_machine.travel(datetime(2026, 11, 16, 10, 0, tzinfo=IST), tick=False):
        first = file_request(world)  # the process's first use of the calendar, in 2026
    assert first.response_due_at == datetime(2026, 11, 17, 10, 0, tzinfo=IST)
    calendar, _ = calendar_for(world.environment, "working")
    built = _calendar_cached.cache_info().misses

    # Five years on, in the same process with every cache as it was: Chhath Puja, Thursday 20 Nov 2031, is a
    # Bihar holiday (not a national one). A P2 filed Wednesday 17:00 gets 1 h that day and 7 h 30 on Friday.
    with time_machine.travel(datetime(2031, 11, 19, 17, 0, tzinfo=IST), tick=False):
        later = file_request(world)
    assert later.response_due_at == datetime(2031, 11, 21, 17, 0, tzinfo=IST)
    assert _calendar_cached.cache_info().misses == built  # the same calendar object, not rebuilt …
    assert calendar_for(world.environment, "working")[0] is calendar
    assert calendar.holiday_name(date(2031, 11, 20)) == "Chhath Puja"  # … which read 2031 when it got there
