"""ISO weeks in the report's timezone: pure date arithmetic, no ORM."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from portal.exceptions import ValidationFailed

WEEK_PATTERN = re.compile(r"^(?P<year>\d{4})-W(?P<week>\d{2})$")
# Python's dates run from 0001-01-01 to 9999-12-31. A report reads its week's Monday to the next Monday, the weeks of
# its trend before it and instants a day either side in UTC, so weeks near either end would overflow (a 500). A year's
# margin at the start covers any trend; at the end, the last week whose next Monday still exists.
FIRST_WEEK = (2, 1)
LAST_WEEK = (9999, 51)


@dataclass(frozen=True)
class Week:
    """One ISO week: Monday 00:00 to the next Monday 00:00 on the wall clock of `tz` (168 h, or 167/169 at DST)."""

    year: int
    number: int
    tz: str

    @property
    def label(self) -> str:
        return f"{self.year:04d}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.monday, time(0), tzinfo=zoneinfo.ZoneInfo(self.tz))

    @property
    def end(self) -> datetime:
        # Built from the next Monday's date, never start + 7 days, so a DST change inside the week is honoured.
        return datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=zoneinfo.ZoneInfo(self.tz))

    def shifted(self, weeks: int) -> Week:
        year, number, _ = (self.monday + timedelta(weeks=weeks)).isocalendar()
        return Week(year, number, self.tz)


def timezone_parse(tz: str) -> str:
    """`tz` if it is an IANA timezone, else a 400 on the `tz` field."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed("Unknown timezone.", fields={"tz": f"“{tz}” is not an IANA timezone."}) from exc
    return tz


def week_parse(text: str, *, tz: str) -> Week:
    """ "2026-W47" as a Week in `tz`; anything else is a 400 on the `week` field."""
    match = WEEK_PATTERN.match(text.strip())
    message = f"“{text}” is not an ISO week; write it like 2026-W47."
    if not match:
        raise ValidationFailed("Invalid week.", fields={"week": message})
    year, number = int(match["year"]), int(match["week"])
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise ValidationFailed("Invalid week.", fields={"week": f"{year} has no ISO week {number}."}) from exc
    if not FIRST_WEEK <= (year, number) <= LAST_WEEK:
        first, last = Week(*FIRST_WEEK, tz), Week(*LAST_WEEK, tz)
        message = f"Reports cover the weeks from {first.label} to {last.label}."
        raise ValidationFailed("Invalid week.", fields={"week": message})
    return Week(year, number, tz)


def week_containing(instant: datetime, *, tz: str) -> Week:
    """The ISO week that `instant` falls in, on the wall clock of `tz`."""
    year, number, _ = instant.astimezone(zoneinfo.ZoneInfo(tz)).isocalendar()
    return Week(year, number, tz)


def local_midnight(instant: datetime, *, tz: str) -> datetime:
    """The start of `instant`'s day in `tz`."""
    local = instant.astimezone(zoneinfo.ZoneInfo(tz))
    return datetime.combine(local.date(), time(0), tzinfo=zoneinfo.ZoneInfo(tz))
