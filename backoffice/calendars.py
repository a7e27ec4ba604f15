"""Calendar changes made in the management area: working hours, the holiday set, days added or removed, closures,
imports and which environment runs on which calendar.

Every change asks for a reason first, is recorded in the change history, and makes the SLA engine use the new
calendar at once (`sla.services.sla_calendar_changed`: a new cache version, and the open requests' due times
rewritten in the same transaction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Prefetch, QuerySet

from portal.exceptions import Forbidden, NotFound, ValidationFailed
from requests_app.models import Environment
from requests_app.timeline import model_full_clean
from sla.calendars import WEEKDAYS, CalendarError, WorkingCalendar, format_intervals, parse_intervals, wall_to_utc, zone
from sla.choices import CalendarDayKind
from sla.holidays_source import (
    UnknownCategory,
    UnknownSubdivision,
    holidays_with_category,
    public_holidays,
    subdivision_names,
    supported_categories,
    validate_subdivision,
)
from sla.models import BusinessCalendar, CalendarClosure, CalendarDay, WorkingHours
from sla.services import sla_calendar_changed

from .audit import record_change, require_reason
from .models import Area
from .permissions import can_manage

if TYPE_CHECKING:
    from portal.models import User

# A closure longer than this is a mistake in the dates, not an office shut for a year.
MAX_CLOSURE_DAYS = 366


def require_calendar_manager(actor: User) -> None:
    if not can_manage(actor):
        raise Forbidden("Only the program manager changes calendars.")


# --- reads ----------------------------------------------------------------------------------------------
def calendars_with_environments() -> QuerySet[BusinessCalendar]:
    """Every calendar with the environments that run on it, for the list."""
    return BusinessCalendar.objects.prefetch_related(
        Prefetch("environments", queryset=Environment.objects.order_by("name")), "working_hours"
    ).annotate(environment_count=Count("environments"))


def calendar_get(slug: str, *, for_update: bool = False) -> BusinessCalendar:
    """The calendar called `slug`, locked when about to change it (two changes to one calendar queue up)."""
    queryset = BusinessCalendar.objects.all()
    if for_update:
        queryset = queryset.select_for_update()
    calendar = queryset.filter(slug=slug).first()
    if calendar is None:
        raise NotFound(f"No calendar called “{slug}”.")
    return calendar


def weekly_hours_text(calendar: BusinessCalendar) -> list[tuple[int, str, str]]:
    """(weekday, its name, its hours as text such as `09:30–18:00` or `closed`) from Monday on."""
    by_day: dict[int, list[tuple[time, time]]] = {day: [] for day in range(7)}
    for hours in calendar.working_hours.all():
        by_day[hours.weekday].append((hours.starts, hours.ends))
    return [(day, WEEKDAYS[day], format_intervals(sorted(by_day[day]))) for day in range(7)]


def state_name(calendar: BusinessCalendar) -> str:
    """The calendar's holiday region in words: "Bihar (BR)", or "National"."""
    if not calendar.country or not calendar.subdivision:
        return "National"
    code = calendar.subdivision
    return f"{subdivision_names(calendar.country).get(code, code)} ({code})"


def package_holiday(calendar: BusinessCalendar, day: date) -> tuple[str, str] | None:
    """The `holidays` package's holiday on `day` for this calendar's state and categories: (name, category)."""
    if calendar.round_the_clock or not calendar.country:
        return None
    found = holidays_with_category(
        calendar.country, calendar.subdivision or None, calendar.holiday_category_list(), day.year
    )
    return found.get(day)


def _day_snapshot(day: CalendarDay | None) -> dict[str, Any] | None:
    if day is None:
        return None
    return {"date": day.date, "kind": day.kind, "name": day.name, "reason": day.reason}


def _record(calendar: BusinessCalendar, *, actor: User, action: str, reason: str, obj: Any = None, **states: Any):
    record_change(actor=actor, area=Area.CALENDAR, action=action, obj=obj or calendar, reason=reason, **states)


# --- days -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DayChange:
    """What adding or removing a day did, in words for the page and the API."""

    day: date
    is_open: bool
    message: str


