"""Property tests of the working-time arithmetic over fixed and random calendars, with and without DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sla.calendars import Closure, WorkingCalendar
from sla.clock import add_working_time, is_working_time, next_opening, working_time_between
from sla.holidays_source import public_holidays

# Fixed offsets, classic DST, a 30-minute DST (Lord Howe) and DST switching at midnight (Santiago).
DST_ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago")
FIXED_ZONES = ("Asia/Kolkata", "UTC", "Asia/Kathmandu")
ZONES = FIXED_ZONES + DST_ZONES
FIRST, LAST = date(2026, 1, 1), date(2027, 12, 31)
MICRO = timedelta(microseconds=1)
ZERO = timedelta(0)
PROPERTY = settings(max_examples=150, deadline=None, database=None)

FIXED_CALENDARS = (
    WorkingCalendar.default(),
    WorkingCalendar.default(holidays=public_holidays("IN", "BR", years=[2026, 2027]), name="Bihar"),
    WorkingCalendar.build(timezone="Europe/Berlin", weekly_hours=["09:00-17:00"] * 5),
    WorkingCalendar.build(timezone="America/New_York", weekly_hours={6: "01:00-03:00", 0: "08:00-12:00, 13:00-17:00"}),
    WorkingCalendar.build(timezone="Europe/Berlin", weekly_hours={5: "22:00-24:00", 6: "00:00-06:00"}),
    WorkingCalendar.always_open("Europe/Berlin"),
    # 24×7 with one holiday far away: same answers as the closed form, but computed day by day.
    WorkingCalendar.build(timezone="Europe/Berlin", weekly_hours=["00:00-24:00"] * 7, holidays={date(2099, 1, 1): "x"}),
)


def _clock(minute: int) -> time:
    return time(0) if minute == 1440 else time(minute // 60, minute % 60)  # 1440 is 24:00, the end of the day


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    """0–3 non-overlapping intervals on minute boundaries, 24:00 allowed as an end."""
    # Half the boundaries fall where DST switches happen (around midnight and 01:00–04:00).
    minute = st.one_of(st.integers(0, 1440), st.integers(0, 240), st.integers(1380, 1440))
    points = sorted(draw(st.lists(minute, unique=True, max_size=6)))
    pairs = zip(points[0::2], points[1::2], strict=False)
    return tuple((_clock(a), _clock(b)) for a, b in pairs)


def _transitions(zone_name: str) -> list[datetime]:
    """The hours (UTC) at which `zone_name` changed its offset in 2026–2027, found by an hourly scan."""
    tz, found, before = ZoneInfo(zone_name), [], None
    for hour in range(2 * 366 * 24):
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hour)
        offset = moment.astimezone(tz).utcoffset()
        if before is not None and offset != before:
            found.append(moment)
        before = offset
    return found


TRANSITIONS = {zone: _transitions(zone) for zone in ZONES}
assert len(TRANSITIONS["Europe/Berlin"]) == 4 and not TRANSITIONS["Asia/Kolkata"]


@st.composite
def closures(draw: st.DrawFn, anchor: datetime) -> Closure:
    """A closure within two weeks of `anchor`, so that closures of one calendar often overlap each other."""
    start = anchor + timedelta(minutes=draw(st.integers(0, 14 * 1440)))
    return Closure(start, start + timedelta(minutes=draw(st.integers(1, 5 * 1440))), "closure")


@st.composite
def random_calendars(draw: st.DrawFn, zones: tuple[str, ...] = ZONES) -> WorkingCalendar:
    """Random weekly hours, holidays, extra working days and closures in a random zone, clustered near an anchor."""
    weekly = [draw(day_hours()) for _ in range(7)]
    if not any(weekly):
        weekly[draw(st.integers(0, 6))] = ((time(9), time(17)),)
    anchor = draw(st.dates(FIRST, LAST - timedelta(days=30)))
    near = st.dates(anchor - timedelta(days=7), anchor + timedelta(days=21))
    holidays = draw(st.dictionaries(st.one_of(near, st.dates(FIRST, LAST)), st.just("holiday"), max_size=20))
    # Extra working days often fall on a holiday: the admin overriding the package's data.
    extra_dates = st.one_of(near, st.sampled_from(sorted(holidays))) if holidays else near
    extra = draw(st.dictionaries(extra_dates, day_hours().filter(bool), max_size=3))
    start = datetime.combine(anchor, time(0), tzinfo=UTC)
    return WorkingCalendar(
        timezone=draw(st.sampled_from(zones)),
        weekly_hours=tuple(weekly),
        holidays=tuple(holidays.items()),
        extra_working_days=tuple(extra.items()),
        closures=tuple(draw(st.lists(closures(start), max_size=3))),
    )


calendars = st.one_of(st.sampled_from(FIXED_CALENDARS), random_calendars())
ALL_ZONES = [ZoneInfo(z) for z in (*ZONES, "Asia/Tokyo", "Pacific/Chatham")]
instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30), timezones=st.sampled_from(ALL_ZONES))
durations = st.timedeltas(ZERO, timedelta(hours=120))


def _points_of_interest(calendar: WorkingCalendar) -> list[list[datetime]]:
    """Instants where a calendar gets interesting, grouped by kind: DST switches, extra days, closures, holidays."""

    def midnights(days: list[date]) -> list[datetime]:
        return [datetime.combine(d, time(0), tzinfo=calendar.tz) for d in days if FIRST <= d <= LAST]

    groups = [
        TRANSITIONS.get(calendar.timezone, []),
        midnights([d for d, _ in calendar.extra_working_days]),
        [c.start for c in calendar.closures],
        midnights([d for d, _ in calendar.holidays]),
    ]
    return [g for g in groups if g]


@st.composite
def scenarios(draw: st.DrawFn, calendar_strategy: st.SearchStrategy[WorkingCalendar] = calendars):
    """A calendar and a start instant, usually up to a day before a DST switch, extra day, closure or holiday."""
    calendar = draw(calendar_strategy)
    groups = _points_of_interest(calendar)
    start = draw(instants)
    if groups and draw(st.integers(0, 3)):
        point = draw(st.sampled_from(draw(st.sampled_from(groups))))
        start = point - draw(st.timedeltas(ZERO, timedelta(days=1)))
    return calendar, start.astimezone(draw(st.sampled_from(ALL_ZONES)))


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


@PROPERTY
@given(scenarios(), durations)
def test_measuring_what_was_added_gives_it_back(scenario, duration):
    calendar, start = scenario
    end = add_working_time(calendar, start, duration)
    assert working_time_between(calendar, start, end) == duration
    assert utc(end) >= utc(start)
    assert end.tzinfo == calendar.tz


@PROPERTY
@given(scenarios(), durations, durations)
def test_adding_is_monotonic(scenario, a, b):
    calendar, start = scenario
    shorter, longer = sorted((a, b))
    assert utc(add_working_time(calendar, start, shorter)) <= utc(add_working_time(calendar, start, longer))


@PROPERTY
@given(scenarios(), durations, durations)
def test_adding_is_additive(scenario, a, b):
    calendar, start = scenario
    in_two_steps = add_working_time(calendar, add_working_time(calendar, start, a), b)
    at_once = add_working_time(calendar, start, a + b)
    assert utc(in_two_steps) == utc(at_once)
    assert in_two_steps.utcoffset() == at_once.utcoffset()


@PROPERTY
@given(scenarios(), durations.filter(lambda d: d > ZERO))
def test_a_positive_add_never_lands_inside_a_closure_holiday_or_weekend(scenario, duration):
    calendar, start = scenario
    end = utc(add_working_time(calendar, start, duration))
    # It ends at a working instant or at the close of a working interval: the moment before it was working.
    assert is_working_time(calendar, end - MICRO)
    assert not any(utc(c.start) < end < utc(c.end) for c in calendar.closures)
    day = calendar.local_date(end - MICRO)
    if calendar.extra_hours(day) is None:
        assert calendar.holiday_name(day) is None
        assert calendar.weekly_hours[day.weekday()]


@PROPERTY
@given(scenarios(), durations, st.sampled_from(ALL_ZONES))
def test_results_do_not_depend_on_the_zone_the_start_is_given_in(scenario, duration, other_zone):
    calendar, start = scenario
    here = add_working_time(calendar, start, duration)
    there = add_working_time(calendar, start.astimezone(other_zone), duration)
    assert utc(here) == utc(there)
    assert (here.tzinfo, here.utcoffset()) == (there.tzinfo, there.utcoffset())
    end = utc(start) + duration
    assert working_time_between(calendar, start, end) == working_time_between(
        calendar, start.astimezone(other_zone), end.astimezone(calendar.tz)
    )


@PROPERTY
@given(scenarios(), durations, durations)
def test_measuring_is_additive_over_adjacent_spans_and_bounded_by_real_time(scenario, a, b):
    calendar, start = scenario
    middle, end = utc(start) + a, utc(start) + a + b
    first, second = working_time_between(calendar, start, middle), working_time_between(calendar, middle, end)
    assert first + second == working_time_between(calendar, start, end)
    assert ZERO <= first <= a
    assert working_time_between(calendar, end, start) == ZERO


@PROPERTY
@given(scenarios(), durations.filter(lambda d: d > ZERO))
def test_a_start_off_hours_begins_at_the_next_opening(scenario, duration):
    calendar, start = scenario
    opening = next_opening(calendar, start)
    assert is_working_time(calendar, opening)
    assert working_time_between(calendar, start, opening) == ZERO
    assert utc(add_working_time(calendar, start, duration)) == utc(add_working_time(calendar, opening, duration))


@PROPERTY
@given(
    scenarios(
        st.sampled_from(DST_ZONES + FIXED_ZONES).map(
            lambda tz: WorkingCalendar.build(
                timezone=tz, weekly_hours=["00:00-24:00"] * 7, holidays={date(2099, 1, 1): "x"}
            )
        )
    ),
    durations,
)
def test_round_the_clock_walked_day_by_day_matches_real_elapsed_time(scenario, duration):
    # A far-off holiday forces the day-by-day path; it must agree with plain UTC arithmetic through every switch.
    calendar, start = scenario
    end = add_working_time(calendar, start, duration)
    assert utc(end) == utc(start) + duration
    assert working_time_between(calendar, start, end) == utc(end) - utc(start)


def _repeated(wall: datetime, tz: ZoneInfo) -> bool:
    """True when the wall time occurs twice (the hour repeated when clocks fall back)."""
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    exists = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
    return exists and first.utcoffset() != second.utcoffset()


def _oracle_is_working(calendar: WorkingCalendar, instant: datetime) -> bool:
    """Independent check by reading the wall clock, with the documented rule for the repeated hour."""
    if any(utc(c.start) <= instant < utc(c.end) for c in calendar.closures):
        return False
    local = instant.astimezone(calendar.tz)
    day, now = local.date(), local.replace(tzinfo=None)
    hours = calendar.extra_hours(day)
    if hours is None:
        hours = () if calendar.holiday_name(day) else calendar.weekly_hours[day.weekday()]
    for start_time, end_time in hours:
        opens = datetime.combine(day, start_time)
        closes = datetime.combine(day + timedelta(days=1) if end_time == time(0) else day, end_time)
        if local.fold == 0:  # first or only pass of this wall time: compare walls (skipped times behave too)
            inside = opens <= now < closes
        else:  # second pass of a repeated hour: repeated boundaries mean their first pass, already behind us
            inside = (
                (opens <= now or _repeated(opens, calendar.tz)) and now < closes and not _repeated(closes, calendar.tz)
            )
        if inside:
            return True
    return False


@settings(max_examples=100, deadline=None, database=None)
@given(scenarios(random_calendars()), st.integers(0, 3 * 1440))
def test_measuring_agrees_with_a_minute_by_minute_oracle(scenario, minutes):
    calendar, start = scenario
    start = utc(start).replace(second=0, microsecond=0)
    # Every boundary (hours, closures, DST switches, Kathmandu's +05:45) sits on a whole minute, so counting is exact.
    expected = sum(_oracle_is_working(calendar, start + timedelta(minutes=m)) for m in range(minutes))
    assert working_time_between(calendar, start, start + timedelta(minutes=minutes)) == timedelta(minutes=expected)


@st.composite
def dst_scenarios(draw: st.DrawFn):
    """A random calendar in a DST zone and a start up to a day before one of that zone's switches."""
    calendar = draw(random_calendars(zones=DST_ZONES))
    switch = draw(st.sampled_from(TRANSITIONS[calendar.timezone]))
    return calendar, switch - draw(st.timedeltas(ZERO, timedelta(days=1)))


@settings(max_examples=100, deadline=None, database=None)
@given(dst_scenarios(), st.integers(1440, 2 * 1440))
def test_measuring_agrees_with_a_minute_by_minute_oracle_across_dst_switches(scenario, minutes):
    calendar, start = scenario
    start = utc(start).replace(second=0, microsecond=0)
    expected = sum(_oracle_is_working(calendar, start + timedelta(minutes=m)) for m in range(minutes))
    assert working_time_between(calendar, start, start + timedelta(minutes=minutes)) == timedelta(minutes=expected)
