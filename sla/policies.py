"""SLA targets: which calendar a goal runs on and how much working time it allows, per versioned policy.

Stored due times come only from the engine (`sla/services.py`, replaying each request's clock ledger)."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from portal.compiled import CompiledObjects
from requests_app.choices import Priority

from .calendars import Closure, WorkingCalendar
from .choices import ClockKind, GoalUnit, Measure
from .clock import working_time_between
from .defaults import ensure_defaults
from .holidays_source import holidays_of_year
from .models import BusinessCalendar, SlaPolicy

if TYPE_CHECKING:
    from requests_app.models import Environment, ServiceRequest

DEFAULT_CALENDAR_SLUG = "india"


# --- calendars ------------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _calendar_cached(calendar_id: int, version: datetime) -> tuple[WorkingCalendar, timedelta]:
    """The pure calendar for a stored one, and its nominal working-day length; cached per saved version."""
    stored = BusinessCalendar.objects.get(pk=calendar_id)
    if stored.round_the_clock:
        return WorkingCalendar.always_open(stored.timezone, name=stored.name), timedelta(hours=24)
    weekly: list[list[tuple[time, time]]] = [[] for _ in range(7)]
    for hours in stored.working_hours.all():
        weekly[hours.weekday].append((hours.starts, hours.ends))
    # The package's holidays are read year by year as the clock math reaches them (any year, without a restart);
    # the calendar's own days are given whole.
    categories = stored.holiday_category_list()
    holiday_years = (
        functools.partial(holidays_of_year, stored.country, stored.subdivision or None, categories)
        if stored.country
        else None
    )
    holidays: dict[date, str] = {}
    extra_days: dict[date, list[tuple[time, time]]] = {}
    for day in stored.days.all():
        if day.kind == "holiday":
            holidays[day.date] = day.name
        else:  # an extra working day wins over any holiday on its date (WorkingCalendar)
            default = weekly[day.date.weekday()] or weekly[0] or [(time(9, 30), time(18))]
            extra_days[day.date] = [(day.starts, day.ends)] if day.starts and day.ends else default
    closures = [Closure(c.starts_at, c.ends_at, c.reason) for c in stored.closures.all()]
    calendar = WorkingCalendar.build(
        timezone=stored.timezone,
        weekly_hours=[tuple(sorted(day)) for day in weekly],
        holidays=holidays,
        extra_working_days=extra_days,
        closures=closures,
        name=stored.name,
        holiday_years=holiday_years,
    )
    day_length = max(
        (sum((_span(s, e) for s, e in day), timedelta(0)) for day in weekly), default=timedelta(hours=8, minutes=30)
    )
    return calendar, day_length


def working_calendar_of(stored: BusinessCalendar) -> WorkingCalendar:
    """The pure calendar the clock math uses for `stored`, as saved now."""
    return _calendar_cached(stored.pk, stored.updated_at)[0]


def calendar_cache_forget() -> None:
    """Drop this process's built calendars. Other processes need not be told: the cache is keyed by the calendar's
    `updated_at`, which every change moves, so they build the new version at their next look-up."""
    _calendar_cached.cache_clear()


def _span(starts: time, ends: time) -> timedelta:
    end = timedelta(hours=24) if ends == time(0) else timedelta(hours=ends.hour, minutes=ends.minute)
    return end - timedelta(hours=starts.hour, minutes=starts.minute)


@functools.cache
def _default_calendar_query() -> CompiledObjects:
    def build(shape: None, **markers: Any) -> Any:
        return BusinessCalendar.objects.filter(slug=DEFAULT_CALENDAR_SLUG)[:1]  # `first()`, in the model's order

    # Compiled once per process: the request page of an environment without a calendar of its own (the due-times
    # card names the calendar's region) built and compiled this query on every view.
    return CompiledObjects(build, {})


def stored_calendar_for(environment: Environment) -> BusinessCalendar:
    """The environment's working calendar, or the national default when none is set."""
    if environment.calendar is not None:  # no query when calendar_id is None
        return environment.calendar
    # Remembered on the environment object (in its __dict__, as cached_property does): a request page or a bulk
    # replay asks several times per request.
    default: BusinessCalendar | None = vars(environment).get("_default_calendar")
    if default is None:
        found = _default_calendar_query().objects(None)
        default = found[0] if found else None
        if default is None:
            ensure_defaults()
            default = BusinessCalendar.objects.get(slug=DEFAULT_CALENDAR_SLUG)
        vars(environment)["_default_calendar"] = default
    return default