def _holiday_name(name: str) -> str:
    text = (name or "").strip()
    if not text:
        raise ValidationFailed("Name the holiday.", fields={"name": "Give the holiday's name, e.g. “Chhath Puja”."})
    if len(text) > 100:
        raise ValidationFailed("The name is too long.", fields={"name": "At most 100 characters."})
    return text


def _day_add(
    calendar: BusinessCalendar, *, actor: User, day: date, name: str, reason: str, source: str = ""
) -> DayChange:
    """Close `day` (no lock, no cache bump: the caller does those once); `source` names an imported file."""
    existing = calendar.days.filter(date=day).first()
    package = package_holiday(calendar, day)
    if existing is not None and existing.kind == CalendarDayKind.HOLIDAY:
        raise ValidationFailed(
            f"{day:%d %b %Y} is already a holiday here ({existing.name}).", fields={"date": "Already a holiday."}
        )
    if existing is None and package is not None:
        raise ValidationFailed(
            f"{day:%d %b %Y} is already a holiday here ({package[0]}, from the holidays package).",
            fields={"date": "Already a holiday."},
        )
    before = _day_snapshot(existing)
    if existing is not None:  # an extra working day, usually a package holiday that had been removed
        existing.delete()
    if package is not None:
        _record(calendar, actor=actor, action=f"Restored holiday {day}: {package[0]}", reason=reason, before=before)
        return DayChange(day, False, f"{package[0]} on {day:%d %b %Y} is a holiday again.")
    added = CalendarDay(
        calendar=calendar, date=day, kind=CalendarDayKind.HOLIDAY, name=name, reason=reason, added_by=actor
    )
    model_full_clean(added, exclude=["added_by"])
    added.save()
    verb = "Imported holiday" if source else "Added holiday"
    _record(
        calendar,
        actor=actor,
        action=f"{verb} {day}: {name}",
        reason=reason,
        before=before,
        after={**(_day_snapshot(added) or {}), **({"file": source} if source else {})},
    )
    return DayChange(day, False, f"Added {name} on {day:%d %b %Y}.")


@transaction.atomic
def calendar_day_add(calendar: BusinessCalendar, *, actor: User, day: date, name: str, reason: str) -> DayChange:
    """Make `day` a holiday (closed): an added day, or a removed package holiday restored."""
    reason = require_reason(reason)
    require_calendar_manager(actor)
    name = _holiday_name(name)
    calendar = calendar_get(calendar.slug, for_update=True)
    change = _day_add(calendar, actor=actor, day=day, name=name, reason=reason)
    sla_calendar_changed(calendar, actor=actor)
    return change


@transaction.atomic
def calendar_day_remove(calendar: BusinessCalendar, *, actor: User, day: date, reason: str) -> DayChange:
    """Make a holiday on `day` a working day again: drop an added day, or work through a package holiday."""
    reason = require_reason(reason)
    require_calendar_manager(actor)
    calendar = calendar_get(calendar.slug, for_update=True)
    existing = calendar.days.filter(date=day).first()
    package = package_holiday(calendar, day)
    before = _day_snapshot(existing)
    if existing is not None and existing.kind == CalendarDayKind.WORKING_DAY:
        raise ValidationFailed(
            f"{day:%d %b %Y} is already a working day here.", fields={"date": "Already a working day."}
        )
    if existing is None and package is None:
        raise ValidationFailed(
            f"{day:%d %b %Y} is not a holiday on this calendar.", fields={"date": "Not a holiday here."}
        )
    if existing is not None:
        existing.delete()
    if package is None:
        assert existing is not None  # noqa: S101 — the guard above: one of the two is a holiday
        _record(calendar, actor=actor, action=f"Removed holiday {day}: {existing.name}", reason=reason, before=before)
        message = f"{existing.name} on {day:%d %b %Y} is removed; it is a working day."
    else:
        worked = CalendarDay(
            calendar=calendar,
            date=day,
            kind=CalendarDayKind.WORKING_DAY,
            name=f"Worked: {package[0]}"[:100],
            reason=reason,
            added_by=actor,
        )
        model_full_clean(worked, exclude=["added_by"])
        worked.save()
        _record(
            calendar,
            actor=actor,
            action=f"Worked holiday {day}: {package[0]}",
            reason=reason,
            before=before,
            after=_day_snapshot(worked),
        )
        message = f"{package[0]} on {day:%d %b %Y} is now a working day here."
    sla_calendar_changed(calendar, actor=actor)
    return DayChange(day, True, message)


