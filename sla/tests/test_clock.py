"""Worked examples of the working-time arithmetic: office hours, 24×7, DST switches, closures, guards."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendars import OFFICE_HOURS, CalendarError, Closure, NoWorkingTimeError, WorkingCalendar
from sla.clock import (
    DayOff,
    add_working_time,
    days_off_between,
    is_working_time,
    next_opening,
    working_intervals,
    working_time_between,
)

IST = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)
OFF: tuple = ()
OFFICE = WorkingCalendar.default()


def assert_instant(actual: datetime, expected: datetime, zone: ZoneInfo) -> None:
    """Same real instant, reported in `zone` with the right UTC offset (== alone ignores DST within one zone)."""
    assert actual.astimezone(UTC) == expected.astimezone(UTC), (actual, expected)
    assert actual.tzinfo == zone
    assert actual.utcoffset() == expected.astimezone(zone).utcoffset(), (actual, expected)


def round_the_clock(tz: str, *, walked: bool) -> WorkingCalendar:
    """24×7 in `tz`; `walked` adds a far-off holiday so the day-by-day path runs instead of the closed form."""
    holidays = {date(2099, 1, 1): "far away"} if walked else {}
    return WorkingCalendar(timezone=tz, weekly_hours=(((time(0), time(0)),),) * 7, holidays=holidays)


# --- office hours (Mon–Fri 09:30–18:00 Asia/Kolkata, 8 h 30 min a day) ---


def test_one_working_day_from_friday_evening_ends_monday_same_time():
    friday = datetime(2026, 1, 9, 17, tzinfo=IST)
    assert_instant(
        add_working_time(OFFICE, friday, timedelta(hours=8, minutes=30)), datetime(2026, 1, 12, 17, tzinfo=IST), IST
    )


def test_addition_is_exact_to_the_microsecond():
    start = datetime(2026, 1, 9, 17, 12, 34, 567890, tzinfo=IST)
    result = add_working_time(OFFICE, start, timedelta(hours=8, minutes=30, seconds=1))
    assert_instant(result, datetime(2026, 1, 12, 17, 12, 35, 567890, tzinfo=IST), IST)


def test_start_given_in_utc_or_another_zone_gives_the_same_result_in_calendar_zone():
    expected = datetime(2026, 1, 12, 17, tzinfo=IST)
    for start in (
        datetime(2026, 1, 9, 11, 30, tzinfo=UTC),
        datetime(2026, 1, 9, 6, 30, tzinfo=NEW_YORK),
        datetime(2026, 1, 9, 12, 30, tzinfo=BERLIN),
    ):
        assert_instant(add_working_time(OFFICE, start, timedelta(hours=8, minutes=30)), expected, IST)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2026, 1, 12, 7, 0), datetime(2026, 1, 12, 10, 30)),  # before opening: from 09:30
        (datetime(2026, 1, 12, 19, 0), datetime(2026, 1, 13, 10, 30)),  # after close: next morning
        (datetime(2026, 1, 10, 12, 0), datetime(2026, 1, 12, 10, 30)),  # Saturday: Monday
        (datetime(2026, 1, 9, 18, 0), datetime(2026, 1, 12, 10, 30)),  # exactly at close: Monday
        (datetime(2026, 1, 12, 9, 30), datetime(2026, 1, 12, 10, 30)),  # exactly at opening
    ],
)
def test_a_start_outside_working_hours_begins_at_the_next_opening(start, expected):
    assert_instant(add_working_time(OFFICE, start.replace(tzinfo=IST), H), expected.replace(tzinfo=IST), IST)


def test_positive_duration_can_end_exactly_at_close_not_the_next_morning():
    result = add_working_time(OFFICE, datetime(2026, 1, 9, 17, tzinfo=IST), H)
    assert_instant(result, datetime(2026, 1, 9, 18, tzinfo=IST), IST)


def test_zero_duration_returns_start_even_outside_hours():
    saturday = datetime(2026, 1, 10, 6, tzinfo=UTC)
    result = add_working_time(OFFICE, saturday, timedelta(0))
    assert_instant(result, saturday, IST)


def test_negative_duration_and_naive_instants_are_rejected():
    with pytest.raises(CalendarError, match="negative"):
        add_working_time(OFFICE, datetime(2026, 1, 9, tzinfo=IST), -H)
    with pytest.raises(CalendarError, match="timezone-aware"):
        add_working_time(OFFICE, datetime(2026, 1, 9), H)
    with pytest.raises(CalendarError, match="timezone-aware"):
        working_time_between(OFFICE, datetime(2026, 1, 9, tzinfo=IST), datetime(2026, 1, 10))


def test_working_time_between_counts_only_working_hours():
    friday, monday = datetime(2026, 1, 9, 17, tzinfo=IST), datetime(2026, 1, 12, 17, tzinfo=IST)
    assert working_time_between(OFFICE, friday, monday) == timedelta(hours=8, minutes=30)
    assert working_time_between(OFFICE, monday, friday) == timedelta(0)
    assert working_time_between(
        OFFICE, datetime(2026, 1, 10, tzinfo=IST), datetime(2026, 1, 12, tzinfo=IST)
    ) == timedelta(0)
    two_weeks = working_time_between(OFFICE, datetime(2026, 1, 5, tzinfo=IST), datetime(2026, 1, 19, tzinfo=IST))
    assert two_weeks == 10 * timedelta(hours=8, minutes=30)


def test_next_opening_and_is_working_time():
    assert_instant(
        next_opening(OFFICE, datetime(2026, 1, 10, 12, tzinfo=IST)), datetime(2026, 1, 12, 9, 30, tzinfo=IST), IST
    )
    inside = datetime(2026, 1, 12, 4, 30, tzinfo=UTC)  # 10:00 IST
    assert_instant(next_opening(OFFICE, inside), inside, IST)
    assert is_working_time(OFFICE, datetime(2026, 1, 12, 9, 30, tzinfo=IST))
    assert not is_working_time(OFFICE, datetime(2026, 1, 12, 18, tzinfo=IST))
    assert not is_working_time(OFFICE, datetime(2026, 1, 10, 12, tzinfo=IST))


def test_working_intervals_lists_each_working_stretch():
    spans = list(working_intervals(OFFICE, datetime(2026, 1, 9, 17, tzinfo=IST), datetime(2026, 1, 12, 12, tzinfo=IST)))
    assert [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in spans] == [
        (datetime(2026, 1, 9, 11, 30, tzinfo=UTC), datetime(2026, 1, 9, 12, 30, tzinfo=UTC)),
        (datetime(2026, 1, 12, 4, tzinfo=UTC), datetime(2026, 1, 12, 6, 30, tzinfo=UTC)),
    ]
    assert all(a.tzinfo == IST and b.tzinfo == IST for a, b in spans)


def test_several_intervals_a_day_skip_the_lunch_break():
    calendar = WorkingCalendar.build(timezone="Asia/Kolkata", weekly_hours=["09:30-13:00, 14:00-18:00"] * 5)
    start = datetime(2026, 1, 12, 12, tzinfo=IST)
    assert_instant(add_working_time(calendar, start, 2 * H), datetime(2026, 1, 12, 15, tzinfo=IST), IST)
    assert working_time_between(calendar, start, datetime(2026, 1, 12, 15, tzinfo=IST)) == 2 * H


# --- 24×7: no gap at midnight, real hours across DST ---


@pytest.mark.parametrize("walked", [False, True])
def test_round_the_clock_flows_across_midnight(walked):
    calendar = round_the_clock("Asia/Kolkata", walked=walked)
    start = datetime(2026, 1, 12, 23, 59, 30, tzinfo=IST)
    assert_instant(
        add_working_time(calendar, start, timedelta(minutes=1)), datetime(2026, 1, 13, 0, 0, 30, tzinfo=IST), IST
    )
    spans = list(working_intervals(calendar, start, start + timedelta(days=3)))
    assert len(spans) == 1
    assert spans[0][1] - spans[0][0] == timedelta(days=3)


@pytest.mark.parametrize("walked", [False, True])
def test_round_the_clock_in_berlin_adds_real_hours_across_spring_forward(walked):
    calendar = round_the_clock("Europe/Berlin", walked=walked)
    midnight = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)  # the night of 29 March has 23 hours
    assert_instant(add_working_time(calendar, midnight, 24 * H), datetime(2026, 3, 30, 1, 0, tzinfo=BERLIN), BERLIN)
    noon_before = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    assert_instant(add_working_time(calendar, noon_before, 24 * H), datetime(2026, 3, 29, 13, 0, tzinfo=BERLIN), BERLIN)
    assert working_time_between(calendar, midnight, datetime(2026, 3, 30, tzinfo=BERLIN)) == 23 * H


@pytest.mark.parametrize("walked", [False, True])
def test_round_the_clock_in_berlin_adds_real_hours_across_fall_back(walked):
    calendar = round_the_clock("Europe/Berlin", walked=walked)
    midnight = datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN)  # 25 hours long
    assert_instant(add_working_time(calendar, midnight, 24 * H), datetime(2026, 10, 25, 23, 0, tzinfo=BERLIN), BERLIN)
    assert working_time_between(calendar, midnight, datetime(2026, 10, 26, tzinfo=BERLIN)) == 25 * H
    # The repeated hour: 02:30 CET (fold=1) comes an hour after 02:30 CEST.
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    assert working_time_between(calendar, first, first.replace(fold=1)) == H
    assert_instant(add_working_time(calendar, first, H), first.replace(fold=1), BERLIN)


@pytest.mark.parametrize("walked", [False, True])
def test_round_the_clock_in_new_york_across_both_switches(walked):
    calendar = round_the_clock("America/New_York", walked=walked)
    spring = datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)
    assert_instant(add_working_time(calendar, spring, 24 * H), datetime(2026, 3, 9, 1, 0, tzinfo=NEW_YORK), NEW_YORK)
    autumn = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    assert_instant(add_working_time(calendar, autumn, 24 * H), datetime(2026, 11, 1, 23, 0, tzinfo=NEW_YORK), NEW_YORK)


# --- business calendars in DST zones ---


def test_berlin_office_hours_across_the_weekend_of_spring_forward():
    calendar = WorkingCalendar.build(timezone="Europe/Berlin", weekly_hours=["09:00-17:00"] * 5)
    friday = datetime(2026, 3, 27, 16, tzinfo=BERLIN)  # CET, UTC+1
    result = add_working_time(calendar, friday, 2 * H)
    assert_instant(result, datetime(2026, 3, 30, 10, tzinfo=BERLIN), BERLIN)  # CEST, UTC+2
    assert result.utcoffset() == 2 * H
    assert working_time_between(calendar, friday, result) == 2 * H
    october = add_working_time(calendar, datetime(2026, 10, 23, 16, tzinfo=BERLIN), 2 * H)
    assert_instant(october, datetime(2026, 10, 26, 10, tzinfo=BERLIN), BERLIN)
    assert october.utcoffset() == H


def test_berlin_night_shift_counts_real_time_when_it_spans_the_switch():
    # Saturday 22:00–24:00 and Sunday 00:00–06:00: 8 wall hours, 7 real in March and 9 real in October.
    calendar = WorkingCalendar.build(timezone="Europe/Berlin", weekly_hours={5: "22:00-24:00", 6: "00:00-06:00"})
    for saturday, real in ((date(2026, 3, 28), 7 * H), (date(2026, 10, 24), 9 * H), (date(2026, 4, 4), 8 * H)):
        start = datetime.combine(saturday, time(20), tzinfo=BERLIN)
        assert working_time_between(calendar, start, start + timedelta(hours=12)) == real
        end = add_working_time(calendar, start, real)
        assert_instant(end, datetime.combine(saturday + timedelta(days=1), time(6), tzinfo=BERLIN), BERLIN)


def test_new_york_interval_crossing_the_gap_and_the_overlap_counts_real_time():
    # Sunday 01:00–03:00 wall: 1 real hour on 8 March (02:00–03:00 skipped), 3 on 1 November (01:00–02:00 twice).
    calendar = WorkingCalendar.build(timezone="America/New_York", weekly_hours={6: "01:00-03:00"})
    march = datetime(2026, 3, 8, tzinfo=NEW_YORK)
    assert working_time_between(calendar, march, march + timedelta(hours=6)) == H
    assert_instant(add_working_time(calendar, march, H), datetime(2026, 3, 8, 3, tzinfo=NEW_YORK), NEW_YORK)
    november = datetime(2026, 11, 1, tzinfo=NEW_YORK)
    assert working_time_between(calendar, november, november + timedelta(hours=6)) == 3 * H
    result = add_working_time(calendar, november, timedelta(hours=2, minutes=30))
    assert result.astimezone(UTC) == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # 02:30 EST
    assert result.utcoffset() == -5 * H


def test_hours_lying_wholly_in_the_skipped_hour_are_simply_absent_that_day():
    # Found by the DST oracle property: Sunday 02:00–02:01 does not exist in Berlin on 29 March.
    calendar = WorkingCalendar.build(timezone="Europe/Berlin", weekly_hours={6: "02:00-02:01"})
    saturday = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    assert working_time_between(calendar, saturday, saturday + timedelta(days=2)) == timedelta(0)
    result = add_working_time(calendar, saturday, timedelta(seconds=30))
    assert_instant(result, datetime(2026, 4, 5, 2, 0, 30, tzinfo=BERLIN), BERLIN)


# --- closures, extra days, days off ---


def test_closure_from_the_afternoon_stops_the_clock_and_results_land_at_its_edge():
    closure = Closure(datetime(2026, 1, 13, 14, tzinfo=IST), datetime(2026, 1, 13, 18, tzinfo=IST), "Office closure")
    calendar = WorkingCalendar(timezone="Asia/Kolkata", closures=(closure,))
    tuesday = datetime(2026, 1, 13, 13, tzinfo=IST)
    assert_instant(add_working_time(calendar, tuesday, H), datetime(2026, 1, 13, 14, tzinfo=IST), IST)
    assert_instant(add_working_time(calendar, tuesday, 2 * H), datetime(2026, 1, 14, 10, 30, tzinfo=IST), IST)
    assert not is_working_time(calendar, datetime(2026, 1, 13, 15, tzinfo=IST))
    assert days_off_between(calendar, tuesday, datetime(2026, 1, 14, 12, tzinfo=IST)) == [
        DayOff(date(2026, 1, 13), "closure", "Office closure")
    ]


def test_overlapping_and_nested_closures_count_once():
    def closure(day_from: int, hour_from: int, day_to: int, hour_to: int) -> Closure:
        return Closure(
            datetime(2026, 1, day_from, hour_from, tzinfo=IST), datetime(2026, 1, day_to, hour_to, tzinfo=IST)
        )

    calendar = WorkingCalendar(closures=(closure(12, 10, 12, 16), closure(12, 11, 12, 12), closure(12, 15, 12, 17)))
    monday = datetime(2026, 1, 12, tzinfo=IST)
    # Open 09:30–10:00 and 17:00–18:00 only.
    assert working_time_between(calendar, monday, monday + timedelta(days=1)) == timedelta(hours=1, minutes=30)
    assert_instant(add_working_time(calendar, monday, H), datetime(2026, 1, 12, 17, 30, tzinfo=IST), IST)


def test_saturday_made_a_working_day_counts():
    calendar = WorkingCalendar.build(
        weekly_hours=["09:30-18:00"] * 5, extra_working_days={date(2026, 1, 10): "10:00-14:00"}
    )
    friday = datetime(2026, 1, 9, 17, tzinfo=IST)
    assert_instant(add_working_time(calendar, friday, 3 * H), datetime(2026, 1, 10, 12, tzinfo=IST), IST)
    assert [d.day for d in days_off_between(calendar, friday, datetime(2026, 1, 12, 12, tzinfo=IST))] == [
        date(2026, 1, 11)
    ]


def test_extra_working_day_on_a_holiday_is_counted():
    holiday = date(2026, 1, 26)
    calendar = WorkingCalendar.build(
        weekly_hours=["09:30-18:00"] * 5,
        holidays={holiday: "Republic Day"},
        extra_working_days={holiday: "10:00-12:00"},
    )
    friday = datetime(2026, 1, 23, 17, tzinfo=IST)
    assert_instant(add_working_time(calendar, friday, 2 * H), datetime(2026, 1, 26, 11, tzinfo=IST), IST)
    assert working_time_between(calendar, friday, datetime(2026, 1, 27, tzinfo=IST)) == 3 * H
    assert is_working_time(calendar, datetime(2026, 1, 26, 10, tzinfo=IST))


def test_days_off_name_weekends_and_holidays_that_cost_working_time():
    calendar = WorkingCalendar.default(holidays={date(2026, 1, 26): "Republic Day", date(2026, 1, 25): "Sunday fest"})
    days = days_off_between(calendar, datetime(2026, 1, 23, 17, tzinfo=IST), datetime(2026, 1, 27, 17, tzinfo=IST))
    assert days == [
        DayOff(date(2026, 1, 24), "weekend", "weekend"),
        DayOff(date(2026, 1, 25), "weekend", "weekend"),
        DayOff(date(2026, 1, 26), "holiday", "Republic Day"),
    ]
    assert days_off_between(calendar, datetime(2026, 1, 27, tzinfo=IST), datetime(2026, 1, 26, tzinfo=IST)) == []


class CountingCalendar(WorkingCalendar):
    """Counts how many local dates the clock looks at, to prove it walks days, not minutes."""

    def day_intervals_utc(self, day: date):
        object.__setattr__(self, "looked_at", [*getattr(self, "looked_at", []), day])
        return super().day_intervals_utc(day)


def test_ten_working_days_across_a_holiday_season_walk_days_not_minutes():
    season = {date(2026, 12, 24) + timedelta(days=i): "season" for i in range(12)}
    calendar = CountingCalendar(timezone="Asia/Kolkata", weekly_hours=(OFFICE_HOURS,) * 5 + (OFF, OFF), holidays=season)
    start = datetime(2026, 12, 23, 18, tzinfo=IST)
    result = add_working_time(calendar, start, 10 * timedelta(hours=8, minutes=30))
    assert_instant(result, datetime(2027, 1, 18, 18, tzinfo=IST), IST)  # 5–8, 11–15 and 18 Jan
    # Weekends and holidays are skipped without any time-zone work; only the 11 candidate days are computed.
    assert len(calendar.looked_at) == 11


def test_long_closure_is_jumped_over_not_walked():
    closure = Closure(datetime(2026, 2, 1, tzinfo=IST), datetime(2027, 2, 1, tzinfo=IST), "year-long closure")
    calendar = CountingCalendar(
        timezone="Asia/Kolkata", weekly_hours=(OFFICE_HOURS,) * 5 + (OFF, OFF), closures=(closure,)
    )
    result = add_working_time(calendar, datetime(2026, 1, 30, 17, tzinfo=IST), 2 * H)
    assert_instant(result, datetime(2027, 2, 1, 10, 30, tzinfo=IST), IST)
    assert len(calendar.looked_at) <= 3


def test_calendar_that_runs_out_of_working_time_raises_instead_of_looping():
    calendar = WorkingCalendar.build(
        weekly_hours=[""] * 7, extra_working_days={date(2026, 1, 10): "10:00-14:00"}, name="One-off"
    )
    start = datetime(2026, 1, 10, 13, tzinfo=IST)
    assert_instant(add_working_time(calendar, start, H), datetime(2026, 1, 10, 14, tzinfo=IST), IST)
    with pytest.raises(NoWorkingTimeError, match="'One-off' has no working time after"):
        add_working_time(calendar, start, 2 * H)
    with pytest.raises(NoWorkingTimeError):
        next_opening(calendar, datetime(2026, 1, 11, tzinfo=IST))
    # Measuring a span needs no opening after it, so it does not raise.
    assert working_time_between(calendar, start, datetime(2030, 1, 1, tzinfo=IST)) == H


def test_decade_long_closure_is_reported_as_no_working_time():
    closure = Closure(datetime(2026, 1, 1, tzinfo=UTC), datetime(2046, 1, 1, tzinfo=UTC), "forever")
    calendar = WorkingCalendar(timezone="UTC", closures=(closure,), name="Shut")
    with pytest.raises(NoWorkingTimeError, match="'Shut' has no working time in the 10 years after 2026-01-01"):
        add_working_time(calendar, datetime(2026, 1, 1, tzinfo=UTC), H)
