"""A calendar's year, day by day: open or closed, and where that came from (its working hours, the holidays
package, a day someone added or removed, a closure).

Whether a day is open is asked of the very `WorkingCalendar` the SLA clock uses (`sla.policies`), so the page
cannot disagree with the due times; the stored rows only supply the names, who and why.
"""

from __future__ import annotations

import calendar as month_math
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import models

from sla.calendars import WEEKDAYS
from sla.choices import CalendarDayKind
from sla.holidays_source import category_label, holidays_with_category
from sla.models import BusinessCalendar, CalendarClosure, CalendarDay
from sla.policies import working_calendar_of


class DayKind(models.TextChoices):
    """Why a day is what it is; the labels are what the year view's key shows."""

    WORKING = "working", "Working day"
    WEEKEND = "weekend", "Day off (no working hours)"
    PACKAGE_HOLIDAY = "package_holiday", "Holiday from the holidays package"
    ADDED = "added", "Holiday added here"
    REMOVED = "removed", "Holiday removed (worked)"
    EXTRA_WORKING = "extra_working", "Extra working day"
    CLOSED = "closed", "Closed"
    PARTLY_CLOSED = "partly_closed", "Partly closed"
    ROUND_THE_CLOCK = "round_the_clock", "Open round the clock"


# The word shown in a day's cell, next to its number, so the grid does not rely on colour.
SHORT = {
    DayKind.WORKING: "",
    DayKind.WEEKEND: "off",
    DayKind.PACKAGE_HOLIDAY: "hol",
    DayKind.ADDED: "add",
    DayKind.REMOVED: "work",
    DayKind.EXTRA_WORKING: "work",
    DayKind.CLOSED: "shut",
    DayKind.PARTLY_CLOSED: "part",
    DayKind.ROUND_THE_CLOCK: "",
}


@dataclass(frozen=True)
class DayStatus:
    """One day of the year view."""

    day: date
    is_open: bool
    kind: str
    title: str
    source: str
    name: str = ""
    category: str = ""
    added_by: str = ""
    reason: str = ""

    @property
    def short(self) -> str:
        return SHORT[DayKind(self.kind)]

    @property
    def kind_label(self) -> str:
        return DayKind(self.kind).label

    @property
    def is_notable(self) -> bool:
        """Listed under the month: anything but an ordinary working day or weekend."""
        return self.kind not in (DayKind.WORKING, DayKind.WEEKEND, DayKind.ROUND_THE_CLOCK)


@dataclass(frozen=True)
class Month:
    """A month of the grid: weeks from Monday, days outside the month as None."""

    number: int
    name: str
    weeks: list[list[DayStatus | None]]
    notable: list[DayStatus]


def _who(user: object) -> str:
    if user is None:
        return "someone no longer here"
    full = getattr(user, "get_full_name", lambda: "")()
    return full or str(user)


def calendar_year(stored: BusinessCalendar, year: int) -> list[DayStatus]:
    """Every day of `year` on the calendar, with its status and source."""
    working = working_calendar_of(stored)
    first, last = date(year, 1, 1), date(year, 12, 31)
    exceptions = {
        day.date: day
        for day in CalendarDay.objects.filter(calendar=stored, date__range=(first, last)).select_related("added_by")
    }
    closures = {
        (c.starts_at, c.ends_at): c
        for c in CalendarClosure.objects.filter(
            calendar=stored,
            starts_at__lt=working.day_start(last + timedelta(days=1)),
            ends_at__gt=working.day_start(first),
        ).select_related("added_by")
    }
    package: dict[date, tuple[str, str]] = {}
    if stored.country and not stored.round_the_clock:
        package = holidays_with_category(
            stored.country, stored.subdivision or None, stored.holiday_category_list(), year
        )
    days = []
    day = first
    while day <= last:
        days.append(_status(stored, working, day, exceptions.get(day), package.get(day), closures))
        day += timedelta(days=1)
    return days


def _status(stored, working, day, exception: CalendarDay | None, package, closures) -> DayStatus:
    is_open = bool(working.day_intervals_utc(day))
    scheduled = working.scheduled_intervals_utc(day)
    over = working.closures_over(working.day_start(day), working.day_start(day + timedelta(days=1)))
    if over and scheduled:
        rows = [closures.get((s, e)) for s, e, _ in over]
        reason = "; ".join(r for _s, _e, r in over)
        who = ", ".join(sorted({_who(row.added_by) for row in rows if row is not None})) or "the admin site"
        kind = DayKind.PARTLY_CLOSED if is_open else DayKind.CLOSED
        return DayStatus(day, is_open, kind, f"{kind.label}: {reason}", f"Closure added by {who}", reason=reason)
    if stored.round_the_clock:
        return DayStatus(day, True, DayKind.ROUND_THE_CLOCK, "Open round the clock", "A 24×7 calendar")
    if exception is not None:
        by = _who(exception.added_by)
        why = f": {exception.reason}" if exception.reason else ""
        if exception.kind == CalendarDayKind.HOLIDAY:
            return DayStatus(
                day, is_open, DayKind.ADDED, f"Holiday: {exception.name}", f"Added by {by}{why}",
                name=exception.name, added_by=by, reason=exception.reason,
            )  # fmt: skip
        if package is not None:
            return DayStatus(
                day, is_open, DayKind.REMOVED, f"Working day ({package[0]} removed)", f"Removed by {by}{why}",
                name=package[0], category=package[1], added_by=by, reason=exception.reason,
            )  # fmt: skip
        return DayStatus(
            day, is_open, DayKind.EXTRA_WORKING, f"Extra working day: {exception.name}", f"Added by {by}{why}",
            name=exception.name, added_by=by, reason=exception.reason,
        )  # fmt: skip
    if package is not None:
        name, category = package
        return DayStatus(
            day, is_open, DayKind.PACKAGE_HOLIDAY, f"Holiday: {name}",
            f"Holidays package, {category_label(category)}", name=name, category=category,
        )  # fmt: skip
    if not scheduled:
        return DayStatus(day, False, DayKind.WEEKEND, "Day off", f"No working hours on {WEEKDAYS[day.weekday()]}s")
    return DayStatus(day, True, DayKind.WORKING, "Working day", "Weekly working hours")


def calendar_months(days: list[DayStatus]) -> list[Month]:
    """The year's days as twelve month grids (weeks from Monday)."""
    by_date = {status.day: status for status in days}
    year = days[0].day.year
    months = []
    for number in range(1, 13):
        weeks = [
            [by_date.get(day) if day.month == number else None for day in week]
            for week in month_math.Calendar(firstweekday=0).monthdatescalendar(year, number)
        ]
        notable = [s for s in days if s.day.month == number and s.is_notable]
        months.append(Month(number, month_math.month_name[number], weeks, notable))
    return months
