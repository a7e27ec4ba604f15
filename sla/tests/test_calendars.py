"""WorkingCalendar: validation, normalisation, constructors, DST localisation, and the plain-words helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendars import (
    OFFICE_HOURS,
    CalendarError,
    Closure,
    WorkingCalendar,
    format_intervals,
    parse_intervals,
    wall_to_utc,
)
from sla.clock import DayOff
from sla.explain import describe_days_off, format_duration

IST = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFF: tuple = ()


def week(*days):
    return tuple(days) + (OFF,) * (7 - len(days))


def test_default_calendar_is_monday_to_friday_0930_to_1800_in_kolkata():
    calendar = WorkingCalendar.default()
    assert calendar.timezone == "Asia/Kolkata"
    assert calendar.weekly_hours == (OFFICE_HOURS,) * 5 + (OFF, OFF)
    assert calendar.weekly_hours[0] == ((time(9, 30), time(18, 0)),)
    assert not calendar.is_always_open


def test_always_open_calendar_is_detected_for_closed_form_math():
    assert WorkingCalendar.always_open("Europe/Berlin").is_always_open
    with_holiday = WorkingCalendar(
        timezone="Europe/Berlin", weekly_hours=(((time(0), time(0)),),) * 7, holidays={date(2026, 1, 1): "New Year"}
    )
    assert not with_holiday.is_always_open


def test_interval_ending_at_midnight_means_end_of_day():
    calendar = WorkingCalendar(timezone="UTC", weekly_hours=week(((time(22), time(0)),)))
    ((opens, closes),) = calendar.day_intervals_utc(date(2026, 1, 5))  # a Monday
    assert (opens, closes) == (datetime(2026, 1, 5, 22, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC))


def test_intervals_are_sorted_and_touching_ones_merge():
    calendar = WorkingCalendar(timezone="UTC", weekly_hours=week(((time(13), time(18)), (time(9), time(13)))))
    assert calendar.weekly_hours[0] == ((time(9), time(13)), (time(13), time(18)))
    assert calendar.day_intervals_utc(date(2026, 1, 5)) == (
        (datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 5, 18, tzinfo=UTC)),
    )


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (((time(18), time(9)),), "Monday: working interval 18:00–09:00 must end after it starts."),
        (((time(9), time(9)),), "Monday: working interval 09:00–09:00 must end after it starts."),
        (((time(9), time(13)), (time(12), time(18))), "Monday: working intervals 09:00–13:00 and 12:00–18:00 overlap."),
        (((time(20), time(0)), (time(21), time(22))), "Monday: working intervals 20:00–24:00 and 21:00–22:00 overlap."),
        (((time(9, tzinfo=UTC), time(18)),), "Monday: working hours are wall-clock times"),
        ((("09:00", "18:00"),), "Monday: each working interval must be a (start, end) pair of times"),
    ],
)
def test_invalid_weekly_hours_raise_readable_errors(hours, message):
    with pytest.raises(CalendarError) as excinfo:
        WorkingCalendar(timezone="UTC", weekly_hours=week(hours))
    assert message in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


def test_unknown_time_zone_is_rejected():
    with pytest.raises(CalendarError, match="Unknown time zone 'Asia/Kolkatta'"):
        WorkingCalendar(timezone="Asia/Kolkatta")


def test_weekly_hours_need_seven_days():
    with pytest.raises(CalendarError, match="7 entries"):
        WorkingCalendar(timezone="UTC", weekly_hours=(OFFICE_HOURS,) * 5)


def test_calendar_without_any_working_time_is_rejected():
    with pytest.raises(CalendarError, match="no working hours on any day"):
        WorkingCalendar(timezone="UTC", weekly_hours=week(), name="Nowhere")


def test_closure_must_be_aware_and_end_after_start():
    with pytest.raises(CalendarError, match="timezone-aware"):
        Closure(datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 10, tzinfo=UTC), "naive")
    with pytest.raises(CalendarError, match="'Bandh' must end after it starts"):
        Closure(datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 1, 9, tzinfo=UTC), "Bandh")


def test_closure_end_is_compared_in_real_time_across_fall_back():
    # 02:30 CEST (fold 0) is one hour before 02:30 CET (fold 1), though both read 02:30 on the wall.
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    Closure(first, first.replace(fold=1), "repeated hour")  # must not raise
    with pytest.raises(CalendarError):
        Closure(first.replace(fold=1), first, "backwards")


def test_extra_working_day_needs_hours_and_no_duplicates():
    with pytest.raises(CalendarError, match="needs working hours"):
        WorkingCalendar(extra_working_days=((date(2026, 1, 3), ()),))
    with pytest.raises(CalendarError, match="given twice"):
        WorkingCalendar(extra_working_days=((date(2026, 1, 3), OFFICE_HOURS), (date(2026, 1, 3), OFFICE_HOURS)))


def test_holidays_accept_mapping_or_dates_and_keep_names():
    calendar = WorkingCalendar(holidays={date(2026, 10, 2): "Mahatma Gandhi's Birthday"})
    assert calendar.holiday_name(date(2026, 10, 2)) == "Mahatma Gandhi's Birthday"
    assert calendar.holiday_name(date(2026, 10, 5)) is None
    unnamed = WorkingCalendar(holidays=(date(2026, 10, 2),))
    assert unnamed.holidays == ((date(2026, 10, 2), "holiday"),)


def test_extra_working_day_wins_over_holiday_and_weekend():
    saturday, holiday = date(2026, 1, 24), date(2026, 1, 26)
    calendar = WorkingCalendar.build(
        weekly_hours={i: "09:30-18:00" for i in range(5)},
        holidays={holiday: "Republic Day"},
        extra_working_days={saturday: "10:00-14:00", holiday: "09:30-13:00"},
    )
    assert calendar.day_intervals_utc(saturday) == (
        (datetime(2026, 1, 24, 4, 30, tzinfo=UTC), datetime(2026, 1, 24, 8, 30, tzinfo=UTC)),
    )
    assert calendar.day_intervals_utc(holiday) == (
        (datetime(2026, 1, 26, 4, tzinfo=UTC), datetime(2026, 1, 26, 7, 30, tzinfo=UTC)),
    )
    assert calendar.extra_hours(saturday) == ((time(10), time(14)),)


def test_calendars_are_hashable_and_compare_by_value():
    a = WorkingCalendar.build(weekly_hours=["09:30-18:00"] * 5 + ["", ""], holidays={date(2026, 1, 26): "R"})
    b = WorkingCalendar.default(holidays={date(2026, 1, 26): "R"})
    assert a == b
    assert hash(a) == hash(b)


def test_parse_and_format_intervals_round_trip():
    assert parse_intervals("09:30-13:00, 14:00–18:00") == ((time(9, 30), time(13)), (time(14), time(18)))
    assert parse_intervals("00:00-24:00") == ((time(0), time(0)),)
    assert parse_intervals("closed") == ()
    assert format_intervals(parse_intervals("09:30-13:00,14:00-24:00")) == "09:30–13:00, 14:00–24:00"
    assert format_intervals(()) == "closed"
    with pytest.raises(CalendarError, match="write them like 09:30-18:00"):
        parse_intervals("nine to five")
    with pytest.raises(CalendarError, match="not valid times"):
        parse_intervals("09:30-25:00")


def test_wall_time_in_spring_forward_gap_means_the_jump_instant():
    # Berlin jumps from 02:00 CET to 03:00 CEST at 01:00 UTC on 29 March 2026.
    assert wall_to_utc(datetime(2026, 3, 29, 2, 30), BERLIN) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert wall_to_utc(datetime(2026, 3, 29, 2, 0), BERLIN) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert wall_to_utc(datetime(2026, 3, 29, 3, 0), BERLIN) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    # New York jumps from 02:00 EST to 03:00 EDT at 07:00 UTC on 8 March 2026.
    assert wall_to_utc(datetime(2026, 3, 8, 2, 59, 59), NEW_YORK) == datetime(2026, 3, 8, 7, tzinfo=UTC)


def test_repeated_wall_time_means_its_first_occurrence():
    # Berlin falls back from 03:00 CEST to 02:00 CET at 01:00 UTC on 25 October 2026.
    assert wall_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # New York falls back from 02:00 EDT to 01:00 EST at 06:00 UTC on 1 November 2026.
    assert wall_to_utc(datetime(2026, 11, 1, 1, 30), NEW_YORK) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_interval_inside_the_skipped_hour_has_no_working_time():
    calendar = WorkingCalendar(timezone="America/New_York", weekly_hours=week(*(OFF,) * 6, ((time(2), time(2, 30)),)))
    assert calendar.day_intervals_utc(date(2026, 3, 8)) == ()
    assert calendar.day_intervals_utc(date(2026, 3, 15)) == (
        (datetime(2026, 3, 15, 6, tzinfo=UTC), datetime(2026, 3, 15, 6, 30, tzinfo=UTC)),
    )


def test_closures_cut_a_day_and_holidays_remove_it():
    closure = Closure(datetime(2026, 1, 27, 14, tzinfo=IST), datetime(2026, 1, 28, 11, tzinfo=IST), "Office move")
    calendar = WorkingCalendar(timezone="Asia/Kolkata", closures=(closure,))
    assert calendar.day_intervals_utc(date(2026, 1, 27)) == (
        (datetime(2026, 1, 27, 4, tzinfo=UTC), datetime(2026, 1, 27, 8, 30, tzinfo=UTC)),
    )
    assert calendar.day_intervals_utc(date(2026, 1, 28)) == (
        (datetime(2026, 1, 28, 5, 30, tzinfo=UTC), datetime(2026, 1, 28, 12, 30, tzinfo=UTC)),
    )


def test_format_duration_reads_in_hours_and_minutes():
    assert format_duration(timedelta(hours=3, minutes=10)) == "3 h 10 min"
    assert format_duration(timedelta(hours=25, minutes=30, seconds=12)) == "25 h 30 min"
    assert format_duration(timedelta(seconds=45)) == "45 s"
    assert format_duration(timedelta(0)) == "0 min"
    assert format_duration(-timedelta(minutes=5)) == "-5 min"


def test_describe_days_off_groups_consecutive_days():
    days = [
        DayOff(date(2026, 1, 24), "weekend", "weekend"),
        DayOff(date(2026, 1, 25), "weekend", "weekend"),
        DayOff(date(2026, 1, 26), "holiday", "Republic Day"),
        DayOff(date(2026, 1, 31), "weekend", "weekend"),
        DayOff(date(2026, 2, 1), "weekend", "weekend"),
        DayOff(date(2026, 2, 3), "closure", "Office move"),
    ]
    assert describe_days_off(days, region="Bihar") == (
        "weekend 24–25 Jan; Bihar holiday Republic Day on 26 Jan; weekend 31 Jan–1 Feb; closure (Office move) on 3 Feb"
    )