@transaction.atomic
def calendar_days_add(
    calendar: BusinessCalendar, *, actor: User, days: Sequence[tuple[date, str]], reason: str, source: str
) -> list[DayChange]:
    """Add several holidays at once (an import): one lock, one cache bump, one due-time rewrite, one record each."""
    reason = require_reason(reason)
    require_calendar_manager(actor)
    calendar = calendar_get(calendar.slug, for_update=True)
    changes = [
        _day_add(calendar, actor=actor, day=day, name=_holiday_name(name), reason=reason, source=source)
        for day, name in days
    ]
    if changes:
        sla_calendar_changed(calendar, actor=actor)
    return changes


# --- closures -------------------------------------------------------------------------------------------
def closure_bounds(calendar: BusinessCalendar, starts_on: date, ends_on: date) -> tuple[datetime, datetime]:
    """The instants a closure of whole local days, `starts_on` to `ends_on` inclusive, begins and ends."""
    tz = zone(calendar.timezone)
    begins = wall_to_utc(datetime.combine(starts_on, time(0)), tz)
    ends = wall_to_utc(datetime.combine(ends_on + timedelta(days=1), time(0)), tz)
    return begins, ends


def closure_days(calendar: BusinessCalendar, closure: CalendarClosure) -> tuple[date, date]:
    """The first and last local dates a closure touches."""
    tz = zone(calendar.timezone)
    return closure.starts_at.astimezone(tz).date(), (closure.ends_at - timedelta(microseconds=1)).astimezone(tz).date()


@transaction.atomic
def calendar_closure_add(
    calendar: BusinessCalendar, *, actor: User, starts_on: date, ends_on: date, reason: str
) -> CalendarClosure:
    """Close whole days, `starts_on` to `ends_on`: nothing counts then (a bandh, the office shut)."""
    reason = require_reason(reason)
    require_calendar_manager(actor)
    if ends_on < starts_on:
        raise ValidationFailed("The closure ends before it starts.", fields={"ends_on": "On or after the first day."})
    if (ends_on - starts_on).days >= MAX_CLOSURE_DAYS:
        raise ValidationFailed("That closure is over a year long.", fields={"ends_on": "At most a year."})
    if len(reason) > 200:
        raise ValidationFailed("The reason is too long.", fields={"reason": "At most 200 characters for a closure."})
    calendar = calendar_get(calendar.slug, for_update=True)
    starts_at, ends_at = closure_bounds(calendar, starts_on, ends_on)
    closure = CalendarClosure(calendar=calendar, starts_at=starts_at, ends_at=ends_at, reason=reason, added_by=actor)
    model_full_clean(closure, exclude=["added_by"])
    closure.save()
    span = {"starts_on": starts_on, "ends_on": ends_on, "reason": reason}
    _record(calendar, actor=actor, action=f"Closed {starts_on} to {ends_on}", reason=reason, after=span)
    sla_calendar_changed(calendar, actor=actor)
    return closure


@transaction.atomic
def calendar_closure_remove(calendar: BusinessCalendar, *, actor: User, closure_id: int, reason: str) -> None:
    """Reopen a closure's days."""
    reason = require_reason(reason)
    require_calendar_manager(actor)
    calendar = calendar_get(calendar.slug, for_update=True)
    closure = calendar.closures.filter(pk=closure_id).first()
    if closure is None:
        raise NotFound("No such closure on this calendar.")
    before = {"starts_at": closure.starts_at, "ends_at": closure.ends_at, "reason": closure.reason}
    closure.delete()
    _record(calendar, actor=actor, action=f"Removed closure “{before['reason']}”", reason=reason, before=before)
    sla_calendar_changed(calendar, actor=actor)


# --- settings -------------------------------------------------------------------------------------------
def _settings_snapshot(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "timezone": calendar.timezone,
        "subdivision": calendar.subdivision,
        "holiday_categories": list(calendar.holiday_category_list()),
        "weekly_hours": {name: text for _, name, text in weekly_hours_text(calendar)},
    }