@lru_cache(maxsize=64)
def _round_the_clock(timezone: str) -> WorkingCalendar:
    """The 24×7 calendar in `timezone`, built once per process: it is immutable (its holiday years are loaded
    idempotently, as for the stored calendars above), and building it took ~0.07 ms, some six times a request page."""
    return WorkingCalendar.always_open(timezone, name="24×7")


def calendar_for(environment: Environment, kind: str) -> tuple[WorkingCalendar, timedelta]:
    """The calendar a goal of `kind` runs on in `environment`, with its working-day length."""
    if kind == ClockKind.ROUND_THE_CLOCK:
        return _round_the_clock(environment.timezone), timedelta(hours=24)
    stored = stored_calendar_for(environment)
    return _calendar_cached(stored.pk, stored.updated_at)


# --- policies -------------------------------------------------------------------------------------------
_PRIORITY = "\x01portico-priority\x01"  # a value no row holds, replaced by the real priority on every run


@functools.cache
def _current_policy_query() -> CompiledObjects:
    def build(shape: None, **markers: Any) -> Any:
        return SlaPolicy.objects.current().filter(priority=markers["priority"])[:1]  # `first()` in its own order

    return CompiledObjects(build, {"priority": _PRIORITY})


def policy_current(priority: str) -> SlaPolicy:
    """The version of `priority`'s policy new requests start under."""
    # Compiled once per process (portal.compiled): building the query was a share of every filing's CPU.
    found = _current_policy_query().objects(None, priority=priority)
    policy = found[0] if found else None
    if policy is None:
        ensure_defaults()
        policy = SlaPolicy.objects.current().get(priority=priority)
    return policy


def priority_choices() -> list[tuple[str, str]]:
    """(code, label) per priority with the current policy's targets, e.g. "P2 — a few days: response 1 working
    day, resolution 3 working days", for the places people choose a priority."""
    choices = []
    for code, label in Priority.choices:
        policy = policy_current(code)
        targets = f"response {policy.describe(Measure.RESPONSE)}, resolution {policy.describe(Measure.RESOLUTION)}"
        choices.append((code, f"{label}: {targets}"))
    return choices


def goal_setting(policy: SlaPolicy, measure: str) -> tuple[Decimal | None, str, str]:
    if measure == Measure.RESPONSE:
        return policy.response_goal, policy.response_unit, policy.response_clock
    return policy.resolution_goal, policy.resolution_unit, policy.resolution_clock


def needed_by_instant(needed_by: date, timezone_name: str) -> datetime:
    """Needed by a day means ready when that day starts where the environment is."""
    return datetime.combine(needed_by, time.min, tzinfo=zoneinfo.ZoneInfo(timezone_name))


def goal_for(
    policy: SlaPolicy, measure: str, service_request: ServiceRequest, started_at: datetime | None
) -> tuple[WorkingCalendar, timedelta | None]:
    """The calendar and the working time allowed for one measure of a request under `policy`."""
    amount, unit, kind = goal_setting(policy, measure)
    calendar, day_length = calendar_for(service_request.environment, kind)
    if amount is None:
        if not service_request.needed_by or started_at is None:
            return calendar, None
        target = needed_by_instant(service_request.needed_by, service_request.environment.timezone)
        return calendar, working_time_between(calendar, started_at, target)
    per_unit = day_length if unit == GoalUnit.WORKING_DAYS else timedelta(hours=1)
    return calendar, per_unit * float(amount)
