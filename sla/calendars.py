"""Working calendars: weekly hours, holidays, extra working days and closures in one IANA time zone. Pure, no ORM.

Wall-clock intervals are turned into real instants per local date. Two DST rules make that total and monotonic:
an ambiguous wall time (the repeated hour when clocks fall back) means its first occurrence, and a wall time
that does not exist (the hour skipped when clocks spring forward) means the instant the clock jumps. An interval
therefore always counts the real time that elapsed between its opening and its close.

An interval ending at 00:00 runs to the end of the day (24:00), so a 24×7 calendar has no gap at midnight.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MIDNIGHT = time(0)
DAY = timedelta(days=1)
DEFAULT_TIMEZONE = "Asia/Kolkata"
ONE_MICROSECOND = timedelta(microseconds=1)
OFFICE_HOURS = ((time(9, 30), time(18, 0)),)

Interval = tuple[time, time]
Intervals = tuple[Interval, ...]
# Offsets from local midnight; the end of a day is timedelta(days=1).
Span = tuple[timedelta, timedelta]
UtcInterval = tuple[datetime, datetime]

_INTERVAL_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


class CalendarError(ValueError):
    """A calendar that cannot be built or used, with a message a human can read."""


class NoWorkingTimeError(CalendarError):
    """The calendar has no working time left to count from the given instant."""


def format_time(value: time, *, end: bool = False) -> str:
    """`HH:MM` (with seconds when set); an interval's end at midnight reads 24:00."""
    if end and value == MIDNIGHT:
        return "24:00"
    return value.strftime("%H:%M:%S" if value.second or value.microsecond else "%H:%M")


def format_intervals(intervals: Iterable[Interval]) -> str:
    """Intervals as `09:30–13:00, 14:00–18:00`, or `closed`."""
    text = ", ".join(f"{format_time(s)}–{format_time(e, end=True)}" for s, e in intervals)
    return text or "closed"


def parse_intervals(text: str) -> Intervals:
    """Parse `09:30-13:00, 14:00-18:00` (24:00 allowed as an end; empty or `closed` means no hours)."""
    if text.strip().lower() in ("", "closed", "-"):
        return ()
    result: list[Interval] = []
    for part in text.split(","):
        match = _INTERVAL_RE.match(part)
        if not match:
            raise CalendarError(f"Cannot read working hours {part.strip()!r}; write them like 09:30-18:00.")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h2 == 24 and m2 == 0:
            h2 = 0  # 24:00 is stored as the 00:00 that ends the day
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise CalendarError(f"Working hours {part.strip()!r} are not valid times of day.")
        result.append((time(h1, m1), time(h2, m2)))
    return tuple(result)


def _offset(value: time) -> timedelta:
    return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond)


def _check_intervals(intervals: Iterable[Sequence[time]], where: str) -> Intervals:
    """Validate one day's intervals and return them sorted; touching intervals are fine, overlapping ones are not."""
    checked: list[Interval] = []
    for item in intervals:
        if len(item) != 2 or not all(isinstance(t, time) for t in item):
            raise CalendarError(f"{where}: each working interval must be a (start, end) pair of times, got {item!r}.")
        start, end = item[0], item[1]
        if start.tzinfo is not None or end.tzinfo is not None:
            raise CalendarError(f"{where}: working hours are wall-clock times; drop the time zone from {item!r}.")
        if end != MIDNIGHT and end <= start:
            raise CalendarError(
                f"{where}: working interval {format_time(start)}–{format_time(end, end=True)} must end after it starts."
            )
        checked.append((start, end))
    checked.sort(key=lambda i: _offset(i[0]))
    for (s1, e1), (s2, e2) in pairwise(checked):
        if e1 == MIDNIGHT or _offset(e1) > _offset(s2):
            raise CalendarError(
                f"{where}: working intervals {format_time(s1)}–{format_time(e1, end=True)} and "
                f"{format_time(s2)}–{format_time(e2, end=True)} overlap."
            )
    return tuple(checked)


def _spans(intervals: Intervals) -> tuple[Span, ...]:
    """Intervals as offsets from midnight, touching ones merged."""
    merged: list[Span] = []
    for start, end in intervals:
        span = (_offset(start), DAY if end == MIDNIGHT else _offset(end))
        if merged and merged[-1][1] == span[0]:
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    return tuple(merged)