def _parse_week(weekly_hours: Mapping[int, str]) -> list[tuple[tuple[time, time], ...]]:
    week = []
    for day in range(7):
        try:
            intervals = parse_intervals(weekly_hours.get(day, ""))
        except CalendarError as exc:
            raise ValidationFailed("Check the working hours.", fields={f"hours_{day}": str(exc)}) from exc
        if any(ends == time(0) for _, ends in intervals):
            raise ValidationFailed(
                "Check the working hours.", fields={f"hours_{day}": "End a day by 23:59 (or use a 24×7 calendar)."}
            )
        week.append(intervals)
    try:
        WorkingCalendar(weekly_hours=tuple(week))
    except CalendarError as exc:
        raise ValidationFailed("Check the working hours.", fields={"hours_0": str(exc)}) from exc
    return week


@transaction.atomic
def calendar_settings_update(
    calendar: BusinessCalendar,
    *,
    actor: User,
    reason: str,
    timezone: str,
    subdivision: str,
    categories: Sequence[str],
    weekly_hours: Mapping[int, str],
) -> BusinessCalendar:
    """Change a calendar's time zone, its state and holiday categories, and its working hours per weekday."""
    reason = require_reason(reason)
    require_calendar_manager(actor)
    calendar = calendar_get(calendar.slug, for_update=True)
    before = _settings_snapshot(calendar)
    try:
        zone(timezone)
    except CalendarError as exc:
        raise ValidationFailed("Check the time zone.", fields={"timezone": str(exc)}) from exc
    chosen = [c for c in dict.fromkeys(categories) if c]
    if not calendar.round_the_clock and calendar.country:
        try:
            code = validate_subdivision(calendar.country, subdivision or None)
            public_holidays(calendar.country, code, years=2001, categories=chosen)  # any year: it checks the names
        except UnknownSubdivision as exc:
            raise ValidationFailed("Check the state.", fields={"subdivision": str(exc)}) from exc
        except UnknownCategory as exc:
            raise ValidationFailed("Choose the holiday lists.", fields={"categories": str(exc)}) from exc
        calendar.subdivision = code or ""
        calendar.holiday_categories = ",".join(c for c in chosen if c != "optional")
        calendar.include_optional_holidays = "optional" in chosen
    calendar.timezone = timezone
    week = _parse_week(weekly_hours) if not calendar.round_the_clock else None
    model_full_clean(calendar)
    calendar.save()
    if week is not None:
        calendar.working_hours.all().delete()
        WorkingHours.objects.bulk_create(
            WorkingHours(calendar=calendar, weekday=day, starts=starts, ends=ends)
            for day, intervals in enumerate(week)
            for starts, ends in intervals
        )
    after = _settings_snapshot(calendar)
    if after != before:
        _record(calendar, actor=actor, action="Changed settings", reason=reason, before=before, after=after)
        sla_calendar_changed(calendar, actor=actor)
    return calendar


def category_choices(calendar: BusinessCalendar) -> list[str]:
    """The holiday categories this calendar's country offers, public first."""
    if not calendar.country:
        return []
    return list(supported_categories(calendar.country))


# --- environments ---------------------------------------------------------------------------------------
@transaction.atomic
def environment_calendar_link(
    environment: Environment, *, actor: User, calendar: BusinessCalendar, reason: str
) -> Environment:
    """Run `environment`'s working-hours goals on `calendar`; its open requests' due times move at once."""
    reason = require_reason(reason)
    require_calendar_manager(actor)
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    before = environment.calendar.slug if environment.calendar else None
    if before == calendar.slug:
        raise ValidationFailed(
            f"{environment} already runs on {calendar}.", fields={"calendar": "Already this calendar."}
        )
    environment.calendar = calendar
    environment.save(update_fields=["calendar"])
    record_change(
        actor=actor,
        area=Area.CALENDAR,
        action=f"{environment} now runs on {calendar}",
        obj=environment,
        reason=reason,
        before={"calendar": before},
        after={"calendar": calendar.slug},
    )
    sla_calendar_changed(calendar, actor=actor, environment_ids=[environment.pk])
    return environment
