"""Working-time arithmetic on a WorkingCalendar: add, measure, find openings, list days off. Pure, no ORM.

Time is walked one local date at a time (closed form for 24×7), never minute by minute, and all arithmetic is
done on UTC instants: two datetimes sharing a ZoneInfo subtract and compare by wall time, which is wrong across
DST changes. Inputs may be in any time zone; results are in the calendar's.

Zero duration: `add_working_time(c, s, 0)` is `s` itself. Nothing has to elapse, so nothing waits for an opening
(use `next_opening` for that). This keeps adding additive for every pair of durations:
add(add(s, a), b) == add(s, a + b). A positive duration always ends at a working instant or at the close of a
working interval, never inside a weekend, holiday or closure.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from .calendars import DAY, CalendarError, NoWorkingTimeError, UtcInterval, WorkingCalendar, subtract

# A calendar that finds no working time for this long is broken (e.g. only extra working days, all in the past).
MAX_IDLE_DAYS = 3660
ZERO = timedelta(0)


class DayOff(NamedTuple):
    """A local date in a span on which working time was not counted, and why."""

    day: date
    kind: str  # "weekend", "holiday" or "closure"
    reason: str


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError(f"{what} must be a timezone-aware datetime, got {value!r}.")
    return value.astimezone(UTC)


def _pieces(calendar: WorkingCalendar, since: datetime, until: date | None = None) -> Iterator[UtcInterval]:
    """Working intervals (UTC) from `since` on, the first clipped to start at `since`, up to local date `until`."""
    day = calendar.local_date(since)
    last_yield = day
    while until is None or day <= until:
        if (day - last_yield).days > MAX_IDLE_DAYS:
            raise NoWorkingTimeError(
                f"Calendar {calendar.label!r} has no working time in the {MAX_IDLE_DAYS // 366} years after "
                f"{since.astimezone(calendar.tz):%Y-%m-%d %H:%M %Z}."
            )
        if not calendar.has_scheduled_hours(day):
            if not calendar.has_weekly_hours:
                # Only extra working days can open: jump straight to the next one.
                following = calendar.next_extra_day(day + DAY)
                if following is None:
                    if until is not None:
                        return
                    raise NoWorkingTimeError(
                        f"Calendar {calendar.label!r} has no working time after {since.astimezone(calendar.tz)}."
                    )
                day = following
                continue
            day += DAY
            continue
        pieces = calendar.day_intervals_utc(day)
        for opens, closes in pieces:
            if closes > since:
                last_yield = day
                yield max(opens, since), closes
        next_day = day + DAY
        scheduled = calendar.scheduled_intervals_utc(day) if not pieces else ()
        if scheduled:
            # A closure swallowed the whole day: skip to its end rather than walk every day it covers.
            last_close = scheduled[-1][1]
            ends = [end for start, end, _ in calendar.closures_over(last_close - DAY, last_close) if start < last_close]
            if ends:
                next_day = max(next_day, calendar.local_date(max(ends)))
        day = next_day


def add_working_time(calendar: WorkingCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant `duration` of working time has elapsed since `start`; off hours, it starts at the next opening."""
    since = _utc(start, "start")
    if duration < ZERO:
        raise CalendarError(f"Cannot add a negative duration ({duration}).")
    if duration == ZERO or calendar.is_always_open:
        return (since + duration).astimezone(calendar.tz)
    remaining = duration
    for opens, closes in _pieces(calendar, since):
        length = closes - opens
        if remaining <= length:
            return (opens + remaining).astimezone(calendar.tz)
        remaining -= length
    raise AssertionError("unreachable: _pieces never ends without an `until`")  # pragma: no cover


def working_time_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time in [start, end); zero when `end` is not after `start`."""
    since, until = _utc(start, "start"), _utc(end, "end")
    if until <= since:
        return ZERO
    if calendar.is_always_open:
        return until - since
    total = ZERO
    for opens, closes in _pieces(calendar, since, calendar.local_date(until)):
        if opens >= until:
            break
        total += min(closes, until) - opens
    return total


def next_opening(calendar: WorkingCalendar, instant: datetime) -> datetime:
    """The first working instant at or after `instant` (itself when working time is running)."""
    since = _utc(instant, "instant")
    if calendar.is_always_open:
        return since.astimezone(calendar.tz)
    opens, _ = next(_pieces(calendar, since))
    return opens.astimezone(calendar.tz)


def is_working_time(calendar: WorkingCalendar, instant: datetime) -> bool:
    """True when working time is running at `instant` (an interval's opening counts, its close does not)."""
    moment = _utc(instant, "instant")
    if calendar.is_always_open:
        return True
    return any(opens <= moment < closes for opens, closes in calendar.day_intervals_utc(calendar.local_date(moment)))


def working_intervals(calendar: WorkingCalendar, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The working stretches within [start, end), touching ones merged (24×7 runs through midnight), local time."""
    since, until = _utc(start, "start"), _utc(end, "end")
    if until <= since:
        return
    if calendar.is_always_open:
        yield since.astimezone(calendar.tz), until.astimezone(calendar.tz)
        return
    pending: UtcInterval | None = None
    for opens, closes in _pieces(calendar, since, calendar.local_date(until)):
        if opens >= until:
            break
        closes = min(closes, until)
        if pending and pending[1] == opens:
            pending = (pending[0], closes)
            continue
        if pending:
            yield pending[0].astimezone(calendar.tz), pending[1].astimezone(calendar.tz)
        pending = (opens, closes)
    if pending:
        yield pending[0].astimezone(calendar.tz), pending[1].astimezone(calendar.tz)


def days_off_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> list[DayOff]:
    """Local dates in [start, end) that lost working time, with the reason: weekend, holiday name, or closure."""
    since, until = _utc(start, "start"), _utc(end, "end")
    if until <= since:
        return []
    result: list[DayOff] = []
    day, last = calendar.local_date(since), calendar.local_date(until - timedelta(microseconds=1))
    while day <= last:
        weekly = _clip(calendar.weekly_intervals_utc(day), since, until)
        extra = calendar.extra_hours(day) is not None
        holiday = calendar.holiday_name(day)
        if not extra and not calendar.weekly_hours[day.weekday()]:
            result.append(DayOff(day, "weekend", "weekend"))
        elif not extra and holiday and weekly:
            result.append(DayOff(day, "holiday", holiday))
        else:
            scheduled = _clip(calendar.scheduled_intervals_utc(day), since, until)
            reasons = []
            for opens, closes in scheduled:
                reasons += [r for s, e, r in calendar.closures_over(opens, closes) if r not in reasons]
            if reasons:
                result.append(DayOff(day, "closure", "; ".join(reasons)))
        day += DAY
    return result


def _clip(intervals: tuple[UtcInterval, ...], since: datetime, until: datetime) -> list[UtcInterval]:
    """Intervals cut to [since, until), empty ones dropped."""
    return subtract(intervals, [(datetime.min.replace(tzinfo=UTC), since), (until, datetime.max.replace(tzinfo=UTC))])