def _require_aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError(f"{what} must be a timezone-aware datetime, got {value!r}.")


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a CalendarError naming the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CalendarError(f"Unknown time zone {name!r}; use an IANA name such as 'Asia/Kolkata'.") from exc


def wall_to_utc(naive: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant a wall-clock time means: first occurrence if repeated, the jump instant if skipped."""
    utc = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        return utc
    # `naive` falls in a DST gap. Both folds land either side of the jump; bisect for the first instant whose wall
    # clock has reached `naive` (transitions sit on whole seconds, so this ends exactly on one).
    lo, hi = sorted((utc, naive.replace(tzinfo=tz, fold=1).astimezone(UTC)))
    while hi - lo > ONE_MICROSECOND:
        mid = lo + (hi - lo) // 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


@lru_cache(maxsize=65536)
def _localize(tz_name: str, day: date, spans: tuple[Span, ...]) -> tuple[UtcInterval, ...]:
    """One local date's wall-clock spans as UTC intervals (empty ones, e.g. inside a DST gap, dropped)."""
    tz = zone(tz_name)
    midnight = datetime.combine(day, MIDNIGHT)
    result = []
    for start, end in spans:
        opens, closes = wall_to_utc(midnight + start, tz), wall_to_utc(midnight + end, tz)
        if opens < closes:
            result.append((opens, closes))
    return tuple(result)


@dataclass(frozen=True)
class Closure:
    """A stretch of real time when nothing counts (an office closure from 14:00, a bandh)."""

    start: datetime
    end: datetime
    reason: str = "closure"

    def __post_init__(self) -> None:
        _require_aware(self.start, f"Closure {self.reason!r} start")
        _require_aware(self.end, f"Closure {self.reason!r} end")
        # Compare in UTC: two datetimes sharing a ZoneInfo compare by wall time and ignore DST.
        if self.end.astimezone(UTC) <= self.start.astimezone(UTC):
            raise CalendarError(f"Closure {self.reason!r} must end after it starts ({self.start} – {self.end}).")


@dataclass(frozen=True)
class WorkingCalendar:
    """When working time runs: weekly hours (Mon..Sun), named holidays, extra working days and closures.

    An extra working day replaces that date's weekly hours and wins over a holiday on the same date, because an
    admin entered it on purpose (the holiday package's state data is uneven).
    """

    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: tuple[Intervals, ...] = (OFFICE_HOURS,) * 5 + ((), ())
    holidays: tuple[tuple[date, str], ...] = ()
    extra_working_days: tuple[tuple[date, Intervals], ...] = ()
    closures: tuple[Closure, ...] = ()
    name: str = ""
    # Year → that year's holidays (the `holidays` package's, for a stored calendar), asked the first time the math
    # touches a date of that year: any year a request or a replay reaches, however long the process has run.
    # `holidays` given explicitly win over these on the same date.
    holiday_years: Callable[[int], Mapping[date, str]] | None = field(default=None, compare=False)
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _weekly: tuple[tuple[Span, ...], ...] = field(init=False, repr=False, compare=False)
    _holiday_names: dict[date, str] = field(init=False, repr=False, compare=False)
    _years_loaded: set[int] = field(init=False, repr=False, compare=False)
    _extra: dict[date, tuple[Span, ...]] = field(init=False, repr=False, compare=False)
    _extra_hours: dict[date, Intervals] = field(init=False, repr=False, compare=False)
    _closures_utc: tuple[tuple[datetime, datetime, str], ...] = field(init=False, repr=False, compare=False)
    _always_open: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once here, then never change
        set_(self, "_tz", zone(self.timezone))
        weekly = self.weekly_hours
        if isinstance(weekly, Mapping):
            weekly = tuple(weekly.get(i, ()) for i in range(7))
        if len(weekly) != 7:
            raise CalendarError(f"Weekly hours need 7 entries, Monday to Sunday; got {len(weekly)}.")
        weekly = tuple(_check_intervals(day, WEEKDAYS[i]) for i, day in enumerate(weekly))
        set_(self, "weekly_hours", weekly)
        set_(self, "_weekly", tuple(_spans(day) for day in weekly))

        holidays = self.holidays.items() if isinstance(self.holidays, Mapping) else self.holidays
        names: dict[date, str] = {}
        for item in holidays:
            day, label = (item, "holiday") if isinstance(item, date) else item
            if not isinstance(day, date) or isinstance(day, datetime):
                raise CalendarError(f"A holiday must be a date, got {day!r}.")
            names[day] = "; ".join(n for n in (names.get(day), str(label)) if n)
        set_(self, "holidays", tuple(sorted(names.items())))
        set_(self, "_holiday_names", names)
        set_(self, "_years_loaded", set())

        extras = self.extra_working_days
        extra_pairs = extras.items() if isinstance(extras, Mapping) else extras
        extra: dict[date, Intervals] = {}
        for day, intervals in extra_pairs:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise CalendarError(f"An extra working day must be a date, got {day!r}.")
            if day in extra:
                raise CalendarError(f"Extra working day {day} is given twice.")
            checked = _check_intervals(intervals, f"Extra working day {day}")
            if not checked:
                raise CalendarError(f"Extra working day {day} needs working hours.")
            extra[day] = checked
        set_(self, "extra_working_days", tuple(sorted(extra.items())))
        set_(self, "_extra", {day: _spans(intervals) for day, intervals in extra.items()})
        set_(self, "_extra_hours", extra)

        closures = tuple(sorted(self.closures, key=lambda c: c.start.astimezone(UTC)))
        if not all(isinstance(c, Closure) for c in closures):
            raise CalendarError("Closures must be Closure(start, end, reason) values.")
        set_(self, "closures", closures)
        set_(self, "_closures_utc", tuple((c.start.astimezone(UTC), c.end.astimezone(UTC), c.reason) for c in closures))

        if not any(self._weekly) and not extra:
            raise CalendarError(f"Calendar {self.label!r} has no working hours on any day; time could never run.")
        full_day = ((timedelta(0), DAY),)
        set_(
            self,
            "_always_open",
            all(d == full_day for d in self._weekly)
            and not names
            and self.holiday_years is None
            and not closures
            and not extra,
        )

    @classmethod
    def build(
        cls,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        weekly_hours: Mapping[int, Iterable[Interval] | str] | Sequence[Iterable[Interval] | str],
        holidays: Mapping[date, str] | Iterable[date] = (),
        extra_working_days: Mapping[date, Iterable[Interval] | str] | None = None,
        closures: Iterable[Closure] = (),
        name: str = "",
        holiday_years: Callable[[int], Mapping[date, str]] | None = None,
    ) -> WorkingCalendar:
        """A calendar from friendly inputs: hours as pairs of times or text like `09:30-13:00, 14:00-18:00`.

        `weekly_hours` is a weekday (0 = Monday) → hours mapping, or a list from Monday on; missing days are off.
        """

        def hours(value: Iterable[Interval] | str) -> Intervals:
            return parse_intervals(value) if isinstance(value, str) else tuple(value)

        if isinstance(weekly_hours, Mapping):
            days = [weekly_hours.get(i, ()) for i in range(7)]
        else:
            days = list(weekly_hours)
            days += [()] * (7 - len(days))  # listing Monday..Friday is enough; the rest are days off
        named = holidays if isinstance(holidays, Mapping) else dict.fromkeys(holidays, "holiday")
        return cls(
            timezone=timezone,
            weekly_hours=tuple(hours(d) for d in days),
            holidays=tuple(named.items()),
            extra_working_days=tuple((d, hours(h)) for d, h in (extra_working_days or {}).items()),
            closures=tuple(closures),
            name=name,
            holiday_years=holiday_years,
        )

    @classmethod
    def always_open(cls, timezone: str = DEFAULT_TIMEZONE, *, name: str = "24×7") -> WorkingCalendar:
        """Every instant of every day counts, seamlessly across midnight and DST changes."""
        return cls(timezone=timezone, weekly_hours=(((MIDNIGHT, MIDNIGHT),),) * 7, name=name)

    @classmethod
    def default(
        cls, *, timezone: str = DEFAULT_TIMEZONE, holidays: Mapping[date, str] | None = None, name: str = ""
    ) -> WorkingCalendar:
        """Monday to Friday 09:30–18:00 in Asia/Kolkata, with the given holidays."""
        return cls(
            timezone=timezone,
            weekly_hours=(OFFICE_HOURS,) * 5 + ((), ()),
            holidays=tuple((holidays or {}).items()),
            name=name,
        )

    @property
    def tz(self) -> ZoneInfo:
        """The calendar's zone."""
        return self._tz

    @property
    def label(self) -> str:
        """A name for messages."""
        return self.name or self.timezone

    @property
    def is_always_open(self) -> bool:
        """True when every instant counts (lets the clock use closed-form arithmetic)."""
        return self._always_open

    @property
    def has_weekly_hours(self) -> bool:
        """True when some weekday has working hours."""
        return any(self._weekly)

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name on `day`, if it is one (an extra working day is none)."""
        return None if day in self._extra else self._holidays_of(day).get(day)

    def _holidays_of(self, day: date) -> dict[date, str]:
        """The holiday names, with `day`'s year loaded from `holiday_years` first if it was not yet."""
        year = day.year
        if self.holiday_years is not None and year not in self._years_loaded:
            # Idempotent, so two threads loading the same year at once do no harm.
            for found, label in self.holiday_years(year).items():
                self._holiday_names.setdefault(found, label)
            self._years_loaded.add(year)
        return self._holiday_names

    def extra_hours(self, day: date) -> Intervals | None:
        """The hours of an extra working day, or None if `day` is not one."""
        return self._extra_hours.get(day)

    def next_extra_day(self, day: date) -> date | None:
        """The first extra working day on or after `day`."""
        return next((d for d, _ in self.extra_working_days if d >= day), None)

    def local_date(self, instant: datetime) -> date:
        """The calendar's local date at `instant`."""
        return instant.astimezone(self._tz).date()

    def day_start(self, day: date) -> datetime:
        """The UTC instant local date `day` begins."""
        return wall_to_utc(datetime.combine(day, MIDNIGHT), self._tz)

    def weekly_intervals_utc(self, day: date) -> tuple[UtcInterval, ...]:
        """The weekly hours of `day` as UTC intervals, ignoring holidays, extra days and closures."""
        return _localize(self.timezone, day, self._weekly[day.weekday()])

    def scheduled_intervals_utc(self, day: date) -> tuple[UtcInterval, ...]:
        """`day`'s hours after extra days and holidays, before closures, as UTC intervals."""
        spans = self._extra.get(day)
        if spans is None:
            spans = () if day in self._holidays_of(day) else self._weekly[day.weekday()]
        return _localize(self.timezone, day, spans) if spans else ()

    def has_scheduled_hours(self, day: date) -> bool:
        """Cheap check (no time zone work) whether `day` could have working time."""
        if day in self._extra:
            return True
        return day not in self._holidays_of(day) and bool(self._weekly[day.weekday()])

    def closures_over(self, opens: datetime, closes: datetime) -> list[tuple[datetime, datetime, str]]:
        """Closures (UTC) overlapping the UTC span [opens, closes)."""
        return [c for c in self._closures_utc if c[0] < closes and c[1] > opens]

    def day_intervals_utc(self, day: date) -> tuple[UtcInterval, ...]:
        """`day`'s working intervals as UTC instants, after holidays, extra days and closures."""
        scheduled = self.scheduled_intervals_utc(day)
        if not scheduled or not self._closures_utc:
            return scheduled
        return tuple(subtract(scheduled, [(s, e) for s, e, _ in self.closures_over(scheduled[0][0], scheduled[-1][1])]))


def subtract(intervals: Iterable[UtcInterval], holes: Sequence[UtcInterval]) -> list[UtcInterval]:
    """`intervals` minus `holes` (both sorted lists of [start, end) pairs)."""
    result: list[UtcInterval] = []
    for opens, closes in intervals:
        cursor = opens
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= closes:
                continue
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = hole_end  # past the guard above, hole_end > cursor
        if cursor < closes:
            result.append((cursor, closes))
    return result
